"""Import paths for other frameworks (`rag.integrations.llama_index`); the code is in `rag.adapters`."""
