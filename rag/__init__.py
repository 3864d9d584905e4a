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


def ask(question: str, history: list | None = None) -> Answer:
    """Answer a question from the indexed sources, every claim cited as [n]."""
    return get_engine().ask(question, history)


def ask_stream(question: str, history: list | None = None):
    """Yield the answer's text deltas as they are written, then the finished Answer."""
    return get_engine().ask_stream(question, history)


def search(query: str, k: int = 5) -> list[Passage]:
    """The k most relevant passages (source, line, text, score)."""
    return get_engine().search(query, k)


def index(paths: Sequence[str | PathLike] | None = None, *, rebuild: bool = False) -> IndexReport:
    """Bring the index up to date with the sources (incremental unless rebuild=True)."""
    return get_engine().index(paths, rebuild=rebuild)


def add_sources(paths: Sequence[str | PathLike]) -> tuple[list[FileResult], IndexReport | None]:
    """Copy files into the sources folder (checked, safely named, duplicates refused) and
    index them; returns (per-file results, IndexReport or None when nothing was stored)."""
    return get_engine().add_sources([(p, Path(p).name) for p in paths])


def remove_sources(names: Sequence[str]) -> tuple[list[FileResult], IndexReport | None]:
    """Take indexed sources (named as `library()` lists them) out of the library: the files
    are moved to <index>/removed and their passages leave the index."""
    return get_engine().remove_sources(names)


def library() -> list[dict]:
    """Every indexed file with its passage count and when it was indexed."""
    return get_engine().library()
