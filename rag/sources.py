"""Adding files to the sources folder (uploads, `rag add`) and taking them out (`rag remove`).

A file is stored only when it would index: allowed type, within the size limit, text that
parses into passages, and not a copy of a source that is already there under another name.
Its name is reduced to a safe basename, so nothing can land outside the sources folder.
A removed source is moved aside, never deleted: a click on a web page must not be able to
destroy a user's only copy of an article.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.ingest import SourceError, file_hash
from rag.loaders import SUPPORTED_SUFFIXES, parse_source, read_source

MAX_NAME_CHARS = 100


@dataclass
class FileResult:
    name: str  # as given by the user
    status: str  # added | updated | unchanged | removed | rejected
    source: str = ""  # where it is stored, relative to the sources dir
    reason: str = ""


def safe_name(name: str) -> str:
    """A basename of letters, digits, '.', '_' and '-', keeping the (lower-cased) extension."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", name or ""))[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._-")
    stem = re.sub(r"\.{2,}", ".", stem)[: MAX_NAME_CHARS] or "upload"
    return f"{stem}.{suffix.lower()}" if suffix else stem


def stage_files(
    files: Sequence[tuple[str | os.PathLike, str]],
    sources_dir: Path,
    indexed: dict[str, str],
    *,
    max_bytes: int,
    budget: int,
) -> tuple[list[FileResult], list[Path]]:
    """Copy acceptable (path, original name) files into `sources_dir`.

    `indexed` maps each indexed source to its content hash. Returns a result per file and
    the stored paths that need indexing.
    """
    results: list[FileResult] = []
    stored: list[Path] = []
    seen = dict(indexed)  # also catches two copies within one upload
    sources_dir.mkdir(parents=True, exist_ok=True)
    for path, original in files:
        name = safe_name(original or Path(path).name)
        res = FileResult(name=original or name, status="rejected", source=name)
        results.append(res)
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            res.reason = (f"{suffix or 'no extension'} files are not accepted; "
                          f"use one of {', '.join(SUPPORTED_SUFFIXES)}.")
            continue
        try:  # the indexer's own checks, before anything is stored
            data = read_source(Path(path), name, max_bytes)
            parse_source(data, suffix, name, budget)
        except SourceError as exc:
            res.reason = str(exc)
            continue
        digest = file_hash(data)
        twin = next((s for s, h in seen.items() if h == digest), None)
        if twin == name:
            res.status, res.reason = "unchanged", "Already indexed with the same content."
            continue
        if twin is not None:
            res.reason = f"Same content as {twin}, which is already a source."
            continue
        target = sources_dir / name
        if target.resolve().parent != sources_dir.resolve():  # belt and braces after safe_name
            res.reason = "The file name is not allowed."
            continue
        # Written beside the target and renamed, so a crash never leaves half a source.
        fd, tmp = tempfile.mkstemp(dir=sources_dir, prefix=".upload-", suffix=".part")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
        res.status = "updated" if name in indexed else "added"
        seen[name] = digest
        stored.append(target)
    return results, stored


def set_aside(
    names: Sequence[str], sources_dir: Path, removed_dir: Path, indexed: Collection[str]
) -> tuple[list[FileResult], list[Path]]:
    """Move indexed sources (names relative to `sources_dir`) into `removed_dir`.

    Returns a result per name and the vacated paths, which need indexing to drop their passages.
    """
    results: list[FileResult] = []
    vacated: list[Path] = []
    root = sources_dir.resolve()
    for name in dict.fromkeys(names):
        res = FileResult(name=name, status="rejected", source=name)
        results.append(res)
        if name not in indexed:
            res.reason = f"{name} is not an indexed source."
            continue
        path = sources_dir / name
        if Path(name).is_absolute() or not path.resolve().is_relative_to(root):
            res.reason = f"{name} is outside the sources folder; delete it there and run `rag index`."
            continue
        res.status = "removed"
        vacated.append(path)
        if not path.exists():
            res.reason = "It was already gone from the sources folder."
            continue
        removed_dir.mkdir(parents=True, exist_ok=True)
        target = removed_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{name.replace('/', '__')}"
        n = 1
        while target.exists():
            n += 1
            target = target.with_name(f"{target.stem.rsplit('~', 1)[0]}~{n}{target.suffix}")
        shutil.move(path, target)  # the index folder may be on another file system
        # Named within the index folder: the page must not show the server's paths.
        res.reason = (f"Moved to {removed_dir.name}/{target.name} in the index folder; "
                      "put it back to restore it.")
    return results, vacated
