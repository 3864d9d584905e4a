"""Citation markers in LLM text: parse, drop unknown numbers, renumber by first use, verify.

Works on a stream: `Renumberer.feed()` holds back a possibly unfinished marker ("[1" at a
chunk boundary) so that the text a user watches stream in is already the final text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from rag.ingest import split_sentences
from rag.keyword import terms

MARKER = re.compile(r"\[\s*(\d+(?:\s*(?:[-–,;]|and)\s*\d+)*)\s*\]")
_OPEN_TAIL = re.compile(r"\[[\d\s,;\-–and]*$")
# Calibrated on tests/data/support_pairs.jsonl: paraphrases of the cited passage score
# 0.71-0.96, the same sentences citing another passage on the same topic 0.02-0.40.
SUPPORT_THRESHOLD = 0.55


def expand(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*(?:,|;|and)\s*", group.strip()):
        m = re.fullmatch(r"(\d+)\s*[-–]\s*(\d+)", part)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            if 0 < b - a < 20:
                out.extend(range(a, b + 1))
                continue
        if part.isdigit():
            out.append(int(part))
    return out


@dataclass
class Renumberer:
    k: int  # valid source numbers are 1..k
    order: list[int] = field(default_factory=list)  # source numbers in order of first use
    _pending: str = ""

    def _sub(self, m: re.Match) -> str:
        nums = []
        for n in expand(m.group(1)):
            if 1 <= n <= self.k:
                if n not in self.order:
                    self.order.append(n)
                new = self.order.index(n) + 1
                if new not in nums:
                    nums.append(new)
        return "".join(f"[{n}]" for n in sorted(nums))

    def feed(self, delta: str) -> str:
        text = self._pending + delta
        tail = _OPEN_TAIL.search(text)
        self._pending, text = (text[tail.start():], text[: tail.start()]) if tail else ("", text)
        return MARKER.sub(self._sub, text)

    def finish(self) -> str:
        text, self._pending = self._pending, ""
        return MARKER.sub(self._sub, text)


def tidy(text: str) -> str:
    """Close the gaps that dropped markers leave ("and [7]." → "and.")."""
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()


def renumber(text: str, k: int) -> tuple[str, list[int]]:
    r = Renumberer(k)
    return tidy(r.feed(text) + r.finish()), r.order


def cited_sentences(text: str) -> list[tuple[str, list[int]]]:
    """(sentence without markers, the new citation numbers it carries)."""
    out: list[tuple[str, list[int]]] = []
    for sent in split_sentences(text):
        lead = re.match(r"(?:\s*\[\d+\])+", sent)
        if lead and out:  # "... Moscow. [2]" : a marker after the full stop cites what precedes
            out[-1][1].extend(int(n) for n in re.findall(r"\d+", lead.group(0)))
            sent = sent[lead.end():]
        nums = [int(n) for n in re.findall(r"\[(\d+)\]", sent)]
        bare = re.sub(r"\s*\[\d+\]", "", sent).strip()
        if re.search(r"\w", bare):
            out.append((bare, nums))
    return out


def lexical_support(sentence: str, passage: str) -> float:
    """Share of the sentence's content terms that the passage contains."""
    s = set(terms(sentence))
    return len(s & set(terms(passage))) / len(s) if s else 0.0


def support_score(sentence: str, passage: str, s_vec: np.ndarray | None,
                  p_vec: np.ndarray | None) -> float:
    lex = lexical_support(sentence, passage)
    if s_vec is None or p_vec is None:
        return lex
    return 0.5 * lex + 0.5 * float(np.dot(s_vec, p_vec))
