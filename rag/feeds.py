"""Feed subscriptions: `rag feeds add|list|remove|update`, refreshed by `rag ui` on a timer.

A subscribed feed is not stored as the feed file (a feed lists only its latest entries, so
older ones would drop out of the library on the next fetch): its entries are appended to an
archive, `feeds/<name>.jsonl` in the sources folder, one entry a line with its title, link and
date. Re-fetching appends only entries not seen before, so only they are embedded. The list of
subscriptions, with each one's last fetch and last error, is `feeds.json` in the index folder.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import RagError
from rag.fetch import FetchError, check_url, display_url, name_for

if TYPE_CHECKING:
    from rag.engine import Engine

FOLDER = "feeds"  # inside the sources folder
_update_lock = threading.Lock()  # the UI's timer and a click on "Refresh" never fetch at once


@dataclass
class Feed:
    url: str
    source: str  # the archive, relative to the sources folder
    title: str = ""
    added_at: float = 0.0
    fetched_at: float = 0.0  # last attempt
    error: str = ""  # the last attempt's failure, "" when it worked
    entries: int = 0  # in the archive
    new: int = 0  # added by the last fetch
    etag: str = ""
    last_modified: str = ""


def _path(engine: Engine) -> Path:
    return engine.settings.index_dir / "feeds.json"


def load(engine: Engine) -> list[Feed]:
    try:
        rows = json.loads(_path(engine).read_text(encoding="utf-8"))
        return [Feed(**r) for r in rows]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, TypeError) as exc:
        raise RagError(f"The feed list {_path(engine)} is damaged ({type(exc).__name__}); fix or "
                       "delete it and subscribe again.") from None


def _save(engine: Engine, feeds: list[Feed]) -> None:
    path = _path(engine)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".feeds-", suffix=".part")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump([asdict(f) for f in feeds], fh, indent=1)
    os.replace(tmp, path)


def subscribe(engine: Engine, url: str) -> Feed:
    """Subscribe and fetch now; the feed is kept (with its error) even when this first fetch fails,
    unless the URL itself is not acceptable."""
    from rag.fetch import parse_allow

    engine.check_writable()
    url = url.strip()
    feeds = load(engine)
    if any(f.url == url for f in feeds):
        raise RagError(f"{display_url(url)} is already subscribed.")
    try:
        check_url(url, parse_allow(engine.settings.rag_allow_private_urls))
    except ValueError as exc:
        raise RagError(f"RAG_ALLOW_PRIVATE_URLS is invalid: {exc}") from None
    except FetchError as exc:
        raise RagError(str(exc)) from None
    taken = {f.source for f in feeds}
    source = f"{FOLDER}/{name_for(url, '.jsonl')}"
    n = 1
    while source in taken:
        n += 1
        source = f"{FOLDER}/{name_for(url, f'-{n}.jsonl')}"
    feed = Feed(url=url, source=source, added_at=round(time.time()))
    _save(engine, [*feeds, feed])
    return update(engine, [url])[0]


def unsubscribe(engine: Engine, url: str, purge: bool = False) -> Feed:
    """Stop following a feed; with purge, its archived entries also leave the library."""
    feeds = load(engine)
    gone = next((f for f in feeds if f.url == url.strip()), None)
    if gone is None:
        raise RagError(f"{display_url(url)} is not subscribed; `rag feeds list` shows the subscriptions.")
    _save(engine, [f for f in feeds if f is not gone])
    if purge and gone.source in engine.store.files():
        engine.remove_sources([gone.source])
    return gone


def update(engine: Engine, urls: list[str] | None = None) -> list[Feed]:
    """Fetch subscribed feeds (all, or those of `urls`) and index their new entries."""
    engine.check_writable()
    with _update_lock:
        feeds = load(engine)
        chosen = [f for f in feeds if urls is None or f.url in urls]
        changed = []
        for feed in chosen:
            if _fetch_into(engine, feed):
                changed.append(engine.settings.sources_dir / feed.source)
        if changed:
            report = engine.index(changed)
            for feed in chosen:
                warning = report.warning_for(feed.source)
                if warning and report.files.get(feed.source) == "rejected":
                    feed.error = warning
        # Saved against the file as it is now: a feed subscribed meanwhile is kept.
        current = {f.url: f for f in load(engine)}
        for feed in chosen:
            if feed.url in current:
                current[feed.url] = feed
        _save(engine, list(current.values()))
        return chosen


def _fetch_into(engine: Engine, feed: Feed) -> bool:
    """Append the feed's unseen entries to its archive; True when there were any."""
    from rag.loaders.feed import entries

    feed.fetched_at, feed.error, feed.new = round(time.time()), "", 0
    try:
        got = engine.fetch(feed.url, feed.etag, feed.last_modified)
    except FetchError as exc:
        feed.error = str(exc)
        return False
    if got.not_modified:
        return False
    if got.suffix != ".xml":
        sent = got.content_type or "no type"
        feed.error = f"{display_url(feed.url)} is not an RSS or Atom feed (it sent {sent})."
        return False
    try:
        title, items = entries(got.data)
    except ValueError as exc:
        feed.error = f"{display_url(feed.url)} {exc}"
        return False
    feed.etag, feed.last_modified, feed.title = got.etag, got.last_modified, title or feed.title
    archive = engine.settings.sources_dir / feed.source
    seen = set()
    if archive.is_file():
        for line in archive.read_text(encoding="utf-8").splitlines():
            try:
                seen.add(json.loads(line).get("id"))
            except (ValueError, AttributeError):
                continue
    fresh = [e for e in items if e["id"] not in seen]
    feed.entries = len(seen - {None}) + len(fresh)
    feed.new = len(fresh)
    if not fresh:
        return False
    archive.parent.mkdir(parents=True, exist_ok=True)
    # Appended oldest first (feeds list newest first; a date, when given, decides): the lines
    # already cited keep their numbers.
    fresh = sorted(reversed(fresh), key=lambda e: e["date"] or "")
    with open(archive, "a", encoding="utf-8") as fh:
        for e in fresh:
            fh.write(json.dumps(e, ensure_ascii=False) + "\n")
    return True


def refresh_forever(engine: Engine, minutes: float, stop: threading.Event) -> None:
    """For `rag ui`: update every feed every `minutes` until stopped (errors are kept per feed)."""
    while not stop.wait(minutes * 60):
        try:
            update(engine)
        except RagError:
            continue
