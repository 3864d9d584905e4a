"""What every loader shares: passages with provenance (source, line, char offsets, content hash),
sentence spans, token budgets, decoding.

The splitting is hand-written on purpose: LlamaIndex's splitters return chunk text without
the character offsets we need to point a citation at a line, so we split on paragraphs and
sentences ourselves, keep offsets throughout, and budget chunks with tiktoken.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from rag.schema import Passage

# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) and white space.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
# A period after these is not a sentence end ("U.S. President", "Mr. Smith", "J. K. Rowling",
# "Jan. 2024"): splitting there would quote a fragment as if it were the source's sentence.
_ABBREVIATION = re.compile(
    r"(?:\b(?:[A-Za-z]\.){2,}|\b[A-Z]\.|\b(?:Mr|Mrs|Ms|Dr|Prof|St|Mt|Sen|Rep|Gov|Gen|Col|Lt|Sgt|Capt|Rev|"
    r"Hon|Pres|Jr|Sr|Inc|Corp|Ltd|Co|No|vs|etc|Jan|Feb|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.)$"
)


class SourceError(Exception):
    """A file that cannot be indexed; the message is one sentence for the user."""


@dataclass
class LoadedFile:
    passages: list[Passage]
    warnings: list[str] = field(default_factory=list)
    date: str = ""  # the document's own date (page or PDF metadata), for passages without one


@lru_cache(maxsize=1)
def _encoding():
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def passage_hash(text: str, title: str = "") -> str:
    """Identifies what gets embedded: the text, and the title it is read with when it has one."""
    return content_hash(f"{title}\n{text}" if title else text)


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def passage_id(p: Passage) -> str:
    """Deterministic: the same passage of the same file keeps its id (and vector) across runs.
    A new link or date is a new id, so Chroma's metadata, which filters on the date, follows;
    the vector itself is reused by content hash."""
    key = f"{p.source}\0{p.line}\0{p.page}\0{p.char_start}\0{p.hash}"
    if p.url or p.date:
        key += f"\0{p.url}\0{p.date}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:24]


def new_passage(source: str, text: str, *, line: int | None = None, page: int | None = None,
                start: int = 0, end: int = 0, title: str = "", url: str = "", date: str = "") -> Passage:
    """A passage with its content hash; its id is given once its url and date are settled."""
    return Passage(id="", source=source, text=text, line=line, page=page, char_start=start,
                   char_end=end, hash=passage_hash(text, title), title=title, url=url, date=date)


def decode(data: bytes, name: str) -> tuple[str, list[str]]:
    """Bytes → text. Binary files are refused; non-UTF-8 text is read as Windows-1252."""
    if b"\x00" in data[:8192]:
        raise SourceError(f"{name} looks like a binary file, not text; skipped.")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        # cp1252 maps almost every byte; latin-1 is the total fallback for the few it does not.
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        return text, [f"{name} is not UTF-8; read it as Windows-1252 (save it as UTF-8 to be sure)."]


_DATE_ONLY = re.compile(r"(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2},?\s+|\d{1,2}\s+[A-Z][a-z]{2,8}\.?,?\s+|"
                        r"[A-Z][a-z]{2,8}\.?,?\s+)?\d{4}(?:-\d\d-\d\d)?")


def sentence_spans(text: str, base: int = 0) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences in text, shifted by base, white space trimmed."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if _ABBREVIATION.search(text, max(start, m.start() - 12), m.start()):
            continue
        if start == 0 and _DATE_ONLY.fullmatch(text[:m.start()].strip().rstrip(". …")):
            continue  # "Mar 9, 2019 ... The museum closed": the snippet's date opens its sentence
        spans.append((start, m.start() + len(m.group(0).rstrip())))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        piece = text[s:e]
        s2 = s + (len(piece) - len(piece.lstrip()))
        e2 = e - (len(piece) - len(piece.rstrip()))
        if e2 > s2:
            out.append((base + s2, base + e2))
    return out


def split_sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def pack(text: str, start: int, end: int, budget: int) -> Iterable[tuple[int, int]]:
    """Split text[start:end] into spans of whole sentences of at most `budget` tokens."""
    # A token is at least one character, so a span no longer than the budget fits uncounted.
    if end - start <= budget or count_tokens(text[start:end]) <= budget:
        yield start, end
        return
    cur_s = cur_e = None
    cur_tokens = 0
    for s, e in sentence_spans(text[start:end], start):
        n = count_tokens(text[s:e])
        if cur_s is not None and cur_tokens + n > budget:
            yield cur_s, cur_e
            cur_s, cur_tokens = None, 0
        if cur_s is None:
            cur_s = s
        cur_e, cur_tokens = e, cur_tokens + n
    if cur_s is not None:
        yield cur_s, cur_e


def line_of(offset: int, line_starts: list[int]) -> int:
    from bisect import bisect_right

    return bisect_right(line_starts, offset)


def line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer(r"\n", text)]


def read_with(text: str, title: str) -> str:
    """What the models see of a passage: the title (when a record has one) gives a snippet its
    context."""
    return f"{title}\n{text}" if title and title not in text else text


def embed_text(p: Passage) -> str:
    return read_with(p.text, p.title)
