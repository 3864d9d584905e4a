"""Importing chromadb early, in the background, for a command that will need it.

Importing chromadb is the largest part of a fresh `rag ask` (0.8–1.5 s on two cores). A third
of that is the `overrides` package re-checking, at class creation, the signatures of chromadb's
own methods against their base classes: a development-time check chromadb's own tests already
make. Another third is `chromadb.utils.embedding_functions`, which imports a client for every
embedding provider (Cohere, OpenAI, Jina, jsonschema for their configs ...) so that a collection
naming one can be opened; ours name none (the vectors come from rag.embed). A command started
from the shell skips the check, defers that package until something asks it for more than its
names, and imports chromadb in a thread while the main thread loads the embedding model, whose
session is built in native code."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
import threading
import types
from collections.abc import Mapping

_EF = "chromadb.utils.embedding_functions"


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
    _defer_embedding_functions()
    thread = threading.Thread(target=_import, name="import-chromadb", daemon=True)
    thread.start()
    return thread


def _import() -> None:
    try:
        import chromadb  # noqa: F401
    except Exception:  # noqa: BLE001 - the store imports it again and reports the failure in one sentence
        pass


def _defer_embedding_functions() -> None:
    """Stand in for chromadb.utils.embedding_functions until something uses it: its registries
    and any other name load the real package on first use, and its submodules import as usual."""
    spec = importlib.util.find_spec("chromadb")
    if spec is None or not spec.submodule_search_locations or _EF in sys.modules:
        return
    stand_in = types.ModuleType(_EF)

    @functools.cache
    def load() -> types.ModuleType:
        if sys.modules.get(_EF) is stand_in:
            del sys.modules[_EF]
        return importlib.import_module(_EF)

    stand_in.__path__ = [f"{spec.submodule_search_locations[0]}/utils/embedding_functions"]
    stand_in.__getattr__ = lambda name: getattr(load(), name)  # PEP 562: any other name
    stand_in.known_embedding_functions = _Registry(load, "known_embedding_functions")
    stand_in.sparse_known_embedding_functions = _Registry(load, "sparse_known_embedding_functions")
    stand_in.register_embedding_function = lambda *a, **k: load().register_embedding_function(*a, **k)
    sys.modules[_EF] = stand_in


class _Registry(Mapping):
    """A registry of the deferred package, read through to the real one."""

    def __init__(self, load, name: str):
        self._load, self._name = load, name

    def __getitem__(self, key):
        return getattr(self._load(), self._name)[key]

    def __iter__(self):
        return iter(getattr(self._load(), self._name))

    def __len__(self) -> int:
        return len(getattr(self._load(), self._name))
