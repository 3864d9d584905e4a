"""`rag eval FILE` and `rag.evaluate()` on the seed file, with real components."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import rag
from rag.evaluate import has_answer, is_gold, load_questions
from tests.conftest import ROOT, SEED, run_cli

KEYS = {"n", "hit@1", "hit@5", "mrr", "answer_recall", "cites_gold", "citation_precision",
        "abstain_correct", "abstain_false", "latency_ms_p50", "latency_ms_p95"}
RUBIO = {"question": "What did Rubio propose?", "gold": [{"source": SEED.name, "line": 5}],
         "answers": ["dilute ties"], "style": "plain"}
# the answer is on line 5, not 4: a wrong gold
WRONG = {"question": "Which US official outlined a strategy to weaken ties between Beijing and Moscow?",
         "gold": [{"source": SEED.name, "line": 4}], "style": "plain"}
BRAZIL = {"question": "What is the GDP of Brazil?", "answerable": False, "style": "off-topic"}


def _write(tmp_path, *items, name="questions.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(i) + "\n" for i in items))
    return path


def test_evaluate_from_python(seeded, tmp_path):
    # a quote written ' in the file and ’ in the source still counts; so does another case
    nixon = {"question": "What is a reverse Nixon?", "gold": [{"source": SEED.name, "line": 3}],
             "answers": ["TRUMP'S RAPPROCHEMENT with Russia"]}
    figs = rag.evaluate(_write(tmp_path, RUBIO, nixon, BRAZIL))
    assert set(figs) == KEYS and figs["n"] == 3
    assert figs["hit@1"] == figs["hit@5"] == figs["mrr"] == 1.0
    assert figs["answer_recall"] == 1.0 and figs["cites_gold"] == 1.0
    assert figs["citation_precision"] == 1.0
    assert figs["abstain_correct"] == 1.0 and figs["abstain_false"] == 0.0
    assert 0 < figs["latency_ms_p50"] <= figs["latency_ms_p95"]

    # a wrong gold line and an answer the text does not hold are misses; k names the key
    wrong = rag.evaluate(_write(tmp_path, WRONG, {**RUBIO, "answers": ["Rubio resigned"]}), k=3)
    assert set(wrong) == KEYS - {"hit@5"} | {"hit@3"}
    assert wrong["hit@1"] == 0.5 and wrong["hit@3"] == 0.5 and wrong["answer_recall"] == 0.0
    assert wrong["cites_gold"] == 0.5
    # no eligible question: null, not 0
    assert wrong["abstain_correct"] is None

    # only an unanswerable question: the ranking and answer figures are null
    only = rag.evaluate(_write(tmp_path, BRAZIL))
    assert only["abstain_correct"] == 1.0
    assert only["hit@1"] is None and only["answer_recall"] is None and only["abstain_false"] is None


def test_answer_and_gold_matching_rules():
    assert has_answer("They were “doomed to fail” [1], Beijing said.", ['"Doomed to fail", Beijing'])
    assert has_answer("Trump’s  rapprochement\nwith Russia [2]", ["trump's rapprochement with"])
    assert not has_answer("dilute ties", ["dilute the ties"])
    # a gold source without a folder matches by file name; one with a folder must be equal
    assert is_gold("2024/world.txt", 2, None, [{"source": "world.txt", "line": 2}])
    assert not is_gold("2025/world.txt", 2, None, [{"source": "2024/world.txt", "line": 2}])
    assert not is_gold("world.txt", 3, None, [{"source": "world.txt", "line": 2}])
    assert is_gold("report.html", None, 4, [{"source": "report.html", "page": 4}])
    assert not is_gold("report.html", None, 5, [{"source": "report.html", "page": 4}])


def test_default_output_is_a_table_then_the_misses(seeded, env, tmp_path):
    out = run_cli("eval", str(_write(tmp_path, RUBIO, WRONG, BRAZIL)), env=env)
    assert out.returncode == 0, out.stderr
    table, misses = out.stdout.split("\nMisses ")
    assert "hit@1               0.500" in table and "abstain_correct     1.000" in table
    assert misses.startswith("(1 of 3 questions)")
    assert WRONG["question"] in misses and RUBIO["question"] not in misses
    assert f"expected: {SEED.name}:4" in misses and f"top passage {SEED.name}:5" in misses
    assert "Marco Rubio" in misses  # the start of the answer it got


def test_json_prints_one_object_with_the_documented_keys(seeded, env, tmp_path):
    out = run_cli("eval", str(_write(tmp_path, RUBIO, BRAZIL)), "--json", env=env)
    assert out.returncode == 0, out.stderr
    figs = json.loads(out.stdout)  # the whole of stdout is one object
    assert set(figs) == KEYS and figs["hit@1"] == 1.0 and figs["abstain_correct"] == 1.0


def test_min_fails_below_and_rejects_unknown_metrics(seeded, env, tmp_path):
    path = str(_write(tmp_path, RUBIO, BRAZIL))
    low = run_cli("eval", path, "--min", "hit@1=1.1,abstain_correct=1", env=env)
    assert low.returncode == 1
    assert "hit@1 1.000 < 1.1" in low.stderr and "abstain_correct" not in low.stderr
    assert "hit@1" in low.stdout  # the table is still printed
    assert run_cli("eval", path, "--min", "hit@1=0,abstain_correct=1", env=env).returncode == 0
    names = "hit@1, hit@5, mrr, answer_recall, cites_gold, citation_precision, abstain_correct"
    for bad, says in [("bogus=1", names), ("latency_ms_p50=5", names), ("hit@1=high", "needs a number"),
                      ("hit@1", "needs a number")]:
        out = run_cli("eval", path, "--min", bad, env=env)
        assert out.returncode == 2 and says in out.stderr, (bad, out.stderr)
        assert out.stderr.count("\n") == 1 and out.stdout == ""
    # a null figure named in --min fails
    only = run_cli("eval", str(_write(tmp_path, BRAZIL, name="neg.jsonl")), "--min", "hit@1=0", env=env)
    assert only.returncode == 1 and "hit@1 is null" in only.stderr


def test_report_writes_rows_summary_and_chart(seeded, env, tmp_path):
    report = tmp_path / "report"
    out = run_cli("eval", str(_write(tmp_path, RUBIO, WRONG, BRAZIL)), "--report", str(report), env=env)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in (report / "questions.jsonl").read_text().splitlines()]
    assert [r["question"] for r in rows] == [RUBIO["question"], WRONG["question"], BRAZIL["question"]]
    first = rows[0]
    assert first["style"] == "plain" and first["gold_rank"] == 1 and first["answer_found"] is True
    assert first["expected"] == {"gold": RUBIO["gold"], "answers": RUBIO["answers"], "answerable": True}
    assert first["ranked"][0]["line"] == 5 and {"source", "line", "score"} <= set(first["ranked"][0])
    assert first["citations"][0]["line"] == 5 and first["citations"][0]["supported"] is True
    assert first["latency_ms"] > 0 and "dilute ties" in first["answer"]
    assert rows[1]["gold_rank"] is None and rows[2]["abstained"] is True
    summary = json.loads((report / "summary.json").read_text())
    assert KEYS <= set(summary) and summary["hit@1"] == 0.5
    assert summary["by_style"]["plain"]["hit@1"] == 0.5 and summary["by_style"]["off-topic"]["n"] == 1
    assert (report / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_ranks_with_llamaindex_baselines(seeded, env, tmp_path):
    report = tmp_path / "report"
    out = run_cli("eval", str(_write(tmp_path, RUBIO, BRAZIL)), "--compare", "--report", str(report),
                  env=env, timeout=400)
    assert out.returncode == 0, out.stderr
    header = out.stdout.splitlines()[2]
    assert header.split() == ["metric", "ours", "LlamaIndex", "vector", "LlamaIndex", "BM25"]
    assert "top_passage_recall" in out.stdout
    compare = json.loads((report / "summary.json").read_text())["compare"]
    assert set(compare) == {"ours", "vector", "bm25"}
    for figs in compare.values():
        assert set(figs) == {"hit@1", "hit@5", "mrr", "top_passage_recall"}
        assert figs["hit@1"] == 1.0 and figs["top_passage_recall"] == 1.0  # an easy question


def test_bad_files_are_one_sentence(seeded, env, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(RUBIO) + "\n\n{not json\n")
    out = run_cli("eval", str(bad), env=env)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("error: ") and "line 3 is not JSON" in out.stderr
    assert out.stderr.count("\n") == 1
    for text, says in [('{"answers": ["x"]}\n', 'line 1 has no "question" string'),
                       ('{"question": "q", "gold": [{"source": "a.txt"}]}\n', '"gold" must be'),
                       ('{"question": "q", "answerable": "no"}\n', '"answerable" must be'),
                       ("\n", "holds no questions")]:
        bad.write_text(text)
        with pytest.raises(rag.RagError, match=says):
            load_questions(bad)
    with pytest.raises(rag.RagError, match="does not exist"):
        rag.evaluate(tmp_path / "missing.jsonl")


def test_ask_does_not_import_the_eval_extras(seeded, env):
    code = ("import sys\nfrom rag.cli import main\nmain(['ask', 'What did Rubio propose?'])\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] in ('torch', 'matplotlib', 'bm25s')"
            " or m.startswith('llama_index.retrievers')]\nprint('HEAVY', heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "dilute ties" in out.stdout and "HEAVY []" in out.stdout
