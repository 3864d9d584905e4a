"""Incremental indexing: only what changed is parsed, only new text is embedded.

A file is read only when its size or mtime changed, re-parsed only when its content hash
changed; a passage is embedded only when no indexed passage has the same text (a line that
merely moved keeps its vector). Chroma and the record are reconciled by the next run after one
that died half-way, so the index heals; a run with nothing to write never opens Chroma.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from rag import faults, origins
from rag.embed import Embedder
from rag.errors import RagError
from rag.ingest import SourceError, count_tokens, embed_text, file_hash
from rag.loaders import PARSER_VERSION, SUPPORTED_SUFFIXES, parse_source, read_source
from rag.schema import IndexReport, Passage
from rag.store import Store

# stage ("scan" | "embed"), done, total
ProgressFn = Callable[[str, int, int], None]


def source_name(path: Path, sources_dir: Path) -> str:
    try:
        return path.resolve().relative_to(sources_dir.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def _hidden(path: Path, root: Path) -> bool:
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = path.parts
    return any(p.startswith(".") for p in parts)


def scan(paths: Sequence[Path], report: IndexReport) -> list[Path]:
    """The files under `paths`, each once: a watcher's batch names a new folder and the files in
    it, and a file read twice would give Chroma the same passage twice."""
    files: dict[Path, Path] = {}
    for root in paths:
        if root.is_dir():
            for p in sorted(root.rglob("*")):
                if not p.is_file() or _hidden(p, root):
                    continue
                if p.suffix.lower() in SUPPORTED_SUFFIXES:
                    files.setdefault(p.resolve(), p)
                else:
                    report.warnings.append(
                        f"{p.name} was skipped: unsupported type ({p.suffix or 'no extension'})."
                    )
        elif root.is_file():
            files.setdefault(root.resolve(), root)
    return list(files.values())


def _in_scope(source: str, scopes: list[str]) -> bool:
    return any(s == "" or source == s or source.startswith(s.rstrip("/") + "/") for s in scopes)


def run_index(
    store: Store,
    embedder: Callable[[], Embedder],
    model_key: str,
    sources_dir: Path,
    *,
    paths: Sequence[str | os.PathLike] | None = None,
    rebuild: bool = False,
    budget: int = 220,
    max_bytes: int = 20_000_000,
    progress: ProgressFn | None = None,
) -> IndexReport:
    t0 = time.perf_counter()
    report = IndexReport()
    if paths is None:
        if not sources_dir.is_dir():
            raise RagError(
                f"The sources folder {sources_dir} does not exist; create it and put news files "
                "(.txt, .md, .jsonl, .html, .pdf, .xml/.rss/.atom) in it, or point RAG_SOURCES_DIR "
                "at your folder."
            )
        roots = [sources_dir]
    else:
        roots = [Path(p).expanduser() for p in paths]
        if not roots:
            raise RagError("No paths were given to index.")
    scopes = ["" if r.resolve() == sources_dir.resolve() else source_name(r, sources_dir) for r in roots]

    with store.writer(), ThreadPoolExecutor(3, thread_name_prefix="index-open") as opening:
        store.sync(force=True)  # server mode: the mirror is what this run compares against
        if rebuild:
            store.wipe()
        store.check_model(model_key)
        known = store.files()
        stats = store.file_stats()
        # Sources parsed by an older version of the loaders are parsed again (their vectors are
        # reused by content hash): new metadata, such as dates, reaches the index.
        reparse = store.meta("parser") != PARSER_VERSION
        links = origins.load(sources_dir)
        files = scan(roots, report)
        for r in roots:
            if not r.exists() and source_name(r, sources_dir) not in known:
                report.warnings.append(f"{r} does not exist; nothing to index there.")
        # Like git, a file whose size and mtime are those recorded is not read again. Stat before
        # reading, so that a write after this moment changes the mtime we record.
        listed = [(path, source_name(path, sources_dir), _stat(path)) for path in files]
        seen = {source for _, source, _ in listed}
        gone = [s for s in known if s not in seen and _in_scope(s, scopes) and not _exists(s, sources_dir)]
        fresh = [st is None or st[0] < 0 or reparse or stats.get(source) != st for _, source, st in listed]
        # A run with nothing to write loads neither the model nor Chroma: a process's first use of
        # Chroma reads its whole index (0.4 s at 100k passages, ~6 s at 1M). A run that may write
        # loads them in the background, with the tokenizer (0.3 s), while files are listed, read
        # and parsed; there the count check is nearly free. A run that died between its Chroma
        # and record commits left `chroma_pending` set, so the next run always reconciles.
        # Counts that differ otherwise (Chroma changed behind the record's back) are found by the
        # next run that writes.
        pending = store.meta("chroma_pending") == "1"
        writing = pending or bool(gone) or any(fresh)
        if writing:
            reconcile = opening.submit(_needs_reconcile, store)
            loading, tokenizer = opening.submit(embedder), opening.submit(count_tokens, "")

        to_add: list[Passage] = []
        delete_ids: set[str] = set()
        file_rows: dict[str, tuple[str, int, float]] = {}
        restat: dict[str, tuple[str, int, float]] = {}  # touched, content unchanged
        if writing:
            # A model that cannot load is the run's one sentence, before any progress is shown.
            model = loading.result()
            store.check_model(model.key, model.dim)
            tokenizer.result()  # loaded once, not again by the first parse
        for i, ((path, source, stat), read) in enumerate(zip(listed, fresh, strict=True), start=1):
            if progress:
                progress("scan", i, len(files))
            try:
                if not read:
                    report.unchanged += 1
                    report.files[source] = "unchanged"
                    continue
                data = read_source(path, source, max_bytes)
                digest = file_hash(data)
                if known.get(source) == digest and not reparse:
                    report.unchanged += 1
                    report.files[source] = "unchanged"
                    if stat is not None and stats.get(source) != stat:
                        restat[source] = (digest, *stat)
                    continue
                loaded = parse_source(data, path.suffix, source, budget, origins.url_of(links, source))
                faults.point("parse")
            except SourceError as exc:
                kept = " (its earlier passages are kept)" if source in known else ""
                report.warnings.append(str(exc).rstrip(".") + kept + ".")
                report.files[source] = "rejected"
                continue
            report.warnings.extend(loaded.warnings)
            old = store.passage_ids(source)
            new = {p.id: p for p in loaded.passages}
            to_add.extend(p for pid, p in new.items() if pid not in old)
            delete_ids |= old - new.keys()
            file_rows[source] = (digest, *(stat or (-1, -1.0)))
            status = "updated" if source in known else "added"
            setattr(report, status, getattr(report, status) + 1)
            report.files[source] = status

        for s in gone:
            delete_ids |= store.passage_ids(s)
            report.files[s] = "removed"
        report.removed = len(gone)

        # Reconcile with Chroma when a run died between its Chroma and record commits: vectors
        # the record does not know are orphans; record passages missing in Chroma are re-embedded.
        adding = {p.id for p in to_add}
        if writing and reconcile.result():
            record_ids = store.all_ids()
            chroma_ids = store.chroma_ids()
            delete_ids |= chroma_ids - record_ids
            to_add.extend(p for p in store.passages(sorted(record_ids - chroma_ids - delete_ids))
                           if p.id not in adding)

        if writing and (to_add or delete_ids or file_rows or gone or pending):
            vectors, report.embedded = _vectors_for(to_add, store, model, progress)
            store.commit(
                upsert=[(p, vectors[p.id]) for p in to_add],
                delete_ids=sorted(delete_ids - adding),
                files=file_rows,
                drop_files=gone,
                model=(model.key, model.dim),
                parser=PARSER_VERSION if paths is None else None,
            )
        if restat:
            store.restat(restat)
        report.passages = store.count()
    report.seconds = time.perf_counter() - t0
    return report


# A file modified again within its filesystem's timestamp granularity after we stat it keeps
# the mtime we record (git's "racily clean" entries): a file this fresh is recorded with an
# impossible size, so that the next run reads and hashes it rather than trusting its stat.
RACY_SECONDS = 2.0


def _stat(path: Path) -> tuple[int, float] | None:
    """The (size, mtime) to record for a file about to be read (None: read_source says why)."""
    try:
        st = path.stat()
    except OSError:
        return None
    if time.time() - st.st_mtime < RACY_SECONDS:
        return -1, st.st_mtime
    return st.st_size, st.st_mtime


def _needs_reconcile(store: Store) -> bool:
    import chromadb  # noqa: F401 - imported here, not under the store's mutex that the run needs

    return store.needs_reconcile()


def _exists(source: str, sources_dir: Path) -> bool:
    p = Path(source)
    return (p if p.is_absolute() else sources_dir / p).is_file()


def _vectors_for(
    passages: list[Passage],
    store: Store,
    model: Embedder,
    progress: ProgressFn | None,
) -> tuple[dict[str, np.ndarray], int]:
    """Vectors for passages to add, reused from Chroma when the same text is indexed already
    (and its vector is there), else embedded; and how many were embedded."""
    donors = store.ids_by_hash([p.hash for p in passages])
    reused = store.vectors(sorted(set(donors.values())))
    out: dict[str, np.ndarray] = {}
    fresh = []
    for p in passages:
        donor = donors.get(p.hash)
        if donor in reused and donor != p.id:
            out[p.id] = reused[donor]
        else:
            fresh.append(p)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        faults.point("embed")
        if progress:
            progress("embed", done, len(fresh))

    if fresh:
        vecs = model.embed([embed_text(p) for p in fresh], progress=tick)
        for p, v in zip(fresh, vecs, strict=True):
            out[p.id] = np.asarray(v, dtype=np.float32)
    return out, len(fresh)
