"""Sanity checks for newsbench4 (format only; no system is run)."""
import collections
import json
import os

here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(here, "sources")
qs = [json.loads(row) for row in open(os.path.join(here, "questions.jsonl"), encoding="utf-8") if row.strip()]
lines = {f: open(os.path.join(src, f), encoding="utf-8").read().split("\n") for f in os.listdir(src)}
errors, extra = [], []
for i, q in enumerate(qs, 1):
    assert set(q) >= {"question", "answers", "gold", "answerable", "style", "type", "domain"}, i
    if not q["answerable"]:
        if q["answers"] or q["gold"] or not q.get("why"):
            errors.append(f"q{i}: unanswerable needs empty answers/gold and a why")
        continue
    if not q["answers"] or not q["gold"]:
        errors.append(f"q{i}: answerable without answers/gold")
    for g in q["gold"]:
        f, n = g["source"], g["line"]
        if f not in lines:
            errors.append(f"q{i}: missing source {f}")
            continue
        if not isinstance(n, int) or n < 1 or n > len(lines[f]):
            errors.append(f"q{i}: bad line {n} in {f}")
            continue
        text = lines[f][n - 1]
        if not text.strip():
            errors.append(f"q{i}: empty gold line {f}:{n}")
        elif not any(a in text for a in q["answers"]):
            errors.append(f"q{i}: no answer in {f}:{n}")
    gold = {(g["source"], g["line"]) for g in q["gold"]}
    for f, ls in lines.items():  # answer-bearing lines not listed as gold (reviewed by hand)
        for n, t in enumerate(ls, 1):
            if (f, n) not in gold and any(a in t for a in q["answers"]):
                extra.append(f"q{i} {q['answers'][0]!r}: also in {f}:{n}")
C = collections.Counter
print("total", len(qs))
print("answerable", C(q["answerable"] for q in qs))
print("style (answerable)", C(q["style"] for q in qs if q["answerable"]))
print("style (unanswerable)", C(q["style"] for q in qs if not q["answerable"]))
print("domain", C(q["domain"] for q in qs))
print("domain x answerable", sorted(C((q["domain"], q["answerable"]) for q in qs).items()))
print("type", C(q["type"] for q in qs))
print("sources", len(lines), "articles", sum(f.endswith(".md") for f in lines),
      "snippet lines", sum(len([t for t in ls if t.strip()]) for f, ls in lines.items()
                           if f.endswith(".txt")))
print("answer strings also found outside gold (checked by hand):", *extra, sep="\n  ")
print("ERRORS:", errors if errors else "none")
