"""Loaders for news sources, with real files: PDFs written with fpdf2 and read back with pypdf,
RSS/Atom/RDF feeds through feedparser, dated text and Markdown, and a feed indexed twice by the
real indexer."""

from __future__ import annotations

import base64
import importlib.util
import io
import random
import re
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fpdf import FPDF
from pypdf import PdfReader

from rag.ingest import LoadedFile, SourceError
from rag.loaders import parse_source


def _load(data: bytes | str, name: str, budget: int = 220) -> LoadedFile:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return parse_source(data, Path(name).suffix, name, budget)


def _refused(data: bytes | str, name: str) -> str:
    """The one-sentence message a file that can't be indexed gets."""
    with pytest.raises(SourceError) as exc:
        _load(data, name)
    message = str(exc.value)
    assert message.startswith(name) and message.endswith(".") and "\n" not in message
    # raised as itself, not chained to the library's exception (whose traceback would be shown)
    assert exc.value.__cause__ is None
    assert exc.value.__context__ is None or exc.value.__suppress_context__
    return message


# ---- PDF ------------------------------------------------------------------------------------

HEADER = "Northwind Energy Review - Quarterly Report"
CREATED = datetime(2024, 3, 5, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # March 6 in UTC
REPORT = [
    [
        "Wind farms along the northern coast produced more elec-",
        "tricity than the coal plants in March, a first for the region. Grid operators said",
        "the record held for eleven days.",
        "Batteries at the Kelso substation absorbed the surplus during the night hours and",
        "released it at the morning peak.",
    ],
    [
        "Prices for households fell by four percent over the quarter as cheaper wind power",
        "reached the wholesale market. Retailers passed on most of the saving to customers.",
        "Industrial users saw smaller cuts.",
        "The regulator will review network charges in June.",
    ],
    [
        "Two new interconnectors to Norway are planned for 2026, and the operator expects",
        "them to cut curtailment by a third. Construction starts after the summer.",
        "Coal will be phased out by the end of the decade, the minister said.",
    ],
]


class _Report(FPDF):
    """A running header and a "Page N of M" footer on every page, as reports have."""

    def header(self):
        self.set_font("Helvetica", size=9)
        self.cell(0, 6, HEADER, new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def footer(self):
        self.set_y(-15)
        self.set_font("Helvetica", size=9)
        self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="C")


def _pdf(pages: list[list[str]], *, cls: type[FPDF] = FPDF, title: str = "", created: datetime | None = None,
         user_password: str | None = None) -> bytes:
    """One line of text per cell, so line breaks (and the hyphenated word) are exactly where written;
    a page without lines gets a drawing only, and no text."""
    pdf = cls()
    if title:
        pdf.set_title(title)
    if created:
        pdf.set_creation_date(created)
    if user_password is not None:
        pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
    for lines in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        if not lines:
            pdf.set_fill_color(200, 60, 60)
            pdf.rect(40, 60, 120, 80, style="DF")
        for line in lines:
            pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _page_lines(data: bytes) -> list[list[str]]:
    return [(page.extract_text() or "").splitlines() for page in PdfReader(io.BytesIO(data)).pages]


def test_pdf_report_passages_carry_page_line_title_and_date():
    data = _pdf(REPORT, cls=_Report, title="Northwind Energy Review: March 2024", created=CREATED)
    pages = _page_lines(data)
    # the fixture is what a report looks like to pypdf: header first, footer last, our lines between
    for n, lines in enumerate(pages, start=1):
        assert lines[0] == HEADER and lines[-1] == f"Page {n} of 3"
        assert lines[1:-1] == REPORT[n - 1]
    # a small budget cuts paragraphs at sentences, so passages start in the middle of lines too
    passages = _load(data, "report.pdf", budget=24).passages
    assert {p.page for p in passages} == {1, 2, 3}
    for p in passages:
        first_words = " ".join(p.text.split()[:3])
        assert first_words in pages[p.page - 1][p.line - 1], (p.page, p.line, p.text)
        assert p.title == "Northwind Energy Review: March 2024"
        assert p.date == "2024-03-05"  # the creation day as written, not converted to UTC
        # the running header and the page numbers are dropped from every page
        assert "Northwind" not in p.text and "Quarterly Report" not in p.text
        assert not re.search(r"Page \d of 3", p.text)
    text = " ".join(p.text for p in passages)
    assert "produced more electricity than the coal plants" in text
    assert "elec-" not in text and "elec tricity" not in text
    # a sentence that starts on the line continuing the hyphenated word is cited at that line
    grid = next(p for p in passages if p.text.startswith("Grid operators said"))
    assert (grid.page, grid.line) == (1, 3)
    # every line of text is in some passage, each on its own page
    for n, lines in enumerate(REPORT, start=1):
        on_page = " ".join(p.text for p in passages if p.page == n)
        for line in lines:
            assert line.removesuffix("-").split()[-1] in on_page


@pytest.mark.parametrize("placeholder", ["Microsoft Word - draft.docx", "annual_report_final.pdf",
                                         "Untitled"])
def test_pdf_placeholder_title_is_not_used(placeholder):
    data = _pdf(REPORT[:1], title=placeholder, created=CREATED)
    assert PdfReader(io.BytesIO(data)).metadata.title == placeholder
    passages = _load(data, "draft.pdf").passages
    assert passages and all(p.title == "" for p in passages)
    assert all(p.date == "2024-03-05" for p in passages)


def test_pdf_page_without_text_is_named_in_a_warning_and_the_others_are_indexed():
    data = _pdf([REPORT[0], [], REPORT[2]])
    assert _page_lines(data)[1] == []  # the middle page is a drawing only
    loaded = _load(data, "scan-mix.pdf")
    assert {p.page for p in loaded.passages} == {1, 3}
    assert any("Construction starts after the summer." in p.text for p in loaded.passages)
    assert loaded.warnings == ["scan-mix.pdf: page 2 had no text layer and was skipped "
                               "(scanned pages need OCR)."]


def test_pdf_without_any_text_needs_ocr():
    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.rect(30, 30, 100, 50, style="D")
        pdf.ellipse(50, 120, 80, 40, style="F")
    from PIL import Image

    pdf.image(Image.new("RGB", (40, 30), (20, 120, 200)), x=20, y=200, w=60)
    message = _refused(bytes(pdf.output()), "scanned.pdf")
    assert message == "scanned.pdf has no text layer; scanned PDFs need OCR first."


def test_pdf_with_a_user_password_is_refused():
    data = _pdf(REPORT[:1], user_password="secret")
    assert PdfReader(io.BytesIO(data)).is_encrypted
    message = _refused(data, "locked.pdf")
    assert "encrypted" in message and "unprotected copy" in message


def test_pdf_encrypted_with_an_empty_user_password_is_indexed():
    data = _pdf(REPORT[2:], title="Grid outlook", user_password="")
    assert PdfReader(io.BytesIO(data)).is_encrypted
    passages = _load(data, "restricted.pdf").passages
    assert any("Coal will be phased out by the end of the decade" in p.text for p in passages)
    assert all(p.title == "Grid outlook" and p.page == 1 for p in passages)


# AES-encrypted PDFs (empty user password, owner password "owner"), one page reading "The ferry to
# Skye resumed service.": written by fpdf2 with EncryptionMethod.AES_128 / AES_256 (which needs the
# `cryptography` package, so they are stored here), zlib-compressed, base64.
_AES_128 = (
    "eNqFVE2IHEUUxouH9pZDAgahFPck2e7qrq6uknGwfrqSxay7ziQrMiyxM1MzdujpHrprlh0vKh71EhARj3oMGEHQmwFBxNwU"
    "kUAUJYeAehISkCjB6pnZnZY52DDdXd+r+t73vvemN3alOgM3sbPx2x9/3nAg8EBx+YrTajmuKKa5AdBxX0gHFegFNtTZd9xt"
    "PUgTXhyCnmcRnwSbCAMIg82A2uiF2UQDdzcZ6cpptx2dD2o6v0G7M9E565u0yJecwFWpOQfyaZZZgvro+WRWTA1wd3Itimw6"
    "zhdwBWp5naMkIjFJVowaaYL/qM+Nzk0F0OLM2bKYTkCrtTy8WLpd4F4ok7yaJKXO+zNLahGpD9K+7pzlltkmthFzlLmjq2Ja"
    "9q0U3JRSq2voQA0dKs2MLm2NWWK01P1ioB33vM5H5jXrml+fqkypk7FzavR470Z+0737w6Uf/yrffCu7yh4dnv726cPZxYfv"
    "fPzwkWc++PnFx7ZOvX/3xPe3nht0Wtd/Ovjyu08//PuVr159/qlb96/9evvSF59d+/rJm+9eHT/x4PobH/1+8sF7z7790skT"
    "BP3zSbF/594vzs43e1du37tDPt89vVmrXaZe6g4bunlSaWU9BO45nR1ok/YTx41zqz/NR8B9Oc1ZXqVHgON2p5fN3IvaEXhk"
    "TM3QMAY3janJbT8UBHXeztzssuh3tQE9146lpdKHNv/W2LrLl0+xfG7tN2ijZt9tQfVwSWs3aAkkmM8jjH2PEBQI6VNBFSUQ"
    "K59wSTjFMfMZDxllihPEYkFoHHlCxsgjkKCYMc4RITCEOJIMEa5iL5KSKhlT5rUbKkhThapL65rB4kWobeCyuLvnr3qPj+e4"
    "nE3MYkza7doFa2oNbWuTDOyMg2GSVXo1SV2T5IOkHKyofGL/VqAVYqwYiYI4DgIR0UjIgFMPKcmkIhAxxQIkFWUBUTiWCHJq"
    "6/MFltYBhlVYNwCcQXbKgb11zViBRQn1olwtLoJWpBAmHkUUCk/QiCGKFFM4lIzB+hdGiopY2MQ8REHAfYlUDIPAD0MuOaM2"
    "1Z5NsjLvsNRDxwPU8Y4vgMMwCMEQHGPQDso8kh9j0PPXMN9b3xcguIaF/vo+7K/zRR5dw+wwrTBTJmmmy3nnu+nr2pbhdorC"
    "AH/xkdjKhwWIFu/L5gKyDEnQaykhhaJYENuLkHJu24WZ73mSx76HOW3//479xYckKc3cSQix52xsxDvK+RfF0KuP"
)
_AES_256 = (
    "eNqFVE2IHEUU1oN/vTl4URR/KNAVhGS7fruqYByo6upKFhM3zCRRWYJ0ZmrXltnupadn2c3JgxAPOcqKKCoeJHoQLx5EouBF"
    "PYWcvHo0CEIOXvTi653ZTcse7EP/vFfve9/76qtePu/8KbqCo+U7f9z9ISIIo+rKW1GvF8VpNSsbRKL45WI8ResMUoPLUXwu"
    "jIvcVrtoHUOEKrbCE0QIW2Eashf2tgOKz+ebYRr1+1Eoxy0c7cCubYfSjJqiKheYKPZFcwaVs8kEANrSs/leNWtQvFaGtJrM"
    "tsp5eIpaeoPDJmne5JNqs9OG/Yd92YSymSI+rzldV7Nt1Ostiuef8RDFF+q8nG7ndShHewAKERd2ilEYnLaADI0h0xx2HoRp"
    "NatHQCXpUmnZdXjwDg9fTJpQw4yTvAkujKpxiOKzodxs3gTVaFs1beqQb0Xf7D6yEq4/fuv52w9Fn999cO2VHXvL3vx+6ecf"
    "X8vD219899Jz1148uzTFvzzzU3F/f//kyZtfPvvP5In39pcvfIBuXB1mTz326I39G9t//fbpRw9Mvvrs2uq7e0vvv/Px/tPf"
    "3rl9369PvvD1nU9OvH79z78/jE48fOv3N1q2i9YL3qLD2+bT4EFDFJ8Jk53QFKM8irMS+BflJopfLUpTTovDQBQPZ1eaAy1a"
    "RcihMC1CR5ikK0wLDvvhCWr7Dg7ErqvRMDRoPQZbAlTYhf6rW6CuXTzTxXP1cgdWdvcdBmrN5UBu1PMJd4QzQqV31jruPBap"
    "o6lzzDmnnRNGUpU6QjRjnDqhOBYak9QLxjPuGDVSYeU45VxjwY0QOpUCC+oN9STtd1ioLgvfjjZsxvOX1J9DscmGl9jR3jN6"
    "5ON6b7uZ26Tfb1UAUdvQudDkY/A42sgn03DPScMmL8d5PT6CoiKBY4V6NpWWMKO1FNoY74nDihpMiOEwOMmkpITDlRosE0wo"
    "d5jbxLCEOaq5oTQzjGPpqKdGUK29sA4nWBKthBMsA2prGeoRrEFWLq1MCCeYY6MSJb3hqYPWyqSZJjJjjArPLdYswc5lGSzw"
    "gkjqWbvP6BSHe6i3pqgnM0sN5K2SQlDgAgRMQjkTHqece1g/QDDhsNnyaK5p+1Hf+7iIeo5iTYlyxDjhKPNeeJKkmFiiLGeG"
    "JimXLtFaaU+zBDPPZepNlmELXlDaOoNTpq1xhEE1yzJBsswLzHWmoY4DiYswe+KklwY75i1TSlEMNtHGeW+gh8MwdmrBSkqk"
    "XoPVFLYyM04ZQ8A4WeIA5hISHdPs1mEjwkhH+OhCiRBMoA10FCNwQA4y5VGMYHosBmyOxRgnx2KCHl+X0ON4EutjMcXZvVhT"
    "58Uk1AeOHxZXA4wRD6qqQXT+c1wtNyok5+8LUyO1SDm03vOpA52SVKWJExrOp1eJoRg7m1GcWN3//xWX5z/QvG4OlCQcq2h5"
    "OVvz0b/CxdpD"
)


@pytest.mark.parametrize("blob", [_AES_128, _AES_256], ids=["aes-128", "aes-256"])
def test_pdf_encrypted_with_aes_is_indexed_or_needs_the_crypto_package(blob):
    data = zlib.decompress(base64.b64decode(blob))
    assert re.search(rb"/CFM /AESV[23]", data) and b"/Filter /Standard" in data  # really AES
    if importlib.util.find_spec("cryptography") or importlib.util.find_spec("Crypto"):
        assert [p.text for p in _load(data, "aes.pdf").passages] == ["The ferry to Skye resumed service."]
    else:  # pypdf decrypts AES only with one of those; not "scanned, needs OCR", not a traceback
        message = _refused(data, "aes.pdf")
        assert message == ("aes.pdf is encrypted with AES, which needs the cryptography package "
                           "(pip install cryptography); skipped.")


def _good_pdf() -> bytes:
    return _pdf(REPORT[:2])


@pytest.mark.parametrize("damage", [
    pytest.param(lambda good: good[: len(good) // 2], id="truncated-half"),
    pytest.param(lambda good: good[:-40], id="truncated-tail"),
    pytest.param(lambda good: b"%PDF-1.4 garbage", id="header-then-garbage"),
    pytest.param(lambda good: random.Random(7).randbytes(4000), id="random-bytes"),
    pytest.param(lambda good: b"", id="empty"),
    # pypdf raises LimitReachedError here, not a PdfReadError
    pytest.param(lambda good: re.sub(rb"xref\n0 \d+\n", b"xref\n0 1700000\n", good), id="huge-xref-count"),
    # and AttributeError here (the trailer is a string)
    pytest.param(lambda good: good.replace(b"trailer\n<<", b"trailer\n(oops)\n<<"), id="string-trailer"),
])
def test_damaged_pdf_gets_one_sentence(damage):
    data = damage(_good_pdf())
    message = _refused(data, "broken.pdf")
    assert message == "broken.pdf is not a readable PDF (damaged or truncated); skipped."


# ---- feeds ----------------------------------------------------------------------------------

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
  <channel>
    <title>Harbour Gazette</title>
    <link>https://gazette.example/</link>
    <description>Local news from the harbour</description>
    <item>
      <title>Ferry to Skye resumes</title>
      <link>https://gazette.example/ferry-skye</link>
      <guid>https://gazette.example/ferry-skye</guid>
      <pubDate>Tue, 05 Mar 2024 23:30:00 -0500</pubDate>
      <description><![CDATA[<p>Short teaser about the ferry.</p>]]></description>
      <content:encoded><![CDATA[<p>The <b>ferry</b> to Skye resumed service on Tuesday.</p>
<p>Repairs to the <a href="https://gazette.example/ramp">ramp</a> cost 2 million pounds.</p>
]]></content:encoded>
    </item>
    <item>
      <title>Harbour wall repaired</title>
      <link>https://gazette.example/harbour-wall</link>
      <pubDate>Mon, 04 Mar 2024 08:00:00 +0100</pubDate>
      <description>&lt;p&gt;Masons finished the &lt;em&gt;harbour wall&lt;/em&gt;
after storm damage.&lt;/p&gt;</description>
    </item>
    <item>
      <title>Fish market moves</title>
      <link>https://gazette.example/fish-market</link>
      <pubDate>Sun, 03 Mar 2024 01:15:00 +0930</pubDate>
      <description>The fish market moves to the old rope works.&lt;br&gt;&lt;br&gt;Traders welcomed
the larger hall.</description>
    </item>
  </channel>
</rss>
"""


def _entry_lines(feed: str, tag: str) -> list[int]:
    """1-based lines of the feed file where each entry's element starts."""
    return [i for i, ln in enumerate(feed.splitlines(), start=1) if re.match(rf"\s*<{tag}[\s>]", ln)]


def _no_markup(text: str) -> bool:
    return not re.search(r"[<>]|&lt;|&gt;|&amp;", text)


def test_rss2_entries_carry_title_link_local_date_and_line():
    passages = _load(RSS, "gazette.rss").passages
    lines = _entry_lines(RSS, "item")
    assert len(lines) == 3
    got = [(p.line, p.title, p.url, p.date, p.text) for p in passages]
    assert got == [
        (lines[0], "Ferry to Skye resumes", "https://gazette.example/ferry-skye", "2024-03-05",
         "The ferry to Skye resumed service on Tuesday."),
        (lines[0], "Ferry to Skye resumes", "https://gazette.example/ferry-skye", "2024-03-05",
         "Repairs to the ramp cost 2 million pounds."),
        (lines[1], "Harbour wall repaired", "https://gazette.example/harbour-wall", "2024-03-04",
         "Masons finished the harbour wall after storm damage."),
        # two <br> are a paragraph break
        (lines[2], "Fish market moves", "https://gazette.example/fish-market", "2024-03-03",
         "The fish market moves to the old rope works."),
        (lines[2], "Fish market moves", "https://gazette.example/fish-market", "2024-03-03",
         "Traders welcomed the larger hall."),
    ]
    assert all(_no_markup(p.text) for p in passages)
    assert not any("teaser" in p.text for p in passages)  # content:encoded wins over description
    assert len({p.id for p in passages}) == len(passages)


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Valley Courier</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6</id>
  <updated>2024-03-07T10:00:00+09:00</updated>
  <link rel="self" href="https://courier.example/atom.xml"/>
  <entry>
    <title>Dam inspection passes</title>
    <link rel="self" href="https://courier.example/api/entries/1"/>
    <link rel="alternate" type="text/html" href="https://courier.example/dam-inspection"/>
    <id>urn:courier:1</id>
    <published>2024-03-06T00:30:00+09:00</published>
    <updated>2024-03-07T10:00:00+09:00</updated>
    <summary>Summary that is not the article.</summary>
    <content type="html">&lt;p&gt;Engineers said the &lt;strong&gt;dam&lt;/strong&gt; is sound.&lt;/p&gt;
      &lt;ul&gt;&lt;li&gt;The spillway was cleared of debris.&lt;/li&gt;&lt;/ul&gt;</content>
  </entry>
  <entry>
    <title>Bridge reopens</title>
    <link rel="alternate" href="https://courier.example/bridge"/>
    <id>urn:courier:2</id>
    <updated>2024-03-05T23:45:00-08:00</updated>
    <content type="html">&lt;p&gt;The river bridge reopened to traffic &amp;amp; cyclists.&lt;/p&gt;</content>
  </entry>
</feed>
"""


def test_atom_entries_carry_title_alternate_link_local_date_and_line():
    passages = _load(ATOM, "courier.atom").passages
    lines = _entry_lines(ATOM, "entry")
    got = [(p.line, p.title, p.url, p.date, p.text) for p in passages]
    assert got == [
        # published (local day, March 5 in UTC) rather than updated; the alternate link, not self
        (lines[0], "Dam inspection passes", "https://courier.example/dam-inspection", "2024-03-06",
         "Engineers said the dam is sound."),
        (lines[0], "Dam inspection passes", "https://courier.example/dam-inspection", "2024-03-06",
         "The spillway was cleared of debris."),
        # only updated: that is its date (March 6 in UTC)
        (lines[1], "Bridge reopens", "https://courier.example/bridge", "2024-03-05",
         "The river bridge reopened to traffic & cyclists."),
    ]
    assert not any("Summary" in p.text for p in passages)  # content wins over summary
    assert all(_no_markup(p.text) for p in passages)


RDF = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://ledger.example/">
    <title>Coastal Ledger</title>
    <link>https://ledger.example/</link>
    <description>News from the coast</description>
    <items>
      <rdf:Seq>
        <rdf:li rdf:resource="https://ledger.example/herring"/>
        <rdf:li rdf:resource="https://ledger.example/lighthouse"/>
      </rdf:Seq>
    </items>
  </channel>
  <item rdf:about="https://ledger.example/herring">
    <title>Herring quota cut</title>
    <link>https://ledger.example/herring</link>
    <description>The herring quota was cut by a fifth for next season.</description>
    <dc:date>2024-02-10T18:00:00+01:00</dc:date>
  </item>
  <item rdf:about="https://ledger.example/lighthouse">
    <title>Lighthouse for sale</title>
    <link>https://ledger.example/lighthouse</link>
    <description>The council put the old lighthouse up for sale.</description>
  </item>
</rdf:RDF>
"""


def test_rss1_rdf_entries_are_indexed_with_their_links():
    passages = _load(RDF, "ledger.xml").passages
    lines = _entry_lines(RDF, "item")
    got = [(p.line, p.title, p.url, p.date, p.text) for p in passages]
    assert got == [
        (lines[0], "Herring quota cut", "https://ledger.example/herring", "2024-02-10",
         "The herring quota was cut by a fifth for next season."),
        (lines[1], "Lighthouse for sale", "https://ledger.example/lighthouse", "",
         "The council put the old lighthouse up for sale."),
    ]


def _rss(items: list[tuple[str, str, str, list[str]]]) -> str:
    """An RSS 2.0 feed of (slug, title, pubDate, paragraphs), in that order."""
    body = "".join(
        f"""    <item>
      <title>{title}</title>
      <link>https://gazette.example/{slug}</link>
      <pubDate>{date}</pubDate>
      <description>{"".join(f"&lt;p&gt;{p}&lt;/p&gt;" for p in paras)}</description>
    </item>
""" for slug, title, date, paras in items)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n  <channel>\n'
            "    <title>Harbour Gazette</title>\n    <link>https://gazette.example/</link>\n"
            f"    <description>Local news</description>\n{body}  </channel>\n</rss>\n")


OLD_ITEMS = [
    ("ferry", "Ferry to Skye resumes", "Tue, 05 Mar 2024 09:00:00 +0000",
     ["The ferry to Skye resumed service on Tuesday.", "Repairs to the ramp cost 2 million pounds."]),
    ("wall", "Harbour wall repaired", "Mon, 04 Mar 2024 08:00:00 +0100",
     ["Masons finished the harbour wall after storm damage."]),
    ("market", "Fish market moves", "Sun, 03 Mar 2024 10:00:00 +0000",
     ["The fish market moves to the old rope works.", "Traders welcomed the larger hall.",
      "The move takes place in April."]),
]
NEW_ITEM = ("lifeboat", "New lifeboat arrives", "Wed, 06 Mar 2024 07:30:00 +0000",
            ["A new all-weather lifeboat arrived at the station on Wednesday.",
             "Volunteers raised half of its cost of 2.5 million pounds."])


def test_feed_gaining_an_entry_keeps_the_old_entries_hashes():
    old = _load(_rss(OLD_ITEMS), "gazette.rss").passages
    new = _load(_rss([NEW_ITEM, *OLD_ITEMS]), "gazette.rss").passages
    assert len(old) == 6 and len(new) == 8
    added = new[:2]
    assert [p.text for p in added] == NEW_ITEM[3] and all(p.title == "New lifeboat arrives" for p in added)
    # the old entries: same text, same content hash (so their vectors are reused); lines moved down
    shift = _rss([NEW_ITEM]).count("\n") - _rss([]).count("\n")
    assert [(p.text, p.hash, p.line + shift) for p in old] == [(p.text, p.hash, p.line) for p in new[2:]]
    assert {p.hash for p in added}.isdisjoint(p.hash for p in old)


def test_reindexing_a_grown_feed_embeds_only_the_new_entry(engine, sources):
    feed = sources / "gazette.rss"
    feed.write_text(_rss(OLD_ITEMS), encoding="utf-8")
    first = engine.index()
    assert (first.added, first.embedded, first.passages) == (1, 6, 6)
    feed.write_text(_rss([NEW_ITEM, *OLD_ITEMS]), encoding="utf-8")
    again = engine.index()
    assert (again.updated, again.embedded, again.passages) == (1, len(NEW_ITEM[3]), 8)
    assert engine.store.collection.count() == 8
    hit = engine.search("all-weather lifeboat station", k=1)[0]
    assert (hit.source, hit.url, hit.date) == ("gazette.rss", "https://gazette.example/lifeboat",
                                               "2024-03-06")
    assert hit.line == _entry_lines(feed.read_text(encoding="utf-8"), "item")[0]
    # an old entry's provenance follows it down the file
    moved = engine.search("old rope works fish market", k=1)[0]
    assert moved.url == "https://gazette.example/market"
    assert moved.line == _entry_lines(feed.read_text(encoding="utf-8"), "item")[3]


@pytest.mark.parametrize("name, content", [
    ("sitemap.xml", '<?xml version="1.0" encoding="UTF-8"?>\n'
                    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
                    "  <url><loc>https://gazette.example/ferry-skye</loc><lastmod>2024-03-05</lastmod></url>\n"
                    "</urlset>\n"),
    ("inventory.xml", '<?xml version="1.0"?>\n<inventory>\n  <part id="7">Brass hinge</part>\n'
                      "</inventory>\n"),
    ("page.rss", "<!doctype html>\n<html><head><title>Not found</title></head>\n"
                 "<body><h1>404</h1><p>This page does not exist.</p></body></html>\n"),
    ("garbage.rss", "%%% this is no feed ~~~ {][}\n"),
])
def test_a_file_that_is_not_a_feed_is_refused(name, content):
    assert _refused(content, name) == f"{name} is not a readable RSS or Atom feed; skipped."


@pytest.mark.parametrize("pointer", [str, lambda p: p.as_uri()], ids=["path", "file-url"])
def test_feed_text_naming_another_file_is_not_read_from_there(tmp_path, pointer):
    """feedparser reads a string that names a file or URL from there: the file's own text counts."""
    elsewhere = tmp_path / "private.rss"
    elsewhere.write_text(_rss(OLD_ITEMS[1:2]), encoding="utf-8")
    assert _load(elsewhere.read_text(encoding="utf-8"), "private.rss").passages  # it is a feed
    content = pointer(elsewhere)
    assert _refused(content, "pointer.rss") == "pointer.rss is not a readable RSS or Atom feed; skipped."


@pytest.mark.parametrize("name, content", [
    ("empty.rss", _rss([])),
    ("empty.atom", '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
                   "  <title>Nothing yet</title>\n  <id>urn:empty</id>\n"
                   "  <updated>2024-03-05T10:00:00Z</updated>\n</feed>\n"),
])
def test_a_feed_without_items_is_refused(name, content):
    assert _refused(content, name) == f"{name} is a feed without entries; skipped."


# ---- dates in text and Markdown -------------------------------------------------------------

def test_snippet_lines_each_get_the_date_they_open_with():
    text = ("Jul 9, 2022 — Leaders met in Madrid to discuss the alliance's eastern flank.\n"
            "9 March 2023 - The central bank raised rates by a quarter point.\n"
            "Updated Jan 5, 2024, 10:31 AM ET Floods closed the coastal road near Whitby.\n"
            "The ministry did not say when the road would reopen.\n")
    passages = _load(text, "snippets.txt").passages
    assert [(p.line, p.date) for p in passages] == [
        (1, "2022-07-09"), (2, "2023-03-09"), (3, "2024-01-05"),
        (4, ""),  # a snippet's date is its own; it does not spill onto the next line
    ]
    assert passages[3].text == "The ministry did not say when the road would reopen."


def test_markdown_dateline_dates_every_paragraph_of_the_article():
    text = ("# Summit ends without a deal\n\n"
            "WASHINGTON, July 9, 2022 — Leaders left the summit without agreeing on tariffs.\n\n"
            "Talks will resume in the autumn, officials said.\n\n"
            "A joint statement is expected next week.\n")
    passages = _load(text, "summit.md").passages
    assert [(p.line, p.date, p.title) for p in passages] == [
        (3, "2022-07-09", "Summit ends without a deal"),
        (5, "2022-07-09", "Summit ends without a deal"),
        (7, "2022-07-09", "Summit ends without a deal"),
    ]


def test_markdown_front_matter_gives_title_date_and_url_and_is_no_passage():
    text = ("---\n"
            'title: "Harbour wall repaired"\n'
            "date: 2024-03-04\n"
            "url: https://gazette.example/harbour-wall\n"
            "tags: [local, harbour]\n"
            "---\n"
            "\n"
            "Masons finished the harbour wall after the storm.\n"
            "The work took six weeks.\n"
            "\n"
            "The council paid for the repairs.\n")
    passages = _load(text, "wall.md").passages
    file_lines = text.splitlines()
    assert [(p.line, p.text) for p in passages] == [
        (8, "Masons finished the harbour wall after the storm.\nThe work took six weeks."),
        (11, "The council paid for the repairs."),
    ]
    for p in passages:
        assert file_lines[p.line - 1] == p.text.splitlines()[0]
        assert text[p.char_start:p.char_end] == p.text
        assert (p.title, p.date, p.url) == ("Harbour wall repaired", "2024-03-04",
                                            "https://gazette.example/harbour-wall")
        assert "---" not in p.text and "title:" not in p.text and "tags" not in p.text
