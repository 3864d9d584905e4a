"""The engine behind `ask`, `search` and `index`: loads models once and serves every caller."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from os import PathLike

import numpy as np

from rag.config import Settings, get_settings
from rag.dates import parse_range
from rag.embed import Embedder, get_embedder, model_key
from rag.errors import RagError
from rag.extractive import ABSTAIN, compose
from rag.index_child import IndexWorker
from rag.indexer import ProgressFn, run_index
from rag.keyword import KeywordIndex
from rag.llm import LLM, LLMError, Usage, describe
from rag.llm_answer import heuristic_condense, llm_condense, resolve_citations, stream_answer
from rag.loaders import PARSER_VERSION
from rag.query import Query, analyse
from rag.retrieve import WEIGHTS, Scored, combine, features, relevant
from rag.schema import Answer, IndexReport, Passage
from rag.sources import FileResult, set_aside, stage_files
from rag.store import open_store

MAX_QUESTION_CHARS = 4000


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


class Engine:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()
        self.store = open_store(self.settings)
        self._embedder: Embedder | None = None
        self._kidx: KeywordIndex | None = None
        self._llm: LLM | None = None
        self._lock = threading.RLock()
        self._index_lock = threading.Lock()
        # Set by a process that answers while it indexes (`rag ui`): index runs go to a child
        # process (rag/index_child.py), so they never hold this process's GIL.
        self.index_worker: IndexWorker | None = None
        # Set by `rag index`, `add` and `remove` in a shell: their runs go to the library's running
        # writer (`rag watch`, the page), which holds the model and Chroma open (rag/handoff.py).
        self.hand_off = False
        self._checked = ""  # the index generation whose model and parser ensure_index() checked

    # ---- models --------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            s = self.settings
            key = s.openai_api_key.get_secret_value() if s.openai_api_key else None
            self._embedder = get_embedder(s.rag_embed_model, s.model_cache_dir, openai_key=key,
                                          openai_base_url=s.openai_base_url, precision=s.rag_embed_precision)
        return self._embedder

    def warm_up(self) -> None:
        """Load what indexing and answering need (model, tokenizer, Chroma's index) before the first
        request."""
        from rag.ingest import count_tokens

        self.embedder.embed_query("warm up")
        count_tokens("warm up")
        try:
            self.store.open_vectors()
        except RagError:
            pass  # said, with what to do, by the first request that needs them

    def keyword_index(self) -> KeywordIndex:
        """Keyword search over the record as of its current generation (idf cached per generation)."""
        gen = self.store.generation()
        with self._lock:
            if self._kidx is None or self._kidx.generation != gen:
                self._kidx = KeywordIndex(self.store, gen)
            return self._kidx

    # ---- indexing ------------------------------------------------------------------------
    def index(
        self,
        paths: Sequence[str | PathLike] | None = None,
        *,
        rebuild: bool = False,
        progress: ProgressFn | None = None,
    ) -> IndexReport:
        self.check_writable()
        worker = self.index_worker
        if worker is None and self.hand_off:
            from rag.handoff import writer_for

            worker = writer_for(self.settings)
        if worker is not None:
            return worker.run(paths, rebuild, progress)
        s = self.settings
        # Runs of this process (a watcher's batch, a run handed over from a shell) queue here rather
        # than time out on the index folder's writer lock while another one runs.
        with self._index_lock:
            return run_index(
                self.store, lambda: self.embedder, model_key(s.rag_embed_model, s.rag_embed_precision),
                s.sources_dir, paths=paths, rebuild=rebuild,
                budget=s.rag_chunk_tokens, max_bytes=int(s.rag_max_file_mb * 1e6), progress=progress,
            )

    def add_sources(
        self,
        files: Sequence[tuple[str | PathLike, str]],
        progress: ProgressFn | None = None,
    ) -> tuple[list[FileResult], IndexReport | None]:
        """Store acceptable (path, original name) files in the sources folder and index them."""
        self.check_writable()
        s = self.settings
        results, stored = stage_files(files, s.sources_dir, self.store.files(),
                                      max_bytes=int(s.rag_max_file_mb * 1e6), budget=s.rag_chunk_tokens)
        if not stored:
            return results, None
        report = self.index(stored, progress=progress)
        for r in results:
            if r.status in ("added", "updated") and report.files.get(r.source) == "rejected":
                r.status = "rejected"
                r.reason = report.warning_for(r.source) or "It could not be indexed."
        return results, report

    def fetch(self, url: str, etag: str = "", last_modified: str = ""):
        """The URL's bytes, with this instance's limits and address rules (raises FetchError)."""
        from rag.fetch import fetch, parse_allow

        s = self.settings
        try:
            allow = parse_allow(s.rag_allow_private_urls)
        except ValueError as exc:
            raise RagError(f"RAG_ALLOW_PRIVATE_URLS is invalid: {exc}") from None
        return fetch(url, max_bytes=int(s.rag_max_file_mb * 1e6), allow=allow,
                     read_timeout=s.rag_fetch_timeout, etag=etag, last_modified=last_modified)

    def add_urls(self, urls: Sequence[str], progress: ProgressFn | None = None
                 ) -> tuple[list[FileResult], IndexReport | None]:
        """Fetch pages, PDFs or feeds into the sources folder (named after their URL) and index
        them. A URL added before is fetched again, conditionally, and updated when it changed."""
        from rag.urls import add_urls

        self.check_writable()
        return add_urls(self, urls, progress)

    def remove_sources(
        self, names: Sequence[str], progress: ProgressFn | None = None
    ) -> tuple[list[FileResult], IndexReport | None]:
        """Move indexed sources out of the sources folder (into <index>/removed) and drop their
        passages from the index."""
        self.check_writable()
        s = self.settings
        results, vacated = set_aside(names, s.sources_dir, s.index_dir / "removed", self.store.files())
        if not vacated:
            return results, None
        return results, self.index(vacated, progress=progress)

    def check_writable(self) -> None:
        if self.settings.rag_read_only:
            raise RagError("This instance is read-only (RAG_READ_ONLY=true): it answers from the shared "
                           "index; index, add and remove on the writer.")

    def ensure_index(self) -> int:
        """Passages in the index; an empty index is built from the sources first (a read-only
        instance only catches up with the server)."""
        self.store.sync()
        n = self.store.count()
        gen = self.store.generation()
        if n and self._checked == gen:  # checked below for this generation already
            return n
        if self.settings.rag_read_only:
            if n == 0:
                raise RagError("Nothing is indexed in the shared index yet; index on the writer first.")
        elif n == 0 or (self.store.meta("parser") != PARSER_VERSION and self.settings.sources_dir.is_dir()):
            # Empty, or parsed by older loaders (then only parsing is redone; vectors are reused).
            return self.index().passages
        self.store.check_model(model_key(self.settings.rag_embed_model, self.settings.rag_embed_precision))
        self.store.check_model(self.embedder.key, self.embedder.dim)
        self._checked = gen
        return n

    # ---- retrieval -----------------------------------------------------------------------
    def retrieve(self, query: Query, timings: dict[str, float] | None = None,
                 days: tuple[str, str] = ("", "")) -> list[Scored]:
        """All candidates of both retrievers, re-scored, best first; with `days` (since, until,
        validated YYYY-MM-DD or ""), only passages dated within them are candidates."""
        timings = {} if timings is None else timings
        if self.ensure_index() == 0:
            raise RagError(
                f"Nothing is indexed yet: put news files (.txt, .md, .html, .pdf, feeds, ...) in "
                f"{self.settings.sources_dir} and run `rag index` (or upload them in `rag ui`)."
            )
        t0 = time.perf_counter()
        qvec = self.embedder.embed_query(query.text)
        timings["embed_ms"] = _ms(t0)
        t0 = time.perf_counter()
        kidx = self.keyword_index()
        pool = max(WEIGHTS.pool, 4 * self.settings.rag_top_k)
        with self.store.reading():
            if any(days) and not self.store.ids_dated(*days, limit=1):
                return []
            cosines = dict(self.store.query(qvec, pool, days))
            sparse = dict(kidx.search(list(query.terms), pool, days))
            # The vector search gave its hits' cosines; only the keyword search's others need vectors.
            cosines |= {i: float(np.dot(qvec, v))
                        for i, v in self.store.vectors([i for i in sparse if i not in cosines]).items()}
            candidates = self.store.passages(list(dict.fromkeys([*cosines, *sparse])))
        hits = combine(features(query, candidates, cosines, sparse, kidx), query)
        timings["retrieve_ms"] = _ms(t0)
        return hits

    def search(self, query: str, k: int | None = None, since: str | None = None,
               until: str | None = None) -> list[Passage]:
        query = _check_question(query)
        days = _days(since, until)
        k = k or self.settings.rag_top_k
        out = []
        for h in self.retrieve(analyse(query), days=days)[:k]:
            h.passage.score = round(h.score, 4)
            out.append(h.passage)
        return out

    # ---- answering -----------------------------------------------------------------------
    @property
    def llm(self) -> LLM | None:
        if not self.settings.llm_enabled:
            return None
        if self._llm is None:
            self._llm = LLM(self.settings)
        return self._llm

    def ask(self, question: str, history: list | None = None, since: str | None = None,
            until: str | None = None, **sampling) -> Answer:
        answer = None
        for item in self.ask_stream(question, history, since, until, **sampling):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def ask_stream(self, question: str, history: list | None = None, since: str | None = None,
                   until: str | None = None, *, temperature: float | None = None,
                   max_tokens: int | None = None) -> Iterator[str | Answer]:
        """Text deltas as they are written, then the finished Answer (citations resolved).
        `since`/`until` (YYYY-MM-DD, or a month or year) answer from passages dated within them;
        `temperature` and `max_tokens` apply to the LLM's answer (None: the settings')."""
        t_start = time.perf_counter()
        question = _check_question(question)
        days = _days(since, until)
        timings: dict[str, float] = {}
        llm, notices = self.llm, []
        llm_usage: dict[str, float] | None = None
        streamed = False
        query = question
        if history:
            t0 = time.perf_counter()
            query = heuristic_condense(question, history)
            if llm is not None:
                try:
                    query = llm_condense(llm, question, history)
                except LLMError as exc:
                    notices.append(f"{exc} The follow-up was resolved offline.")
            timings["condense_ms"] = _ms(t0)
        analysed = analyse(query)
        hits = self.retrieve(analysed, timings, days)
        if any(days) and not hits:
            notices.append(f"No indexed passage is dated {_describe(days)}.")
        top = hits[: self.settings.rag_top_k]
        answering = relevant(hits, self.settings.rag_min_relevance, self.settings.rag_top_k)
        answer = None
        if llm is not None and answering:
            t0 = time.perf_counter()
            usage = Usage()
            # The gate decides whether to ask at all; the LLM then sees the whole top k, so it
            # can combine passages (unsupported uses are caught by the citation check).
            gen = stream_answer(llm, query, top, self.settings.rag_context_tokens, usage,
                                temperature=temperature, max_tokens=max_tokens)
            try:
                while True:
                    delta = next(gen)
                    timings.setdefault("first_token_ms", _ms(t_start))
                    streamed = True
                    yield delta
            except StopIteration as done:
                text, order, used = done.value
                text, citations, backed = resolve_citations(text, order, used, self.embedder)
                if backed or text == ABSTAIN or self.settings.rag_unbacked == "warn":
                    if not backed and text != ABSTAIN:
                        notices.append("No sentence of this answer is backed by a cited source; "
                                       "treat it with care.")
                    answer = Answer(text=text, citations=citations, mode="llm",
                                    abstained=text == ABSTAIN, usage=usage.as_dict(llm.model))
                else:
                    # An answer whose citations back nothing is not shown as the answer; the
                    # offline one below replaces what was streamed (callers take the final text).
                    notices.append("The model's answer cited none of the sources; "
                                   "showing the quoted answer instead.")
                    llm_usage = usage.as_dict(llm.model)
            except LLMError as exc:
                notices.append(f"{exc} Showing the offline answer instead.")
            finally:
                gen.close()
            timings["llm_ms"] = _ms(t0)
        if answer is None:
            t0 = time.perf_counter()
            text, citations = compose(analysed, answering, self.keyword_index())
            timings["answer_ms"] = _ms(t0)
            answer = Answer(text=text, citations=citations, mode="extractive",
                            abstained=text == ABSTAIN,
                            usage=llm_usage or {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0})
            if not streamed:  # after streamed LLM text, the final Answer replaces it instead
                yield text
        for h in top:
            h.passage.score = round(h.score, 4)
        answer.query, answer.notice = query, " ".join(notices)
        answer.passages = [h.passage for h in top]
        timings["total_ms"] = _ms(t_start)
        answer.timings = timings
        yield answer

    def mode(self) -> str:
        """What answers the questions, for people: "Offline (extractive)" or "LLM: <model> at <host>"."""
        return f"LLM: {describe(self.settings)}" if self.settings.llm_enabled else "Offline (extractive)"

    def library(self) -> list[dict]:
        """Every indexed file: source, passages, indexed_at (epoch seconds)."""
        self.store.sync()
        return [{"source": src, "passages": n, "indexed_at": t} for src, n, t in self.store.file_rows()]

    def status(self) -> dict:
        files = self.library()
        return {
            "files": len(files),
            "passages": sum(f["passages"] for f in files),
            "indexed_at": max((f["indexed_at"] for f in files), default=None),
            "embed_model": self.store.meta("embed_model") or self.settings.rag_embed_model,
            "sources_dir": str(self.settings.sources_dir),
            "index_dir": str(self.settings.index_dir),
        }


def _days(since: str | None, until: str | None) -> tuple[str, str]:
    try:
        return parse_range(since, until, ("Since", "Until"))
    except ValueError as exc:
        raise RagError(str(exc)) from None


def _describe(days: tuple[str, str]) -> str:
    since, until = days
    if since and until:
        return f"between {since} and {until}"
    return f"on or after {since}" if since else f"on or before {until}"


def _check_question(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise RagError("The question is empty; type a question about your sources.")
    question = question.strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise RagError(
            f"The question is {len(question):,} characters long; keep it under "
            f"{MAX_QUESTION_CHARS:,} (ask about one thing at a time)."
        )
    return question
