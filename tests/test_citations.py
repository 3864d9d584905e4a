"""Citation marker parsing, renumbering and support scoring (pure functions)."""

from __future__ import annotations

import json

from rag.citations import SUPPORT_THRESHOLD, Renumberer, cited_sentences, renumber, support_score
from tests.conftest import DATA, SEED


def test_marker_forms_are_parsed_renumbered_and_bounded():
    text, order = renumber("A [3]. B [1, 3][9]. C [2-3]. D [4–5]. E [0] [42].", k=5)
    assert order == [3, 1, 2, 4, 5]
    assert text == "A [1]. B [1][2]. C [1][3]. D [4][5]. E."


def test_streamed_markers_split_across_chunks():
    r = Renumberer(k=3)
    chunks = ["Rubio spoke [", "3", "]. Xi re", "plied [1,", " 2][7", "]."]
    out = "".join(r.feed(c) for c in chunks) + r.finish()
    assert out == "Rubio spoke [1]. Xi replied [2][3]."


def test_marker_after_the_full_stop_cites_the_sentence_before():
    got = cited_sentences("Rubio spoke. [1] Xi replied [2].")
    assert got == [("Rubio spoke.", [1]), ("Xi replied.", [2])]


def test_support_threshold_separates_the_calibration_pairs(engine):
    lines = SEED.read_text(encoding="utf-8").splitlines()
    for row in map(json.loads, (DATA / "support_pairs.jsonl").read_text().splitlines()):
        passage = lines[row["line"] - 1]
        s_vec, p_vec = engine.embedder.embed([row["sentence"], passage])
        score = support_score(row["sentence"], passage, s_vec, p_vec)
        assert (score >= SUPPORT_THRESHOLD) == row["supported"], (row, score)
