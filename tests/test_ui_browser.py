"""The page in a real headless Chromium (Debian's), driven by Playwright, against `rag ui`."""

from __future__ import annotations

import os
import shutil
import time

from playwright.sync_api import Page, expect

from tests.conftest import ROOT, SEED
from tests.openai_server import Reply, source_number

SEED_LOC = f"sources/{SEED.name}:5"
RUBIO = "What did Rubio propose?"


def open_page(browser, server) -> Page:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url.rstrip("/"))
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    page.goto(server.url)
    expect(page.locator("#rag-question textarea")).to_be_visible()
    return page


def ask(page: Page, question: str) -> None:
    answers = page.locator("#rag-chat .rag-meta, #rag-chat .rag-error")
    before = answers.count()
    page.locator("#rag-question textarea").fill(question)
    page.keyboard.press("Enter")
    expect(answers).to_have_count(before + 1)


def test_rubio_answer_sources_panel_and_badges(browser, ui_offline, tmp_path):
    page = open_page(browser, ui_offline)
    ask(page, RUBIO)
    bubble = page.locator("#rag-chat .rag-answer").last
    expect(bubble).to_contain_text("dilute ties between the two nuclear-powered neighbours")
    entry = page.locator("#rag-sources .rag-turn.active .rag-src").first
    expect(entry.locator(".rag-loc")).to_have_text(SEED_LOC)
    expect(entry.locator(".rag-ok")).to_have_text("✓ supported")
    expect(entry.locator("mark")).to_contain_text("Marco Rubio appeared to outline")
    expect(page.locator("#rag-sources .rag-others summary")).to_contain_text("Other passages considered")
    shot = tmp_path / "answered.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    if os.environ.get("RAG_UPDATE_SCREENSHOT"):
        shutil.copy(shot, ROOT / "docs" / "screenshot.png")

    # A second answer takes the panel; a badge of the first brings the first one's source back,
    # even from the other tab.
    ask(page, "What did Xi Jinping tell Sergei Shoigu?")
    expect(page.locator("#rag-sources .rag-turn.active")).to_have_attribute("data-turn", "1")
    page.get_by_role("tab", name="Add sources & index").click()
    page.locator("#rag-chat a.rag-cite").first.click()
    selected = page.locator("#rag-sources .rag-src.rag-selected")
    expect(selected).to_have_id("rag-src-0-1")
    expect(selected).to_be_in_viewport()
    expect(page.locator("#rag-sources .rag-turn.active")).to_have_attribute("data-turn", "0")


def test_upload_in_the_page_then_ask_about_it(browser, ui_offline, tmp_path):
    article = tmp_path / "harbour-fire.txt"
    article.write_text("Fire at Rotterdam harbour\n\nA fire broke out at a Rotterdam harbour warehouse "
                       "on Sunday night, the fire brigade said.\n\nNo one was hurt, and 40 firefighters "
                       "brought the blaze under control by Monday morning.\n", encoding="utf-8")
    page = open_page(browser, ui_offline)
    page.get_by_role("tab", name="Add sources & index").click()
    page.locator("#rag-upload input[type=file]").set_input_files(str(article))
    expect(page.locator("#rag-results")).to_contain_text("added")
    expect(page.locator("#rag-index-summary")).to_contain_text("1 added")
    expect(page.locator("#rag-status")).to_contain_text("Last indexed")
    ask(page, "How many firefighters fought the Rotterdam harbour fire?")
    expect(page.locator("#rag-chat .rag-answer").last).to_contain_text("40 firefighters")
    expect(page.locator("#rag-sources .rag-turn.active .rag-loc").first).to_have_text(
        "sources/harbour-fire.txt:5")


def test_library_lists_sources_and_removes_the_chosen_one(browser, ui_offline, tmp_path):
    storm = tmp_path / "storm.txt"
    storm.write_text("Storm Ciaran closed Schiphol airport for six hours on Thursday.\n")
    page = open_page(browser, ui_offline)
    page.get_by_role("tab", name="Add sources & index").click()
    library = page.locator("#rag-library")
    expect(library).to_contain_text(SEED.name)
    page.locator("#rag-upload input[type=file]").set_input_files(str(storm))
    row = library.get_by_role("row").filter(has_text="storm.txt")
    expect(row.get_by_role("gridcell").nth(1)).to_have_text("1")  # its passages
    page.locator("#rag-remove-pick input").click()
    page.get_by_role("option", name="storm.txt", exact=True).click()
    page.keyboard.press("Escape")
    page.locator("#rag-remove").click()
    expect(page.locator("#rag-results")).to_contain_text("removed")
    expect(page.locator("#rag-index-summary")).to_contain_text("1 removed")
    expect(library).not_to_contain_text("storm.txt")
    expect(library).to_contain_text(SEED.name)
    ask(page, "Why was Schiphol airport closed?")
    expect(page.locator("#rag-chat .rag-answer").last).to_contain_text("sources don't answer that")


def test_reindex_shows_progress_then_per_file_results(browser, ui_offline):
    bulk = ui_offline.sources / "bulletins.txt"
    bulk.write_text("".join(f"Bulletin {i}: the port of Gdansk handled {i * 37} containers on day {i}.\n"
                            for i in range(1200)))
    page = open_page(browser, ui_offline)
    try:
        page.get_by_role("tab", name="Add sources & index").click()
        page.get_by_role("button", name="Re-index sources folder").click()
        expect(page.get_by_text("Embedding passages").first).to_be_visible()
        expect(page.locator("#rag-results")).to_contain_text("bulletins.txt", timeout=120_000)
        expect(page.locator("#rag-index-summary")).to_contain_text("1200 passages embedded")
    finally:
        bulk.unlink()
        page.get_by_role("button", name="Re-index sources folder").click()
        expect(page.locator("#rag-index-summary")).to_contain_text("1 removed", timeout=60_000)


def test_example_follow_up_copy_and_new_chat(browser, ui_offline):
    page = open_page(browser, ui_offline)
    page.get_by_text(RUBIO, exact=True).click()  # an example question in the empty chat
    expect(page.locator("#rag-chat .rag-meta")).to_have_count(1)
    ask(page, "What did he say about China and Russia?")  # "he" is Rubio, from the conversation
    expect(page.locator("#rag-sources .rag-turn.active .rag-loc").first).to_have_text(SEED_LOC)

    page.locator("#rag-chat button[aria-label='Copy message']").last.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    text, _, sources = copied.partition("\n\nSources:\n")
    assert "<" not in copied and text.endswith("[1]") and "dilute ties" in text
    assert sources.startswith(f"[1] {SEED_LOC} — “US attempts to sow discord")

    page.get_by_role("button", name="New chat").click()
    expect(page.locator("#rag-chat .rag-answer")).to_have_count(0)
    expect(page.locator("#rag-sources .rag-empty")).to_be_visible()


def _slow_rubio(body):
    n = source_number(body, "Marco Rubio")
    return (f"Marco Rubio outlined Washington's strategy to dilute ties between China and Russia [{n}], "
            f"which Beijing said was doomed to fail [{n}].")


def test_llm_answer_streams_into_the_page_with_mode_and_fallback_notice(browser, ui_llm, fake_llm):
    page = open_page(browser, ui_llm)
    port = fake_llm.url.split(":")[2].split("/")[0]
    expect(page.locator("#rag-mode")).to_have_text(f"LLM: gpt-4.1-mini at 127.0.0.1:{port}")

    fake_llm.default = Reply(_slow_rubio, chunk_size=4, chunk_delay=0.08)
    page.locator("#rag-question textarea").fill(RUBIO)
    page.keyboard.press("Enter")
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while page.locator("#rag-chat .rag-meta").count() == 0 and time.monotonic() < deadline:
        texts = page.locator("#rag-chat .rag-answer").all_inner_texts()
        if texts and (not seen or texts[-1] != seen[-1]):
            seen.append(texts[-1])
        page.wait_for_timeout(40)
    final = page.locator("#rag-chat .rag-answer").last
    expect(final).to_contain_text("which Beijing said was doomed to fail")
    partial = [t for t in seen if t and len(t) < len(final.inner_text())]
    assert len(partial) >= 3, f"the answer did not stream: {seen}"
    assert all(final.inner_text().startswith(t.rstrip()) for t in partial)
    expect(page.locator("#rag-chat .rag-meta").last).to_contain_text("LLM answer")
    expect(page.locator("#rag-sources .rag-turn.active .rag-src .rag-loc")).to_have_text(SEED_LOC)

    page.get_by_role("button", name="New chat").click()  # no history: the one LLM call is the answer
    expect(page.locator("#rag-chat .rag-answer")).to_have_count(0)
    fake_llm.replies.append(Reply(status=500))
    ask(page, RUBIO)
    expect(page.locator("#rag-chat .rag-notice").last).to_contain_text("Showing the offline answer instead.")
    expect(page.locator("#rag-chat .rag-meta").last).to_contain_text("offline answer")

    # an answer that cites nothing: it streams in, then the quoted answer takes its place
    page.get_by_role("button", name="New chat").click()
    expect(page.locator("#rag-chat .rag-answer")).to_have_count(0)
    uncited = "Rubio wants to split the two countries apart, and nothing here says so. " * 3
    fake_llm.replies.append(Reply(uncited, chunk_size=6, chunk_delay=0.03))
    page.locator("#rag-question textarea").fill(RUBIO)
    page.keyboard.press("Enter")
    answer = page.locator("#rag-chat .rag-answer").last
    expect(answer).to_contain_text("split the two countries", timeout=15000)
    expect(page.locator("#rag-chat .rag-notice").last).to_contain_text(
        "The model's answer cited none of the sources; showing the quoted answer instead.", timeout=15000)
    final = page.locator("#rag-chat .rag-answer").last
    expect(final).not_to_contain_text("split the two countries")
    expect(final).to_contain_text("dilute ties")
    expect(page.locator("#rag-sources .rag-turn.active .rag-src .rag-loc")).to_have_text(SEED_LOC)
