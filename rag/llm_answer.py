"""LLM answers: follow-up condensing, the budgeted citation prompt, streamed text with markers
renumbered on the fly, and citations verified against their passages."""

from __future__ import annotations

import re
from collections.abc import Iterator

from rag.citations import SUPPORT_THRESHOLD, Renumberer, cited_sentences, support_score, tidy
from rag.embed import Embedder
from rag.extractive import ABSTAIN
from rag.keyword import key_terms
from rag.llm import LLM, LLMError, Usage, count, load_prompt
from rag.retrieve import Scored
from rag.schema import Citation

_REFERS_BACK = re.compile(
    r"\b(he|she|they|him|her|them|his|hers|their|it|its|this|that|these|those|there|then)\b", re.I)
HISTORY_TURNS = 6
# A rewrite longer than 500 characters is not used, so the model need not write more than that
# (~125 tokens of English, more in other scripts); without a cap a model that does not stop
# writes until its context is full, or the timeout.
CONDENSE_MAX_TOKENS = 256


def history_pairs(history: list | None) -> list[tuple[str, str]]:
    """(role, text) from Gradio-style messages (content may be a list of blocks) or pairs."""
    out: list[tuple[str, str]] = []
    for item in history or []:
        if isinstance(item, dict):
            content = item.get("content", "")
            if isinstance(content, list):
                content = " ".join(b.get("text", "") for b in content if isinstance(b, dict))
            out.append((str(item.get("role", "user")), str(content or "")))
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            out += [("user", str(item[0] or "")), ("assistant", str(item[1] or ""))]
    return [(r, t) for r, t in out if t.strip()]


def heuristic_condense(question: str, history: list | None) -> str:
    """Offline follow-ups: a question that points back ("what did he say about China?")
    borrows the names of the latest earlier question that had some, unless it already
    shares one of them (then it is about the same subject already)."""
    if not history or not _REFERS_BACK.search(question):
        return question
    own = {k.term for k in key_terms(question) if k.kind == "name"}
    for role, text in reversed(history_pairs(history)):
        if role != "user":
            continue
        names = {w: {k.term for k in key_terms(w) if k.kind == "name" and k.term}
                 for w in re.findall(r"[^\W\d_][\w'’.-]*", text) if w[0].isupper()}
        names = {w: t for w, t in names.items() if t}
        if names:
            if any(t & own for t in names.values()):
                return question
            return f"{question} ({' '.join(names)})"
    return question


def llm_condense(llm: LLM, question: str, history: list | None) -> str:
    pairs = history_pairs(history)[-HISTORY_TURNS:]
    if not pairs:
        return question
    system, user = load_prompt("condense")
    convo = "\n".join(f"{r}: {t[:600]}" for r, t in pairs)
    rewritten = llm.complete([{"role": "system", "content": system},
                              {"role": "user", "content": user.format(history=convo, question=question)}],
                             max_tokens=CONDENSE_MAX_TOKENS)
    rewritten = rewritten.strip().strip('"').splitlines()[0].strip() if rewritten.strip() else ""
    # an unusable rewrite (empty, or not a question's length) leaves the follow-up to the offline
    # rewrite, as a failed call does
    return rewritten if 3 <= len(rewritten) <= 500 else heuristic_condense(question, history)


def sources_block(hits: list[Scored], model: str, budget: int) -> tuple[str, list[Scored]]:
    """Numbered passages within the token budget; the least relevant are left out first."""
    parts, used, total = [], [], 0
    for h in hits:
        p = h.passage
        where = f"line {p.line}" if p.line else (f"page {p.page}" if p.page else "")
        # a passage must not be able to close the sources block early
        text = re.sub(r"</?\s*sources\s*>", "[removed tag]", p.text, flags=re.I)
        entry = f"[{len(used) + 1}] (source: {p.source}{', ' + where if where else ''})\n{text}"
        n = count(model, entry) + 2
        if used and total + n > budget:
            break
        parts.append(entry)
        used.append(h)
        total += n
    return "\n\n".join(parts), used


def build_messages(question: str, hits: list[Scored], model: str, budget: int):
    system, user = load_prompt("answer")
    block, used = sources_block(hits, model, budget)
    messages = [
        {"role": "system", "content": system.format(abstain=ABSTAIN)},
        {"role": "user", "content": user.format(sources=block, question=question)},
    ]
    return messages, used


def stream_answer(llm: LLM, question: str, hits: list[Scored], budget: int,
                  usage: Usage, **sampling) -> Iterator[str]:
    """Renumbered text deltas. The generator's return value is (text, source order, used).
    `sampling`: temperature and max_tokens for this answer (None: the settings')."""
    messages, used = build_messages(question, hits, llm.model, budget)
    renum = Renumberer(len(used))
    pieces: list[str] = []
    deltas = llm.stream(messages, usage, **sampling)
    try:
        for delta in deltas:
            out = renum.feed(delta)
            if out:
                pieces.append(out)
                yield out
    finally:
        deltas.close()  # a consumer that stops early must not leave the HTTP stream open
    tail = renum.finish()
    if tail:
        pieces.append(tail)
        yield tail
    if not usage.from_api:
        usage.prompt_tokens = sum(count(llm.model, m["content"]) for m in messages)
        usage.completion_tokens = count(llm.model, "".join(pieces))
    return "".join(pieces), renum.order, used


def resolve_citations(text: str, order: list[int], used: list[Scored],
                      embedder: Embedder) -> tuple[str, list[Citation], bool]:
    """Citations for the renumbered text, each checked against its passage. Returns the
    cleaned text, the citations and whether any sentence is backed by a supported one."""
    text = tidy(text)
    if ABSTAIN.rstrip(".").lower() in text.lower() and not order:
        return ABSTAIN, [], False
    sentences = cited_sentences(text)
    needed = [(s, n) for s, nums in sentences for n in nums if 1 <= n <= len(order)]
    vecs = {}
    if needed:
        texts = list(dict.fromkeys([s for s, _ in needed] +
                                   [used[order[n - 1] - 1].passage.text for _, n in needed]))
        vecs = dict(zip(texts, embedder.embed(texts), strict=True))
    best: dict[int, tuple[float, str]] = {}
    for s, n in needed:
        passage = used[order[n - 1] - 1].passage.text
        score = support_score(s, passage, vecs.get(s), vecs.get(passage))
        if n not in best or score > best[n][0]:
            best[n] = (score, s)
    citations = []
    for n, src in enumerate(order, start=1):
        hit = used[src - 1]
        score, sentence = best.get(n, (0.0, ""))
        citations.append(Citation.of(n, hit.passage, hit.score, sentence,
                                     supported=score >= SUPPORT_THRESHOLD, support=round(score, 3)))
    backed = any(c.supported for c in citations)
    return text, citations, backed


__all__ = ["LLMError", "build_messages", "heuristic_condense", "llm_condense", "resolve_citations",
           "stream_answer"]
