"""A small OpenAI-compatible server on 127.0.0.1 for tests: chat completions (streamed and
not), embeddings and usage, with scripted behaviours, recording every request it gets."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


@dataclass
class Reply:
    text: str | Callable[[dict], str] = "OK."
    status: int = 200
    delay: float = 0.0  # seconds before the response starts
    empty_stream: bool = False  # HTTP 200 and a stream without content (llama.cpp, long prompt)
    error: str = "server_error"  # error code in the body when status != 200
    usage: bool = True
    chunk_size: int = 7  # characters per streamed chunk
    chunk_delay: float = 0.0  # seconds between streamed chunks


class FakeOpenAI:
    def __init__(self):
        self.replies: deque[Reply] = deque()
        self.default = Reply()
        self.requests: list[dict] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def chats(self) -> list[dict]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append({"path": self.path, "body": body,
                                      "auth": self.headers.get("Authorization", "")})
                if self.path.endswith("/embeddings"):
                    return self._embeddings(body)
                if self.path.endswith("/chat/completions"):
                    reply = fake.replies.popleft() if fake.replies else fake.default
                    try:
                        return self._chat(body, reply)
                    except (BrokenPipeError, ConnectionResetError):
                        return None  # the client stopped reading (timeout, early stop)
                self._json(404, {"error": {"message": "no such route", "code": "not_found"}})

            def _json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _embeddings(self, body: dict) -> None:
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                data = [{"object": "embedding", "index": i, "embedding": bag_of_words(t)}
                        for i, t in enumerate(inputs)]
                self._json(200, {"object": "list", "data": data, "model": body.get("model"),
                                 "usage": {"prompt_tokens": 1, "total_tokens": 1}})

            def _chat(self, body: dict, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status != 200:
                    return self._json(reply.status, {"error": {
                        "message": f"scripted {reply.status}", "type": reply.error,
                        "code": reply.error}})
                text = reply.text(body) if callable(reply.text) else reply.text
                usage = {"prompt_tokens": 321, "completion_tokens": 12, "total_tokens": 333}
                base = {"id": "chatcmpl-test", "created": int(time.time()), "model": body["model"]}
                if not body.get("stream"):
                    return self._json(200, {**base, "object": "chat.completion", "choices": [
                        {"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
                        **({"usage": usage} if reply.usage else {})})
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()

                def event(payload) -> None:
                    self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
                    self.wfile.flush()

                chunk = {**base, "object": "chat.completion.chunk"}
                if not reply.empty_stream:
                    for i in range(0, len(text), reply.chunk_size):
                        if i and reply.chunk_delay:
                            time.sleep(reply.chunk_delay)
                        event({**chunk, "choices": [{"index": 0, "finish_reason": None,
                                                      "delta": {"content": text[i:i + reply.chunk_size]}}]})
                    event({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                    if reply.usage and (body.get("stream_options") or {}).get("include_usage"):
                        event({**chunk, "choices": [], "usage": usage})
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler


def bag_of_words(text: str, dim: int = 64) -> list[float]:
    """A deterministic stand-in embedding: hashed word counts, normalised."""
    v = np.zeros(dim)
    for w in re.findall(r"\w+", text.lower()):
        v[int(hashlib.md5(w.encode()).hexdigest(), 16) % dim] += 1
    n = np.linalg.norm(v)
    return (v / n if n else v).tolist()


def source_number(body: dict, needle: str) -> int:
    """The [n] under which the prompt lists the passage containing `needle`."""
    prompt = body["messages"][-1]["content"]
    for m in re.finditer(r"^\[(\d+)\] \(source: [^)]*\)\n(.*)$", prompt, re.M):
        if needle in m.group(2):
            return int(m.group(1))
    raise AssertionError(f"{needle!r} is not among the prompt's sources")


def source_texts(body: dict) -> dict[int, str]:
    prompt = body["messages"][-1]["content"]
    return {int(m.group(1)): m.group(2)
            for m in re.finditer(r"^\[(\d+)\] \(source: [^)]*\)\n(.*)$", prompt, re.M)}
