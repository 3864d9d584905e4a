"""Bad input gets one clear sentence, and nothing already indexed is lost."""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import subprocess

import pytest

import rag
from tests.conftest import RAG, ROOT, SEED, run_cli


def _one_sentence(text: str) -> bool:
    return text.startswith("error: ") and text.count("\n") == 1 and "Traceback" not in text


def test_bad_files_are_warned_about_and_the_rest_is_indexed(seeded):
    rag.index()
    (seeded / "binary.txt").write_bytes(b"\x7fELF\x00\x00\x00")
    (seeded / "empty.md").write_bytes(b"")
    (seeded / "latin1.txt").write_bytes("Überraschung in Köln.\nZweite Zeile.\n".encode("cp1252"))
    (seeded / "image.png").write_bytes(b"\x89PNG\r\n")
    (seeded / "good.jsonl").write_text('{"text": "The ferry strike ended on Tuesday."}\n')
    report = rag.index()
    assert report.files["binary.txt"] == "rejected" and report.files["empty.md"] == "rejected"
    assert report.files["latin1.txt"] == "added" and report.files["good.jsonl"] == "added"
    warnings = " | ".join(report.warnings)
    for needle in ("binary.txt looks like a binary file", "empty.md is empty",
                   "latin1.txt is not UTF-8", "image.png was skipped: unsupported type"):
        assert needle in warnings
    assert report.passages == 12 + 2 + 1
    assert rag.search("ferry strike", k=1)[0].source == "good.jsonl"
    assert rag.ask("What did Rubio propose?").citations[0].line == 5


def test_a_file_that_turns_bad_keeps_its_passages(seeded):
    rag.index()
    (seeded / SEED.name).write_bytes(b"\x00" * 64)
    report = rag.index()
    assert any("earlier passages are kept" in w for w in report.warnings)
    assert report.passages == 12
    assert rag.ask("What did Rubio propose?").citations[0].line == 5


def _drop_read_override():
    """Root reads any file: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the child's
    capability bounding set so that a mode-000 file really is unreadable to it."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_unreadable_file(seeded, env):
    locked = seeded / "secret.txt"
    locked.write_text("Hidden snippet one.\nHidden snippet two.\n")
    locked.chmod(0o000)
    out = subprocess.run([RAG, "index"], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=300, preexec_fn=_drop_read_override if os.geteuid() == 0 else None)
    assert out.returncode == 0, out.stderr
    assert "secret.txt cannot be read (permission denied)" in out.stderr
    assert "1 added" in out.stdout and "12 passages in the index" in out.stdout


def test_missing_sources_dir(env):
    shutil.rmtree(env["RAG_SOURCES_DIR"])
    out = run_cli("index", env=env)
    assert out.returncode == 1 and _one_sentence(out.stderr)
    assert "sources folder" in out.stderr and "does not exist" in out.stderr


def test_nothing_indexed_yet_is_said_not_abstained(env, sources):
    r = run_cli("ask", "What did Rubio propose?", env=env)
    last = r.stderr.splitlines()[-1] + "\n"  # after the one-off model export notice, if any
    assert r.returncode == 1 and _one_sentence(last)
    assert last.startswith("error: Nothing is indexed yet: put news files (.txt, .md, .html, .pdf, feeds, "
                           f"...) in {sources}")
    shutil.copy(SEED, sources / SEED.name)
    assert run_cli("ask", "What did Rubio propose?", env=env).returncode == 0  # indexed lazily


def test_corrupt_index_gives_a_sentence_and_rebuild_recovers(seeded, env):
    rag.index()
    rag.reset()
    record = os.path.join(env["RAG_INDEX_DIR"], "record.sqlite")
    with open(record, "wb") as f:
        f.write(b"this is not a database" * 100)
    out = run_cli("ask", "What did Rubio propose?", env=env)
    assert out.returncode == 1 and _one_sentence(out.stderr)
    assert "damaged" in out.stderr and "rag index --rebuild" in out.stderr
    out = run_cli("index", "--rebuild", env=env)
    assert out.returncode == 0, out.stderr
    assert "12 passages in the index" in out.stdout
    with sqlite3.connect(record) as db:
        assert db.execute("SELECT COUNT(*) FROM passages").fetchone()[0] == 12


def test_index_locked_by_another_writer(seeded, env):
    rag.index()
    lock = os.path.join(env["RAG_INDEX_DIR"], ".writer.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        out = run_cli("index", env={**env, "RAG_LOCK_TIMEOUT": "0.5"})
        assert out.returncode == 1 and _one_sentence(out.stderr)
        assert "Another process is updating the index" in out.stderr
        # readers are not blocked by a writer that is embedding
        ok = run_cli("ask", "What did Rubio propose?", env={**env, "RAG_LOCK_TIMEOUT": "0.5"})
        assert ok.returncode == 0 and "dilute ties" in ok.stdout
    finally:
        os.close(fd)
    assert run_cli("index", env=env).returncode == 0


@pytest.mark.parametrize("setting,value", [("RAG_TOP_K", "zero"), ("RAG_MIN_RELEVANCE", "7")])
def test_bad_settings_are_one_sentence(seeded, env, setting, value):
    out = run_cli("ask", "What did Rubio propose?", env={**env, setting: value})
    assert out.returncode == 1 and _one_sentence(out.stderr)
    assert setting in out.stderr
