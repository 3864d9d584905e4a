"""JSON Lines: one record a line, its "text" split, its title, url and date kept."""

from __future__ import annotations

import json

from rag.ingest import LoadedFile, line_starts, new_passage, pack


def parse_jsonl(text: str, source: str, budget: int) -> LoadedFile:
    out, warnings = [], []
    starts = line_starts(text)
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
        for s, e in pack(body, 0, len(body.rstrip()), budget):
            out.append(new_passage(source, body[s:e], line=i, start=base, end=base + len(raw), **meta))
    return LoadedFile(out, warnings)
