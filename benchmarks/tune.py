"""Weight search for the re-scoring in rag/retrieve.py, on dev golden sets only.

    .venv/bin/python benchmarks/tune.py [--set newsbench-dev,dev-paragraphs,news,seeds] [--grid]

`dev-paragraphs` is newsbench dev re-cut as one paragraph per answerable question, each its own
file with no title or neighbours: the style of a quiz over the paragraphs that hold the answers,
where a paragraph often never names what the question is about.

Features are computed once per (question, candidate); each weight setting is then a cheap
re-combination. Never pass the newsbench *test* split here: it is for reporting only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "data"
SETS = {
    "newsbench-dev": (DATA / "newsbench" / "sources", DATA / "newsbench" / "dev.jsonl"),
    "news": (DATA / "news", DATA / "golden_news.jsonl"),
    "seeds": (ROOT / "seeds", DATA / "golden_seeds.jsonl"),
}


def _paragraphs(tmp: Path) -> tuple[Path, Path]:
    """newsbench dev's gold paragraphs, one file each, and its answerable questions pointing there."""
    src_dir, out = tmp / "dev-paragraphs", tmp / "dev-paragraphs.jsonl"
    src_dir.mkdir(parents=True, exist_ok=True)
    sources, gold = SETS["newsbench-dev"]
    files: dict[tuple[str, int], str] = {}
    with out.open("w", encoding="utf-8") as f:
        for line in gold.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            if not item.get("answerable", True) or not item.get("gold"):
                continue
            g = item["gold"][0]
            key = (g["source"], g["line"])
            if key not in files:
                files[key] = f"p{len(files):04d}.md"
                text = (sources / g["source"]).read_text(encoding="utf-8").splitlines()[g["line"] - 1]
                (src_dir / files[key]).write_text(text.strip() + "\n", encoding="utf-8")
            item["gold"] = [{"source": files[key], "line": 1}]
            f.write(json.dumps(item) + "\n")
    return src_dir, out


def collect(name: str, tmp: Path):
    """(question, Query, scored candidates) for every question of a golden set; each candidate
    keeps its features, so `combine` can re-score copies under other weights."""
    import rag
    from rag.evaluate import load_questions
    from rag.query import analyse

    sources, gold = _paragraphs(tmp) if name == "dev-paragraphs" else SETS[name]
    os.environ.update(RAG_SOURCES_DIR=str(sources), RAG_INDEX_DIR=str(tmp / name), RAG_HOME=str(tmp))
    rag.reset()
    eng = rag.get_engine()
    eng.index()
    out = []
    for item in load_questions(gold):
        q = analyse(item["question"])
        out.append((item, q, eng.retrieve(q)))
    return out


def score(rows, w, min_cos: float | None = None) -> dict:
    from rag.evaluate import is_gold
    from rag.retrieve import combine, relevant

    h1 = rr = n = 0
    abst_ok = abst_n = false_abst = 0
    misses = []
    for item, q, feats in rows:
        hits = combine([replace(f) for f in feats], q, w)
        if not item["answerable"]:
            abst_n += 1
            if min_cos is not None:
                abst_ok += not relevant(hits, min_cos, 5)
            continue
        gold = item["gold"]
        if min_cos is not None:
            false_abst += not relevant(hits, min_cos, 5)
        if not gold:
            continue
        n += 1
        pos = next((i for i, h in enumerate(hits[:10])
                    if is_gold(h.passage.source, h.passage.line, h.passage.page, gold)), None)
        h1 += pos == 0
        rr += 1 / (pos + 1) if pos is not None else 0
        if pos != 0:
            misses.append((item["question"], pos))
    out = {"n": n, "hit@1": h1 / max(n, 1), "mrr": rr / max(n, 1), "misses": misses}
    if min_cos is not None:
        out["abstain_correct"] = abst_ok / max(abst_n, 1)
        out["abstain_false"] = false_abst / max(sum(1 for r in rows if r[0]["answerable"]), 1)
    return out


def main() -> None:
    from rag.config import get_settings
    from rag.retrieve import WEIGHTS

    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="newsbench-dev,dev-paragraphs,news,seeds")
    ap.add_argument("--grid", action="store_true")
    ap.add_argument("--misses", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = {name: collect(name, Path(tmp)) for name in args.set.split(",")}
    min_cos = get_settings().rag_min_relevance
    plain = replace(WEIGHTS, bm25=0.0, keys=0.0, fit=0.0, focus=0.0, year_conflict=0.0)
    for name, rows in data.items():
        if name == "newsbench-dev":
            para = [r for r in rows if r[0].get("style") == "paraphrase"]
            print(f"dev paraphrase: cosine only {score(para, plain)['hit@1']:.3f}, "
                  f"now {score(para, WEIGHTS)['hit@1']:.3f}")
        s = score(rows, plain)
        print(f"{name:14} cosine only: hit@1 {s['hit@1']:.3f} mrr {s['mrr']:.3f}")
        s = score(rows, WEIGHTS, min_cos)
        print(f"{name:14} now: hit@1 {s['hit@1']:.3f} mrr {s['mrr']:.3f} n={s['n']} "
              f"abstain_correct {s['abstain_correct']:.2f} abstain_false {s['abstain_false']:.3f}")
        if args.misses:
            for q, pos in s["misses"]:
                print(f"    miss (rank {pos}): {q}")
    if not args.grid:
        return
    results = []
    for focus, bm, keys, fit in itertools.product(
            [0.0, 0.1, 0.2, 0.3, 0.5], [0.0, 0.1, 0.2, 0.3], [0.1, 0.2, 0.3], [0.2, 0.3, 0.5]):
        w = replace(WEIGHTS, focus=focus, bm25=bm, keys=keys, fit=fit)
        per = {name: score(rows, w)["hit@1"] for name, rows in data.items()}
        for name, rows in data.items():
            if name == "newsbench-dev":
                para = [r for r in rows if r[0].get("style") == "paraphrase"]
                per["dev-paraphrase"] = score(para, w)["hit@1"]
        results.append((sum(v for k, v in per.items() if k in data) / len(data), per, w))
    results.sort(key=lambda r: -r[0])
    for mean, per, w in results[:15]:
        figures = json.dumps({k: round(v, 3) for k, v in per.items()})
        print(f"{mean:.3f} {figures} focus={w.focus} bm25={w.bm25} keys={w.keys} fit={w.fit} "
              f"year={w.year_conflict}")


if __name__ == "__main__":
    main()
