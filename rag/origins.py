"""Where a source that came from the web was fetched from: `.origins.json` in the sources folder,
source name → {url, etag, last_modified, fetched_at}.

It lives beside the files it describes (hidden, so it is never indexed itself), so a rebuilt
index, or a sources folder moved to another machine, still links each passage to its page.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

FILE = ".origins.json"


def load(sources_dir: Path) -> dict[str, dict]:
    try:
        data = json.loads((sources_dir / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def url_of(origins: dict[str, dict], source: str) -> str:
    entry = origins.get(source)
    return str(entry.get("url", "")) if isinstance(entry, dict) else ""


def save(sources_dir: Path, origins: dict[str, dict]) -> None:
    """Written beside and renamed, so a crash never leaves half the file."""
    sources_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=sources_dir, prefix=".origins-", suffix=".part")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(origins, fh, indent=1, sort_keys=True)
    os.replace(tmp, sources_dir / FILE)
