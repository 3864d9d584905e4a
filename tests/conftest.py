"""Shared fixtures: every test gets its own sources and index folders; the ONNX export of the
bundled model is shared by the whole session (it is a cache, not state under test)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SEED = ROOT / "seeds" / "000_30e1234e5a544f5c.txt"
RAG = str(Path(sys.executable).parent / "rag")


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


def pytest_generate_tests(metafunc):
    """Tests marked `both_stores` run twice: on the embedded store, and on a real Chroma server."""
    if metafunc.definition.get_closest_marker("both_stores"):
        metafunc.parametrize("store_mode", ["embedded", "server"], indirect=True)


@pytest.fixture
def store_mode(request) -> str:
    return getattr(request, "param", "embedded")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """`chroma run` (the CLI that ships with chromadb) on a free loopback port, for the session."""
    from tests.chroma_server import ChromaServer

    with ChromaServer(tmp_path_factory.mktemp("chroma-server")) as server:
        yield server


@pytest.fixture
def env(request, tmp_path, model_cache, monkeypatch, store_mode) -> dict[str, str]:
    """Environment pointing rag at fresh folders (and, for `both_stores` tests in server mode, at
    a collection of its own on the session's Chroma server); applied to this process and usable
    for subprocesses."""
    sources, index = tmp_path / "sources", tmp_path / "index"
    sources.mkdir()
    values = {
        "RAG_SOURCES_DIR": str(sources),
        "RAG_INDEX_DIR": str(index),
        "RAG_MODEL_CACHE_DIR": str(model_cache),
        "RAG_HOME": str(tmp_path),  # no .env of the developer's leaks in
    }
    if store_mode == "server":
        import uuid

        values["RAG_CHROMA_URL"] = request.getfixturevalue("chroma_server").url
        values["RAG_CHROMA_COLLECTION"] = f"t{uuid.uuid4().hex[:12]}"
    for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RAG_EMBED_MODEL", "RAG_EMBED_PRECISION", "RAG_TOP_K",
              "RAG_CHROMA_URL", "RAG_READ_ONLY"):
        monkeypatch.delenv(k, raising=False)
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    import rag

    rag.reset()
    yield {**os.environ, **values}
    rag.reset()


@pytest.fixture
def sources(env) -> Path:
    return Path(env["RAG_SOURCES_DIR"])


@pytest.fixture
def seeded(sources) -> Path:
    shutil.copy(SEED, sources / SEED.name)
    return sources


@pytest.fixture
def engine(env):
    import rag

    return rag.get_engine()


def run_cli(*args: str, env: dict, input: str | None = None, timeout: float = 180):
    return subprocess.run([RAG, *args], env=env, input=input, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="session")
def ui_offline(tmp_path_factory, model_cache):
    """`rag ui` on loopback, offline, over the seed file (shared: tests add distinct files). It does
    not watch the sources folder: these tests put files there for Re-index to find (the watched
    folder has its own server in test_ui_sources_browser.py)."""
    from tests.ui_server import UIServer, ui_env

    env = ui_env(tmp_path_factory.mktemp("ui"), model_cache, RAG_MAX_FILE_MB="1", RAG_WATCH="false",
                 RAG_FEED_REFRESH_MINUTES="0")
    with UIServer(env) as server:
        yield server


@pytest.fixture(scope="session")
def fake_llm():
    from tests.openai_server import FakeOpenAI

    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="session")
def ui_llm(tmp_path_factory, model_cache, fake_llm):
    """`rag ui` answering through the local OpenAI-compatible test server."""
    from tests.ui_server import UIServer, ui_env

    env = ui_env(tmp_path_factory.mktemp("ui-llm"), model_cache, OPENAI_BASE_URL=fake_llm.url,
                 OPENAI_API_KEY="sk-test-secret-4242", RAG_LLM_MODEL="gpt-4.1-mini", RAG_LLM_TIMEOUT="5",
                 RAG_LLM_MAX_RETRIES="0", RAG_WATCH="false", RAG_FEED_REFRESH_MINUTES="0")
    with UIServer(env) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright: one for every browser test."""
    from playwright.sync_api import sync_playwright

    from tests.ui_server import BROWSER_ARGS, CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (make test does it).")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield b
        b.close()
