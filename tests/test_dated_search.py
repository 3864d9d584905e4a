"""The vector search with a date range (rag/store/dated.py) gives what Chroma's own `where`-filtered
query gives, whichever way it takes: the range's vectors ranked exactly, a wider unfiltered search
kept to the range, or the `where` query itself; on a real Chroma, embedded and server."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from rag.schema import Passage
from rag.store import dated

N, DIM = 400, 16
FIRST = dt.date(2015, 1, 1)
QUERY = np.random.default_rng(1).standard_normal(DIM).astype(np.float32)


def _day(i: int) -> str:
    return "" if i % 10 == 9 else (FIRST + dt.timedelta(days=9 * i)).isoformat()  # ~10 years, some undated


@pytest.fixture
def store(engine):
    """N passages dated every 9 days from 2015 (every tenth undated), with random vectors; the first
    150 (up to 2018-09) lie near the query, so the nearest passages of the whole index are old."""
    rng = np.random.default_rng(7)
    vecs = rng.standard_normal((N, DIM)).astype(np.float32)
    vecs[:150] += 2.5 * QUERY
    passages = [Passage(id=f"p{i:03d}", source=f"f{i // 100}.txt", text=f"passage {i}", line=i % 100 + 1,
                        hash=f"h{i}", date=_day(i)) for i in range(N)]
    files = {f"f{k}.txt": (f"hash{k}", 1, 0.0) for k in range(4)}
    engine.store.commit(upsert=list(zip(passages, vecs, strict=True)), delete_ids=[], files=files,
                        drop_files=[], model=("test-model", DIM))
    return engine.store



@pytest.fixture
def calls(store, monkeypatch):
    """Which searches ran: ("wide", k), ("where", n) or ("exact", n)."""
    seen: list[tuple[str, int]] = []
    nearest, exact = store.nearest, dated.exact

    def spy_nearest(vector, n, days=("", "")):
        seen.append(("where" if any(days) else "wide", n))
        return nearest(vector, n, days)

    def spy_exact(st, vector, n, since, until):
        seen.append(("exact", n))
        return exact(st, vector, n, since, until)

    monkeypatch.setattr(store, "nearest", spy_nearest)
    monkeypatch.setattr(dated, "exact", spy_exact)
    return seen


def _truth(store, n: int, since: str, until: str) -> list[str]:
    ids = sorted(store.ids_dated(since, until))
    vecs = store.vectors(ids)
    m = np.stack([vecs[i] / np.linalg.norm(vecs[i]) for i in ids])
    return [ids[j] for j in np.argsort(-(m @ (QUERY / np.linalg.norm(QUERY))))[:n]]


def _same(store, n: int, since: str, until: str) -> list[tuple[str, float]]:
    """The dated search, checked against Chroma's where-filtered query and the exact ranking."""
    got = store.query(QUERY, n, (since, until))
    inside = store.count_dated(since, until)
    assert inside == len(store.ids_dated(since, until))
    where = type(store).nearest  # Chroma's where-filtered query, not the spy
    reference = where(store, QUERY, min(n, inside), (since, until)) if inside else []
    assert [i for i, _ in got] == [i for i, _ in reference] == _truth(store, n, since, until)
    assert np.allclose([s for _, s in got], [s for _, s in reference], atol=1e-5)
    return got


@pytest.mark.both_stores
def test_a_wide_range_is_searched_unfiltered_and_kept_to_the_range(store, calls):
    got = _same(store, 30, "2019-01-01", "")  # about half the index, far from the query
    assert len(got) == 30
    # the old passages near the query come first unfiltered: k grew until 30 dated ones were found
    assert len(calls) >= 2 and all(kind == "wide" for kind, _ in calls)


@pytest.mark.both_stores
def test_a_small_range_is_ranked_exactly(store, calls):
    got = _same(store, 30, "2016-01-01", "2016-02-29")  # a handful of passages
    assert 0 < len(got) < 30
    assert calls == [("exact", len(got))]


@pytest.mark.both_stores
def test_open_ranges_and_one_day(store, calls):
    for since, until in [("", "2016-06-30"), ("2020-01-01", "2022-12-31"), (_day(150), _day(150))]:
        calls.clear()
        _same(store, 12, since, until)
        assert calls and all(kind in ("wide", "exact") for kind, _ in calls)
    assert store.query(QUERY, 10, ("2030-01-01", "")) == []  # nothing dated then


@pytest.mark.both_stores
def test_chromas_where_query_when_neither_pays_off(store, calls, monkeypatch):
    monkeypatch.setattr(dated, "EXACT_CAP", 0)
    monkeypatch.setattr(dated, "QUERY_COST", 10**6)  # a wide search never pays off
    _same(store, 20, "2019-01-01", "")
    assert calls == [("where", 20)]


@pytest.mark.both_stores
def test_day_counts_follow_commits(store):
    """The per-day counts the plan reads are kept by the record's triggers, through deletes too."""
    assert store.count_dated("", "") == N - N // 10
    gone = [f"p{i:03d}" for i in range(0, 50)]  # five of them undated
    store.commit(upsert=[], delete_ids=gone, files={}, drop_files=[], model=("test-model", DIM))
    assert store.count_dated("", "") == N - N // 10 - 45 == len(store.ids_dated("", ""))
    assert store.count_dated("2015-01-01", _day(60)) == len(store.ids_dated("2015-01-01", _day(60))) == 10
