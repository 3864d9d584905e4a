"""The ONNX Runtime embedder gives sentence-transformers' vectors, on both of its paths."""

from __future__ import annotations

import numpy as np

from rag.embed import PARALLEL_MIN, bundled_model_dir
from tests.conftest import SEED


def test_onnx_vectors_equal_sentence_transformers(engine):
    from sentence_transformers import SentenceTransformer

    seeds = SEED.read_text(encoding="utf-8").splitlines()
    texts = [f"{s} (copy {i})" for i, s in enumerate(seeds * 8)]  # long enough for the parallel path
    assert len(texts) >= PARALLEL_MIN
    ticks: list[int] = []
    bulk = engine.embedder.embed(texts, progress=ticks.append)
    assert sum(ticks) == len(texts)
    one = np.stack([engine.embedder.embed_query(t) for t in texts[:5]])
    want = SentenceTransformer(str(bundled_model_dir()), device="cpu").encode(
        texts, normalize_embeddings=True)
    assert bulk.shape == want.shape == (len(texts), 384)
    assert float(np.abs(bulk - want).max()) < 1e-4
    assert float(np.abs(one - want[:5]).max()) < 1e-4
