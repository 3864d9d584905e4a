"""An OpenAI-compatible chat API over the engine, for any chat front-end or OpenAI client:
`GET /v1/models` (one model, `rag`) and `POST /v1/chat/completions`, streamed (SSE) or not.

A thin layer: `Engine.ask_stream` answers; this module only turns the request's messages into
the question and its history (follow-ups are condensed by the engine, as `ask` does) and the
Answer into OpenAI's objects. The reply's content is the answer with its [n] markers, then a
short markdown "Sources" list, so any chat front-end shows them; the response object (and the
last chunk of a stream) also carries a top-level `citations` array.

Streaming: the answer's deltas go out as the engine writes them (offline answers arrive in one
piece). The engine may replace a streamed LLM answer when it ends (an answer whose citations
back nothing falls back to the quoted offline answer): then the stream goes on with a rule
(`---`) and the whole final content, note included, so the client ends with the final answer.

`create_app(engine)` serves the routes relative to where it is mounted: `rag serve` (`serve()`
here) mounts it at /v1 of its own server, `rag ui` at /v1 of the page's.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.citations import tidy
from rag.dates import parse_range
from rag.engine import MAX_QUESTION_CHARS, Engine
from rag.errors import RagError
from rag.hosts import is_loopback
from rag.schema import Answer, Citation, locator

log = logging.getLogger(__name__)

MODEL = "rag"
MAX_BODY_BYTES = 4_000_000
MAX_CONCURRENT_ANSWERS = 8  # answers computed at once; more requests wait their turn
SOURCES_HEADING = "**Sources**"
REPLACED_RULE = "\n\n---\n\n"
CREATED = int(time.time())


class APIError(Exception):
    """An error as OpenAI reports it: {"error": {"message", "type", "param", "code"}}."""

    def __init__(self, status: int, message: str, code: str | None = None, param: str | None = None,
                 type_: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.type = type_ or ("server_error" if status >= 500 else "invalid_request_error")

    def payload(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(self.payload(), status_code=self.status, headers=headers)


# ---- the answer as OpenAI's objects -------------------------------------------------------------
def citation_dict(c: Citation) -> dict:
    """A citation for programs: where it is, what it says (the quoted sentence, or the passage
    when none was singled out) and whether the passage was checked to back the answer."""
    return {"n": c.n, "source": c.source, "line": c.line, "page": c.page, "title": c.title, "url": c.url,
            "date": c.date, "quote": c.quote or c.text, "supported": c.supported}


def _md(text: str) -> str:
    """Text that markdown shows as it is (in a list item or link text)."""
    return "".join("\\" + ch if ch in "\\`*_[]<>#|" else ch for ch in " ".join(text.split()))


def _code(text: str) -> str:
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def sources_markdown(citations: list[Citation]) -> str:
    """`**Sources**` and one list item each: [n] `file:line` — [title](link) · date."""
    lines = [SOURCES_HEADING]
    for c in citations:
        title = _md(c.title) if c.title else ""
        url = c.url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
        about = [(f"[{title}]({url})" if title else f"<{url}>") if url else title, c.date]
        item = f"- [{c.n}] {_code(c.source + locator(c.line, c.page))}"
        if any(about):
            item += " — " + " · ".join(x for x in about if x)
        if not c.supported:
            item += " — ⚠ not supported by this passage"
        lines.append(item)
    return "\n".join(lines)


def content(answer: Answer) -> str:
    """The reply a chat front-end shows: the answer with its [n] markers, its note (why it fell
    back, what to keep in mind) and the Sources list."""
    out = [answer.text]
    if answer.notice:
        out.append(f"*Note: {answer.notice}*")
    if answer.citations:
        out.append(sources_markdown(answer.citations))
    return "\n\n".join(out)


def usage(answer: Answer) -> dict:
    prompt = int(answer.usage.get("prompt_tokens", 0))
    completion = int(answer.usage.get("completion_tokens", 0))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def strip_sources(text: str) -> str:
    """An earlier reply of ours as history: the answer without the note and Sources list we added."""
    for tail in ("\n\n" + SOURCES_HEADING + "\n", "\n\n*Note: "):
        text = text.partition(tail)[0]
    return text


# ---- the request --------------------------------------------------------------------------------
def _text(content_: Any, where: str) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if content_ is None or isinstance(content_, str):
        return content_ or ""
    if isinstance(content_, list):
        parts = [p for p in content_ if isinstance(p, dict) and p.get("type") == "text"]
        return "\n".join(p["text"] for p in parts if isinstance(p.get("text"), str))
    raise APIError(400, f"{where}.content must be a string or a list of content parts.", param=where)


def _number(body: dict, name: str, kind: type, low: float, high: float) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and value != int(value)):
        raise APIError(400, f"{name} must be {'an integer' if kind is int else 'a number'}.", param=name)
    if not low <= value <= high:
        raise APIError(400, f"{name} must be between {low:g} and {high:g}.", param=name)
    return kind(value)


def parse_request(body: Any) -> dict:
    """The engine's arguments from a chat completion request (unknown parameters are ignored)."""
    if not isinstance(body, dict):
        raise APIError(400, "The request body must be a JSON object.")
    model = body.get("model", MODEL)
    if model != MODEL:
        raise APIError(404, f"The model {model!r} does not exist; this server has one model, {MODEL!r}.",
                       code="model_not_found", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise APIError(400, "messages must be a non-empty list of {role, content} messages.",
                       param="messages")
    turns = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise APIError(400, f"{where} must be an object with a role.", param=where)
        turns.append((m["role"], _text(m.get("content"), where)))
    role, question = turns[-1]
    last = f"messages[{len(turns) - 1}]"
    if role != "user":
        raise APIError(400, "The last message must be the user's question.", param=last)
    if not question.strip():
        raise APIError(400, "The question is empty; send a question about the sources.",
                       param=f"{last}.content")
    if len(question.strip()) > MAX_QUESTION_CHARS:
        raise APIError(400, f"The question is {len(question.strip()):,} characters long; keep it under "
                            f"{MAX_QUESTION_CHARS:,}.", param=f"{last}.content")
    # System and tool messages are not part of the conversation about the sources.
    history = [{"role": r, "content": strip_sources(t) if r == "assistant" else t}
               for r, t in turns[:-1] if r in ("user", "assistant") and t.strip()]
    since, until = body.get("since"), body.get("until")
    for name, value in (("since", since), ("until", until)):
        if value is not None and not isinstance(value, str):
            raise APIError(400, f"{name} must be a date string (YYYY-MM-DD, YYYY-MM or YYYY).", param=name)
    try:
        parse_range(since or None, until or None, ("since", "until"))
    except ValueError as exc:
        raise APIError(400, str(exc), param="until" if str(exc).startswith("until") else "since") from None
    max_tokens = _number(body, "max_completion_tokens", int, 1, 1_000_000)
    if max_tokens is None:
        max_tokens = _number(body, "max_tokens", int, 1, 1_000_000)
    options = body.get("stream_options")
    return {"question": question.strip(), "history": history, "since": since or None, "until": until or None,
            "temperature": _number(body, "temperature", float, 0, 2), "max_tokens": max_tokens,
            "stream": bool(body.get("stream")),
            "include_usage": isinstance(options, dict) and bool(options.get("include_usage"))}


# ---- the engine, off the event loop -------------------------------------------------------------
_END = object()


async def answer_items(engine: Engine, slots: threading.BoundedSemaphore, req: dict
                       ) -> AsyncIterator[str | Answer]:
    """The engine's deltas, then its Answer, as they come. The engine runs in a thread of its
    own; a client that goes away stops it at its next delta (closing the LLM's stream)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()

    def put(item) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is gone (server shutting down)
            stop.set()

    def work() -> None:
        try:
            with slots:
                if stop.is_set():
                    return
                items = engine.ask_stream(req["question"], req["history"], req["since"], req["until"],
                                          temperature=req["temperature"], max_tokens=req["max_tokens"])
                try:
                    for item in items:
                        put(item)
                        if stop.is_set():
                            break
                finally:
                    items.close()
        except Exception as exc:
            put(exc)
        finally:
            put(_END)

    threading.Thread(target=work, name="rag-api-answer", daemon=True).start()
    try:
        while (item := await queue.get()) is not _END:
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()


def _engine_error(exc: Exception) -> APIError:
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, RagError):  # nothing indexed, the index busy or unreadable: one sentence
        return APIError(503, str(exc), code="engine_unavailable")
    log.error("unexpected error while answering", exc_info=exc)
    return APIError(500, f"The server failed unexpectedly ({type(exc).__name__}); see its log.",
                    code="internal_error")


def _chunk(cid: str, created: int, delta: dict | None, finish: str | None = None, **extra) -> str:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish,
                                         "logprobs": None}]
    data = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL,
            "system_fingerprint": None, "choices": choices, **extra}
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


class _Emitter:
    """What the client has been sent so far of the answer's text. LLM deltas go out as the engine
    will finish them (rag.citations.tidy: no doubled spaces, none before punctuation, no
    trailing white space), so a kept answer equals what was streamed, character for character."""

    def __init__(self, exact: bool):
        self.exact, self.raw, self.sent = exact, "", ""

    def feed(self, delta: str) -> str:
        self.raw += delta
        ready = self.raw if self.exact else tidy(self.raw.rstrip())
        if not ready.startswith(self.sent):  # cannot happen with tidy's rules; be safe anyway
            return ""
        out, self.sent = ready[len(self.sent):], ready
        return out

    def rest(self, answer: Answer) -> str:
        """After the last delta: what completes the content (note and Sources), or, when the
        engine replaced the streamed text, a rule and the final content in full."""
        full = content(answer)
        if self.sent == answer.text or (self.sent and self.sent == tidy(answer.text)):
            return full[len(answer.text):]
        return (REPLACED_RULE if self.sent.strip() else "") + full


# ---- the app ------------------------------------------------------------------------------------
def _install_errors(app: FastAPI) -> None:
    async def api_error(_request: Request, exc: Exception) -> JSONResponse:
        return exc.response()  # type: ignore[attr-defined]

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        status = getattr(exc, "status_code", 500)
        message, code = {404: ("Unknown URL; the API serves GET /v1/models and POST /v1/chat/completions.",
                               "unknown_url"),
                         405: ("Method not allowed for this URL.", "method_not_allowed")}.get(
            status, (str(getattr(exc, "detail", "")) or "Request failed.", None))
        return APIError(status, message, code=code).response()

    app.add_exception_handler(APIError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


def _key_check(key: str, require_key: bool):
    async def check(request: Request) -> None:
        if not key and not require_key:
            return
        if not key:
            raise APIError(401, "This API needs a key of its own because the page has a login "
                                "(RAG_UI_AUTH): set RAG_API_KEY on the server and send it as a Bearer key.",
                           code="api_key_required")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise APIError(401, "No API key: send the server's RAG_API_KEY as 'Authorization: Bearer <key>'.",
                           code="invalid_api_key")
        if not hmac.compare_digest(token.strip().encode(), key.encode()):
            raise APIError(401, "Incorrect API key.", code="invalid_api_key")
    return check


def create_app(engine: Engine, *, require_key: bool = False) -> FastAPI:
    """The API's routes (`/models`, `/chat/completions`), to be mounted at /v1. With RAG_API_KEY
    set every request needs it as a Bearer key; `require_key` refuses all requests while it is
    not set (`rag ui` with a login: the API must not be a way around it)."""
    secret = engine.settings.rag_api_key
    key = secret.get_secret_value() if secret else ""
    app = FastAPI(title="rag: OpenAI-compatible chat API", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(_key_check(key, require_key))])
    _install_errors(app)
    slots = threading.BoundedSemaphore(MAX_CONCURRENT_ANSWERS)
    model = {"id": MODEL, "object": "model", "created": CREATED, "owned_by": "rag"}

    @app.get("/models")
    async def models() -> dict:
        return {"object": "list", "data": [model]}

    @app.get("/models/{name}")
    async def get_model(name: str) -> dict:
        if name != MODEL:
            raise APIError(404, f"The model {name!r} does not exist; this server has one model, {MODEL!r}.",
                           code="model_not_found", param="model")
        return model

    @app.post("/chat/completions")
    async def chat_completions(request: Request):
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise APIError(413, f"The request is larger than {MAX_BODY_BYTES // 1_000_000} MB.")
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise APIError(413, f"The request is larger than {MAX_BODY_BYTES // 1_000_000} MB.")
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            raise APIError(400, "The request body is not valid JSON.") from None
        req = parse_request(body)
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        items = answer_items(engine, slots, req)
        try:
            first = await anext(items)  # retrieval has run: its errors still get their status code
        except Exception as exc:
            await items.aclose()
            raise _engine_error(exc) from None
        if not req["stream"]:
            answer = first
            try:
                async for item in items:
                    answer = item
            except Exception as exc:
                raise _engine_error(exc) from None
            finally:
                await items.aclose()
            assert isinstance(answer, Answer)
            message = {"role": "assistant", "content": content(answer), "refusal": None}
            return {"id": cid, "object": "chat.completion", "created": created, "model": MODEL,
                    "system_fingerprint": None,
                    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None, "message": message}],
                    "usage": usage(answer), "citations": [citation_dict(c) for c in answer.citations]}

        extra = {"usage": None} if req["include_usage"] else {}

        async def events() -> AsyncIterator[str]:
            emitter = _Emitter(exact=engine.llm is None)
            yield _chunk(cid, created, {"role": "assistant", "content": ""}, **extra)
            item = first
            try:
                while not isinstance(item, Answer):
                    text = emitter.feed(item)
                    if text:
                        yield _chunk(cid, created, {"content": text}, **extra)
                    item = await anext(items)
            except Exception as exc:  # after the headers: OpenAI's error event, then the end
                err = _engine_error(exc)
                yield f"data: {json.dumps(err.payload(), ensure_ascii=False)}\n\n"
                yield "data: [DONE]\n\n"
                return
            finally:
                await items.aclose()
            cites = [citation_dict(c) for c in item.citations]
            yield _chunk(cid, created, {"content": emitter.rest(item)}, **extra)
            yield _chunk(cid, created, {}, "stop", **extra, citations=cites)
            if req["include_usage"]:
                yield _chunk(cid, created, None, usage=usage(item), citations=cites)
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return app


# ---- `rag serve` --------------------------------------------------------------------------------
def standalone_app(engine: Engine) -> FastAPI:
    """The API at /v1 of a server of its own (other URLs: 404 in OpenAI's error shape)."""
    from starlette.routing import Mount

    root = FastAPI(docs_url=None, redoc_url=None, openapi_url=None,
                   routes=[Mount("/v1", app=create_app(engine))])
    _install_errors(root)
    return root


def _bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                          flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        # Listening now: a client that connects as soon as the address is printed waits in the
        # backlog until uvicorn accepts, instead of being refused.
        sock.listen(2048)
    except OSError:
        raise RagError(f"Cannot serve on {host}:{port}: the port is in use or not allowed; "
                       "pick another with --port.") from None
    return sock


def serve(host: str = "127.0.0.1", port: int = 8000, insecure: bool = False) -> None:
    """`rag serve`: the API at http://host:port/v1 until Ctrl-C, after loading the models."""
    import uvicorn

    import rag
    from rag.config import get_settings

    secret = get_settings().rag_api_key
    if not is_loopback(host) and not (secret and secret.get_secret_value()) and not insecure:
        raise RagError(f"Refusing to serve on {host} without a key: set RAG_API_KEY, or pass --insecure if "
                       "everyone who can reach this address may ask about your sources.")
    engine = rag.get_engine()
    engine.warm_up()
    engine.ensure_index()
    sock = _bind(host, port)
    port = sock.getsockname()[1]
    where = f"[{host}]" if ":" in host else host
    config = uvicorn.Config(standalone_app(engine), log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=5)
    keyed = "; Bearer RAG_API_KEY required" if secret and secret.get_secret_value() else ""
    print(f"rag API running at http://{where}:{port}/v1  ({engine.mode()}; model {MODEL!r}{keyed}; "
          "Ctrl-C to stop)", flush=True)
    uvicorn.Server(config).run(sockets=[sock])
