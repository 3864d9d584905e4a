"""The shell commands' early chromadb import: real Chroma, in a fresh interpreter, since what is
tested is what a fresh `rag ask` imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys
    from rag.store import chroma_import

    thread = chroma_import.start()
    thread.join()
    import chromadb

    EF = "chromadb.utils.embedding_functions"
    client = chromadb.PersistentClient(path=sys.argv[1])
    col = client.get_or_create_collection("passages", embedding_function=None,
                                          metadata={"hnsw:space": "cosine"})
    col.upsert(ids=["a", "b"], embeddings=[[1.0, 0.0], [0.0, 1.0]], documents=["x", "y"])
    again = chromadb.PersistentClient(path=sys.argv[1]).get_collection("passages", embedding_function=None)
    hits = again.query(query_embeddings=[[0.9, 0.1]], n_results=1)["ids"][0]
    print("deferred" if "jsonschema" not in sys.modules else "loaded", hits[0])
    # anything that asks the deferred package for more than its names gets the real one
    from chromadb.utils.embedding_functions import known_embedding_functions, DefaultEmbeddingFunction
    print("default" in known_embedding_functions, DefaultEmbeddingFunction.__name__,
          type(sys.modules[EF].known_embedding_functions).__name__)
""")


def test_chroma_works_with_its_embedding_functions_deferred(tmp_path):
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "chroma")], capture_output=True,
                         text=True, check=True, timeout=120).stdout.split("\n")
    # the collection is created, written, reopened and queried without the providers' package
    assert out[0] == "deferred a", out
    assert out[1] == "True DefaultEmbeddingFunction dict", out
