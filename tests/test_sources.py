"""Adding files to the sources folder (names made safe, bad files refused, duplicates caught)
and taking them out (moved aside, never deleted; only indexed sources inside the folder)."""

from __future__ import annotations

import json

import pytest

import rag
from rag.sources import safe_name
from tests.conftest import SEED, run_cli


@pytest.mark.parametrize("given, stored", [
    ("../../etc/cron.txt", "cron.txt"),
    ("..\\..\\Windows\\notes.md", "notes.md"),
    ("/abs/path/report.HTML", "report.html"),
    ("a b (draft) #2.txt", "a_b_draft_2.txt"),
    ("über Straße.md", "über_Straße.md"),
    ("..／..／fullwidth.txt", "fullwidth.txt"),  # NFKC turns the fullwidth slash into "/"
    (".env", "upload.env"),
    ("...", "upload"),
    ("nul\x00byte.txt", "nul_byte.txt"),
    ("x" * 300 + ".txt", "x" * 100 + ".txt"),
])
def test_safe_name_keeps_uploads_inside_the_folder(given, stored):
    assert safe_name(given) == stored


def test_upload_named_to_escape_lands_inside_the_sources_folder(env, sources, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("Lyon opened a new tram line on Tuesday, the mayor said.\n")
    results, report = rag.get_engine().add_sources([(src, "../../../escaped.txt")])
    assert [(r.status, r.source) for r in results] == [("added", "escaped.txt")]
    assert (sources / "escaped.txt").is_file() and not (sources.parent / "escaped.txt").exists()
    assert report.passages == 1 and rag.ask("What did Lyon open?").citations[0].source == "escaped.txt"


@pytest.mark.both_stores
def test_add_sources_statuses_and_nothing_indexed_is_lost(seeded, tmp_path):
    engine = rag.get_engine()
    engine.index()
    before = engine.store.count()
    new = tmp_path / "wire.txt"
    new.write_text("Norway's central bank held its rate at 4.5 percent on Thursday.\n")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01\x02" * 10)
    twin = tmp_path / "twin.txt"
    twin.write_bytes(SEED.read_bytes())
    results, report = engine.add_sources([(new, "wire.txt"), (bad, "bad.txt"), (twin, "twin.txt"),
                                          (new, "wire-again.txt")])
    got = {r.name: (r.status, r.reason) for r in results}
    assert got["wire.txt"] == ("added", "")
    assert got["bad.txt"][0] == "rejected" and "binary" in got["bad.txt"][1]
    assert got["twin.txt"] == ("rejected", f"Same content as {SEED.name}, which is already a source.")
    assert got["wire-again.txt"] == ("rejected", "Same content as wire.txt, which is already a source.")
    assert report.embedded == 1 and engine.store.count() == before + 1
    assert sorted(p.name for p in seeded.iterdir()) == sorted([SEED.name, "wire.txt"])

    new.write_text("Norway's central bank cut its rate to 4.25 percent on Thursday.\n")
    results, report = engine.add_sources([(new, "wire.txt")])
    assert results[0].status == "updated" and report.embedded == 1
    assert "4.25 percent" in rag.ask("What did Norway's central bank do?").text


def test_rag_add_cli(env, sources, tmp_path):
    good = tmp_path / "Harbour fire.md"
    good.write_text("Fire at Rotterdam harbour\n\nA warehouse fire was put out by 40 firefighters.\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    r = run_cli("add", str(good), str(empty), env=env)
    assert r.returncode == 0, r.stderr
    assert "added  Harbour fire.md → Harbour_fire.md" in r.stdout
    assert "rejected  empty.txt: empty.txt is empty; nothing to index." in r.stdout
    assert "1 added" in r.stdout and (sources / "Harbour_fire.md").is_file()
    again = run_cli("add", "--json", str(empty), env=env)
    assert again.returncode == 1 and json.loads(again.stdout)["files"][0]["status"] == "rejected"


@pytest.mark.both_stores
def test_removed_sources_leave_the_index_and_are_moved_aside(seeded, tmp_path):
    engine = rag.get_engine()
    (seeded / "sub").mkdir()
    (seeded / "sub" / "wire.txt").write_text("A harbour fire in Rotterdam was put out on Monday.\n")
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("Storm Ciaran closed Schiphol airport on Thursday.\n")
    engine.index()
    engine.index([outside])
    assert {f["source"]: f["passages"] for f in engine.library()} == {
        SEED.name: 12, "sub/wire.txt": 1, str(outside.resolve()): 1}

    results, report = engine.remove_sources(["sub/wire.txt", "nope.txt", "../" + SEED.name,
                                             str(outside.resolve())])
    got = {r.name: (r.status, r.reason) for r in results}
    assert got["sub/wire.txt"][0] == "removed" and got["sub/wire.txt"][1].startswith("Moved to removed/")
    assert got["nope.txt"] == ("rejected", "nope.txt is not an indexed source.")
    assert got["../" + SEED.name][0] == "rejected"
    assert got[str(outside.resolve())][0] == "rejected" and "outside the sources folder" in got[
        str(outside.resolve())][1]
    assert (report.removed, report.passages) == (1, 13) and outside.exists()
    assert not (seeded / "sub" / "wire.txt").exists()
    kept = list((engine.settings.index_dir / "removed").iterdir())
    assert [k.name.split("-", 2)[-1] for k in kept] == ["sub__wire.txt"]
    assert rag.ask("When was the Rotterdam harbour fire put out?").abstained

    kept[0].rename(seeded / "wire.txt")  # put back and re-indexed, it answers again
    back = engine.index()
    assert (back.added, back.embedded) == (1, 1)
    assert not rag.ask("When was the Rotterdam harbour fire put out?").abstained


def test_rag_remove_and_sources_cli(env, seeded):
    (seeded / "wire.txt").write_text("A harbour fire in Rotterdam was put out on Monday.\n")
    assert run_cli("index", env=env).returncode == 0
    listed = run_cli("sources", "--json", env=env)
    rows = [(f["source"], f["passages"]) for f in json.loads(listed.stdout)]
    assert rows == [(SEED.name, 12), ("wire.txt", 1)]
    assert "wire.txt" in run_cli("sources", env=env).stdout
    r = run_cli("remove", "wire.txt", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("  removed  wire.txt: Moved to removed/") and "1 removed" in r.stdout
    assert [f["source"] for f in json.loads(run_cli("sources", "--json", env=env).stdout)] == [SEED.name]
    again = run_cli("remove", "wire.txt", env=env)
    assert again.returncode == 1 and "wire.txt is not an indexed source." in again.stdout
