"""Answers, sources and index state as HTML/Markdown/text for the page and the API.

Everything that comes from a source or a model is escaped here; the only markup on the page
is ours (badges, panels), so the chat can keep Gradio's sanitiser on as a second guard.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass

from rag.citations import MARKER, expand
from rag.schema import Answer, Citation, Passage, locator


@dataclass
class Turn:
    """One question and its answer, as the page keeps them between events."""

    question: str
    answer: Answer | None = None
    text: str = ""  # the answer text so far (streaming) or final
    error: str = ""


def where(source: str, line: int | None, page: int | None, root: str) -> str:
    """file:line as the page shows it, under the sources folder's name."""
    path = f"{root}/{source}" if root and not source.startswith("/") else source
    return path + locator(line, page)


def _badges(group: str, turn: int, known: set[int]) -> str:
    nums = [n for n in expand(group) if n in known]
    if not nums:
        return f"[{group}]"
    return "".join(
        f'<a class="rag-cite" href="#rag-src-{turn}-{n}" title="Show source {n}">{n}</a>'
        for n in nums
    )


def answer_html(turn_no: int, t: Turn) -> str:
    """The chat bubble: escaped text with [n] turned into badges, then the notice."""
    if t.error:
        return f'<div class="rag-error">⚠ {html.escape(t.error)}</div>'
    if t.answer is not None:
        known = {c.n for c in t.answer.citations}
    else:  # still streaming: every marker so far is final (renumbered on the fly)
        known = {n for m in MARKER.finditer(t.text) for n in expand(m.group(1))}
    body = MARKER.sub(lambda m: _badges(m.group(1), turn_no, known), html.escape(t.text, quote=False))
    parts = [f'<div class="rag-answer">{body}</div>']
    a = t.answer
    if a is not None:
        if a.notice:
            parts.append(f'<div class="rag-notice">⚠ {html.escape(a.notice)}</div>')
        total = a.timings.get("total_ms")
        label = "LLM" if a.mode == "llm" else "offline"
        parts.append(f'<div class="rag-meta">{label} answer'
                     + (f" · {total / 1000:.1f} s" if total and total >= 1000 else
                        f" · {total:.0f} ms" if total else "") + "</div>")
    return "\n".join(parts)


def _highlight(text: str, quote: str) -> str:
    """The passage, escaped, with the sentence the answer used marked."""
    i = text.find(quote) if quote else -1
    if i < 0:
        return html.escape(text)
    j = i + len(quote)
    return f"{html.escape(text[:i])}<mark>{html.escape(quote)}</mark>{html.escape(text[j:])}"


def _support_label(c: Citation) -> str:
    if c.supported:
        return '<span class="rag-ok" title="The cited sentence is backed by this passage">✓ supported</span>'
    return ('<span class="rag-warn" title="The sentence citing this passage is not backed by it">'
            f"⚠ not supported ({c.support:.2f})</span>")


def _about(item: Citation | Passage) -> str:
    """The source's title (a link to its page when known) and date, or "" when it has neither."""
    title = html.escape(item.title or (item.url and "link") or "")
    if item.url.startswith(("http://", "https://")):
        title = (f'<a class="rag-link" href="{html.escape(item.url)}" target="_blank" '
                 f'rel="noopener noreferrer nofollow">{title}</a>')
    date = f'<span class="rag-date">{html.escape(item.date)}</span>' if item.date else ""
    if not title and not date:
        return ""
    return f'<div class="rag-about"><span class="rag-title">{title}</span>{date}</div>'


def _source_entry(turn_no: int, c: Citation, root: str) -> str:
    return (
        f'<div class="rag-src" id="rag-src-{turn_no}-{c.n}" data-n="{c.n}">'
        f'<div class="rag-src-head"><span class="rag-num">{c.n}</span>'
        f'<code class="rag-loc">{html.escape(where(c.source, c.line, c.page, root))}</code>'
        f'<span class="rag-score">score {c.score:.2f}</span>{_support_label(c)}</div>'
        f'{_about(c)}<div class="rag-text">{_highlight(c.text, c.quote)}</div></div>'
    )


def _other_entry(p: Passage, root: str) -> str:
    return (
        f'<div class="rag-other"><div class="rag-src-head">'
        f'<code class="rag-loc">{html.escape(where(p.source, p.line, p.page, root))}</code>'
        f'<span class="rag-score">score {p.score:.2f}</span></div>'
        f'{_about(p)}<div class="rag-text">{html.escape(p.text)}</div></div>'
    )


def sources_html(turns: list[Turn], root: str) -> str:
    """Every answered turn's sources; only the newest is shown until a badge picks another."""
    if not turns:
        return '<div class="rag-sources rag-empty">Sources of the answer appear here.</div>'
    sections = []
    last = len(turns) - 1
    for i, t in enumerate(turns):
        a = t.answer
        if a is None:
            continue
        cited = {c.passage_id for c in a.citations}
        others = [p for p in a.passages if p.id not in cited]
        body = "".join(_source_entry(i, c, root) for c in a.citations)
        if not a.citations:
            body = '<p class="rag-none">No source backs an answer to this question.</p>'
        if others:
            body += (f'<details class="rag-others"><summary>Other passages considered ({len(others)})'
                     f'</summary>{"".join(_other_entry(p, root) for p in others)}</details>')
        active = " active" if i == last else ""
        sections.append(
            f'<section class="rag-turn{active}" data-turn="{i}">'
            f'<div class="rag-q">Sources for “{html.escape(t.question)}”</div>{body}</section>'
        )
    return f'<div class="rag-sources">{"".join(sections)}</div>'


def api_text(a: Answer, root: str) -> str:
    """For programs: the answer with its [n] markers, then the numbered sources."""
    out = [a.text]
    if a.notice:
        out.append(f"Note: {a.notice}")
    if a.citations:
        lines = ["Sources:"]
        for c in a.citations:
            quote = c.quote or c.text
            flag = "" if c.supported else " (not supported by this passage)"
            about = " · ".join(x for x in (c.title and f"“{c.title}”", c.date, c.url) if x)
            lines.append(f"[{c.n}] {where(c.source, c.line, c.page, root)}" + (f" ({about})" if about else "")
                         + f" — “{quote}”{flag}")
        out.append("\n".join(lines))
    return "\n\n".join(out)


def _ago(ts: float) -> str:
    s = max(0, time.time() - ts)
    if s < 90:
        return "just now"
    if s < 5400:
        return f"{s / 60:.0f} min ago"
    if s < 129600:
        return f"{s / 3600:.0f} h ago"
    return f"{s / 86400:.0f} days ago"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _stamp(when: float | None) -> str:
    return f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(when))} ({_ago(when)})" if when else "never"


def status_markdown(status: dict, mode: str, watching: bool) -> str:
    stamp = _stamp(status.get("indexed_at"))
    watch = ("  \nWatching the sources folder: changes are indexed as they happen" if watching else
             "  \nNot watching the sources folder (RAG_WATCH=false, or it stopped): use Re-index")
    return (
        f"**{_count(status['files'], 'file')} · {_count(status['passages'], 'passage')}**  \n"
        f"Last indexed: {stamp}  \n"
        f"Embedding model: `{status['embed_model']}`  \n"
        f"Answers: {mode}{watch}"
    )


def feed_rows(feeds) -> list[list]:
    """Subscribed feeds for the page's table: feed, entries, last fetch, last error."""
    return [[f"{f.title} ({f.url})" if f.title else f.url, f.entries, _stamp(f.fetched_at) if f.fetched_at
             else "never", f.error] for f in feeds]


def library_rows(library: list[dict]) -> list[list]:
    """The indexed files for the page's table: file, passages, when indexed."""
    return [[f["source"], f["passages"], _stamp(f["indexed_at"])] for f in library]


def mode_badge(mode: str) -> str:
    kind = "llm" if mode.startswith("LLM") else "offline"
    return f'<div class="rag-mode rag-mode-{kind}" id="rag-mode">{html.escape(mode)}</div>'


def results_rows(results, report, include_unchanged: bool) -> list[list[str]]:
    """Per-file outcome of an upload or re-index: file, result, detail."""
    rows = [[r.name, r.status, r.reason or (f"stored as {r.source}" if r.source != r.name else "")]
            for r in results]
    if report is not None:
        listed = {r.source for r in results}
        for source, status in sorted(report.files.items()):
            if source in listed or (status == "unchanged" and not include_unchanged):
                continue
            rows.append([source, status, report.warning_for(source)])
    return rows


def index_summary(report) -> str:
    if report is None:
        return "Nothing new to index."
    secs = f"{report.seconds:.1f} s"
    return f"Indexed in {secs}: {report.summary()}."
