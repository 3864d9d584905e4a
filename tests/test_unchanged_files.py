"""A file whose size and mtime are those the record keeps is not read again (as git does); a
touched file is read, and a file written just before a run is read again on the next one."""

from __future__ import annotations

import os
import time

import pytest

from tests.conftest import SEED


def _set_mtime(path, mtime: float) -> None:
    os.utime(path, (mtime, mtime))


def _same_size_edit(path, old: str, new: str) -> None:
    assert len(old) == len(new)
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.both_stores
def test_a_file_with_its_recorded_size_and_mtime_is_not_read_again(engine, seeded):
    f = seeded / SEED.name
    engine.index()
    an_hour_ago = time.time() - 3600
    _set_mtime(f, an_hour_ago)
    gen = engine.store.generation()
    touched = engine.index()  # a new mtime: read and hashed, found unchanged
    assert (touched.unchanged, touched.updated, touched.embedded) == (1, 0, 0)
    assert engine.store.file_stats()[SEED.name] == (f.stat().st_size, an_hour_ago)
    assert engine.store.generation() == gen  # no commit: readers keep their Chroma

    # Same size, same mtime: trusted without reading, so an edit that preserves both is not seen.
    _same_size_edit(f, "Rubio", "Rubix")
    _set_mtime(f, an_hour_ago)
    report = engine.index()
    assert (report.unchanged, report.updated) == (1, 0)
    assert "Rubio" in engine.search("What did Rubio propose?", k=1)[0].text

    _set_mtime(f, an_hour_ago + 60)  # touched: read, and the edit is found
    report = engine.index()
    assert report.updated == 1 and report.embedded >= 1
    assert "Rubix" in engine.search("What did Rubix propose?", k=1)[0].text


def test_a_file_written_just_before_a_run_is_read_again_next_run(engine, seeded):
    f = seeded / "wire.txt"
    f.write_text("A harbour fire in Rotterdam was put out on Monday.\n", encoding="utf-8")
    assert engine.index().files["wire.txt"] == "added"
    # Its mtime may still be current: a write in the same clock tick would leave it unchanged.
    assert engine.store.file_stats()["wire.txt"][0] == -1
    mtime_ns = f.stat().st_mtime_ns
    _same_size_edit(f, "Monday", "Friday")
    os.utime(f, ns=(mtime_ns, mtime_ns))
    report = engine.index()
    assert (report.updated, report.embedded) == (1, 1)
    assert "Friday" in engine.search("Rotterdam harbour fire", k=1)[0].text
