"""Retrieval quality and abstention on golden sets written for this project (tests/data)."""

from __future__ import annotations

import shutil

import pytest

import rag
from rag.eval_report import missed
from rag.evaluate import run
from tests.conftest import DATA


def _rank(q):
    return [(h.source, h.line) for h in rag.search(q, k=10)]


def _misses(ev, why: str) -> list[str]:
    return [r["question"] for r in ev.rows if why in missed(r)]


@pytest.fixture
def news(sources):
    for f in (DATA / "news").iterdir():
        shutil.copy(f, sources / f.name)
    rag.index()


def test_news_golden_set_with_same_topic_distractors(news):
    ev = run(DATA / "golden_news.jsonl", k=3)
    # plain vector search scores hit@1 0.85 here, plain BM25 0.82 (`make bench`, quality)
    assert ev.figures["hit@1"] >= 0.9, _misses(ev, "gold passage not ranked first")
    assert ev.figures["hit@3"] >= 0.95
    # answerable questions are answered, unanswerable ones abstained on
    assert ev.figures["abstain_correct"] == 1.0, _misses(ev, "should have abstained")
    assert ev.figures["abstain_false"] <= 0.05, _misses(ev, "should have answered")


def test_asked_year_beats_same_event_in_another_year(news):
    for q, line in [("What did British rate-setters do in August 2024?", 23),
                    ("What did British rate-setters do in August 2023?", 22),
                    ("What was decided at the 2024 climate summit?", 21),
                    ("What was agreed at the 2023 climate summit?", 20)]:
        assert _rank(q)[0][1] == line, q


def test_seed_golden_set(seeded):
    ev = run(DATA / "golden_seeds.jsonl", k=3)
    # 0.919 with the additive weights of before; the cosine now leads (paraphrased questions
    # over text nobody here wrote), and one Xi/Putin question whose names outvoted it slipped
    assert ev.figures["hit@1"] >= 0.88, _misses(ev, "gold passage not ranked first")
    assert ev.figures["hit@3"] >= 0.95
    assert ev.figures["abstain_correct"] == 1.0 and ev.figures["abstain_false"] <= 0.05
    # the answer cites the gold snippet (at most one question in ten may not)
    assert ev.figures["cites_gold"] >= 0.9, [r["question"] for r in ev.rows if not r["cites_gold"]]
    rubio = next(r for r in ev.rows if r["question"] == "What did Rubio propose?")
    assert rubio["cites_gold"]


def test_a_place_asked_by_name_matches_its_adjective(seeded):
    # "Europe" is written "European" in the snippet; line 11 has the bare word but is off topic
    assert _rank("Are Ukraine and Europe being sidelined in the peace talks?")[0][1] == 8


def test_an_acronym_matches_its_spelled_out_name_both_ways(news):
    from rag.keyword import acronyms, initials

    assert initials("The European Central Bank raised rates")["ecb"] == {"european", "central", "bank"}
    assert "us" in acronyms("US inflation hit 9.1 percent") and not acronyms("it told us so")
    # the snippet writes "European Central Bank": the question's "ECB" counts as held there
    from rag.query import analyse

    hits = rag.get_engine().retrieve(analyse("What did the ECB do in 2023?"))
    ecb = next(h for h in hits if h.passage.line == 4)
    assert ecb.keys == 1.0 and ecb in hits[:3]
    # the snippet writes "US"; the UK and euro-zone peaks are distractors
    assert _rank("What was the inflation peak in the United States?")[0][1] == 10
