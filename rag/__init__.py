"""Cited answers over a folder of news sources.

    >>> import rag
    >>> a = rag.ask("What did Rubio propose?")
    >>> print(a.text, a.citations[0].source, a.citations[0].line)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

from rag.config import offline_environment

# Before any library looks for the network (tiktoken's encodings, the model hub, telemetry).
offline_environment()

from rag.errors import RagError  # noqa: E402

# Imported here, not on first call: the submodule `rag.evaluate` would otherwise replace the
# function of the same name on this package the first time it is imported. (It is light.)
from rag.evaluate import evaluate  # noqa: E402
from rag.schema import Answer, Citation, IndexReport, Passage  # noqa: E402
from rag.sources import FileResult  # noqa: E402

__all__ = ["Answer", "Citation", "IndexReport", "Passage", "RagError", "ask", "ask_stream", "search", "index",
           "add_sources", "remove_sources", "library", "evaluate", "get_engine", "reset"]

_engine = None
_engine_lock = threading.Lock()


def get_engine():
    """The process-wide engine (models are loaded once and reused by every call)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from rag.engine import Engine

            _engine = Engine()
        return _engine


def reset() -> None:
    """Forget the engine and the settings (after changing the environment, e.g. in tests)."""
    global _engine
    from rag.config import get_settings

    with _engine_lock:
        if _engine is not None:
            _engine.store.close()
        _engine = None
        get_settings.cache_clear()


def ask(question: str, history: list | None = None, since: str | None = None,
        until: str | None = None) -> Answer:
    """Answer a question from the indexed sources, every claim cited as [n]; with since/until
    ("2025-03-01", or a month "2025-03" or a year), only from passages dated within them."""
    return get_engine().ask(question, history, since, until)


def ask_stream(question: str, history: list | None = None, since: str | None = None,
               until: str | None = None):
    """Yield the answer's text deltas as they are written, then the finished Answer."""
    return get_engine().ask_stream(question, history, since, until)


def search(query: str, k: int = 5, since: str | None = None, until: str | None = None) -> list[Passage]:
    """The k most relevant passages (source, line, page, title, url, date, text, score)."""
    return get_engine().search(query, k, since, until)


def index(paths: Sequence[str | PathLike] | None = None, *, rebuild: bool = False) -> IndexReport:
    """Bring the index up to date with the sources (incremental unless rebuild=True)."""
    return get_engine().index(paths, rebuild=rebuild)


def add_sources(paths: Sequence[str | PathLike]) -> tuple[list[FileResult], IndexReport | None]:
    """Copy files, or fetch http(s) URLs (pages, PDFs, feeds), into the sources folder (checked,
    safely named, duplicates refused) and index them; returns (per-item results, files first,
    then URLs; IndexReport or None when nothing was stored)."""
    from rag.urls import is_url

    engine = get_engine()
    urls = [str(p) for p in paths if is_url(str(p))]
    files = [(p, Path(p).name) for p in paths if not is_url(str(p))]
    results, reports = [], []
    for part, add in ((files, engine.add_sources), (urls, engine.add_urls)):
        if part:
            res, report = add(part)
            results += res
            reports += [report] if report else []
    return results, _merged(reports)


def _merged(reports: list[IndexReport]) -> IndexReport | None:
    """Two index runs (files, then URLs) reported as one."""
    if len(reports) < 2:
        return reports[0] if reports else None
    a, b = reports
    return IndexReport(added=a.added + b.added, updated=a.updated + b.updated, removed=a.removed + b.removed,
                       unchanged=b.unchanged, embedded=a.embedded + b.embedded, passages=b.passages,
                       files={**a.files, **b.files}, warnings=a.warnings + b.warnings,
                       seconds=a.seconds + b.seconds)


def remove_sources(names: Sequence[str]) -> tuple[list[FileResult], IndexReport | None]:
    """Take indexed sources (named as `library()` lists them) out of the library: the files
    are moved to <index>/removed and their passages leave the index."""
    return get_engine().remove_sources(names)


def library() -> list[dict]:
    """Every indexed file with its passage count and when it was indexed."""
    return get_engine().library()
