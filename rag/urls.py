"""Adding sources by URL: fetched (rag.fetch), stored in the sources folder under a name made
from the URL, indexed like an upload, and remembered in the origins file with the URL, so the
passages link to it and the next `rag add` of the same URL asks only for a changed copy."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rag import origins
from rag.fetch import FetchError, name_for
from rag.schema import IndexReport
from rag.sources import FileResult

if TYPE_CHECKING:
    from rag.engine import Engine
    from rag.indexer import ProgressFn


def is_url(text: str) -> bool:
    return text.strip().lower().startswith(("http://", "https://"))


def add_urls(engine: Engine, urls: Sequence[str], progress: ProgressFn | None = None
             ) -> tuple[list[FileResult], IndexReport | None]:
    sources_dir = engine.settings.sources_dir
    links = origins.load(sources_dir)
    source_of = {e.get("url"): name for name, e in links.items() if isinstance(e, dict)}
    results: list[FileResult] = []
    fetched: dict[str, dict] = {}  # source name → its origin entry
    with tempfile.TemporaryDirectory(prefix="rag-fetch-") as tmp:
        files = []
        for url in dict.fromkeys(u.strip() for u in urls):
            known = source_of.get(url)
            if known and not (sources_dir / known).is_file():
                known = None  # removed since: fetch it whole
            prior = links.get(known, {}) if known else {}
            try:
                got = engine.fetch(url, prior.get("etag", ""), prior.get("last_modified", ""))
            except FetchError as exc:
                results.append(FileResult(name=url, status="rejected", reason=str(exc)))
                continue
            if got.not_modified:
                results.append(FileResult(name=url, status="unchanged", source=known or "",
                                          reason="Not changed since it was last fetched."))
                continue
            name = known if known and known.endswith(got.suffix) else name_for(url, got.suffix)
            path = Path(tmp) / name
            path.write_bytes(got.data)
            files.append((path, name))
            fetched[name] = {"url": url, "etag": got.etag, "last_modified": got.last_modified,
                             "fetched_at": round(time.time())}
        if not files:
            return results, None
        # Recorded before indexing, which reads the link into the passages; dropped again below
        # for what was not stored.
        origins.save(sources_dir, {**links, **fetched})
        stored, report = engine.add_sources(files, progress)
    for r in stored:
        r.name = fetched[r.source]["url"]
        if r.status in ("added", "updated", "unchanged"):
            links[r.source] = fetched[r.source]
    origins.save(sources_dir, links)
    return results + stored, report
