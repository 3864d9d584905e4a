"""`rag index`, `add` and `remove` in a shell hand their runs to a running `rag watch` (real
processes, a real Unix socket); with no writer listening they run themselves."""

from __future__ import annotations

import queue
import signal
import stat
import subprocess
import threading
import time

import pytest

import rag
from rag.handoff import SOCKET, Writer, writer_for
from tests.conftest import RAG, ROOT, run_cli

DEADLINE = 120


class Watch:
    """`rag watch` in a subprocess, its output lines collected."""

    def __init__(self, env):
        self.proc = subprocess.Popen([RAG, "watch"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen = ""
        threading.Thread(target=lambda: [self.lines.put(ln) for ln in self.proc.stdout], daemon=True).start()
        self.wait_for("Watching ")

    def wait_for(self, text: str, times: int = 1) -> None:
        end = time.monotonic() + DEADLINE
        while self.seen.count(text) < times and time.monotonic() < end:
            try:
                self.seen += self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
        assert self.seen.count(text) >= times, self.seen

    def stop(self, sig=signal.SIGTERM) -> None:
        self.proc.send_signal(sig)
        self.proc.wait(10)
        self.proc.stdout.close()


@pytest.fixture
def watching(seeded, env):
    w = Watch(env)
    yield w
    if w.proc.poll() is None:
        w.stop()


def test_add_and_remove_in_a_shell_run_in_the_running_writer(watching, env, tmp_path):
    sock = tmp_path / "index" / SOCKET
    assert stat.S_ISSOCK(sock.stat().st_mode) and stat.S_IMODE(sock.stat().st_mode) == 0o600
    new = tmp_path / "tram.txt"
    new.write_text("The Harwick council approved a tram line to the airport costing 40 million euros.\n")

    added = run_cli("add", str(new), env=env)
    assert added.returncode == 0, added.stderr
    assert "added  tram.txt" in added.stdout
    assert f"by the running writer (pid {watching.proc.pid})" in added.stdout, added.stdout
    # The watcher says it ran the shell's request. It also sees the file arrive, and indexes it
    # if the shell's request comes later than its debounce (then the request finds no change).
    watching.wait_for("(asked from a shell)")
    rag.reset()
    hit = rag.search("tram line to the airport", k=1)[0]
    assert (hit.source, hit.line) == ("tram.txt", 1)

    removed = run_cli("remove", "tram.txt", env=env)
    assert removed.returncode == 0, removed.stderr
    watching.wait_for("(asked from a shell)", times=2)
    rag.reset()
    assert "tram.txt" not in {row["source"] for row in rag.library()}

    again = run_cli("index", "--json", env=env)
    assert again.returncode == 0 and '"unchanged": 1' in again.stdout, again.stdout + again.stderr
    watching.wait_for("(asked from a shell)", times=3)


def test_a_killed_writer_leaves_its_socket_and_the_shell_runs_itself(watching, env, tmp_path):
    watching.stop(signal.SIGKILL)
    assert (tmp_path / "index" / SOCKET).exists()  # nothing removed it
    assert writer_for(rag.get_engine().settings) is None  # and nothing answers there
    (tmp_path / "sources" / "late.txt").write_text("Snippet about cobalt mines in the north.\n")

    out = run_cli("index", env=env)
    assert out.returncode == 0, out.stderr
    assert "1 added" in out.stdout and "1 passage embedded" in out.stdout
    assert "by the running writer" not in out.stdout
    rag.reset()
    hit = rag.search("cobalt mines", k=1)[0]
    assert (hit.source, hit.line) == ("late.txt", 1)


def test_a_second_writer_leaves_the_live_one_in_place(watching, engine, tmp_path):
    sock = tmp_path / "index" / SOCKET
    before = sock.stat().st_ino
    second = Writer(engine).start()
    try:
        assert sock.stat().st_ino == before  # not replaced
        assert writer_for(engine.settings) is not None
    finally:
        second.close()
    assert sock.exists()  # closing the writer that never listened removes nothing


def test_a_request_for_another_sources_folder_is_refused_in_one_sentence(watching, env, tmp_path):
    other = tmp_path / "other-sources"
    other.mkdir()
    out = run_cli("index", env={**env, "RAG_SOURCES_DIR": str(other)})
    assert out.returncode == 1
    assert f"reads {tmp_path / 'sources'}, not {other}" in out.stderr, out.stderr
    assert "no change (asked" not in watching.seen
