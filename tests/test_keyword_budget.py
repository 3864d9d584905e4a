"""Keyword search sends FTS5 a question's rarest terms, within a budget of postings: its cost is
bounded whatever the library's size, and at the golden sets' sizes nothing is left out."""

from __future__ import annotations

import json
import shutil

import pytest

import rag
import rag.keyword
from rag.keyword import KEYWORD_POSTINGS, terms, within_budget
from rag.query import analyse
from tests.conftest import DATA


@pytest.fixture
def news(sources):
    for f in (DATA / "news").iterdir():
        shutil.copy(f, sources / f.name)
    rag.index()


def test_the_rarest_terms_are_kept_in_the_question_order():
    df = {"a": 500, "b": 10, "c": 300, "d": 20}.get
    assert within_budget(["a", "b", "c", "d"], df, 330) == ["b", "c", "d"]
    assert within_budget(["c", "a", "d", "b"], df, 330) == ["c", "d", "b"]
    assert within_budget(["a", "b", "c", "d"], df, 10_000) == ["a", "b", "c", "d"]
    # the rarest term is searched even when it alone is over the budget
    assert within_budget(["a", "c"], df, 100) == ["c"]


def test_a_term_over_the_budget_is_not_searched(news, monkeypatch):
    kidx = rag.get_engine().keyword_index()
    passages = rag.get_engine().store.passages()
    common = max({t for p in passages for t in terms(p.text)}, key=kidx.df)
    rare = next(t for p in passages for t in terms(p.text) if kidx.df(t) == 1 and t != common)
    holding = {p.id: set(terms(p.text)) for p in passages}
    everyone = dict(kidx.search([common, rare], 100))
    assert {i for i in everyone if rare not in holding[i]}  # the common term finds passages too
    monkeypatch.setattr(rag.keyword, "KEYWORD_POSTINGS", kidx.df(common))  # + rare's 1 is over
    only_rare = dict(kidx.search([common, rare], 100))
    assert only_rare and all(rare in holding[i] for i in only_rare)


def test_the_budget_never_binds_on_a_golden_set(news):
    kidx = rag.get_engine().keyword_index()
    for line in (DATA / "golden_news.jsonl").read_text(encoding="utf-8").splitlines():
        asked = [t.replace("'", "") for t in analyse(json.loads(line)["question"]).terms]
        wanted = list(dict.fromkeys(t for t in asked if t))
        assert within_budget(wanted, kidx.df, KEYWORD_POSTINGS) == wanted
