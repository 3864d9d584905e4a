"""What every benchmark writes the same way: the machine line, the commit measured, and the
new section put at the top of benchmarks/RESULTS.md."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
_HEAD = "# Benchmark results\n\nNewest first. Rerun with `make bench`.\n\n"


def machine() -> str:
    """"x86_64, 2 cores, 24 GiB, Python 3.11.7, Linux-…" for the "Machine:" line."""
    gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.machine()}, {os.cpu_count()} cores, {gib:.0f} GiB, "
            f"Python {platform.python_version()}, {platform.platform()}")


def code_version() -> str:
    """The commit measured, and whether rag/ or ui/ differed from it."""
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "rag", "ui")
    return head + (" + uncommitted changes in rag/ or ui/" if dirty else "")


def prepend(lines: list[str]) -> None:
    """Put a new section at the top of RESULTS.md, under its heading."""
    old = RESULTS.read_text().split("\n", 4)[-1] if RESULTS.exists() else ""
    RESULTS.write_text(_HEAD + "\n".join(lines) + "\n" + old)
