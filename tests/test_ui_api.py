"""The web app over HTTP: a real `rag ui` process on loopback, driven with gradio_client."""

from __future__ import annotations

import json
import re
import socket
import threading
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest
from gradio_client import Client, handle_file

from tests.conftest import SEED, run_cli
from tests.openai_server import Reply, source_number
from tests.ui_server import UIServer, free_port, ui_env

SEED_LOC = f"sources/{SEED.name}:5"
ARTICLE = """Lyon opens its seventh tram line

The city of Lyon opened its seventh tram line, the T7, on Tuesday, the mayor said.

The line links Vaulx-en-Velin to Decines and cost 93 million euros, according to the transport authority.
"""


def client(server, **kw) -> Client:
    return Client(server.url, verbose=False, **kw)


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def passages(c: Client) -> int:
    return int(re.search(r"([\d,]+) passages?", c.predict(api_name="/status")).group(1).replace(",", ""))


def test_ask_returns_the_answer_then_numbered_sources(ui_offline):
    out = client(ui_offline).predict("What did Rubio propose?", api_name="/ask")
    text, sep, sources = out.partition("\n\nSources:\n")
    assert sep and "dilute ties" in text and text.rstrip().endswith("[1]")
    assert sources.startswith(f"[1] {SEED_LOC} — “US attempts to sow discord")


def test_ask_abstains_and_reports_bad_input_in_one_sentence(ui_offline):
    c = client(ui_offline)
    abstain = c.predict("What is the GDP of Brazil?", api_name="/ask")
    assert abstain == "The indexed sources don't answer that."
    with pytest.raises(Exception, match="The question is empty"):
        c.predict("   ", api_name="/ask")


def test_upload_then_ask_about_the_new_file(ui_offline, tmp_path):
    c = client(ui_offline)
    before = passages(c)
    path = tmp_path / "lyon tram (draft).md"
    path.write_text(ARTICLE, encoding="utf-8")
    table, summary, status, _ = c.predict([handle_file(path)], api_name="/add_sources")
    assert table["data"] == [["lyon tram (draft).md", "added", "stored as lyon_tram_draft.md"]]
    assert (ui_offline.sources / "lyon_tram_draft.md").read_text(encoding="utf-8") == ARTICLE
    assert "1 added" in summary and passages(c) > before
    answer = c.predict("How much did Lyon's new tram line cost?", api_name="/ask")
    assert "93 million euros" in answer and "sources/lyon_tram_draft.md:5" in answer

    again = c.predict([handle_file(path)], api_name="/add_sources")[0]["data"]
    assert again == [["lyon tram (draft).md", "unchanged", "Already indexed with the same content."]]


def test_remove_sources_takes_a_file_out_of_the_index(ui_offline, tmp_path):
    c = client(ui_offline)
    path = tmp_path / "ferry.txt"
    path.write_text("The Calais ferry strike ended on Friday after nine days, the union said.\n")
    c.predict([handle_file(path)], api_name="/add_sources")
    before = passages(c)
    assert "ferry.txt:1" in c.predict("When did the Calais ferry strike end?", api_name="/ask")

    rows, summary, status = c.predict(["ferry.txt", "nope.txt"], api_name="/remove_sources")
    got = {r[0]: (r[1], r[2]) for r in rows["data"]}
    assert got["ferry.txt"][0] == "removed" and got["ferry.txt"][1].startswith("Moved to removed/")
    assert str(ui_offline.home) not in got["ferry.txt"][1]  # no server paths on the page
    assert got["nope.txt"] == ("rejected", "nope.txt is not an indexed source.")
    assert "1 removed" in summary and passages(c) == before - 1
    assert not (ui_offline.sources / "ferry.txt").exists()
    assert c.predict("When did the Calais ferry strike end?", api_name="/ask") == (
        "The indexed sources don't answer that.")
    assert c.predict([], api_name="/remove_sources")[1] == "Choose the sources to remove."


def test_rejected_uploads_each_get_a_reason_and_nothing_is_lost(ui_offline, tmp_path):
    c = client(ui_offline)
    before = passages(c)
    files = {
        "report.pdf": b"%PDF-1.4 not a real PDF",
        "slides.pptx": b"PK\x03\x04 a zip",
        "empty.txt": b"",
        "blob.txt": b"\x00\x01\x02binary\x00" * 50,
        "huge.txt": b"A long wire story line about ports and markets.\n" * 25_000,  # 1.2 MB > 1 MB
        "copy-of-seed.txt": SEED.read_bytes(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    table = c.predict([handle_file(tmp_path / n) for n in files], api_name="/add_sources")[0]
    reasons = {row[0]: (row[1], row[2]) for row in table["data"]}
    assert all(status == "rejected" for status, _ in reasons.values()), reasons
    assert reasons["report.pdf"][1] == "report.pdf is not a readable PDF (damaged or truncated); skipped."
    assert ".pptx files are not accepted" in reasons["slides.pptx"][1]
    assert "is empty" in reasons["empty.txt"][1]
    assert "binary" in reasons["blob.txt"][1]
    assert "over the 1 MB limit" in reasons["huge.txt"][1]
    assert f"Same content as {SEED.name}" in reasons["copy-of-seed.txt"][1]
    assert not any((ui_offline.sources / n).exists() for n in files)
    assert passages(c) == before
    assert "dilute ties" in c.predict("What did Rubio propose?", api_name="/ask")


def test_reindex_picks_up_files_changed_on_disk(ui_offline):
    c = client(ui_offline)
    wire = ui_offline.sources / "wire.txt"
    wire.write_text("Norway's central bank held its policy rate at 4.5 percent on Thursday.\n")
    assert ["wire.txt", "added", ""] in c.predict(api_name="/reindex")[0]["data"]
    wire.write_text("Norway's central bank cut its policy rate to 4.25 percent on Thursday.\n")
    assert ["wire.txt", "updated", ""] in c.predict(api_name="/reindex")[0]["data"]
    assert "4.25 percent" in c.predict("What did Norway's central bank do?", api_name="/ask")
    wire.unlink()
    rows, summary, _ = c.predict(api_name="/reindex")
    assert ["wire.txt", "removed", ""] in rows["data"] and "1 removed" in summary


def test_two_clients_ask_while_a_reindex_runs(ui_offline):
    bulk = ui_offline.sources / "bulk.txt"
    bulk.write_text("".join(f"Bulletin {i}: the port of Gdansk handled {i * 37} containers on day {i} "
                            f"of the season, officials in region {i % 17} said.\n" for i in range(1500)))
    job = client(ui_offline).submit(api_name="/reindex")
    answers: list[tuple[str, bool]] = []
    errors: list[BaseException] = []

    def asker():
        c = client(ui_offline)
        try:
            while not job.done():
                answers.append((c.predict("What did Rubio propose?", api_name="/ask"), job.done()))
        except BaseException as exc:  # noqa: BLE001 (recorded, then asserted on)
            errors.append(exc)

    threads = [threading.Thread(target=asker) for _ in range(2)]
    for t in threads:
        t.start()
    rows, summary, _ = job.result(timeout=300)
    for t in threads:
        t.join(60)
    try:
        assert not errors, errors
        assert ["bulk.txt", "added", ""] in rows["data"] and "1500 passages embedded" in summary
        during = [a for a, finished in answers if not finished]
        assert len(during) >= 4, f"only {len(during)} answers arrived while indexing"
        assert all(f"[1] {SEED_LOC}" in a for a, _ in answers)
    finally:
        bulk.unlink()
        client(ui_offline).predict(api_name="/reindex")


def test_file_routes_serve_neither_secrets_nor_sources_nor_the_index(ui_offline):
    secret = "sk-should-never-be-served"
    (ui_offline.home / ".env").write_text(f"OPENAI_API_KEY={secret}\n")
    index = ui_offline.home / "index"
    targets = [ui_offline.home / ".env", index / "record.sqlite", index / "chroma" / "chroma.sqlite3",
               ui_offline.sources / SEED.name]
    assert all(t.exists() for t in targets)
    for t in targets:
        for route in ("gradio_api/file=", "file=", "gradio_api/file=../../../.."):
            status, body = get(ui_offline.url + route + quote(str(t)))
            assert status in (403, 404), (route, t, status)
            assert secret.encode() not in body and b"Rubio" not in body


def test_non_loopback_needs_a_login_or_insecure(tmp_path, model_cache):
    env = ui_env(tmp_path / "a", model_cache)
    r = run_cli("ui", "--host", "0.0.0.0", "--port", str(free_port()), env=env, timeout=120)
    assert r.returncode == 1
    assert r.stderr.strip().startswith("error: Refusing to serve on 0.0.0.0 without a login")
    bad = run_cli("ui", "--port", str(free_port()), env={**env, "RAG_UI_AUTH": "no-colon"}, timeout=120)
    assert bad.returncode == 1 and "RAG_UI_AUTH must look like user:password" in bad.stderr
    with UIServer(ui_env(tmp_path / "b", model_cache), "--host", "0.0.0.0", "--insecure") as server:
        assert "dilute ties" in client(server).predict("What did Rubio propose?", api_name="/ask")


def test_port_in_use_is_one_sentence(tmp_path, model_cache):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run_cli("ui", "--port", str(port), env=ui_env(tmp_path, model_cache), timeout=120)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == (
        f"error: Cannot serve on 127.0.0.1:{port}: the port is in use or not allowed; "
        "pick another with --port.")


def test_login_protects_the_page_and_the_api(tmp_path, model_cache):
    env = ui_env(tmp_path, model_cache, RAG_UI_AUTH="editor:s3cret-pass")
    with UIServer(env, "--host", "0.0.0.0") as server:
        status, _ = get(server.url + "config")
        assert status == 401
        with pytest.raises(Exception):  # noqa: B017 (gradio_client raises a plain error for no login)
            client(server).predict("What did Rubio propose?", api_name="/ask")
        logged_in = client(server, auth=("editor", "s3cret-pass"))
        out = logged_in.predict("What did Rubio propose?", api_name="/ask")
        assert f"[1] {SEED_LOC}" in out
    assert "s3cret-pass" not in "".join(server.output)


def _rubio(body):
    n = source_number(body, "Marco Rubio")
    return f"Marco Rubio outlined a strategy to dilute ties between China and Russia [{n}]."


def test_llm_mode_is_shown_and_answers_cite(ui_llm, fake_llm):
    fake_llm.default = Reply(_rubio)
    out = client(ui_llm).predict("What did Rubio propose?", api_name="/ask")
    assert out.startswith("Marco Rubio outlined a strategy to dilute ties between China and Russia [1].")
    assert f"[1] {SEED_LOC}" in out
    port = fake_llm.url.split(":")[2].split("/")[0]
    status, config = get(ui_llm.url + "config")
    assert status == 200 and f"LLM: gpt-4.1-mini at 127.0.0.1:{port}" in json.dumps(json.loads(config))
    _, page = get(ui_llm.url)
    for text in (config, page, "".join(ui_llm.output).encode()):
        assert b"sk-test-secret-4242" not in text


def test_llm_failure_falls_back_with_the_notice(ui_llm, fake_llm):
    fake_llm.replies.append(Reply(status=500))
    out = client(ui_llm).predict("What did Rubio propose?", api_name="/ask")
    assert "Note: " in out and "Showing the offline answer instead." in out
    assert "US attempts to sow discord" in out and f"[1] {SEED_LOC}" in out
