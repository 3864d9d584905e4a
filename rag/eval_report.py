"""How `rag eval` shows its figures: the table, the misses, `--min` checks and `--report DIR`."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

from rag.errors import RagError
from rag.evaluate import Evaluation, figures
from rag.schema import locator

BASELINES = {"vector": "LlamaIndex vector", "bm25": "LlamaIndex BM25"}
LOWER_IS_BETTER = ("abstain_false", "latency_ms_p50", "latency_ms_p95")


# ---- --min -------------------------------------------------------------------------------
def min_names(k: int) -> list[str]:
    """The figures `--min` accepts (higher is better; not abstain_false nor the latencies)."""
    return ["hit@1", f"hit@{k}", "mrr", "answer_recall", "cites_gold", "citation_precision",
            "abstain_correct"]


def parse_minimums(spec: str, k: int) -> dict[str, float]:
    """"hit@1=0.9,abstain_correct=1" → {"hit@1": 0.9, ...}; ValueError holds the usage sentence."""
    names = min_names(k)
    out = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if name not in names:
            raise ValueError(f"--min takes METRIC=VALUE pairs, METRIC one of {', '.join(names)}, "
                             f"not {name or part!r} (abstain_false and the latencies are "
                             "lower-is-better and take no minimum).")
        try:
            out[name] = float(value)
        except ValueError:
            out[name] = math.nan
        if not sep or not math.isfinite(out[name]):
            raise ValueError(f"--min {name} needs a number, as in {name}=0.9 (got {part!r}).")
    if not out:
        raise ValueError(f"--min takes METRIC=VALUE pairs, METRIC one of {', '.join(names)}.")
    return out


def below(figs: dict, minimums: dict[str, float]) -> list[str]:
    """Each figure under its minimum, e.g. "hit@1 0.667 < 0.9" (a null figure fails too)."""
    out = []
    for name, least in minimums.items():
        value = figs.get(name)
        if value is None:
            out.append(f"{name} is null (no question it applies to) < {least:g}")
        elif value < least:
            out.append(f"{name} {value:.3f} < {least:g}")
    return out


# ---- the table ---------------------------------------------------------------------------
def _cell(value, latency: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}" if latency else f"{value:.3f}"


def table(ev: Evaluation) -> str:
    """Aligned figures; with --compare, the baselines' ranking figures side by side."""
    figs = ev.figures
    cols = ["ours", *(BASELINES[n] for n in BASELINES)] if ev.compare else ["ours"]
    rows = [["n (questions)", str(figs["n"]), *[""] * (len(cols) - 1)]]
    names = [n for n in figs if n != "n"]
    if ev.compare:
        names.insert(names.index("answer_recall"), "top_passage_recall")
    for name in names:
        latency = name.startswith("latency")
        ours = (ev.compare["ours"] if name == "top_passage_recall" else figs)[name]
        cells = [_cell(ours, latency)]
        if ev.compare:
            cells += [_cell(ev.compare[b][name]) if name in ev.compare[b] else "" for b in BASELINES]
        rows.append([name, *cells])
    widths = [max(len(r[i]) for r in [["metric", *cols], *rows]) for i in range(len(cols) + 1)]
    lines = []
    for r in [["metric", *cols], *rows]:
        lines.append("  ".join([r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:],
                                                                                      strict=True)]).rstrip())
    return "\n".join(lines)


def missed(row: dict) -> list[str]:
    """Why a question counts as a miss (empty: it does not)."""
    exp = row["expected"]
    out = []
    if exp["answerable"] and exp["gold"] and row["gold_rank"] != 1:
        out.append("gold passage not ranked first")
    if exp["answerable"] and row["answer_found"] is False:
        out.append("answer not found")
    if exp["answerable"] and row["abstained"]:
        out.append("abstained but should have answered")
    if not exp["answerable"] and not row["abstained"]:
        out.append("answered but should have abstained")
    return out


def _where(d: dict) -> str:
    return f"{d['source']}{locator(d.get('line'), d.get('page'))}"


def misses_text(ev: Evaluation) -> str:
    """Every question that missed: what was expected and what came back."""
    out = []
    for row in ev.rows:
        why = missed(row)
        if not why:
            continue
        exp = row["expected"]
        expected = []
        if not exp["answerable"]:
            expected.append("abstain")
        if exp["gold"]:
            expected.append(", ".join(_where(g) for g in exp["gold"]))
        if exp["answers"]:
            expected.append(" | ".join(json.dumps(a, ensure_ascii=False) for a in exp["answers"]))
        top = _where(row["ranked"][0]) if row["ranked"] else "nothing retrieved"
        answer = textwrap.shorten(row["answer"], 150, placeholder=" …")
        out += [f"- {row['question']}  ({'; '.join(why)})",
                f"    expected: {'; '.join(expected) or 'an answer'}",
                f"    got:      top passage {top}" + (f" (gold at rank {row['gold_rank']})"
                                                      if row["gold_rank"] and row["gold_rank"] > 1 else ""),
                f"              answer “{answer}”"]
    if not out:
        return "No misses."
    n = sum(1 for r in ev.rows if missed(r))
    return f"Misses ({n} of {len(ev.rows)} questions)\n" + "\n".join(out)


# ---- --report DIR ------------------------------------------------------------------------
def by_style(ev: Evaluation) -> dict[str, dict] | None:
    """The figures per question style, when the file gives styles."""
    styles = sorted({r["style"] for r in ev.rows if r["style"] is not None})
    if not styles:
        return None
    groups = {s: [r for r in ev.rows if r["style"] == s] for s in styles}
    if any(r["style"] is None for r in ev.rows):
        groups["(no style)"] = [r for r in ev.rows if r["style"] is None]
    return {s: figures(rows, ev.k) for s, rows in groups.items()}


def write_report(ev: Evaluation, folder: str | Path) -> list[Path]:
    """DIR/questions.jsonl (a row per question), DIR/summary.json and DIR/chart.png."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        questions = folder / "questions.jsonl"
        with questions.open("w", encoding="utf-8") as f:
            for row in ev.rows:
                f.write(json.dumps(_report_row(row), ensure_ascii=False) + "\n")
        summary = folder / "summary.json"
        data = ev.summary()
        styles = by_style(ev)
        if styles:
            data["by_style"] = styles
        summary.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        chart = folder / "chart.png"
        _chart(ev, chart)
    except OSError as exc:
        raise RagError(f"The report could not be written to {folder}: {exc.strerror or exc}.") from None
    return [questions, summary, chart]


def _report_row(row: dict) -> dict:
    def slim(hits):
        return [{k: v for k, v in h.items() if k != "text"} for h in hits]

    out = {**row, "ranked": slim(row["ranked"])}
    if "baselines" in row:
        out["baselines"] = {name: slim(hits) for name, hits in row["baselines"].items()}
    return out


def _chart(ev: Evaluation, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ["hit@1", f"hit@{ev.k}", "mrr", "answer_recall"]
    series = {"ours": ev.figures}
    if ev.compare:
        metrics.append("top_passage_recall")
        series = {"ours": {**ev.figures, **ev.compare["ours"]},
                  **{BASELINES[b]: ev.compare[b] for b in BASELINES}}
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(1.6 * len(metrics) + 2, 4))
    for i, (label, figs) in enumerate(series.items()):
        values = [figs.get(m) for m in metrics]
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(metrics))]
        bars = ax.bar(xs, [math.nan if v is None else v for v in values], width, label=label)
        ax.bar_label(bars, labels=["" if v is None else f"{v:.2f}" for v in values], fontsize=7)
    ax.set_xticks(range(len(metrics)), metrics)
    ax.set_ylim(0, 1.25)
    ax.set_title(f"rag eval: {ev.figures['n']} questions, k={ev.k}")
    ax.legend(loc="upper left", ncol=len(series), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
