"""Loaders: bytes of one source file → passages with provenance. One module per kind of source,
one registry (`LOADERS`, by file suffix)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rag.dates import leading_date, normalize_date
from rag.ingest import LoadedFile, SourceError, decode, passage_id
from rag.loaders.feed import parse_feed
from rag.loaders.html import parse_html
from rag.loaders.jsonl import parse_jsonl
from rag.loaders.pdf import parse_pdf
from rag.loaders.text import parse_text


def _decoded(parse: Callable[[str, str, int], LoadedFile]) -> Callable[[bytes, str, int], LoadedFile]:
    """A loader for a text format: the bytes decoded, an empty file refused, decoding warnings first."""

    def load(data: bytes, source: str, budget: int) -> LoadedFile:
        text, warnings = decode(data, source)
        if not text.strip():
            raise SourceError(f"{source} is empty; nothing to index.")
        loaded = parse(text, source, budget)
        loaded.warnings[:0] = warnings
        return loaded

    return load


_text, _html = _decoded(parse_text), _decoded(parse_html)
Loader = Callable[[bytes, str, int], LoadedFile]
LOADERS: dict[str, Loader] = {
    ".txt": _text, ".md": _text, ".markdown": _text, ".jsonl": _decoded(parse_jsonl),
    ".html": _html, ".htm": _html, ".pdf": parse_pdf,
    ".xml": _decoded(parse_feed), ".rss": _decoded(parse_feed), ".atom": _decoded(parse_feed),
}
SUPPORTED_SUFFIXES = tuple(LOADERS)
# Raised when what loaders put in a passage changes: indexes parsed before are parsed again.
PARSER_VERSION = "2"


def read_source(path: Path, source: str, max_bytes: int) -> bytes:
    """The file's bytes; raises SourceError with one sentence when it can't be indexed."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SourceError(
            f"{source} has an unsupported type ({suffix or 'no extension'}); "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}."
        )
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SourceError(
                f"{source} is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit "
                "(RAG_MAX_FILE_MB); skipped."
            )
        return path.read_bytes()
    except PermissionError:
        raise SourceError(f"{source} cannot be read (permission denied); skipped.") from None
    except OSError as exc:
        raise SourceError(f"{source} cannot be read ({exc.strerror or exc}); skipped.") from None


def parse_source(data: bytes, suffix: str, source: str, budget: int, url: str = "") -> LoadedFile:
    """Bytes of one file → passages; raises SourceError when there is nothing to index.

    `url` is where the file was fetched from, the link of passages whose loader found none.
    A passage's date is the one its loader gave (a feed entry's, a record's), else the date its
    text opens with ("Jul 9, 2022 — ..."), else its document's.
    """
    loaded = LOADERS.get(suffix.lower(), _text)(data, source, budget)
    if not loaded.passages:
        raise SourceError(f"{source} has no text to index.")
    document_date = normalize_date(loaded.date)
    for p in loaded.passages:
        p.url = p.url or url
        p.date = normalize_date(p.date) or leading_date(p.text) or document_date
        p.id = passage_id(p)
    return loaded
