"""The vector search of a question with a date range, without Chroma's `where` filter when a
cheaper way gives the same passages.

Measured on this project's 2-core machine (benchmarks/RESULTS.md): Chroma's query with a date
`where` costs 0.4-1 s at 100k passages and 7-23 s at 1M, whatever the range holds, while an
unfiltered HNSW query costs ~10 µs per result asked for (outside the GIL) and ~6 µs more to
check its date in the record, and fetching a stored vector ~40 µs (inside the GIL, so other asks
wait). Knowing from the record how many of the N passages the range holds (c), the search takes
the cheapest of:

- *wide*: the k ≈ 3·n·N/c nearest passages of the whole index, unfiltered, of which those dated
  within the range are kept. When n or more are kept they are the n nearest within the range,
  as the filtered search would give them (a dated passage nearer than the n-th kept one would be
  among the k nearest); when fewer, k grows fourfold and the search runs again.
- *exact*: the range's vectors fetched and ranked by cosine (numpy), for a range too small for a
  wide search to pay off;
- Chroma's `where` query, for a large range that a wide search could not fill.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rag.store.local import Store

# k asks for this many times the passages expected to fall in the range: measured at 100k, with
# 3 the n kept match the exact n nearest as often as the `where` query's do (HNSW's recall grows
# with k), with 1.5 one or two fewer of 30.
MARGIN = 3.0
QUERY_COST = 16  # per result of an unfiltered query, with its date check (µs)
FETCH_COST = 80  # per vector fetched: ~40 µs, doubled as it holds the GIL
EXACT_CAP = 20_000  # more vectors than this (~1 s to fetch) and `where` is the lesser cost


def plan(n: int, inside: int, total: int) -> tuple[str, int]:
    """("wide", k) or ("exact", 0) for n results from `inside` dated passages of `total`."""
    k = min(total, math.ceil(MARGIN * n * total / inside))
    return ("wide", k) if k * QUERY_COST < inside * FETCH_COST else ("exact", 0)


def search(store: Store, vector: np.ndarray, n: int, since: str, until: str) -> list[tuple[str, float]]:
    """(id, cosine similarity) of the n passages dated within [since, until] nearest to `vector`."""
    inside = store.count_dated(since, until)
    total = store.count()
    n = min(n, inside)
    if n <= 0:
        return []
    how, k = plan(n, inside, total)
    while how == "wide":
        hits = store.nearest(vector, k)
        if inside <= k:  # the range's ids are the shorter list to read
            kept = store.ids_dated(since, until)
        else:
            kept = store.dated_among([i for i, _ in hits], since, until)
        found = [h for h in hits if h[0] in kept]
        if len(found) >= n or k >= total:
            return found[:n]
        k = min(total, 4 * k)
        if k * QUERY_COST >= inside * FETCH_COST:
            break
    if inside <= EXACT_CAP:
        return exact(store, vector, n, since, until)
    return store.nearest(vector, n, (since, until))


def exact(store: Store, vector: np.ndarray, n: int, since: str, until: str) -> list[tuple[str, float]]:
    vecs = store.vectors(sorted(store.ids_dated(since, until)))
    if not vecs:
        return []
    ids = list(vecs)
    m = np.stack([vecs[i] for i in ids])
    sims = (m @ vector) / (np.linalg.norm(m, axis=1) * float(np.linalg.norm(vector)) + 1e-12)
    order = np.argsort(-sims, kind="stable")[:n]
    return [(ids[j], float(sims[j])) for j in order]
