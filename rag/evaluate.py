"""Quality on your own questions: `rag eval FILE` and `rag.evaluate(path)`.

FILE is JSONL, one question a line:
    {"question": str, "answers": [str]?, "gold": [{"source", "line" | "page"}]?, "answerable": bool?}
Each question goes through the same `search()` (ranking figures) and `ask()` (answer figures)
users call. `--compare` ranks the same passages with a plain LlamaIndex vector retriever and a
plain LlamaIndex BM25 retriever (imported only then: they load torch).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

from rag.errors import RagError

ProgressFn = Callable[[int, int], None]  # (questions done, total)


# ---- the question file -------------------------------------------------------------------
def load_questions(path: str | PathLike) -> list[dict]:
    """The questions of a JSONL file, checked; any problem is one RagError sentence."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RagError(f"{path} does not exist; give a JSONL file with one question a line.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RagError(f"{path} could not be read as UTF-8 text ({exc.__class__.__name__}).") from None
    out = []
    for no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RagError(f"{path} line {no} is not JSON ({exc.msg}).") from None
        out.append(_checked(item, f"{path} line {no}"))
    if not out:
        raise RagError(f"{path} holds no questions; write one JSON object a line.")
    return out


def _checked(item, where: str) -> dict:
    question = item.get("question") if isinstance(item, dict) else None
    if not isinstance(question, str) or not question.strip():
        raise RagError(f'{where} has no "question" string.')
    answers = item.get("answers", [])
    answers = [answers] if isinstance(answers, str) else answers
    if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
        raise RagError(f'{where}: "answers" must be a list of non-empty strings.')
    gold = item.get("gold", [])
    if not isinstance(gold, list) or not all(_gold_ok(g) for g in gold):
        raise RagError(f'{where}: "gold" must be a list of {{"source": str, "line": int}} '
                       f'or {{"source": str, "page": int}}.')
    answerable = item.get("answerable", True)
    if not isinstance(answerable, bool):
        raise RagError(f'{where}: "answerable" must be true or false.')
    style = item.get("style")
    return {"question": item["question"], "style": None if style is None else str(style),
            "answers": answers, "gold": gold, "answerable": answerable}


def _gold_ok(g) -> bool:
    pos = [g.get(key) for key in ("line", "page")] if isinstance(g, dict) else []
    return (isinstance(g, dict) and isinstance(g.get("source"), str)
            and any(isinstance(v, int) and not isinstance(v, bool) for v in pos))


# ---- matching ----------------------------------------------------------------------------
_MARKER = re.compile(r"\s*\[\d+\]")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})


def normalise(text: str) -> str:
    """Lower case, straight quotes, no [n] markers, single spaces."""
    return " ".join(_MARKER.sub("", text.translate(_QUOTES)).lower().split())


def has_answer(text: str, answers: Iterable[str]) -> bool:
    text = normalise(text)
    return any(normalise(a) in text for a in answers)


def is_gold(source: str, line: int | None, page: int | None, gold: list[dict]) -> bool:
    """A passage (or citation) is gold when its source and line (or page) equal a gold entry's;
    a gold source without a folder part also matches by file name."""
    for g in gold:
        same = source == g["source"] or ("/" not in g["source"] and Path(source).name == g["source"])
        if same and (line == g["line"] if "line" in g else page == g.get("page")):
            return True
    return False


def gold_rank(ranked: list[tuple[str, int | None, int | None]], gold: list[dict]) -> int | None:
    """1-based rank of the first gold passage among (source, line, page), or None."""
    return next((i for i, (s, ln, pg) in enumerate(ranked, start=1) if is_gold(s, ln, pg, gold)), None)


# ---- running -----------------------------------------------------------------------------
@dataclass
class Evaluation:
    k: int
    rows: list[dict]  # one per question (what `--report` writes to questions.jsonl)
    figures: dict
    compare: dict | None = None  # {"ours"|"vector"|"bm25": {hit@1, hit@k, mrr, top_passage_recall}}
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """What `rag eval --json` prints and `rag.evaluate()` returns."""
        return {**self.figures, **({"compare": self.compare} if self.compare is not None else {})}


def run(path: str | PathLike, k: int = 5, compare: bool = False,
        progress: ProgressFn | None = None) -> Evaluation:
    """Index the configured sources, then search and ask every question of the file."""
    import rag

    if k < 1:
        raise RagError("k must be at least 1.")
    questions = load_questions(path)
    engine = rag.get_engine()
    report = engine.index()
    rows = []
    for done, q in enumerate(questions, start=1):
        rows.append(_ask(engine, q, k))
        if progress:
            progress(done, len(questions))
    ev = Evaluation(k, rows, figures(rows, k), warnings=report.warnings)
    if compare:
        ev.compare = {"ours": ranking_figures(rows, k, "ranked")}
        rankings = baseline_rankings(engine.store.passages(), [r["question"] for r in rows], k)
        for name, ranked in rankings.items():
            for row, hits in zip(rows, ranked, strict=True):
                row.setdefault("baselines", {})[name] = hits
            ev.compare[name] = ranking_figures(rows, k, lambda r, name=name: r["baselines"][name])
    return ev


def evaluate(path: str | PathLike, k: int = 5, compare: bool = False) -> dict:
    """The figures of `rag eval FILE --json` (with `compare`, also the LlamaIndex baselines)."""
    return run(path, k, compare).summary()


def _ask(engine, q: dict, k: int) -> dict:
    ranked = [{"source": p.source, "line": p.line, **({"page": p.page} if p.page else {}),
               "score": p.score, "text": p.text} for p in engine.search(q["question"], k)]
    t0 = time.perf_counter()
    answer = engine.ask(q["question"])
    latency = (time.perf_counter() - t0) * 1000
    cites = [{"n": c.n, "source": c.source, "line": c.line, **({"page": c.page} if c.page else {}),
              "supported": c.supported} for c in answer.citations]
    return {
        "question": q["question"], "style": q["style"],
        "expected": {"gold": q["gold"], "answers": q["answers"], "answerable": q["answerable"]},
        "ranked": ranked, "gold_rank": _rank_of(ranked, q["gold"]),
        "answer": answer.text, "citations": cites, "abstained": answer.abstained,
        "answer_found": has_answer(answer.text, q["answers"]) if q["answers"] else None,
        "cites_gold": any(is_gold(c["source"], c["line"], c.get("page"), q["gold"]) for c in cites),
        "latency_ms": round(latency, 2),
    }


def _rank_of(ranked: list[dict], gold: list[dict]) -> int | None:
    return gold_rank([(h["source"], h["line"], h.get("page")) for h in ranked], gold)


# ---- figures -----------------------------------------------------------------------------
def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def ranking_figures(rows: list[dict], k: int, ranked: str | Callable[[dict], list[dict]]) -> dict:
    """hit@1, hit@k, mrr (answerable questions with gold) and top_passage_recall (answerable
    questions with answers) of one ranking of each row's question."""
    get = (lambda r: r[ranked]) if isinstance(ranked, str) else ranked
    golds = [r for r in rows if r["expected"]["answerable"] and r["expected"]["gold"]]
    ranks = [_rank_of(get(r)[:k], r["expected"]["gold"]) for r in golds]
    with_answers = [r for r in rows if r["expected"]["answerable"] and r["expected"]["answers"]]
    return {
        "hit@1": _share([rk == 1 for rk in ranks]),
        f"hit@{k}": _share([rk is not None for rk in ranks]),
        "mrr": round(sum(1 / rk for rk in ranks if rk) / len(ranks), 4) if ranks else None,
        "top_passage_recall": _share([bool(get(r)) and has_answer(get(r)[0]["text"], r["expected"]["answers"])
                                      for r in with_answers]),
    }


def figures(rows: list[dict], k: int) -> dict:
    """The figures of `rag eval` over per-question rows; None where no question is eligible."""
    answerable = [r for r in rows if r["expected"]["answerable"]]
    with_gold = [r for r in answerable if r["expected"]["gold"]]
    ranking = ranking_figures(rows, k, "ranked")
    citations = [c["supported"] for r in rows for c in r["citations"]]
    latencies = sorted(r["latency_ms"] for r in rows)
    return {
        "n": len(rows),
        "hit@1": ranking["hit@1"], f"hit@{k}": ranking[f"hit@{k}"], "mrr": ranking["mrr"],
        "answer_recall": _share([r["answer_found"] for r in answerable if r["answer_found"] is not None]),
        "cites_gold": _share([r["cites_gold"] for r in with_gold]),
        "citation_precision": _share(citations),
        "abstain_correct": _share([r["abstained"] for r in rows if not r["expected"]["answerable"]]),
        "abstain_false": _share([r["abstained"] for r in answerable]),
        "latency_ms_p50": _percentile(latencies, 50),
        "latency_ms_p95": _percentile(latencies, 95),
    }


def _percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return None
    return round(values[max(0, math.ceil(pct / 100 * len(values)) - 1)], 1)


# ---- baselines (--compare) ---------------------------------------------------------------
_hf_embedding = None


def baseline_rankings(passages: list, questions: list[str], k: int) -> dict[str, list[list[dict]]]:
    """The top k of a plain LlamaIndex VectorStoreIndex retriever (the bundled MiniLM through
    HuggingFaceEmbedding) and of a plain LlamaIndex BM25Retriever over the same passages, per
    question. The nodes' metadata (source, line, page) is kept out of what both of them read."""
    # LlamaIndex prints notices on stdout, which belongs to the figures (`--json`).
    with contextlib.redirect_stdout(sys.stderr):
        return _baseline_rankings(passages, questions, k)


def _baseline_rankings(passages: list, questions: list[str], k: int) -> dict[str, list[list[dict]]]:
    global _hf_embedding
    from llama_index.core import Settings as LISettings
    from llama_index.core import VectorStoreIndex
    from llama_index.core.schema import TextNode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.retrievers.bm25 import BM25Retriever

    from rag.embed import bundled_model_dir

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG
    LISettings.llm = None
    if _hf_embedding is None:
        _hf_embedding = HuggingFaceEmbedding(model_name=str(bundled_model_dir()), device="cpu")
    keys = ["source", "line", "page"]
    nodes = [TextNode(text=p.text, id_=p.id, metadata={"source": p.source, "line": p.line, "page": p.page},
                      excluded_embed_metadata_keys=keys, excluded_llm_metadata_keys=keys) for p in passages]
    top = min(k, len(nodes))
    retrievers = {
        "vector": VectorStoreIndex(nodes, embed_model=_hf_embedding).as_retriever(similarity_top_k=top),
        "bm25": BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=top),
    }
    out: dict[str, list[list[dict]]] = {}
    for name, retriever in retrievers.items():
        out[name] = [[{"source": n.node.metadata["source"], "line": n.node.metadata["line"],
                       **({"page": n.node.metadata["page"]} if n.node.metadata["page"] else {}),
                       "score": round(float(n.score or 0.0), 4), "text": n.node.get_content()}
                      for n in retriever.retrieve(q)] for q in questions]
    return out
