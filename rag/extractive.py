"""The offline answerer: the sentences of the retrieved passages that answer, each cited.

No model writes anything here, so every sentence of the answer is a verbatim quote of the
passage its marker points at: the citations cannot be wrong about what the source says.

A sentence answers when it holds a candidate of the kind asked for (a person for "who", an
amount for "how much") among the question's words, not merely when it shares the most words
with the question. When several passages name the same candidate, that answer gains; when the
strongest passages name different ones for the same question, the answer says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.candidates import (
    OTHER_UNIT,
    Candidate,
    answers_else,
    fit,
    not_yet,
    other_category,
    own_candidates,
    sentences,
    withheld,
)
from rag.keyword import KeywordIndex
from rag.query import YEAR, Query
from rag.retrieve import Scored
from rag.schema import Citation

ABSTAIN = "The indexed sources don't answer that."
DIFFER = "Sources differ:"
MAX_SENTENCES = 3
MAX_CHARS = 700
CLOSE_TO_BEST = 0.7  # a further sentence must score at least this share of the best one
# A sentence's score is its passage's, scaled by the share of the question's words it holds
# and, when the question asks for a kind of thing, by how well its candidates fit.
OVERLAP_SHARE = 0.4
TYPED_OVERLAP_SHARE = 0.3
FIT_SHARE = 0.3
ANSWERS = 0.6  # the fit from which a sentence offers an answer of the asked kind
CLOSE_IN_MEANING = 0.5  # the cosine from which the best passage may answer in its own words
AGREE_BONUS = 0.05  # per further passage naming the same candidate
# Two passages disagree only when both are strong and about the same thing: each holds every
# name and number of the question, neither is about another year, and they score alike.
DIFFER_MIN_SCORE_SHARE = 0.9
DIFFER_MIN_OVERLAP = 0.7


@dataclass
class Pick:
    hit: Scored
    sentence: str
    score: float
    answer: str = ""  # the candidate of the asked type this sentence offers, normalised
    exact: bool = False  # that candidate is of exactly the asked kind (a person, not just a name)
    terms: frozenset[str] = frozenset()
    answers: bool = True  # holds a candidate of the asked kind (and unit, and measure)
    # holds a candidate of the asked kind that a rule showed answers something else: another
    # placing, a plan, a withheld figure, the other sex's race
    vetoed: bool = False
    overlap: float = 0.0  # the idf-weighted share of the question's words it holds


def _sentence_picks(query: Query, q_idf: dict[str, float], hit: Scored, best: bool = False) -> list[Pick]:
    """`best`: the hit ranked first, close in meaning to the question, whose sentences may answer
    a paraphrase in words of their own."""
    picks = []
    own_words = best and hit.cosine >= CLOSE_IN_MEANING
    other_event = other_category(query, hit.passage.text)  # the men's race for the women's
    for sent in sentences(hit.passage.text):
        overlap = (sum(idf for t, idf in q_idf.items() if t in sent.terms) / sum(q_idf.values())
                   if q_idf else 1.0)
        if query.answer_type is None:
            score = hit.score * (1 - OVERLAP_SHARE + OVERLAP_SHARE * overlap)
            later = not_yet(query, sent.text)  # "results expected in 2026"
            picks.append(Pick(hit, sent.text, score, terms=sent.terms, vetoed=later, overlap=overlap))
            continue
        own = own_candidates(query, sent)  # not the women's winner for the men's race
        raw = fit(query.answer_type, own, query.given, query.unit)
        capped = raw > OTHER_UNIT and answers_else(query, sent)  # as sentence_fit caps it
        f = OTHER_UNIT if capped else raw
        # a sentence of a report dated in another year, not stating the asked one, is about its own
        # year: the seats in "... up from 51 percent at the 2021 election. The Greens won 8 seats."
        date = hit.passage.date
        another_year = bool(date) and not query.of_asked_year(sent.terms, sent.text, date)
        vetoed = raw >= ANSWERS and (capped or other_event or another_year)
        score = hit.score * (1 - TYPED_OVERLAP_SHARE - FIT_SHARE + TYPED_OVERLAP_SHARE * overlap
                             + FIT_SHARE * f)
        # a candidate in a sentence sharing no word with the question but the kind it asks for,
        # nor another name of what it names, answers some other question ("Colombia's Senate"
        # for who signed a treaty; "the company's pension fund" for which company bought it)
        answers = f >= ANSWERS and not vetoed and (
            own_words or bool((sent.terms & query.given) - query.head) or query.names_held(sent.terms) > 0)
        answer, exact = _answer_of(query, own) if answers else ("", False)
        picks.append(Pick(hit, sent.text, score, answer, exact, sent.terms, answers, vetoed, overlap))
    return picks


def _withholds(query: Query, hit: Scored, picks: list[Pick]) -> bool:
    """The source closest to the question says the fact was not given, in the sentence closest to
    the question or without giving another: figures elsewhere are of something else (the cod quota
    for the undisclosed herring one). A deal "for an undisclosed sum" still tells the buyer's revenue.
    `picks`: the hit's sentences, vetoed ones too."""
    if not withheld(query, hit.passage.text):
        return False
    closest = max(picks, key=lambda p: p.overlap)
    return withheld(query, closest.sentence) or not any(p.answers for p in picks)


def _answer_of(query: Query, cands: tuple[Candidate, ...]) -> tuple[str, bool]:
    """The sentence's best-fitting candidate that the question does not already name, and
    whether it is of exactly the asked kind."""
    best, best_fit = "", 0.0
    for c in cands:
        f = fit(query.answer_type, (c,), query.given, query.unit)
        if f > best_fit:
            best, best_fit = " ".join(sorted(c.terms)) or c.text.lower(), f
    return best, best_fit >= 0.999


def _as_sentence(s: str) -> str:
    """Snippets are often cut mid-sentence; say so rather than pretend the sentence ended."""
    s = s.strip()
    return s if s[-1:] in ".!?\"'”’)" else s.rstrip(",;:—-– ") + "…"


def compose(query: Query, hits: list[Scored], kidx: KeywordIndex) -> tuple[str, list[Citation]]:
    """Answer text with [n] markers and its citations; hits are already above the threshold."""
    chosen, differing = choose(query, hits, kidx) if hits else ([], False)
    if not chosen:
        return ABSTAIN, []
    parts, citations = [], []
    for n, p in enumerate(chosen, start=1):
        parts.append(f"{_as_sentence(p.sentence)} [{n}]")
        citations.append(Citation.of(n, p.hit.passage, p.hit.score, p.sentence))
    text = " ".join(parts)
    return (f"{DIFFER} {text}" if differing else text), citations


def choose(query: Query, hits: list[Scored], kidx: KeywordIndex) -> tuple[list[Pick], bool]:
    """The sentences to quote, in the order to quote them, and whether they are sources that
    differ on the answer."""
    q_idf = {t: kidx.idf(t) for t in set(query.terms)}
    best_of: dict[str, Pick] = {}  # each passage's best sentence
    picks: list[Pick] = []
    for hit in hits:
        every = _sentence_picks(query, q_idf, hit, best=hit is hits[0])
        if hit is hits[0] and _withholds(query, hit, every):
            return [], False
        # a sentence known to answer another question is not quoted, however many words it shares
        mine = [p for p in every if not p.vetoed]
        picks += mine
        if mine:
            best_of[hit.passage.id] = max(mine, key=lambda p: p.score)
    if not picks or (query.answer_type is not None and not any(p.answers for p in picks)):
        return [], False  # no passage offers a thing of the asked kind: the sources don't say
    if query.unit or query.needs:
        # The question names the unit or the measure it wants ("prize money", "the chief
        # financial officer"): a sentence that doesn't give it is another fact; quote none.
        # (Without one, the rule-found candidates are not trusted to exclude a sentence.)
        picks = [p for p in picks if p.answers]
        best_of = {}
        for p in sorted(picks, key=lambda p: p.score):
            best_of[p.hit.passage.id] = p
    _reward_agreement(picks, best_of)
    picks.sort(key=lambda p: -p.score)
    differing = _disagreement(hits, best_of)
    chosen = differing or _choose(picks)
    if not differing:
        # Present in rank order of their passages: the strongest source speaks first.
        rank = {h.passage.id: i for i, h in enumerate(hits)}
        chosen.sort(key=lambda p: rank[p.hit.passage.id])
    return chosen, bool(differing)


def _reward_agreement(picks: list[Pick], best_of: dict[str, Pick]) -> None:
    """Passages that name the same answer back each other."""
    votes: dict[str, int] = {}
    for p in best_of.values():
        if p.answer:
            votes[p.answer] = votes.get(p.answer, 0) + 1
    for p in picks:
        if votes.get(p.answer, 0) > 1:
            p.score *= 1 + AGREE_BONUS * (votes[p.answer] - 1)


def _disagreement(hits: list[Scored], best_of: dict[str, Pick]) -> list[Pick]:
    """The top two passages' sentences when they answer the same question differently."""
    strong = [h for h in hits[:3] if h.keys >= 0.999 and not h.year_conflict
              and h.score >= DIFFER_MIN_SCORE_SHARE * hits[0].score]
    if len(strong) < 2 or strong[0] is not hits[0]:
        return []
    a, b = best_of.get(strong[0].passage.id), best_of.get(strong[1].passage.id)
    if a is None or b is None or not (a.exact and b.exact) or a.answer == b.answer \
            or a.sentence == b.sentence:
        return []
    # mostly the same words around a different answer: two reports of the same fact, not two
    # facts about the same subject (a trial's start and its results), nor one fact in two years
    if _context_overlap(a, b) < DIFFER_MIN_OVERLAP or _other_years(a, b):
        return []
    return [a, b]


def _other_years(a: Pick, b: Pick) -> bool:
    years_a, years_b = ({t for t in p.terms if YEAR.match(t)} for p in (a, b))
    return bool(years_a and years_b and not years_a & years_b)


def _context_overlap(a: Pick, b: Pick) -> float:
    return len(a.terms & b.terms) / (min(len(a.terms), len(b.terms)) or 1)


def _choose(picks: list[Pick]) -> list[Pick]:
    best = picks[0].score
    chosen: list[Pick] = []
    used_passages: set[str] = set()
    for p in picks:
        if len(chosen) >= MAX_SENTENCES or p.score < CLOSE_TO_BEST * best:
            break
        if p.hit.passage.id in used_passages:  # one sentence per passage keeps answers short
            continue
        if chosen and sum(len(c.sentence) for c in chosen) + len(p.sentence) > MAX_CHARS:
            continue
        chosen.append(p)
        used_passages.add(p.hit.passage.id)
    return chosen
