"""Index runs in a child process, for a process that answers questions meanwhile (`rag ui`).

Inside the answering process a re-index starved it: Chroma's embedded client holds the GIL for
the whole of an upsert (0.5-1.2 s per 1,000 passages measured here, longer as the collection
grows), so every other thread, Gradio's event loop included, stood still, and clients' requests
timed out (benchmarks/RESULTS.md, load). A child has a GIL of its own and runs at a lower CPU
priority; it commits through the store's locks, as `rag index` from a shell does, and the serving
engine sees the new generation on its next ask.

The child is started on the first run and kept: it loads the model and opens Chroma once, so an
upload of one file costs what it did in-process, not a new interpreter's start. Requests and
replies are JSON lines over its stdin/stdout; it exits when its stdin closes (its parent is gone).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from pydantic import SecretStr

from rag.errors import IndexLockedError, IndexMismatchError, RagError
from rag.schema import IndexReport

NICE = 10  # the child yields the CPU to the answering process
_ERRORS = {e.__name__: e for e in (RagError, IndexLockedError, IndexMismatchError)}


class IndexWorker:
    """`Engine.index` with the given settings, in one long-lived child process, one run at a time."""

    def __init__(self, settings):
        self.settings = settings
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def start(self) -> IndexWorker:
        with self._lock:
            self._started()
        return self

    def _started(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen([sys.executable, "-m", "rag.index_child"], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)
            try:  # before it starts its threads (they inherit it); a process may always lower its own
                os.setpriority(os.PRIO_PROCESS, self._proc.pid,
                               min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICE))
            except OSError:
                pass
            # the settings hold secrets: a pipe, not argv or the environment
            self._proc.stdin.write(json.dumps(_values(self.settings)) + "\n")
        return self._proc

    def run(self, paths: Sequence[str | os.PathLike] | None, rebuild: bool, progress=None) -> IndexReport:
        request = {"rebuild": rebuild, "paths": None if paths is None else [os.fspath(p) for p in paths]}
        with self._lock:
            proc = self._started()
            try:
                proc.stdin.write(json.dumps(request) + "\n")  # same cwd: relative paths hold
                result = outcome(proc.stdout, progress)
            except BaseException:
                self._stop()  # its replies would answer the next caller: start afresh
                raise
            if not result:
                code = self._stop()
                raise RagError(f"Indexing stopped before it finished (exit status {code}); what it had "
                               "committed is kept, and the next run completes it: run it again.")
        return report_of(result)

    def _stop(self) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.kill()
        return proc.wait()

    def close(self) -> None:
        with self._lock:
            if self._proc is not None:
                self._proc.stdin.close()  # it exits after the run it may be in
                self._proc = None


def handle(engine, request: dict, reply) -> IndexReport | None:
    """One index run asked for by `request` ({"paths", "rebuild"}), answered by `reply`: progress
    messages, then the report or the error in one sentence. Returns the report (None on an error)."""
    try:
        report = engine.index(request["paths"], rebuild=request["rebuild"],
                              progress=lambda *p: reply({"progress": list(p)}))
    except RagError as exc:
        reply({"error": str(exc), "kind": type(exc).__name__})
        return None
    reply({"report": report.to_dict()})
    return report


def outcome(replies, progress=None) -> dict:
    """The reply that ends a run, after passing on its progress ({} when the replies stop first)."""
    for line in replies:
        msg = json.loads(line)
        if "progress" not in msg:
            return msg
        if progress:
            progress(*msg["progress"])
    return {}


def report_of(result: dict) -> IndexReport:
    if "error" in result:
        raise _ERRORS.get(result.get("kind"), RagError)(result["error"])
    return IndexReport(**result["report"])


def _values(settings) -> dict:
    """Every setting, resolved (folders as absolute paths) and with secrets revealed."""
    out = {}
    for name in type(settings).model_fields:
        v = getattr(settings, name)
        out[name] = v.get_secret_value() if isinstance(v, SecretStr) else str(v) if isinstance(v, Path) else v
    out.update(rag_sources_dir=str(settings.sources_dir), rag_index_dir=str(settings.index_dir),
               rag_model_cache_dir=str(settings.model_cache_dir))
    return out


def main() -> int:
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # a library printing to stdout must not corrupt the replies
    from rag.config import Settings
    from rag.engine import Engine

    def reply(msg: dict) -> None:
        out.write(json.dumps(msg) + "\n")

    settings = sys.stdin.readline()
    if not settings:
        return 0
    engine = None
    try:
        engine = Engine(Settings(**json.loads(settings)))
        engine.warm_up()
    except RagError:
        pass  # said again, as a reply, to each request
    for line in sys.stdin:  # until the parent closes the pipe (or is gone)
        if engine is None:
            try:
                engine = Engine(Settings(**json.loads(settings)))
            except RagError as exc:
                reply({"error": str(exc), "kind": type(exc).__name__})
                continue
        handle(engine, json.loads(line), reply)
    return 0


if __name__ == "__main__":  # `python -m rag.index_child` imports `rag` first: offline from the start
    sys.exit(main())
