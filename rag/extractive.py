"""The offline answerer: the most relevant sentences of the retrieved passages, each cited.

No model writes anything here, so every sentence of the answer is a verbatim quote of the
passage its marker points at: the citations cannot be wrong about what the source says.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.ingest import split_sentences
from rag.keyword import KeywordIndex, terms
from rag.query import Query
from rag.retrieve import Scored
from rag.schema import Citation

ABSTAIN = "The indexed sources don't answer that."
MAX_SENTENCES = 3
MAX_CHARS = 700
CLOSE_TO_BEST = 0.8  # a further sentence must score at least this share of the best one


@dataclass
class Pick:
    hit: Scored
    sentence: str
    score: float


def _sentence_score(q_idf: dict[str, float], sentence: str, passage_score: float) -> float:
    if not q_idf:
        return passage_score
    present = set(terms(sentence))
    overlap = sum(idf for t, idf in q_idf.items() if t in present) / sum(q_idf.values())
    return passage_score * (0.6 + 0.4 * overlap)


def _as_sentence(s: str) -> str:
    """Snippets are often cut mid-sentence; say so rather than pretend the sentence ended."""
    s = s.strip()
    return s if s[-1:] in ".!?\"'”’)" else s.rstrip(",;:—-– ") + "…"


def compose(query: Query, hits: list[Scored], kidx: KeywordIndex) -> tuple[str, list[Citation]]:
    """Answer text with [n] markers and its citations; hits are already above the threshold."""
    if not hits:
        return ABSTAIN, []
    q_idf = {t: kidx.idf(t) for t in set(query.terms)}
    picks = []
    for hit in hits:
        for sent in split_sentences(hit.passage.text):
            picks.append(Pick(hit, sent, _sentence_score(q_idf, sent, hit.score)))
    picks.sort(key=lambda p: -p.score)
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
    # Present in rank order of their passages: the strongest source speaks first.
    rank = {h.passage.id: i for i, h in enumerate(hits)}
    chosen.sort(key=lambda p: rank[p.hit.passage.id])
    parts, citations = [], []
    for n, p in enumerate(chosen, start=1):
        parts.append(f"{_as_sentence(p.sentence)} [{n}]")
        psg = p.hit.passage
        citations.append(
            Citation(n=n, source=psg.source, line=psg.line, page=psg.page, text=psg.text,
                     score=round(p.hit.score, 4), quote=p.sentence, passage_id=psg.id)
        )
    return " ".join(parts), citations
