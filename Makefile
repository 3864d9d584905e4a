# Everything a fresh machine needs: `make run` (the product, offline) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run index ask chat test lint bench browser clean

setup: $(STAMP)

# torch is installed first and pinned: pip then takes the CPU wheel that lies on this
# machine's disk instead of resolving a multi-GB CUDA build for sentence-transformers.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

index: setup
	$(BIN)/rag index

run: index
	$(BIN)/rag chat

test: setup
	$(BIN)/ruff check rag ui tests benchmarks
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check rag ui tests benchmarks

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) index/chroma index/record.sqlite index/keyword.pkl index/models
