"""`rag index`, `rag add` and `rag remove` in a shell hand their run to the library's running
writer (`rag watch`, the page), when one is running.

A fresh process pays again for what a running writer holds already: the embedding model, and
Chroma's index, which an embedded Chroma reads whole on its first use (at 1M passages, adding one
file from a shell took 10-19 s on its own and takes 1.5 s handed to the writer; benchmarks/
RESULTS.md). One writer also means one process writing the embedded Chroma, which is not
process-safe. A Ctrl-C in the shell leaves the run to finish in the writer.

The writer listens on a Unix socket in the index folder, which only its user may open (the socket
is made 0600 and each caller's uid is checked). A request is one run of `Engine.index` (absolute
paths, rebuild, the caller's sources folder), answered as the page's index child answers:
progress lines, then the report or the error in one sentence. With no writer listening (none
started, or one killed and its socket left behind), the command runs the index itself.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import threading
from collections.abc import Sequence
from pathlib import Path

from rag.errors import RagError
from rag.index_child import handle, outcome, report_of
from rag.schema import IndexReport

log = logging.getLogger("rag.handoff")
SOCKET = "writer.sock"
MAX_PATH = 104  # bytes a Unix socket's path may have (sun_path, less the final NUL, on Linux and macOS)
CONNECT_TIMEOUT = 2.0


def _socket_path(index_dir: Path) -> Path | None:
    path = index_dir.resolve() / SOCKET
    return path if len(os.fsencode(path)) < MAX_PATH else None


def _connect(path: Path) -> socket.socket | None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(CONNECT_TIMEOUT)
    try:
        conn.connect(str(path))
    except OSError:  # none there, or a writer killed without removing its socket
        conn.close()
        return None
    conn.settimeout(None)  # a run takes as long as it takes
    return conn


def writer_for(settings) -> RemoteWriter | None:
    """The running writer of this index folder, connected; None when there is none."""
    path = _socket_path(settings.index_dir)
    if path is None or not path.exists():
        return None
    conn = _connect(path)
    return RemoteWriter(conn, settings.sources_dir) if conn is not None else None


class RemoteWriter:
    """One index run in the running writer (`IndexWorker.run`'s interface)."""

    def __init__(self, conn: socket.socket, sources_dir: Path):
        self.conn, self.sources_dir = conn, sources_dir
        self.pid = _peer(conn)[0]

    def run(self, paths: Sequence[str | os.PathLike] | None, rebuild: bool, progress=None) -> IndexReport:
        request = {"rebuild": rebuild, "sources_dir": str(self.sources_dir.resolve()),
                   "paths": None if paths is None else [os.path.abspath(p) for p in paths]}
        with self.conn, self.conn.makefile("rw", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps(request) + "\n")
            f.flush()
            result = outcome(f, progress)
        if not result:
            raise RagError("The running writer (rag watch, or the page) stopped before the run finished; "
                           "what it had committed is kept, and the next run completes it: run it again.")
        report = report_of(result)
        report.by = "the running writer" + (f" (pid {self.pid})" if self.pid else "")
        return report


class Writer:
    """Takes index runs from other processes on the index folder's socket."""

    def __init__(self, engine, on_index=None):
        self.engine, self.on_index = engine, on_index  # on_index(report) after each run taken
        self._sock: socket.socket | None = None
        self._path: Path | None = None

    def start(self) -> Writer:
        path = _socket_path(self.engine.settings.index_dir)
        if path is None:
            log.info("The index folder's path is too long for a socket: `rag index` in a shell runs itself.")
            return self
        if path.exists() and (live := _connect(path)) is not None:
            live.close()
            log.info("Another writer already takes `rag index` runs for %s.", path.parent)
            return self
        path.parent.mkdir(parents=True, exist_ok=True)
        # Bound under another name and made private before it is where callers look.
        staged = path.with_name(f".{SOCKET}.{os.getpid()}")
        staged.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(staged))
        os.chmod(staged, 0o600)
        sock.listen(16)
        os.replace(staged, path)
        self._sock, self._path = sock, path
        threading.Thread(target=self._accept, name="rag-writer", daemon=True).start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rw", encoding="utf-8", newline="\n") as f:
            if not _same_user(conn):
                return
            line = f.readline()
            if not line:  # a writer starting up checked that this one is alive
                return

            def reply(msg: dict) -> None:
                try:
                    f.write(json.dumps(msg) + "\n")
                    f.flush()
                except OSError:
                    pass  # the caller left (Ctrl-C): the run goes on to its commit

            request = json.loads(line)
            mine = self.engine.settings.sources_dir.resolve()
            if Path(request["sources_dir"]) != mine:
                reply({"error": f"The running writer of this index reads {mine}, not "
                                f"{request['sources_dir']}: set RAG_SOURCES_DIR alike.", "kind": "RagError"})
                return
            report = handle(self.engine, request, reply)  # one at a time: the engine queues its runs
            if report is not None and self.on_index is not None:
                self.on_index(report)

    def close(self) -> None:
        if self._sock is None:
            return
        self._sock.close()
        self._sock = None
        try:
            self._path.unlink()
        except OSError:
            pass


def _peer(conn: socket.socket) -> tuple[int, int]:
    """(pid, uid) of the process at the other end (SO_PEERCRED; (0, this user) where the system
    has no such query, and the socket's 0600 mode is what keeps others out)."""
    if not hasattr(socket, "SO_PEERCRED"):
        return 0, os.getuid()
    pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                         struct.calcsize("3i")))
    return pid, uid


def _same_user(conn: socket.socket) -> bool:
    return _peer(conn)[1] == os.getuid()
