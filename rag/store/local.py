"""The persisted index: a passage record (SQLite) and the Chroma collection kept in step with it.

The record is the truth about what is indexed: files with their hashes, passages with their
provenance and text. Chroma holds the vectors under the same deterministic ids, and the
keyword index is built from the record (llama-index's Chroma store leaves its docstore empty,
so it cannot feed BM25). A `generation` token, new on every commit, tells readers in
other processes that Chroma changed under them and must be reopened (its HNSW segment is
cached in memory per client).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag import faults
from rag.dates import date_key
from rag.errors import IndexMismatchError, RagError
from rag.ingest import embed_text, read_with
from rag.keyword import fts_text
from rag.schema import Passage
from rag.store import dated
from rag.store.locks import file_lock

COLLECTION = "passages"
CHROMA_BATCH = 1000  # Chroma rejects very large adds
GET_BATCH = 5000  # ids per Chroma get: one SQL variable each, and SQLite allows 32,766
_PASSAGE_COLS = (
    "id", "source", "text", "line", "page", "char_start", "char_end", "hash", "title", "url", "date"
)
_TEXT_COLS = ("id", "source", "text", "hash", "title", "url", "date")
_COLUMN_DEFS = ", ".join(f"{c} {'TEXT' if c in _TEXT_COLS else 'INTEGER'}" for c in _PASSAGE_COLS)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY, hash TEXT NOT NULL, size INTEGER, mtime REAL, indexed_at REAL);
CREATE TABLE IF NOT EXISTS passages ({_COLUMN_DEFS});
CREATE UNIQUE INDEX IF NOT EXISTS passages_id ON passages(id);
CREATE INDEX IF NOT EXISTS passages_source ON passages(source);
CREATE INDEX IF NOT EXISTS passages_hash ON passages(hash);
CREATE INDEX IF NOT EXISTS passages_date ON passages(date);
CREATE VIRTUAL TABLE IF NOT EXISTS keywords USING fts5(terms, content='',
    tokenize='unicode61 remove_diacritics 0');
CREATE VIRTUAL TABLE IF NOT EXISTS keywords_vocab USING fts5vocab(keywords, row);
CREATE TABLE IF NOT EXISTS day_counts (date TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS passages_day_in AFTER INSERT ON passages WHEN NEW.date != '' BEGIN
    INSERT INTO day_counts VALUES (NEW.date, 1) ON CONFLICT(date) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS passages_day_out AFTER DELETE ON passages WHEN OLD.date != '' BEGIN
    UPDATE day_counts SET n = n - 1 WHERE date = OLD.date;
END;
"""
# The keyword table of a record written before it existed is filled once, from the passages.
KEYWORDS_VERSION = "1"
# Passages per day, kept by triggers: how many a date range holds without counting them (a
# year of a 1M-passage library is ~30 ms to count, a day_counts range sum well under 1 ms).
DAYS_VERSION = "1"


class Store:
    def __init__(self, index_dir: Path, lock_timeout: float = 30.0):
        self.dir = index_dir
        self.lock_timeout = lock_timeout
        self._mutex = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._client = None
        self._collection = None
        self._generation_seen: str | None = None
        self._counted: tuple[str, int] | None = None  # (generation, passages)
        self._readers = threading.local()
        self._opened = 0  # bumped by close(): read connections opened before are stale

    # ---- locks -------------------------------------------------------------------------
    def writer(self):
        """Held for a whole indexing run, so that two runs never interleave."""
        return file_lock(self.dir / ".writer.lock", True, self.lock_timeout)

    def committing(self):
        """Held only while Chroma and the record are written; readers wait just for that.

        Taken before `_mutex`: a reader holding the shared lock needs `_mutex` to finish.
        """
        return file_lock(self.dir / ".commit.lock", True, self.lock_timeout, self.dir / ".gate.lock")

    def reading(self):
        return file_lock(self.dir / ".commit.lock", False, self.lock_timeout, self.dir / ".gate.lock")

    # ---- record ------------------------------------------------------------------------
    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            path = self.dir / "record.sqlite"
            try:
                db = sqlite3.connect(path, check_same_thread=False, timeout=self.lock_timeout)
                db.executescript(_SCHEMA)
                _refill(db, "keywords", KEYWORDS_VERSION, _fill_keywords)
                _refill(db, "days", DAYS_VERSION, _fill_days)
            except sqlite3.DatabaseError:
                raise RagError(
                    f"The index at {self.dir} is damaged; run `rag index --rebuild` to rebuild "
                    "it from the sources."
                ) from None
            self._db = db
        return self._db

    def _reader(self) -> sqlite3.Connection:
        """This thread's own read connection: concurrent asks run their keyword searches (the
        costliest query, 20-45 ms at 100k passages) side by side, not one at a time behind the
        shared connection's mutex; SQLite lets readers share the file."""
        self.db  # noqa: B018 - the schema exists before a reader looks
        held = getattr(self._readers, "conn", None)
        if held is None or held[0] != self._opened:
            if held is not None:
                held[1].close()
            held = (self._opened, sqlite3.connect(self.dir / "record.sqlite", timeout=self.lock_timeout))
            self._readers.conn = held
        return held[1]

    def meta(self, key: str, default: str | None = None) -> str | None:
        with self._mutex:
            row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def generation(self) -> str:
        return self.meta("generation", "") or ""

    def check_model(self, key: str, dim: int | None = None) -> None:
        """Refuse to mix vectors of two models (checked by name before the model loads)."""
        built = self.meta("embed_model")
        built_dim = int(self.meta("embed_dim", "0") or 0)
        if built and (built != key or (dim is not None and built_dim != dim)):
            raise IndexMismatchError(
                f"The index was built with the embedding model {built!r}, not {key!r}; run "
                "`rag index --rebuild` to re-embed the sources with the new model."
            )

    def files(self) -> dict[str, str]:
        with self._mutex:
            return dict(self.db.execute("SELECT source, hash FROM files").fetchall())

    def file_stats(self) -> dict[str, tuple[int, float]]:
        """source → (size, mtime) as recorded when the file was last read."""
        with self._mutex:
            rows = self.db.execute("SELECT source, size, mtime FROM files").fetchall()
        return {s: (size, mtime) for s, size, mtime in rows}

    def restat(self, stats: dict[str, tuple[str, int, float]]) -> None:
        """Record a new (size, mtime) for files read again and found unchanged (source → (hash,
        size, mtime)), so that a touched file is not read on every run. Not a commit: nothing a
        reader sees changes, so no new generation (which would make every reader reopen Chroma)."""
        with self._mutex, self.db as db:
            db.executemany("UPDATE files SET size = ?, mtime = ? WHERE source = ? AND hash = ?",
                           [(size, mtime, s, h) for s, (h, size, mtime) in stats.items()])

    def file_rows(self) -> list[tuple[str, int, float]]:
        """(source, passages, indexed_at) of every indexed file, by name."""
        with self._mutex:
            return self.db.execute(
                "SELECT f.source, COUNT(p.id), f.indexed_at FROM files f "
                "LEFT JOIN passages p ON p.source = f.source GROUP BY f.source ORDER BY f.source"
            ).fetchall()

    def passage_ids(self, source: str) -> set[str]:
        with self._mutex:
            rows = self.db.execute("SELECT id FROM passages WHERE source=?", (source,))
            return {r[0] for r in rows}

    def all_ids(self) -> set[str]:
        with self._mutex:
            return {r[0] for r in self.db.execute("SELECT id FROM passages")}

    def ids_by_hash(self, hashes: Sequence[str]) -> dict[str, str]:
        """content hash → an indexed passage id with that text, to reuse its vector."""
        out: dict[str, str] = {}
        with self._mutex:
            for b in range(0, len(hashes), 500):
                chunk = list(hashes[b : b + 500])
                q = f"SELECT hash, id FROM passages WHERE hash IN ({','.join('?' * len(chunk))})"
                out.update(dict(self.db.execute(q, chunk).fetchall()))
        return out

    def ids_dated(self, since: str, until: str, limit: int | None = None) -> set[str]:
        """Ids of the passages dated within [since, until] (either may be "": open), at most limit."""
        q, args = "SELECT id FROM passages WHERE date != ''", []
        if since:
            q, args = q + " AND date >= ?", [*args, since]
        if until:
            q, args = q + " AND date <= ?", [*args, until]
        if limit is not None:
            q, args = q + " LIMIT ?", [*args, limit]
        with self._mutex:
            return {r[0] for r in self.db.execute(q, args)}

    def count_dated(self, since: str, until: str) -> int:
        """How many passages are dated within [since, until] (either may be "": open)."""
        with self._mutex:
            row = self.db.execute("SELECT COALESCE(SUM(n), 0) FROM day_counts WHERE date >= ? AND date <= ?",
                                  (since or "0", until or "9")).fetchone()
        return row[0]

    def dated_among(self, ids: Sequence[str], since: str, until: str) -> set[str]:
        """Those of `ids` dated within [since, until]."""
        out: set[str] = set()
        with self._mutex:
            for b in range(0, len(ids), 500):
                chunk = list(ids[b : b + 500])
                q = (f"SELECT id FROM passages WHERE id IN ({','.join('?' * len(chunk))}) "
                     "AND date != '' AND date >= ? AND date <= ?")
                out.update(r[0] for r in self.db.execute(q, [*chunk, since or "0", until or "9"]))
        return out

    def doc_frequency(self, term: str) -> int:
        """In how many passages a (stemmed) term occurs."""
        with self._mutex:
            row = self.db.execute("SELECT doc FROM keywords_vocab WHERE term = ?", (term,)).fetchone()
        return row[0] if row else 0

    def keyword_search(self, words: Sequence[str], n: int, days: tuple[str, str] = ("", "")
                       ) -> list[tuple[str, float]]:
        """(id, BM25 score) of the n best passages holding any of the terms, dated within `days`
        (since, until; "" is open) when either is given: the range is part of the query."""
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        since, until = days
        db = self._reader()
        if since or until:
            rows = db.execute(
                "SELECT p.id, -bm25(keywords) AS score FROM keywords "
                "JOIN passages p ON p.rowid = keywords.rowid WHERE keywords MATCH ? "
                "AND p.date != '' AND p.date >= ? AND p.date <= ? ORDER BY score DESC LIMIT ?",
                (match, since or "0", until or "9", n)).fetchall()
            return [(pid, float(score)) for pid, score in rows]
        # Undated, the n best rowids first and their ids after: joining the record for every
        # matching passage cost as much as scoring it (35 → 21 ms CPU at 100k passages);
        # bm25() in ORDER BY beats FTS5's `rank` (27 ms), which sorts through its own hook.
        top = db.execute("SELECT rowid, bm25(keywords) AS s FROM keywords WHERE keywords MATCH ? "
                         "ORDER BY s LIMIT ?", (match, n)).fetchall()
        if not top:
            return []
        marks = ",".join("?" * len(top))
        ids = dict(db.execute(f"SELECT rowid, id FROM passages WHERE rowid IN ({marks})",
                              [r for r, _ in top]).fetchall())
        return [(ids[r], -float(s)) for r, s in top if r in ids]

    def count(self) -> int:
        """Passages in the record; counted once per generation (a COUNT(*) of 1M rows is ~15 ms,
        and every ask needs the figure)."""
        with self._mutex:
            gen = self.generation()
            if self._counted is None or self._counted[0] != gen:
                self._counted = (gen, self.db.execute("SELECT COUNT(*) FROM passages").fetchone()[0])
            return self._counted[1]

    def passages(self, ids: Sequence[str] | None = None) -> list[Passage]:
        cols = ", ".join(_PASSAGE_COLS)
        with self._mutex:
            if ids is None:
                rows = self.db.execute(f"SELECT {cols} FROM passages ORDER BY rowid").fetchall()
            else:
                rows = []
                for b in range(0, len(ids), 500):
                    chunk = list(ids[b : b + 500])
                    q = f"SELECT {cols} FROM passages WHERE id IN ({','.join('?' * len(chunk))})"
                    rows.extend(self.db.execute(q, chunk).fetchall())
        return [Passage(**dict(zip(_PASSAGE_COLS, r, strict=True))) for r in rows]

    # ---- chroma ------------------------------------------------------------------------
    @property
    def collection(self):
        with self._mutex:
            gen = self.generation()
            if self._collection is None or gen != self._generation_seen:
                self._open_chroma()
                self._generation_seen = gen
            return self._collection

    def _open_chroma(self) -> None:
        import chromadb
        from chromadb.api.client import SharedSystemClient
        from chromadb.config import Settings as ChromaSettings

        if self._client is not None:
            # Another process committed: drop the cached system so the HNSW index is re-read.
            SharedSystemClient.clear_system_cache()
        try:
            self._client = chromadb.PersistentClient(
                path=str(self.dir / "chroma"),
                settings=ChromaSettings(anonymized_telemetry=False, allow_reset=True),
            )
            self._collection = self._client.get_or_create_collection(
                COLLECTION, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )
        except Exception as exc:
            raise RagError(
                f"The vector store at {self.dir / 'chroma'} cannot be opened ({type(exc).__name__});"
                " run `rag index --rebuild` to rebuild it from the sources."
            ) from None

    def query(self, vector: np.ndarray, n: int, days: tuple[str, str] = ("", "")) -> list[tuple[str, float]]:
        """(id, cosine similarity) of the n nearest passages, dated within `days` (since, until)
        when given: n dated passages come back even when the nearest ones are outside the range
        (see rag/store/dated.py for how)."""
        if any(days):
            return dated.search(self, vector, n, *days)
        return self.nearest(vector, n)

    def nearest(self, vector: np.ndarray, n: int, days: tuple[str, str] = ("", "")
                ) -> list[tuple[str, float]]:
        """Chroma's own search: HNSW, with the date range as a `where` filter when given."""
        col = self.collection
        # The record's count, not Chroma's count(): that one costs ~20 ms at 100k passages.
        n = min(n, self.count())
        if n <= 0:
            return []
        res = col.query(query_embeddings=[vector.tolist()], n_results=n, include=["distances"],
                        where=_date_filter(*days))
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        ids = list(ids)
        for b in range(0, len(ids), GET_BATCH):
            res = self.collection.get(ids=ids[b : b + GET_BATCH], include=["embeddings"])
            out.update((i, np.asarray(e, dtype=np.float32))
                       for i, e in zip(res["ids"], res["embeddings"], strict=True))
        return out

    def chroma_ids(self) -> set[str]:
        return set(self.collection.get(include=[])["ids"])

    def open_vectors(self) -> None:
        """Read Chroma's index now, not in the first request that needs it: an embedded Chroma reads
        it whole on first use (0.4 s at 100k passages, ~5 s at 1M)."""
        if self.count():
            with self.reading():
                self.collection.count()

    def sync(self, force: bool = False) -> None:
        """The record is the truth here: nothing to catch up with (see ServerStore)."""

    # ---- writing -----------------------------------------------------------------------
    def commit(
        self,
        *,
        upsert: list[tuple[Passage, np.ndarray]],
        delete_ids: Sequence[str],
        files: dict[str, tuple[str, int, float]],
        drop_files: Sequence[str],
        model: tuple[str, int],
        parser: str | None = None,
    ) -> None:
        """Write one indexing run to Chroma, then to the record, under the commit lock.

        Chroma first: if we die in between, the record still describes the old state, and says
        that a commit was under way, so the next run reconciles the two (ids in Chroma but not in
        the record are deleted, passages missing in Chroma are embedded again).
        """
        with self.committing(), self._mutex:
            self._set_meta({"chroma_pending": "1"})
            self._write_chroma(upsert, delete_ids)
            now = round(time.time(), 3)  # as Chroma metadata gives it back
            rows = {s: (h, size, mtime, now) for s, (h, size, mtime) in files.items()}
            meta = {"embed_model": model[0], "embed_dim": model[1], "indexed_at": now, "parser": parser}
            self._write_record([p for p, _ in upsert], delete_ids, rows, drop_files, meta)

    def needs_reconcile(self) -> bool:
        """Whether Chroma may disagree with the record: a commit died half-way, or the counts differ
        (cheap checks, so a run that adds one file to a large index stays cheap)."""
        return self.meta("chroma_pending") == "1" or self.collection.count() != self.count()

    def _write_chroma(self, upsert: list[tuple[Passage, np.ndarray]], delete_ids: Sequence[str]) -> None:
        col = self.collection
        for b in range(0, len(delete_ids), CHROMA_BATCH):
            col.delete(ids=list(delete_ids[b : b + CHROMA_BATCH]))
            faults.point("chroma")
        for b in range(0, len(upsert), CHROMA_BATCH):
            chunk = upsert[b : b + CHROMA_BATCH]
            col.upsert(ids=[p.id for p, _ in chunk], embeddings=np.stack([v for _, v in chunk]),
                       **self._chroma_fields([p for p, _ in chunk]))
            faults.point("chroma")

    def _chroma_fields(self, passages: list[Passage]) -> dict:
        """What Chroma keeps beside a vector: here, what its filters need (the record has the rest)."""
        return {"metadatas": [_flat_meta(p) for p in passages]}

    def _set_meta(self, values: dict) -> None:
        with self.db as db:
            _put_meta(db, values)

    def _write_record(self, passages: list[Passage], delete_ids: Sequence[str],
                      files: dict[str, tuple[str, int, float, float]], drop_files: Sequence[str],
                      meta: dict) -> None:
        """One transaction: passages with their terms, files, and a new generation."""
        with self.db as db:
            # A passage written again (an id already there) is removed first, with its terms.
            _delete_passages(db, [*delete_ids, *(p.id for p in passages)])
            rowid = db.execute("SELECT COALESCE(MAX(rowid), 0) FROM passages").fetchone()[0]
            rows = [(rowid + i, p) for i, p in enumerate(passages, start=1)]
            db.executemany(
                f"INSERT INTO passages (rowid, {', '.join(_PASSAGE_COLS)}) "
                f"VALUES (?, {', '.join('?' * len(_PASSAGE_COLS))})",
                [(r, *(getattr(p, c) for c in _PASSAGE_COLS)) for r, p in rows],
            )
            faults.point("record")
            db.executemany("INSERT INTO keywords (rowid, terms) VALUES (?, ?)",
                           [(r, fts_text(embed_text(p))) for r, p in rows])
            faults.point("keywords")
            db.executemany("DELETE FROM files WHERE source=?", [(s,) for s in drop_files])
            db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)",
                           [(s, *row) for s, row in files.items()])
            gen = uuid.uuid4().hex
            _put_meta(db, {**meta, "generation": gen, "chroma_pending": "0"})
        self._generation_seen = gen

    def wipe(self) -> None:
        """Drop everything (for --rebuild); the sources on disk are untouched."""
        import shutil

        with self.committing(), self._mutex:
            self.close()
            for name in ("record.sqlite", "record.sqlite-journal", "chroma"):
                p = self.dir / name
                if p.is_dir():
                    shutil.rmtree(p)
                elif p.exists():
                    p.unlink()

    def close(self) -> None:
        with self._mutex:
            if self._db is not None:
                self._db.close()
                self._db = None
            self._opened += 1
            if self._client is not None:
                from chromadb.api.client import SharedSystemClient

                SharedSystemClient.clear_system_cache()
            self._client = self._collection = None
            self._generation_seen = self._counted = None


def _put_meta(db: sqlite3.Connection, values: dict) -> None:
    """Within the caller's transaction; None values are left as they are."""
    db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                   [(k, str(v)) for k, v in values.items() if v is not None])


def _delete_passages(db: sqlite3.Connection, ids: Sequence[str]) -> None:
    """Delete passages and their terms (a contentless FTS5 table forgets a row only when told the
    terms it was given, so they are recomputed from the passage)."""
    for b in range(0, len(ids), 500):
        chunk = list(ids[b : b + 500])
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"SELECT rowid, text, title FROM passages WHERE id IN ({marks})", chunk).fetchall()
        db.executemany("INSERT INTO keywords (keywords, rowid, terms) VALUES ('delete', ?, ?)",
                       [(r, fts_text(read_with(text, title))) for r, text, title in rows])
        db.executemany("DELETE FROM passages WHERE rowid = ?", [(r,) for r, _, _ in rows])


def _refill(db: sqlite3.Connection, key: str, version: str, fill) -> None:
    """Fill a table derived from the passages once per version of it (a record written before
    the table existed, or by an older version of it)."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    if row and row[0] == version:
        return
    with db:
        fill(db)
        db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, version))


def _fill_keywords(db: sqlite3.Connection) -> None:
    db.execute("INSERT INTO keywords (keywords) VALUES ('delete-all')")
    rows = db.execute("SELECT rowid, text, title FROM passages").fetchall()
    db.executemany("INSERT INTO keywords (rowid, terms) VALUES (?, ?)",
                   [(r, fts_text(read_with(text, title))) for r, text, title in rows])


def _fill_days(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM day_counts")
    db.execute("INSERT INTO day_counts SELECT date, COUNT(*) FROM passages WHERE date != '' GROUP BY date")


def _date_filter(since: str, until: str) -> dict | None:
    """Chroma compares only numbers in ranges, so dates are filtered as YYYYMMDD integers."""
    bounds = [{"date": {op: date_key(day)}} for op, day in (("$gte", since), ("$lte", until)) if day]
    if not bounds:
        return None
    # An undated passage (no "date" key) matches no range.
    return bounds[0] if len(bounds) == 1 else {"$and": bounds}


def _flat_meta(p: Passage) -> dict:
    """Chroma metadata takes only str/int/float/bool, and no None."""
    meta = {"source": p.source, "hash": p.hash, "char_start": p.char_start}
    if p.date:
        meta["date"] = date_key(p.date)
    if p.line is not None:
        meta["line"] = p.line
    if p.page is not None:
        meta["page"] = p.page
    return meta
