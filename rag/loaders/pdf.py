"""PDF files (reports, press releases, e-papers) with pypdf: passages carry their page and the
line within the page where they start.

Text comes out of a PDF as lines in reading order, with the page's running header and footer
and words hyphenated at line ends. Lines that recur at the top or bottom of most pages (digits
ignored, so "Page 3 of 9" recurs) are dropped; "elec-" + "tion" is joined; lines are gathered
into paragraphs, which are cut into passages by the token budget at sentence ends.
"""

from __future__ import annotations

import io
import re
from collections import Counter

from rag.ingest import LoadedFile, SourceError, new_passage, pack

_EDGE_LINES = 2  # lines at the top and at the bottom of a page that may be a running header/footer
_RUNNING_MAX_CHARS = 90  # a running header is a short line; a recurring long one is text
_PLACEHOLDER_TITLE = re.compile(r"^(untitled|microsoft \w+ - |.*\.(docx?|pdf|indd|odt|rtf)$)", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?:][\"'”’)]*$")


def _needs_crypto(source: str) -> SourceError:
    # pypdf reads RC4 on its own but AES (what Acrobat and Word write) only with `cryptography`.
    return SourceError(f"{source} is encrypted with AES, which needs the cryptography package "
                       "(pip install cryptography); skipped.")


def _reader(data: bytes, source: str):
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):  # an empty user password opens many
            raise SourceError(f"{source} is encrypted; save an unprotected copy to index it.")
        reader.pages[0]  # noqa: B018 - a broken page tree fails here, not half-way through
        return reader
    except SourceError:
        raise
    except DependencyError:  # AES-256: checking even the empty password needs AES
        raise _needs_crypto(source) from None
    except Exception:
        # Damaged files raise more than PdfReadError: LimitReachedError (a huge xref count),
        # AttributeError (a trailer that is a string), ... None of them may end the whole run.
        raise SourceError(f"{source} is not a readable PDF (damaged or truncated); skipped.") from None


def _metadata(reader) -> tuple[str, str]:
    """(title, raw creation date) from the document information, "" when absent or junk."""
    try:
        info = reader.metadata or {}
        title = str(info.get("/Title") or "").strip()
        date = str(info.get("/CreationDate") or info.get("/ModDate") or "")
    except Exception:  # malformed metadata never keeps the text out
        return "", ""
    return ("" if _PLACEHOLDER_TITLE.match(title) else title), date


def _shape(line: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", line)).strip().lower()


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Shapes of lines at a page's edge that recur on most pages: headers, footers, page numbers."""
    if len(pages) < 2:
        return set()
    counts: Counter[str] = Counter()
    for lines in pages:
        edge = lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]
        counts.update({_shape(ln) for ln in edge if ln.strip() and len(ln) <= _RUNNING_MAX_CHARS})
    need = max(2, (len(pages) + 1) // 2)
    return {shape for shape, n in counts.items() if n >= need}


def _paragraphs(lines: list[str], running: set[str]) -> list[tuple[str, list[tuple[int, int]]]]:
    """A page's lines → paragraphs: (text, [(offset in text, line number on the page)])."""
    n = len(lines)
    edge = set(range(min(_EDGE_LINES, n))) | set(range(max(0, n - _EDGE_LINES), n))
    width = max((len(ln.strip()) for ln in lines), default=0)
    out: list[tuple[str, list[tuple[int, int]]]] = []
    text, marks = "", []
    for i, raw in enumerate(lines):
        line = re.sub(r"\s+", " ", raw).strip()
        if i in edge and _shape(line) in running:
            continue
        if not line:
            if text:
                out.append((text, marks))
            text, marks = "", []
            continue
        if text.endswith("-") and line[:1].islower() and text[-2:-1].isalpha():
            text = text[:-1]  # a word hyphenated across the line end
            # This line still starts here: a passage cut at a sentence later on it is cited at it.
            marks.append((len(text), i + 1))
            text += line
        else:
            if text:
                text += " "
            marks.append((len(text), i + 1))
            text += line
        # A short line that ends a sentence ends its paragraph.
        if _SENTENCE_END.search(line) and len(line) < 0.75 * width:
            out.append((text, marks))
            text, marks = "", []
    if text:
        out.append((text, marks))
    return out


def parse_pdf(data: bytes, source: str, budget: int) -> LoadedFile:
    from pypdf.errors import DependencyError

    reader = _reader(data, source)
    title, date = _metadata(reader)
    pages: list[list[str]] = []
    for page in reader.pages:
        try:
            pages.append((page.extract_text() or "").splitlines())
        except DependencyError:
            # AES-128 opens with the empty password, but its text can't be decrypted without
            # `cryptography`: say so, rather than "no text layer; scanned PDFs need OCR".
            if reader.is_encrypted:
                raise _needs_crypto(source) from None
            pages.append([])
        except Exception:  # one bad page content stream leaves the others
            pages.append([])
    if not any(ln.strip() for lines in pages for ln in lines):
        raise SourceError(f"{source} has no text layer; scanned PDFs need OCR first.")
    running = _running_lines(pages)
    out = []
    empty = []
    for number, lines in enumerate(pages, start=1):
        paragraphs = _paragraphs(lines, running)
        if not paragraphs:
            empty.append(number)
        for text, marks in paragraphs:
            for s, e in pack(text, 0, len(text), budget):
                line = next(ln for off, ln in reversed(marks) if off <= s)
                out.append(new_passage(source, text[s:e], page=number, line=line, start=s, end=e,
                                       title=title))
    loaded = LoadedFile(out, date=date)
    if empty and len(empty) < len(pages):
        listed = ", ".join(map(str, empty[:10])) + (" …" if len(empty) > 10 else "")
        loaded.warnings.append(f"{source}: page{'s' if len(empty) > 1 else ''} {listed} had no text layer "
                               f"and {'were' if len(empty) > 1 else 'was'} skipped (scanned pages need OCR).")
    return loaded
