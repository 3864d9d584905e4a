"""The public Python API: ask, search, index, and what an Answer promises."""

from __future__ import annotations

import pytest

import rag
from rag.extractive import ABSTAIN
from tests.conftest import SEED


@pytest.mark.both_stores
def test_rubio_answer_cites_line_5_and_names_the_strategy(seeded):
    answer = rag.ask("What did Rubio propose?")  # first call builds the index lazily
    assert isinstance(answer, rag.Answer)
    assert answer.mode == "extractive" and not answer.abstained
    assert "strategy to dilute ties" in answer.text and "[1]" in answer.text
    first = answer.citations[0]
    assert isinstance(first, rag.Citation)
    assert (first.n, first.source, first.line) == (1, SEED.name, 5)
    lines = SEED.read_text(encoding="utf-8").splitlines()
    assert first.text == lines[4]  # verbatim passage
    assert 0 < first.score <= 1
    assert {"embed_ms", "retrieve_ms", "total_ms"} <= answer.timings.keys()
    assert answer.usage["prompt_tokens"] == 0 and answer.usage["cost_usd"] == 0.0


@pytest.mark.both_stores
def test_every_marker_maps_to_a_citation_whose_quote_is_in_its_passage(seeded):
    import re

    for q in ["Who did Xi Jinping meet in Beijing?", "What is Trump's push to end the war poised to do?",
              "How has China backed Russia since the invasion?"]:
        a = rag.ask(q)
        markers = [int(m) for m in re.findall(r"\[(\d+)\]", a.text)]
        assert markers and sorted(set(markers)) == [c.n for c in a.citations] == list(
            range(1, len(a.citations) + 1))
        for c in a.citations:
            assert c.quote and c.quote in c.text
            assert c.text in SEED.read_text(encoding="utf-8")


@pytest.mark.both_stores
def test_unanswerable_question_abstains_without_citations(seeded):
    a = rag.ask("What is the GDP of Brazil?")
    assert a.abstained and a.text == ABSTAIN and a.citations == []


@pytest.mark.both_stores
def test_search_returns_ranked_passages_with_provenance(seeded):
    hits = rag.search("Shoigu met Xi Jinping in Beijing", k=3)
    assert len(hits) == 3 and all(isinstance(h, rag.Passage) for h in hits)
    assert hits[0].line == 6 and hits[0].source == SEED.name
    assert hits[0].score >= hits[1].score >= hits[2].score


@pytest.mark.both_stores
def test_index_reports_counts(seeded):
    report = rag.index()
    assert isinstance(report, rag.IndexReport)
    assert (report.added, report.embedded, report.passages) == (1, 12, 12)
    assert rag.index().unchanged == 1


def test_models_load_once_per_process(seeded):
    engine = rag.get_engine()
    rag.ask("What did Rubio propose?")
    embedder = engine.embedder
    rag.ask("Who is Shoigu?")
    rag.search("Xi")
    assert rag.get_engine() is engine and engine.embedder is embedder


@pytest.mark.parametrize("question", ["", "   ", "x" * 100_000])
def test_bad_questions_raise_one_sentence(seeded, question):
    with pytest.raises(rag.RagError) as exc:
        rag.ask(question)
    msg = str(exc.value)
    assert "\n" not in msg and msg.endswith(".") and "question" in msg
