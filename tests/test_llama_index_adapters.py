"""The LlamaIndex adapters: `RagRetriever` inside LlamaIndex's own query and chat engines (with its
`MockLLM`, so no model is called), and `RagEmbedding` giving the engine's own vectors."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import numpy as np
import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.chat_engine import CondensePlusContextChatEngine
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import CitationQueryEngine, RetrieverQueryEngine
from llama_index.core.schema import MetadataMode, NodeWithScore, TextNode

import rag
from rag.integrations.llama_index import RagEmbedding, RagRetriever
from rag.schema import Passage
from tests.conftest import ROOT, SEED

QUESTION = "What did Rubio propose?"
RUBIO = SEED.read_text(encoding="utf-8").splitlines()[4]  # line 5


def test_import_path_is_the_adapter():
    from rag.adapters import llama_index as adapter

    assert RagRetriever is adapter.RagRetriever and RagEmbedding is adapter.RagEmbedding
    assert issubclass(RagRetriever, BaseRetriever) and issubclass(RagEmbedding, BaseEmbedding)


def test_retriever_returns_rag_search_as_nodes(seeded):
    nodes = RagRetriever().retrieve(QUESTION)
    hits = rag.search(QUESTION, k=5)
    assert len(nodes) == 5
    assert all(isinstance(n, NodeWithScore) and isinstance(n.node, TextNode) for n in nodes)
    assert [(n.node.node_id, n.node.text, n.score) for n in nodes] == [(h.id, h.text, h.score) for h in hits]
    top = nodes[0].node
    assert top.text == RUBIO
    assert top.metadata == {"source": SEED.name, "line": 5, "page": None, "title": "", "url": "", "date": ""}
    assert top.ref_doc_id == SEED.name
    # Embedding sees the passage alone; the LLM also sees where it comes from, not empty fields.
    assert top.get_content(MetadataMode.EMBED) == RUBIO
    assert top.get_content(MetadataMode.LLM) == f"source: {SEED.name}\nline: 5\n\n{RUBIO}"

    two = RagRetriever(similarity_top_k=2).retrieve(QUESTION)
    assert [n.node.node_id for n in two] == [h.id for h in hits[:2]]
    assert RagRetriever(since="2999-01-01").retrieve(QUESTION) == []
    from_async = asyncio.run(RagRetriever().aretrieve(QUESTION))
    assert [n.node.node_id for n in from_async] == [h.id for h in hits]
    with pytest.raises(rag.RagError, match="The question is empty"):
        RagRetriever().retrieve("  ")


def test_retriever_is_a_thin_layer_over_the_engine():
    """Everything it returns comes from the engine's search, with its arguments passed through."""

    class Engine:
        calls = []

        def search(self, query, k, since, until):
            self.calls.append((query, k, since, until))
            return [Passage(id="p1", source="a.pdf", text="Text.", line=3, page=2, title="T", url="https://x",
                            date="2025-03-01", char_start=10, char_end=15, score=0.5)]

    engine = Engine()
    [hit] = RagRetriever(similarity_top_k=7, since="2025", until="2025-06", engine=engine).retrieve("q?")
    assert engine.calls == [("q?", 7, "2025", "2025-06")]
    assert (hit.node.node_id, hit.node.text, hit.score) == ("p1", "Text.", 0.5)
    assert hit.node.metadata == {"source": "a.pdf", "line": 3, "page": 2, "title": "T", "url": "https://x",
                                 "date": "2025-03-01"}
    assert (hit.node.start_char_idx, hit.node.end_char_idx) == (10, 15)
    assert "url" not in hit.node.get_content(MetadataMode.LLM)
    with pytest.raises(ValueError):
        RagRetriever(similarity_top_k=0)


def test_retriever_query_engine(seeded):
    engine = RetrieverQueryEngine.from_args(RagRetriever(), llm=MockLLM())
    response = engine.query(QUESTION)
    assert [n.node.node_id for n in response.source_nodes] == [h.id for h in rag.search(QUESTION)]
    top = response.source_nodes[0].node
    assert (top.metadata["source"], top.metadata["line"], top.text) == (SEED.name, 5, RUBIO)
    assert RUBIO in str(response)  # MockLLM echoes its prompt: the passage reached the LLM verbatim
    assert asyncio.run(engine.aquery(QUESTION)).source_nodes[0].node.node_id == top.node_id


def test_condense_plus_context_chat_engine(seeded):
    chat = CondensePlusContextChatEngine.from_defaults(RagRetriever(similarity_top_k=3), llm=MockLLM())
    first = chat.chat(QUESTION)
    assert first.source_nodes[0].node.metadata["line"] == 5 and len(first.source_nodes) == 3
    assert RUBIO in first.response
    second = chat.chat("And what did Beijing say about it?")
    assert second.source_nodes and {n.node.metadata["source"] for n in second.source_nodes} == {SEED.name}
    assert len(chat.chat_history) == 4


def test_citation_query_engine(seeded):
    # CitationQueryEngine takes a retriever directly (from_args wants an index to build one from).
    engine = CitationQueryEngine(retriever=RagRetriever(), llm=MockLLM())
    response = engine.query(QUESTION)
    first = response.source_nodes[0].node
    assert first.get_content().rstrip("\n") == f"Source 1:\n{RUBIO}"
    assert (first.metadata["source"], first.metadata["line"]) == (SEED.name, 5)
    assert "Source 1:" in str(response)


def test_rag_embedding_gives_the_engines_vectors(env):
    embedder = rag.get_engine().embedder
    model = RagEmbedding()
    assert model.model_name == embedder.key and model.dim == embedder.dim == 384
    texts = ["Rubio outlined a strategy to dilute ties between Beijing and Moscow.", "Stocks fell.", "x"]
    assert np.allclose(model.get_text_embedding_batch(texts), embedder.embed(texts), atol=1e-6)
    assert np.allclose(model.get_text_embedding(texts[0]), embedder.embed(texts[:1])[0], atol=1e-6)
    assert np.allclose(model.get_query_embedding(QUESTION), embedder.embed_query(QUESTION), atol=1e-6)
    assert np.allclose(asyncio.run(model.aget_query_embedding(QUESTION)), embedder.embed_query(QUESTION),
                       atol=1e-6)
    assert np.allclose(asyncio.run(model.aget_text_embedding_batch(texts)), embedder.embed(texts), atol=1e-6)


def test_rag_embedding_in_a_vector_store_index(env):
    docs = [Document(text="The harbour workers went on strike on Monday over pay."),
            Document(text="The central bank raised interest rates by a quarter point."),
            Document(text="The home side won the cup final 2-1 after extra time.")]
    index = VectorStoreIndex.from_documents(docs, embed_model=RagEmbedding())
    [hit] = index.as_retriever(similarity_top_k=1).retrieve("Who won the football match?")
    assert hit.node.get_content() == docs[2].text
    [hit] = index.as_retriever(similarity_top_k=1).retrieve("borrowing costs went up")
    assert hit.node.get_content() == docs[1].text


def test_rag_embedding_starts_without_torch(env):
    """Its fast start: neither torch, sentence-transformers nor the index's store gets imported
    (once the model's one-off ONNX export exists, which this process makes if the session hasn't)."""
    RagEmbedding()
    code = ("import sys; from rag.integrations.llama_index import RagEmbedding; "
            "v = RagEmbedding().get_query_embedding('harbour strike'); "
            "heavy = ('torch', 'sentence_transformers', 'chromadb'); "
            "print(len(v), sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[-2] == "384 []"
