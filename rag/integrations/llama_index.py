"""`from rag.integrations.llama_index import RagRetriever, RagEmbedding` (see rag/adapters/llama_index.py)."""

from rag.adapters.llama_index import RagEmbedding, RagRetriever, passage_node

__all__ = ["RagEmbedding", "RagRetriever", "passage_node"]
