"""Benchmark: the assessment (all eight sub-models) for the eight seed
packages over many futures, in blocks, without storage.

    python benchmarks/bench_assess.py [--futures 1000000] [--sampler mc|lhs|sobol] [--block 65536] [--by-year]

Reports package-futures per second for the model alone (futures sampled
beforehand, per block) and with sampling, and the peak resident memory,
which stays bounded by the block size whatever the number of futures.
With ``--by-year`` it times the time axis instead (every year from the
start year to the horizon, ``foedus.exploration.years``). With
``--breakdown`` it also times each sub-model on one chunk of futures (the
chunk ``explore`` hands to the models), best of 20, in CPU time, and the
compiled loops alone (:func:`compiled_share`): what the model would run at
with no NumPy or Python between its loops, the ceiling of the present
equations on this machine.
"""

from __future__ import annotations

import argparse
import glob
import resource
import time
from pathlib import Path

from targets import report

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--futures", type=float, default=1e6)
    ap.add_argument("--sampler", default="mc")
    ap.add_argument("--block", type=int, default=65536)
    ap.add_argument("--by-year", action="store_true", help="time the yearly path (compare --by-year) instead")
    ap.add_argument("--breakdown", action="store_true", help="also time each sub-model on one chunk of futures")
    a = ap.parse_args()
    import foedus  # noqa: F401  (first: sets one BLAS thread before NumPy loads)
    import numpy as np

    from foedus.data.loaders import load_countries, load_packages
    from foedus.data.parameter_set import ParameterSet
    from foedus.exploration.assess import evaluate
    from foedus.exploration.explore import INNER, chunks, make_spec
    from foedus.exploration.years import evaluate_years
    from foedus.models.inputs import Inputs

    n = int(a.futures)
    countries = load_countries()
    pkgs = load_packages(sorted(glob.glob(str(ROOT / "scenarios" / "*.yaml"))), countries)
    spec = make_spec(pkgs, ParameterSet.default(), countries, n, seed=1, sampler=a.sampler, block=a.block)
    P = len(pkgs)
    central = Inputs(spec.values, 1)
    t_sample = t_model = 0.0
    checksum = 0.0
    for b in range(spec.n_blocks):
        t0 = time.perf_counter()
        vals = spec.design.block_values(b, n)
        t1 = time.perf_counter()
        cols = spec.design.as_dict(vals)
        m = vals.shape[0]
        for lo, hi in chunks(m):
            x = Inputs({**spec.values, **{k: v[lo:hi] for k, v in cols.items()}}, hi - lo)
            if a.by_year:
                yp = evaluate_years(pkgs, countries, x, spec.horizon, central=central, rows=False)
                checksum += float(np.sum(yp.packages["attack_probability"][:, -1]))
            else:
                ev = evaluate(spec.levers, x, spec.horizon, weights=spec.weights)
                checksum += float(np.sum(ev.packages["attack_probability"]))
        t2 = time.perf_counter()
        t_sample += t1 - t0
        t_model += t2 - t1
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(("yearly path, " if a.by_year else "") + f"packages={P} futures={n:,} uncertain inputs={spec.design.d} sampler={a.sampler} block={a.block} inner={INNER}")
    print(f"model only        : {P * n / t_model:>12,.0f} package-futures/s ({t_model:.2f} s)")
    print(f"sampling only     : {n / t_sample:>12,.0f} futures/s ({t_sample:.2f} s)")
    print(f"model + sampling  : {P * n / (t_model + t_sample):>12,.0f} package-futures/s")
    print(f"peak RSS          : {rss:,.0f} MiB")
    print(f"checksum          : {checksum:.6f}")
    if not a.by_year:
        report("model", P * n / t_model)
    if a.breakdown:
        x = Inputs({**spec.values, **{k: v[:INNER] for k, v in spec.design.as_dict(spec.design.block_values(0, n)).items()}}, min(INNER, n))
        breakdown(spec, x)


def breakdown(spec, x) -> None:
    """CPU time of each sub-model on the chunk ``x``, best of 20."""
    import time

    from foedus.exploration.assess import evaluate
    from foedus.models.approval import approval
    from foedus.models.combat import combat
    from foedus.models.deterrence import deterrence
    from foedus.models.escalation import escalation
    from foedus.models.humanitarian import humanitarian
    from foedus.models.package_totals import forces_and_costs
    from foedus.models.sums import Probabilities

    lv, h = spec.levers, spec.horizon
    pr = Probabilities(lv, x, h)
    det = deterrence(lv, x, pr, h)
    steps = {
        "credibility tables (Probabilities)": lambda: Probabilities(lv, x, h),
        "forces and costs (package totals)": lambda: forces_and_costs(lv, x),
        "deterrence (with the guarantees)": lambda: deterrence(lv, x, pr, h),
        "combat": lambda: combat(det["defender_strength"], det["adversary_win_probability"], det["attack_probability"], x),
        "approval": lambda: approval(lv, x, h, spec.weights),
        "escalation": lambda: escalation(lv, x, det["attack_probability"], det["nuclear_guarantor_fights"], h),
        "humanitarian": lambda: humanitarian(lv, x, pr),
        "evaluate (all, and the glue)": lambda: evaluate(lv, x, h, weights=spec.weights),
    }
    print(f"one chunk of {x.n:,} futures x {lv.n_packages} packages, CPU ms, best of 20:")
    times = {}
    for name, f in steps.items():
        f()
        best = float("inf")
        for _ in range(20):
            t0 = time.process_time()
            f()
            best = min(best, time.process_time() - t0)
        times[name] = best
        print(f"  {name:<36} {best * 1e3:8.2f}")
    whole = times["evaluate (all, and the glue)"]
    loops = compiled_share(lambda: evaluate(lv, x, h, weights=spec.weights))
    print(f"  {'of which the compiled loops alone':<36} {loops * 1e3:8.2f} ({loops / whole:.0%}; the rest is NumPy and Python between them)")
    print(f"with nothing between the loops the model would run at {lv.n_packages * x.n / loops / 1e6:.2f} M package-futures/s "
          f"(evaluate: {lv.n_packages * x.n / whole / 1e6:.2f} M)")


def compiled_share(f, repeat: int = 50) -> float:
    """Seconds per call of ``f`` spent inside foedus's compiled loops, from
    ``cProfile`` over ``repeat`` calls. numba reports each
    call of a compiled loop from Python to the profiler as a call of its
    Python function, so a loop's own time is the time of that call (loops
    called from other compiled loops are inside their caller's time). The
    profiler slows the Python between the loops, not the loops."""
    import cProfile
    import pstats
    import sys

    from numba.core.registry import CPUDispatcher

    f()
    kernels = {(d.py_func.__code__.co_filename, d.py_func.__code__.co_firstlineno, d.py_func.__name__)
               for name, mod in list(sys.modules.items()) if name.startswith("foedus.")
               for d in vars(mod).values() if isinstance(d, CPUDispatcher)}
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(repeat):
        f()
    prof.disable()
    stats = pstats.Stats(prof).stats
    return sum(tt for key, (_, _, tt, _, _) in stats.items() if key in kernels) / repeat


if __name__ == "__main__":
    main()
