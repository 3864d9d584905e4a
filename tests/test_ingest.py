"""Loading sources into passages with provenance."""

from __future__ import annotations

import json

import pytest

from rag.ingest import SourceError, split_sentences
from rag.loaders import parse_source, read_source
from tests.conftest import SEED


def _load(path, name=None, budget=220):
    data = read_source(path, name or path.name, 10_000_000)
    return parse_source(data, path.suffix, name or path.name, budget)


def test_seed_file_gives_one_passage_per_line_with_exact_provenance():
    loaded = _load(SEED)
    raw = SEED.read_text(encoding="utf-8")
    lines = raw.splitlines()
    assert len(loaded.passages) == len(lines) == 12
    for i, p in enumerate(loaded.passages, start=1):
        assert p.line == i
        assert p.text == lines[i - 1].strip()
        assert raw[p.char_start : p.char_end] == p.text  # offsets point at the exact text
        assert p.source == SEED.name
    rubio = loaded.passages[4]
    assert "Rubio" in rubio.text and rubio.line == 5


def test_ids_and_hashes_are_deterministic_and_distinct():
    a, b = _load(SEED).passages, _load(SEED).passages
    assert [p.id for p in a] == [p.id for p in b]
    assert len({p.id for p in a}) == len(a)
    assert all(len(p.hash) == 16 for p in a)


def test_prose_is_split_by_paragraphs_and_token_budget(tmp_path):
    para1 = "The summit opened in Rome. Leaders arrived on Monday."
    long_para = " ".join(f"Sentence number {i} talks about trade and tariffs." for i in range(60))
    text = f"# Title line\n\n{para1}\nIt rained all day.\n\n{long_para}\n"
    f = tmp_path / "article.md"
    f.write_text(text, encoding="utf-8")
    passages = _load(f, budget=64).passages
    # the headline is no passage of its own: every passage is read (embedded) with it
    assert all(p.title == "Title line" for p in passages)
    assert passages[0].text.startswith(para1) and passages[0].line == 3
    assert "It rained all day." in passages[0].text  # hard-wrapped paragraph stays together
    rest = passages[1:]
    assert len(rest) > 3  # the long paragraph is cut into several budgeted passages
    from rag.ingest import count_tokens

    for p in rest:
        assert count_tokens(p.text) <= 64
        assert text[p.char_start : p.char_end] == p.text
        assert p.line == 6
        assert p.text.endswith(".")  # cut at sentence ends


def test_headline_travels_with_every_paragraph(tmp_path):
    from rag.ingest import embed_text

    f = tmp_path / "lyon.txt"
    f.write_text("Lyon opens its seventh tram line\n\nThe mayor cut the ribbon on Tuesday.\n\n"
                 "The line cost 93 million euros.\n", encoding="utf-8")
    a = _load(f).passages
    headline = "Lyon opens its seventh tram line"
    assert [(p.line, p.title) for p in a] == [(3, headline), (5, headline)]
    assert embed_text(a[1]) == "Lyon opens its seventh tram line\nThe line cost 93 million euros."
    # a new headline is a change of what gets embedded: new ids, so the passages are re-embedded
    f.write_text(f.read_text().replace("seventh", "7th"), encoding="utf-8")
    b = _load(f).passages
    assert {p.id for p in a}.isdisjoint(p.id for p in b) and a[1].text == b[1].text
    # a first paragraph that is a sentence is not a headline
    f.write_text("The mayor spoke on Tuesday.\n\nThe line cost 93 million euros.\n", encoding="utf-8")
    assert [(p.line, p.title) for p in _load(f).passages] == [(1, ""), (3, "")]


@pytest.mark.parametrize("text, sentences", [
    ("Zelensky questioned U.S. President Donald Trump's trust. Then he left.",
     ["Zelensky questioned U.S. President Donald Trump's trust.", "Then he left."]),
    ("Mr. Smith met Dr. Jones in St. Louis. They talked.",
     ["Mr. Smith met Dr. Jones in St. Louis.", "They talked."]),
    ("J. K. Rowling wrote it. It sold.", ["J. K. Rowling wrote it.", "It sold."]),
    ("Prices rose in Jan. 2024 to a high. Then fell.", ["Prices rose in Jan. 2024 to a high.", "Then fell."]),
    ("It grew 5.1%. In 2024 it fell! Why? \"Rates,\" he said.",
     ["It grew 5.1%.", "In 2024 it fell!", "Why?", "\"Rates,\" he said."]),
])
def test_sentences_do_not_end_at_abbreviations(text, sentences):
    assert split_sentences(text) == sentences


def test_a_seed_sentence_with_us_president_is_quoted_whole():
    line = SEED.read_text(encoding="utf-8").splitlines()[9]
    assert "U.S. President Donald Trump" in line and split_sentences(line) == [line]


def test_hard_wrapped_prose_is_not_mistaken_for_snippets(tmp_path):
    f = tmp_path / "wrapped.txt"
    f.write_text("The central bank said on Tuesday that it\nwould keep rates unchanged because\n"
                 "inflation is still too high.\n", encoding="utf-8")
    passages = _load(f).passages
    assert len(passages) == 1 and passages[0].line == 1


def test_jsonl_records_keep_their_line_and_metadata(tmp_path):
    f = tmp_path / "feed.jsonl"
    rows = [
        {"text": "Alpha beta gamma.", "title": "Greek", "url": "https://x/1", "date": "2025-01-02"},
        "not json {",
        {"title": "no text"},
        {"text": "Delta epsilon."},
    ]
    f.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    loaded = _load(f)
    assert [(p.line, p.text) for p in loaded.passages] == [(1, "Alpha beta gamma."), (4, "Delta epsilon.")]
    assert loaded.passages[0].title == "Greek" and loaded.passages[0].url == "https://x/1"
    assert loaded.passages[0].date == "2025-01-02"
    assert any("line 2 is not valid JSON" in w for w in loaded.warnings)
    assert any('line 3 has no "text"' in w for w in loaded.warnings)


def test_html_blocks_carry_their_source_line(tmp_path):
    f = tmp_path / "page.html"
    f.write_text(
        "<html><head><title>Daily</title><script>var x = 'ignore me';</script></head>\n<body>\n"
        "<h1>Markets</h1>\n<p>Stocks rose on <b>Friday</b>.</p>\n<nav>menu</nav>\n"
        "<p>Oil fell.</p></body></html>\n",
        encoding="utf-8",
    )
    passages = _load(f).passages
    # the headline is no passage of its own: every passage is read with it
    assert [(p.line, p.text) for p in passages] == [(4, "Stocks rose on Friday ."), (6, "Oil fell.")]
    assert all(p.title == "Markets" for p in passages)
    assert not any("ignore me" in p.text or "menu" in p.text for p in passages)


def test_non_utf8_is_read_with_a_warning(tmp_path):
    f = tmp_path / "latin.txt"
    f.write_bytes("Café société in Zürich.\nSecond snippet here.\n".encode("cp1252"))
    loaded = _load(f)
    assert loaded.passages[0].text == "Café société in Zürich."
    assert any("not UTF-8" in w for w in loaded.warnings)


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("blob.txt", b"\x00\x01\x02binary", "binary"),
        ("empty.txt", b"", "empty"),
        ("blank.md", b"\n \n\t\n", "empty"),
        ("photo.png", b"\x89PNG", "unsupported type"),
    ],
)
def test_unindexable_files_raise_one_sentence(tmp_path, name, content, message):
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(SourceError) as exc:
        _load(f)
    text = str(exc.value)
    assert message in text and name in text and text.count("\n") == 0
