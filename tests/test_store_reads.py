"""Reads on the answering path: keyword searches of concurrent asks don't queue behind one lock, and
the passage count an ask needs is counted once per commit, not once per ask."""

from __future__ import annotations

import threading

import pytest


@pytest.mark.both_stores
def test_keyword_searches_do_not_wait_for_the_shared_connection(engine, seeded):
    engine.index()
    store = engine.store
    found: list = []
    with store._mutex:  # what every other query of the record holds while it runs
        t = threading.Thread(target=lambda: found.append(store.keyword_search(["rubio"], 5)), daemon=True)
        t.start()
        t.join(20)
    assert found and found[0] and all(isinstance(pid, str) and score > 0 for pid, score in found[0])


def test_the_count_is_read_again_after_a_commit_only(engine, seeded, monkeypatch):
    engine.index()
    store, db, counted = engine.store, engine.store.db, []
    monkeypatch.setattr(store, "_db", _Spy(db, counted))
    assert [store.count() for _ in range(5)] == [12] * 5 and not counted
    monkeypatch.setattr(store, "_db", db)
    (seeded / "ferry.txt").write_text("The Baltic ferry strike ended on Tuesday after nine days.\n")
    assert engine.index().passages == 13
    assert store.count() == 13
    # another process's commit (here: the record changed behind this store's back, with a new
    # generation, as a commit writes it) is counted again on the next ask
    with db:
        db.execute("DELETE FROM passages WHERE source = 'ferry.txt'")
        db.execute("UPDATE meta SET value = 'other' WHERE key = 'generation'")
    monkeypatch.setattr(store, "_db", _Spy(db, counted))
    assert store.count() == 12 and counted == ["SELECT COUNT(*) FROM passages"]


class _Spy:
    """The record's connection, noting each COUNT(*) it runs."""

    def __init__(self, db, seen: list):
        self._db, self._seen = db, seen

    def execute(self, sql, *args):
        if "COUNT(*)" in sql:
            self._seen.append(sql)
        return self._db.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._db, name)
