"""Benchmark: a large exploration on a Dask cluster started as a user
starts one, with the peak memory of every process.

    python benchmarks/bench_scale.py [--futures 1e8] [--workers 2] [--package scenarios/treaty.yaml ...]
        [--store-metrics attack_probability,...] [--dir /tmp/foedus-scale] [--keep] [--write-on-workers]

Starts ``dask scheduler`` and ``dask worker --nworkers N --nthreads 1`` as
separate processes on loopback (the multi-machine path of
docs/exploration.md section 6, on one machine), then runs ``foedus explore
PACKAGES --futures F --scheduler tcp://127.0.0.1:PORT --yes`` into a fresh
store: the client writes what the workers send back, or, with
``--write-on-workers``, each worker writes the blocks it computes into the
store's directory (as on a cluster whose machines share a file system). Every half second it reads the resident memory (RSS) of each
process: the ``foedus`` client (which commits the run), the scheduler, the
worker nanny and each worker, while exploring and after the commit (the
percentiles, computed by DuckDB over the stored results). Reports the wall time, package-futures per
second, the peak RSS per process, the bytes stored (and per
package-future) and, with ``--hash``, the run's results hash and the time
``foedus runs show`` takes. Memory should stay flat
whatever ``--futures``: only the blocks in flight are held.

The run and its store are deleted afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, timeout: float = 60.0) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"dask scheduler did not listen on port {port} within {timeout:.0f} s")


class Peaks:
    """Peak RSS of each process of the given roots' trees, polled."""

    def __init__(self, roots: dict[str, int], phase):
        import psutil

        self.psutil = psutil
        self.roots = roots
        self.phase = phase
        self.peak: dict[tuple[str, str], int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _label(self, role: str, proc, depth: int) -> str:
        if role == "workers":
            return "worker nanny" if depth == 0 else f"worker {proc.pid}"
        return role if depth == 0 else f"{role} child {proc.pid}"

    def _poll(self) -> None:
        while not self.stop.is_set():
            phase = self.phase()
            for role, pid in list(self.roots.items()):
                try:
                    root = self.psutil.Process(pid)
                    procs = [(root, 0)] + [(c, 1) for c in root.children(recursive=True)]
                except self.psutil.Error:
                    continue
                for p, depth in procs:
                    try:
                        rss = p.memory_info().rss
                    except self.psutil.Error:
                        continue
                    key = (self._label(role, p, depth), phase)
                    self.peak[key] = max(self.peak.get(key, 0), rss)
            self.stop.wait(0.5)

    def __enter__(self) -> "Peaks":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--futures", type=float, default=1e8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--package", action="append", default=None, help="package file (repeatable); default scenarios/treaty.yaml")
    ap.add_argument("--store-metrics", default=None, help="passed to foedus explore")
    ap.add_argument("--dir", default=None, help="where the store goes (default: a temporary directory)")
    ap.add_argument("--keep", action="store_true", help="keep the store")
    ap.add_argument("--hash", action="store_true", help="also time foedus runs show (its results hash reads the whole run)")
    ap.add_argument("--write-on-workers", action="store_true", help="the workers write the store's files (foedus explore --write-on-workers)")
    a = ap.parse_args()
    n = int(a.futures)
    packages = a.package or [str(ROOT / "scenarios" / "treaty.yaml")]
    work = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="foedus-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "runs.duckdb"
    port = _free_port()
    procs: dict[str, subprocess.Popen] = {}
    try:
        procs["scheduler"] = subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(port)
        procs["workers"] = subprocess.Popen([str(BIN / "dask"), "worker", f"tcp://127.0.0.1:{port}", "--nworkers", str(a.workers), "--nthreads", "1",
                                             "--no-dashboard", "--memory-limit", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3.0)  # workers register
        cmd = [str(BIN / "foedus"), "explore", *packages, "--futures", str(n), "--seed", "7", "--scheduler", f"tcp://127.0.0.1:{port}",
               "--db", str(db), "--yes", "--json"]
        if a.store_metrics:
            cmd += ["--store-metrics", a.store_metrics]
        if a.write_on_workers:
            cmd += ["--write-on-workers"]
        t0 = time.perf_counter()
        client = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        runs = Path(str(db) + ".runs")

        def phase() -> str:
            """Exploring until the run's directory is renamed from staging
            (commit); then the percentiles and the summary."""
            done = runs.is_dir() and any(p.name.startswith("r") for p in runs.iterdir())
            return "after commit" if done else "exploring"

        roots = {"client (foedus explore)": client.pid, "scheduler": procs["scheduler"].pid, "workers": procs["workers"].pid}
        with Peaks(roots, phase) as peaks:
            out, err = client.communicate()
        wall = time.perf_counter() - t0
        if client.returncode != 0:
            raise SystemExit(f"foedus explore failed ({client.returncode}):\n{err[-3000:]}")
        rec = json.loads(out)
        P = len(rec["robustness"])
        print(f"{n:,} futures x {P} package(s), {a.workers} workers (dask scheduler + dask worker on loopback), "
              f"{'the workers write' if a.write_on_workers else 'the client writes'}")
        print(f"  wall {wall:,.1f} s (explore's own timer {rec['seconds']:,.1f} s): {n * P / wall / 1e6:.2f} M package-futures/s, {n / wall / 1e6:.2f} M futures/s")
        print(f"  stored {rec['stored_bytes'] / 2**30:.2f} GiB = {rec['stored_bytes'] / (n * P):.1f} B per package-future (metrics: {', '.join(rec['stored_metrics'])})")
        for (label, ph), rss in sorted(peaks.peak.items()):
            print(f"  peak RSS {label:28s} {ph:13s} {rss / 2**20:8.0f} MiB")
        print(f"  percentiles {'exact' if rec['percentiles_exact'] else 't-digest estimates'}", flush=True)
        if a.hash:
            t0 = time.perf_counter()
            show = subprocess.run([str(BIN / "foedus"), "runs", "show", rec["run_id"], "--db", str(db)], capture_output=True, text=True)
            print(f"  {show.stdout.strip().splitlines()[-1] if show.returncode == 0 else 'runs show failed: ' + show.stderr[-300:]} "
                  f"({time.perf_counter() - t0:,.0f} s)")
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
