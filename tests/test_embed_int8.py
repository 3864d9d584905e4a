"""RAG_EMBED_PRECISION=int8: a quantized copy of the ONNX export, made once, whose vectors stay
close to fp32's, and which an index built with fp32 refuses (and vice versa)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import rag
from rag import embed
from rag.config import BUNDLED_MODEL
from rag.errors import RagError
from tests.conftest import run_cli

NEWS = [
    "The central bank raised its benchmark rate by a quarter point on Wednesday.",
    "Striking dock workers returned to the port after a 12-day walkout over pay.",
    "The striker scored twice in the second half to send the club into the final.",
    "Researchers reported a drug that slowed memory loss in a trial of 1,800 patients.",
    "What did the minister say about the new border checks?",
]


@pytest.fixture
def both(model_cache):
    return (embed.get_embedder(BUNDLED_MODEL, model_cache, precision="fp32"),
            embed.get_embedder(BUNDLED_MODEL, model_cache, precision="int8"))


def test_int8_vectors_are_close_to_fp32_and_keyed_apart(both):
    fp32, int8 = both
    assert (fp32.key, int8.key) == (BUNDLED_MODEL, f"{BUNDLED_MODEL}+int8")
    assert int8.dim == fp32.dim == 384
    a, b = fp32.embed(NEWS), int8.embed(NEWS)
    assert b.shape == a.shape and b.dtype == np.float32
    cos = (a * b).sum(1)  # both are normalised
    assert cos.min() > 0.97, cos
    assert np.allclose(np.linalg.norm(b, axis=1), 1, atol=1e-5)
    assert float((int8.embed_query(NEWS[0]) * a[0]).sum()) > 0.97
    # the same text still ranks its own fp32 vector first among the others
    assert (b @ a.T).argmax(1).tolist() == list(range(len(NEWS)))


def test_int8_model_is_made_once_and_reused(both, model_cache, monkeypatch):
    _, int8 = both
    made = sorted(model_cache.glob("*-int8.onnx"))
    assert made == [int8.onnx_path]
    assert int8.onnx_path.with_name(int8.onnx_path.stem[: -len("-int8")] + ".onnx").is_file()
    stamp = int8.onnx_path.stat().st_mtime_ns

    def again(*_):
        raise AssertionError("the int8 model was quantized a second time")

    monkeypatch.setattr(embed, "quantize_int8", again)
    monkeypatch.setattr(embed, "_cache", {})  # as a new process would: load from the files
    reloaded = embed.get_embedder(BUNDLED_MODEL, model_cache, precision="int8")
    assert reloaded is not int8 and reloaded.onnx_path == int8.onnx_path
    assert int8.onnx_path.stat().st_mtime_ns == stamp
    assert not [p for p in model_cache.iterdir() if ".tmp" in p.name]  # no half-written files
    assert np.allclose(reloaded.embed(NEWS[:2]), int8.embed(NEWS[:2]), atol=1e-6)


def test_openai_and_hub_models_have_no_variant():
    assert embed.model_key("openai:text-embedding-3-small", "int8") == "openai:text-embedding-3-small"
    assert embed.model_key("sentence-transformers/all-MiniLM-L6-v2", "int8") == f"{BUNDLED_MODEL}+int8"
    assert embed.model_key("BAAI/bge-small-en-v1.5", "int8") == "BAAI/bge-small-en-v1.5"


def test_an_index_built_with_fp32_asks_for_rebuild_under_int8(env, seeded, monkeypatch):
    monkeypatch.setenv("RAG_EMBED_PRECISION", "fp32")
    rag.reset()
    assert rag.index().passages > 0
    assert "dilute ties" in rag.ask("What did Rubio propose?").text

    monkeypatch.setenv("RAG_EMBED_PRECISION", "int8")
    rag.reset()
    for call in (lambda: rag.ask("What did Rubio propose?"), rag.index):
        with pytest.raises(RagError) as err:
            call()
        msg = str(err.value)
        assert f"{BUNDLED_MODEL!r}, not '{BUNDLED_MODEL}+int8'" in msg and "`rag index --rebuild`" in msg
        assert "\n" not in msg
    cli = run_cli("ask", "What did Rubio propose?", env={**env, "RAG_EMBED_PRECISION": "int8"})
    assert cli.returncode != 0
    assert cli.stderr.strip().count("\n") == 0 and "rag index --rebuild" in cli.stderr

    assert rag.index(rebuild=True).passages > 0  # int8 builds its own index and answers from it
    assert "dilute ties" in rag.ask("What did Rubio propose?").text
    monkeypatch.setenv("RAG_EMBED_PRECISION", "fp32")
    rag.reset()
    with pytest.raises(RagError, match=r"built with the embedding model 'all-MiniLM-L6-v2\+int8'"):
        rag.ask("What did Rubio propose?")


def test_a_bad_precision_is_one_sentence(env, monkeypatch):
    monkeypatch.setenv("RAG_EMBED_PRECISION", "int4")
    rag.reset()
    with pytest.raises(RagError) as err:
        rag.get_engine()
    msg = str(err.value)
    assert msg.startswith("The setting RAG_EMBED_PRECISION is invalid") and "'fp32' or 'int8'" in msg
    assert "\n" not in msg
    cli = run_cli("search", "anything", env={**env, "RAG_EMBED_PRECISION": "int4"})
    assert cli.returncode != 0 and "RAG_EMBED_PRECISION is invalid" in cli.stderr
    assert cli.stderr.strip().count("\n") == 0


def test_a_failed_quantization_is_one_sentence_and_leaves_no_file(both, tmp_path, monkeypatch):
    import onnxruntime.quantization

    fp32, _ = both
    (tmp_path / fp32.onnx_path.name).symlink_to(fp32.onnx_path)  # the export, without its int8 copy

    def dies_half_way(src, dst, **_):
        Path(dst).write_bytes(b"half a model")
        raise OSError("No space left on device")

    monkeypatch.setattr(onnxruntime.quantization, "quantize_dynamic", dies_half_way)
    with pytest.raises(RagError) as err:
        embed.get_embedder(BUNDLED_MODEL, tmp_path, precision="int8")
    assert str(err.value) == ("Cannot make the int8 variant of the embedding model (OSError: No space left "
                              "on device); set RAG_EMBED_PRECISION=fp32.")
    assert sorted(p.name for p in tmp_path.iterdir()) == [fp32.onnx_path.name]  # no half file left
