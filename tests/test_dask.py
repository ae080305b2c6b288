"""Exploration on a Dask cluster gives the same bits as in one process:
blocks are regenerated on the workers from (seed, sampler, block size,
block number), and the workers' single-threaded BLAS must not change a
result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import SCENARIOS, run_foedus
from foedus.data.loaders import load_countries, load_packages
from foedus.data.parameter_set import ParameterSet
from foedus.exploration.explore import make_spec, run_exploration
from foedus.exploration.robustness import DEFAULT_THRESHOLDS, parse_threshold
from foedus.storage.store import RunStore

distributed = pytest.importorskip("distributed")

PACKAGES = sorted(SCENARIOS.glob("*.yaml"))


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        yield c
    finally:
        c.close()


def test_local_cluster_gives_the_single_process_results(cluster) -> None:
    countries = load_countries()
    packages = load_packages(PACKAGES, countries)
    ids = [p.id for p in packages]
    ths = [parse_threshold(t) for t in DEFAULT_THRESHOLDS]
    # ten blocks, the last one partial (and not a multiple of the BLAS tile)
    spec = make_spec(packages, ParameterSet.default(), countries, 10_001, seed=7, block=1024)
    assert spec.n_blocks == 10

    single = run_exploration(spec, ids, ths, keep=True)
    seen = []
    from distributed import Client, get_task_stream

    with Client(cluster.scheduler_address) as client, get_task_stream(client) as stream:
        dist = run_exploration(spec, ids, ths, keep=True, scheduler=cluster.scheduler_address, progress=seen.append)
    tasks = [t for t in stream.data if str(t["key"]).startswith("foedus-block-")]

    # really distributed: every block ran on a worker, and both workers worked
    assert len(tasks) == spec.n_blocks
    assert len({t["worker"] for t in tasks}) == 2
    assert sorted(seen) == sorted([1024] * 9 + [10_001 - 9 * 1024])

    assert dist.inputs.tobytes() == single.inputs.tobytes()
    assert set(dist.metrics) == set(single.metrics)
    for m, a in single.metrics.items():
        b = dist.metrics[m]
        assert b.tobytes() == a.tobytes(), f"{m}: {int((a != b).sum())} values differ"
    # blocks arrive in any order, but the regret sums add them in block order
    assert dist.robustness == single.robustness


def test_workers_write_their_blocks_into_the_run(cluster, tmp_path) -> None:
    """write_on_workers: each worker writes the blocks it computes into the
    run's directory and sends back only their robustness; the stored run
    and its robustness are those of one process, bit for bit."""
    countries = load_countries()
    packages = load_packages(PACKAGES[:5], countries)
    ids = [p.id for p in packages]
    ths = [parse_threshold(t) for t in DEFAULT_THRESHOLDS]
    spec = make_spec(packages, ParameterSet.default(), countries, 5_001, seed=4, block=512)  # ten blocks, the last partial
    runs = {}
    from distributed import Client, get_task_stream

    with RunStore(tmp_path / "runs.duckdb") as store:
        for name, kw in (("single", {}), ("workers", {"scheduler": cluster.scheduler_address, "write_on_workers": True})):
            with store.begin_run({"n_futures": spec.n}, list(spec.design.names), list(spec.metrics), ids) as w:
                with Client(cluster.scheduler_address) as client, get_task_stream(client) as stream:
                    res = run_exploration(spec, ids, ths, writer=w, **kw)
                runs[name] = (w.commit(), res.robustness, [t for t in stream.data if str(t["key"]).startswith("foedus-block-written-")])
        assert store.results_hash(runs["single"][0]) == store.results_hash(runs["workers"][0])
        assert runs["workers"][1] == runs["single"][1]
        tasks = runs["workers"][2]
        assert len(tasks) == spec.n_blocks and len({t["worker"] for t in tasks}) == 2 and not runs["single"][2]
        with store.begin_run({}, ["a"], ["b"], ids) as w, pytest.raises(ValueError, match="write_on_workers needs a Dask cluster"):
            run_exploration(spec, ids, ths, writer=w, write_on_workers=True)
        with pytest.raises(ValueError, match="cannot keep the results in memory"):
            run_exploration(spec, ids, ths, keep=True, scheduler=cluster.scheduler_address, write_on_workers=True)


def test_cli_workers_store_the_same_hash_as_one_process(tmp_path) -> None:
    """--workers writes on the workers by default; --write-on-client sends
    every result back to be written here: either way, one process's run."""
    runs = {}
    for name, extra in (("single", ()), ("workers", ("--workers", "2")), ("client", ("--workers", "2", "--write-on-client"))):
        db = tmp_path / f"{name}.duckdb"
        r = run_foedus("explore", *PACKAGES, "--futures", "20000", "--seed", "3", "--db", db, "--json", *extra, timeout=300)
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
        rid = json.loads(r.stdout)["run_id"]
        with RunStore(db, read_only=True) as store:
            runs[name] = (store.results_hash(rid), store.get_run(rid))
    assert runs["single"][0] == runs["workers"][0] == runs["client"][0]
    assert runs["single"][1]["n_futures"] == runs["workers"][1]["n_futures"] == runs["client"][1]["n_futures"] == 20_000
    assert runs["single"][1]["summary"]["robustness"] == runs["workers"][1]["summary"]["robustness"] == runs["client"][1]["summary"]["robustness"]


def test_write_on_workers_without_a_cluster_exits_2(tmp_path) -> None:
    db = tmp_path / "bad.duckdb"
    r = run_foedus("explore", PACKAGES[0], "--futures", "100", "--write-on-workers", "--db", db)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip() == "error: --write-on-workers: cluster: a Dask cluster to write on (--workers N or --scheduler ADDRESS)", r.stderr
    assert not db.exists()


def test_separately_started_scheduler_and_workers_give_the_one_process_hash(tmp_path) -> None:
    """The multi-machine path on loopback: ``dask scheduler`` and ``dask
    worker`` started as their own processes (as on a head node and worker
    nodes), then ``foedus explore --scheduler tcp://...``: the stored
    results are those of one process, bit for bit."""
    import shutil
    import socket
    import subprocess
    import sys
    import time

    dask_cli = shutil.which("dask") or str(Path(sys.executable).with_name("dask"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([dask_cli, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet)]
    try:
        procs.append(subprocess.Popen([dask_cli, "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard"], **quiet))
        from distributed import Client

        deadline = time.monotonic() + 90
        while True:  # until both workers have joined
            try:
                with Client(address, timeout="5s") as c:
                    if len(c.scheduler_info()["workers"]) == 2:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the workers did not join the scheduler"
            time.sleep(0.5)
        hashes, robustness = {}, {}
        for name, extra in (("single", ()), ("cluster", ("--scheduler", address)),
                            ("workers write", ("--scheduler", address, "--write-on-workers"))):  # the store seen by the workers, as on a shared file system
            db = tmp_path / f"{name.replace(' ', '-')}.duckdb"
            r = run_foedus("explore", *PACKAGES[:4], "--futures", "20000", "--seed", "5", "--db", db, "--json", *extra, timeout=300)
            assert r.returncode == 0, r.stderr
            with RunStore(db, read_only=True) as store:
                hashes[name] = store.results_hash(json.loads(r.stdout)["run_id"])
            robustness[name] = json.loads(r.stdout)["robustness"]
        assert hashes["single"] == hashes["cluster"] == hashes["workers write"]
        assert robustness["single"] == robustness["cluster"] == robustness["workers write"]
        with Client(address, timeout="5s") as c:  # and the blocks did run on that cluster, both ways
            prefixes = c.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
        assert any(p.startswith("foedus-block-written") for p in prefixes), prefixes
        assert any(p.startswith("foedus-block") and not p.startswith("foedus-block-written") for p in prefixes), prefixes
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
