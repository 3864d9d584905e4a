"""Retrieval and abstention quality on a golden set (JSONL: question, source, line | abstain)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Ranked = list[tuple[str, int | None]]  # (source, line), best first


@dataclass
class Scores:
    n: int
    hit1: float
    hit3: float
    mrr: float
    misses: list[str]

    def row(self) -> str:
        return f"hit@1 {self.hit1:.3f}  hit@3 {self.hit3:.3f}  MRR {self.mrr:.3f}  (n={self.n})"


def load_golden(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _matches(item: dict, source: str, line: int | None) -> bool:
    lines = item["line"] if isinstance(item["line"], list) else [item["line"]]
    return Path(source).name == Path(item["source"]).name and line in lines


def retrieval_scores(golden: list[dict], rank: Callable[[str], Ranked]) -> Scores:
    items = [g for g in golden if not g.get("abstain")]
    h1 = h3 = rr = 0.0
    misses = []
    for g in items:
        ranked = rank(g["question"])
        pos = next((i for i, (s, ln) in enumerate(ranked) if _matches(g, s, ln)), None)
        if pos == 0:
            h1 += 1
        else:
            misses.append(g["question"])
        if pos is not None and pos < 3:
            h3 += 1
        if pos is not None:
            rr += 1 / (pos + 1)
    n = len(items) or 1
    return Scores(len(items), h1 / n, h3 / n, rr / n, misses)


def abstention_scores(golden: list[dict], abstains: Callable[[str], bool]) -> dict[str, float]:
    """Share of unanswerable questions abstained on, and of answerable ones answered."""
    neg = [g for g in golden if g.get("abstain")]
    pos = [g for g in golden if not g.get("abstain")]
    return {
        "abstained_when_should": sum(abstains(g["question"]) for g in neg) / (len(neg) or 1),
        "answered_when_should": sum(not abstains(g["question"]) for g in pos) / (len(pos) or 1),
    }
