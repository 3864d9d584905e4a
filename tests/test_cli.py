"""The `rag` command in a real subprocess, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import RAG, ROOT, SEED, run_cli


def test_ask_prints_cited_answer_with_numbered_sources(seeded, env):
    out = run_cli("ask", "What did Rubio propose?", env=env)
    assert out.returncode == 0, out.stderr
    assert "strategy to dilute ties" in out.stdout and "[1]" in out.stdout
    assert f"[1] {SEED.name}" in out.stdout or f"{SEED.name}:5" in out.stdout
    assert f"{SEED.name}:5" in out.stdout


def test_a_reader_that_stops_early_is_not_an_error(seeded, env):
    # `rag ask ... | head -1`: the pipe is closed before rag writes anything
    p = subprocess.Popen([RAG, "ask", "What did Rubio propose?"], env=env, cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(120) == 0 and "error" not in err.lower(), err


def test_ask_json_is_machine_readable(seeded, env):
    out = run_cli("ask", "--json", "What did Rubio propose?", env=env)
    data = json.loads(out.stdout)
    assert data["mode"] == "extractive" and data["abstained"] is False
    assert data["citations"][0]["line"] == 5 and data["citations"][0]["source"] == SEED.name


def test_search_and_k(seeded, env):
    out = run_cli("search", "Xi Jinping", "-k", "2", "--json", env=env)
    hits = json.loads(out.stdout)
    assert len(hits) == 2 and all("Xi Jinping" in h["text"] for h in hits)
    text = run_cli("search", "Shoigu", env=env).stdout
    assert text.startswith("1. ") and ":6" in text


def test_index_reports_and_shows_warnings(sources, env):
    (sources / "a.txt").write_text("First snippet about ports.\nSecond snippet about ships.\n")
    (sources / "bad.txt").write_bytes(b"\x00\x00binary")
    out = run_cli("index", env=env)
    assert out.returncode == 0, out.stderr
    assert "1 added" in out.stdout and "2 passages embedded" in out.stdout
    assert "bad.txt looks like a binary file" in out.stderr


def test_chat_answers_in_a_loop(seeded, env):
    out = run_cli("chat", env=env, input="What did Rubio propose?\nWhat is the GDP of Brazil?\n\n")
    assert out.returncode == 0, out.stderr
    assert "strategy to dilute ties" in out.stdout
    assert "The indexed sources don't answer that." in out.stdout


def test_exit_codes(seeded, env):
    assert run_cli(env=env).returncode == 2  # no command
    assert run_cli("ask", env=env).returncode == 2  # no question
    assert run_cli("search", "x", "-k", "0", env=env).returncode == 2
    bad = run_cli("ask", "   ", env=env)
    assert bad.returncode == 1 and bad.stderr.strip() == (
        "error: The question is empty; type a question about your sources.")
    for cmd in ("ask", "search", "index", "chat"):
        h = run_cli(cmd, "--help", env=env)
        assert h.returncode == 0 and "usage: rag" in h.stdout


def test_works_with_the_network_blocked(seeded, env):
    """No model hub, no tiktoken download, no telemetry: every socket is refused."""
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise OSError('network is blocked in this test')\n"
        "socket.socket.connect = refuse\nsocket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from rag.cli import main\n"
        "sys.exit(main(['ask', 'What did Rubio propose?']))\n"
    )
    env = {k: v for k, v in env.items() if k != "TIKTOKEN_CACHE_DIR"}
    env["HF_HUB_OFFLINE"] = "0"  # even if a user unset it, nothing must try the hub
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "dilute ties" in out.stdout
