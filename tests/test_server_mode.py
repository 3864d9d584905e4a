"""Server mode against a real `chroma run`: one writer, read-only replicas with empty folders, the
change log bringing their mirrors (and keyword indexes) up to date, and a server that goes away."""

from __future__ import annotations

import os
import shutil
import time
import uuid

import pytest

import rag
from rag.config import Settings
from rag.engine import Engine
from tests.chroma_server import ChromaServer
from tests.conftest import SEED, run_cli

NEWS = "The harbour of Porthaven reopened on Tuesday after a storm closed it for nine days.\n"
QUESTION = "When did the Porthaven harbour reopen?"


@pytest.fixture
def shared(tmp_path, chroma_server, model_cache, monkeypatch):
    """A writer over a sources folder, and the settings of a replica with nothing local."""
    sources = tmp_path / "sources"
    sources.mkdir()
    shutil.copy(SEED, sources / SEED.name)
    common = {"RAG_CHROMA_URL": chroma_server.url, "RAG_CHROMA_COLLECTION": f"t{uuid.uuid4().hex[:12]}",
              "RAG_MODEL_CACHE_DIR": str(model_cache), "RAG_HOME": str(tmp_path)}
    for k, v in common.items():
        monkeypatch.setenv(k, v)
    for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RAG_READ_ONLY"):
        monkeypatch.delenv(k, raising=False)
    writer = Engine(Settings(rag_sources_dir=sources, rag_index_dir=tmp_path / "writer"))
    replica_env = {**os.environ, **common, "RAG_INDEX_DIR": str(tmp_path / "replica"),
                   "RAG_READ_ONLY": "true",
                   "RAG_SOURCES_DIR": str(tmp_path / "no-sources-here")}
    yield writer, sources, replica_env
    writer.store.close()
    rag.reset()


def _replica(env: dict) -> Engine:
    return Engine(Settings(rag_index_dir=env["RAG_INDEX_DIR"], rag_sources_dir=env["RAG_SOURCES_DIR"],
                           rag_read_only=True))


def _until(check, seconds: float) -> float:
    t0 = time.monotonic()
    while not check():
        assert time.monotonic() - t0 < seconds, "not within the time allowed"
        time.sleep(0.1)
    return time.monotonic() - t0


def test_a_replica_with_empty_folders_answers_and_follows_the_writer(shared):
    writer, sources, env = shared
    writer.index()
    replica = _replica(env)
    answer = replica.ask("What did Rubio propose?")
    assert answer.citations and (answer.citations[0].source, answer.citations[0].line) == (SEED.name, 5)
    assert replica.library() == writer.library()
    epoch, rowids = replica.store.meta("epoch"), replica.store.db.execute(
        "SELECT id, rowid FROM passages").fetchall()

    (sources / "harbour.md").write_text(NEWS, encoding="utf-8")
    assert writer.index().embedded == 1
    _until(lambda: replica.search(QUESTION, k=1)[0].source == "harbour.md", 5)
    # caught up from the log: the same mirror, the old rows untouched, one row and its terms added
    assert replica.store.meta("epoch") == epoch
    assert set(rowids) <= set(replica.store.db.execute("SELECT id, rowid FROM passages").fetchall())
    assert replica.keyword_index().search(["porthaven"], 5)[0][0] == replica.search(QUESTION, k=1)[0].id
    assert "nine days" in replica.ask(QUESTION).text

    (sources / "harbour.md").unlink()
    writer.index()
    # searching catches up with the log; the keyword index then no longer knows the passage
    _until(lambda: all(h.source != "harbour.md" for h in replica.search(QUESTION, k=5))
           and not replica.keyword_index().search(["porthaven"], 5), 5)
    assert replica.store.meta("log_seq") == writer.store.meta("log_seq") == "3"
    replica.store.close()


def test_a_rebuild_on_the_writer_refills_every_replica(shared):
    writer, sources, env = shared
    writer.index()
    replica = _replica(env)
    before = replica.store.meta("epoch")
    assert replica.search("Rubio", k=1)
    (sources / "harbour.md").write_text(NEWS, encoding="utf-8")
    writer.index(rebuild=True)
    _until(lambda: replica.search(QUESTION, k=1)[0].source == "harbour.md", 5)
    assert replica.store.meta("epoch") != before
    assert replica.store.count() == writer.store.count() == 13
    replica.store.close()


def test_a_replica_refuses_to_write_in_one_sentence(shared, tmp_path):
    writer, _, env = shared
    writer.index()
    note = tmp_path / "note.txt"
    note.write_text(NEWS, encoding="utf-8")
    for args in (["index"], ["add", str(note)], ["remove", SEED.name], ["feeds", "update"]):
        r = run_cli(*args, env=env)
        assert r.returncode == 1, (args, r.stderr)
        assert r.stderr.strip().splitlines()[-1] == (
            "error: This instance is read-only (RAG_READ_ONLY=true): it answers from the shared index; "
            "index, add and remove on the writer.")
    r = run_cli("ask", "What did Rubio propose?", env=env)
    assert r.returncode == 0 and f"{SEED.name}:5" in r.stdout
    assert not (tmp_path / "no-sources-here").exists()  # nothing stored on the replica


def test_a_replica_of_an_empty_server_says_so(shared):
    _, _, env = shared
    replica = _replica(env)
    with pytest.raises(rag.RagError, match="Nothing is indexed in the shared index yet"):
        replica.ask("What did Rubio propose?")
    replica.store.close()


def test_the_server_going_away_mid_run_is_one_sentence_and_the_next_run_heals(tmp_path, model_cache,
                                                                               monkeypatch):
    server = ChromaServer(tmp_path / "data").start()
    sources = tmp_path / "sources"
    sources.mkdir()
    shutil.copy(SEED, sources / SEED.name)
    monkeypatch.setenv("RAG_MODEL_CACHE_DIR", str(model_cache))
    monkeypatch.setenv("RAG_HOME", str(tmp_path))
    settings = Settings(rag_sources_dir=sources, rag_index_dir=tmp_path / "writer", rag_chroma_url=server.url)
    writer = Engine(settings)
    try:
        writer.index()
        (sources / "harbour.md").write_text(NEWS, encoding="utf-8")
        real_embed = writer.embedder.embed

        def embed_then_stop(texts, progress=None):
            vectors = real_embed(texts, progress)
            server.stop()  # the server dies between embedding and the Chroma write
            return vectors

        monkeypatch.setattr(writer.embedder, "embed", embed_then_stop)
        with pytest.raises(rag.RagError) as info:
            writer.index()
        message = str(info.value)
        assert message.startswith(f"The Chroma server at {server.url}")
        assert message.endswith("nothing was lost: run again once it is back.")
        assert writer.store.count() == 12  # the mirror still holds the last commit
        monkeypatch.setattr(writer.embedder, "embed", real_embed)
        server.start()
        report = writer.index()
        assert report.added == 1 and report.passages == 13
        assert writer.search(QUESTION, k=1)[0].source == "harbour.md"
    finally:
        writer.store.close()
        server.stop()
