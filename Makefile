# Everything a fresh machine needs: `make run` (the product, offline) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run index chat test lint bench browser clean

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

# The web page on http://127.0.0.1:7860 (override: make run UI_ARGS="--port 8000").
UI_ARGS ?=
run: index
	$(BIN)/rag ui $(UI_ARGS)

chat: index
	$(BIN)/rag chat

# The browser tests drive Debian's Chromium; install it when missing (root or sudo).
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test: setup browser
	$(BIN)/ruff check rag ui tests benchmarks
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check rag ui tests benchmarks

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) index/chroma index/record.sqlite index/keyword.pkl index/models
