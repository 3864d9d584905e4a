"""`rag mcp`: the library as an MCP server (tools `search`, `ask`, `sources`), over stdio or
streamable HTTP, on the official `mcp` SDK's MCPServer.

A thin layer: each tool calls `rag.search`, `rag.ask` or `rag.library` and returns what they
return twice over, as structured content (JSON, the same field names as the Python API) and as
readable text; a RagError becomes a tool error carrying its one sentence.

Over stdio, stdout is the protocol: the SDK points file descriptor 1 at stderr while it serves,
and everything here logs to stderr, so nothing else reaches the wire.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

import rag
from rag.errors import RagError
from rag.hosts import is_loopback
from rag.schema import Answer, Citation, Passage, locator

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
Answers and passages from the user's library of news sources, each pointing at the file and \
line it came from. `ask` gives a short answer in which every sentence carries a marker [n] \
naming a numbered source; quote the markers and sources when you pass the answer on. `search` \
gives the best-matching passages (for reading more than the answer quotes); `sources` lists the \
indexed files. `since`/`until` (YYYY-MM-DD, YYYY-MM or YYYY) keep to passages dated in that range."""

Since = Annotated[str | None, Field(description="Only passages dated on or after this day "
                                                "(YYYY-MM-DD, or YYYY-MM, or YYYY).")]
Until = Annotated[str | None, Field(description="Only passages dated on or before this day "
                                                "(YYYY-MM-DD, or YYYY-MM, or YYYY).")]
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                            open_world_hint=False)


# ---- what the tools return (the output schemas) ------------------------------------------------
class Provenance(BaseModel):
    ref: str = Field(description='Where it is, as cited: "file:line", or "file p. PAGE:LINE" for a PDF.')
    source: str = Field(description="The file, relative to the sources folder.")
    line: int | None = Field(description="1-based line of the file (of the page, for a PDF) it starts on.")
    page: int | None = Field(description="PDF page, else null.")
    title: str = Field(description='Title of the article or feed entry ("" when unknown).')
    url: str = Field(description='Link to the original ("" when unknown).')
    date: str = Field(description='Publication date, YYYY-MM-DD ("" when unknown).')


class PassageOut(Provenance):
    id: str = Field(description="The passage's stable id.")
    score: float = Field(description="Relevance (higher is better).")
    text: str = Field(description="The passage, verbatim.")


class SearchOut(BaseModel):
    passages: list[PassageOut] = Field(description="Best match first.")


class CitationOut(Provenance):
    n: int = Field(description="The number of its [n] marker in the answer.")
    quote: str = Field(description="The sentence of the passage the answer used.")
    supported: bool = Field(description="Whether the passage was checked to back the cited sentence.")
    score: float = Field(description="Relevance of the passage (higher is better).")


class AskOut(BaseModel):
    text: str = Field(description="The answer; every claim carries a marker [n] naming a citation.")
    citations: list[CitationOut] = Field(description="The numbered sources of the [n] markers.")
    abstained: bool = Field(description="True when the sources don't answer the question.")
    mode: str = Field(description='"extractive" (quoted offline) or "llm".')
    notice: str = Field(description='Why the answer fell back or what to keep in mind ("" if nothing).')


class SourceOut(BaseModel):
    source: str = Field(description="The file, relative to the sources folder.")
    passages: int = Field(description="How many passages of it are indexed.")
    indexed_at: float = Field(description="When it was indexed (seconds since the epoch).")
    indexed: str = Field(description="The same, as an ISO 8601 time in UTC.")


class SourcesOut(BaseModel):
    sources: list[SourceOut]
    files: int
    passages: int


# ---- the tools ---------------------------------------------------------------------------------
def _provenance(item: Passage | Citation) -> dict:
    return {"ref": f"{item.source}{locator(item.line, item.page)}", "source": item.source,
            "line": item.line, "page": item.page, "title": item.title, "url": item.url, "date": item.date}


def _about(item) -> str:
    return " · ".join(x for x in (item.title and f"“{item.title}”", item.date, item.url) if x)


def _result(text: str, structured: BaseModel) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)],
                          structured_content=structured.model_dump(mode="json"))


def _failed(exc: RagError) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=str(exc))], is_error=True)


def search(
    query: Annotated[str, Field(description="What to look for: a question or keywords.")],
    k: Annotated[int, Field(ge=1, le=50, description="How many passages.")] = 5,
    since: Since = None,
    until: Until = None,
) -> Annotated[CallToolResult, SearchOut]:
    """The passages of the library that best match a query, best first, each with its file and
    line, title, date, link, relevance score and verbatim text. For a cited answer use `ask`."""
    try:
        hits = rag.search(query, k=k, since=since, until=until)
    except RagError as exc:
        return _failed(exc)
    out = SearchOut(passages=[PassageOut(**_provenance(p), id=p.id, score=p.score, text=p.text)
                              for p in hits])
    lines = [f"[{i}] {o.ref} (score {o.score:.2f})" + (f" {_about(o)}" if _about(o) else "") + f"\n{o.text}"
             for i, o in enumerate(out.passages, start=1)]
    return _result("\n\n".join(lines) or "Nothing in the index matches that.", out)


def ask(
    question: Annotated[str, Field(description="A question about the news in the library.")],
    since: Since = None,
    until: Until = None,
) -> Annotated[CallToolResult, AskOut]:
    """Answer a question from the library: a short answer in which every sentence carries a
    marker [n], then the numbered sources (file and line, title, date, link, the quoted
    sentence). When the sources don't say, the answer is "The indexed sources don't answer that."
    """
    try:
        answer = rag.ask(question, since=since, until=until)
    except RagError as exc:
        return _failed(exc)
    return _result(answer_text(answer), AskOut(
        text=answer.text, abstained=answer.abstained, mode=answer.mode, notice=answer.notice,
        citations=[CitationOut(**_provenance(c), n=c.n, quote=c.quote or c.text, supported=c.supported,
                               score=c.score) for c in answer.citations]))


def sources() -> Annotated[CallToolResult, SourcesOut]:
    """The indexed files of the library, each with its passage count and when it was indexed."""
    try:
        rows = rag.library()
    except RagError as exc:
        return _failed(exc)
    out = SourcesOut(
        sources=[SourceOut(**r, indexed=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r["indexed_at"])))
                 for r in rows],
        files=len(rows), passages=sum(r["passages"] for r in rows))
    lines = [f"{s.source}: {_count(s.passages, 'passage')}, indexed {s.indexed}"
             for s in out.sources]
    summary = f"{_count(out.files, 'file')}, {_count(out.passages, 'passage')} indexed."
    return _result("\n".join([*lines, summary]) if rows else "Nothing is indexed yet.", out)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def answer_text(a: Answer) -> str:
    """The answer with its [n] markers, then "Sources:" with one `[n] file:line (about) — “quote”` each."""
    out = [a.text]
    if a.notice:
        out.append(f"Note: {a.notice}")
    if a.citations:
        lines = ["Sources:"]
        for c in a.citations:
            about = _about(c)
            flag = "" if c.supported else " (not supported by this passage)"
            lines.append(f"[{c.n}] {c.source}{locator(c.line, c.page)}" + (f" ({about})" if about else "")
                         + f" — “{c.quote or c.text}”{flag}")
        out.append("\n".join(lines))
    return "\n\n".join(out)


# ---- the server --------------------------------------------------------------------------------
def _warm_up() -> None:
    try:
        rag.get_engine().warm_up()
    except RagError as exc:  # the first tool call reports it to the client, in its one sentence
        log.warning("%s", exc)
    except Exception:  # never take the server down: the tools will meet the same failure
        log.debug("warm-up failed", exc_info=True)


@contextlib.asynccontextmanager
async def _lifespan(_server: MCPServer) -> AsyncIterator[dict]:
    # Load the embedding model beside the handshake, not in front of it (the first start
    # exports it to ONNX, which takes a while); a tool called meanwhile waits for the same load.
    threading.Thread(target=_warm_up, name="rag-warm-up", daemon=True).start()
    yield {}


def build() -> MCPServer:
    server = MCPServer("rag", title="rag-news: cited answers over your news sources",
                       instructions=INSTRUCTIONS, lifespan=_lifespan, log_level="WARNING")
    for fn, title in ((search, "Search the library"), (ask, "Ask the library (cited answer)"),
                      (sources, "List the indexed sources")):
        server.add_tool(fn, title=title, annotations=READ_ONLY)
    return server


def _check_port(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, _, _, _, addr = infos[0]
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(addr)
    except OSError:
        raise RagError(f"Cannot serve on {host}:{port}: the port is in use or not allowed; "
                       "pick another with --http PORT.") from None


def serve(http: int | None = None, host: str = "127.0.0.1", insecure: bool = False) -> None:
    """Serve until the client hangs up (stdio) or Ctrl-C (`http`: streamable HTTP on host:http/mcp).
    Another address than loopback is refused unless `insecure`: MCP here has no login."""
    if http is not None and not is_loopback(host) and not insecure:
        raise RagError(f"Refusing to serve MCP on {host}: it has no login, so anyone who can reach the "
                       "address could read your sources; pass --insecure if that is what you want.")
    if http is not None:
        _check_port(host, http)
    with contextlib.redirect_stdout(sys.stderr):  # settings and store: fail now, in one sentence
        engine = rag.get_engine()
        mode = engine.mode()
    server = build()
    if http is None:
        print(f"rag MCP server on stdio ({mode}): tools search, ask, sources.", file=sys.stderr, flush=True)
        server.run("stdio")
        return
    where = f"[{host}]" if ":" in host else host
    print(f"rag MCP server at http://{where}:{http}/mcp (streamable HTTP; {mode}; Ctrl-C to stop)",
          file=sys.stderr, flush=True)
    server.run("streamable-http", host=host, port=http)
