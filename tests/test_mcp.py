"""`rag mcp`, driven by the official MCP SDK's own client: over stdio (the server a subprocess, as
Claude Desktop or an IDE runs it) and over streamable HTTP."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time

import anyio
import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import RAG, ROOT, SEED, run_cli

RUBIO = SEED.read_text(encoding="utf-8").splitlines()[4]  # line 5: the passage that answers
EMPTY = "The question is empty; type a question about your sources."


@pytest.fixture(scope="module")
def library(tmp_path_factory, model_cache):
    """The environment for `rag mcp` subprocesses: the seed file, not yet indexed (the server
    indexes it during its first tool call, which must not write to stdout either). The model is
    loaded here first, which makes its ONNX export if the session hasn't yet."""
    from rag.embed import get_embedder

    tmp = tmp_path_factory.mktemp("mcp")
    (tmp / "sources").mkdir()
    shutil.copy(SEED, tmp / "sources" / SEED.name)
    values = {"RAG_SOURCES_DIR": str(tmp / "sources"), "RAG_INDEX_DIR": str(tmp / "index"),
              "RAG_MODEL_CACHE_DIR": str(model_cache), "RAG_HOME": str(tmp)}
    with pytest.MonkeyPatch.context() as mp:
        for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RAG_EMBED_MODEL", "RAG_TOP_K", "RAG_CHROMA_URL",
                  "RAG_READ_ONLY", "RAG_EMBED_PRECISION"):
            mp.delenv(k, raising=False)
        for k, v in values.items():
            mp.setenv(k, v)
        from rag.config import get_settings

        get_settings.cache_clear()
        get_embedder(get_settings().rag_embed_model, model_cache)
        get_settings.cache_clear()
        yield {"env": dict(os.environ), "tmp": tmp}


def _range_error(since: str) -> str:
    """The one sentence rag gives for a bad date (the tool passes it on as it is)."""
    from rag.dates import parse_range

    with pytest.raises(ValueError) as exc:
        parse_range(since, None, ("Since", "Until"))
    return str(exc.value)


def _text(result) -> str:
    assert len(result.content) == 1 and result.content[0].type == "text"
    return result.content[0].text


def test_stdio_tools_search_ask_sources(library):
    """The three tools with their schemas, each answering as the Python API does, and a bad call
    coming back as a tool error in one sentence. The first call indexes the sources; stdout
    carried nothing but the protocol all along (or the SDK's client could not have parsed it),
    and the banner and logs went to stderr."""
    errlog = library["tmp"] / "stdio-stderr.txt"
    params = StdioServerParameters(command=RAG, args=["mcp"], env=library["env"], cwd=str(ROOT))

    async def session() -> None:
        with anyio.fail_after(60), errlog.open("w") as err:
            async with stdio_client(params, errlog=err) as (read, write), ClientSession(read, write) as s:
                init = await s.initialize()
                assert init.server_info.name == "rag" and "[n]" in (init.instructions or "")

                tools = {t.name: t for t in (await s.list_tools()).tools}
                assert set(tools) == {"search", "ask", "sources"}
                search = tools["search"].input_schema
                assert search["required"] == ["query"]
                assert set(search["properties"]) == {"query", "k", "since", "until"}
                assert search["properties"]["k"]["default"] == 5 and search["properties"]["k"]["minimum"] == 1
                ask = tools["ask"].input_schema
                assert ask["required"] == ["question"] and set(ask["properties"]) == {"question", "since",
                                                                                      "until"}
                assert tools["sources"].input_schema.get("properties", {}) == {}
                for t in tools.values():
                    assert t.description and t.output_schema["type"] == "object"
                    assert t.annotations.read_only_hint is True

                found = await s.call_tool("search", {"query": "What did Rubio propose?", "k": 3})
                assert not found.is_error
                passages = found.structured_content["passages"]
                assert len(passages) == 3
                top = passages[0]
                assert {"id", "source", "line", "page", "text", "score", "date", "url", "title",
                        "ref"} <= set(top)
                assert (top["source"], top["line"], top["page"]) == (SEED.name, 5, None)
                assert top["text"] == RUBIO and top["ref"] == f"{SEED.name}:5"
                assert top["score"] >= passages[1]["score"] >= passages[2]["score"]
                assert _text(found).startswith(f"[1] {SEED.name}:5 (score ")
                assert RUBIO in _text(found)

                answer = await s.call_tool("ask", {"question": "What did Rubio propose?"})
                assert not answer.is_error
                text = _text(answer)
                assert "[1]" in text and "dilute ties" in text
                assert f"\n\nSources:\n[1] {SEED.name}:5 — “" in text
                data = answer.structured_content
                assert "[1]" in data["text"] and not data["abstained"] and data["mode"] == "extractive"
                cited = data["citations"][0]
                assert (cited["n"], cited["source"], cited["line"]) == (1, SEED.name, 5)
                assert cited["supported"] is True
                assert cited["quote"] and cited["quote"] in RUBIO

                listed = await s.call_tool("sources", {})
                assert not listed.is_error
                lines = SEED.read_text(encoding="utf-8").splitlines()
                assert all(line.strip() for line in lines)  # so: one passage a line
                [row] = listed.structured_content["sources"]
                assert (row["source"], row["passages"]) == (SEED.name, len(lines))
                assert abs(row["indexed_at"] - time.time()) < 120 and row["indexed"].endswith("Z")
                totals = listed.structured_content
                assert (totals["files"], totals["passages"]) == (1, len(lines))
                assert f"{SEED.name}: {len(lines)} passages, indexed {row['indexed']}" in _text(listed)

                bad = await s.call_tool("ask", {"question": "   "})
                assert bad.is_error and _text(bad) == EMPTY and not bad.structured_content
                bad_date = await s.call_tool("search", {"query": "Rubio", "since": "last week"})
                assert bad_date.is_error and _text(bad_date) == _range_error("last week")

    anyio.run(session)
    log = errlog.read_text()
    assert "rag MCP server on stdio" in log and "Traceback" not in log


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_streamable_http(library):
    """`rag mcp --http PORT` on loopback, through the SDK's streamable HTTP client; requests
    naming another host are refused (DNS rebinding), and Ctrl-C stops it without a traceback."""
    port = _free_port()
    errlog = (library["tmp"] / "http-stderr.txt").open("w")
    proc = subprocess.Popen([RAG, "mcp", "--http", str(port)], env=library["env"], cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errlog)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 45
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, (library["tmp"] / "http-stderr.txt").read_text()
                assert time.monotonic() < deadline, "rag mcp --http did not start listening"
                time.sleep(0.2)

        async def session() -> None:
            with anyio.fail_after(30):
                async with streamable_http_client(url) as (read, write), ClientSession(read, write) as s:
                    await s.initialize()
                    assert {t.name for t in (await s.list_tools()).tools} == {"search", "ask", "sources"}
                    answer = await s.call_tool("ask", {"question": "What did Rubio propose?"})
                    assert not answer.is_error and "[1]" in _text(answer)
                    assert answer.structured_content["citations"][0]["line"] == 5
                    bad = await s.call_tool("ask", {"question": ""})
                    assert bad.is_error and _text(bad) == EMPTY

        anyio.run(session)
        rebound = httpx.post(url, headers={"Host": "attacker.example", "Content-Type": "application/json",
                                           "Accept": "application/json, text/event-stream"},
                             content=b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}', timeout=10)
        assert rebound.status_code == 421
        proc.send_signal(signal.SIGINT)
        # Ctrl-C: uvicorn shuts down gracefully (0), or the interrupt reaches rag's handler (130)
        assert proc.wait(timeout=20) in (0, 130)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        errlog.close()
    log = (library["tmp"] / "http-stderr.txt").read_text()
    assert f"rag MCP server at {url}" in log and "Traceback" not in log


def test_refuses_other_addresses_and_stray_options(library):
    """No login over HTTP, so another address than loopback needs --insecure; --host and
    --insecure mean nothing without --http (usage error); a taken port is one sentence."""
    refused = run_cli("mcp", "--http", str(_free_port()), "--host", "0.0.0.0", env=library["env"], timeout=60)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith("error: Refusing to serve MCP on 0.0.0.0")
    assert "--insecure" in refused.stderr
    stray = run_cli("mcp", "--insecure", env=library["env"], timeout=60)
    assert stray.returncode == 2 and "--http" in stray.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = run_cli("mcp", "--http", str(taken.getsockname()[1]), env=library["env"], timeout=60)
    assert busy.returncode == 1 and "port is in use" in busy.stderr and busy.stderr.count("\n") == 1
