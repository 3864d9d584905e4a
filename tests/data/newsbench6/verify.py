#!/usr/bin/env python3
"""Sanity checks for newsbench6 (a frozen test set: fix data errors, never tune to a system).

Checks:
  * every question has the required keys and valid enum values;
  * answerable questions: non-empty answers and gold; every gold source exists, every gold line
    is 1-based, in range and non-empty, and contains EVERY one of the question's answer strings
    verbatim (so it also contains at least one);
  * unanswerable questions: empty answers and gold, and a non-empty `why`;
  * prints counts by answerability, style, type and domain;
  * lists answer strings that occur on non-gold lines, for manual review (a non-gold line that
    really states the answer must be added to gold).
Run from the repository root:  python3 tests/data/newsbench6/verify.py
"""
import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "sources"
STYLES = {"paraphrase", "snippet", "direct"}
TYPES = {"person", "place", "date", "number", "org", "other"}
KEYS = {"question", "answers", "gold", "answerable", "style", "type", "domain"}


def main() -> int:
    errors = []
    lines = {p.name: p.read_text(encoding="utf-8").split("\n") for p in sorted(SRC.iterdir())}
    # drop the empty string produced by a trailing newline so line counts match the file
    for ls in lines.values():
        if ls and ls[-1] == "":
            ls.pop()

    qs = []
    with open(HERE / "questions.jsonl", encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                errors.append(f"questions.jsonl line {n}: blank line")
                continue
            qs.append((n, json.loads(raw)))

    review = []
    seen_q = set()
    for n, q in qs:
        tag = f"q{n}"
        missing = KEYS - q.keys()
        if missing:
            errors.append(f"{tag}: missing keys {sorted(missing)}")
            continue
        if q["question"] in seen_q:
            errors.append(f"{tag}: duplicate question")
        seen_q.add(q["question"])
        if q["style"] not in STYLES:
            errors.append(f"{tag}: bad style {q['style']!r}")
        if q["type"] not in TYPES:
            errors.append(f"{tag}: bad type {q['type']!r}")
        if q["style"] == "snippet" and q["question"].rstrip().endswith("?"):
            errors.append(f"{tag}: snippet-style query ends with '?'")
        if not q["answerable"]:
            if q["answers"] or q["gold"]:
                errors.append(f"{tag}: unanswerable but answers/gold not empty")
            if not q.get("why", "").strip():
                errors.append(f"{tag}: unanswerable without 'why'")
            continue
        if not q["answers"] or not q["gold"]:
            errors.append(f"{tag}: answerable but answers or gold empty")
            continue
        gold_set = set()
        for g in q["gold"]:
            src, ln = g["source"], g["line"]
            gold_set.add((src, ln))
            if src not in lines:
                errors.append(f"{tag}: gold source {src} does not exist")
                continue
            if not isinstance(ln, int) or ln < 1 or ln > len(lines[src]):
                errors.append(f"{tag}: gold line {src}:{ln} out of range 1..{len(lines[src])}")
                continue
            text = lines[src][ln - 1]
            if not text.strip():
                errors.append(f"{tag}: gold line {src}:{ln} is empty")
                continue
            absent = [a for a in q["answers"] if a not in text]
            if len(absent) == len(q["answers"]):
                errors.append(f"{tag}: gold line {src}:{ln} contains none of {q['answers']}")
            elif absent:
                errors.append(f"{tag}: gold line {src}:{ln} lacks answer(s) {absent}")
        if len(gold_set) != len(q["gold"]):
            errors.append(f"{tag}: duplicate gold entries")
        for src, ls in lines.items():
            for i, text in enumerate(ls, 1):
                if (src, i) in gold_set:
                    continue
                hits = [a for a in q["answers"] if a in text]
                if hits:
                    review.append(f"{tag} [{q['question']}] {hits} also on non-gold {src}:{i}: {text[:110]}")

    ans = [q for _, q in qs if q.get("answerable")]
    una = [q for _, q in qs if not q.get("answerable")]
    print(f"questions: {len(qs)}  answerable: {len(ans)}  unanswerable: {len(una)} "
          f"({100 * len(una) / max(len(qs), 1):.0f} %)")
    for key in ("style", "type", "domain"):
        c_all = Counter(q[key] for _, q in qs)
        c_ans = Counter(q[key] for q in ans)
        print(f"by {key}: " + ", ".join(f"{k} {c_all[k]} ({c_ans[k]} answerable)" for k in sorted(c_all)))
    n_art = sum(1 for s in lines if s.endswith(".md"))
    n_snip = sum(sum(1 for t in ls if t.strip()) for s, ls in lines.items() if s.endswith(".txt"))
    print(f"sources: {len(lines)} files, {n_art} articles, {n_snip} snippet lines")
    print(f"answer strings on non-gold lines (review by hand): {len(review)}")
    for r in review:
        print("  " + r)
    if errors:
        print(f"ERRORS: {len(errors)}")
        for e in errors:
            print("  " + e)
        return 1
    print("OK: no errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
