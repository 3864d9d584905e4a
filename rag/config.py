"""One settings object, read from the environment and `.env`."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_MODEL = "all-MiniLM-L6-v2"


def project_root() -> Path:
    """Where relative paths and `.env` are resolved.

    `RAG_HOME` wins; in a source checkout (pyproject.toml beside the package) it is the
    checkout, so `rag ask` finds the same index from any directory; otherwise the cwd.
    """
    if os.environ.get("RAG_HOME"):
        return Path(os.environ["RAG_HOME"]).expanduser().resolve()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "rag").is_dir():
        return checkout
    return Path.cwd()


def offline_environment() -> None:
    """Keep every library off the network: no model hub, no tiktoken download, no telemetry."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        from importlib.util import find_spec

        spec = find_spec("llama_index.core")
        if spec and spec.submodule_search_locations:
            cache = Path(list(spec.submodule_search_locations)[0]) / "_static" / "tiktoken_cache"
            if cache.is_dir():
                os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file_encoding="utf-8")

    rag_sources_dir: Path = Path("seeds")
    rag_index_dir: Path = Path("index")
    rag_embed_model: str = BUNDLED_MODEL
    # "int8": a dynamically quantized copy of the ONNX model (bundled or local folder models only)
    rag_embed_precision: Literal["fp32", "int8"] = "fp32"
    rag_model_cache_dir: Path | None = None
    rag_top_k: int = Field(5, ge=1, le=50)
    rag_chunk_tokens: int = Field(220, ge=32, le=2000)
    rag_min_relevance: float = Field(0.45, ge=0.0, le=1.0)
    rag_max_file_mb: float = Field(20.0, gt=0)
    rag_lock_timeout: float = Field(30.0, ge=0)
    # Server mode: a Chroma server (`chroma run`, or Chroma's distributed deployment) holds the
    # index that every instance shares; RAG_READ_ONLY replicas answer and never write.
    rag_chroma_url: str | None = Field(None, pattern=r"^https?://[^/\s]+/?$")
    rag_chroma_token: SecretStr | None = None
    rag_chroma_headers: SecretStr | None = None  # JSON object of extra HTTP headers
    rag_chroma_collection: str = Field("rag", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{1,40}$")
    rag_read_only: bool = False
    # URLs (`rag add URL`, feeds): private, loopback and link-local addresses are refused unless
    # "true", or unless listed here as addresses/networks ("10.0.0.0/8,192.168.1.20").
    rag_allow_private_urls: str = "false"
    rag_fetch_timeout: float = Field(20.0, gt=0)
    rag_feed_refresh_minutes: float = Field(30.0, ge=0)  # 0: subscribed feeds refresh only on demand
    rag_watch: bool = True  # `rag ui` indexes files changed in the sources folder as they change
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    rag_llm_model: str = "gpt-4.1-mini"
    rag_llm_timeout: float = Field(60.0, gt=0)
    rag_llm_max_retries: int = Field(2, ge=0, le=10)
    rag_llm_temperature: float = Field(0.1, ge=0.0, le=2.0)
    rag_llm_max_tokens: int = Field(1024, ge=16, le=32768)
    rag_context_tokens: int = Field(3000, ge=200)
    # An LLM answer in which no cited sentence is supported by its passage: "fallback" shows
    # the offline cited answer instead (with a notice), "warn" shows it under a warning.
    rag_unbacked: Literal["fallback", "warn"] = "fallback"
    rag_ui_auth: SecretStr | None = None  # "user:password"
    # The OpenAI-compatible API (`rag serve`, /v1 of `rag ui`): a Bearer key it requires
    rag_api_key: SecretStr | None = None
    rag_ui_examples: str = ("What did Rubio propose?|What did Xi Jinping tell Sergei Shoigu?|"
                            "Why do experts talk about a reverse Nixon?")

    @property
    def sources_dir(self) -> Path:
        return _resolve(self.rag_sources_dir)

    @property
    def index_dir(self) -> Path:
        return _resolve(self.rag_index_dir)

    @property
    def model_cache_dir(self) -> Path:
        return _resolve(self.rag_model_cache_dir) if self.rag_model_cache_dir else self.index_dir / "models"

    @property
    def chroma_headers(self) -> dict[str, str]:
        """HTTP headers for the Chroma server: RAG_CHROMA_HEADERS, and the token as a Bearer."""
        import json

        from rag.errors import RagError

        headers: dict[str, str] = {}
        if self.rag_chroma_headers:
            try:
                raw = json.loads(self.rag_chroma_headers.get_secret_value())
                if not isinstance(raw, dict):
                    raise ValueError
                headers = {str(k): str(v) for k, v in raw.items()}
            except ValueError:
                raise RagError('RAG_CHROMA_HEADERS must be a JSON object, e.g. {"X-Tenant": "news"}.'
                               ) from None
        if self.rag_chroma_token:
            headers["Authorization"] = f"Bearer {self.rag_chroma_token.get_secret_value()}"
        return headers

    @property
    def llm_enabled(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url)


def _resolve(p: Path) -> Path:
    p = p.expanduser()
    return p if p.is_absolute() else (project_root() / p)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    from pydantic import ValidationError

    from rag.errors import RagError

    try:
        return Settings(_env_file=project_root() / ".env")
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err.get("loc") else "a setting"
        raise RagError(
            f"The setting {name} is invalid ({err['msg'].lower()}); fix it in .env or the "
            "environment (see .env.example)."
        ) from None
