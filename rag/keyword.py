"""Keyword search: index terms, the "key terms" of a query, and BM25 over the record's
full-text table."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

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


QUESTION_WORDS = frozenset(
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
        elif w[0].isupper() and (i > 0 or lw not in QUESTION_WORDS) and len(w) > 1:
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


# FTS5 scores every passage holding any searched term before it keeps the best n (~1.5 µs each;
# a question's terms matched 12% of a 1M-passage library, 0.2-0.5 s). So a question's terms are
# searched rarest first while their document frequencies sum to at most this many postings: a
# search costs at most ~15 ms whatever the library's size. The rarest terms (names, numbers) carry
# BM25's weight; the features still weigh every term. Measured at 100k passages: newsbench's
# questions found their gold passage as often with 8k-25k postings as without a budget (hit@5
# 0.86-0.87); 10k halved the search's p95 of 25k. Alone, the keyword search finds fewer of them
# (at 1M: 12 of 199 in its top 30 vs 47; 19 with 25k): see benchmarks/RESULTS.md. At the golden
# sets' 1-3k passages it never binds.
KEYWORD_POSTINGS = 10_000


def fts_text(text: str) -> str:
    """A passage's index terms as the record's full-text table stores them: space-separated, and
    without apostrophes (SQLite's tokenizer would split "o'neil" in two)."""
    return " ".join(t.replace("'", "") for t in terms(text))


class KeywordIndex:
    """BM25 over the record's SQLite FTS5 table (`Store.keyword_search`), and the idf of terms.

    FTS5 is incremental and lives in the record's own database, so a passage and its terms are
    written and removed in one transaction: the keyword index can never disagree with the record,
    and adding a file touches only its passages. Our own terms (stemmed, stop words out) are
    indexed, so the two retrievers and the features read a question the same way. The idf the
    features use is computed here, from FTS5's document frequencies, with the usual BM25 formula.
    """

    def __init__(self, store, generation: str):
        self.store, self.generation = store, generation
        self._df: dict[str, int] = {}
        self._n: int | None = None

    @property
    def n(self) -> int:
        if self._n is None:
            self._n = self.store.count()
        return self._n

    def df(self, term: str) -> int:
        """In how many passages the term occurs (cached for this generation)."""
        df = self._df.get(term)
        if df is None:
            df = self._df[term] = self.store.doc_frequency(term.replace("'", ""))
        return df

    def idf(self, term: str) -> float:
        return math.log(1 + (self.n - self.df(term) + 0.5) / (self.df(term) + 0.5))

    def search(self, query_terms: list[str], n: int,
               days: tuple[str, str] = ("", "")) -> list[tuple[str, float]]:
        """The n best passages by BM25 (dated within `days` when given), best first."""
        wanted = list(dict.fromkeys(t.replace("'", "") for t in query_terms if t.replace("'", "")))
        if not wanted or n <= 0:
            return []
        return self.store.keyword_search(within_budget(wanted, self.df, KEYWORD_POSTINGS), n, days)


def within_budget(terms: list[str], df, budget: int) -> list[str]:
    """The rarest of `terms` whose document frequencies `df(term)` sum to at most `budget` (the
    rarest one always), in their given order: FTS5 sums a passage's term scores in query order,
    and the same order keeps scores, and so ties, exactly as they were."""
    chosen, total = set(), 0
    for t in sorted(terms, key=df):
        if chosen and total + df(t) > budget:
            break
        chosen.add(t)
        total += df(t)
    return [t for t in terms if t in chosen]
