"""Retrieval quality and abstention on golden sets written for this project (tests/data)."""

from __future__ import annotations

import shutil

import pytest

import rag
from rag.evaluate import abstention_scores, load_golden, retrieval_scores
from tests.conftest import DATA


def _rank(q):
    return [(h.source, h.line) for h in rag.search(q, k=10)]


@pytest.fixture
def news(sources):
    for f in (DATA / "news").iterdir():
        shutil.copy(f, sources / f.name)
    rag.index()
    return load_golden(DATA / "golden_news.jsonl")


def test_news_golden_set_with_same_topic_distractors(news):
    scores = retrieval_scores(news, _rank)
    # plain vector search scores hit@1 0.84 here, plain BM25 0.81 (benchmarks/RESULTS.md)
    assert scores.hit1 >= 0.9, scores.misses
    assert scores.hit3 >= 0.95


def test_asked_year_beats_same_event_in_another_year(news):
    for q, line in [("What did British rate-setters do in August 2024?", 23),
                    ("What did British rate-setters do in August 2023?", 22),
                    ("What was decided at the 2024 climate summit?", 21),
                    ("What was agreed at the 2023 climate summit?", 20)]:
        assert _rank(q)[0][1] == line, q


def test_news_abstention(news):
    s = abstention_scores(news, lambda q: rag.ask(q).abstained)
    assert s["abstained_when_should"] == 1.0
    assert s["answered_when_should"] >= 0.95


def test_seed_golden_set(seeded):
    golden = load_golden(DATA / "golden_seeds.jsonl")
    scores = retrieval_scores(golden, _rank)
    assert scores.hit1 >= 0.9, scores.misses
    assert scores.hit3 >= 0.95
    s = abstention_scores(golden, lambda q: rag.ask(q).abstained)
    assert s["abstained_when_should"] == 1.0 and s["answered_when_should"] >= 0.95


def test_a_place_asked_by_name_matches_its_adjective(seeded):
    # "Europe" is written "European" in the snippet; line 11 has the bare word but is off topic
    assert _rank("Are Ukraine and Europe being sidelined in the peace talks?")[0][1] == 8


def test_an_acronym_matches_its_spelled_out_name_both_ways(news):
    from rag.keyword import acronyms, initials

    assert initials("The European Central Bank raised rates")["ecb"] == {"european", "central", "bank"}
    assert "us" in acronyms("US inflation hit 9.1 percent") and not acronyms("it told us so")
    # the snippet writes "European Central Bank"; other ECB lines are other years
    assert _rank("What did the ECB do in 2023?")[0][1] == 4
    # the snippet writes "US"; the UK and euro-zone peaks are distractors
    assert _rank("What was the inflation peak in the United States?")[0][1] == 10


def test_seed_questions_cite_their_snippet(seeded):
    misses = []
    golden = [g for g in load_golden(DATA / "golden_seeds.jsonl") if not g.get("abstain")]
    for g in golden:
        lines = g["line"] if isinstance(g["line"], list) else [g["line"]]
        if not set(lines) & {c.line for c in rag.ask(g["question"]).citations}:
            misses.append(g["question"])
    assert len(misses) <= 0.1 * len(golden), misses
    assert "What did Rubio propose?" not in misses
