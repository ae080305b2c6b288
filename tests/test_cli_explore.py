"""The deep-uncertainty commands end to end, as users run them (a real
``foedus`` subprocess, each with its own ``--db``): explore, discover,
sensitivity, runs list/show/export/delete, bad input, and a SIGKILL in the
middle of an exploration."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT, SCENARIOS, duckdb_tables, foedus_command, run_foedus
from foedus.data.parameter_set import ParameterSet
from foedus.storage.store import RunStore

PACKAGES = sorted(SCENARIOS.glob("*.yaml"))
IDS = sorted(p.stem for p in PACKAGES)  # file stems are the package ids
STORED_RE = re.compile(r"Stored as run (r[0-9a-f]{10}) in ")


def _ok(r: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    assert "Traceback" not in r.stderr
    return r


def _explore(db: Path, futures: int, seed: int, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return run_foedus("explore", *PACKAGES, "--futures", futures, "--seed", seed, "--db", db, *extra, timeout=timeout)


@pytest.fixture(scope="module")
def explored(tmp_path_factory) -> tuple[Path, str, subprocess.CompletedProcess]:
    """One 100,000-future exploration of the seed packages (the
    expensive step, shared by the tests of this module)."""
    db = tmp_path_factory.mktemp("explore") / "runs.duckdb"
    r = _ok(_explore(db, 100_000, 7))
    m = STORED_RE.search(r.stdout)
    assert m, r.stdout
    return db, m.group(1), r


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, str]:
    """A store with one small run, seed 0 (0 is a seed like any other)."""
    db = tmp_path_factory.mktemp("small") / "small.duckdb"
    js = json.loads(_ok(_explore(db, 2000, 0, "--sampler", "sobol", "--json")).stdout)
    assert (js["seed"], js["sampler"], js["n_futures"]) == (0, "sobol", 2000)
    return db, js["run_id"]


# ------------------------------------------------------------------ explore


def test_explore_prints_robustness_and_stores_the_run(explored) -> None:
    db, run_id, r = explored
    out = r.stdout
    assert f"Robustness over 100,000 futures (run {run_id}, seed 7, lhs)" in out
    for col in ("meets all", "attack≤10%", "cost≤1%", "approval≥25%", "attack p5/p50/p95", "mean regret"):
        assert col in out, col
    for pid in IDS:
        assert re.search(rf"│ {re.escape(pid)}\s+│", out), pid
    assert f"foedus discover {run_id} --package ID" in " ".join(out.split())

    with RunStore(db, read_only=True) as store:
        assert run_id in [m["run_id"] for m in store.list_runs()]
        meta = store.get_run(run_id)
        assert (meta["n_futures"], meta["seed"], meta["sampler"], meta["n_packages"]) == (100_000, 7, "lhs", len(PACKAGES))
        assert sorted(p["id"] for p in meta["packages"]) == IDS
        assert all(len(p["sha256"]) == 64 for p in meta["packages"])
        assert meta["thresholds"] == ["attack_probability<=0.1", "max_cost_pct_gdp<=0.01", "approval_probability>=0.25"]
        assert meta["input_names"] == list(ParameterSet.default().uncertain())
        fut = store.futures(run_id)
        assert len(fut) == 100_000 and fut["future_id"].tolist() == list(range(100_000))
        res = store.results(run_id, "treaty")
        assert len(res) == 100_000
        rob = {rec["id"]: rec for rec in meta["summary"]["robustness"]}
    # the table shows the stored satisficing shares (one decimal, in percent)
    checked = 0
    for pid, rec in rob.items():
        share = rec["satisficing"]
        if 0.01 < share < 0.99:
            m = re.search(rf"│ {re.escape(pid)}\s+│\s+([0-9.]+)%", out)
            assert m and float(m.group(1)) == pytest.approx(100 * share, abs=0.051), pid
            checked += 1
    assert checked >= 2
    # the stored shares are what the stored results say
    treaty = rob["treaty"]
    ok = (res["attack_probability"] <= 0.1) & (res["max_cost_pct_gdp"] <= 0.01) & (res["approval_probability"] >= 0.25)
    assert treaty["satisficing"] == pytest.approx(ok.mean(), abs=1e-12)


def test_same_command_twice_stores_identical_results(explored) -> None:
    db, first, _ = explored
    r = _ok(_explore(db, 100_000, 7, "--json"))
    second = json.loads(r.stdout)["run_id"]
    assert second != first
    with RunStore(db, read_only=True) as store:
        assert [m["run_id"] for m in store.list_runs()][-1] == second
        h1, h2 = store.results_hash(first), store.results_hash(second)
        s1, s2 = store.get_run(first)["summary"], store.get_run(second)["summary"]
    assert h1 == h2
    assert s1["robustness"] == s2["robustness"]


def test_ranges_and_fixes_from_params_file_and_flags(tmp_path) -> None:
    """`--params` files carry `set`, `range` and `fix` keys; `--range` and
    `--fix` add to them. The stored futures show every edit."""
    params = tmp_path / "params.yaml"
    params.write_text("set:\n  will.DEU: 0.6\nrange:\n  will.USA: [0.2, 0.3]\nfix: [deterrence.resolve]\n")
    db = tmp_path / "edits.duckdb"
    r = _ok(run_foedus("explore", SCENARIOS / "treaty.yaml", "--futures", "600", "--params", params,
                       "--range", "deterrence.decisive_window_days=2:365", "--fix", "forces.rotation_ratio",
                       "--db", db, "--json"))
    rid = json.loads(r.stdout)["run_id"]
    with RunStore(db, read_only=True) as store:
        meta, fut = store.get_run(rid), store.futures(rid)
    assert meta["overrides"] == {"will.DEU": 0.6}
    assert meta["extra"]["ranges"] == {"will.USA": [0.2, 0.3], "deterrence.decisive_window_days": [2.0, 365.0]}
    assert meta["extra"]["fixed"] == ["deterrence.resolve", "forces.rotation_ratio"]
    for gone in ("will.DEU", "deterrence.resolve", "forces.rotation_ratio"):
        assert gone not in fut.columns and gone not in meta["input_names"]
    assert 0.2 <= fut["will.USA"].min() < 0.21 and 0.29 < fut["will.USA"].max() <= 0.3
    w = fut["deterrence.decisive_window_days"]
    assert w.min() < 7 and w.max() > 120  # wider than the shipped 7..120 days

    params.write_text("range:\n  will.USA: [0.2]\n")
    _bad(run_foedus("explore", SCENARIOS / "treaty.yaml", "--futures", "10", "--params", params, "--db", db),
         f"{params}:2: range.will.USA: [LOW, HIGH], two numbers")


# ----------------------------------------------------------------- discover


def test_discover_names_a_box(explored) -> None:
    db, run_id, _ = explored
    with RunStore(db, read_only=True) as store:
        inputs = set(store.get_run(run_id)["input_names"])
    named = None
    for pid in ("treaty", "regional", "tailored"):
        r = _ok(run_foedus("discover", run_id, "--package", pid, "--db", db, timeout=180))
        assert f"{pid} misses a threshold" in r.stdout
        if "fails when" in r.stdout:
            named = pid
            break
    assert named, "no package with a failure box"
    text = re.sub(r"\s+", " ", r.stdout.split("fails when", 1)[1].split("coverage", 1)[0])
    assert any(name in text for name in inputs), text

    js = json.loads(_ok(run_foedus("discover", run_id, "--package", named, "--db", db, "--json", timeout=180)).stdout)
    assert js["n_futures"] == 100_000 and 0 < js["failures"] < 100_000
    box = js["box"]
    assert box["density"] >= js["failure_share"]
    assert box["restricted"] and set(box["restricted"]) <= inputs
    assert all(name in box["description"] for name in box["restricted"])
    assert js["trajectory"][0]["coverage"] == 1.0 and js["trajectory"][0]["mass"] == 1.0


# --------------------------------------------------------------------- runs


def test_runs_list_and_show(explored) -> None:
    db, run_id, _ = explored
    table = _ok(run_foedus("runs", "list", "--db", db)).stdout
    assert run_id in table and "100,000" in table

    shown = _ok(run_foedus("runs", "show", run_id, "--db", db)).stdout
    assert f"Robustness over 100,000 futures (run {run_id}" in shown
    sha = re.search(r"results sha256 ([0-9a-f]{64})", shown).group(1)
    with RunStore(db, read_only=True) as store:
        assert sha == store.results_hash(run_id)


def test_runs_export_parquet_csv_and_delete(small, tmp_path) -> None:
    db, r0 = small
    with RunStore(db, read_only=True) as store:
        stored, meta, sha = store.futures(r0), store.get_run(r0), store.results_hash(r0)

    out = tmp_path / "parquet"
    r = _ok(run_foedus("runs", "export", r0, "--parquet", "--out", out, "--db", db))
    assert {Path(line.strip()).name for line in r.stdout.splitlines() if line.strip()} == {"futures.parquet", "results.parquet", "metadata.json"}
    fut = pd.read_parquet(out / "futures.parquet")
    assert list(fut.columns) == ["future_id", *meta["input_names"]]
    assert fut.equals(stored)
    res = pd.read_parquet(out / "results.parquet")
    assert len(res) == 2_000 * len(PACKAGES) and list(res.columns) == ["package_id", "future_id", *meta["metric_names"]]
    assert set(res["package_id"]) == set(IDS)
    assert json.loads((out / "metadata.json").read_text())["results_hash"] == sha

    out = tmp_path / "csv"
    _ok(run_foedus("runs", "export", r0, "--csv", "--out", out, "--db", db))
    fut = pd.read_csv(out / "futures.csv")
    assert len(pd.read_csv(out / "results.csv")) == 2_000 * len(PACKAGES)
    assert list(fut.columns) == list(stored.columns)
    assert (fut.to_numpy() == pytest.approx(stored.to_numpy(), rel=1e-12))

    listed = json.loads(_ok(run_foedus("runs", "list", "--db", db, "--json")).stdout)["runs"]
    assert [(r["run_id"], r["seed"]) for r in listed] == [(r0, 0)]
    assert f"deleted {r0}" in _ok(run_foedus("runs", "delete", r0, "--db", db)).stdout
    with RunStore(db, read_only=True) as store:
        assert store.list_runs() == []
    _bad(run_foedus("runs", "show", r0, "--db", db), f"no run {r0}")


# -------------------------------------------------------------- sensitivity


def test_sensitivity_json_covers_every_uncertain_input() -> None:
    r = _ok(run_foedus("sensitivity", SCENARIOS / "treaty.yaml", "--metric", "attack_probability", "--n", "64", "--json", timeout=180))
    js = json.loads(r.stdout)
    assert js["package"] == "treaty" and js["n"] == 64
    recs = js["indices"]
    names = list(ParameterSet.default().uncertain())
    assert sorted(rec["input"] for rec in recs) == sorted(names)
    assert {rec["output"] for rec in recs} == {"attack_probability"}
    for rec in recs:
        for k in ("S1", "S1_conf", "ST", "ST_conf"):
            assert isinstance(rec[k], float) and rec[k] == rec[k], (rec["input"], k)
    # something matters (the analysis is not all zeros)
    assert max(rec["ST"] for rec in recs) > 0.05
    # each input carries its parameter's basis, as `params --json` gives it
    ps = ParameterSet.default()
    assert {rec["input"]: rec["basis"] for rec in recs} == {name: ps.describe(name).basis.value for name in names}


# ---------------------------------------------------------------- bad input


def _bad(r: subprocess.CompletedProcess, *fragments: str) -> None:
    assert r.returncode == 2, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert "Traceback" not in r.stderr + r.stdout
    for f in fragments:
        assert f in r.stderr, (f, r.stderr)


def test_unknown_threshold_metric_exits_2(tmp_path) -> None:
    db = tmp_path / "bad.duckdb"
    _bad(_explore(db, 100, 0, "--threshold", "attack_prob<=0.1"), "--threshold", "did you mean attack_probability")
    assert not db.exists()  # refused before anything was stored


def test_bad_sampler_exits_2(tmp_path) -> None:
    db = tmp_path / "bad.duckdb"
    _bad(_explore(db, 100, 0, "--sampler", "halton"), "--sampler", "one of lhs, sobol, mc", "halton")
    assert not db.exists()


def test_unknown_run_id_exits_2(explored) -> None:
    db, _, _ = explored
    _bad(run_foedus("discover", "rdeadbeef00", "--package", "treaty", "--db", db), "no run rdeadbeef00")


def test_sensitivity_n_not_power_of_two_exits_2() -> None:
    _bad(run_foedus("sensitivity", SCENARIOS / "treaty.yaml", "--n", "100"), "--n", "a power of two", "64 or 128")


# ---------------------------------------------------------------- SIGKILL


def _size(db: Path) -> int:
    """Bytes of the store: database file, WAL and the run files in <db>.runs/."""
    runs = Path(str(db) + ".runs")
    files = [db, Path(str(db) + ".wal"), *(runs.rglob("*.parquet") if runs.is_dir() else [])]
    return sum(p.stat().st_size for p in files if p.exists())


def _staging(db: Path) -> set[str]:
    runs = Path(str(db) + ".runs")
    return {p.name for p in runs.glob(".staging-*")} if runs.is_dir() else set()


def test_sigkill_mid_explore_keeps_earlier_run_and_no_partial_one(tmp_path) -> None:
    db = tmp_path / "kill.duckdb"
    first = json.loads(_ok(_explore(db, 2000, 1, "--json")).stdout)["run_id"]
    with RunStore(db, read_only=True) as store:
        first_hash = store.results_hash(first)
    size0 = _size(db)

    proc = subprocess.Popen(
        [*foedus_command(), "explore", *map(str, PACKAGES), "--futures", "3000000", "--seed", "1", "--db", str(db)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        # in progress = chunks of the new run reach the disk (Parquet files in <db>.runs/)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None and _size(db) < size0 + (8 << 20):
            time.sleep(0.2)
        assert proc.poll() is None, f"explore ended before the kill: {proc.returncode} {proc.stderr.read()}"
        assert _size(db) >= size0 + (8 << 20), "no data of the new run reached the file in 180 s"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    # the killed run's files reached the disk: the test really interrupted a run
    partial = _staging(db)
    assert partial

    # readers see exactly the earlier run, unchanged, and no partial run
    with RunStore(db, read_only=True) as store:
        assert [r["run_id"] for r in store.list_runs()] == [first]
        assert store.results_hash(first) == first_hash
    listed = json.loads(_ok(run_foedus("runs", "list", "--db", db, "--json")).stdout)["runs"]
    assert [r["run_id"] for r in listed] == [first]
    # the next writer collects the staging directory and the store stays usable
    with RunStore(db) as store:
        assert [r["run_id"] for r in store.list_runs()] == [first]
        assert store.results_hash(first) == first_hash
    assert not _staging(db)
    assert not any(t.endswith(tuple(p.removeprefix(".staging-") for p in partial)) for t in duckdb_tables(db))
