"""Incremental indexing against a real Chroma store and the real embedding model."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import DATA, SEED, run_cli


def _chroma_count(engine) -> int:
    return engine.store.collection.count()


@pytest.mark.both_stores
def test_first_index_embeds_everything_and_second_embeds_nothing(engine, seeded):
    first = engine.index()
    assert (first.added, first.updated, first.removed, first.unchanged) == (1, 0, 0, 0)
    assert first.embedded == 12 and first.passages == 12
    again = engine.index()
    assert (again.added, again.updated, again.unchanged, again.embedded) == (0, 0, 1, 0)
    assert again.passages == 12 == _chroma_count(engine)


@pytest.mark.both_stores
def test_changing_one_line_embeds_one_passage(engine, seeded):
    engine.index()
    f = seeded / SEED.name
    lines = f.read_text(encoding="utf-8").splitlines()
    lines[2] = "Analysts now say the rapprochement resembles a reverse Nixon in 2025."
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = engine.index()
    assert (report.updated, report.embedded, report.passages) == (1, 1, 12)
    assert _chroma_count(engine) == 12
    hit = engine.search("reverse Nixon 2025", k=1)[0]
    assert hit.line == 3 and "2025" in hit.text


@pytest.mark.both_stores
def test_moved_lines_keep_their_vectors(engine, seeded):
    engine.index()
    f = seeded / SEED.name
    f.write_text("A brand new first snippet about tariffs.\n" + f.read_text(encoding="utf-8"),
                 encoding="utf-8")
    report = engine.index()
    assert report.embedded == 1  # only the new line; the shifted ones reuse their vectors
    assert report.passages == 13 == _chroma_count(engine)
    rubio = engine.search("What did Rubio propose?", k=1)[0]
    assert rubio.line == 6  # provenance follows the move


@pytest.mark.both_stores
def test_deleted_file_is_removed_from_both_stores(engine, seeded):
    shutil.copy(DATA / "news" / "economy.txt", seeded / "economy.txt")
    assert engine.index().passages == 12 + 24
    (seeded / "economy.txt").unlink()
    report = engine.index()
    assert (report.removed, report.passages) == (1, 12)
    assert _chroma_count(engine) == 12
    assert all(p.source == SEED.name for p in engine.search("Federal Reserve interest rates", k=10))


@pytest.mark.both_stores
def test_second_process_sees_the_same_index(engine, seeded, env):
    engine.index()
    out = run_cli("index", "--json", env=env)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert (report["unchanged"], report["embedded"], report["passages"]) == (1, 0, 12)
    # a change made by another process is seen here without restarting (no duplicates)
    (seeded / "extra.txt").write_text("Snippet one about lithium mines.\nSnippet two about cobalt.\n")
    out = run_cli("index", "--json", env=env)
    assert json.loads(out.stdout)["embedded"] == 2
    hits = engine.search("cobalt", k=3)
    assert hits[0].source == "extra.txt" and hits[0].line == 2
    assert _chroma_count(engine) == 14 == engine.store.count()


@pytest.mark.both_stores
def test_rebuild_starts_from_scratch(engine, seeded):
    engine.index()
    report = engine.index(rebuild=True)
    assert (report.added, report.embedded, report.passages) == (1, 12, 12)
    assert _chroma_count(engine) == 12


@pytest.mark.both_stores
def test_orphans_and_missing_vectors_are_reconciled(engine, seeded):
    """A run that died between the Chroma write and the record commit heals next time."""
    import numpy as np

    engine.index()
    col = engine.store.collection
    vector = np.ones(engine.embedder.dim).tolist()
    col.upsert(ids=["orphan-id"], embeddings=[vector], metadatas=[{"source": "ghost.txt"}])
    # The next run that writes to Chroma (a run with nothing to write leaves it closed) finds
    # that the counts differ, and deletes the orphan.
    (seeded / "wire.txt").write_text("A harbour fire in Rotterdam was put out on Monday.\n")
    assert engine.index().embedded == 1
    assert "orphan-id" not in set(col.get(include=[])["ids"])
    # Counts that agree by chance: the commit's own mark says it died half-way.
    col.upsert(ids=["orphan-id"], embeddings=[vector], metadatas=[{"source": "ghost.txt"}])
    victim = engine.search("Rubio", k=1)[0]
    col.delete(ids=[victim.id])
    engine.store._set_meta({"chroma_pending": "1"})
    report = engine.index()
    assert report.embedded == 1
    ids = set(col.get(include=[])["ids"])
    assert "orphan-id" not in ids and victim.id in ids and len(ids) == 13
    assert engine.store.meta("chroma_pending") == "0"


def test_a_run_with_nothing_to_write_opens_neither_chroma_nor_the_model(engine, seeded):
    import os
    import time

    from rag.engine import Engine

    long_ago = time.time() - 3600
    os.utime(seeded / SEED.name, (long_ago, long_ago))
    engine.index()
    fresh = Engine(engine.settings)  # as in a new process: Chroma not opened yet
    try:
        assert fresh.index().unchanged == 1
        # Neither Chroma (reading its index is ~6 s at 1M passages) nor the model was loaded.
        assert fresh.store._collection is None and fresh._embedder is None
        # A commit that died half-way is reconciled even when no file changed, and then marked done.
        fresh.store._set_meta({"chroma_pending": "1"})
        assert fresh.index().unchanged == 1
        assert fresh.store._collection is not None and fresh.store.meta("chroma_pending") == "0"
    finally:
        fresh.store.close()


@pytest.mark.both_stores
def test_indexing_given_paths_only_touches_them(engine, seeded, tmp_path):
    engine.index()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "note.md").write_text("The harbour reopened after the storm.\n")
    report = engine.index([outside / "note.md"])
    assert report.added == 1 and report.removed == 0 and report.passages == 13
    hit = engine.search("harbour storm", k=1)[0]
    assert hit.source == str((outside / "note.md").resolve())


def test_another_embedding_model_is_refused_until_rebuild(engine, seeded, env):
    engine.index()
    assert engine.status()["embed_model"] == "all-MiniLM-L6-v2"
    from rag.embed import bundled_model_dir

    other = {**env, "RAG_EMBED_MODEL": str(bundled_model_dir())}  # a different model name
    out = run_cli("search", "Rubio", env=other)
    assert out.returncode == 1
    assert "built with the embedding model 'all-MiniLM-L6-v2'" in out.stderr
    assert "rag index --rebuild" in out.stderr and out.stderr.count("\n") == 1
    out = run_cli("index", "--rebuild", env=other)
    assert out.returncode == 0, out.stderr
    assert run_cli("search", "Rubio", "--json", env=other).returncode == 0


def test_unreachable_embedding_service_is_one_sentence(engine, seeded, env):
    env = {**env, "RAG_EMBED_MODEL": "openai:text-embedding-3-small", "OPENAI_API_KEY": "sk-test",
           "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    out = run_cli("index", env=env)
    assert out.returncode == 1
    assert out.stderr.startswith("error: The embedding model openai:text-embedding-3-small failed")
    assert "Traceback" not in out.stderr


def test_an_index_run_commits_while_other_threads_search_nonstop(env, seeded, monkeypatch):
    """Readers that keep the index busy must neither starve a commit nor deadlock with it."""
    import threading

    import rag

    monkeypatch.setenv("RAG_LOCK_TIMEOUT", "5")
    rag.reset()
    engine = rag.get_engine()
    engine.index()
    stop, errors, searches = threading.Event(), [], []

    def reader():
        try:
            while not stop.is_set():
                searches.append(engine.search("What did Rubio propose?", k=1)[0].line)
        except BaseException as exc:  # noqa: BLE001 (recorded, then asserted on)
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        (seeded / "wire.txt").write_text("A harbour fire in Rotterdam was put out on Monday.\n")
        report = engine.index()
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors, errors
    assert (report.added, report.embedded, report.passages) == (1, 1, 13)
    assert searches and set(searches) == {5}
    assert engine.search("Rotterdam harbour fire", k=1)[0].source == "wire.txt"
