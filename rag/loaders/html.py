"""Saved web pages: the article's paragraphs, without the page around it.

trafilatura finds the main text and the page's metadata (title, author, date, canonical URL,
site name), but its output has no positions in the saved file. So the page is also parsed
with BeautifulSoup, whose elements know their source line, and each paragraph of the article is
found in the page's text, in order, to point at the line where it starts. Pages with no
article (section fronts, error pages) fall back to every block outside nav/header/footer/forms.
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
    r"share (this|on)\b|copy link|\d+ min(ute)?s? read$|follow us\b|click here\b|continue reading\b|"
    r"listen to this article|auto-update is (on|off)|(photo|photograph|image|picture) ?(credit|:)|(c) |©|"
    r"all rights reserved|comments? \(\d+\)|\d+ comments?$|.*\bfree (articles?|stories)\b|"
    r".*\bunlimited (digital )?access\b)",
    re.IGNORECASE,
)
_PROMPT_MAX_WORDS = 25
_ARTICLE_MIN_WORDS = 60
_INVISIBLE = {"script", "style", "noscript", "template", "head", "title", "svg"}


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


def _anchors(soup) -> tuple[str, list[int], list]:
    """The page's visible text as one key stream, where each text node starts in it, and the
    element holding each node (which knows its line in the saved file)."""
    from bs4 import Comment

    stream, starts, elements = [], [], []
    at = 0
    for node in soup.find_all(string=True):
        if isinstance(node, Comment) or node.parent.name in _INVISIBLE:
            continue
        k = _key(node)
        if k:
            starts.append(at)
            elements.append(node.parent)
            stream.append(k)
            at += len(k)
    return "".join(stream), starts, elements


def _located(paragraphs: list[str], soup) -> list[tuple[str, object]]:
    """Each paragraph of trafilatura's text with the element of the saved page it starts in
    (a paragraph that cannot be found keeps the previous one's)."""
    from bisect import bisect_right

    stream, starts, elements = _anchors(soup)
    out, cursor, last = [], 0, (elements[0] if elements else None)
    for para in paragraphs:
        k = _key(para)
        # Next in order as a rule; trafilatura moves a few blocks (a standfirst, a timestamp),
        # and rewrites some markup inside a paragraph, when its opening is enough.
        at = next((i for i in (stream.find(k, cursor), stream.find(k), stream.find(k[:40], cursor),
                               stream.find(k[:40])) if i >= 0), -1)
        if at >= 0:
            last = elements[bisect_right(starts, at) - 1]
            cursor = at + len(k)
        out.append((para, last))
    return out


def _teasers(located: list[tuple[str, object]]) -> bool:
    """Whether trafilatura's "article" is no article: a few words (an error page), or mostly
    the text of links (a section front's teasers)."""
    words = sum(len(p.split()) for p, _ in located)
    linked = sum(len(p.split()) for p, el in located
                 if el is not None and (el.name == "a" or el.find_parent("a") is not None))
    return words < _ARTICLE_MIN_WORDS or linked > 0.5 * words


def _passages(blocks, source: str, text: str, budget: int, meta: PageMeta) -> list:
    starts = line_starts(text)
    out = []
    title_key = _key(meta.title)
    for body, el in blocks:
        body = re.sub(r"\s+", " ", body).strip()
        if not body or _is_prompt(body) or _key(body) == title_key:
            continue
        line = (el.sourceline if el is not None else None) or 1
        offset = starts[min(line, len(starts)) - 1] + ((el.sourcepos or 0) if el is not None else 0)
        for s, e in pack(body, 0, len(body), budget):
            out.append(new_passage(source, body[s:e], line=line, start=offset, end=offset, title=meta.title,
                                   url=meta.url))
    return out


def parse_html(text: str, source: str, budget: int) -> LoadedFile:
    from bs4 import BeautifulSoup

    meta, article = _article(text)
    soup = BeautifulSoup(text, "html.parser")
    if not meta.title and soup.title:
        meta.title = re.sub(r"\s+", " ", soup.title.get_text(" ", strip=True))
    located = _located(article, soup) if article else []
    if located and not _teasers(located):
        return LoadedFile(_passages(located, source, text, budget, meta), date=meta.date)
    # No article found: every block outside the page's chrome, as before trafilatura. (The
    # date trafilatura guesses for such pages is a guess about nothing: left out.)
    meta.date = ""
    for tag in soup(_CHROME_TAGS):
        tag.decompose()
    blocks = [(el.get_text(" ", strip=True), el) for el in soup.find_all(_BLOCK_TAGS)
              if not el.find_parent(_BLOCK_TAGS)]  # nested blocks are covered by their parent
    out = _passages(blocks, source, text, budget, meta)
    loaded = LoadedFile(out, date=meta.date)
    if out:
        loaded.warnings.append(f"{source} has no article that could be told from the rest of the page; "
                               "indexed all of its text.")
    return loaded
