"""Saved web pages: the article's paragraphs, without the page around it.

trafilatura finds the main text and the page's metadata (title, author, date, canonical URL,
site name), but its output has no positions in the saved file. So the page is also parsed
with BeautifulSoup, whose block elements know their source line, and a block becomes a
passage only when trafilatura counted its text as part of the article. Pages with no article
(section fronts, error pages) fall back to every block outside nav/header/footer/forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.ingest import LoadedFile, line_starts, new_passage, pack

_BLOCK_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td", "th")
_CHROME_TAGS = ("script", "style", "noscript", "nav", "footer", "header", "form", "svg", "aside",
                "button", "iframe", "template")
# Prompts that sites put between an article's paragraphs. trafilatura keeps some of them, as
# they sit inside the article element; they are only dropped when the block is short.
_PROMPT = re.compile(
    r"^(advertisement|advert|sponsored|read more\b|related\b|see also\b|recommended\b|most read\b|"
    r"(sign|subscribe) (up|now|today)|.*\bnewsletter\b|.*\b(subscribe|subscription|subscriber)s?\b|"
    r"share (this|on)\b|copy link|follow us\b|click here\b|continue reading\b|listen to this article|"
    r"(photo|image|picture) ?(credit|:)|(c) |©|all rights reserved|comments? \(\d+\)|\d+ comments?$)",
    re.IGNORECASE,
)
_PROMPT_MAX_WORDS = 25


@dataclass
class PageMeta:
    title: str = ""
    author: str = ""
    date: str = ""
    url: str = ""
    site: str = ""


def _key(text: str) -> str:
    """Text compared without white space or case: trafilatura and BeautifulSoup space inline
    elements differently ("Rome ," against "Rome,")."""
    return re.sub(r"\s+", "", text).lower()


def _article(html: str) -> tuple[PageMeta, list[str]]:
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False,
                                          favor_precision=True)
    except Exception:  # a page trafilatura chokes on is still indexed by the fallback below
        doc = None
    if doc is None:
        return PageMeta(), []
    meta = PageMeta(*(str(getattr(doc, k, "") or "") for k in ("title", "author", "date", "url",
                                                                 "sitename")))
    lines = [ln for ln in (doc.text or "").split("\n") if ln.strip()]
    return meta, lines


def _is_prompt(text: str) -> bool:
    return len(text.split()) <= _PROMPT_MAX_WORDS and bool(_PROMPT.match(text))


def parse_html(text: str, source: str, budget: int) -> LoadedFile:
    from bs4 import BeautifulSoup

    meta, article = _article(text)
    soup = BeautifulSoup(text, "html.parser")
    if not meta.title and soup.title:
        meta.title = re.sub(r"\s+", " ", soup.title.get_text(" ", strip=True))
    keys = {_key(ln) for ln in article}
    whole = "".join(_key(ln) for ln in article)
    if not article:
        for tag in soup(_CHROME_TAGS):
            tag.decompose()
    starts = line_starts(text)
    out = []
    for el in soup.find_all(_BLOCK_TAGS):
        if el.find_parent(_BLOCK_TAGS):  # nested blocks are covered by their parent
            continue
        body = re.sub(r"\s+", " ", el.get_text(" ", strip=True)).strip()
        if not body or _is_prompt(body) or _key(body) == _key(meta.title):
            continue
        if article:
            k = _key(body)
            # A block is the article's when trafilatura kept its text: as a line of its own,
            # or, for a longer block, inside a line that joins several blocks.
            if k not in keys and not (len(body.split()) >= 8 and k in whole):
                continue
        line = el.sourceline or 1
        offset = starts[min(line, len(starts)) - 1] + (el.sourcepos or 0)
        for s, e in pack(body, 0, len(body), budget):
            out.append(new_passage(source, body[s:e], line=line, start=offset + s, end=offset + len(str(el)),
                                   title=meta.title, url=meta.url))
    loaded = LoadedFile(out, date=meta.date)
    if not article and out:
        loaded.warnings.append(f"{source} has no article that could be told from the rest of the page; "
                               "indexed all of its text.")
    return loaded
