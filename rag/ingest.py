"""Sources → passages with provenance (source, line, char offsets, content hash).

The splitting is hand-written on purpose: LlamaIndex's splitters return chunk text without
the character offsets we need to point a citation at a line, so we split on paragraphs and
sentences ourselves, keep offsets throughout, and budget chunks with tiktoken.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rag.schema import Passage

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".jsonl", ".html", ".htm")

# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) and white space.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
# A period after these is not a sentence end ("U.S. President", "Mr. Smith", "J. K. Rowling",
# "Jan. 2024"): splitting there would quote a fragment as if it were the source's sentence.
_ABBREVIATION = re.compile(
    r"(?:\b(?:[A-Za-z]\.){2,}|\b[A-Z]\.|\b(?:Mr|Mrs|Ms|Dr|Prof|St|Mt|Sen|Rep|Gov|Gen|Col|Lt|Sgt|Capt|Rev|"
    r"Hon|Pres|Jr|Sr|Inc|Corp|Ltd|Co|No|vs|etc|Jan|Feb|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.)$"
)
_BLOCK_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td", "th")


class SourceError(Exception):
    """A file that cannot be indexed; the message is one sentence for the user."""


@dataclass
class LoadedFile:
    passages: list[Passage]
    warnings: list[str] = field(default_factory=list)


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


def passage_id(source: str, line: int | None, page: int | None, start: int, digest: str) -> str:
    key = f"{source}\0{line}\0{page}\0{start}\0{digest}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:24]


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


def sentence_spans(text: str, base: int = 0) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences in text, shifted by base, white space trimmed."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if _ABBREVIATION.search(text, max(start, m.start() - 12), m.start()):
            continue
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


def _pack(text: str, start: int, end: int, budget: int) -> Iterable[tuple[int, int]]:
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


def _line_of(offset: int, line_starts: list[int]) -> int:
    from bisect import bisect_right

    return bisect_right(line_starts, offset)


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer(r"\n", text)]


def _blocks(text: str) -> tuple[list[tuple[int, int]], bool]:
    """Paragraph spans, and whether the file is a list of independent snippets: a file whose
    lines are all non-blank (like the seed file) has one block per line."""
    lines = text.strip("\n").split("\n")
    # Hard-wrapped prose also has no blank lines, but its lines run on in lower case.
    run_on = sum(1 for ln in lines[1:] if ln[:1].islower())
    snippet_mode = len(lines) > 1 and all(ln.strip() for ln in lines) and run_on * 2 < len(lines)
    pattern = r"[^\n]+" if snippet_mode else r"(?:[^\n]*\S[^\n]*(?:\n|$))+"
    spans = []
    for m in re.finditer(pattern, text):
        s, e = m.start(), m.end()
        chunk = text[s:e]
        s += len(chunk) - len(chunk.lstrip())
        e -= len(chunk) - len(chunk.rstrip())
        if e > s:
            spans.append((s, e))
    return spans, snippet_mode


def _heading(text: str, spans: list[tuple[int, int]]) -> str:
    """An article's headline: a first paragraph of one short line that is not a sentence.
    Every passage is read with it, so "what did it cost?" finds the paragraph that names
    the cost but not the subject."""
    if len(spans) < 2:
        return ""
    first = text[spans[0][0]:spans[0][1]]
    marked = first.startswith("#")
    first = first.lstrip("#").strip()
    if "\n" in first or not first or len(first) > 150 or (not marked and first[-1] in ".!?;:,"):
        return ""
    return first


def _make(source: str, text: str, s: int, e: int, line: int, **meta) -> Passage:
    body = text[s:e]
    digest = passage_hash(body, meta.get("title", ""))
    return Passage(
        id=passage_id(source, line, None, s, digest),
        source=source,
        text=body,
        line=line,
        char_start=s,
        char_end=e,
        hash=digest,
        **meta,
    )


def parse_text(text: str, source: str, budget: int) -> list[Passage]:
    starts = _line_starts(text)
    out = []
    spans, snippets = _blocks(text)
    title = "" if snippets else _heading(text, spans)
    if title:
        spans = spans[1:]  # the headline lives on in every passage's title
    for bs, be in spans:
        for s, e in _pack(text, bs, be, budget):
            out.append(_make(source, text, s, e, _line_of(s, starts), title=title))
    return out


def parse_jsonl(text: str, source: str, budget: int) -> LoadedFile:
    out, warnings = [], []
    starts = _line_starts(text)
    for i, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        base = starts[i - 1]
        try:
            rec = json.loads(raw)
        except json.JSONDecodeError:
            warnings.append(f"{source} line {i} is not valid JSON; skipped that line.")
            continue
        body = rec.get("text") if isinstance(rec, dict) else None
        if not isinstance(body, str) or not body.strip():
            warnings.append(f'{source} line {i} has no "text" field; skipped that line.')
            continue
        meta = {k: str(rec.get(k) or "") for k in ("title", "url", "date")}
        # Offsets point at the record's line in the file; the text is the record's field.
        for s, e in _pack(body, 0, len(body.rstrip()), budget):
            piece = body[s:e]
            digest = passage_hash(piece, meta["title"])
            out.append(
                Passage(
                    id=passage_id(source, i, None, base + s, digest),
                    source=source,
                    text=piece,
                    line=i,
                    char_start=base,
                    char_end=base + len(raw),
                    hash=digest,
                    **meta,
                )
            )
    return LoadedFile(out, warnings)


def parse_html(text: str, source: str, budget: int) -> list[Passage]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "nav", "footer", "header", "form", "svg"]):
        tag.decompose()
    starts = _line_starts(text)
    out = []
    for el in soup.find_all(_BLOCK_TAGS):
        if el.find_parent(_BLOCK_TAGS):  # nested blocks are covered by their parent
            continue
        body = re.sub(r"\s+", " ", el.get_text(" ", strip=True)).strip()
        if not body:
            continue
        line = el.sourceline or 1
        offset = starts[min(line, len(starts)) - 1] + (el.sourcepos or 0)
        for s, e in _pack(body, 0, len(body), budget):
            piece = body[s:e]
            digest = passage_hash(piece, title)
            out.append(
                Passage(
                    id=passage_id(source, line, None, offset + s, digest),
                    source=source,
                    text=piece,
                    line=line,
                    char_start=offset,
                    char_end=offset + len(str(el)),
                    hash=digest,
                    title=title,
                )
            )
    return out


def read_source(path: Path, source: str, max_bytes: int) -> bytes:
    """The file's bytes; raises SourceError with one sentence when it can't be indexed."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SourceError(
            f"{source} has an unsupported type ({suffix or 'no extension'}); "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}."
        )
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SourceError(
                f"{source} is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit "
                "(RAG_MAX_FILE_MB); skipped."
            )
        return path.read_bytes()
    except PermissionError:
        raise SourceError(f"{source} cannot be read (permission denied); skipped.") from None
    except OSError as exc:
        raise SourceError(f"{source} cannot be read ({exc.strerror or exc}); skipped.") from None


def parse_source(data: bytes, suffix: str, source: str, budget: int) -> LoadedFile:
    """Bytes of one file → passages; raises SourceError when there is nothing to index."""
    text, warnings = decode(data, source)
    if not text.strip():
        raise SourceError(f"{source} is empty; nothing to index.")
    suffix = suffix.lower()
    if suffix == ".jsonl":
        loaded = parse_jsonl(text, source, budget)
        loaded.warnings[:0] = warnings
    elif suffix in (".html", ".htm"):
        loaded = LoadedFile(parse_html(text, source, budget), warnings)
    else:
        loaded = LoadedFile(parse_text(text, source, budget), warnings)
    if not loaded.passages:
        raise SourceError(f"{source} has no text to index.")
    return loaded


def embed_text(p: Passage) -> str:
    """What the models see: the title (when a record has one) gives a snippet its context."""
    return f"{p.title}\n{p.text}" if p.title and p.title not in p.text else p.text
