"""News sources as people keep them: what saved web pages leave in the index, and what PDFs and
feeds cost to index. Results are appended to benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/sources.py [--no-write]

(a) boilerplate: every page of tests/data/web (saved article pages with menus, cookie banners,
    newsletter prompts, share bars, "most read" lists and footers; expected.json says which
    phrases are the story's and which the page's) through the HTML loader before this change
    (git show 846e862:rag/loaders/html.py, BeautifulSoup block walker) and now (trafilatura):
    passages, passages holding boilerplate, article phrases kept, metadata found.
(b) cost: a 40-page PDF report and a 200-entry RSS feed written here (fpdf2, text from
    newsbench's sources), parsed and indexed end to end in a fresh index; then the feed saved
    again with 10 new entries (only those are embedded).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WEB = ROOT / "tests" / "data" / "web"
NEWS = ROOT / "tests" / "data" / "newsbench" / "sources"
BEFORE = "846e862"  # the last commit with the BeautifulSoup-only HTML loader


def _old_parser():
    code = subprocess.run(["git", "show", f"{BEFORE}:rag/loaders/html.py"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "old_html.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location("old_html", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.passage_id = lambda *args: ""  # its signature has changed since; ids don't matter here
    return mod.parse_html


def _norm(text: str) -> str:
    return " ".join(text.split())


def boilerplate() -> tuple[list[str], dict]:
    from rag.loaders import parse_source

    old = _old_parser()
    expected = json.loads((WEB / "expected.json").read_text())
    rows, totals = [], {"before": [0, 0, 0, 0], "now": [0, 0, 0, 0]}  # passages, boiler, phrases kept, of
    meta_ok = {"title": 0, "date": 0, "url": 0}
    articles = 0
    for name, exp in sorted(expected.items()):
        raw = (WEB / name).read_bytes()
        before = old(raw.decode("utf-8"), name, 220)
        now = parse_source(raw, ".html", name, 220).passages
        cells = []
        for label, passages in (("before", before), ("now", now)):
            texts = [_norm(p.text) for p in passages]
            boiler = sum(1 for t in texts if any(b in t for b in exp["boilerplate"]))
            kept = sum(1 for a in exp["article"] if any(a in t for t in texts))
            t = totals[label]
            t[0] += len(texts)
            t[1] += boiler
            t[2] += kept
            t[3] += len(exp["article"])
            cells.append(f"{len(texts)} / {boiler} / {kept}/{len(exp['article'])}")
        if not exp.get("no_article"):
            articles += 1
            first = now[0] if now else None
            for k in meta_ok:
                meta_ok[k] += bool(first and getattr(first, k) == exp[k])
        kind = "no article" if exp.get("no_article") else "article"
        rows.append(f"| {name} | {kind} | {cells[0]} | {cells[1]} |")
    lines = ["| page | kind | before: passages / boilerplate passages / article phrases kept | "
             "now: same |", "|---|---|---|---|", *rows]
    b, n = totals["before"], totals["now"]
    lines.append(f"| **all {len(expected)} pages** | | **{b[0]} / {b[1]} / {b[2]}/{b[3]}** | "
                 f"**{n[0]} / {n[1]} / {n[2]}/{n[3]}** |")
    lines.append("")
    lines.append(f"Metadata now, on the {articles} article pages (first passage equals expected.json): "
                 + ", ".join(f"{k} {v}/{articles}" for k, v in meta_ok.items())
                 + " (before: title from <title> with the outlet's suffix, no date, no URL).")
    return lines, {"before": b, "now": n}


def _news_paragraphs() -> list[str]:
    out = []
    for f in sorted(NEWS.glob("*.md")):
        out += [p.strip() for p in f.read_text(encoding="utf-8").split("\n\n")[1:] if len(p) > 120]
    return out


def _pdf(paragraphs: list[str], pages: int) -> bytes:
    from fpdf import FPDF

    class Report(FPDF):
        def header(self):
            self.set_font("Helvetica", size=8)
            self.cell(0, 6, "Newsbench Annual Review 2024 - Confidential draft")
            self.ln(10)

        def footer(self):
            self.set_y(-12)
            self.set_font("Helvetica", size=8)
            self.cell(0, 6, f"Page {self.page_no()}")

    pdf = Report()
    pdf.set_title("Newsbench Annual Review 2024")
    pdf.set_creation_date(dt.datetime(2025, 2, 3, tzinfo=dt.UTC))
    pdf.set_font("Helvetica", size=10)
    i = 0
    for _ in range(pages):
        pdf.add_page()
        for _ in range(4):
            text = paragraphs[i % len(paragraphs)].encode("latin-1", "replace").decode("latin-1")
            pdf.multi_cell(0, 5, text)
            pdf.ln(3)
            i += 1
    return bytes(pdf.output())


def _feed(paragraphs: list[str], entries: int, offset: int = 0) -> str:
    start = dt.datetime(2025, 1, 1, 8, 0, tzinfo=dt.UTC)
    items = []
    for i in range(offset + entries - 1, offset - 1, -1):  # newest first, as feeds list them
        text = paragraphs[i % len(paragraphs)]
        items.append(
            f"<item><title>Story {i}</title><link>https://news.example/{i}</link><guid>n{i}</guid>"
            f"<pubDate>{format_datetime(start + dt.timedelta(hours=6 * i))}</pubDate>"
            f"<description>{escape(f'<p>{text}</p>')}</description></item>")
    return ('<?xml version="1.0"?><rss version="2.0"><channel><title>Bench</title>\n'
            + "\n".join(items) + "\n</channel></rss>\n")


def cost() -> list[str]:
    paragraphs = _news_paragraphs()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "sources"
        src.mkdir()
        os.environ.update(RAG_HOME=str(tmp), RAG_SOURCES_DIR=str(src), RAG_INDEX_DIR=str(tmp / "index"),
                          RAG_MODEL_CACHE_DIR=str(ROOT / "index" / "models"))
        import rag
        from rag.loaders import parse_source

        rag.reset()
        engine = rag.get_engine()
        engine.warm_up()
        rows = ["| source | size | parse | passages | index end to end (parse, embed, store) | embedded |",
                "|---|---|---|---|---|---|"]

        def measure(name: str, data: bytes, label: str) -> None:
            path = src / name
            path.write_bytes(data)
            t0 = time.perf_counter()
            n = len(parse_source(data, path.suffix, name, 220).passages)
            parse_s = time.perf_counter() - t0
            report = engine.index([path])
            rows.append(f"| {label} | {len(data) / 1e3:.0f} kB | {parse_s * 1000:.0f} ms | {n} | "
                        f"{report.seconds:.2f} s | {report.embedded} |")

        measure("report.pdf", _pdf(paragraphs, 40), "PDF, 40 pages")
        measure("feed.xml", _feed(paragraphs, 200).encode(), "RSS 2.0 feed, 200 entries")
        measure("feed.xml", _feed(paragraphs, 210).encode(), "the same feed saved again with 10 new entries")
        pages = [p for p in WEB.glob("*.html")]
        times = []
        for p in pages:
            t0 = time.perf_counter()
            parse_source(p.read_bytes(), ".html", p.name, 220)
            times.append(time.perf_counter() - t0)
        rows.append(f"| saved web page (trafilatura), median of {len(pages)} | "
                    f"{statistics.median(p.stat().st_size for p in pages) / 1e3:.0f} kB | "
                    f"{statistics.median(times) * 1000:.0f} ms | | | |")
        rag.reset()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-write", action="store_true", help="print only; don't append to RESULTS.md")
    args = ap.parse_args()
    t0 = time.time()
    lines, _ = boilerplate()
    out = [f"## {dt.date.today()} — `benchmarks/sources.py`", "",
           f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
           f"{platform.platform()}", "",
           "### (a) Saved web pages: boilerplate before and after (tests/data/web)", "", *lines, "",
           "### (b) Cost of indexing a PDF and a feed (fresh index, bundled MiniLM on ONNX Runtime)", "",
           *cost(), "", f"_{time.time() - t0:.0f} s_", ""]
    text = "\n".join(out)
    print(text)
    if not args.no_write:
        results = ROOT / "benchmarks" / "RESULTS.md"
        head, _, rest = results.read_text().partition("\n## ")
        results.write_text(f"{head.rstrip()}\n\n{text}\n## {rest}" if rest else f"{head}\n\n{text}")


if __name__ == "__main__":
    main()
