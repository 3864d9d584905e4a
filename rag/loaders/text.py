"""Plain text and Markdown: paragraphs (or one snippet per line), a headline read with each."""

from __future__ import annotations

import re

from rag.dates import leading_date
from rag.ingest import LoadedFile, line_of, line_starts, new_passage, pack


def _blocks(text: str) -> tuple[list[tuple[int, int]], bool]:
    """Paragraph spans, and whether the file is a list of independent snippets: a file whose
    lines are all non-blank (like the seed file) has one block per line."""
    lines = text.strip("\n").split("\n")
    # Hard-wrapped prose also has no blank lines, but its lines run on in lower case.
    run_on = sum(1 for ln in lines[1:] if ln[:1].islower())
    snippet_mode = len(lines) > 1 and all(ln.strip() for ln in lines) and run_on * 2 < len(lines)
    pattern = r"[^\n]+" if snippet_mode else r"(?:[^\n]*\S[^\n]*(?:\n|$))+"
    spans = []
    for m in re.finditer(pattern, text):
        s, e = m.start(), m.end()
        chunk = text[s:e]
        s += len(chunk) - len(chunk.lstrip())
        e -= len(chunk) - len(chunk.rstrip())
        if e > s:
            spans.append((s, e))
    return spans, snippet_mode


def _heading(text: str, spans: list[tuple[int, int]]) -> str:
    """An article's headline: a first paragraph of one short line that is not a sentence.
    Every passage is read with it, so "what did it cost?" finds the paragraph that names
    the cost but not the subject."""
    if len(spans) < 2:
        return ""
    first = text[spans[0][0]:spans[0][1]]
    marked = first.startswith("#")
    first = first.lstrip("#").strip()
    if "\n" in first or not first or len(first) > 150 or (not marked and first[-1] in ".!?;:,"):
        return ""
    return first


def _front_matter(text: str) -> tuple[dict[str, str], int]:
    """YAML-style front matter of a Markdown note or blog post ("---" lines around "key: value"
    lines): its flat fields, and where the body begins (0 when there is none)."""
    m = re.match(r"---[ \t]*\n((?:[^\n]*\n)*?)---[ \t]*(?:\n|$)", text)
    if not m:
        return {}, 0
    fields = {}
    for ln in m.group(1).splitlines():
        key, sep, value = ln.partition(":")
        if sep and key.strip() and not key.startswith((" ", "\t", "-")):
            fields[key.strip().lower()] = value.strip().strip("\"'")
    return fields, m.end()


def parse_text(text: str, source: str, budget: int) -> LoadedFile:
    fields, body_start = _front_matter(text)
    starts = line_starts(text)
    out = []
    # The front matter is blanked, not cut, so that offsets and lines stay those of the file.
    spans, snippets = _blocks("\n" * body_start + text[body_start:])
    title = fields.get("title", "")
    if not snippets and not title:
        title = _heading(text, spans)
        if title:
            spans = spans[1:]  # the headline lives on in every passage's title
    url = fields.get("url") or fields.get("link") or fields.get("source", "")
    url = url if url.startswith(("http://", "https://")) else ""
    for bs, be in spans:
        for s, e in pack(text, bs, be, budget):
            out.append(new_passage(source, text[s:e], line=line_of(s, starts), start=s, end=e, title=title,
                                   url=url))
    # An article's dateline dates all of its paragraphs; a snippet per line dates only itself.
    date = fields.get("date") or fields.get("published", "")
    if not date and spans and not snippets:
        date = leading_date(text[spans[0][0]:spans[0][1]])
    return LoadedFile(out, date=date)
