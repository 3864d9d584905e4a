"""Index runs of an answering process (`rag ui`) go to one long-lived child process
(rag/index_child.py): it reports progress and its report back, its errors keep their class, its
death is one sentence, and the parent answers from what it committed."""

from __future__ import annotations

import os

import pytest

from rag.errors import IndexMismatchError, RagError
from rag.index_child import NICE, IndexWorker


@pytest.fixture
def worker(engine):
    engine.index_worker = IndexWorker(engine.settings)
    yield engine.index_worker
    engine.index_worker.close()


@pytest.mark.both_stores
def test_runs_in_a_child_and_the_parent_answers_from_its_commit(engine, worker, seeded, monkeypatch):
    monkeypatch.setenv("RAG_FAULT", "embed")  # kills the process that embeds, as kill -9 would
    worker.start()
    child = worker._proc.pid
    assert child != os.getpid()
    assert os.getpriority(os.PRIO_PROCESS, child) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICE)
    with pytest.raises(RagError, match="Indexing stopped before it finished"):
        engine.index()
    monkeypatch.delenv("RAG_FAULT")
    seen = []
    report = engine.index(progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert worker._proc.pid != child  # started again
    assert (report.added, report.embedded, report.passages) == (1, 12, 12)
    assert ("scan", 1, 1) in seen and ("embed", 12, 12) in seen
    assert "Rubio" in engine.ask("What did Rubio propose?").text
    # the same child serves the next run, and the parent sees that commit too
    child = worker._proc.pid
    (seeded / "ferry.txt").write_text("The Baltic ferry strike ended on Tuesday after nine days.\n")
    assert engine.index().added == 1 and worker._proc.pid == child
    assert "nine days" in engine.ask("How long did the Baltic ferry strike last?").text
    assert engine.store.count() == 13


def test_errors_come_back_as_they_were_raised(engine, seeded):
    engine.index()
    other = IndexWorker(engine.settings.model_copy(update={"rag_embed_model": "another-model"}))
    try:
        with pytest.raises(IndexMismatchError, match="rebuild"):
            other.run(None, False)
        assert other._proc.poll() is None  # an error is a reply, not the end of the child
    finally:
        other.close()
