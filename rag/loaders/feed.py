"""RSS 0.9x/1.0/2.0 and Atom feed files with feedparser: each entry a document with its title,
link and publication date; its content (or summary) HTML turned into paragraphs.

A passage's line is the line of the feed file where its entry starts. A feed file saved again
with new entries keeps the old entries' text and so their vectors: only new entries are embedded.
"""

from __future__ import annotations

import io
import re

from rag.dates import normalize_date
from rag.ingest import LoadedFile, SourceError, line_of, line_starts, new_passage, pack

_ENTRY_START = re.compile(r"<(?:[\w-]+:)?(?:item|entry)[\s>/]", re.IGNORECASE)
_BLOCKS = ("p", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "td")


def html_paragraphs(html: str) -> list[str]:
    """Feed content is sanitised HTML (or plain text): its paragraphs as plain text."""
    from bs4 import BeautifulSoup

    # get_text() drops <br> tags, so a double <br> (a paragraph break in plain feed text) is made a
    # blank line before parsing; splitting its output on "<br><br>" could never match.
    soup = BeautifulSoup(re.sub(r"<br\s*/?>\s*<br\s*/?>", "\n\n", html, flags=re.IGNORECASE), "html.parser")
    blocks = [el for el in soup.find_all(_BLOCKS) if not el.find_parent(_BLOCKS)]
    if not blocks:
        texts = re.split(r"\n\s*\n", soup.get_text("\n"))
    else:
        texts = [el.get_text(" ") for el in blocks]
    return [t for t in (re.sub(r"\s+", " ", x).strip() for x in texts) if t]


def _entry_html(entry) -> str:
    for c in entry.get("content") or []:
        if c.get("value", "").strip():
            return c["value"]
    return entry.get("summary", "") or ""


def _parse(data: str | bytes):
    """feedparser's result; ValueError (a sentence's predicate) when it holds no entries."""
    import feedparser

    # Always a stream: given a str or bytes, feedparser first tries it as a URL or a file name and
    # reads that instead, so a feed whose text is a path or an http:// URL would index another
    # file or fetch over the network. A stream's bytes are what it gets from a str anyway.
    feed = feedparser.parse(io.BytesIO(data.encode("utf-8") if isinstance(data, str) else data))
    if not feed.entries:
        if not feed.get("version"):
            raise ValueError("is not a readable RSS or Atom feed")
        raise ValueError("is a feed without entries")
    return feed


def _entry(entry) -> dict:
    title = re.sub(r"\s+", " ", entry.get("title", "")).strip()
    paragraphs = html_paragraphs(_entry_html(entry)) or ([title] if title else [])
    link = entry.get("link", "")
    return {
        "id": entry.get("id") or link or title,
        "title": title,
        "url": link,
        # As written (the publisher's local day); the parsed form is UTC.
        "date": normalize_date(entry.get("published") or entry.get("updated") or "")
                or normalize_date(entry.get("published_parsed") or entry.get("updated_parsed")),
        "paragraphs": paragraphs,
    }


def entries(data: bytes) -> tuple[str, list[dict]]:
    """A fetched feed → its title and its entries as archive records (id, title, url, date, text),
    in the feed's order; raises ValueError."""
    feed = _parse(data)
    out = []
    for entry in feed.entries:
        e = _entry(entry)
        paragraphs = e.pop("paragraphs")
        if paragraphs:
            out.append({**e, "text": "\n\n".join(paragraphs)})
    return re.sub(r"\s+", " ", feed.feed.get("title", "")).strip(), out


def parse_feed(text: str, source: str, budget: int) -> LoadedFile:
    try:
        feed = _parse(text)
    except ValueError as exc:
        raise SourceError(f"{source} {exc}; skipped.") from None
    starts = line_starts(text)
    offsets = [m.start() for m in _ENTRY_START.finditer(text)]
    if len(offsets) != len(feed.entries):  # odd markup: entries still count, lines point at the top
        offsets = [0] * len(feed.entries)
    out = []
    for entry, offset in zip(feed.entries, offsets, strict=True):
        e = _entry(entry)
        line = line_of(offset, starts)
        for para in e["paragraphs"]:
            for s, end in pack(para, 0, len(para), budget):
                out.append(new_passage(source, para[s:end], line=line, start=offset, end=offset,
                                       title=e["title"] if e["title"] != para else "", url=e["url"],
                                       date=e["date"]))
    return LoadedFile(out)
