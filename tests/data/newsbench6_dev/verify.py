#!/usr/bin/env python3
"""Consistency checks for the newsbench6_dev DEV split.

Run from the repository root:  python3 tests/data/newsbench6_dev/verify.py

Checks:
  * file formats (article: headline line 1 starting with "# ", blank line, then one paragraph per
    line separated by blank lines, 6-8 paragraphs; snippets: one per line, dated
    "Mon D, YYYY ..." or "Mon YYYY — ...");
  * every question has the required keys and valid style/type/domain values;
  * answerable questions: every gold source exists, every gold line is 1-based, in range and
    non-empty, and contains EACH of the question's answers verbatim (case-sensitive);
  * unanswerable questions: empty answers and gold, and a non-empty `why`;
  * prints counts by answerability, style, type and domain;
  * lists answer strings (case-insensitive) that occur on NON-gold lines, for manual review.
Exit status is 1 if any hard check fails.
"""
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "sources"
QFILE = HERE / "questions.jsonl"

STYLES = {"paraphrase", "snippet", "direct"}
TYPES = {"person", "place", "date", "number", "org", "other"}
DOMAINS = {"politics", "business", "sports", "science", "culture", "local"}
KEYS = {"question", "answers", "gold", "answerable", "style", "type", "domain"}
SNIPPET_RE = re.compile(r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                        r"(\d{1,2}, \d{4} \.\.\. |\d{4} — ).+")

errors = []


def err(msg):
    errors.append(msg)


def load_sources():
    files = {}
    for p in sorted(SRC.iterdir()):
        if p.is_file():
            files[p.name] = p.read_text(encoding="utf-8").split("\n")
            # drop the empty string produced by the trailing newline
            if files[p.name] and files[p.name][-1] == "":
                files[p.name].pop()
    return files


ABBREV = ("Dr.", "a.m.", "p.m.", "Ltd.", "St.", "Mr.", "Ms.")


def count_sentences(text):
    for a in ABBREV:
        text = text.replace(a, a.replace(".", ""))
    # a sentence ends at . ! or ? (optionally followed by a closing quote) before a capital or EOL
    return len(re.findall(r'[.!?]["”]?(?=\s+["“]?[A-Z]|\s*$)', text))


def check_formats(files):
    for name, lines in files.items():
        if name.endswith(".md"):
            if not lines or not lines[0].startswith("# "):
                err(f"{name}: line 1 must be a '# ' headline")
            paras = 0
            for i, line in enumerate(lines[1:], start=2):
                if i % 2 == 0:
                    if line.strip():
                        err(f"{name}:{i}: expected blank line")
                else:
                    if not line.strip():
                        err(f"{name}:{i}: expected a paragraph")
                    else:
                        paras += 1
                        n_sent = count_sentences(line)
                        if not 2 <= n_sent <= 4:
                            err(f"{name}:{i}: {n_sent} sentences (want 2-4)")
            if not 6 <= paras <= 8:
                err(f"{name}: {paras} paragraphs (want 6-8)")
        elif name.endswith("_snippets.txt"):
            for i, line in enumerate(lines, start=1):
                if not SNIPPET_RE.match(line):
                    err(f"{name}:{i}: snippet line does not match the date format")
        else:
            err(f"unexpected file in sources/: {name}")


def main():
    files = load_sources()
    check_formats(files)

    qs = []
    for n, raw in enumerate(QFILE.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            err(f"questions.jsonl:{n}: blank line")
            continue
        try:
            qs.append((n, json.loads(raw)))
        except json.JSONDecodeError as e:
            err(f"questions.jsonl:{n}: bad JSON ({e})")

    review = []
    seen_q = set()
    for n, q in qs:
        missing = KEYS - q.keys()
        if missing:
            err(f"q{n}: missing keys {sorted(missing)}")
            continue
        if q["question"] in seen_q:
            err(f"q{n}: duplicate question")
        seen_q.add(q["question"])
        if q["style"] not in STYLES:
            err(f"q{n}: bad style {q['style']!r}")
        if q["type"] not in TYPES:
            err(f"q{n}: bad type {q['type']!r}")
        if q["domain"] not in DOMAINS:
            err(f"q{n}: bad domain {q['domain']!r}")
        if q["style"] == "snippet" and "?" in q["question"]:
            err(f"q{n}: snippet-style question contains '?'")

        if not q["answerable"]:
            if q["answers"] or q["gold"]:
                err(f"q{n}: unanswerable but has answers/gold")
            if not q.get("why", "").strip():
                err(f"q{n}: unanswerable without 'why'")
            continue

        if not q["answers"] or not q["gold"]:
            err(f"q{n}: answerable but empty answers or gold")
            continue
        gold_set = set()
        for g in q["gold"]:
            src, line = g.get("source"), g.get("line")
            gold_set.add((src, line))
            if src not in files:
                err(f"q{n}: gold source {src!r} does not exist")
                continue
            if not src.startswith(q["domain"] + "_"):
                err(f"q{n}: gold source {src} not in domain {q['domain']}")
            if not isinstance(line, int) or not 1 <= line <= len(files[src]):
                err(f"q{n}: gold line {line!r} out of range for {src} ({len(files[src])} lines)")
                continue
            text = files[src][line - 1]
            if not text.strip():
                err(f"q{n}: gold line {src}:{line} is empty")
                continue
            for ans in q["answers"]:
                if ans not in text:
                    err(f"q{n}: answer {ans!r} not verbatim in {src}:{line}")

        # answer strings on non-gold lines (for manual review)
        for ans in q["answers"]:
            for src, lines in files.items():
                for i, text in enumerate(lines, start=1):
                    if (src, i) not in gold_set and ans.lower() in text.lower():
                        review.append((n, ans, src, i, text))

    # counts
    ans_qs = [q for _, q in qs if q.get("answerable")]
    un_qs = [q for _, q in qs if not q.get("answerable")]
    print(f"questions: {len(qs)}  answerable: {len(ans_qs)}  unanswerable: {len(un_qs)} "
          f"({100 * len(un_qs) / max(len(qs), 1):.0f}%)")
    n_art = sum(1 for f in files if f.endswith(".md"))
    n_snip = sum(len(v) for f, v in files.items() if f.endswith("_snippets.txt"))
    print(f"sources: {len(files)} files, {n_art} articles, {n_snip} snippet lines")

    def show(label, key, subset):
        c = Counter(q[key] for q in subset)
        print(f"  {label}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))

    print("by style")
    show("answerable", "style", ans_qs)
    show("unanswerable", "style", un_qs)
    print("by type")
    show("all", "type", [q for _, q in qs])
    show("answerable", "type", ans_qs)
    print("by domain")
    show("all", "domain", [q for _, q in qs])
    show("answerable", "domain", ans_qs)

    print(f"\nanswer strings on non-gold lines (review by hand): {len(review)}")
    for n, ans, src, i, text in review:
        short = text if len(text) <= 150 else text[:147] + "..."
        print(f"  q{n} {ans!r} -> {src}:{i}: {short}")

    if errors:
        print(f"\nERRORS: {len(errors)}")
        for e in errors:
            print("  " + e)
        return 1
    print("\nOK: all hard checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
