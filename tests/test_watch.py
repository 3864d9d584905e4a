"""A watched sources folder (real watchfiles, real index): files created, changed, moved and deleted
there are indexed as they change, by `rag.watch.Watcher` and by `rag watch`."""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from collections.abc import Callable

import pytest

import rag
from rag.watch import Watcher
from tests.conftest import RAG, ROOT, SEED

DEADLINE = 15.0  # generous for a slow machine; on a quiet one each change is indexed within ~1 s


def wait_for(condition: Callable[[], object], what: str, timeout: float = DEADLINE):
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"not within {timeout:g} s: {what}")
        time.sleep(0.1)


def sources_indexed() -> set[str]:
    return {row["source"] for row in rag.library()}


def texts_of(source: str) -> list[str]:
    return [p.text for p in rag.get_engine().store.passages() if p.source == source]


@pytest.fixture
def watcher(seeded, engine):
    """Watching a folder whose index already holds the seed file (so that a search never builds the
    index itself: what is found here was indexed by the watcher)."""
    engine.index()
    reports = []
    w = Watcher(engine, on_index=reports.append).start()
    assert w.running and w.ready.is_set()
    w.reports = reports
    yield w
    w.close()
    assert not w.thread.is_alive()


def test_created_changed_moved_and_deleted_files_are_indexed(watcher, sources):
    # created: written right after the watcher said it was ready
    (sources / "ports.txt").write_text("Velmora harbour opened two new deep-water berths for ferries.\n"
                                       "Dredging of the northern channel finished in March.\n")
    wait_for(lambda: "ports.txt" in sources_indexed(), "a new file is indexed")
    hit = rag.search("Velmora deep-water berths", k=1)[0]
    assert (hit.source, hit.line) == ("ports.txt", 1)

    # changed: the new text is found, the old is gone
    (sources / "ports.txt").write_text("Velmora harbour closed its old fish market for repairs.\n"
                                       "Dredging of the northern channel finished in March.\n")
    wait_for(lambda: any("fish market" in t for t in texts_of("ports.txt")), "a changed file is re-indexed")
    assert not any("berths" in t for t in texts_of("ports.txt"))
    assert rag.search("Velmora old fish market repairs", k=1)[0].source == "ports.txt"

    # moved into a subfolder: found under its new name only
    (sources / "2024").mkdir()
    (sources / "ports.txt").rename(sources / "2024" / "ports.txt")
    wait_for(lambda: sources_indexed() >= {"2024/ports.txt"} and "ports.txt" not in sources_indexed(),
             "a moved file is indexed under its new name")
    assert rag.search("Velmora old fish market repairs", k=1)[0].source == "2024/ports.txt"

    # deleted: gone from the index
    (sources / "2024" / "ports.txt").unlink()
    wait_for(lambda: "2024/ports.txt" not in sources_indexed(), "a deleted file leaves the index")
    assert sources_indexed() == {SEED.name}
    assert all("fish market" not in p.text for p in rag.get_engine().store.passages())
    assert all(not r.warnings for r in watcher.reports), [r.warnings for r in watcher.reports]
    assert watcher.running


def test_hidden_and_unsupported_files_are_ignored(watcher, sources):
    (sources / ".draft.txt").write_text("A hidden draft about the Velmora ferry timetable.\n")
    (sources / "minutes.docx").write_bytes(b"PK\x03\x04 not a supported document")
    (sources / ".upload-x.part").write_bytes(b"half an upload")
    # A supported file written after them: once it is indexed, they have been seen and passed over.
    (sources / "marker.txt").write_text("The lighthouse at Tollan Spit was repainted.\n")
    wait_for(lambda: "marker.txt" in sources_indexed(), "a file written after them is indexed")
    time.sleep(1.0)  # and nothing else arrives later
    assert sources_indexed() == {SEED.name, "marker.txt"}
    assert all(not r.warnings for r in watcher.reports), [r.warnings for r in watcher.reports]
    assert all(set(r.files) <= {"marker.txt"} for r in watcher.reports), [r.files for r in watcher.reports]
    assert watcher.running


def test_rag_watch_command_indexes_a_file_dropped_in(seeded, env):
    proc = subprocess.Popen([RAG, "watch"], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, bufsize=1)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout], daemon=True).start()
    try:
        first = lines.get(timeout=120)
        assert first == f"Watching {seeded} (Ctrl-C to stop).\n"
        # dropped as soon as the command says it is watching
        (seeded / "drop.txt").write_text("Snippet about cobalt mines in the north.\nAnother about lithium.\n")
        seen = ""
        end = time.monotonic() + DEADLINE
        while "drop.txt added" not in seen and time.monotonic() < end:
            try:
                seen += lines.get(timeout=0.5)
            except queue.Empty:
                continue
        assert "drop.txt added" in seen and "2 passages embedded; 14 passages in the index" in seen, seen
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
    rag.reset()
    hit = rag.search("cobalt mines", k=1)[0]
    assert (hit.source, hit.line) == ("drop.txt", 1)
