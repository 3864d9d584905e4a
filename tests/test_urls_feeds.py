"""Sources added by URL and feed subscriptions, fetched from a real HTTP server on 127.0.0.1 and
indexed with the real embedding model into a real Chroma store."""

from __future__ import annotations

import json
import re
import time

import pytest

import rag
from rag import feeds
from rag.fetch import name_for
from tests.conftest import run_cli
from tests.http_fixture import Site, article, rss

HARBOUR = [
    "The port authority of Velmora signed a contract worth 40 million euros with Brackwater Marine on "
    "Tuesday to build two new deep-water berths on the northern quay of the harbour.",
    "Construction of the two berths is scheduled to begin in the spring and to finish within three years, "
    "the authority said, and about 300 workers will be hired locally for the project.",
    "Fishing crews had opposed the plan for months, arguing that dredging the channel would drive the "
    "herring shoals away from the bay; the contract sets aside money for monitoring the fish stocks.",
]
CANONICAL = "https://courier.test/news/2024/mar/12/velmora-harbour-contract"


def one_sentence(message: str) -> bool:
    """A single sentence: ends with a period, no line breaks, no '. ' followed by a new sentence."""
    return message.endswith(".") and "\n" not in message and not re.search(r"[.!?] [A-Z]", message)


@pytest.fixture
def site():
    with Site() as s:
        yield s


def configure(env: dict, monkeypatch, **values: str) -> dict:
    """Set settings for this process (and return them for subprocesses); the engine is rebuilt."""
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    rag.reset()
    return {**env, **values}


@pytest.fixture
def web(env, monkeypatch) -> dict:
    """The test server's address is allowed (only 127.0.0.1, as a user would allow a host)."""
    return configure(env, monkeypatch, RAG_ALLOW_PRIVATE_URLS="127.0.0.1")


def indexed_texts() -> list[str]:
    return [p.text for p in rag.get_engine().store.passages()]


# --- pages --------------------------------------------------------------------------------------


def test_page_is_stored_under_a_name_from_its_url_and_cited_with_its_canonical_url(web, site, sources):
    page = article("Velmora signs harbour contract", HARBOUR, canonical=CANONICAL,
                   published="2024-03-12T06:45:00+00:00")
    url = site.route("/news/2024/velmora-harbour.html", page)
    results, report = rag.add_sources([url])

    name = f"127.0.0.1-{site.server_address[1]}_news_2024_velmora-harbour.html"
    assert name == name_for(url, ".html")
    assert [(r.name, r.status, r.source) for r in results] == [(url, "added", name)]
    assert (sources / name).read_bytes() == page.encode()
    assert json.loads((sources / ".origins.json").read_text())[name]["url"] == url
    assert report.files == {name: "added"} and report.embedded == 3 and not report.warnings

    hits = rag.search("How much is the Velmora harbour contract with Brackwater Marine worth?", k=3)
    assert hits[0].source == name and "40 million euros" in hits[0].text
    for h in hits:  # the link is the page's own canonical URL, not the address it was fetched from
        assert (h.title, h.url, h.date) == ("Velmora signs harbour contract", CANONICAL, "2024-03-12")
    assert not any("All rights reserved" in t or "Sport" == t for t in indexed_texts())

    answer = rag.ask("How much is the Velmora harbour contract with Brackwater Marine worth?")
    assert not answer.abstained and "40 million euros" in answer.text
    c = answer.citations[0]
    assert (c.source, c.title, c.url, c.date) == (name, "Velmora signs harbour contract", CANONICAL,
                                                 "2024-03-12")


def _pdf(lines: list[str]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in lines:
        pdf.multi_cell(0, 6, line)
        pdf.ln(2)
    return bytes(pdf.output())


@pytest.mark.parametrize("path, body, content_type, suffix", [
    ("/notes/lowmoor-festival.txt",
     "Jul 9, 2022 - The lantern festival in Lowmoor drew 12,000 visitors to the river banks.\n"
     "The town council voted to fund the festival again for the next three summers.\n",
     "text/plain; charset=utf-8", ".txt"),
    ("/reports/lowmoor-festival", _pdf([
        "Lowmoor festival report",
        "The lantern festival in Lowmoor drew 12,000 visitors to the river banks.",
        "The town council voted to fund the festival again for the next three summers.",
    ]), "application/pdf", ".pdf"),
])
def test_a_source_without_a_canonical_url_links_to_the_url_it_was_fetched_from(web, site, sources, path,
                                                                              body, content_type, suffix):
    url = site.route(path, body, content_type)
    results, _ = rag.add_sources([url])
    assert results[0].status == "added", results[0].reason
    assert results[0].source == name_for(url, suffix) and (sources / results[0].source).is_file()
    hit = rag.search("How many visitors came to the Lowmoor lantern festival?", k=1)[0]
    assert hit.source == results[0].source and "12,000 visitors" in hit.text
    assert hit.url == url
    if suffix == ".txt":  # the snippet's own leading date
        assert hit.date == "2022-07-09" and hit.line == 1
    else:
        assert hit.page == 1


def test_adding_a_url_again_asks_for_a_changed_copy_and_updates_only_when_it_changed(web, site, sources):
    path = "/news/velmora-harbour.html"
    url = site.route(path, article("Velmora signs harbour contract", HARBOUR), etag='"v1"')
    plain = site.route("/notes/quota.txt", "Herring quota for the bay was cut by a fifth this year.\n"
                       "Boats from Denholm will land less fish in the winter.\n", "text/plain")
    first, _ = rag.add_sources([url, plain])
    assert [r.status for r in first] == ["added", "added"]
    name, count = first[0].source, rag.get_engine().store.count()

    # Same ETag: the server answers 304; without one, the same bytes are recognised.
    again, report = rag.add_sources([url, plain])
    assert [r.status for r in again] == ["unchanged", "unchanged"], again
    assert again[0].source == name and report is None
    assert site.hits(path)[-1].get("If-None-Match") == '"v1"'
    assert "If-None-Match" not in site.hits(path)[0]
    assert rag.get_engine().store.count() == count

    # Changed: fetched whole (the old ETag no longer matches), stored under the same name.
    changed = [HARBOUR[0].replace("40 million euros", "55 million euros"), *HARBOUR[1:]]
    site.route(path, article("Velmora signs harbour contract", changed), etag='"v2"')
    updated, report = rag.add_sources([url])
    assert [(r.status, r.source) for r in updated] == [("updated", name)]
    assert report.embedded == 1 and report.passages == count
    assert json.loads((sources / ".origins.json").read_text())[name]["etag"] == '"v2"'
    texts = indexed_texts()
    assert any("55 million euros" in t for t in texts) and not any("40 million euros" in t for t in texts)
    hit = rag.search("How much is the Velmora harbour contract worth?", k=1)[0]
    assert "55 million euros" in hit.text


def test_a_redirect_is_followed_and_the_final_page_indexed(web, site):
    final = site.route("/news/2024/velmora-harbour.html", article("Velmora signs harbour contract", HARBOUR))
    old = site.redirect("/story/1234", "/news/2024/velmora-harbour.html")
    results, _ = rag.add_sources([old])
    assert [(r.name, r.status) for r in results] == [(old, "added")]
    assert results[0].source == name_for(old, ".html")
    hit = rag.search("Velmora harbour contract Brackwater Marine", k=1)[0]
    assert hit.source == results[0].source and "40 million euros" in hit.text
    assert hit.url in (old, final)
    assert [p for p, _ in site.requests] == ["/story/1234", "/news/2024/velmora-harbour.html"]


def test_a_redirect_to_the_cloud_metadata_address_is_refused_and_nothing_is_lost(web, site, sources):
    rag.add_sources([site.route("/a.html", article("Velmora signs harbour contract", HARBOUR))])
    before = (sorted(p.name for p in sources.iterdir()), rag.get_engine().store.count(), rag.library())
    evil = site.redirect("/evil", "http://169.254.169.254/latest/meta-data/?token=s3cret")
    results, report = rag.add_sources([evil])
    assert report is None and [r.status for r in results] == ["rejected"]
    reason = results[0].reason
    assert one_sentence(reason), reason
    assert ("redirected to http://169.254.169.254/latest/meta-data/, which points to a cloud metadata "
            "address") in reason
    assert "s3cret" not in reason
    after = (sorted(p.name for p in sources.iterdir()), rag.get_engine().store.count(), rag.library())
    assert after == before


def test_a_loopback_url_is_refused_by_default(env, site, monkeypatch, sources):
    monkeypatch.delenv("RAG_ALLOW_PRIVATE_URLS", raising=False)
    rag.reset()
    url = site.route("/a.html", article("Velmora signs harbour contract", HARBOUR))
    results, report = rag.add_sources([url])
    assert report is None and results[0].status == "rejected"
    reason = results[0].reason
    assert one_sentence(reason), reason
    assert "loopback" in reason and "127.0.0.1" in reason and "RAG_ALLOW_PRIVATE_URLS" in reason
    assert site.requests == []  # refused before connecting
    assert list(sources.iterdir()) == []


def test_bad_urls_each_give_one_sentence_and_leave_the_index_as_it_was(env, site, monkeypatch, sources):
    configure(env, monkeypatch, RAG_ALLOW_PRIVATE_URLS="127.0.0.1", RAG_FETCH_TIMEOUT="0.5",
              RAG_MAX_FILE_MB="0.01")
    good, _ = rag.add_sources([site.route("/a.html", article("Velmora signs harbour contract", HARBOUR))])
    assert good[0].status == "added"
    engine = rag.get_engine()
    before = (sorted(p.name for p in sources.iterdir()), engine.store.count(), rag.library())

    site.route("/slow.html", article("Late", HARBOUR), delay=3.0)
    site.route("/huge.txt", "The harbour grew again this year.\n" * 1000, "text/plain")  # 35 KB > 10 KB
    site.route("/photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000, "image/png")
    site.route("/front.html", "<!DOCTYPE html><html><head><title>Front page</title></head><body><nav><ul>"
               + "".join(f'<li><a href="/s{i}">Section {i}</a></li>' for i in range(12))
               + "</ul></nav></body></html>")
    site.route("/catalog.xml", '<?xml version="1.0"?>\n<catalog><book id="1"><title>Tides</title></book>'
               "</catalog>\n", "application/xml")
    cases = {
        "/missing.html": "was not found (HTTP 404)",
        "/slow.html": "timed out (no answer within 0.5 s)",
        "/huge.txt": "over the 0.01 MB limit (RAG_MAX_FILE_MB)",
        "/photo.png": "unsupported type (image/png)",
        "/front.html": "has no text to index",  # a page of navigation only: nothing to index
        "/catalog.xml": "is XML but not an RSS or Atom feed (application/xml)",
    }
    results, report = rag.add_sources([site.url(p) for p in cases])
    assert report is None
    by_url = {r.name: r for r in results}
    assert sorted(by_url) == sorted(site.url(p) for p in cases) and len(results) == len(cases)
    for path, words in cases.items():
        r = by_url[site.url(path)]
        assert r.status == "rejected" and words in r.reason, (r.name, r.reason)
        assert one_sentence(r.reason), r.reason
    after = (sorted(p.name for p in sources.iterdir()), engine.store.count(), rag.library())
    assert after == before


def test_a_page_of_teasers_is_indexed_whole_with_a_one_sentence_warning(web, site):
    teasers = ["Harbour contract signed", "Festival returns to Lowmoor", "Herring quota cut by a fifth",
               "Storm closes the coast road", "New library opens in Ashgrove"]
    url = site.route("/local/", "<!DOCTYPE html><html><head><title>Local news</title></head><body><main><ul>"
                     + "".join(f'<li><a href="/s{i}">{t}</a></li>' for i, t in enumerate(teasers))
                     + "</ul></main></body></html>")
    results, report = rag.add_sources([url])
    assert results[0].status == "added"
    assert len(report.warnings) == 1 and one_sentence(report.warnings[0])
    assert "no article" in report.warnings[0]
    assert sorted(indexed_texts()) == sorted(teasers)
    assert all(p.date == "" for p in rag.get_engine().store.passages())  # no guessed date


# --- the command line ---------------------------------------------------------------------------


def test_rag_add_url_on_the_command_line(web, site):
    url = site.route("/news/velmora-harbour.html", article("Velmora signs harbour contract", HARBOUR,
                                                           canonical=CANONICAL, published="2024-03-12"))
    out = run_cli("add", url, env=web)
    assert out.returncode == 0, out.stderr
    name = name_for(url, ".html")
    assert f"added  {url} → {name}" in out.stdout and "3 passages embedded" in out.stdout

    missing = site.url("/gone.html")
    out = run_cli("add", missing, env=web)
    assert out.returncode == 1
    assert out.stdout.splitlines()[0].strip() == f"rejected  {missing}: {missing} was not found (HTTP 404)."

    out = run_cli("search", "--json", "Velmora harbour contract worth", env=web)
    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout)
    assert hits and {"url", "title", "date"} <= set(hits[0])
    assert (hits[0]["url"], hits[0]["title"], hits[0]["date"]) == (
        CANONICAL, "Velmora signs harbour contract", "2024-03-12")


# --- feeds --------------------------------------------------------------------------------------

ITEMS = [
    {"title": "Herring quota cut by a fifth", "link": "http://news.test/herring-quota",
     "date": "Tue, 05 Mar 2024 10:00:00 GMT",
     "text": "The herring quota for Denholm bay was cut by a fifth after the spring survey found few fish."},
    {"title": "Lowmoor lantern festival returns", "link": "http://news.test/lantern-festival",
     "date": "Mon, 04 Mar 2024 09:00:00 GMT",
     "text": "The lantern festival returns to Lowmoor in July with a parade along the river banks."},
]
NEW_ITEM = {"title": "Storm Ilsa closes the coast road", "link": "http://news.test/storm-ilsa",
            "date": "Wed, 06 Mar 2024 07:30:00 GMT",
            "text": "Storm Ilsa closed the coast road between Denholm and Velmora as waves broke the wall."}


def _archive(sources, url: str) -> list[dict]:
    path = sources / "feeds" / name_for(url, ".jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_feed_subscription_archives_entries_and_embeds_only_new_ones(web, site, sources):
    url = site.route("/feed.rss", rss("Coast News", ITEMS), "application/rss+xml")
    out = run_cli("feeds", "add", url, env=web)
    assert out.returncode == 0, out.stderr
    source = f"feeds/{name_for(url, '.jsonl')}"
    assert f"Coast News → {source}: 2 entries (2 new)" in out.stdout
    archived = _archive(sources, url)
    assert [(e["title"], e["url"], e["date"]) for e in archived] == [
        ("Lowmoor lantern festival returns", "http://news.test/lantern-festival", "2024-03-04"),
        ("Herring quota cut by a fifth", "http://news.test/herring-quota", "2024-03-05"),
    ]  # oldest first

    listed = json.loads(run_cli("feeds", "list", "--json", env=web).stdout)
    assert [(f["url"], f["source"], f["entries"], f["error"]) for f in listed] == [(url, source, 2, "")]
    assert listed[0]["fetched_at"] > 0 and listed[0]["title"] == "Coast News"

    engine = rag.get_engine()
    hit = rag.search("herring quota Denholm bay", k=1)[0]
    assert (hit.source, hit.title, hit.url, hit.date) == (source, "Herring quota cut by a fifth",
                                                          "http://news.test/herring-quota", "2024-03-05")

    # The feed now lists a new entry and no longer the oldest: only the new one is embedded, and
    # the archive keeps the one that dropped out.
    site.route("/feed.rss", rss("Coast News", [NEW_ITEM, ITEMS[0]]), "application/rss+xml")
    reports = []
    real_index = engine.index

    def recording(*args, **kwargs):
        reports.append(real_index(*args, **kwargs))
        return reports[-1]

    engine.index = recording
    count = engine.store.count()
    [feed] = feeds.update(engine)
    assert (feed.new, feed.entries, feed.error) == (1, 3, "")
    assert [r.embedded for r in reports] == [1] and reports[0].files == {source: "updated"}
    assert engine.store.count() == count + 1
    assert [e["title"] for e in _archive(sources, url)] == [
        "Lowmoor lantern festival returns", "Herring quota cut by a fifth",
        "Storm Ilsa closes the coast road"]
    assert rag.search("Storm Ilsa coast road", k=1)[0].url == "http://news.test/storm-ilsa"
    assert rag.search("lantern festival Lowmoor parade", k=1)[0].url == "http://news.test/lantern-festival"

    # Nothing new: nothing indexed.
    [feed] = feeds.update(engine)
    assert (feed.new, feed.entries) == (0, 3) and len(reports) == 1


def test_feed_errors_unsubscribe_and_purge(web, site, sources):
    url = site.route("/feed.rss", rss("Coast News", ITEMS), "application/rss+xml")
    engine = rag.get_engine()
    assert feeds.subscribe(engine, url).entries == 2
    source = f"feeds/{name_for(url, '.jsonl')}"

    twice = run_cli("feeds", "add", url, env=web)
    assert twice.returncode == 1 and twice.stderr == f"error: {url} is already subscribed.\n"

    page = site.route("/news.html", article("Velmora signs harbour contract", HARBOUR))
    out = run_cli("feeds", "add", page, env=web)
    assert out.returncode == 1  # subscribed, but its only fetch failed
    listing = run_cli("feeds", "list", env=web)
    assert listing.returncode == 0
    error = f"{page} is not an RSS or Atom feed (it sent text/html)."
    assert f"last error: {error}" in listing.stdout
    assert f"{url}\n    Coast News → {source}: 2 entries" in listing.stdout
    assert not (sources / "feeds" / name_for(page, ".jsonl")).exists()

    # Unsubscribed: the entries stay in the library.
    out = run_cli("feeds", "remove", url, env=web)
    assert out.returncode == 0 and f"its entries stay in {source}" in out.stdout
    assert [f.url for f in feeds.load(engine)] == [page]
    assert rag.search("herring quota Denholm bay", k=1)[0].source == source
    missing = run_cli("feeds", "remove", url, env=web)
    assert missing.returncode == 1 and one_sentence(missing.stderr.removeprefix("error: ").strip())

    # Subscribed again and removed with --purge: the entries leave the index.
    feeds.subscribe(engine, url)
    count = engine.store.count()
    out = run_cli("feeds", "remove", "--purge", url, env=web)
    assert out.returncode == 0 and "its entries left the library" in out.stdout
    assert engine.store.count() == count - 2
    assert source not in {r["source"] for r in rag.library()}
    assert not (sources / source).exists()  # set aside in the index folder, not deleted
    assert all(p.source != source for p in engine.store.passages())


def test_the_ui_timer_refreshes_subscribed_feeds(web, site, sources):
    """What `rag ui` runs every RAG_FEED_REFRESH_MINUTES: new entries arrive without a click."""
    import threading

    url = site.route("/feed.rss", rss("Coast News", ITEMS), "application/rss+xml")
    engine = rag.get_engine()
    first = feeds.subscribe(engine, url)
    site.route("/feed.rss", rss("Coast News", [NEW_ITEM, *ITEMS]), "application/rss+xml")
    stop = threading.Event()
    timer = threading.Thread(target=feeds.refresh_forever, args=(engine, 0.01, stop), daemon=True)
    timer.start()  # every 0.6 s
    try:
        deadline = time.monotonic() + 20
        while feeds.load(engine)[0].entries < 3:
            assert time.monotonic() < deadline, "the timer never fetched the new entry"
            time.sleep(0.2)
    finally:
        stop.set()
        timer.join(5)
    [feed] = feeds.load(engine)
    assert feed.fetched_at >= first.fetched_at and feed.error == ""
    assert rag.search("Storm Ilsa coast road", k=1)[0].url == "http://news.test/storm-ilsa"
