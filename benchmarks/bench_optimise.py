"""Benchmark: the robust design search (``foedus optimise``) on the seed
design file, end to end in process (design loaded, futures sampled, search,
front chosen and validated as package files).

    python benchmarks/bench_optimise.py [--design designs/european-force-us-air.yaml]
        [--population 100] [--generations 50] [--futures 1000] [--seed 0] [--workers N]

Reports the wall time of the whole search and its parts: evaluation
(compiling the new candidates and running the model over the futures and
the central values, per will scenario named) against the optimiser's own
work (pymoo's selection, crossover, mutation, duplicate elimination and
non-dominated sorting), the candidates drawn and the distinct designs
evaluated, milliseconds per distinct design, and the front's size.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--design", default=str(ROOT / "designs" / "european-force-us-air.yaml"))
    ap.add_argument("--population", type=int, default=100)
    ap.add_argument("--generations", type=int, default=50)
    ap.add_argument("--futures", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None, help="evaluate on a local Dask cluster of N processes")
    a = ap.parse_args()

    import foedus  # noqa: F401  (sets one BLAS thread)
    from foedus.data.loaders import load_countries
    from foedus.data.parameter_set import ParameterSet
    from foedus.study.design_search import DesignSearch

    t0 = time.perf_counter()
    s = DesignSearch(Path(a.design), ParameterSet.default(), load_countries(), futures=a.futures, seed=a.seed,
                     population=a.population, generations=a.generations, workers=a.workers)
    s.evaluator  # noqa: B018  (design, goals and futures)
    t_setup = time.perf_counter() - t0
    r = s.result
    t_search = time.perf_counter() - t0 - t_setup
    members = s.members
    t_total = time.perf_counter() - t0
    ev = s.evaluator
    drawn = a.population * r.generations
    print(f"design {Path(a.design).name}: {len(s.variables.variables)} decisions; population {a.population} x "
          f"{r.generations} generations over {a.futures} futures (seed {a.seed})")
    print(f"  workers: {a.workers or 'none (in process)'}")
    print(f"  set-up (design, base, goals, futures)  {t_setup:6.2f} s")
    print(f"  search                                 {t_search:6.2f} s")
    print(f"    of which evaluating designs          {ev.seconds:6.2f} s "  # wall time, the cluster's start included
          f"({ev.n_evaluated} distinct of {drawn} drawn: {1e3 * ev.seconds / max(ev.n_evaluated, 1):.1f} ms each)")
    print(f"    of which the optimiser (pymoo)       {t_search - ev.seconds:6.2f} s")
    print(f"  front: {len(r.front)} designs ({r.feasible} of {r.candidates} feasible), {len(members)} written")
    print(f"  total                                  {t_total:6.2f} s")
    print(f"  peak resident memory                   {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:6.0f} MiB")


if __name__ == "__main__":
    main()
