"""Fault injection for the crash tests: `RAG_FAULT=<point>[:<n>]` kills this process, as `kill -9`
would, the n-th time (default the first) it reaches that point of an index run. Unset, it costs
one dictionary lookup. Points: parse, embed, chroma, record, keywords, log (server mode)."""

from __future__ import annotations

import os
import signal
from collections import Counter

_reached: Counter[str] = Counter()


def point(name: str) -> None:
    spec = os.environ.get("RAG_FAULT")
    if not spec:
        return
    where, _, nth = spec.partition(":")
    if where != name:
        return
    _reached[name] += 1
    if _reached[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
