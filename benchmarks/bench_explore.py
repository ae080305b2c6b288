"""On-demand benchmark: exploration throughput, end to end and by stage.

Evaluates the eight seed packages (``scenarios/*.yaml``) over N futures and
reports package-futures per second and peak resident memory for

* **end to end**: what ``foedus explore scenarios/*.yaml --futures N`` does
  (the CLI command itself, called in-process: sampling, models, streaming
  into a fresh DuckDB run store, commit, store percentiles), once in a
  single process and once on a local Dask cluster (``--workers``);
* **model only**: ``evaluate_block`` over the blocks of ``--model-futures``
  futures, no storage;
* **sampling only**: ``Design.block_values`` over N futures, per sampler.

Each stage runs in its own child process, so that its peak RSS
(``getrusage(...).ru_maxrss`` of the stage process, ``self``, and of its
largest reaped child, ``children`` = a Dask worker) is its own.

    python benchmarks/bench_explore.py [--futures 1000000] [--workers 2]
        [--model-futures 262144] [--seed 1] [--block 65536] [--skip-dask]
        [--only e2e|model|sampling] [--json]

The machine may be shared: the load average before and after is printed;
compare figures only between runs at a similar load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from targets import report

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
PACKAGES = sorted((ROOT / "scenarios").glob("*.yaml"))


def _rss() -> dict:
    """Peak RSS in MiB of this process and of its largest reaped child."""
    self_ = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"rss_self_mib": round(self_, 1), "rss_children_mib": round(kids, 1)}


# ----------------------------------------------------------------- stages


def stage_e2e(a) -> dict:
    """The `foedus explore` command itself (a process of its own, as users
    run it), writing to a fresh store; its peak RSS is the largest child's."""
    foedus = Path(sys.executable).parent / "foedus"
    with tempfile.TemporaryDirectory(prefix="foedus-bench-explore-") as tmp:
        db = Path(tmp) / "runs.duckdb"
        cmd = [str(foedus), "explore", *map(str, PACKAGES), "--futures", str(a.futures), "--seed", str(a.seed), "--block", str(a.block),
               "--db", str(db), "--yes", "--json"] + (["--workers", str(a.workers)] if a.workers else [])
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError(r.stderr[-2000:])
        out = json.loads(r.stdout)
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    pf = a.futures * len(out["robustness"])
    return {
        "stage": f"end to end, {'%d Dask workers' % a.workers if a.workers else 'single process'}",
        "futures": a.futures, "packages": len(out["robustness"]), "wall_s": round(wall, 2),
        "explore_s": round(out["seconds"], 2), "store_mib": round(size / 2**20, 1),
        "package_futures_per_s": round(pf / wall), **_rss(),
    }


def _world():
    from foedus.data.loaders import load_countries, load_packages
    from foedus.data.parameter_set import ParameterSet

    countries = load_countries()
    return load_packages(PACKAGES, countries), ParameterSet.default(), countries


def stage_model(a) -> dict:
    """evaluate_block over the blocks of --model-futures futures, no store,
    into one Scratch as foedus explore evaluates them."""
    from foedus.exploration.explore import Scratch, evaluate_block, make_spec

    packages, ps, countries = _world()
    spec = make_spec(packages, ps, countries, a.model_futures, a.seed, "lhs", None, a.block)
    evaluate_block(make_spec(packages, ps, countries, 4096, a.seed, "lhs", None, 4096), 0)  # warm up
    scratch = Scratch.for_spec(spec)
    t0 = time.perf_counter()
    t_sample = 0.0
    for b in range(spec.n_blocks):
        s = time.perf_counter()
        spec.design.block_values(b, spec.n, scratch.inputs)
        t_sample += time.perf_counter() - s
        evaluate_block(spec, b, scratch)
    wall = time.perf_counter() - t0
    model = wall - t_sample  # evaluate_block samples its block again
    pf = a.model_futures * spec.levers.n_packages
    return {
        "stage": "model only (evaluate_block)", "futures": a.model_futures, "packages": spec.levers.n_packages,
        "wall_s": round(model, 2), "package_futures_per_s": round(pf / model),
        "us_per_future_all_packages": round(1e6 * model / a.model_futures, 2), **_rss(),
    }


def stage_sampling(a) -> dict:
    from foedus.exploration.futures import SAMPLERS, Design

    _, ps, _ = _world()
    rows = {}
    for sampler in SAMPLERS:
        d = Design.from_parameters(ps, sampler=sampler, seed=a.seed, block=a.block)
        d.block_values(0, min(a.block, a.futures))  # imports, warm up
        t0 = time.perf_counter()
        for b in range(d.n_blocks(a.futures)):
            d.block_values(b, a.futures)
        wall = time.perf_counter() - t0
        rows[sampler] = {"wall_s": round(wall, 3), "futures_per_s": round(a.futures / wall), "inputs": d.d}
    return {"stage": "sampling only (Design.block_values)", "futures": a.futures, "samplers": rows, **_rss()}


STAGES = {"e2e": stage_e2e, "model": stage_model, "sampling": stage_sampling}


# ----------------------------------------------------------------- driver


def _child(stage: str, a, workers: int = 0) -> dict:
    cmd = [sys.executable, __file__, "--stage", stage, "--futures", str(a.futures), "--seed", str(a.seed),
           "--block", str(a.block), "--model-futures", str(a.model_futures), "--workers", str(workers)]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(f"stage {stage} failed:\n{r.stderr}")
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--futures", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2, help="Dask workers for the distributed end-to-end run")
    ap.add_argument("--model-futures", type=int, default=262_144)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--block", type=int, default=65_536)
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--only", choices=sorted(STAGES))
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--stage", choices=sorted(STAGES), help=argparse.SUPPRESS)  # internal: run one stage
    a = ap.parse_args()

    if a.stage:
        print("RESULT " + json.dumps(STAGES[a.stage](a)), flush=True)
        return

    load0 = os.getloadavg()
    results = []
    plan = [("sampling", 0), ("model", 0), ("e2e", 0)] + ([] if a.skip_dask else [("e2e", a.workers)])
    for stage, workers in plan:
        if a.only and stage != a.only:
            continue
        res = _child(stage, a, workers)
        results.append(res)
        if not a.json:
            _print(res)
            if stage == "e2e" and not workers:
                report("explore", res["package_futures_per_s"], "one process")
                report("store", res["store_mib"] * 2**20 / (res["futures"] * res["packages"]), "float32, zstd")
    load1 = os.getloadavg()
    if a.json:
        print(json.dumps({"results": results, "loadavg_before": load0, "loadavg_after": load1, "cpus": os.cpu_count()}, indent=2))
    else:
        print(f"load average before {load0[0]:.2f}, after {load1[0]:.2f} ({os.cpu_count()} CPUs)")


def _print(r: dict) -> None:
    rss = f"peak RSS {r['rss_self_mib']:.0f} MiB (largest child {r['rss_children_mib']:.0f} MiB)"
    if "samplers" in r:
        for s, v in r["samplers"].items():
            print(f"{r['stage']:<40} {s:<6} {r['futures']:>10,} futures x {v['inputs']} inputs in {v['wall_s']:7.2f} s"
                  f" = {v['futures_per_s']:>12,} futures/s")
        print(f"{'':<40} {rss}")
        return
    extra = f", explore {r['explore_s']:.1f} s, store {r['store_mib']:.0f} MiB" if "explore_s" in r else ""
    print(f"{r['stage']:<40} {r['futures']:>10,} futures x {r['packages']} packages in {r['wall_s']:7.2f} s"
          f" = {r['package_futures_per_s']:>10,} package-futures/s{extra}; {rss}")


if __name__ == "__main__":
    main()
