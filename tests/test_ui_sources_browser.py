"""Sources from the web in the page: Add from URL, feed subscriptions, the date range beside the
question and the watched sources folder, in a real headless Chromium against a real `rag ui`
fetching from a real HTTP server on loopback."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

from tests.ui_server import UIServer, ui_env

SLOW = 60_000  # ms; indexing and answering on a 2-core CI machine

TITLE = "Kelmsford switches on a floating solar farm"
CANONICAL = "https://kelmsford-gazette.example/2025/03/04/floating-solar-farm"
NAV = "Gazette reader lounge"
FOOTER = "Gazette Media Holdings"
ARTICLE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{TITLE} | Kelmsford Gazette</title>
<link rel="canonical" href="{CANONICAL}">
<meta property="og:title" content="{TITLE}">
<meta property="article:published_time" content="2025-03-04T09:00:00Z">
</head>
<body>
<header><nav><ul>
<li><a href="/">Home</a></li><li><a href="/lounge">Sign in to the {NAV}</a></li>
<li><a href="/weather">Tideline weather desk</a></li></ul></nav></header>
<main><article>
<h1>{TITLE}</h1>
<p>The town of Kelmsford switched on a floating solar farm on Lake Varrow on Monday, the council said.</p>
<p>The farm has 4,200 panels on pontoons and will power about 900 homes, according to the operator
Brightmere Energy.</p>
<p>Work on the pontoons began last spring and cost 6.5 million pounds, paid for by a regional green fund.</p>
</article></main>
<footer><p>{FOOTER} publishes the Kelmsford Gazette from Quayside Lane.</p>
<p>Careers at the Gazette, our complaints procedure and advertising rates for local traders.</p></footer>
</body></html>
"""

FERRY_2023 = ("The Dunholm ferry carried a record 41,000 passengers across the estuary on the diesel "
              "boat Puffin.")
FERRY_2025 = "The Dunholm ferry now crosses the estuary on battery power, with the electric boat Gannet."
FEED = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
<channel>
<title>Dunholm Estuary News</title>
<link>http://dunholm-news.example/</link>
<description>News from the Dunholm estuary</description>
<item>
<title>Dunholm ferry goes electric</title>
<link>http://dunholm-news.example/2025/ferry-electric</link>
<guid>dunholm-2025-ferry</guid>
<pubDate>Mon, 20 Jan 2025 08:00:00 GMT</pubDate>
<description>&lt;p&gt;{FERRY_2025}&lt;/p&gt;</description>
</item>
<item>
<title>Dunholm ferry sets a passenger record</title>
<link>http://dunholm-news.example/2023/ferry-record</link>
<guid>dunholm-2023-ferry</guid>
<pubDate>Tue, 14 Mar 2023 08:00:00 GMT</pubDate>
<description>&lt;p&gt;{FERRY_2023}&lt;/p&gt;</description>
</item>
</channel>
</rss>
"""
PAGES = {
    "/news/floating-solar.html": ("text/html; charset=utf-8", ARTICLE),
    "/feeds/dunholm.xml": ("application/rss+xml; charset=utf-8", FEED),
}


class Site(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        page = PAGES.get(self.path.split("?", 1)[0])
        status, (kind, body) = (200, page) if page else (404, ("text/html", "<h1>Not found</h1>"))
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def ui_web(tmp_path_factory, model_cache) -> Iterator[UIServer]:
    """`rag ui` that may fetch from loopback, with feeds refreshed only on demand."""
    env = ui_env(tmp_path_factory.mktemp("ui-web"), model_cache, RAG_ALLOW_PRIVATE_URLS="127.0.0.1",
                 RAG_FEED_REFRESH_MINUTES="0")
    with UIServer(env) as server:
        yield server


@pytest.fixture
def page(browser, ui_web) -> Iterator[Page]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    page.goto(ui_web.url)
    expect(page.locator("#rag-question textarea")).to_be_visible()
    yield page
    ctx.close()


def ask(page: Page, question: str) -> None:
    answers = page.locator("#rag-chat .rag-meta, #rag-chat .rag-error")
    before = answers.count()
    page.locator("#rag-question textarea").fill(question)
    page.keyboard.press("Enter")
    expect(answers).to_have_count(before + 1, timeout=SLOW)


def new_chat(page: Page) -> None:
    page.get_by_role("button", name="New chat").click()
    expect(page.locator("#rag-chat .rag-answer")).to_have_count(0)


def add_url(page: Page, url: str) -> None:
    page.locator("#rag-url textarea").fill(url)
    page.locator("#rag-add-url").click()


def test_add_from_url_shows_title_link_and_date_and_rejects_a_404(page, site):
    page.get_by_role("tab", name="Add sources & index").click()
    add_url(page, f"{site}/news/floating-solar.html?utm_source=newsletter")
    results = page.locator("#rag-results")
    row = results.get_by_role("row").filter(has_text="floating-solar")
    expect(row.get_by_role("gridcell").nth(1)).to_have_text("added", timeout=SLOW)
    expect(page.locator("#rag-index-summary")).to_contain_text("1 added")
    expect(page.locator("#rag-url textarea")).to_have_value("")  # nothing left to retry

    ask(page, "How many panels does the Kelmsford floating solar farm have?")
    expect(page.locator("#rag-chat .rag-answer").last).to_contain_text("4,200 panels")
    entry = page.locator("#rag-sources .rag-turn.active .rag-src").first
    link = entry.locator(".rag-about .rag-title a")
    expect(link).to_have_text(TITLE)
    expect(link).to_have_attribute("href", CANONICAL)  # the page's canonical URL, not the fetched one
    expect(link).to_have_attribute("rel", re.compile(r"\bnoopener\b"))
    expect(entry.locator(".rag-about .rag-date")).to_have_text("2025-03-04")
    panel = page.locator("#rag-sources")
    for chrome in (NAV, FOOTER, "Tideline weather desk", "Careers at the Gazette"):
        expect(panel).not_to_contain_text(chrome)  # nor in the collapsed "other passages"

    missing = f"{site}/news/no-such-story.html"
    add_url(page, missing)
    row = results.get_by_role("row").filter(has_text="no-such-story")
    expect(row.get_by_role("gridcell").nth(1)).to_have_text("rejected", timeout=SLOW)
    reason = row.get_by_role("gridcell").nth(2).inner_text().strip()
    assert "404" in reason and reason.endswith(".") and ". " not in reason, reason
    expect(results).not_to_contain_text("floating-solar")  # only this run's outcome is listed
    expect(page.locator("#rag-url textarea")).to_have_value(missing)  # kept, to fix and retry

    new_chat(page)
    ask(page, "How much did the work on the Kelmsford solar farm pontoons cost?")
    expect(page.locator("#rag-chat .rag-answer").last).to_contain_text("6.5 million pounds")
    expect(page.locator("#rag-sources .rag-turn.active .rag-src .rag-title a").first).to_have_attribute(
        "href", CANONICAL)


def _cited_dates(page: Page) -> list[str]:
    return page.locator("#rag-sources .rag-turn.active .rag-src .rag-date").all_inner_texts()


def test_feed_subscription_and_date_range(page, site):
    feed_url = f"{site}/feeds/dunholm.xml"
    page.get_by_role("tab", name="Feeds").click()
    page.locator("#rag-feed-url textarea").fill(feed_url)
    page.locator("#rag-subscribe").click()
    expect(page.locator("#rag-feed-note")).to_contain_text(f"Subscribed: 2 entries indexed from {feed_url}.",
                                                           timeout=SLOW)
    row = page.locator("#rag-feeds").get_by_role("row").filter(has_text=feed_url)
    cells = row.get_by_role("gridcell")
    expect(cells.nth(0)).to_have_text(f"Dunholm Estuary News ({feed_url})")
    expect(cells.nth(1)).to_have_text("2")
    expect(cells.nth(2)).to_have_text(re.compile(r"^\s*\d{4}-\d\d-\d\d \d\d:\d\d \(just now\)\s*$"))
    expect(cells.nth(3)).to_have_text("")
    expect(page.locator("#rag-feed-url textarea")).to_have_value("")

    question = "What boat does the Dunholm ferry use to cross the estuary?"
    since, until = page.locator("#rag-since textarea"), page.locator("#rag-until textarea")
    since.fill("2025-01-01")
    ask(page, question)
    answer = page.locator("#rag-chat .rag-answer").last
    expect(answer).to_contain_text("Gannet")
    expect(answer).not_to_contain_text("Puffin")
    expect(page.locator("#rag-sources .rag-turn.active .rag-src .rag-date").first).to_have_text("2025-01-20")
    assert set(_cited_dates(page)) == {"2025-01-20"}
    expect(page.locator("#rag-sources .rag-turn.active .rag-src .rag-title a").first).to_have_attribute(
        "href", "http://dunholm-news.example/2025/ferry-electric")
    expect(page.locator("#rag-sources .rag-turn.active")).not_to_contain_text("2023-03-14")

    since.fill("")
    until.fill("2023-12-31")
    ask(page, question)
    answer = page.locator("#rag-chat .rag-answer").last
    expect(answer).to_contain_text("Puffin")
    expect(answer).not_to_contain_text("Gannet")
    expect(page.locator("#rag-sources .rag-turn.active .rag-src .rag-date").first).to_have_text("2023-03-14")
    assert set(_cited_dates(page)) == {"2023-03-14"}
    expect(page.locator("#rag-sources .rag-turn.active .rag-src .rag-title a").first).to_have_text(
        "Dunholm ferry sets a passenger record")

    until.fill("")
    since.fill("2025-13-45")
    ask(page, question)
    error = page.locator("#rag-chat .rag-error").last
    expect(error).to_contain_text("'2025-13-45' is not a date; use YYYY-MM-DD.")
    text = error.inner_text().strip()
    assert text.count(". ") == 0 and text.endswith("."), text  # one sentence

    since.fill("")  # the page keeps working
    ask(page, question)
    expect(page.locator("#rag-chat .rag-answer").last).to_contain_text("Dunholm ferry")
    assert set(_cited_dates(page)) <= {"2025-01-20", "2023-03-14"} and _cited_dates(page)


def test_a_file_dropped_in_the_watched_folder_becomes_answerable(page, ui_web):
    page.get_by_role("tab", name="Add sources & index").click()
    expect(page.locator("#rag-status")).to_contain_text("Watching the sources folder")

    fact = "the Ostermoor lantern festival drew 12,500 visitors"
    question = "How many visitors did the Ostermoor lantern festival draw?"
    (ui_web.sources / "ostermoor-lanterns.txt").write_text(
        f"Ostermoor lantern festival\n\nOrganisers said {fact} on Saturday, despite the rain.\n",
        encoding="utf-8")
    start = time.monotonic()
    while True:
        ask(page, question)
        if fact in page.locator("#rag-chat .rag-answer").last.inner_text():
            break
        assert time.monotonic() - start < 15, "the dropped file was not indexed within 15 s"
        page.wait_for_timeout(500)
        new_chat(page)
    expect(page.locator("#rag-sources .rag-turn.active .rag-loc").first).to_have_text(
        "sources/ostermoor-lanterns.txt:3")
