"""BM25 over the passage record, plus the "key terms" of a query.

Hand-written rather than llama-index's BM25Retriever (bm25s): the retriever needs, per
passage, which query terms matched — to weigh years, numbers and names — which bm25s does
not expose. The index is derived from the record and cached on disk per record generation.
"""

from __future__ import annotations

import math
import pickle
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from rag.schema import Passage

_WORD = re.compile(r"[^\W_]+(?:[.'’][^\W_]+)*", re.UNICODE)
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself s t said
    says say tell told also according""".split()
)
K1, B = 1.2, 0.75


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


def words(text: str) -> list[str]:
    """Surface words with possessives cut ("Russia's" → "Russia") and dots dropped ("U.S." → "US")."""
    out = []
    for w in _WORD.findall(text):
        w = re.sub(r"[’']s$", "", w).replace(".", "").replace("’", "'")
        if w:
            out.append(w)
    return out


def terms(text: str) -> list[str]:
    """Index terms: lower-cased, stemmed, stop words out."""
    return [_stem(w.lower()) for w in words(text) if w.lower() not in STOPWORDS]


@dataclass
class KeyTerm:
    term: str  # stemmed, as in the index
    kind: str  # "number" | "name"


_QUESTION_WORDS = frozenset(
    "what who whom whose when where which why how did does do is are was were".split())


def key_terms(question: str) -> list[KeyTerm]:
    """The exact tokens a news question hinges on: numbers (years, amounts) and names."""
    out, seen = [], set()
    toks = words(question)
    for i, w in enumerate(toks):
        lw = w.lower()
        if lw in STOPWORDS and not w.isupper():
            continue
        if any(c.isdigit() for c in w):
            kind = "number"
        elif w[0].isupper() and (i > 0 or lw not in _QUESTION_WORDS) and len(w) > 1:
            kind = "name"
        else:
            continue
        t = _stem(lw)
        if t not in seen:
            seen.add(t)
            out.append(KeyTerm(t, kind))
    return out


def initials(text: str) -> dict[str, set[str]]:
    """Acronyms a text spells out → the terms they stand for: every run of 2-4 consecutive
    capitalised words gives its initials ("European Central Bank" → "ecb" → {europ, central,
    bank}; also "ec", "cb"), so "ECB" in a question finds the bank written out, and back."""
    out: dict[str, set[str]] = {}
    run: list[str] = []
    for w in [*words(text), ""]:
        if w[:1].isupper() and not w.isupper():
            run.append(w)
            continue
        for i in range(len(run)):
            for j in range(i + 2, min(i + 4, len(run)) + 1):
                part = run[i:j]
                out.setdefault("".join(x[0] for x in part).lower(), set()).update(
                    _stem(x.lower()) for x in part)
        run = []
    return out


def acronyms(text: str) -> set[str]:
    """Upper-case words of a text ("EU", "ECB", "US" but not the pronoun "us"), lower-cased."""
    return {w.lower() for w in words(text) if len(w) >= 2 and w.isupper() and w.isalpha()}


@dataclass
class KeywordIndex:
    generation: str = ""
    ids: list[str] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    postings: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # term → (doc, tf)
    avgdl: float = 1.0

    @classmethod
    def build(cls, passages: list[tuple[str, str]], generation: str) -> KeywordIndex:
        idx = cls(generation=generation)
        for doc, (pid, text) in enumerate(passages):
            toks = terms(text)
            idx.ids.append(pid)
            idx.lengths.append(len(toks))
            for t, tf in Counter(toks).items():
                idx.postings.setdefault(t, []).append((doc, tf))
        idx.avgdl = (sum(idx.lengths) / len(idx.lengths)) if idx.lengths else 1.0
        return idx

    @cached_property
    def doc_of(self) -> dict[str, int]:
        return {pid: d for d, pid in enumerate(self.ids)}

    def idf(self, term: str) -> float:
        n, df = len(self.ids), len(self.postings.get(term, ()))
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def search(self, query_terms: list[str], n: int, only: set[str] | None = None) -> list[tuple[str, float]]:
        """The n best passages by BM25; with `only`, the best among those ids (a date range)."""
        allowed = None if only is None else {self.doc_of[p] for p in only if p in self.doc_of}
        scores: dict[int, float] = {}
        for t in set(query_terms):
            plist = self.postings.get(t)
            if not plist:
                continue
            idf = self.idf(t)
            for doc, tf in plist:
                if allowed is not None and doc not in allowed:
                    continue
                norm = K1 * (1 - B + B * self.lengths[doc] / self.avgdl)
                scores[doc] = scores.get(doc, 0.0) + idf * tf * (K1 + 1) / (tf + norm)
        top = sorted(scores.items(), key=lambda kv: -kv[1])[:n]
        return [(self.ids[d], s) for d, s in top]

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            pickle.dump((self.generation, self.ids, self.lengths, self.postings, self.avgdl), f,
                        protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, generation: str) -> KeywordIndex | None:
        """The cached index if it was built for this generation of the record, else None.
        (pickle is fine here: the file is written by this program inside the user's index.)"""
        try:
            with open(path, "rb") as f:
                gen, ids, lengths, postings, avgdl = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError):
            return None
        if gen != generation:
            return None
        return cls(gen, ids, lengths, postings, avgdl)


def keyword_index_for(passages: list[Passage], generation: str) -> KeywordIndex:
    from rag.ingest import embed_text

    return KeywordIndex.build([(p.id, embed_text(p)) for p in passages], generation)
