"""Adding files to the sources folder (uploads, `rag add`): checked before anything is stored.

A file is stored only when it would index: allowed type, within the size limit, text that
parses into passages, and not a copy of a source that is already there under another name.
Its name is reduced to a safe basename, so nothing can land outside the sources folder.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.ingest import SUPPORTED_SUFFIXES, SourceError, file_hash, parse_source, read_source

MAX_NAME_CHARS = 100


@dataclass
class FileResult:
    name: str  # as given by the user
    status: str  # added | updated | unchanged | rejected
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
