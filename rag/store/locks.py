"""Cross-process locks (flock) for the index folder: one writer at a time, readers never see a
half-written commit."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.errors import IndexLockedError


def _acquire(path: Path, exclusive: bool, deadline: float) -> int:
    """A descriptor holding a flock on path; polls until the deadline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise IndexLockedError(
                    f"Another process is updating the index at {path.parent}; "
                    "try again when it has finished."
                ) from None
            time.sleep(0.01)


@contextmanager
def file_lock(path: Path, exclusive: bool, timeout: float, gate: Path | None = None) -> Iterator[None]:
    """A cross-process lock (flock): Chroma's PersistentClient is not process-safe.

    flock is not fair: readers asking back to back keep a shared lock held forever and starve
    a writer. With a gate, a writer holds the gate exclusively while it waits and writes;
    readers only pass through it, so once a writer waits, new readers queue behind it.
    """
    deadline = time.monotonic() + timeout
    held: list[int] = []
    try:
        if gate is not None:
            held.append(_acquire(gate, exclusive, deadline))
        held.append(_acquire(path, exclusive, deadline))
        if gate is not None and not exclusive:
            os.close(held.pop(0))
        yield
    finally:
        for fd in held:
            os.close(fd)  # closing a descriptor releases its lock
