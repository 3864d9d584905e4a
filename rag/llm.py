"""The chat model behind LLM answers: OpenAI or any OpenAI-compatible server.

The `openai` client is used directly rather than llama-index's OpenAI/OpenAILike classes:
we need to see a stream that ends with zero chunks (llama.cpp's answer to an over-long
prompt), read usage from the stream's last chunk, and turn each typed API error into one
sentence; the client also gives explicit timeouts and bounded retries with backoff on 429,
5xx and connection errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from urllib.parse import urlparse

from rag.config import Settings

# USD per 1M tokens (input, output); an estimate for known OpenAI models only.
PRICES = {
    "gpt-4.1": (2.0, 8.0), "gpt-4.1-mini": (0.4, 1.6), "gpt-4.1-nano": (0.1, 0.4),
    "gpt-4o": (2.5, 10.0), "gpt-4o-mini": (0.15, 0.6),
    "gpt-5": (1.25, 10.0), "gpt-5-mini": (0.25, 2.0), "gpt-5-nano": (0.05, 0.4),
}


class LLMError(Exception):
    """The LLM could not answer; the message is one sentence for the user."""


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    from_api: bool = False

    def as_dict(self, model: str) -> dict[str, float]:
        price = PRICES.get(model)
        cost = (self.prompt_tokens * price[0] + self.completion_tokens * price[1]) / 1e6 if price else 0.0
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "cost_usd": round(cost, 6), "usage_from_api": self.from_api}


@lru_cache(maxsize=4)
def load_prompt(name: str) -> tuple[str, str]:
    """(system, user) templates from rag/prompts/<name>.txt."""
    text = files("rag.prompts").joinpath(f"{name}.txt").read_text(encoding="utf-8")
    body = "\n".join(ln for ln in text.splitlines() if not ln.startswith("# "))
    _, system, user = body.split("### ")
    return system.removeprefix("system\n").strip(), user.removeprefix("user\n").strip()


@lru_cache(maxsize=8)
def encoding_for(model: str):
    import tiktoken

    try:
        return tiktoken.encoding_for_model(model)
    except KeyError:  # not an OpenAI model name: o200k is the closest modern default
        return tiktoken.get_encoding("o200k_base")


def count(model: str, text: str) -> int:
    return len(encoding_for(model).encode(text, disallowed_special=()))


def describe(settings: Settings) -> str:
    """"<model> at <host[:port]>" — never the whole base URL, which may carry credentials."""
    parts = urlparse(settings.openai_base_url or "https://api.openai.com/v1")
    host = (parts.hostname or "?") + (f":{parts.port}" if parts.port else "")
    return f"{settings.rag_llm_model} at {host}"


@dataclass
class LLM:
    settings: Settings
    _client: object = field(default=None, repr=False)

    @property
    def model(self) -> str:
        return self.settings.rag_llm_model

    @property
    def client(self):
        if self._client is None:
            from openai import OpenAI

            s = self.settings
            key = s.openai_api_key.get_secret_value() if s.openai_api_key else "not-needed"
            self._client = OpenAI(api_key=key, base_url=s.openai_base_url or None,
                                  timeout=s.rag_llm_timeout, max_retries=s.rag_llm_max_retries)
        return self._client

    def complete(self, messages: list[dict], max_tokens: int | None = None) -> str:
        """The whole reply at once; `max_tokens` caps it (None: the server's default, which may
        be "until the context is full")."""
        cap = {} if max_tokens is None else {"max_tokens": max_tokens}
        try:
            resp = self.client.chat.completions.create(
                model=self.model, messages=messages, temperature=0.0, stream=False, **cap)
        except Exception as exc:
            raise LLMError(explain(exc, self.settings)) from None
        return (resp.choices[0].message.content or "").strip() if resp.choices else ""

    def stream(self, messages: list[dict], usage: Usage, temperature: float | None = None,
               max_tokens: int | None = None) -> Iterator[str]:
        """Text deltas; fills `usage`. Raises LLMError, also for a stream with no content.
        `temperature` and `max_tokens` override the settings for this answer (the /v1 API's)."""
        got_text = False
        stream = None
        s = self.settings
        try:
            stream = self.client.chat.completions.create(
                model=self.model, messages=messages,
                temperature=s.rag_llm_temperature if temperature is None else temperature,
                max_tokens=s.rag_llm_max_tokens if max_tokens is None else max_tokens,
                stream=True, stream_options={"include_usage": True})
            for chunk in stream:
                if getattr(chunk, "usage", None):
                    usage.prompt_tokens = chunk.usage.prompt_tokens or 0
                    usage.completion_tokens = chunk.usage.completion_tokens or 0
                    usage.from_api = True
                for choice in chunk.choices or ():
                    delta = choice.delta.content if choice.delta else None
                    if delta:
                        got_text = True
                        yield delta
        except Exception as exc:
            raise LLMError(explain(exc, self.settings)) from None
        finally:
            # Close now, not whenever the garbage collector gets to it: a response closed from
            # the collector in the middle of the next request deadlocks httpx's pool lock.
            if stream is not None:
                stream.close()
        if not got_text:
            raise LLMError(
                f"The LLM ({describe(self.settings)}) returned an empty answer, which servers such "
                "as llama.cpp do when the prompt exceeds their context; lower RAG_CONTEXT_TOKENS."
            )


def explain(exc: Exception, settings: Settings) -> str:
    """One sentence for each way an OpenAI-compatible call fails."""
    import openai

    who = describe(settings)
    body = str(getattr(exc, "body", "") or exc).lower()
    if isinstance(exc, openai.AuthenticationError):
        return f"The LLM server rejected the API key ({who}); check OPENAI_API_KEY."
    if isinstance(exc, openai.NotFoundError):
        return f"The model is not available ({who}); check RAG_LLM_MODEL."
    if isinstance(exc, openai.RateLimitError):
        return f"The LLM is rate-limited ({who}) and still was after retries; try again later."
    if isinstance(exc, openai.BadRequestError) and ("context" in body or "too long" in body):
        return f"The prompt is too long for the model ({who}); lower RAG_CONTEXT_TOKENS or RAG_TOP_K."
    if isinstance(exc, openai.APITimeoutError):
        return f"The LLM did not answer within {settings.rag_llm_timeout:g} s ({who})."
    if isinstance(exc, openai.APIConnectionError):
        return f"The LLM server cannot be reached ({who}); check OPENAI_BASE_URL and that it runs."
    if isinstance(exc, openai.APIStatusError):
        return f"The LLM server failed with HTTP {exc.status_code} ({who})."
    return f"The LLM call failed ({type(exc).__name__}, {who})."
