"""Server time for one slider update of the web app.

What the page asks after each move (see docs/web.md):

1. ``POST /api/compare``: the shipped packages at the central values,
   baseline beside current (the table and most charts), then ``POST
   /api/by-year``: the package being shaped year by year, baseline and
   current, with its ranges (asked after every comparison while a package
   is being shaped), and ``POST /api/compare/detail``: its guarantors and
   commitments (who pays, who deploys), from the same cached comparison;
2. ``POST /api/explore``: the same packages across N futures (robustness
   charts), then ``POST /api/discover``: the PRIM box of the package being
   shaped (from the cached futures).

Measured through the real ASGI app (request parsing, validation, JSON) with
an in-process client, on a warmed server, for three kinds of move:

* assumption: a world slider (US will) moves to a value not seen before:
  every package is re-evaluated over the futures;
* lever: one package's troops slider moves: only that package is
  re-evaluated, the others come from the per-package cache;
* revisit: a slider returns to a position already shown (cache hit).

Each request's server time is the server's own (its ``Server-Timing``
header: from the app receiving the request to its answer starting); the
client's wall time is printed beside it (it adds the client's own work:
httpx spent 1.2 ms per request here, and the in-process test client 2-3.5
ms).

Targets (issue "Speed", ``targets.py``): every request the page sends on
one slider move, ranges included, under 100 ms of server time in all, at
10,000 futures x 8 packages (the last lines add up the medians of the five
requests of an assumption move and of a lever move); the compare response
for the shipped packages under 150 KB. The page shows every shipped
package by default (12 today), which is what runs without ``--packages``;
``--packages`` takes the ids to show, e.g. the eight seeds shipped when the
target was set, :data:`EIGHT`, for the issue's own size. Beside the wall
time it prints the CPU time of each request (the process's, app and
in-process client together), which a shared machine disturbs less.

``--serve`` measures ``foedus serve`` itself instead, started as a process
of its own (with its default worker processes, or ``--workers N``), over
loopback HTTP: what a browser on the same machine waits for. The CPU
column is then the client's alone and is left out.

    python benchmarks/bench_web.py [--futures 10000] [--repeat 5] [--packages eight|ID,ID,...] [--serve [--workers N]]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

from targets import report

ROOT = Path(__file__).resolve().parents[1]
#: The eight seed packages shipped when issue 18 set its targets ("10 k
#: futures x 8 packages"); ``--packages eight``.
EIGHT = ("status-quo", "tailored", "regional", "nato", "treaty", "coalition-backstop", "coalition-100k", "european-nuclear")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--futures", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--scenarios", type=Path, default=ROOT / "scenarios")
    ap.add_argument("--packages", default="", help="ids to show, comma-separated, or 'eight' (default: every package in --scenarios)")
    ap.add_argument("--serve", action="store_true", help="measure foedus serve over loopback HTTP instead of the app in-process")
    ap.add_argument("--workers", type=int, default=None, help="with --serve: its worker processes (default: foedus serve's)")
    args = ap.parse_args(argv)
    with contextlib.ExitStack() as stack:
        return _bench(args, stack)


def _served(args, stack):
    """An HTTP client of ``foedus serve`` started for this run (stopped at the end)."""
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "foedus.interfaces.cli.main", "serve", "--port", str(port), "--scenarios", str(args.scenarios),
           "--log-level", "warning", *(["--workers", str(args.workers)] if args.workers is not None else [])]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stack.callback(lambda: (proc.terminate(), proc.wait(30)))
    client = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120))
    deadline = time.monotonic() + 120
    while True:
        try:  # ready once warm: the workers have started and run the exploration path once
            if client.get("/api/health").json().get("warm"):
                return client
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"foedus serve did not start: {' '.join(cmd)}")
        time.sleep(0.2)


def _one_state_per_worker(args) -> list[dict]:
    """Assumption states whose explorations reach every worker of the
    server (its routing, ``interfaces/web/pool.py``)."""
    from foedus.interfaces.web.pool import ComputePool, default_workers

    w = default_workers() if args.workers is None else args.workers
    if w == 0:
        return [{}]
    pool = ComputePool(args.scenarios, w)  # routing only: no process starts
    try:
        states, seen = [], set()
        for k in range(1000):
            ov = {"will.USA": round(0.5 + 0.001 * k, 3)}
            at = pool.worker_for("explore", ov)
            if at not in seen:
                seen.add(at)
                states.append(ov)
            if len(seen) == w:
                return states
        return states
    finally:
        pool.close()


def _bench(args, stack) -> int:

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient

    from foedus.interfaces.web.app import create_app
    from foedus.interfaces.web.service import Workspace

    ws = Workspace(args.scenarios)
    shipped = [e.package.id for e in ws.all_entries()]
    ids = list(EIGHT) if args.packages == "eight" else [p for p in args.packages.split(",") if p] or shipped
    unknown = sorted(set(ids) - set(shipped))
    if unknown or "coalition-backstop" not in ids:
        raise SystemExit(f"--packages: ids of {args.scenarios} including coalition-backstop (the package shaped); unknown: {', '.join(unknown)}")
    if args.serve:
        client = _served(args, stack)
    else:
        client = TestClient(create_app(workspace=ws, warm=False), base_url="http://localhost")  # the Host check allows loopback names
    ths = ["attack_probability<=0.1", "approval_probability>=0.3"]
    n = args.futures
    how = f"foedus serve over loopback HTTP{'' if args.workers is None else f', {args.workers} workers'}" if args.serve else "the app in-process"
    print(f"foedus web: server time per slider update, {len(ids)} packages, {n:,} futures, repeat {args.repeat}, {how}")

    def timed(path, body):
        """Wall ms seen by the client, CPU ms of this process, the server's
        own ms (its Server-Timing header) and the answer."""
        t0, c0 = time.perf_counter(), time.process_time()
        r = client.post(path, json=body)
        ms, cpu = 1000 * (time.perf_counter() - t0), float("nan") if args.serve else 1000 * (time.process_time() - c0)
        if r.status_code != 200:
            raise SystemExit(f"{path}: HTTP {r.status_code}: {r.text[:300]}")
        timing = r.headers.get("server-timing")  # absent from servers before 7 December 2026 (their figures: the client's wait)
        server = float(timing.partition("dur=")[2]) if timing else float("nan")
        return ms, cpu, server, r.json()

    # warm: imports, the baseline exploration (computed once per server; with
    # --serve once per worker process: one exploration routed to each)
    for ov in _one_state_per_worker(args) if args.serve else [{}]:
        timed("/api/explore", {"packages": ids, "n_futures": n, "thresholds": ths, "overrides": ov})
    # the compare response's size for the shipped packages, as JSON (a browser gets it gzip-compressed)
    compare_bytes = len(client.post("/api/compare", json={"packages": shipped}, headers={"Accept-Encoding": "identity"}).content)

    rows = []

    def run(name, bodies, path):
        totals, evals, cpus, servers = [], [], [], []
        for body in bodies:
            ms, cpu, server, res = timed(path, body)
            totals.append(ms)
            cpus.append(cpu)
            servers.append(server)
            evals.append(res.get("evaluate_ms", res.get("elapsed_ms", ms)))
        rows.append((name, statistics.median(totals), min(totals), max(totals), statistics.median(evals), statistics.median(cpus),
                     statistics.median(servers)))

    R = args.repeat
    focus = "coalition-backstop"

    def run_compare(name, bodies):
        """/api/compare, then the package being shaped year by year and its
        detail, as the page asks after a move."""
        got = {"compare": ([], [], [], []), f"by-year of {focus}": ([], [], [], []), f"detail of {focus}": ([], [], [], [])}
        for body in bodies:
            edit = body.get("edits", {}).get(focus, {})
            years = {"packages": [focus], "overrides": body.get("overrides", {}), "edits": {focus: edit} if edit else {}}
            detail = {"package": focus, "overrides": body.get("overrides", {}), "edit": edit}
            for (path, req), (ms_, ev_, cpu_, sv_) in zip((("/api/compare", body), ("/api/by-year", years), ("/api/compare/detail", detail)), got.values()):
                ms, cpu, server, res = timed(path, req)
                ms_.append(ms)
                cpu_.append(cpu)
                sv_.append(server)
                ev_.append(res.get("elapsed_ms", float("nan")))
        for what, (ms_, ev_, cpu_, sv_) in got.items():
            rows.append((f"{name} ({what})", statistics.median(ms_), min(ms_), max(ms_), statistics.median(ev_), statistics.median(cpu_),
                         statistics.median(sv_)))

    run_compare("central values: assumption move", [{"packages": ids, "overrides": {"will.USA": 0.05 + 0.9 * k / R}} for k in range(R)])
    run_compare("central values: lever move", [{"packages": ids, "edits": {focus: {"troops": {"GBR": 11000 + 500 * k}}}} for k in range(R)])
    base = {"packages": ids, "n_futures": n, "thresholds": ths}
    run(f"{n:,} futures: assumption move, robustness only", [{**base, "overrides": {"will.USA": 0.07 + 0.9 * k / R}} for k in range(R)], "/api/explore")
    run(f"{n:,} futures: lever move, robustness only", [{**base, "edits": {"coalition-backstop": {"troops": {"GBR": 12100 + 300 * k}}}} for k in range(R)], "/api/explore")
    run(f"{n:,} futures: revisit (cache hit), robustness only", [{**base, "overrides": {"will.USA": 0.07}} for _ in range(R)], "/api/explore")
    def run_discover(name, bodies):
        totals, evals, cpus, servers = [], [], [], []
        for body in bodies:
            timed("/api/explore", body)  # the page asks for robustness first, then the box
            ms, cpu, server, res = timed("/api/discover", {**body, "focus": "coalition-backstop"})
            totals.append(ms)
            cpus.append(cpu)
            servers.append(server)
            evals.append(res["elapsed_ms"])
        rows.append((name, statistics.median(totals), min(totals), max(totals), statistics.median(evals), statistics.median(cpus),
                     statistics.median(servers)))

    run_discover(f"{n:,} futures: PRIM box after an assumption move (discover)", [{**base, "overrides": {"will.USA": 0.09 + 0.9 * k / R}} for k in range(R)])
    run_discover(f"{n:,} futures: PRIM box after a lever move (discover)", [{**base, "edits": {"coalition-backstop": {"troops": {"GBR": 13100 + 300 * k}}}} for k in range(R)])

    w = max(len(r[0]) for r in rows)
    print(f"{'update':<{w}}  {'median ms':>9}  {'min':>7}  {'max':>7}  {'evaluate ms':>11}  {'CPU ms':>7}  {'server ms':>9}")
    for name, med, lo, hi, ev, cpu, server in rows:
        print(f"{name:<{w}}  {med:9.1f}  {lo:7.1f}  {hi:7.1f}  {ev:11.1f}  {cpu:7.1f}  {server:9.1f}")
    med = {name: m for name, m, *_ in rows}
    cpu = {r[0]: r[5] for r in rows}
    server = {r[0]: r[6] for r in rows}
    for move in ("assumption", "lever"):
        parts = [name for name in med if f"{move} move" in name]
        if not args.serve:
            print(f"{move} move, all {len(parts)} requests: {sum(cpu[name] for name in parts):.0f} ms of CPU (medians; steadier than wall time on a shared machine)")
        print(f"{move} move, all {len(parts)} requests: {sum(med[name] for name in parts):.0f} ms as the client waited (medians, its own time included)")
        report("slider", sum(server[name] for name in parts), f"{move} move at {len(ids)} packages, the server's own time (Server-Timing), "
               f"the medians of its {len(parts)} requests")
    report("compare_bytes", compare_bytes, f"{len(shipped)} packages, JSON as sent without gzip")
    return 0


if __name__ == "__main__":
    sys.exit(main())
