"""Saved web pages (tests/data/web: realistic article pages with their site's menus, cookie
banners, newsletter prompts, share bars, "most read" lists and footers; expected.json says which
phrases are the story's and which the page's): only the article becomes passages, with its
metadata, and each passage points at the line of the saved file where its paragraph starts."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from rag.loaders import parse_source

WEB = Path(__file__).parent / "data" / "web"
EXPECTED = json.loads((WEB / "expected.json").read_text(encoding="utf-8"))
ARTICLES = sorted(n for n, e in EXPECTED.items() if not e.get("no_article"))
NO_ARTICLE = sorted(n for n, e in EXPECTED.items() if e.get("no_article"))


def _load(name: str):
    return parse_source((WEB / name).read_bytes(), ".html", name, 220)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_fixtures_are_many_and_carry_boilerplate():
    assert len(ARTICLES) >= 10 and len(NO_ARTICLE) >= 1
    for name in ARTICLES:
        page = _flat(html.unescape(re.sub(r"<[^>]+>", " ", (WEB / name).read_text(encoding="utf-8"))))
        assert sum(b in page for b in EXPECTED[name]["boilerplate"]) >= 8, name


@pytest.mark.parametrize("name", ARTICLES)
def test_article_pages_keep_the_story_and_its_metadata(name):
    exp = EXPECTED[name]
    loaded = _load(name)
    texts = [_flat(p.text) for p in loaded.passages]
    kept = [a for a in exp["article"] if any(a in t for t in texts)]
    # every phrase of the story survives (one live-blog summary bullet is trafilatura's to lose)
    assert len(kept) >= len(exp["article"]) - 1, set(exp["article"]) - set(kept)
    leaked = [t for t in texts if any(b in t for b in exp["boilerplate"])]
    assert len(leaked) <= 2, leaked
    assert not loaded.warnings
    for p in loaded.passages:
        assert (p.title, p.date, p.url) == (exp["title"], exp["date"], exp["url"])


def test_boilerplate_passages_all_but_vanish_across_the_pages():
    leaked = total = 0
    for name in ARTICLES:
        for p in _load(name).passages:
            total += 1
            leaked += any(b in _flat(p.text) for b in EXPECTED[name]["boilerplate"])
    assert total >= 5 * len(ARTICLES)
    assert leaked <= 3, leaked  # the old block walker left 70 on these pages


@pytest.mark.parametrize("name", ARTICLES + NO_ARTICLE)
def test_each_passage_points_at_the_line_where_its_paragraph_starts(name):
    lines = (WEB / name).read_text(encoding="utf-8").split("\n")
    for p in _load(name).passages:
        text = html.unescape(re.sub(r"<[^>]+>", "", lines[p.line - 1]))
        assert re.sub(r"\s+", "", p.text)[:15].lower() in re.sub(r"\s+", "", text).lower(), (p.line, p.text)


@pytest.mark.parametrize("name", NO_ARTICLE)
def test_a_page_without_an_article_is_indexed_whole_with_one_sentence(name):
    loaded = _load(name)
    assert loaded.passages  # the fallback: every block outside nav, header, footer and forms
    assert len(loaded.warnings) == 1
    assert loaded.warnings[0] == (f"{name} has no article that could be told from the rest of the page; "
                                  "indexed all of its text.")
    assert all(p.date == "" for p in loaded.passages)  # no guessed date for a page about nothing


def test_the_questions_of_a_page_are_answered_from_its_article(engine, sources):
    name = "harbourline_port_expansion.html"
    (sources / name).write_bytes((WEB / name).read_bytes())
    engine.index()
    for q in EXPECTED[name]["questions"]:
        answer = engine.ask(q["question"])
        assert q["answer"] in answer.text, answer.text
        c = answer.citations[0]
        assert (c.source, c.title, c.date, c.url) == (name, EXPECTED[name]["title"], EXPECTED[name]["date"],
                                                      EXPECTED[name]["url"])
