"""Importing chromadb early, in the background, for a command that will need it.

Importing chromadb is the largest part of a fresh `rag ask` (0.8–1.1 s on two cores), and a
third of that is the `overrides` package re-checking, at class creation, the signatures of
chromadb's own methods against their base classes: a development-time check chromadb's own tests
already make. A command started from the shell skips it and imports chromadb in a thread while
the main thread loads the embedding model, whose session is built in native code."""

from __future__ import annotations

import sys
import threading


def _mark_override(method=None, **_options):
    def mark(m):
        try:
            m.__override__ = True  # what EnforceOverrides looks for; the check itself is skipped
        except AttributeError:
            pass
        return m

    return mark(method) if method is not None else mark


def start() -> threading.Thread | None:
    """Import chromadb on a daemon thread (None when it is imported already). Whoever imports it
    meanwhile waits on Python's import lock and gets the whole module."""
    if "chromadb" in sys.modules:
        return None
    import numpy  # noqa: F401 - shared with the model's loading; imported once, before the split
    import overrides

    overrides.override = overrides.overrides = _mark_override  # bound by chromadb as it is imported
    thread = threading.Thread(target=_import, name="import-chromadb", daemon=True)
    thread.start()
    return thread


def _import() -> None:
    try:
        import chromadb  # noqa: F401
    except Exception:  # noqa: BLE001 - the store imports it again and reports the failure in one sentence
        pass
