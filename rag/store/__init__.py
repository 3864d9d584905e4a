"""The persisted index: the passage record (SQLite, with the keyword table) and Chroma, embedded
(`Store`) or on a Chroma server that several instances share (`ServerStore`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.store.local import Store

if TYPE_CHECKING:
    from rag.config import Settings

__all__ = ["Store", "open_store"]


def open_store(settings: Settings) -> Store:
    """The store the settings ask for: embedded in the index folder, or RAG_CHROMA_URL's server."""
    if not settings.rag_chroma_url:
        return Store(settings.index_dir, settings.rag_lock_timeout)
    from rag.store.server import ServerStore

    return ServerStore(settings.index_dir, settings.rag_lock_timeout, settings.rag_chroma_url,
                       settings.chroma_headers, prefix=settings.rag_chroma_collection)
