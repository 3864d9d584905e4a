"""The persisted index: the passage record (SQLite, with the keyword table) and Chroma."""

from rag.store.local import Store

__all__ = ["Store"]
