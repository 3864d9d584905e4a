"""The data the rest of the package passes around: passages, citations, answers, reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal


def locator(line: int | None, page: int | None) -> str:
    """How a position in a source is written after its file name: ":5", or " p. 3" (with the line
    on the page when known: " p. 3:5")."""
    if page:
        return f" p. {page}" + (f":{line}" if line else "")
    return f":{line}" if line else ""


@dataclass
class Passage:
    """A span of a source file, with enough provenance to point a reader back at it."""

    id: str
    source: str  # path relative to the sources dir (absolute when indexed from elsewhere)
    text: str
    line: int | None = None  # 1-based first line of the passage
    page: int | None = None
    char_start: int = 0
    char_end: int = 0
    hash: str = ""
    title: str = ""
    url: str = ""
    date: str = ""
    score: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Citation:
    n: int
    source: str
    line: int | None
    text: str
    score: float
    page: int | None = None
    quote: str = ""  # the sentence of the passage that the answer used
    passage_id: str = ""
    supported: bool = True  # the cited sentence is backed by this passage (checked, not assumed)
    support: float = 1.0  # the support score behind `supported` (extractive quotes are 1.0)
    title: str = ""
    url: str = ""
    date: str = ""  # YYYY-MM-DD

    @classmethod
    def of(cls, n: int, p: Passage, score: float, quote: str, **check) -> Citation:
        """Citation n of passage p, carrying its provenance."""
        return cls(n=n, source=p.source, line=p.line, page=p.page, text=p.text, score=round(score, 4),
                   quote=quote, passage_id=p.id, title=p.title, url=p.url, date=p.date, **check)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    mode: Literal["extractive", "llm"] = "extractive"
    abstained: bool = False
    query: str = ""  # the question as used for retrieval (rewritten for follow-ups)
    notice: str = ""  # e.g. why the answer fell back to the offline mode
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage
    usage: dict[str, float] = field(default_factory=dict)
    passages: list[Passage] = field(default_factory=list)  # everything retrieved

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class IndexReport:
    added: int = 0  # files
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    embedded: int = 0  # passages embedded in this run
    passages: int = 0  # passages in the index after the run
    files: dict[str, str] = field(default_factory=dict)  # source -> added|updated|unchanged|...
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    by: str = ""  # who ran it when not this process: "the running writer (pid 4242)"

    def to_dict(self) -> dict:
        return asdict(self)

    def warning_for(self, source: str) -> str:
        """The warning this run gave about `source` ("" if none)."""
        return next((w for w in self.warnings if w.startswith(source)), "")

    def summary(self) -> str:
        def n(count: int, noun: str) -> str:
            return f"{count} {noun}{'' if count == 1 else 's'}"

        return (
            f"{self.added} added, {self.updated} updated, {self.removed} removed, "
            f"{n(self.unchanged, 'unchanged file')}; {n(self.embedded, 'passage')} embedded; "
            f"{n(self.passages, 'passage')} in the index"
        )
