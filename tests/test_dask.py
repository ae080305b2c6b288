"""Exploration on a Dask cluster gives the same bits as in one process:
blocks are regenerated on the workers from (seed, sampler, block size,
block number), and the workers' single-threaded BLAS must not change a
result."""

from __future__ import annotations

import json

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
    # counts are exact; regret sums may add blocks in another order
    for r1, r2 in zip(single.robustness, dist.robustness):
        assert r1["id"] == r2["id"]
        assert r1["satisficing"] == r2["satisficing"] and r1["per_threshold"] == r2["per_threshold"]
        for metric, reg in r1["regret"].items():
            assert r2["regret"][metric]["max"] == reg["max"]
            assert r2["regret"][metric]["mean"] == pytest.approx(reg["mean"], rel=1e-12, abs=1e-15)
        assert r2["percentiles"] == r1["percentiles"]


def test_cli_workers_store_the_same_hash_as_one_process(tmp_path) -> None:
    runs = {}
    for name, extra in (("single", ()), ("workers", ("--workers", "2"))):
        db = tmp_path / f"{name}.duckdb"
        r = run_foedus("explore", *PACKAGES, "--futures", "20000", "--seed", "3", "--db", db, "--json", *extra, timeout=300)
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
        rid = json.loads(r.stdout)["run_id"]
        with RunStore(db, read_only=True) as store:
            runs[name] = (store.results_hash(rid), store.get_run(rid))
    assert runs["single"][0] == runs["workers"][0]
    assert runs["single"][1]["n_futures"] == runs["workers"][1]["n_futures"] == 20_000
    s1, s2 = runs["single"][1]["summary"]["robustness"], runs["workers"][1]["summary"]["robustness"]
    assert [r["satisficing"] for r in s1] == [r["satisficing"] for r in s2]
