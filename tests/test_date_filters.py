"""--since/--until: only passages dated within the range are retrieved, the filter applied inside
both retrievers (Chroma's search and BM25), not to a top k trimmed afterwards."""

from __future__ import annotations

import json
import re

import pytest

import rag
from rag.keyword import terms
from rag.query import analyse
from rag.retrieve import WEIGHTS
from tests.conftest import run_cli

QUERY = "council debate on the Velmora harbour dredging contract"
OLD = 60  # dated 2020: twice the retrieval pool, and each closer to the query than any later passage
RECENT = {  # jsonl records of 2024, about the same contract in other words
    "2024-02-10": "Sand barges began work at the northern quay under the Velmora dredging deal.",
    "2024-03-15": "Velmora dredging crews found an old anchor near the quay, halting work for a week.",
    "2024-06-20": "The first phase of the Velmora dredging work finished ahead of the summer season.",
}
SNIPPETS = [  # one snippet a line, each dated by its opening
    "Jul 9, 2022 — Velmora fishermen protested against the harbour dredging plan outside the town hall.",
    "Mar 3, 2024 — Velmora council approved a second phase of harbour dredging worth 12 million euros.",
]
FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Coast News</title><link>http://news.test/</link>
<item><title>Dredging tender opens</title><link>http://news.test/tender</link>
<pubDate>Tue, 02 May 2023 08:00:00 GMT</pubDate>
<description>The tender for the Velmora harbour dredging contract opened to bidders.</description></item>
<item><title>Seals return to Tollan Spit</title><link>http://news.test/seals</link>
<pubDate>Thu, 01 Aug 2024 08:00:00 GMT</pubDate>
<description>Grey seals returned to Tollan Spit once the Velmora dredging moved away.</description></item>
</channel></rss>
"""
UNDATED = ("Harbour pilots say the dredged channel at Velmora now lets the largest ferries dock at low "
           "tide.\n\nThe pilots' association asked for lighting buoys along the new channel.\n")

DAYS_2024 = {"2024-02-10", "2024-03-15", "2024-06-20", "2024-03-03", "2024-08-01"}


def one_sentence(message: str) -> bool:
    return message.endswith(".") and "\n" not in message and not re.search(r"[.!?] [A-Z]", message)


@pytest.fixture
def library(sources, engine):
    """60 near-identical passages of 2020, and the same topic in 2022, 2023 and 2024 (JSONL records,
    dated snippets, a feed), plus an undated article."""
    with open(sources / "archive_2020.jsonl", "w", encoding="utf-8") as fh:
        for i in range(OLD):
            day = f"2020-{i % 12 + 1:02d}-{i % 28 + 1:02d}"
            text = (f"Council debate on the Velmora harbour dredging contract, session {i + 1}: "
                    "councillors argued over the harbour dredging contract for Velmora again.")
            fh.write(json.dumps({"title": "Dredging contract debated", "url": f"http://news.test/2020/{i}",
                                 "date": day, "text": text}) + "\n")
    (sources / "recent.jsonl").write_text("".join(
        json.dumps({"title": "Dredging under way", "date": d, "text": t}) + "\n" for d, t in RECENT.items()),
        encoding="utf-8")
    (sources / "snippets.txt").write_text("\n".join(SNIPPETS) + "\n", encoding="utf-8")
    (sources / "coast_news.xml").write_text(FEED, encoding="utf-8")
    (sources / "pilots.txt").write_text(UNDATED, encoding="utf-8")
    report = engine.index()
    assert report.added == 5 and not report.warnings
    assert report.passages == OLD + len(RECENT) + len(SNIPPETS) + 2 + 2
    return engine


def dates(passages) -> list[str]:
    return [p.date for p in passages]


def test_the_range_is_applied_inside_both_retrievers(library):
    engine = library
    assert WEIGHTS.pool < OLD
    # Unfiltered, both retrievers' pools hold only older passages: trimming afterwards would be empty.
    q = analyse(QUERY)
    qvec = engine.embedder.embed_query(q.text)
    recent_ids = engine.store.ids_dated("2024-01-01", "")
    assert len(recent_ids) == len(DAYS_2024)
    dense = engine.store.query(qvec, WEIGHTS.pool)
    sparse = engine.keyword_index().search(list(q.terms), WEIGHTS.pool)
    assert len(dense) == len(sparse) == WEIGHTS.pool
    assert not recent_ids & {i for i, _ in dense} and not recent_ids & {i for i, _ in sparse}

    # Filtered, each retriever's own candidates are the range's passages.
    assert {i for i, _ in engine.store.query(qvec, WEIGHTS.pool, ("2024-01-01", ""))} == recent_ids
    sparse = engine.keyword_index().search(list(q.terms), WEIGHTS.pool, ("2024-01-01", ""))
    assert {i for i, _ in sparse} == recent_ids

    hits = rag.search(QUERY, k=10, since="2024-01-01")
    assert sorted(dates(hits)) == sorted(DAYS_2024)
    assert {h.id for h in hits} == recent_ids
    assert all(h.score > 0 for h in hits)
    feed_hit = next(h for h in hits if h.date == "2024-08-01")
    assert (feed_hit.source, feed_hit.title, feed_hit.url) == (
        "coast_news.xml", "Seals return to Tollan Spit", "http://news.test/seals")
    # The snippet's date comes from its opening.
    assert next(h for h in hits if h.date == "2024-03-03").text == SNIPPETS[1]


def test_until_both_bounds_a_month_and_an_empty_range(library):
    old = rag.search(QUERY, k=8, until="2020-12-31")
    assert len(old) == 8 and all(d <= "2020-12-31" for d in dates(old))
    assert all(h.source == "archive_2020.jsonl" for h in old)

    between = rag.search(QUERY, k=10, since="2022-01-01", until="2023-12-31")
    assert sorted(dates(between)) == ["2022-07-09", "2023-05-02"]

    march = rag.search(QUERY, k=10, since="2024-03", until="2024-03")  # a month: its first and last day
    assert sorted(dates(march)) == ["2024-03-03", "2024-03-15"]
    assert sorted(dates(rag.search(QUERY, k=10, since="2024-06"))) == ["2024-06-20", "2024-08-01"]
    assert sorted(dates(rag.search(QUERY, k=10, until="2022-07"))) == sorted(dates(rag.search(
        QUERY, k=10, until="2022-07-31")))

    assert rag.search(QUERY, since="2021-01-01", until="2021-12-31") == []
    answer = rag.ask("What did the Velmora council decide about the dredging contract?", since="2021",
                     until="2021")
    assert answer.abstained and answer.citations == [] and answer.passages == []
    assert answer.notice == "No indexed passage is dated between 2021-01-01 and 2021-12-31."


def test_a_range_answer_cites_only_passages_of_the_range(library):
    question = "What did the Velmora council approve for the harbour dredging?"
    answer = rag.ask(question, since="2024-03-01", until="2024-03-31")
    assert not answer.abstained and answer.citations, answer.text
    assert all("2024-03-01" <= c.date <= "2024-03-31" for c in answer.citations)
    assert "12 million euros" in answer.text and answer.notice == ""
    assert all("2024-03-01" <= p.date <= "2024-03-31" for p in answer.passages)


def test_undated_passages_are_left_out_of_any_range_and_a_reversed_range_is_refused(library):
    pilots = "Which ferries can dock at low tide in the dredged channel?"
    assert rag.search(pilots, k=1)[0].source == "pilots.txt"  # found without a range...
    for since, until in (("1900-01-01", None), (None, "2099-12-31"), ("1900", "2099")):
        hits = rag.search(pilots, k=100, since=since, until=until)
        assert hits and all(h.date for h in hits) and "pilots.txt" not in {h.source for h in hits}

    for call, words in ((lambda: rag.search(QUERY, since="2024-05-01", until="2024-01-01"),
                         "2024-05-01 comes after 2024-01-01."),
                        (lambda: rag.ask(QUERY, since="2024-05", until="2024-04"),
                         "2024-05-01 comes after 2024-04-30.")):
        with pytest.raises(rag.RagError) as info:
            call()
        message = str(info.value)
        assert one_sentence(message) and " is after " in message and message.endswith(words), message
    with pytest.raises(rag.RagError) as info:
        rag.search(QUERY, since="2024-02-30")
    assert one_sentence(str(info.value)) and str(info.value).endswith(
        "'2024-02-30' is not a date; use YYYY-MM-DD."), str(info.value)


def test_keyword_search_within_a_range_keeps_the_scores_of_the_whole_library(library):
    kidx = library.keyword_index()
    query_terms = terms(QUERY)
    everything = kidx.search(query_terms, 1000)
    assert len(everything) > 10
    recent = library.store.ids_dated("2024-01-01", "")
    got = kidx.search(query_terms, 5, ("2024-01-01", ""))
    assert {pid for pid, _ in got} == recent
    assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
    assert dict(got) == {pid: s for pid, s in everything if pid in recent}  # same scores, fewer docs
    assert kidx.search(query_terms, 5, ("2030-01-01", "")) == []
    assert kidx.search([], 5) == []


def test_date_range_on_the_command_line(library, env):
    out = run_cli("search", "--since", "2024-01-01", "-k", "10", "--json", QUERY, env=env)
    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout)
    assert sorted(h["date"] for h in hits) == sorted(DAYS_2024)
    assert all({"url", "title", "date"} <= set(h) for h in hits)

    out = run_cli("ask", "--since", "2024-03", "--until", "2024-03-31", "--json",
                  "What did the Velmora council approve for the harbour dredging?", env=env)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["citations"] and all(c["date"].startswith("2024-03") for c in answer["citations"])
    assert all(p["date"].startswith("2024-03") for p in answer["passages"])

    for args, message in (
        (("search", "--since", "2024-13-01", QUERY),
         "error: --since '2024-13-01' is not a date; use YYYY-MM-DD."),
        (("ask", "--until", "last week", QUERY), "error: --until 'last week' is not a date; use YYYY-MM-DD."),
        (("ask", "--since", "2024-05", "--until", "2024-04", QUERY),
         "error: --since is after --until: 2024-05-01 comes after 2024-04-30."),
    ):
        out = run_cli(*args, env=env)
        assert (out.returncode, out.stderr, out.stdout) == (2, message + "\n", ""), out.stderr
