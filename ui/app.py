"""The Gradio page: chat with cited answers, a sources panel, uploads and index status.

A thin layer over the `rag` engine: every answer, search and index run is the engine's; this
module only turns them into page updates and named API endpoints.
"""

from __future__ import annotations

import html
from pathlib import Path

import gradio as gr

from rag import feeds
from rag.config import project_root
from rag.engine import Engine
from rag.errors import RagError
from rag.hosts import is_loopback
from rag.loaders import SUPPORTED_SUFFIXES
from rag.watch import Watcher
from ui.render import (
    Turn,
    answer_html,
    api_text,
    feed_rows,
    index_summary,
    library_rows,
    mode_badge,
    results_rows,
    sources_html,
    status_markdown,
)

STATIC = Path(__file__).parent / "static"
RESULT_HEADERS = ["File", "Result", "Detail"]
LIBRARY_HEADERS = ["File", "Passages", "Indexed"]
FEED_HEADERS = ["Feed", "Entries", "Last fetched", "Last error"]


def _progress_fn(progress: gr.Progress):
    labels = {"scan": ("Reading files", "files"), "embed": ("Embedding passages", "passages")}

    def report(stage: str, done: int, total: int) -> None:
        desc, unit = labels.get(stage, (stage, "steps"))
        progress((done, total), desc=desc, unit=unit)

    return report


def _chat_messages(turns: list[Turn]) -> list[dict]:
    msgs: list[dict] = []
    for i, t in enumerate(turns):
        msgs.append({"role": "user", "content": html.escape(t.question)})
        msgs.append({"role": "assistant", "content": answer_html(i, t)})
    return msgs


def _history(turns: list[Turn]) -> list[dict]:
    out: list[dict] = []
    for t in turns:
        if t.answer is not None:
            out += [{"role": "user", "content": t.question}, {"role": "assistant", "content": t.answer.text}]
    return out


def build(engine: Engine, watcher: Watcher | None = None) -> gr.Blocks:
    s = engine.settings
    root = s.sources_dir.name
    examples = [q.strip() for q in s.rag_ui_examples.split("|") if q.strip()]
    accepted = ", ".join(SUPPORTED_SUFFIXES)

    def status() -> str:
        return status_markdown(engine.status(), engine.mode(), bool(watcher and watcher.running))

    def respond(question: str, turns: list[Turn], since: str = "", until: str = ""):
        question = (question or "").strip()
        if not question:
            yield gr.skip(), gr.skip(), gr.skip()
            return
        turns = [*turns, Turn(question)]
        t = turns[-1]
        yield _chat_messages(turns), gr.skip(), turns
        try:
            for item in engine.ask_stream(question, _history(turns[:-1]), since or None, until or None):
                if isinstance(item, str):
                    t.text += item
                    yield _chat_messages(turns), gr.skip(), turns
                else:
                    t.answer, t.text = item, item.text
        except RagError as exc:
            t.error = str(exc)
        yield _chat_messages(turns), sources_html(turns, root), turns

    def ask(question: str, since: str = "", until: str = "") -> str:
        """Answer a question from the indexed sources: the text with [n] markers, then the
        numbered sources (file:line, title, date, link and the quoted sentence). `since` and
        `until` (YYYY-MM-DD, optional) keep to passages dated within them."""
        try:
            return api_text(engine.ask(question, since=since or None, until=until or None), root)
        except RagError as exc:
            raise gr.Error(str(exc)) from None

    def add_urls(text: str, progress=gr.Progress()):  # noqa: B008
        urls = [u for u in (text or "").split() if u.strip()]
        if not urls:
            return gr.skip(), "Paste one or more http(s) links, one per line.", status(), gr.skip()
        try:
            results, report = engine.add_urls(urls, _progress_fn(progress))
        except RagError as exc:
            raise gr.Error(str(exc)) from None
        kept = "\n".join(r.name for r in results if r.status == "rejected")  # to fix and retry
        return results_rows(results, report, include_unchanged=True), index_summary(report), status(), kept

    def feed_table():
        try:
            return feed_rows(feeds.load(engine))
        except RagError as exc:
            return [[str(exc), "", "", ""]]

    def subscribe(url: str, progress=gr.Progress()):  # noqa: B008
        url = (url or "").strip()
        if not url:
            return gr.skip(), "Paste the feed's http(s) link.", status(), gr.skip()
        progress(None, desc="Fetching the feed")
        try:
            feed = feeds.subscribe(engine, url)
        except RagError as exc:
            return feed_table(), f"⚠ {exc}", status(), url
        note = f"⚠ {feed.error}" if feed.error else f"Subscribed: {feed.new} entries indexed from {feed.url}."
        return feed_table(), note, status(), ""

    def refresh_feeds(progress=gr.Progress()):  # noqa: B008
        progress(None, desc="Fetching feeds")
        try:
            done = feeds.update(engine)
        except RagError as exc:
            raise gr.Error(str(exc)) from None
        new = sum(f.new for f in done)
        failed = sum(1 for f in done if f.error)
        note = f"{len(done)} feeds fetched: {new} new entries" + (f", {failed} failed." if failed else ".")
        return feed_table(), note if done else "No feeds are subscribed.", status()

    def unsubscribe(url: str):
        try:
            gone = feeds.unsubscribe(engine, url or "")
        except RagError as exc:
            return feed_table(), f"⚠ {exc}"
        return feed_table(), f"Unsubscribed from {gone.url}; its entries stay in {gone.source}."

    def add_sources(paths: list[str] | None, progress=gr.Progress()):  # noqa: B008 (Gradio's idiom)
        if not paths:
            return gr.skip(), "Choose one or more files to add.", status(), None
        try:
            results, report = engine.add_sources([(p, Path(p).name) for p in paths], _progress_fn(progress))
        except RagError as exc:
            raise gr.Error(str(exc)) from None
        rows = results_rows(results, report, include_unchanged=True)
        return rows, index_summary(report), status(), None

    def reindex(progress=gr.Progress()):  # noqa: B008
        try:
            report = engine.index(progress=_progress_fn(progress))
        except RagError as exc:
            raise gr.Error(str(exc)) from None
        return results_rows([], report, include_unchanged=False), index_summary(report), status()

    def library(picked: list[str] | None):
        rows = engine.library()
        names = [r["source"] for r in rows]
        return library_rows(rows), gr.Dropdown(choices=names, value=[n for n in picked or [] if n in names])

    def remove_sources(names: list[str] | None, progress=gr.Progress()):  # noqa: B008
        if not names:
            return gr.skip(), "Choose the sources to remove.", status()
        try:
            results, report = engine.remove_sources(names, _progress_fn(progress))
        except RagError as exc:
            raise gr.Error(str(exc)) from None
        summary = index_summary(report) if report else "Nothing was removed."
        return results_rows(results, report, include_unchanged=False), summary, status()

    def pick_example(evt: gr.SelectData) -> str:
        return evt.value["text"]

    def new_chat():
        return [], sources_html([], root), [], ""

    # Uploads are copied into the sources folder; Gradio's temp copies go after an hour.
    with gr.Blocks(title="News sources · cited answers", fill_width=True, delete_cache=(3600, 3600)) as demo:
        turns = gr.State([])
        pending = gr.State("")
        with gr.Row(equal_height=True, elem_id="rag-header"):
            gr.Markdown("### Cited answers over your news sources")
            gr.HTML(mode_badge(engine.mode()), elem_id="rag-mode-box")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    elem_id="rag-chat", height=560, buttons=["copy"], show_label=False,
                    examples=[{"text": q} for q in examples], feedback_options=None,
                    placeholder="Ask about your sources. Every sentence of the answer cites the passage "
                                "it came from; click a number to read it.",
                )
                with gr.Row():
                    msg = gr.Textbox(placeholder="Ask a question and press Enter", show_label=False,
                                     scale=6, autofocus=True, elem_id="rag-question", max_length=4000)
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="rag-send")
                    clear = gr.Button("New chat", scale=1, min_width=80, elem_id="rag-new")
                with gr.Row(elem_id="rag-dates"):
                    since = gr.Textbox(label="Since", placeholder="YYYY-MM-DD", max_length=10, scale=1,
                                       elem_id="rag-since", info="Only sources dated on or after")
                    until = gr.Textbox(label="Until", placeholder="YYYY-MM-DD", max_length=10, scale=1,
                                       elem_id="rag-until", info="… and on or before (either may stay empty)")
            with gr.Column(scale=2):
                with gr.Tabs():
                    with gr.Tab("Sources", id="sources", elem_id="rag-sources-tab"):
                        panel = gr.HTML(sources_html([], root), elem_id="rag-sources")
                    with gr.Tab("Add sources & index", id="library", elem_id="rag-library-tab"):
                        status_md = gr.Markdown(elem_id="rag-status")
                        upload = gr.File(
                            label=f"Add sources ({accepted}; up to {s.rag_max_file_mb:g} MB each)",
                            file_count="multiple", type="filepath", elem_id="rag-upload")
                        with gr.Row():
                            url_box = gr.Textbox(label="Add from URL", lines=2, scale=4, elem_id="rag-url",
                                                 placeholder="https://… (web pages, PDFs, RSS/Atom feeds; "
                                                             "one per line)")
                            url_btn = gr.Button("Fetch & add", scale=1, min_width=80, elem_id="rag-add-url")
                        reindex_btn = gr.Button("Re-index sources folder", elem_id="rag-reindex")
                        summary = gr.Markdown(elem_id="rag-index-summary")
                        results = gr.Dataframe(headers=RESULT_HEADERS, value=[], interactive=False, wrap=True,
                                               elem_id="rag-results", show_label=False,
                                               column_widths=["30%", "15%", "55%"])
                        library_table = gr.Dataframe(
                            headers=LIBRARY_HEADERS, value=[], interactive=False, wrap=True,
                            label="Indexed sources", elem_id="rag-library", max_height=320,
                            column_widths=["55%", "15%", "30%"])
                        pick = gr.Dropdown(
                            choices=[], multiselect=True, elem_id="rag-remove-pick", label="Remove sources",
                            allow_custom_value=True,  # the API may name any source; the engine checks it
                            info="They leave the index and move to the index folder's removed/, not deleted.")
                        remove_btn = gr.Button("Remove selected sources", variant="stop", size="sm",
                                               elem_id="rag-remove")
                    with gr.Tab("Feeds", id="feeds", elem_id="rag-feeds-tab"):
                        every = s.rag_feed_refresh_minutes
                        gr.Markdown("Subscribed RSS/Atom feeds: new entries are indexed "
                                    + (f"every {every:g} minutes while this page's server runs."
                                       if every else "when you refresh (RAG_FEED_REFRESH_MINUTES=0)."))
                        with gr.Row():
                            feed_box = gr.Textbox(label="Feed URL", scale=4, elem_id="rag-feed-url",
                                                  placeholder="https://…/rss.xml")
                            feed_btn = gr.Button("Subscribe", scale=1, min_width=80, elem_id="rag-subscribe")
                        feed_note = gr.Markdown(elem_id="rag-feed-note")
                        feed_list = gr.Dataframe(headers=FEED_HEADERS, value=[], interactive=False, wrap=True,
                                                 elem_id="rag-feeds", show_label=False,
                                                 column_widths=["45%", "10%", "25%", "20%"])
                        with gr.Row():
                            feeds_refresh = gr.Button("Refresh feeds now", size="sm",
                                                      elem_id="rag-feeds-refresh")
                            feeds_drop = gr.Button("Unsubscribe the URL above", size="sm", variant="stop",
                                                   elem_id="rag-unsubscribe")

        chat_out = [chatbot, panel, turns]
        answer_opts = dict(concurrency_limit=8, concurrency_id="ask", api_visibility="private")
        for trigger in (msg.submit, send.click):
            trigger(lambda q: ("", q), msg, [msg, pending], queue=False, api_visibility="private").then(
                respond, [pending, turns, since, until], chat_out, **answer_opts)
        chatbot.example_select(pick_example, None, pending, queue=False, api_visibility="private").then(
            respond, [pending, turns, since, until], chat_out, **answer_opts)
        clear.click(new_chat, None, [chatbot, panel, turns, msg], queue=False, api_visibility="private")
        chatbot.clear(new_chat, None, [chatbot, panel, turns, msg], queue=False, api_visibility="private")

        index_opts = dict(concurrency_limit=1, concurrency_id="index")
        refresh = dict(fn=library, inputs=pick, outputs=[library_table, pick], api_visibility="private",
                       show_progress="hidden")
        upload.upload(add_sources, upload, [results, summary, status_md, upload], api_name="add_sources",
                      **index_opts).then(**refresh)
        reindex_btn.click(reindex, None, [results, summary, status_md], api_name="reindex",
                          **index_opts).then(**refresh)
        remove_btn.click(remove_sources, pick, [results, summary, status_md], api_name="remove_sources",
                         **index_opts).then(**refresh)
        url_btn.click(add_urls, url_box, [results, summary, status_md, url_box], api_name="add_urls",
                      **index_opts).then(**refresh)
        feed_btn.click(subscribe, feed_box, [feed_list, feed_note, status_md, feed_box], api_name="subscribe",
                       **index_opts).then(**refresh)
        feeds_refresh.click(refresh_feeds, None, [feed_list, feed_note, status_md], api_name="refresh_feeds",
                            **index_opts).then(**refresh)
        feeds_drop.click(unsubscribe, feed_box, [feed_list, feed_note], api_name="unsubscribe", **index_opts)
        demo.load(status, None, status_md, api_name="status").then(**refresh).then(
            feed_table, None, feed_list, api_visibility="private", show_progress="hidden")
        # Another process (`rag index`, `rag add`) may change the index; keep the panel current.
        gr.Timer(30).tick(status, None, status_md, api_visibility="private", show_progress="hidden").then(
            **refresh).then(feed_table, None, feed_list, api_visibility="private", show_progress="hidden")
        gr.api(ask, api_name="ask", concurrency_limit=8, concurrency_id="ask")
    return demo


def _auth(engine: Engine) -> tuple[str, str] | None:
    raw = engine.settings.rag_ui_auth
    if raw is None:
        return None
    user, sep, password = raw.get_secret_value().partition(":")
    if not sep or not user or not password:
        raise RagError("RAG_UI_AUTH must look like user:password (both non-empty).")
    return user, password


def _theme() -> gr.themes.Base:
    # System fonts only: the default theme imports Google Fonts, which an offline page can't load.
    return gr.themes.Soft(font=["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "sans-serif"],
                          font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])


def serve(host: str = "127.0.0.1", port: int = 7860, insecure: bool = False) -> None:
    """Start the page (blocking) after loading the models, so the first question is fast."""
    import rag

    engine = rag.get_engine()
    auth = _auth(engine)
    if not is_loopback(host) and auth is None and not insecure:
        raise RagError(
            f"Refusing to serve on {host} without a login: set RAG_UI_AUTH=user:password, or pass "
            "--insecure if everyone who can reach this address may read and change your sources."
        )
    engine.warm_up()
    s = engine.settings
    s.sources_dir.mkdir(parents=True, exist_ok=True)  # a new library starts empty; uploads fill it
    engine.ensure_index()
    if not s.rag_read_only:  # from now on it answers while it indexes: runs go to a child process
        from rag.index_child import IndexWorker

        engine.index_worker = IndexWorker(s).start()
        from rag.handoff import Writer

        Writer(engine).start()  # `rag index` / `add` / `remove` in a shell run here, in the warm child
    writer = not s.rag_read_only  # a read-only replica neither watches folders nor fetches feeds
    watcher = Watcher(engine).start() if s.rag_watch and writer else None
    if s.rag_feed_refresh_minutes > 0 and writer:
        import threading

        threading.Thread(target=feeds.refresh_forever, args=(engine, s.rag_feed_refresh_minutes,
                                                             threading.Event()), daemon=True).start()
    demo = build(engine, watcher)
    demo.queue(default_concurrency_limit=2)
    # ---- the OpenAI-compatible API at /v1 (rag/adapters/openai_api.py) ----
    # Its own Bearer key (RAG_API_KEY), not the page's login; with a login and no key it refuses
    # every request, so it is never a way around the login.
    from starlette.routing import Mount

    from rag.adapters.openai_api import create_app

    api_routes = [Mount("/v1", app=create_app(engine, require_key=auth is not None))]
    # ---- end /v1 ----
    try:
        demo.launch(
            server_name=host, server_port=port, auth=auth, quiet=True, show_error=True, ssr_mode=False,
            prevent_thread_lock=True,
            theme=_theme(), css=(STATIC / "app.css").read_text(),
            head=f"<script>{(STATIC / 'app.js').read_text()}</script>",
            # The sources, the index and .env are never served, whatever Gradio's defaults become.
            blocked_paths=[str(s.sources_dir), str(s.index_dir), str(project_root() / ".env")],
            # Uploads a little over the limit still reach us and get a clear reason; huge ones stop here.
            max_file_size=f"{max(2 * s.rag_max_file_mb, s.rag_max_file_mb + 5):g}mb",
            footer_links=["api"], pwa=False,
            app_kwargs={"routes": api_routes},  # before Gradio's own routes
        )
    except OSError:  # Gradio's message talks about its own parameters; ours names the flag
        raise RagError(f"Cannot serve on {host}:{port}: the port is in use or not allowed; "
                       "pick another with --port.") from None
    print(f"rag UI running at {demo.local_url}  ({engine.mode()}; Ctrl-C to stop)", flush=True)
    if s.rag_api_key and s.rag_api_key.get_secret_value():  # /v1 (rag/adapters/openai_api.py)
        api = "Bearer RAG_API_KEY required"
    else:
        api = "refused until RAG_API_KEY is set, as the page has a login" if auth else "no key"
    print(f"OpenAI-compatible API at {demo.local_url.rstrip('/')}/v1  ({api})", flush=True)
    demo.block_thread()
