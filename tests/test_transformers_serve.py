"""The LLM path against a real OpenAI-compatible server: `transformers serve` with a tiny random
model made here (tests/tiny_model.py; nothing is downloaded). The model writes noise that cites
nothing, one token at a time, always up to max_tokens: what is under test is streaming, the usage
the server reports, max_tokens, follow-up condensing and the unbacked-answer policy."""

from __future__ import annotations

import sys
import time

import pytest

import rag
from rag.citations import tidy
from rag.config import BUNDLED_MODEL
from rag.embed import get_embedder
from rag.llm_answer import CONDENSE_MAX_TOKENS, heuristic_condense
from tests.conftest import SEED, run_cli
from tests.tiny_model import ServerUnavailable, TransformersServe, build

Q = "What did Rubio propose?"
MAX_TOKENS = 24
UNBACKED = "The model's answer cited none of the sources; showing the quoted answer instead."
WARNED = "No sentence of this answer is backed by a cited source; treat it with care."


def _skip(reason: str):
    print(f"\nSKIP test_transformers_serve: {reason}", file=sys.stderr, flush=True)
    lines = reason.strip().splitlines()  # the first says what failed, the last (a traceback's) why
    more = " (its last lines are above)" if len(lines) > 1 else ""
    pytest.skip(" ".join(dict.fromkeys([lines[0], lines[-1].strip()])) + more)


@pytest.fixture(scope="module")
def served(tmp_path_factory, model_cache):
    """(server, tokenizer): the tiny model served for the whole module."""
    root = tmp_path_factory.mktemp("tiny-llm")
    t0 = time.perf_counter()
    try:
        tok = build(root / "model", SEED.read_text(encoding="utf-8"))
    except ImportError as exc:
        _skip(f"cannot build the tiny model without {exc.name or exc}")
    server = TransformersServe(root / "model", root / "serve.log")
    try:
        try:
            t1 = time.perf_counter()
            server.launch()
            # while the server loads: the embedding model's one-off ONNX export (shared cache)
            get_embedder(BUNDLED_MODEL, model_cache).embed_query("warm up")
            t2 = time.perf_counter()
            server.wait()
            print(f"\n[tiny model] built in {t1 - t0:.1f} s; embedder ready after {t2 - t1:.1f} s, "
                  f"server after {time.perf_counter() - t1:.1f} s", flush=True)
        except ServerUnavailable as exc:
            _skip(str(exc))
        yield server, tok
    finally:
        server.stop()


@pytest.fixture
def llm(env, served, monkeypatch):
    """rag pointed at the server by its base URL alone (no API key), the model under the id the
    server lists; returns the server. Every chat request rag makes is recorded in `server.calls`
    (the keyword arguments, and the response of a request that is not streamed)."""
    server, _ = served
    values = {"OPENAI_BASE_URL": server.url, "RAG_LLM_MODEL": server.model_id,
              "RAG_LLM_MAX_TOKENS": str(MAX_TOKENS), "RAG_LLM_TIMEOUT": "60", "RAG_LLM_MAX_RETRIES": "0"}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    env.update(values)
    rag.reset()

    from openai.resources.chat.completions import Completions

    create, server.calls = Completions.create, []

    def recording_create(self, *args, **kwargs):
        call = {"kwargs": kwargs, "response": None}
        server.calls.append(call)
        resp = create(self, *args, **kwargs)
        if not kwargs.get("stream"):
            call["response"] = resp
        return resp

    monkeypatch.setattr(Completions, "create", recording_create)
    return server


def _prompt_tokens(tok, messages: list[dict]) -> int:
    """What the server counts: the chat template applied, then this tokenizer."""
    text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return len(tok.encode(text, add_special_tokens=False))


def test_streams_token_by_token_with_the_usage_the_server_reports(seeded, llm, served):
    _, tok = served
    items = list(rag.ask_stream(Q))
    deltas, a = items[:-1], items[-1]
    assert isinstance(a, rag.Answer) and all(isinstance(d, str) for d in deltas)
    assert len(deltas) >= 2 and "".join(deltas).strip()  # written as it was generated
    assert "first_token_ms" in a.timings and a.timings["first_token_ms"] <= a.timings["total_ms"]
    # one streamed request, asking for usage in the stream, capped by RAG_LLM_MAX_TOKENS
    (call,) = llm.calls
    kw = call["kwargs"]
    assert kw["stream"] is True and kw["stream_options"] == {"include_usage": True}
    assert kw["model"] == llm.model_id and kw["max_tokens"] == MAX_TOKENS
    # the usage is the server's own count (this tokenizer, not tiktoken's estimate)
    assert a.usage["usage_from_api"] is True
    assert a.usage["prompt_tokens"] == _prompt_tokens(tok, kw["messages"]) > 0
    assert a.usage["completion_tokens"] == MAX_TOKENS  # the model cannot stop before max_tokens
    assert a.usage["cost_usd"] == 0.0  # not an OpenAI model: no price is guessed
    print(f"\n[tiny model] answer prompt: {a.usage['prompt_tokens']} tokens; {len(deltas)} deltas; "
          f"first token {a.timings['first_token_ms']:.0f} ms, LLM {a.timings['llm_ms']:.0f} ms")


def test_max_tokens_from_the_settings_and_per_call(seeded, llm):
    engine = rag.get_engine()
    a = engine.ask(Q, max_tokens=8)
    assert llm.calls[-1]["kwargs"]["max_tokens"] == 8
    assert a.usage["usage_from_api"] and a.usage["completion_tokens"] == 8
    b = engine.ask(Q)
    assert llm.calls[-1]["kwargs"]["max_tokens"] == MAX_TOKENS
    assert b.usage["usage_from_api"] and b.usage["completion_tokens"] == MAX_TOKENS


def test_an_answer_that_cites_nothing_is_replaced_by_the_offline_answer(seeded, llm):
    items = list(rag.ask_stream(Q))
    deltas, a = items[:-1], items[-1]
    streamed = "".join(deltas)
    assert streamed.strip()  # the model's text streamed first ...
    assert a.mode == "extractive" and not a.abstained  # ... then the quoted answer replaced it
    assert a.notice == UNBACKED
    assert a.text != tidy(streamed) and "dilute ties" in a.text
    c = a.citations[0]
    assert (c.source, c.line, c.supported) == (SEED.name, 5, True)
    assert a.usage["usage_from_api"] and a.usage["completion_tokens"] == MAX_TOKENS  # still spent


def test_unbacked_answers_only_warned_keep_the_models_text(seeded, llm, monkeypatch):
    monkeypatch.setenv("RAG_UNBACKED", "warn")
    rag.reset()
    items = list(rag.ask_stream(Q))
    deltas, a = items[:-1], items[-1]
    assert a.mode == "llm" and not a.abstained
    assert a.text == tidy("".join(deltas)) and a.text  # the model's text, as streamed
    assert a.notice == WARNED
    assert not any(c.supported for c in a.citations)
    assert a.usage["completion_tokens"] == MAX_TOKENS


# The tiny model's rewrite is noise: 256 tokens of it make a usable-looking first line, one token
# too short a line (so both of the engine's branches run, whichever way a model is initialised).
@pytest.mark.parametrize("cap", [CONDENSE_MAX_TOKENS, 1])
def test_a_follow_up_is_condensed_by_the_server(seeded, llm, monkeypatch, cap):
    monkeypatch.setattr("rag.llm_answer.CONDENSE_MAX_TOKENS", cap)
    history = [{"role": "user", "content": "Who is Marco Rubio?"},
               {"role": "assistant", "content": "The US Secretary of State."}]
    a = rag.ask("What did he propose?", history=history)
    condense = llm.calls[0]
    kw, resp = condense["kwargs"], condense["response"]
    assert kw["stream"] is False and kw["model"] == llm.model_id and kw["temperature"] == 0.0
    prompt = kw["messages"][1]["content"]
    assert "Who is Marco Rubio?" in prompt and "What did he propose?" in prompt
    # capped: a model that does not stop (this one) must not write until its context is full
    assert kw["max_tokens"] == cap == resp.usage.completion_tokens
    # the engine takes the first line of the server's rewrite when it is 3-500 characters long,
    # else the offline rewrite (which borrows the names of the earlier question)
    raw = resp.choices[0].message.content.strip().strip('"')
    first = raw.splitlines()[0].strip() if raw else ""
    usable = 3 <= len(first) <= 500
    print(f"\n[tiny model] condensed ({'used' if usable else 'not used'}): {first[:60]!r}")
    if usable:
        assert a.query == first
    else:
        assert a.query == heuristic_condense("What did he propose?", history) != "What did he propose?"
    assert "condense_ms" in a.timings
    assert "resolved offline" not in a.notice  # the server answered: no fallback for condensing


def test_a_model_name_the_server_does_not_serve_falls_back_with_a_notice(seeded, llm, monkeypatch):
    monkeypatch.setenv("RAG_LLM_MODEL", "gpt-4.1-mini")  # the default, against a pinned server
    rag.reset()
    a = rag.ask(Q)
    assert a.mode == "extractive" and a.citations[0].line == 5
    assert "HTTP 400 (gpt-4.1-mini at 127.0.0.1:" in a.notice
    assert a.notice.endswith("Showing the offline answer instead.")


def test_cli_ask_prints_the_offline_answer_after_the_models_text(seeded, llm, env):
    r = run_cli("ask", Q, env=env)
    assert r.returncode == 0, r.stderr
    head, _, rest = r.stdout.partition("Note: ")
    assert UNBACKED in rest and f"{SEED.name}:5" in rest
    streamed, _, quoted = head.rstrip().rpartition("\n\n")
    assert streamed.strip() and "dilute ties" in quoted  # the model's text, then the quoted answer
    assert "(extractive answer" in rest
