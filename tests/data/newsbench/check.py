"""Checks a newsbench question file against the corpus, as the indexer will split it.

    .venv/bin/python tests/data/newsbench/check.py tests/data/newsbench/test.jsonl [...]

Every gold {source, line} must be where a passage starts, an answerable question's gold
passage must hold one of its answers (case-insensitive), and an unanswerable one has no gold.
It reads the corpus through rag.loaders (the splitter) and matches answers as `rag eval` does,
never through the ranking code.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from rag.evaluate import has_answer  # noqa: E402
from rag.loaders import parse_source  # noqa: E402

SOURCES = HERE / "sources"
BUDGET = 220  # RAG_CHUNK_TOKENS default


def corpus() -> dict[tuple[str, int], str]:
    out = {}
    for f in sorted(SOURCES.iterdir()):
        try:
            loaded = parse_source(f.read_bytes(), f.suffix, f.name, BUDGET)
        except Exception as exc:  # another writer's half-written file must not stop the check
            print(f"skipped {f.name}: {exc}")
            continue
        for p in loaded.passages:
            out[(p.source, p.line)] = out.get((p.source, p.line), "") + " " + p.text
    return out


def check(path: Path, passages: dict[tuple[str, int], str]) -> list[str]:
    errors, styles, kinds = [], Counter(), Counter()
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    for i, q in enumerate(rows, 1):
        where = f"{path.name}:{i}"
        if not isinstance(q.get("question"), str) or not q["question"].strip():
            errors.append(f"{where}: no question")
            continue
        styles[q.get("style", "?")] += 1
        kinds[q.get("type", "?")] += 1
        if q.get("answerable", True):
            gold, answers = q.get("gold") or [], q.get("answers") or []
            if not gold or not answers:
                errors.append(f"{where}: answerable needs gold and answers")
                continue
            texts = []
            for g in gold:
                t = passages.get((g.get("source"), g.get("line")))
                if t is None:
                    errors.append(f"{where}: no passage starts at {g.get('source')}:{g.get('line')}")
                else:
                    texts.append(t)
            if texts and not any(has_answer(t, answers) for t in texts):
                errors.append(f"{where}: no answer of {answers} in its gold passages")
        elif q.get("gold"):
            errors.append(f"{where}: unanswerable question with gold")
    unans = sum(1 for q in rows if not q.get("answerable", True))
    print(f"{path.name}: {len(rows)} questions, {unans} unanswerable "
          f"({unans / max(len(rows), 1):.0%}); styles {dict(styles)}; types {dict(kinds)}")
    return errors


def main() -> None:
    passages = corpus()
    print(f"corpus: {len({s for s, _ in passages})} files, {len(passages)} passages")
    errors = []
    for arg in sys.argv[1:]:
        errors += check(Path(arg), passages)
    for e in errors:
        print("ERROR", e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
