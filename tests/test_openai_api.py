"""The OpenAI-compatible API: `rag serve` (and /v1 of `rag ui`) as real subprocesses on loopback,
driven by the official `openai` client (and raw HTTP where the wire format itself is the point)."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from types import SimpleNamespace

import httpx
import openai
import pytest

from rag.config import Settings
from rag.errors import RagError
from rag.extractive import ABSTAIN
from tests.conftest import RAG, ROOT, SEED
from tests.openai_server import FakeOpenAI, Reply, source_number
from tests.ui_server import free_port, ui_env

KEY = "rag-test-key-7319-do-not-log"
UPSTREAM_KEY = "sk-upstream-secret-5151"
RUBIO = "What did Rubio propose?"
WHERE = f"`{SEED.name}:5`"
CITATION_KEYS = {"n", "source", "line", "page", "title", "url", "date", "quote", "supported"}


class Served:
    """`rag serve --port 0` (it prints the port it got), or `rag ui`, in a fresh home holding the seed
    file; started without waiting, so the servers of this module start side by side."""

    def __init__(self, env: dict[str, str], *args: str, ready: str = r"rag API running at (http://\S+/v1)"):
        self.env, self.args, self.pattern = env, args or ("serve", "--port", "0"), re.compile(ready)
        self.output: list[str] = []
        self.url = ""
        self.ready = threading.Event()
        self.proc = subprocess.Popen([RAG, *self.args], env=env, cwd=ROOT, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.output.append(line)
            m = self.pattern.search(line)
            if m:
                self.url = m.group(1)
                self.ready.set()

    def wait(self) -> Served:
        deadline = time.monotonic() + 240
        while not self.ready.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"rag {self.args[0]} did not start:\n" + "".join(self.output))
        return self

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def client(self, key: str = KEY) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url, api_key=key, max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def servers(tmp_path_factory, model_cache):
    """Offline `rag serve` with RAG_API_KEY; once it is up (it may export the embedding model for
    the session), `rag serve` answering through the local OpenAI-compatible test server, and
    `rag ui` with a page login and RAG_API_KEY, both starting while the offline tests run."""
    home = tmp_path_factory.mktemp
    started: list[Served] = []
    with FakeOpenAI() as upstream:
        try:
            started.append(Served(ui_env(home("api"), model_cache, RAG_API_KEY=KEY)))
            offline = started[-1].wait()
            started.append(Served(ui_env(home("api-llm"), model_cache, OPENAI_BASE_URL=upstream.url,
                                         OPENAI_API_KEY=UPSTREAM_KEY, RAG_LLM_MODEL="gpt-4.1-mini",
                                         RAG_LLM_TIMEOUT="5", RAG_LLM_MAX_RETRIES="0")))
            llm = started[-1]
            llm.upstream = upstream
            ui_home = ui_env(home("ui"), model_cache, RAG_UI_AUTH="editor:pw-ui-1", RAG_API_KEY=KEY,
                             RAG_WATCH="false", RAG_FEED_REFRESH_MINUTES="0")
            started.append(Served(ui_home, "ui", "--port", str(free_port()),
                                  ready=r"OpenAI-compatible API at (http://\S+/v1)"))
            yield SimpleNamespace(offline=offline, llm=llm, ui=started[-1])
        finally:
            for server in started:
                server.stop()


@pytest.fixture
def api(servers) -> Served:
    return servers.offline


@pytest.fixture
def llm_api(servers) -> Served:
    return servers.llm.wait()


def ask(server: Served, question: str, history: list | None = None, **kw):
    return server.client().chat.completions.create(
        model="rag", messages=[*(history or []), {"role": "user", "content": question}], **kw)


def streamed(server: Served, question: str, **kw) -> tuple[str, list]:
    chunks = list(ask(server, question, stream=True, **kw))
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), chunks


def sse(server: Served, body: dict) -> list[str]:
    """The data lines of a streamed reply, as sent."""
    with httpx.stream("POST", f"{server.url}/chat/completions", json=body, timeout=120,
                      headers={"Authorization": f"Bearer {KEY}"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        return [line[len("data: "):] for line in r.iter_lines() if line.startswith("data: ")]


# ---- offline --------------------------------------------------------------------------------------
def test_models(api):
    client = api.client()
    assert [m.id for m in client.models.list()] == ["rag"]
    assert client.models.retrieve("rag").owned_by == "rag"


def test_plain_answer_carries_markers_sources_and_citations(api):
    r = ask(api, RUBIO)
    text = r.choices[0].message.content
    answer, sources = text.split("\n\n**Sources**\n")
    assert "Marco Rubio" in answer and answer.endswith("[1]")
    assert sources.splitlines() == [f"- [1] {WHERE}"]
    assert r.model == "rag" and r.choices[0].finish_reason == "stop" and r.usage.total_tokens == 0
    (c,) = r.model_extra["citations"]
    assert set(c) == CITATION_KEYS
    assert (c["n"], c["source"], c["line"], c["page"], c["supported"]) == (1, SEED.name, 5, None, True)
    assert "dilute ties" in c["quote"]


def test_stream_equals_the_plain_answer_and_ends_with_citations(api):
    plain = ask(api, RUBIO)
    text, chunks = streamed(api, RUBIO, stream_options={"include_usage": True})
    assert text == plain.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    *_, stop, last = chunks
    assert stop.choices[0].finish_reason == "stop"
    assert last.choices == [] and last.usage.prompt_tokens == 0 and last.usage.completion_tokens == 0
    assert last.model_extra["citations"] == stop.model_extra["citations"] == plain.model_extra["citations"]

    # On the wire, without include_usage: no usage anywhere, the last chunk carries the citations.
    data = sse(api, {"model": "rag", "stream": True, "messages": [{"role": "user", "content": RUBIO}]})
    assert data[-1] == "[DONE]"
    events = [json.loads(d) for d in data[:-1]]
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    assert events[-1]["citations"][0]["line"] == 5
    assert not any("usage" in e for e in events)


def test_follow_up_is_read_with_the_history(api):
    first = ask(api, RUBIO).choices[0].message.content
    follow_up = "What strategy did he outline?"
    alone = ask(api, follow_up)
    assert alone.choices[0].message.content == ABSTAIN and alone.model_extra["citations"] == []
    history = [{"role": "system", "content": "You are a helpful assistant."},
               {"role": "user", "content": RUBIO}, {"role": "assistant", "content": first}]
    r = ask(api, follow_up, history)
    assert [(c["source"], c["line"]) for c in r.model_extra["citations"]] == [(SEED.name, 5)]
    assert WHERE in r.choices[0].message.content


def test_unanswerable_question_abstains_without_citations(api):
    r = ask(api, "What is the GDP of Brazil?")
    assert r.choices[0].message.content == ABSTAIN
    assert r.model_extra["citations"] == []


def test_since_and_until_are_extra_body_fields(api):
    r = ask(api, RUBIO, extra_body={"since": "2030-01-01"})
    assert r.choices[0].message.content.startswith(ABSTAIN)
    assert "No indexed passage is dated on or after 2030-01-01." in r.choices[0].message.content
    with pytest.raises(openai.BadRequestError) as bad:
        ask(api, RUBIO, extra_body={"since": "2030", "until": "2020"})
    assert bad.value.body["param"] == "since" and "after" in bad.value.body["message"]


def test_wrong_or_missing_key_is_401(api):
    with pytest.raises(openai.AuthenticationError) as wrong:
        api.client("not-the-key").chat.completions.create(
            model="rag", messages=[{"role": "user", "content": RUBIO}])
    assert wrong.value.status_code == 401 and wrong.value.code == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        api.client("not-the-key").models.list()
    r = httpx.get(f"{api.url}/models", timeout=30)  # no Authorization header at all
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    assert KEY not in "".join(api.output) and KEY not in r.text


def test_bad_requests_get_openai_errors(api):
    client = api.client()
    with pytest.raises(openai.BadRequestError) as empty:
        client.chat.completions.create(model="rag", messages=[])
    assert empty.value.status_code == 400
    assert empty.value.body == {"message": "messages must be a non-empty list of {role, content} messages.",
                                "type": "invalid_request_error", "param": "messages", "code": None}
    with pytest.raises(openai.BadRequestError) as last:
        client.chat.completions.create(model="rag", messages=[{"role": "assistant", "content": "Hi."}])
    assert "last message" in last.value.message
    with pytest.raises(openai.NotFoundError) as model:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": RUBIO}])
    assert model.value.code == "model_not_found"
    auth = {"Authorization": f"Bearer {KEY}"}
    r = httpx.post(f"{api.url}/chat/completions", content=b"{not json", headers=auth, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = httpx.get(f"{api.url}/completions", headers=auth, timeout=30)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_url"


def test_serve_refuses_other_addresses_without_a_key(env):
    from rag.adapters.openai_api import serve

    with pytest.raises(RagError, match=r"Refusing to serve on 0\.0\.0\.0 without a key: set RAG_API_KEY"):
        serve("0.0.0.0", 0)


def test_a_page_login_without_api_key_locks_v1():
    """`rag ui` with RAG_UI_AUTH and no RAG_API_KEY: /v1 must not be a way around the login."""
    from fastapi.testclient import TestClient

    from rag.adapters.openai_api import create_app

    engine = SimpleNamespace(settings=Settings(rag_api_key=None))
    r = TestClient(create_app(engine, require_key=True)).get("/models", headers={"Authorization": "Bearer x"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "api_key_required"


# ---- LLM mode -----------------------------------------------------------------------------------
def _rubio(body):
    n = source_number(body, "Marco Rubio")
    return f"Marco Rubio outlined Washington's strategy to dilute ties between China and Russia [{n}]."


def test_llm_answers_stream_and_pass_temperature_and_max_tokens(llm_api):
    up = llm_api.upstream
    up.default = Reply(_rubio, chunk_size=4)
    text, chunks = streamed(llm_api, RUBIO, temperature=0.3, max_tokens=77,
                            stream_options={"include_usage": True})
    body = up.chats()[-1]["body"]
    assert body["stream"] is True and body["temperature"] == 0.3 and body["max_tokens"] == 77
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) > 5  # the answer arrived as it was written, not in one piece
    assert text.startswith("Marco Rubio outlined Washington's strategy to dilute ties between China and "
                           "Russia [1].\n\n**Sources**\n") and WHERE in text
    assert chunks[-1].usage.prompt_tokens == 321 and chunks[-1].usage.completion_tokens == 12
    assert chunks[-1].model_extra["citations"][0]["line"] == 5

    plain = ask(llm_api, RUBIO)  # the settings' own values when the request names none
    assert plain.choices[0].message.content == text
    body = up.chats()[-1]["body"]
    assert body["temperature"] == 0.1 and body["max_tokens"] == 1024
    assert UPSTREAM_KEY not in plain.model_dump_json() and UPSTREAM_KEY not in "".join(llm_api.output)


def test_llm_follow_up_is_condensed_with_the_history(llm_api):
    up = llm_api.upstream
    up.replies.extend([Reply("What strategy did Marco Rubio outline?"), Reply(_rubio)])
    before = len(up.chats())
    earlier = "He outlined a strategy [1].\n\n**Sources**\n- [1] `x.txt:5`"
    history = [{"role": "user", "content": RUBIO}, {"role": "assistant", "content": earlier}]
    r = ask(llm_api, "What strategy did he outline?", history)
    condense, answer = (c["body"] for c in up.chats()[before:])
    prompt = condense["messages"][-1]["content"]
    assert "user: What did Rubio propose?" in prompt and "He outlined a strategy [1]." in prompt
    assert "Sources" not in prompt  # our own Sources list is not part of the conversation
    question = answer["messages"][-1]["content"].rstrip().splitlines()[-1]
    assert question == "Question: What strategy did Marco Rubio outline?"
    assert r.model_extra["citations"][0]["line"] == 5


def test_llm_answer_replaced_after_streaming_ends_with_the_final_answer(llm_api):
    """An LLM answer whose citations back nothing falls back to the quoted answer after it was
    streamed: the stream then goes on with a rule and the final content in full."""
    llm_api.upstream.default = Reply("Rubio wants the two of them to split up.")
    plain = ask(llm_api, RUBIO).choices[0].message.content
    assert plain.startswith("US attempts to sow discord") and "cited none of the sources" in plain
    text, chunks = streamed(llm_api, RUBIO)
    assert text == "Rubio wants the two of them to split up.\n\n---\n\n" + plain
    assert chunks[-1].model_extra["citations"][0]["quote"].startswith("US attempts to sow discord")


# ---- /v1 of `rag ui` ----------------------------------------------------------------------------
def test_rag_ui_serves_the_api_at_v1_with_its_own_key(servers):
    ui = servers.ui.wait()
    assert [m.id for m in ui.client().models.list()] == ["rag"]
    r = ask(ui, RUBIO)
    assert WHERE in r.choices[0].message.content and r.model_extra["citations"][0]["line"] == 5
    with pytest.raises(openai.AuthenticationError):
        ui.client("wrong").models.list()
    page = ui.url.removesuffix("v1")
    assert httpx.get(f"{page}gradio_api/info", timeout=30).status_code == 401  # the page keeps its login
