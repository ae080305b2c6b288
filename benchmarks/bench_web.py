"""Server time for one slider update of the web app.

What the page asks after each move (see docs/web.md):

1. ``POST /api/compare``: the shipped packages at the central values,
   baseline beside current (the table and most charts), then ``POST
   /api/compare/detail``: the guarantors and commitments of the package
   being shaped (who pays, who deploys), from the same cached comparison;
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

Targets (issue "Speed", ``targets.py``): every request the page sends on
one slider move, ranges included, under 100 ms of server time in all, at
10,000 futures x the shipped packages (the last lines add up the medians
of the four requests of an assumption move and of a lever move); the
compare response for the shipped packages under 150 KB. Beside the wall
time it prints the CPU time of each request (the process's, app and
in-process client together), which a shared machine disturbs less.

    python benchmarks/bench_web.py [--futures 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

from targets import report

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--futures", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--scenarios", type=Path, default=ROOT / "scenarios")
    args = ap.parse_args(argv)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient

    from foedus.interfaces.web.app import create_app
    from foedus.interfaces.web.service import Workspace

    ws = Workspace(args.scenarios)
    ids = [e.package.id for e in ws.all_entries()]
    client = TestClient(create_app(workspace=ws, warm=False), base_url="http://localhost")  # the Host check allows loopback names
    ths = ["attack_probability<=0.1", "approval_probability>=0.3"]
    n = args.futures
    print(f"foedus web: server time per slider update, {len(ids)} packages, {n:,} futures, repeat {args.repeat}")

    def timed(path, body):
        t0, c0 = time.perf_counter(), time.process_time()
        r = client.post(path, json=body)
        ms, cpu = 1000 * (time.perf_counter() - t0), 1000 * (time.process_time() - c0)
        if r.status_code != 200:
            raise SystemExit(f"{path}: HTTP {r.status_code}: {r.text[:300]}")
        return ms, cpu, r.json()

    # warm: imports, the baseline exploration (computed once per server)
    timed("/api/explore", {"packages": ids, "n_futures": n, "thresholds": ths})
    # the compare response's size, as JSON (a browser gets it gzip-compressed)
    compare_bytes = len(client.post("/api/compare", json={"packages": ids}, headers={"Accept-Encoding": "identity"}).content)

    rows = []

    def run(name, bodies, path):
        totals, evals, cpus = [], [], []
        for body in bodies:
            ms, cpu, res = timed(path, body)
            totals.append(ms)
            cpus.append(cpu)
            evals.append(res.get("evaluate_ms", res.get("elapsed_ms", ms)))
        rows.append((name, statistics.median(totals), min(totals), max(totals), statistics.median(evals), statistics.median(cpus)))

    R = args.repeat
    focus = "coalition-backstop" if "coalition-backstop" in ids else ids[0]

    def run_compare(name, bodies):
        """/api/compare, then the detail of the package being shaped, as the page asks after a move."""
        totals, evals, cpus, dt, dcpu = [], [], [], [], []
        for body in bodies:
            ms, cpu, res = timed("/api/compare", body)
            totals.append(ms)
            cpus.append(cpu)
            evals.append(res["elapsed_ms"])
            detail = {"package": focus, "overrides": body.get("overrides", {}), "edit": body.get("edits", {}).get(focus, {})}
            ms, cpu, _ = timed("/api/compare/detail", detail)
            dt.append(ms)
            dcpu.append(cpu)
        rows.append((f"{name} (compare)", statistics.median(totals), min(totals), max(totals), statistics.median(evals), statistics.median(cpus)))
        rows.append((f"{name} (detail of {focus})", statistics.median(dt), min(dt), max(dt), float("nan"), statistics.median(dcpu)))

    run_compare("central values: assumption move", [{"packages": ids, "overrides": {"will.USA": 0.05 + 0.9 * k / R}} for k in range(R)])
    run_compare("central values: lever move", [{"packages": ids, "edits": {focus: {"troops": {"GBR": 11000 + 500 * k}}}} for k in range(R)])
    base = {"packages": ids, "n_futures": n, "thresholds": ths}
    run(f"{n:,} futures: assumption move, robustness only", [{**base, "overrides": {"will.USA": 0.07 + 0.9 * k / R}} for k in range(R)], "/api/explore")
    run(f"{n:,} futures: lever move, robustness only", [{**base, "edits": {"coalition-backstop": {"troops": {"GBR": 12100 + 300 * k}}}} for k in range(R)], "/api/explore")
    run(f"{n:,} futures: revisit (cache hit), robustness only", [{**base, "overrides": {"will.USA": 0.07}} for _ in range(R)], "/api/explore")
    def run_discover(name, bodies):
        totals, evals, cpus = [], [], []
        for body in bodies:
            timed("/api/explore", body)  # the page asks for robustness first, then the box
            ms, cpu, res = timed("/api/discover", {**body, "focus": "coalition-backstop"})
            totals.append(ms)
            cpus.append(cpu)
            evals.append(res["elapsed_ms"])
        rows.append((name, statistics.median(totals), min(totals), max(totals), statistics.median(evals), statistics.median(cpus)))

    run_discover(f"{n:,} futures: PRIM box after an assumption move (discover)", [{**base, "overrides": {"will.USA": 0.09 + 0.9 * k / R}} for k in range(R)])
    run_discover(f"{n:,} futures: PRIM box after a lever move (discover)", [{**base, "edits": {"coalition-backstop": {"troops": {"GBR": 13100 + 300 * k}}}} for k in range(R)])

    w = max(len(r[0]) for r in rows)
    print(f"{'update':<{w}}  {'median ms':>9}  {'min':>7}  {'max':>7}  {'evaluate ms':>11}  {'CPU ms':>7}")
    for name, med, lo, hi, ev, cpu in rows:
        print(f"{name:<{w}}  {med:9.1f}  {lo:7.1f}  {hi:7.1f}  {ev:11.1f}  {cpu:7.1f}")
    med = {name: m for name, m, *_ in rows}
    cpu = {name: c for name, *_, c in rows}
    for move in ("assumption", "lever"):
        parts = [name for name in med if f"{move} move" in name]
        print(f"{move} move, all {len(parts)} requests: {sum(cpu[name] for name in parts):.0f} ms of CPU (medians; steadier than wall time on a shared machine)")
        report("slider", sum(med[name] for name in parts), f"{move} move, the medians of its {len(parts)} requests")
    report("compare_bytes", compare_bytes, f"{len(ids)} packages, JSON as sent without gzip")
    return 0


if __name__ == "__main__":
    sys.exit(main())
