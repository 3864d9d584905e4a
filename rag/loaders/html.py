"""Saved web pages: one passage per block element."""

from __future__ import annotations

import re

from rag.ingest import line_starts, pack, passage_hash, passage_id
from rag.schema import Passage

_BLOCK_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td", "th")


def parse_html(text: str, source: str, budget: int) -> list[Passage]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "nav", "footer", "header", "form", "svg"]):
        tag.decompose()
    starts = line_starts(text)
    out = []
    for el in soup.find_all(_BLOCK_TAGS):
        if el.find_parent(_BLOCK_TAGS):  # nested blocks are covered by their parent
            continue
        body = re.sub(r"\s+", " ", el.get_text(" ", strip=True)).strip()
        if not body:
            continue
        line = el.sourceline or 1
        offset = starts[min(line, len(starts)) - 1] + (el.sourcepos or 0)
        for s, e in pack(body, 0, len(body), budget):
            piece = body[s:e]
            digest = passage_hash(piece, title)
            out.append(
                Passage(
                    id=passage_id(source, line, None, offset + s, digest),
                    source=source,
                    text=piece,
                    line=line,
                    char_start=offset,
                    char_end=offset + len(str(el)),
                    hash=digest,
                    title=title,
                )
            )
    return out
