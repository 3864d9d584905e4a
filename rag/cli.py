"""The `rag` command (ask, search, index, add, remove, sources, feeds, watch, eval, ui, serve, mcp,
chat).

Exit: 0 ok, 1 failure, 2 usage."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
import time
from pathlib import Path

from rag.errors import RagError
from rag.schema import locator


def _display_path(source: str) -> str:
    from rag.config import get_settings

    p = Path(source)
    full = p if p.is_absolute() else get_settings().sources_dir / p
    try:
        return os.path.relpath(full)
    except ValueError:
        return str(full)


def _about(item) -> str:
    """A source's title, date and link on one line ("" when it has none)."""
    parts = [f"“{textwrap.shorten(item.title, 80, placeholder=' …')}”" if item.title else "", item.date,
             item.url]
    return " · ".join(p for p in parts if p)


def print_answer(answer, out=sys.stdout, streamed: str | None = None) -> None:
    """The answer, its notice and numbered sources. With `streamed`, the text was already
    written as it arrived; it is only repeated when the final text differs (a fallback)."""
    width = min(100, max(40, os.get_terminal_size(1).columns if out.isatty() else 100))
    if streamed is None:
        out.write(textwrap.fill(answer.text, width) + "\n")
    elif streamed.strip() != answer.text:
        out.write("\n\n" + textwrap.fill(answer.text, width) + "\n")
    else:
        out.write("\n")
    if answer.notice:
        out.write(f"\nNote: {answer.notice}\n")
    if answer.citations:
        out.write("\nSources\n")
        for c in answer.citations:
            flag = "" if c.supported else "  ⚠ not supported by this passage"
            out.write(f"  [{c.n}] {_display_path(c.source)}{locator(c.line, c.page)}"
                      f"  (score {c.score:.2f}){flag}\n")
            about = _about(c)
            if about:
                out.write(f"      {about}\n")
            quote = textwrap.shorten(c.quote or c.text, 300, placeholder=" …")
            out.write(textwrap.indent(textwrap.fill(f"“{quote}”", width - 6), "      ") + "\n")
    elapsed = answer.timings.get("total_ms")
    out.write(f"\n({answer.mode} answer" + (f", {elapsed:.0f} ms" if elapsed else "") + ")\n")


def stream_to_terminal(question: str, history: list | None = None, since: str | None = None,
                       until: str | None = None):
    """Write the answer as it is generated (LLM mode), then its sources; returns the Answer."""
    import rag

    engine = rag.get_engine()
    if engine.llm is None:
        answer = engine.ask(question, history, since, until)
        print_answer(answer)
        return answer
    streamed = []
    for item in engine.ask_stream(question, history, since, until):
        if isinstance(item, str):
            streamed.append(item)
            sys.stdout.write(item)
            sys.stdout.flush()
        else:
            print_answer(item, streamed="".join(streamed))
            return item


def cmd_ask(args) -> int:
    import rag
    from rag.store import chroma_import

    chroma_import.start()
    question = " ".join(args.question)
    if args.json:
        answer = rag.ask(question, since=args.since, until=args.until)
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        stream_to_terminal(question, since=args.since, until=args.until)
    return 0


def cmd_search(args) -> int:
    import rag
    from rag.store import chroma_import

    chroma_import.start()
    hits = rag.search(" ".join(args.query), k=args.k, since=args.since, until=args.until)
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("Nothing in the index matches that.")
    for i, h in enumerate(hits, start=1):
        print(f"{i}. {_display_path(h.source)}{locator(h.line, h.page)}  (score {h.score:.2f})")
        if _about(h):
            print(f"   {_about(h)}")
        print(textwrap.indent(textwrap.fill(textwrap.shorten(h.text, 400, placeholder=" …"), 94),
                              "   "))
    return 0


def cmd_index(args) -> int:
    from tqdm import tqdm

    import rag

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            label = "reading files" if stage == "scan" else "embedding passages"
            bars[stage] = tqdm(total=total, desc=label, unit="file" if stage == "scan" else "psg",
                               file=sys.stderr, leave=False, disable=args.json)
        bars[stage].n = done
        bars[stage].refresh()

    _hand_off()
    try:
        report = rag.get_engine().index(args.paths or None, rebuild=args.rebuild, progress=progress)
    finally:
        for b in bars.values():
            b.close()
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return 0
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"Indexed in {report.seconds:.1f} s{_by(report)}: {report.summary()}.")
    return 0


def _by(report) -> str:
    return f" by {report.by}" if report.by else ""


def _print_file_results(results, report, as_json: bool) -> int:
    """Per-file outcome of `rag add` / `rag remove`; fails only when every file was refused."""
    if as_json:
        print(json.dumps({"files": [vars(r) for r in results],
                          "index": report.to_dict() if report else None}, ensure_ascii=False, indent=2))
    else:
        for r in results:
            where = f" → {r.source}" if r.status != "rejected" and r.source != Path(r.name).name else ""
            print(f"{r.status:>9}  {r.name}{where}" + (f": {r.reason}" if r.reason else ""))
        if report:
            print(f"Indexed in {report.seconds:.1f} s{_by(report)}: {report.summary()}.")
    return 0 if any(r.status != "rejected" for r in results) else 1


def _hand_off() -> None:
    """This command's index runs go to the library's running writer, when there is one."""
    import rag

    rag.get_engine().hand_off = True


def cmd_add(args) -> int:
    import rag

    _hand_off()
    return _print_file_results(*rag.add_sources(args.files), args.json)


def cmd_feeds(args) -> int:
    import rag
    from rag import feeds

    _hand_off()
    engine = rag.get_engine()
    if args.action == "add":
        rows = [feeds.subscribe(engine, u) for u in args.urls]
    elif args.action == "remove":
        gone = [feeds.unsubscribe(engine, u, purge=args.purge) for u in args.urls]
        if not args.json:
            for f in gone:
                kept = "its entries left the library" if args.purge else f"its entries stay in {f.source}"
                print(f"Unsubscribed from {f.url}; {kept}.")
            return 0
        rows = gone
    elif args.action == "update":
        rows = feeds.update(engine, args.urls or None)
    else:
        rows = feeds.load(engine)
    if args.json:
        print(json.dumps([vars(f) for f in rows], ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("No feeds are subscribed; `rag feeds add URL` subscribes to one.")
    for f in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(f.fetched_at)) if f.fetched_at else "never"
        print(f"{f.url}\n    {f.title or '(untitled)'} → {f.source}: {f.entries} entries"
              f" ({f.new} new), fetched {when}" + (f"\n    last error: {f.error}" if f.error else ""))
    return 1 if args.action in ("add", "update") and rows and all(f.error for f in rows) else 0


def cmd_watch(args) -> int:
    import threading

    import rag
    from rag.handoff import Writer
    from rag.watch import watch

    engine = rag.get_engine()
    engine.index()

    def show(report, via: str = "") -> None:
        for w in report.warnings:
            print(f"warning: {w}", file=sys.stderr)
        changed = ", ".join(f"{s} {st}" for s, st in report.files.items() if st != "unchanged")
        print(f"{time.strftime('%H:%M:%S')} {changed or 'no change'}{via}; {report.summary()}.", flush=True)

    # `rag index` / `add` / `remove` in another shell run here, with the model and Chroma loaded.
    writer = Writer(engine, on_index=lambda report: show(report, " (asked from a shell)")).start()
    threading.Thread(target=engine.warm_up, daemon=True).start()

    ready = threading.Event()

    def announce() -> None:  # only once watching has begun: a file dropped after this is seen
        ready.wait()
        print(f"Watching {engine.settings.sources_dir} (Ctrl-C to stop).", flush=True)

    threading.Thread(target=announce, daemon=True).start()
    try:
        watch(engine, threading.Event(), show, ready)
    finally:
        writer.close()
    return 0


def cmd_serve(args) -> int:
    from rag.adapters.openai_api import serve

    serve(args.host, args.port, insecure=args.insecure)
    return 0


def cmd_remove(args) -> int:
    import rag

    _hand_off()
    return _print_file_results(*rag.remove_sources(args.names), args.json)


def cmd_sources(args) -> int:
    import rag

    rows = rag.library()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("Nothing is indexed yet.")
        return 0
    width = max(len(r["source"]) for r in rows)
    for r in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["indexed_at"]))
        noun = "passage " if r["passages"] == 1 else "passages"
        print(f"{r['source']:<{width}}  {r['passages']:>6} {noun}  indexed {when}")
    return 0


def cmd_eval(args) -> int:
    from tqdm import tqdm

    from rag import eval_report
    from rag.evaluate import run

    try:
        minimums = eval_report.parse_minimums(args.min, args.k) if args.min is not None else {}
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bar = tqdm(desc="questions", unit="q", file=sys.stderr, leave=False,
               disable=not sys.stderr.isatty())

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        ev = run(args.file, k=args.k, compare=args.compare, progress=progress)
    finally:
        bar.close()
    for w in ev.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.report:
        written = eval_report.write_report(ev, args.report)
        print(f"Report: {', '.join(str(p) for p in written)}", file=sys.stderr)
    if args.json:
        print(json.dumps(ev.summary(), ensure_ascii=False, indent=2))
    else:
        import rag

        mode = rag.get_engine().mode()
        print(f"{ev.figures['n']} questions from {args.file}, k={args.k}, {mode} answers\n")
        print(eval_report.table(ev))
        print()
        print(eval_report.misses_text(ev))
    failed = eval_report.below(ev.figures, minimums)
    if failed:
        print(f"error: below the minimum: {'; '.join(failed)}.", file=sys.stderr)
        return 1
    return 0


def cmd_ui(args) -> int:
    from ui.app import serve

    serve(args.host, args.port, insecure=args.insecure)
    return 0


def cmd_mcp(args) -> int:
    if args.http is None and (args.host is not None or args.insecure):
        print("error: --host and --insecure go with --http PORT.", file=sys.stderr)
        return 2
    from rag.adapters.mcp_server import serve

    serve(args.http, args.host or "127.0.0.1", insecure=args.insecure)
    return 0


def cmd_chat(args) -> int:
    print("Ask about your sources (empty line or Ctrl-D to quit).")
    history: list[dict] = []
    while True:
        try:
            q = input("\n> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not q or q.lower() in {"exit", "quit", ":q"}:
            return 0
        print()
        try:
            answer = stream_to_terminal(q, history, args.since, args.until)
        except RagError as exc:
            print(f"error: {exc}", file=sys.stderr)
            continue
        history += [{"role": "user", "content": q}, {"role": "assistant", "content": answer.text}]


def _date_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", metavar="DATE", help="only passages dated on or after DATE (YYYY-MM-DD, "
                                                   "or YYYY-MM, or YYYY)")
    p.add_argument("--until", metavar="DATE", help="only passages dated on or before DATE")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rag", description="Cited answers over a folder of news sources.",
        epilog="Settings come from the environment and .env (see .env.example).",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    a = sub.add_parser("ask", help="answer a question with citations",
                       description="Answer a question from the indexed sources, citing them.")
    a.add_argument("question", nargs="+", help="the question (quote it or not)")
    a.add_argument("--json", action="store_true", help="print the Answer as JSON")
    _date_options(a)
    a.set_defaults(func=cmd_ask)

    s = sub.add_parser("search", help="show the passages that best match a query",
                       description="List the most relevant passages with file, line and score.")
    s.add_argument("query", nargs="+")
    s.add_argument("-k", type=int, default=5, help="how many passages (default 5)")
    s.add_argument("--json", action="store_true", help="print the passages as JSON")
    _date_options(s)
    s.set_defaults(func=cmd_search)

    i = sub.add_parser("index", help="index new and changed sources",
                       description="Bring the index up to date with the sources folder: only "
                                   "new and changed passages are embedded.")
    i.add_argument("paths", nargs="*", help="files or folders (default: RAG_SOURCES_DIR)")
    i.add_argument("--rebuild", action="store_true", help="start from an empty index")
    i.add_argument("--json", action="store_true", help="print the report as JSON")
    i.set_defaults(func=cmd_index)

    d = sub.add_parser("add", help="add files or URLs to the sources folder and index them",
                       description="Check files (type, size, text, duplicates), copy them into "
                                   "RAG_SOURCES_DIR under safe names, and index them. An http(s) URL "
                                   "(web page, PDF, RSS/Atom feed) is fetched and stored under a name "
                                   "made from it; adding it again updates it when it changed.")
    d.add_argument("files", nargs="+", metavar="FILE_OR_URL",
                   help=".txt, .md, .jsonl, .html, .pdf, .xml/.rss/.atom files, or URLs")
    d.add_argument("--json", action="store_true", help="print the per-file results as JSON")
    d.set_defaults(func=cmd_add)

    r = sub.add_parser("remove", help="take sources out of the library",
                       description="Move indexed sources out of RAG_SOURCES_DIR (into "
                                   "RAG_INDEX_DIR/removed, so nothing is lost) and drop their passages.")
    r.add_argument("names", nargs="+", help="source names as `rag sources` lists them")
    r.add_argument("--json", action="store_true", help="print the per-file results as JSON")
    r.set_defaults(func=cmd_remove)

    ls = sub.add_parser("sources", help="list the indexed files",
                        description="Every indexed file with its passage count and indexing time.")
    ls.add_argument("--json", action="store_true", help="print the list as JSON")
    ls.set_defaults(func=cmd_sources)

    e = sub.add_parser("eval", help="measure retrieval and answers on your own questions",
                       description="Index the sources, then search and ask every question of FILE "
                                   '(JSONL: {"question", "answers"?, "gold"?: [{"source", "line"}], '
                                   '"answerable"?}) and report hit@1, hit@k, MRR, answer recall, '
                                   "citation figures, abstention and latency.")
    e.add_argument("file", help="JSONL file, one question a line")
    e.add_argument("-k", type=int, default=5, help="passages ranked per question (default 5)")
    e.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    e.add_argument("--min", metavar="METRIC=VALUE,...",
                   help="exit 1 when a figure is below its minimum, e.g. hit@1=0.9,abstain_correct=1")
    e.add_argument("--report", metavar="DIR",
                   help="write DIR/questions.jsonl, DIR/summary.json and DIR/chart.png")
    e.add_argument("--compare", action="store_true",
                   help="also rank with plain LlamaIndex vector and BM25 retrievers (loads torch)")
    e.set_defaults(func=cmd_eval)

    u = sub.add_parser("ui", help="start the web page (chat, sources, uploads)",
                       description="Serve the chat page. Binds 127.0.0.1 unless told otherwise; another "
                                   "address needs RAG_UI_AUTH=user:password or --insecure.")
    u.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    u.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    u.add_argument("--insecure", action="store_true",
                   help="allow a non-loopback address without a login")
    u.set_defaults(func=cmd_ui)

    m = sub.add_parser("mcp", help="serve search, ask and sources to MCP clients (stdio, or HTTP)",
                       description="Serve the library to MCP clients (Claude Desktop, IDEs, agents): tools "
                                   "search, ask and sources. Speaks MCP over stdin/stdout, or streamable "
                                   "HTTP at http://HOST:PORT/mcp with --http PORT (127.0.0.1 unless told "
                                   "otherwise; another address needs --insecure).")
    m.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on PORT instead of stdio")
    m.add_argument("--host", help="address to bind with --http (default 127.0.0.1)")
    m.add_argument("--insecure", action="store_true",
                   help="allow a non-loopback address (MCP over HTTP has no login here)")
    m.set_defaults(func=cmd_mcp)

    c = sub.add_parser("chat", help="ask questions in a loop",
                       description="Interactive questions and answers with follow-ups.")
    _date_options(c)
    c.set_defaults(func=cmd_chat)

    f = sub.add_parser("feeds", help="subscribe to RSS/Atom feeds and index their new entries",
                       description="Subscribed feeds are kept in RAG_INDEX_DIR/feeds.json; their entries "
                                   "are archived in RAG_SOURCES_DIR/feeds/ and indexed. `rag ui` "
                                   "refreshes them every RAG_FEED_REFRESH_MINUTES.")
    feed_sub = f.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, nargs, text in (("add", "+", "subscribe and index the entries now"),
                                ("list", None, "the subscriptions, their last fetch and last error"),
                                ("remove", "+", "unsubscribe (the archived entries stay unless --purge)"),
                                ("update", "*", "fetch new entries (default: every feed) and index them")):
        fa = feed_sub.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        if nargs:
            fa.add_argument("urls", nargs=nargs, metavar="URL", help="feed URLs")
        else:
            fa.set_defaults(urls=[])
        if action == "remove":
            fa.add_argument("--purge", action="store_true", help="also take its entries out of the library")
        fa.add_argument("--json", action="store_true", help="print the feeds as JSON")
        fa.set_defaults(func=cmd_feeds)

    w = sub.add_parser("watch", help="index the sources folder as files change",
                       description="Index RAG_SOURCES_DIR, then every file created, changed, moved or "
                                   "deleted there, within seconds, until Ctrl-C.")
    w.set_defaults(func=cmd_watch)

    sv = sub.add_parser("serve", help="serve an OpenAI-compatible chat API (/v1) for other tools",
                        description="Serve GET /v1/models and POST /v1/chat/completions (streamed or not) "
                                    "at http://HOST:PORT/v1: answers with [n] markers, a Sources list and "
                                    "a `citations` array. RAG_API_KEY makes a Bearer key mandatory. Binds "
                                    "127.0.0.1 unless told otherwise; another address needs RAG_API_KEY "
                                    "or --insecure.")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sv.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    sv.add_argument("--insecure", action="store_true",
                    help="allow a non-loopback address without RAG_API_KEY")
    sv.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Libraries log retries and deprecations as warnings; the user sees our sentences instead.
    logging.basicConfig(level=logging.DEBUG if os.environ.get("RAG_DEBUG") else logging.ERROR,
                        format="%(levelname)s: %(message)s")
    logging.getLogger("rag").setLevel(logging.INFO)
    if getattr(args, "k", 1) < 1:
        print("error: -k must be at least 1.", file=sys.stderr)
        return 2
    try:
        from rag.dates import parse_range

        parse_range(getattr(args, "since", None), getattr(args, "until", None))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader stopped listening (`rag ask ... | head`): nothing went wrong here. Later
        # writes, including the flush at exit, go nowhere instead of raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug or an unforeseen failure: still one sentence by default
        if os.environ.get("RAG_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
              " (set RAG_DEBUG=1 to see the traceback).", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
