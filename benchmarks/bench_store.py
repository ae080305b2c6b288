"""On-demand benchmark: write throughput of the run store.

The store keeps each run as Parquet files in ``<db>.runs/<run_id>/``, with
DuckDB as catalogue and query engine (see ``foedus.storage.store``). Writes one run of N futures x P packages x K metrics (plus I uncertain
inputs) in chunks of C futures through ``RunWriter.write_chunk`` and
``commit``, then reads it back. Reports package-futures written per second
(wall and per CPU-second), time the caller spent blocked in write_chunk,
commit time, size on disk (database file + run files), peak RSS, and
read/export timings, and the time and peak RSS of ``results_hash`` in a
process of its own.

    python benchmarks/bench_store.py [--futures 200000] [--packages 12] [--metrics 13]
        [--inputs 70] [--chunk 65536] [--compression zstd] [--precision float32] [--write-threads N]
        [--db PATH] [--produce-ms 0] [--no-read]

``--compression`` is the Parquet codec (none, snappy, lz4, zstd = level 1);
``--compression all`` runs the write part once per codec. ``--precision``
is the stored float type (float32, float64, or all: once per precision).

``--produce-ms`` sleeps that long per chunk in the caller to mimic a
pipeline computing the next chunk while the store writes this one (the
writer thread overlaps with it). Values are random (incompressible), the
worst case for file size and for compression time. The defaults match
``foedus explore`` on the seed scenarios (12 packages, 13 stored metrics,
70 uncertain inputs, blocks of 65,536 futures).

Reference figures (2-core VM shared with other work, so +-30% from run to
run; 200,000 futures x 12 packages x 13 metrics, 70 inputs, chunks of
65,536, one writer thread; random values), package-futures written per
second (wall, per CPU-second) and bytes per package-future:

    schema 1 (DuckDB tables, 1e6 x 8, 54 inputs): 0.44 M wall, 0.38 M per CPU-s
    before issue 18, float64 lz4:                0.72 M, 0.92 M, 152.4 B
    float32 zstd + byte-stream split (default):  0.93-1.35 M, 1.12-1.73 M, 64.8 B
    float32 lz4 + byte-stream split:             1.65 M, 2.27 M, 68.1 B
    float64 zstd + byte-stream split:            0.84 M, 1.06 M, 130.8 B
    float64 lz4 + byte-stream split:             1.17 M, 1.62 M, 133.3 B

Random values are the worst case; on real results the default takes 48.7
bytes per package-future (docs/exploration.md, section 5).

``results_hash`` at 2,000,000 futures (float32 zstd, random values; time,
peak RSS of the hashing process):

    whole-run ORDER BY (before it streamed): 12 packages 19.4-19.6 s, 2.1 GB; 1 package 6.7-7.2 s, 1.0 GB
    streamed chunk by chunk:                 12 packages 18.1-18.5 s, 295 MB; 1 package 4.9-5.0 s, 260-280 MB

``export`` (Parquet, float64, in a process of its own) at the same size: see
docs/exploration.md, section 6.
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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from foedus.storage.store import COMPRESSIONS, DEFAULT_COMPRESSION, DEFAULT_PRECISION, PRECISIONS, RunStore  # noqa: E402


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _disk_size(db: Path) -> tuple[int, int]:
    """Bytes on disk of the database file, its WAL and its run files; number of run files."""
    size, files = 0, 0
    for p in db.parent.glob(db.name + "*"):
        if p.is_dir():
            for f in p.rglob("*"):
                if f.is_file():
                    size += f.stat().st_size
                    files += 1
        else:
            size += p.stat().st_size
    return size, files


# Peak RSS from VmHWM: ru_maxrss of a forked child starts at its parent's.
# The figures go to stderr: DuckDB draws its progress bar on stdout.
_HASH_CHILD = """
import json, re, sys, time
from pathlib import Path
from foedus.storage.store import RunStore
store = RunStore(sys.argv[1], read_only=True)
t = time.perf_counter()
h = store.results_hash(sys.argv[2]) if len(sys.argv) < 4 else str(store.export(sys.argv[2], sys.argv[3], "parquet", include_hash=False))
t = time.perf_counter() - t
hwm = int(re.search(r"VmHWM:\\s*(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
print(json.dumps([h, t, hwm / 1024]), file=sys.stderr)
"""


def _hash_in_child(db: Path, run_id: str, export_to: Path | None = None) -> tuple[str, float, float]:
    """The run's results hash (or, with ``export_to``, its Parquet export)
    computed in a fresh process: (hash, seconds, that process's peak RSS in
    MB), unmixed with this process's reads."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    extra = [str(export_to)] if export_to is not None else []
    out = subprocess.run([sys.executable, "-c", _HASH_CHILD, str(db), run_id, *extra], env=env, check=True,
                         capture_output=True, text=True).stderr
    h, seconds, rss = json.loads(out.splitlines()[-1])
    return h, seconds, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--futures", type=int, default=200_000)
    ap.add_argument("--packages", type=int, default=12)
    ap.add_argument("--metrics", type=int, default=13)
    ap.add_argument("--inputs", type=int, default=70)
    ap.add_argument("--chunk", type=int, default=65_536)
    ap.add_argument("--compression", default=DEFAULT_COMPRESSION, choices=[*COMPRESSIONS, "all"])
    ap.add_argument("--precision", default=DEFAULT_PRECISION, choices=[*PRECISIONS, "all"])
    ap.add_argument("--write-threads", type=int, default=None, help="store writer threads (default: store's)")
    ap.add_argument("--db", type=str, default=None, help="database file (default: a temporary one)")
    ap.add_argument("--produce-ms", type=float, default=0.0)
    ap.add_argument("--no-read", action="store_true")
    a = ap.parse_args()
    one = a.compression != "all" and a.precision != "all"
    for precision in PRECISIONS if a.precision == "all" else [a.precision]:
        for comp in COMPRESSIONS if a.compression == "all" else [a.compression]:
            run(a, comp, precision, read=not a.no_read and one)


def run(a: argparse.Namespace, compression: str, precision: str, read: bool) -> None:
    tmp = tempfile.TemporaryDirectory(prefix="foedus-bench-store-")
    db = Path(a.db) if a.db else Path(tmp.name) / "bench.duckdb"
    P, K, I, N, C = a.packages, a.metrics, a.inputs, a.futures, a.chunk
    rng = np.random.default_rng(0)
    pool_inputs = rng.random((C, I))
    pool_results = rng.random((P, C, K))
    inputs_names = [f"input.{i}" for i in range(I)]
    metric_names = [f"metric_{k}" for k in range(K)]
    packages = [f"pkg-{p}" for p in range(P)]

    store = RunStore(db, compression=compression, write_threads=a.write_threads)
    t0, c0 = time.perf_counter(), _cpu()
    blocked = 0.0
    with store.begin_run(
        {"seed": 0, "sampler": "bench", "n_futures": N, "chunk_size": C}, inputs_names, metric_names, packages,
        precision,
    ) as w:
        for start in range(0, N, C):
            m = min(C, N - start)
            fids = np.arange(start, start + m, dtype=np.int64)
            # perturb so that chunks differ (no accidental compression)
            inp = pool_inputs[:m] + start * 1e-9
            res = pool_results[:, :m] + start * 1e-9
            if a.produce_ms:
                time.sleep(a.produce_ms / 1000)
            tb = time.perf_counter()
            w.write_chunk(fids, inp, res)
            blocked += time.perf_counter() - tb
        tc = time.perf_counter()
        run_id = w.commit({"bench": True})
    t_commit = time.perf_counter() - tc
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    store.close()
    size, n_files = _disk_size(db)
    pf = N * P

    print(f"run {run_id}: {N:,} futures x {P} packages x {K} metrics, {I} inputs, chunks of {C:,}, "
          f"{precision}, compression {compression}, {store.write_threads} writer thread(s)")
    print(f"  package-futures written/s : {pf / wall / 1e6:8.2f} M  (wall {wall:.2f} s incl. commit)")
    print(f"  per CPU-second            : {pf / cpu / 1e6:8.2f} M  (cpu {cpu:.2f} s, {os.cpu_count()} cores)")
    print(f"  caller blocked in write   : {blocked:.2f} s; commit {t_commit:.2f} s")
    width = np.dtype(precision).itemsize
    raw = width * K + 8 + 2 + (width * I + 8) / P  # floats, future_id and package_idx, uncompressed
    print(f"  size on disk              : {size / 1e6:8.1f} MB in {n_files} run files + catalogue"
          f" ({size / pf:.1f} B per package-future, raw {raw:.1f} B)")
    print(f"  peak RSS                  : {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.0f} MB")

    if read:
        store = RunStore(db, read_only=True)
        t = time.perf_counter()
        df = store.results(run_id)
        t_res = time.perf_counter() - t
        t = time.perf_counter()
        store.futures(run_id)
        t_fut = time.perf_counter() - t
        t = time.perf_counter()
        store.quantiles(run_id, metric_names, [0.05, 0.25, 0.5, 0.75, 0.95])
        t_q = time.perf_counter() - t
        t = time.perf_counter()
        store.export(run_id, Path(tmp.name) / "export", "parquet", include_hash=False)
        t_exp = time.perf_counter() - t
        store.close()
        print(f"  read results ({len(df):,} rows) {t_res:.2f} s, futures {t_fut:.2f} s, "
              f"quantiles (5 per metric) {t_q:.2f} s, export parquet {t_exp:.2f} s")
        print(f"  peak RSS after reads      : {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.0f} MB")
        h, t_hash, rss = _hash_in_child(db, run_id)
        print(f"  results_hash              : {t_hash:8.2f} s, peak RSS {rss:.0f} MB (a process of its own; {h[:12]})")
        _, t_exp, rss = _hash_in_child(db, run_id, Path(tmp.name) / "export-child")
        print(f"  export parquet            : {t_exp:8.2f} s, peak RSS {rss:.0f} MB (a process of its own)")
    tmp.cleanup()


if __name__ == "__main__":
    main()
