"""Thin layers over the `rag` API for other tools; no retrieval or answering logic of their own."""
