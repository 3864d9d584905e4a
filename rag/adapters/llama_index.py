"""LlamaIndex adapters: the library as a `BaseRetriever`, and the project's embedder as a
`BaseEmbedding`. Thin layers: `RagRetriever` returns what `rag.search` ranks (no retrieval of its
own), `RagEmbedding` returns what the engine's embedder computes.

    from llama_index.core.query_engine import RetrieverQueryEngine
    from rag.integrations.llama_index import RagEmbedding, RagRetriever

    engine = RetrieverQueryEngine.from_args(RagRetriever(similarity_top_k=5), llm=my_llm)
    Settings.embed_model = RagEmbedding()  # MiniLM through ONNX Runtime: no torch to import
"""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode
from pydantic import PrivateAttr

import rag
from rag.schema import Passage

METADATA_KEYS = ("source", "line", "page", "title", "url", "date")


def passage_node(p: Passage) -> NodeWithScore:
    """A passage as LlamaIndex sees it: its text verbatim, its id, its provenance as metadata."""
    metadata = {"source": p.source, "line": p.line, "page": p.page, "title": p.title, "url": p.url,
                "date": p.date}
    node = TextNode(
        id_=p.id, text=p.text, metadata=metadata,
        start_char_idx=p.char_start if p.char_end else None, end_char_idx=p.char_end or None,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=p.source)},
        # The text is what was embedded and what answers; the LLM also sees where it comes from
        # (file, line, page, title, date), not the link or empty fields.
        excluded_embed_metadata_keys=list(METADATA_KEYS),
        excluded_llm_metadata_keys=[k for k in METADATA_KEYS if k == "url" or metadata[k] in (None, "")],
    )
    return NodeWithScore(node=node, score=p.score)


class RagRetriever(BaseRetriever):
    """The passages `rag.search` ranks first (hybrid vector + BM25 over the indexed sources), as
    `NodeWithScore`s whose `TextNode` holds the passage verbatim (id = passage id; metadata
    source, line, page, title, url, date). `since`/`until` (YYYY-MM-DD, YYYY-MM or YYYY) keep to
    passages dated in that range. `engine` defaults to the process's `rag.get_engine()`."""

    def __init__(self, similarity_top_k: int = 5, *, since: str | None = None, until: str | None = None,
                 engine: Any = None, callback_manager: CallbackManager | None = None,
                 verbose: bool = False) -> None:
        if similarity_top_k < 1:
            raise ValueError("similarity_top_k must be at least 1.")
        self.similarity_top_k, self.since, self.until = similarity_top_k, since, until
        self._engine = engine
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    @property
    def engine(self):
        return self._engine or rag.get_engine()

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.engine.search(query_bundle.query_str, self.similarity_top_k, self.since, self.until)
        return [passage_node(p) for p in hits]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)


class RagEmbedding(BaseEmbedding):
    """The embedder the index is built with (RAG_EMBED_MODEL; by default all-MiniLM-L6-v2 run by
    ONNX Runtime, which starts in well under a second: no torch or sentence-transformers to import),
    as a LlamaIndex `BaseEmbedding`. Its vectors are the ones `rag` stores and searches with
    (unit length). `embedder`: a `rag.embed.Embedder` to use instead of the configured one."""

    embed_batch_size: int = 256  # the embedder batches itself, and runs in parallel from 64 texts
    _embedder: Any = PrivateAttr()

    def __init__(self, embedder: Any = None, **kwargs: Any) -> None:
        embedder = embedder or _configured_embedder()
        kwargs.setdefault("model_name", embedder.key)
        super().__init__(**kwargs)
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        return "RagEmbedding"

    @property
    def dim(self) -> int:
        return self._embedder.dim

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._embedder.embed_query(query).tolist()

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._embedder.embed([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._embedder.embed(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return await asyncio.to_thread(self._get_query_embedding, query)

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return await asyncio.to_thread(self._get_text_embedding, text)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await asyncio.to_thread(self._get_text_embeddings, texts)


def _configured_embedder():
    """The embedder the engine uses for these settings (the same per-process instance), loaded
    without opening the index: an embedding model needs no store."""
    from rag.config import get_settings
    from rag.embed import get_embedder

    s = get_settings()
    key = s.openai_api_key.get_secret_value() if s.openai_api_key else None
    return get_embedder(s.rag_embed_model, s.model_cache_dir, openai_key=key,
                        openai_base_url=s.openai_base_url, precision=s.rag_embed_precision)
