"""A watched sources folder: files created, changed, moved or deleted there are indexed as they
change (`rag watch`, and `rag ui` unless RAG_WATCH=false).

watchfiles batches the events of a burst (an editor's save, a copied folder) after a quiet
moment, and only the paths of a batch are indexed; the index run takes the same writer lock as
every other run, so a watcher and a `rag index` in another shell never interleave.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import RagError
from rag.loaders import SUPPORTED_SUFFIXES

if TYPE_CHECKING:
    from rag.engine import Engine
    from rag.schema import IndexReport

log = logging.getLogger("rag.watch")
DEBOUNCE_MS = 400  # quiet time that closes a batch; indexing follows within ~1 s of the last write
READY_MS = 200  # an idle watch wakes this often; its first wake (or batch) marks it as started


def _relevant(path: Path, root: Path) -> bool:
    """Sources and folders that may hold them; not hidden files (partial uploads, the origins
    file), not the feed archives' temporary files."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return False
    if any(p.startswith(".") for p in parts):
        return False
    return path.suffix.lower() in SUPPORTED_SUFFIXES or not path.suffix


def watch(engine: Engine, stop: threading.Event,
          on_index: Callable[[IndexReport], None] | None = None,
          ready: threading.Event | None = None) -> None:
    """Index each batch of changes until `stop` is set. Failures are logged and watching goes on."""
    from watchfiles import watch as changes

    root = engine.settings.sources_dir
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    # watchfiles starts watching only when the loop first asks for a batch: `ready` is set at its
    # first answer (a batch, or READY_MS of quiet), so a file written once `ready` is set is seen.
    for batch in changes(root, stop_event=stop, debounce=DEBOUNCE_MS, step=50, recursive=True,
                         raise_interrupt=False, yield_on_timeout=True, rust_timeout=READY_MS):
        if ready is not None:
            ready.set()
        paths = sorted({Path(p) for _, p in batch if _relevant(Path(p), root)})
        if not paths:
            continue
        try:
            report = engine.index(paths)
        except RagError as exc:
            log.warning("watching %s: %s", root, exc)
            continue
        if on_index is not None:
            on_index(report)


class Watcher:
    """`watch` in a daemon thread, for `rag ui`."""

    def __init__(self, engine: Engine, on_index: Callable[[IndexReport], None] | None = None):
        self.engine, self.on_index = engine, on_index
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="rag-watch", daemon=True)

    def _run(self) -> None:
        try:
            watch(self.engine, self.stop, self.on_index, self.ready)
        except Exception as exc:  # the page keeps serving answers; its status says watching stopped
            log.error("watching the sources folder stopped: %s", exc)
            self.ready.set()

    def start(self) -> Watcher:
        self.thread.start()
        self.ready.wait(5)
        return self

    @property
    def running(self) -> bool:
        return self.thread.is_alive() and not self.stop.is_set()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
