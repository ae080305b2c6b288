"""Benchmark: the samplers, transforms included, in futures per second.

    python benchmarks/bench_sampling.py [--futures 1048576] [--dims 50] [--block 65536]

For each sampler (``lhs``, the default; ``sobol``; ``mc``) it times
``Design.block_values`` (unit points and the inverse CDFs of the marginals,
``foedus.exploration.futures`` and ``futures_kernel``) over every block of
the run, on one core, after one warm-up block (the first call in a fresh
environment compiles the kernels; ``cache=True`` keeps them for later
processes, and that first time is reported apart). Inputs: the first
``--dims`` uncertain inputs of the shipped parameter set (uniform,
log-uniform and triangular marginals as shipped), or all of them with
``--dims 0``. It also checks that regenerating one block alone gives the
same bits (reproducible by seed and block).
"""

from __future__ import annotations

import argparse
import time

from targets import report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--futures", type=int, default=1 << 20)
    ap.add_argument("--dims", type=int, default=50, help="inputs (0: every uncertain input of the shipped set)")
    ap.add_argument("--block", type=int, default=65536)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many passes")
    a = ap.parse_args()
    import dataclasses

    import foedus  # noqa: F401  (first: one BLAS thread before NumPy loads)
    import numpy as np

    from foedus.data.parameter_set import ParameterSet
    from foedus.exploration.futures import SAMPLERS, Design

    full = Design.from_parameters(ParameterSet.default(), block=a.block)
    k = full.d if a.dims <= 0 else a.dims
    if k > full.d:
        raise SystemExit(f"--dims {k}: the shipped set has {full.d} uncertain inputs")
    cut = {f: getattr(full, f)[:k] for f in ("names", "low", "high", "distributions", "modes")}
    kinds = {x: cut["distributions"].count(x) for x in sorted(set(cut["distributions"]))}
    print(f"{a.futures:,} futures, {k} inputs ({kinds}), blocks of {a.block:,}, best of {a.repeat}")
    for sampler in SAMPLERS:
        d = dataclasses.replace(full, **cut, sampler=sampler, seed=1)
        t0 = time.perf_counter()
        d.block_values(0, a.futures)
        first = time.perf_counter() - t0
        best = float("inf")
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            for b in range(d.n_blocks(a.futures)):
                vals = d.block_values(b, a.futures)
            best = min(best, time.perf_counter() - t0)
        again = dataclasses.replace(d).block_values(d.n_blocks(a.futures) - 1, a.futures)
        same = np.array_equal(again, vals)
        print(f"  {sampler:5s} {a.futures / best / 1e6:6.2f} M futures/s  ({best:.3f} s; first block {first:.2f} s; block regenerated alone: {'same bits' if same else 'DIFFERENT'})")
        if sampler == full.sampler and k == 50:
            report("sampler", a.futures / best, f"{sampler}")


if __name__ == "__main__":
    main()
