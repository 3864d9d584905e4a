"""Server mode: a Chroma server holds the shared truth; every instance keeps a local mirror.

With `RAG_CHROMA_URL`, Chroma (`chroma run`, or Chroma's distributed deployment) holds, in three
collections: the passages (vectors, text and every field of provenance), the file manifest, and
a change log. One writer commits there; any number of instances (replicas run read-only) answer.

Each instance keeps the record in its index folder as a *mirror* of the server: the same SQLite
tables (with the keyword index) that the embedded mode treats as its truth. An empty mirror is
filled from the collections; after that, the change log brings it up to date incrementally,
entry by entry (polled at most once a second when asked), so a replica's keyword index never
rebuilds. The log is written after the passages it names, and a commit counts only once the
writer raises the server's `seq` to it, after all its parts: a replica never applies half a
commit, and a writer that died before that leaves a commit nobody applies, which its next run
replaces (its record still says a commit was under way, so that run reconciles Chroma too).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from rag import faults
from rag.errors import RagError
from rag.schema import Passage
from rag.store.local import CHROMA_BATCH, Store, _flat_meta

POLL_SECONDS = 1.0  # a replica asks the log at most this often (changes show within ~1-2 s)
LOG_PART = 1000  # passage ids per log entry: one commit of 100k passages is 100 entries
_SYNC_PAGE = 1000


def _day(key) -> str:
    s = str(key or "")
    return f"{s[:4]}-{s[4:6]}-{s[6:8]}" if len(s) == 8 else ""


def _full_meta(p: Passage) -> dict:
    """Every field of a passage but its text (Chroma's document): an instance with an empty
    folder rebuilds its record from these."""
    meta = _flat_meta(p)
    meta.update(char_end=p.char_end, title=p.title, url=p.url)
    return meta


def _passage(pid: str, text: str, meta: dict) -> Passage:
    return Passage(id=pid, source=meta["source"], text=text, line=meta.get("line"), page=meta.get("page"),
                   char_start=meta.get("char_start", 0), char_end=meta.get("char_end", 0),
                   hash=meta.get("hash", ""), title=meta.get("title", ""), url=meta.get("url", ""),
                   date=_day(meta.get("date")))


class ServerStore(Store):
    def __init__(self, index_dir: Path, lock_timeout: float, url: str, headers: dict[str, str],
                 prefix: str = "rag"):
        super().__init__(index_dir, lock_timeout)
        self.url, self.headers, self.prefix = url, headers, prefix
        self._files = self._log = None
        self._polled = 0.0

    # ---- connecting ----------------------------------------------------------------------
    @property
    def collection(self):
        with self._mutex:
            if self._collection is None:
                self._open_chroma()
            return self._collection

    def _open_chroma(self) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        parts = urlsplit(self.url)
        try:
            https = parts.scheme == "https"
            self._client = chromadb.HttpClient(
                host=parts.hostname or "127.0.0.1", port=parts.port or (443 if https else 8000), ssl=https,
                headers=self.headers, settings=ChromaSettings(anonymized_telemetry=False))
            make = self._client.get_or_create_collection
            self._collection = make(f"{self.prefix}_passages", configuration={"hnsw": {"space": "cosine"}},
                                    embedding_function=None, metadata={"epoch": uuid.uuid4().hex, "seq": 0})
            self._files = make(f"{self.prefix}_files", embedding_function=None)
            self._log = make(f"{self.prefix}_changes", embedding_function=None)
        except Exception as exc:
            self._client = self._collection = None
            raise RagError(f"The Chroma server at {self.where} cannot be reached ({type(exc).__name__}); "
                           "start it, or check RAG_CHROMA_URL and RAG_CHROMA_TOKEN.") from None

    @property
    def where(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}:{parts.port}" if parts.port else f"{parts.scheme}://{parts.hostname}"

    def _server(self, what, retry: bool = True):
        """Run a call against the server; a server that went away is one sentence. Collections
        gone under this instance (the writer rebuilt the index) are reopened and the mirror
        refilled, then the call is tried once more."""
        try:
            return what()
        except RagError:
            raise
        except Exception as exc:
            if retry and type(exc).__name__ == "NotFoundError":
                with self._mutex:
                    self._open_chroma()
                    self.sync(force=True)
                return self._server(what, retry=False)
            raise RagError(f"The Chroma server at {self.where} failed ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0][:120] if str(exc) else 'no detail'}); nothing was "
                           "lost: run again once it is back.") from None

    def _server_meta(self) -> dict:
        name = f"{self.prefix}_passages"
        return dict(self._server(lambda: self._client.get_collection(name).metadata) or {})

    # ---- the mirror ----------------------------------------------------------------------
    def sync(self, force: bool = False) -> None:
        """Bring the mirror up to date with the server's log (at most once a second unless forced)."""
        now = time.monotonic()
        if not force and now - self._polled < POLL_SECONDS:
            return
        with self._mutex:
            self._polled = now
            self.collection  # noqa: B018 - connects
            server = self._server_meta()
            if server.get("epoch") != self.meta("epoch"):
                self._open_chroma()  # a rebuilt index is new collections under the same names
                self._refill(server)
                return
            seq = int(self.meta("log_seq", "0") or 0)
            if int(server.get("seq", 0)) > seq:
                self._replay(seq, int(server["seq"]))

    def _refill(self, server: dict) -> None:
        """An empty mirror, or one of an index rebuilt since: filled from the collections."""
        seq = int(server.get("seq", 0))  # read first: entries written while paging are replayed
        with self.db as db:
            db.execute("DELETE FROM passages")
            db.execute("DELETE FROM files")
            db.execute("INSERT INTO keywords (keywords) VALUES ('delete-all')")
        offset = 0
        while True:
            page = self._server(lambda o=offset: self._collection.get(
                include=["documents", "metadatas"], limit=_SYNC_PAGE, offset=o))
            if not page["ids"]:
                break
            passages = [_passage(i, d, m) for i, d, m in zip(page["ids"], page["documents"],
                                                                page["metadatas"], strict=True)]
            self._write_record(passages, [], {}, [], {})
            offset += len(page["ids"])
        manifest = self._server(lambda: self._files.get(include=["metadatas"]))
        files = {s: (m["hash"], m.get("size", 0), m.get("mtime", 0.0), m.get("indexed_at", 0.0))
                 for s, m in zip(manifest["ids"], manifest["metadatas"], strict=True)}
        self._write_record([], [], files, [], {
            "epoch": server.get("epoch"), "log_seq": seq, "embed_model": server.get("embed_model"),
            "embed_dim": server.get("embed_dim"), "parser": server.get("parser"),
            "indexed_at": server.get("indexed_at")})
        now = int(self._server_meta().get("seq", 0))
        if now > seq:
            self._replay(seq, now)

    def _replay(self, after: int, upto: int) -> None:
        """Apply the log's commits after `after` up to the server's `upto`, in order (a commit
        counts once the writer has raised the server's seq to it, after writing all its parts)."""
        where = {"$and": [{"seq": {"$gt": after}}, {"seq": {"$lte": upto}}]}
        got = self._server(lambda: self._log.get(where=where, include=["documents", "metadatas"]))
        commits: dict[int, list[tuple[int, dict, int]]] = {}
        for doc, meta in zip(got["documents"], got["metadatas"], strict=True):
            commits.setdefault(meta["seq"], []).append((meta["part"], json.loads(doc), meta["parts"]))
        for seq in sorted(commits):
            parts = sorted(commits[seq], key=lambda x: x[0])
            if len(parts) != parts[0][2]:
                break  # cannot happen for a commit within the server's seq; never skip past one
            upsert = [pid for _, body, _ in parts for pid in body.get("upsert", [])]
            delete = [pid for _, body, _ in parts for pid in body.get("delete", [])]
            head = parts[0][1]
            fetched = []
            for b in range(0, len(upsert), CHROMA_BATCH):
                page = self._server(lambda ids=upsert[b : b + CHROMA_BATCH]: self._collection.get(
                    ids=ids, include=["documents", "metadatas"]))
                fetched += [_passage(i, d, m) for i, d, m in zip(page["ids"], page["documents"],
                                                                   page["metadatas"], strict=True)]
            files = {s: tuple(row) for s, row in head.get("files", {}).items()}
            self._write_record(fetched, delete, files, head.get("drop_files", []),
                               {**head.get("meta", {}), "log_seq": seq})

    # ---- reading -------------------------------------------------------------------------
    def query(self, vector: np.ndarray, n: int, days: tuple[str, str] = ("", "")) -> list[tuple[str, float]]:
        return self._server(lambda: super(ServerStore, self).query(vector, n, days))

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        return self._server(lambda: super(ServerStore, self).vectors(ids))

    def chroma_ids(self) -> set[str]:
        return self._server(lambda: super(ServerStore, self).chroma_ids())

    def needs_reconcile(self) -> bool:
        return self.meta("chroma_pending") == "1" or self._server(self.collection.count) != self.count()

    # ---- writing -------------------------------------------------------------------------
    def commit(self, *, upsert: list[tuple[Passage, np.ndarray]], delete_ids: Sequence[str],
               files: dict[str, tuple[str, int, float]], drop_files: Sequence[str], model: tuple[str, int],
               parser: str | None = None) -> None:
        """Passages and manifest to the server, then the log entry naming them, then the mirror."""
        with self.committing(), self._mutex:
            self.sync(force=True)
            self._set_meta({"chroma_pending": "1"})
            self._server(lambda: self._write_chroma(upsert, delete_ids))
            now = round(time.time(), 3)  # as Chroma metadata gives it back
            rows = {s: (h, size, mtime, now) for s, (h, size, mtime) in files.items()}
            if rows or drop_files:
                self._server(lambda: self._write_manifest(rows, drop_files))
            server = self._server_meta()
            seq = int(server.get("seq", 0)) + 1
            # Parts of a commit whose writer died before raising the seq: never applied by anyone.
            self._server(lambda: self._log.delete(where={"seq": seq}))
            meta = {"embed_model": model[0], "embed_dim": model[1], "indexed_at": now,
                    **({"parser": parser} if parser else {})}
            ids = [p.id for p, _ in upsert]
            chunks = max(1, -(-max(len(ids), len(delete_ids)) // LOG_PART))
            entries = []
            for part in range(chunks):
                body = {"upsert": ids[part * LOG_PART:(part + 1) * LOG_PART],
                        "delete": list(delete_ids[part * LOG_PART:(part + 1) * LOG_PART])}
                if part == 0:
                    body.update(files=rows, drop_files=list(drop_files), meta=meta)
                entries.append((f"{seq:012d}-{part:05d}", json.dumps(body),
                                {"seq": seq, "part": part, "parts": chunks}))
            for b in range(0, len(entries), 100):
                chunk = entries[b : b + 100]
                self._server(lambda c=chunk: self._log.add(
                    ids=[e[0] for e in c], embeddings=[[0.0]] * len(c), documents=[e[1] for e in c],
                    metadatas=[e[2] for e in c]))
                faults.point("log")
            self._server(lambda: self._collection.modify(metadata={
                **{k: v for k, v in server.items() if v is not None}, **meta, "seq": seq}))
            self._write_record([p for p, _ in upsert], delete_ids, rows, drop_files,
                               {**meta, "log_seq": seq, "epoch": server.get("epoch")})

    def _chroma_fields(self, passages: list[Passage]) -> dict:
        return {"metadatas": [_full_meta(p) for p in passages], "documents": [p.text for p in passages]}

    def _write_manifest(self, rows: dict, drop_files: Sequence[str]) -> None:
        if drop_files:
            self._files.delete(ids=list(drop_files))
        items = list(rows.items())
        for b in range(0, len(items), CHROMA_BATCH):
            chunk = items[b : b + CHROMA_BATCH]
            self._files.upsert(
                ids=[s for s, _ in chunk], embeddings=[[0.0]] * len(chunk),
                metadatas=[{"hash": h, "size": size, "mtime": mtime, "indexed_at": at}
                           for _, (h, size, mtime, at) in chunk])

    def wipe(self) -> None:
        """--rebuild: the server's collections and the local mirror start empty (a new epoch tells
        every replica to refill)."""
        with self._mutex:
            self.collection  # noqa: B018 - connects
            for name in ("passages", "files", "changes"):
                self._server(lambda n=name: self._client.delete_collection(f"{self.prefix}_{n}"))
            self._client = self._collection = self._files = self._log = None
        super().wipe()
