"""Load: `rag ui` answering many HTTP clients at once; results go to the top of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/load.py [--clients 1,4,16,50] [--seconds 60] [--procs N] [--no-write]
                                        [--raw-clients 1,4] [--reindex-passages 5000] [--no-inproc]

`rag ui` runs as a subprocess on loopback (RAG_WATCH=false, RAG_FEED_REFRESH_MINUTES=0) over a
temporary sources folder of ~5,000 passages (newsbench + seeds and generated JSONL variants of
them, see benchmarks/scale.py), indexed first with `rag index`. For each client count, that many
`gradio_client.Client`s ask varied questions (newsbench dev+test, some with since/until,
headline-style queries) through api_name="/ask" back to back for --seconds: per-request latency,
errors, throughput, and the CPU the server and the clients used (the clients run as threads in
--procs processes, so the client side's GIL does not cap the load; its CPU share is reported).
During the largest run, ~5,000 new passages are dropped into the sources folder as files and
another client calls api_name="/reindex"; errors and latency while it runs are reported apart
(goal: no errors), and the run lasts until the re-index has finished.

Throughout, a probe asks the server for GET /config (no queue, no engine) every 0.25 s: how long
the server's event loop leaves requests waiting. The same client counts (--raw-clients) also run
over Gradio's plain HTTP API (POST /gradio_api/call/ask, then its event stream), to tell what
gradio_client itself costs. A 10 s warm-up precedes the measured runs. Before the UI starts, the
same engine answers in-process from 1, 2 and 4 threads (no HTTP), to tell what the engine
serialises from what the web layer adds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import report  # noqa: E402
from benchmarks.scale import _model_cache, build_sources, questions, write_record_file  # noqa: E402

BIN = Path(sys.executable).parent
TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _pct(xs: list[float], q: int) -> float | None:
    if not xs:
        return None
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1]


# ---- the clients -----------------------------------------------------------------------------
def _client(url: str, kind: str = "gradio_client"):
    """A function asking one question: through gradio_client, or through Gradio's plain HTTP API
    (POST /gradio_api/call/ask, then read the event stream: what `curl` would do)."""
    if kind == "http":
        import httpx

        http = httpx.Client(base_url=url, timeout=600)

        def ask_http(q: str, since: str, until: str) -> str:
            event = http.post("gradio_api/call/ask", json={"data": [q, since, until]}).json()["event_id"]
            with http.stream("GET", f"gradio_api/call/ask/{event}") as r:
                kind = ""
                for line in r.iter_lines():
                    if line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line.startswith("data:") and kind in ("complete", "error"):
                        data = line[5:].strip()
                        if kind == "error":
                            raise RuntimeError(f"error event: {data[:160]}")
                        return json.loads(data)[0]
            raise RuntimeError("the event stream ended without a result")

        return ask_http
    from gradio_client import Client

    for attempt in range(5):
        try:
            client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
            return lambda q, since, until: client.predict(q, since, until, api_name="/ask")
        except Exception:
            if attempt == 4:
                raise
            time.sleep(1 + attempt)


def _ask_loop(ask, qs: list[dict], seed: int, start: float, stop: float, out: list, until_event=None):
    rng = random.Random(seed)
    while True:
        now = time.time()
        if now < start:
            time.sleep(start - now)
            continue
        if now >= stop and (until_event is None or until_event.is_set()):
            return
        q = rng.choice(qs)
        t0 = time.time()
        try:
            reply = ask(q["q"], q.get("since", ""), q.get("until", ""))
            err = "" if isinstance(reply, str) and reply.strip() else f"bad reply: {reply!r:.80}"
        except Exception as exc:  # every failure is counted and named
            err = f"{type(exc).__name__}: {str(exc)[:160]}"
        out.append((t0, time.time() - t0, err))


def client_proc(url: str, kind: str, n: int, qs: list[dict], seed: int, seconds: float, done, conn) -> None:
    """A process of n client threads; sends back its records and CPU seconds. They ask until
    `seconds` after the start they are sent, and until `done` is set."""
    clients = [None] * n

    def make(i):
        clients[i] = _client(url, kind)

    makers = [threading.Thread(target=make, args=(i,)) for i in range(n)]
    for t in makers:
        t.start()
    for t in makers:
        t.join()
    conn.send("ready")
    start = conn.recv()  # all processes start together
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    out: list = []
    threads = [threading.Thread(target=_ask_loop, args=(c, qs, seed + i, start, start + seconds, out, done))
               for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    conn.send((out, (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)))
    conn.close()


def run_clients(url: str, n: int, procs: int, qs: list[dict], seconds: float, server_pid: int,
                during=None, kind: str = "gradio_client") -> dict:
    """n clients over `procs` processes for `seconds`; `during(start)` runs meanwhile in a thread
    (its record is returned under "reindex"), and the run goes on until it has finished."""
    ctx = mp.get_context("spawn")
    procs = max(1, min(procs, n))
    shares = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
    done = ctx.Event()
    workers = []
    for i, share in enumerate(shares):
        parent, child = ctx.Pipe()
        seed = 1000 * i + 17 * n
        p = ctx.Process(target=client_proc, args=(url, kind, share, qs, seed, seconds, done, child),
                        daemon=True)
        p.start()
        workers.append((p, parent))
    for _, conn in workers:
        if conn.recv() != "ready":
            raise RuntimeError("a client process failed to start")
    start = time.time() + 0.5
    extra: dict = {}
    side = None
    if during is not None:
        side = threading.Thread(target=lambda: extra.update(during(start)))
        side.start()
    else:
        done.set()
    cpu_server0, t0 = _cpu_of(server_pid), time.time()
    probes: list = []
    probing = threading.Event()
    probe = threading.Thread(target=_probe, args=(url, probes, probing), daemon=True)
    probe.start()
    for _, conn in workers:
        conn.send(start)
    if side is not None:
        side.join()
        time.sleep(max(0.0, extra.get("end", 0) + 3 - time.time()))  # a little after it, too
        done.set()
    records, client_cpu = [], 0.0
    for p, conn in workers:
        recs, cpu = conn.recv()
        records.extend(recs)
        client_cpu += cpu
        p.join(30)
    wall = time.time() - t0
    cpu_server = _cpu_of(server_pid) - cpu_server0
    probing.set()
    probe.join(30)
    res = _summary(n, procs, records, wall, seconds, start, cpu_server, client_cpu, extra)
    res["probe_p50"], res["probe_max"] = _pct([lat for _, lat in probes], 50), max(lat for _, lat in probes)
    if extra:
        inside = [lat for t, lat in probes if extra["begin"] <= t <= extra["end"]]
        res["reindex"]["probe_max"] = max(inside, default=None)
        res["reindex"]["probe_over_5s"] = sum(1 for x in inside if x > 5)
    return {**res, "kind": kind}


def _probe(url: str, out: list, stop: threading.Event) -> None:
    """Is the server's event loop responsive? GET /config (no queue, no engine) every 0.25 s."""
    import httpx

    with httpx.Client(base_url=url, timeout=120) as http:
        while not stop.is_set():
            t = time.time()
            try:
                http.get("config").raise_for_status()
                out.append((t, time.time() - t))
            except Exception:
                out.append((t, time.time() - t))
            stop.wait(0.25)


def _summary(n, procs, records, wall, duration, start, cpu_server, client_cpu, extra) -> dict:
    ok = [lat for _, lat, err in records if not err]
    errors = [err for _, _, err in records if err]
    end = max((t + lat for t, lat, _ in records), default=start + duration)
    span = max(1e-9, end - start)
    res = {"clients": n, "procs": procs, "requests": len(records), "ok": len(ok), "errors": len(errors),
           "error_kinds": sorted({e.split(":")[0] for e in errors}), "error_examples": errors[:3],
           "p50": _pct(ok, 50), "p95": _pct(ok, 95), "p99": _pct(ok, 99), "seconds": span,
           "throughput": len(ok) / span, "server_cores": cpu_server / wall, "client_cores": client_cpu / wall}
    if extra:
        lo, hi = extra["begin"], extra["end"]
        inside = [(lat, err) for t, lat, err in records if t + lat >= lo and t <= hi]
        outside = [lat for t, lat, err in records if not err and (t + lat < lo or t > hi)]
        res["reindex"] = {**extra, "requests": len(inside), "errors": sum(1 for _, e in inside if e),
                          "error_examples": [e for _, e in inside if e][:3],
                          "p50": _pct([lat for lat, e in inside if not e], 50),
                          "p95": _pct([lat for lat, e in inside if not e], 95),
                          "outside_p50": _pct(outside, 50), "outside_p95": _pct(outside, 95)}
    return res


# ---- the re-index during a run ------------------------------------------------------------------
def reindex_during(url: str, sources: Path, variants, passages: int, after: float):
    """Drop `passages` new passages as files, then call /reindex from another client."""
    def job(start: float) -> dict:
        from gradio_client import Client

        client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
        time.sleep(max(0.0, start + after - time.time()))
        rng = random.Random(99)
        folder = sources / "gen-reindex"
        folder.mkdir()
        left, k = passages, 0
        while left > 0:
            n = min(1000, left)
            write_record_file(folder / f"{k:03d}.jsonl", variants, rng, n, f"re{k}")
            left, k = left - n, k + 1
        begin = time.time()
        try:
            result = client.predict(api_name="/reindex")
            summary, err = str(result[1])[:300], ""
        except Exception as exc:
            summary, err = "", f"{type(exc).__name__}: {str(exc)[:200]}"
        end = time.time()
        return {"begin": begin, "end": end, "reindex_s": end - begin, "summary": summary, "error": err,
                "files": k}

    return job


# ---- in-process threads -----------------------------------------------------------------------
def in_process(env: dict, qs: list[dict], seconds: float, threads=(1, 2, 4)) -> list[dict]:
    """The engine answering from several threads of one process, no HTTP: what it serialises."""
    code = r"""
import json, random, sys, threading, time
import rag
qs, seconds, counts = json.loads(sys.stdin.read())
engine = rag.get_engine(); engine.warm_up()
for q in qs[:10]:
    engine.ask(q["q"])
out = []
for n in counts:
    done, stop = [], time.time() + seconds
    def loop(seed):
        rng = random.Random(seed)
        while time.time() < stop:
            q = rng.choice(qs); t = time.time()
            engine.ask(q["q"], since=q.get("since") or None, until=q.get("until") or None)
            done.append(time.time() - t)
    ts = [threading.Thread(target=loop, args=(i,)) for i in range(n)]
    t0 = time.time(); c0 = time.process_time()
    [t.start() for t in ts]; [t.join() for t in ts]
    wall = time.time() - t0
    done.sort()
    out.append({"threads": n, "asks": len(done), "throughput": len(done) / wall,
                "p50": done[len(done) // 2], "cores": (time.process_time() - c0) / wall})
print(json.dumps(out))
"""
    p = subprocess.run([sys.executable, "-c", code], input=json.dumps([qs, seconds, list(threads)]), env=env,
                       cwd=ROOT, capture_output=True, text=True, timeout=600 + 3 * seconds * len(threads))
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-2000:])
    return json.loads(p.stdout)


# ---- the run ---------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", default="1,4,16,50")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--passages", type=int, default=5000, help="passages in the index to begin with")
    ap.add_argument("--reindex-passages", type=int, default=5000, help="new passages re-indexed during the "
                    "largest run (0: none)")
    ap.add_argument("--raw-clients", default="1,4", help="client counts also run over plain HTTP (no "
                    "gradio_client), for half the time, to tell the client library's cost; '' for none")
    ap.add_argument("--procs", type=int, default=0, help="client processes (default: 1 per 8 clients, max 4)")
    ap.add_argument("--no-inproc", action="store_true", help="skip the in-process threads measurement")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="rag-load-"))
    t_all = time.perf_counter()
    load0 = os.getloadavg()
    try:
        rows = run(args, counts, tmp)
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    cmd = " ".join(["benchmarks/load.py", *sys.argv[1:]])
    out = [f"## {dt.date.today().isoformat()} — `{cmd}`", "",
           f"Machine: {report.machine()}; code {report.code_version()}; shared "
           "with other jobs "
           f"(load average {load0[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end); the clients "
           "run on the same 2 cores as the server.", "",
           *rows, "", f"_{time.perf_counter() - t_all:.0f} s_", ""]
    print("\n".join(out))
    if not args.no_write:
        report.prepend(out)


def run(args, counts: list[int], tmp: Path) -> list[str]:
    from tests.ui_server import UIServer

    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    sources = tmp / "sources"
    sources.mkdir()
    _, variants, _ = build_sources(sources, args.passages)
    qs = questions(variants)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_"))}
    env.update(RAG_HOME=str(tmp), RAG_SOURCES_DIR=str(sources), RAG_INDEX_DIR=str(tmp / "index"),
               RAG_MODEL_CACHE_DIR=str(_model_cache(tmp)), RAG_WATCH="false", RAG_FEED_REFRESH_MINUTES="0",
               GRADIO_TEMP_DIR=str(tmp / "gradio-tmp"), HF_HUB_OFFLINE="1",
               GRADIO_ANALYTICS_ENABLED="False")
    t = time.perf_counter()
    p = subprocess.run([str(BIN / "rag"), "index", "--json"], env=env, cwd=ROOT, capture_output=True,
                       text=True)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-2000:])
    built = json.loads(p.stdout)
    index_s = time.perf_counter() - t
    say(f"indexed {built['passages']} passages in {index_s:.0f} s")
    inproc = [] if args.no_inproc else in_process(env, qs, min(20.0, args.seconds / 2))
    for r in inproc:
        say(f"in-process, {r['threads']} threads: {r['throughput']:.1f} asks/s, {r['cores']:.2f} cores")

    results = []
    raw = [int(c) for c in args.raw_clients.split(",") if c.strip()]
    runs = [(n, "http") for n in raw] + [(n, "gradio_client") for n in counts]
    with UIServer(env) as server:
        pid = server.proc.pid
        run_clients(server.url, 2, 1, qs, 10, pid)  # warm-up (first requests, caches), not reported
        for n, kind in runs:
            procs = args.procs or min(4, max(1, n // 8))
            during = None
            if kind == "gradio_client" and n == max(counts) and args.reindex_passages:
                during = reindex_during(server.url, sources, variants, args.reindex_passages,
                                        after=min(10.0, args.seconds / 4))
            seconds = args.seconds if kind == "gradio_client" else args.seconds / 2
            r = run_clients(server.url, n, procs, qs, seconds, pid, during, kind)
            results.append(r)
            say(f"{n} clients ({kind}): {r['throughput']:.1f} req/s, p50 {r['p50'] or 0:.2f} s, "
                f"p95 {r['p95'] or 0:.2f} s, {r['errors']} errors; server {r['server_cores']:.2f} cores, "
                f"clients {r['client_cores']:.2f}")
            if "reindex" in r:
                x = r["reindex"]
                say(f"  re-index: {x['reindex_s']:.0f} s, {x['errors']} errors during it; "
                    f"{x['summary'][:120]}{x['error']}")
        rss = _status(pid)
    return _report(args, built, index_s, inproc, results, rss)


def _status(pid: int) -> dict:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmHWM", "VmRSS"):
            out[k] = int(v.split()[0]) / 1024
    return out


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x * 1000:,.0f}"


def _report(args, built: dict, index_s: float, inproc: list[dict], results: list[dict], rss: dict
            ) -> list[str]:
    out = [f"`rag ui` over {built['passages']:,} passages (indexed by `rag index` in {index_s:.0f} s, "
           f"{built['passages'] / index_s:.0f} passages/s), offline answers; each client asks back to back "
           f"for {args.seconds:g} s (questions: newsbench dev+test, some with since/until, headlines). "
           "Latency is the client's wall time of `Client.predict(..., api_name=\"/ask\")`.", "",
           "| clients | client | requests | errors | p50 ms | p95 ms | p99 ms | throughput req/s "
           "| server CPU (cores) | client CPU (cores, processes) | GET /config p50 / max ms |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    label = {"gradio_client": "`gradio_client`", "http": "plain HTTP"}
    for r in results:
        out.append(f"| {r['clients']} | {label[r['kind']]} | {r['requests']} | {r['errors']} "
                   f"| {_ms(r['p50'])} | {_ms(r['p95'])} | {_ms(r['p99'])} | {r['throughput']:.1f} "
                   f"| {r['server_cores']:.2f} | {r['client_cores']:.2f} ({r['procs']}) "
                   f"| {_ms(r['probe_p50'])} / {_ms(r['probe_max'])} |")
    by = {r["clients"]: r for r in results if r["kind"] == "gradio_client"}
    notes = []
    if 1 in by and 4 in by:
        ratio = by[4]["throughput"] / by[1]["throughput"]
        notes.append(f"Throughput with 4 clients is {ratio:.2f}× that with 1 (2 cores: at most ~2× if asks "
                     f"ran in parallel); the server used {by[1]['server_cores']:.2f} → "
                     f"{by[4]['server_cores']:.2f} cores.")
    for r in results:
        if r["errors"]:
            notes.append(f"{r['clients']} clients ({r['kind']}): errors {', '.join(r['error_kinds'])}, e.g. "
                         f"{r['error_examples'][0]!r}.")
    for r in results:
        if "reindex" in r:
            x = r["reindex"]
            verdict = "**PASS**" if x["errors"] == 0 and not x["error"] else "**FAIL**"
            notes.append(
                f"Re-index during the {r['clients']}-client run: {args.reindex_passages:,} new passages in "
                f"{x['files']} file(s), `/reindex` took {x['reindex_s']:.0f} s "
                f"({x['summary'] or x['error']}); "
                f"{x['requests']} asks overlapped it with {x['errors']} errors (goal 0: {verdict}); their "
                f"latency p50/p95 {_ms(x['p50'])} / {_ms(x['p95'])} ms vs {_ms(x['outside_p50'])} / "
                f"{_ms(x['outside_p95'])} ms outside it. The longest the server took to answer GET /config "
                f"(no queue, no engine) while it ran: {_ms(x['probe_max'])} ms ({x['probe_over_5s']} probes "
                "over 5 s, the timeout of gradio_client's POST /queue/join).")
    if inproc:
        cells = "; ".join(f"{r['threads']} thread{'s' if r['threads'] > 1 else ''}: {r['throughput']:.1f} "
                          f"asks/s (p50 {r['p50'] * 1000:.0f} ms, {r['cores']:.2f} cores)" for r in inproc)
        notes.append(f"The engine alone, in-process (no HTTP): {cells}.")
    if rss:
        notes.append(f"`rag ui` process RSS at the end {rss.get('VmRSS', 0):,.0f} MB, "
                     f"peak {rss.get('VmHWM', 0):,.0f} MB.")
    return out + [""] + [f"- {n}" for n in notes]


if __name__ == "__main__":
    main()
