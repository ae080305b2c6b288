"""CLI cold start: the wall time of ``foedus --help`` and of ``foedus
compare --help`` in fresh processes (imports, Typer, no model, no numba
compile), median of ``--repeat`` runs each.

Target (issue 18, :mod:`targets`): under 1 s, the first compile aside.

    python benchmarks/bench_cli.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from targets import report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args(argv)
    foedus = Path(sys.executable).parent / "foedus"
    times = {}
    for args in (["--help"], ["compare", "--help"]):
        runs = []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            r = subprocess.run([str(foedus), *args], capture_output=True, text=True)
            runs.append(time.perf_counter() - t0)
            if r.returncode != 0:
                raise SystemExit(f"foedus {' '.join(args)} exited {r.returncode}: {r.stderr[-500:]}")
        name = " ".join(args)
        times[name] = statistics.median(runs)
        print(f"foedus {name:<16} median {times[name]:.3f} s, min {min(runs):.3f}, max {max(runs):.3f} ({a.repeat} runs)")
    report("cold_start", times["--help"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
