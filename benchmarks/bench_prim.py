"""Time foedus's PRIM (and, with --ema, EMA Workbench's) on synthetic data.

    /work/venv/bin/python benchmarks/bench_prim.py [--sizes 1e5 1e6] [--ema] [--repeat 3]

12 uniform inputs; the case of interest is (x0 < 0.3) & (x1 > 0.6) with 5 %
of labels flipped. Each measurement runs in a fresh process, so the peak
resident memory reported (getrusage ru_maxrss) is that run's own; it
includes the 8*n*12-byte input array and the interpreter ("base" is the
process before the PRIM call). foedus is timed without and with pasting
(EMA always pastes), best of --repeat runs (wall and CPU seconds; CPU
counts both sorting threads); EMA once. With --ema the two boxes are
compared as well. Other work on the machine inflates the wall times: the
load average is printed first.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

D = 12


def _data(n: int):
    import numpy as np

    rng = np.random.default_rng(2024)
    X = rng.random((n, D))
    y = (X[:, 0] < 0.3) & (X[:, 1] > 0.6)
    y ^= rng.random(n) < 0.05
    return X, y, [f"x{i}" for i in range(D)]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _worker(kind: str, n: int, repeat: int) -> dict:
    X, y, names = _data(n)
    if kind == "ema":
        import logging
        import warnings

        import pandas as pd

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import prim
        logging.getLogger("EMA").setLevel(logging.CRITICAL)
        df = pd.DataFrame(X, columns=names)
        base = _rss_mb()
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            box = prim.Prim(df, y, threshold=0.8).find_box()
        secs = time.perf_counter() - t
        lims = box.box_lim
        init = box.box_lims[0]
        limits = {nm: [float(lims.loc[0, nm]), float(lims.loc[1, nm])] for nm in names}
        restricted = [nm for nm in names if (lims[nm] != init[nm]).any()]
        return {
            "seconds": secs,
            "base_mb": base,
            "peak_mb": _rss_mb(),
            "coverage": float(box.coverage),
            "density": float(box.density),
            "restricted": restricted,
            "limits": limits,
        }
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
    from foedus.exploration.prim import find_box

    base = _rss_mb()
    best, cpu = float("inf"), float("inf")
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        res = find_box(X, y, names, paste=(kind == "foedus-paste"))
        best, cpu = min(best, time.perf_counter() - t), min(cpu, time.process_time() - c)
    box = res.trajectory[-1]  # EMA's box is the last of its trajectory
    return {
        "seconds": best,
        "cpu_seconds": cpu,
        "base_mb": base,
        "peak_mb": _rss_mb(),
        "coverage": box.coverage,
        "density": box.density,
        "restricted": list(box.restricted),
        "limits": {k: list(v) for k, v in box.limits.items()},
    }


def _run(kind: str, n: int, repeat: int) -> dict:
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--_worker", kind, str(n), "--repeat", str(repeat)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e6], help="numbers of points")
    ap.add_argument("--ema", action="store_true", help="also time EMA Workbench (1e6 points: ~20 s, ~6 GB)")
    ap.add_argument("--repeat", type=int, default=3, help="foedus runs per size (best is shown)")
    ap.add_argument("--_worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._worker:
        print(json.dumps(_worker(args._worker[0], int(args._worker[1]), args.repeat)))
        return

    head = f"{'points':>9} {'dims':>4} {'foedus s':>9} {'(cpu s)':>8} {'+paste s':>9} {'peak MB':>8} {'(base)':>7}"
    if args.ema:
        head += f" {'EMA s':>8} {'peak MB':>8} {'(base)':>7} {'same box':>8}"
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    print(head)
    for size in args.sizes:
        n = int(size)
        peel = _run("foedus", n, args.repeat)
        paste = _run("foedus-paste", n, args.repeat)
        peak = max(peel["peak_mb"], paste["peak_mb"])
        row = (
            f"{n:>9} {D:>4} {peel['seconds']:>9.3f} {peel['cpu_seconds']:>8.3f} {paste['seconds']:>9.3f}"
            f" {peak:>8.0f} {peel['base_mb']:>7.0f}"
        )
        if args.ema:
            ema = _run("ema", n, 1)
            same = (
                ema["restricted"] == paste["restricted"]
                and abs(ema["coverage"] - paste["coverage"]) < 1e-9
                and abs(ema["density"] - paste["density"]) < 1e-9
                and all(
                    abs(a - b) < 1e-9 for k in ema["limits"] for a, b in zip(ema["limits"][k], paste["limits"][k])
                )
            )
            row += f" {ema['seconds']:>8.2f} {ema['peak_mb']:>8.0f} {ema['base_mb']:>7.0f} {'yes' if same else 'NO':>8}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
