"""Plain text and Markdown: paragraphs (or one snippet per line), a headline read with each."""

from __future__ import annotations

import re

from rag.ingest import line_of, line_starts, pack, passage_hash, passage_id
from rag.schema import Passage


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


def _make(source: str, text: str, s: int, e: int, line: int, **meta) -> Passage:
    body = text[s:e]
    digest = passage_hash(body, meta.get("title", ""))
    return Passage(
        id=passage_id(source, line, None, s, digest),
        source=source,
        text=body,
        line=line,
        char_start=s,
        char_end=e,
        hash=digest,
        **meta,
    )


def parse_text(text: str, source: str, budget: int) -> list[Passage]:
    starts = line_starts(text)
    out = []
    spans, snippets = _blocks(text)
    title = "" if snippets else _heading(text, spans)
    if title:
        spans = spans[1:]  # the headline lives on in every passage's title
    for bs, be in spans:
        for s, e in pack(text, bs, be, budget):
            out.append(_make(source, text, s, e, line_of(s, starts), title=title))
    return out
