"""`kill -9` in every phase of an index run (RAG_FAULT kills the process there, as a SIGKILL
would): a reader still answers from the last commit, and the next run leaves the record, Chroma
and the keyword index exactly equal to the files on disk. On the embedded store and on a real
Chroma server."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import uuid

import rag
from rag.config import Settings
from rag.engine import Engine
from rag.keyword import terms
from rag.loaders import parse_source
from tests.conftest import ROOT, SEED

DATA = ROOT / "tests" / "data" / "newsbench" / "sources"
FILES = sorted(DATA.glob("*.md"))[:6]

# The index run is a process of its own, killed as `kill -9` would; the reader is this process,
# like a page that keeps serving while runs come and go.
INDEX = "import rag; print(rag.index().passages)"


def _run(env: dict, fault: str | None = None) -> subprocess.CompletedProcess:
    run_env = {k: v for k, v in env.items() if k != "RAG_FAULT"}
    if fault:
        run_env["RAG_FAULT"] = fault
    return subprocess.run([sys.executable, "-c", INDEX], env=run_env, capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def _change(sources, round_no: int) -> None:
    """One run's worth of edits: a file added, one deleted, a line of another changed."""
    added = FILES[3 + round_no % 3].read_text(encoding="utf-8")
    (sources / f"added-{round_no}.md").write_text(f"{added}\nRound {round_no} closed the file.\n",
                                                   encoding="utf-8")
    sorted(sources.glob("*.md"))[round_no % 2].unlink()
    seed = sources / SEED.name
    lines = seed.read_text(encoding="utf-8").splitlines()
    lines[round_no % len(lines)] = f"Round {round_no}: the harbour board voted {round_no} to 2."
    seed.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _on_disk(sources) -> set[str]:
    ids = set()
    for f in sorted(sources.rglob("*")):
        if f.is_file() and not f.name.startswith("."):
            ids |= {p.id for p in parse_source(f.read_bytes(), f.suffix, f.name, 220).passages}
    return ids


def _check_consistent(sources) -> None:
    e = rag.get_engine()
    s = e.store
    s.sync(force=True)
    record = s.all_ids()
    assert s.db.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM passages").fetchone() == (len(record),) * 2
    assert s.chroma_ids() == record  # no orphan, no missing vector
    assert record == _on_disk(sources)  # no stale, no missing passage
    assert s.db.execute("SELECT COUNT(*) FROM keywords").fetchone()[0] == len(record)
    kidx = e.keyword_index()
    for p in s.passages(sorted(record)):  # every passage is found by its own words, once
        assert p.id in dict(kidx.search(sorted(set(terms(p.text)))[:30], len(record)))
    assert s.meta("chroma_pending") == "0"
    assert set(s.files()) == {f.name for f in sources.iterdir() if not f.name.startswith(".")}


def _kill_rounds(env: dict, sources, faults: list[str]) -> int:
    for f in FILES[:3]:
        shutil.copy(f, sources / f.name)
    shutil.copy(SEED, sources / SEED.name)
    assert _run(env).returncode == 0
    reader = rag.get_engine()
    killed = 0
    for round_no, fault in enumerate(faults):
        committed = {p.source for p in reader.store.passages()}
        _change(sources, round_no)
        died = _run(env, fault)
        assert died.returncode == -signal.SIGKILL, (fault, died.returncode, died.stderr[-2000:])
        killed += 1
        # The reader answers from the last commit that counted: the one before, or (on a server,
        # where a commit counts once the log says so) the dead run's own; never from half of one.
        hits = reader.search("Lumora revenue", k=10)
        now = {p.source for p in reader.store.passages()}
        assert now == committed or now == {f.name for f in sources.iterdir()}, fault
        assert hits and {h.source for h in hits} <= now, fault
        healed = _run(env)
        assert healed.returncode == 0, (fault, healed.stderr[-2000:])
        _check_consistent(sources)
    return killed


EMBEDDED_FAULTS = ["parse", "embed", "chroma", "chroma:2", "record", "keywords"] * 2


def test_kill_9_in_every_phase_then_the_next_run_heals(env, sources):
    assert _kill_rounds(env, sources, EMBEDDED_FAULTS) == 12


def test_kill_9_against_the_chroma_server(env, sources, chroma_server, monkeypatch):
    faults = ["embed", "chroma", "chroma:2", "log", "record", "keywords", "log", "chroma"]
    server = {"RAG_CHROMA_URL": chroma_server.url, "RAG_CHROMA_COLLECTION": f"f{uuid.uuid4().hex[:10]}"}
    for k, v in server.items():
        monkeypatch.setenv(k, v)
    rag.reset()
    assert _kill_rounds({**env, **server}, sources, faults) == 8
    # A replica with nothing local agrees with the healed writer.
    writer = rag.get_engine()
    replica = Engine(Settings(rag_index_dir=sources.parent / "replica", rag_read_only=True))
    try:
        assert replica.store.all_ids() == set() and replica.search("Lumora revenue", k=10)
        assert replica.store.all_ids() == writer.store.all_ids()
        assert replica.library() == writer.library()
    finally:
        replica.store.close()
