"""The deep-uncertainty commands end to end, as users run them (a real
``foedus`` subprocess, each with its own ``--db``): explore, discover,
sensitivity, runs list/show/export/delete, bad input, the stored-size check
and --store-metrics, readers beside a running writer, and SIGKILL and
SIGTERM in the middle of an exploration."""

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
from foedus.models.timeline import time_axis_only

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
        assert meta["input_names"] == [n for n in ParameterSet.default().uncertain() if not time_axis_only(n)]
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

    # regression: --out naming a file (here the store itself) gave a traceback
    bad = run_foedus("runs", "export", r0, "--csv", "--out", db, "--db", db)
    _bad(bad, f"{db}: out: a directory to write the export into (File exists)")

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
    names = [n for n in ParameterSet.default().uncertain() if not time_axis_only(n)]  # the steady model's inputs
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


def test_bad_precision_exits_2_in_one_line(tmp_path) -> None:
    db = tmp_path / "bad.duckdb"
    r = run_foedus("explore", PACKAGES[0], "--futures", 100, "--precision", "float16", "--db", db)
    _bad(r, "--precision", "one of float32, float64", "float16")
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not db.exists()


def test_precision_float64_is_recorded_shown_and_stored(tmp_path) -> None:
    import pyarrow.parquet as pq

    db = tmp_path / "runs.duckdb"
    js = json.loads(_ok(run_foedus("explore", PACKAGES[0], "--futures", 300, "--precision", "float64", "--db", db, "--json")).stdout)
    assert js["precision"] == "float64"
    with RunStore(db, read_only=True) as store:
        assert store.get_run(js["run_id"])["precision"] == "float64"
        assert {str(t) for f in store.run_files(js["run_id"]) for t in pq.read_schema(f).types} == {"int16", "int64", "double"}
    assert "stored as float64" in _ok(run_foedus("runs", "show", js["run_id"], "--db", db)).stdout


#: The issue's target for the default store (issue 18): bytes per
#: (package, future) of a run's directory, futures and results together.
MAX_BYTES_PER_PACKAGE_FUTURE = 60


def test_default_store_takes_at_most_60_bytes_per_package_future(explored) -> None:
    """The 100,000-future run of the seed packages, default precision and
    codec: its whole run directory (futures stored once, results per
    package and future) over futures x packages."""
    db, run_id, _ = explored
    with RunStore(db, read_only=True) as store:
        meta = store.get_run(run_id)
        run_dir = store.run_files(run_id)[0].parent
    size = sum(f.stat().st_size for f in run_dir.iterdir())
    assert meta["precision"] == "float32"
    assert size / (meta["n_futures"] * meta["n_packages"]) <= MAX_BYTES_PER_PACKAGE_FUTURE
    assert "stored as float32" in _ok(run_foedus("runs", "show", run_id, "--db", db)).stdout


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

    proc = _start_big(db)
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



# ---------------------------------------------------------------- SIGTERM


def _start_big(db: Path, *extra: str) -> subprocess.Popen:
    """A 3,000,000-future explore (about 3.7 GB if it ran to the end: --yes)."""
    return subprocess.Popen(
        [*foedus_command(), "explore", *map(str, PACKAGES), "--futures", "3000000", "--seed", "1", "--yes",
         "--db", str(db), *extra],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def _wait_for_data(proc: subprocess.Popen, db: Path, timeout: float = 180) -> None:
    """Until the new run's first block is in its staging directory."""
    runs = Path(str(db) + ".runs")
    deadline = time.monotonic() + timeout
    while not list(runs.glob(".staging-*/results-*.parquet")):
        assert proc.poll() is None, f"explore ended early: {proc.returncode} {proc.stderr.read()}"
        assert time.monotonic() < deadline, f"no block of the new run reached {runs} in {timeout} s"
        time.sleep(0.1)


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 60) -> tuple[float, str]:
    """Send ``sig``; seconds until the process ended, and its stderr."""
    t0 = time.monotonic()
    try:
        os.kill(proc.pid, sig)
        proc.wait(timeout=timeout)
        return time.monotonic() - t0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def _assert_only(db: Path, runs: dict[str, str]) -> None:
    """The store holds exactly ``runs`` (id -> results hash): no partial run,
    no staging directory, nothing of another run in the catalogue."""
    assert not _staging(db)
    assert set(os.listdir(Path(str(db) + ".runs"))) == set(runs)
    listed = json.loads(_ok(run_foedus("runs", "list", "--db", db, "--json")).stdout)["runs"]
    assert {r["run_id"] for r in listed} == set(runs)
    with RunStore(db, read_only=True) as store:
        assert {rid: store.results_hash(rid) for rid in runs} == runs
    assert {t for t in duckdb_tables(db) if re.search(r"r[0-9a-f]{10}", t)} == set()


def test_sigterm_mid_explore_discards_the_run_like_ctrl_c(tmp_path) -> None:
    db = tmp_path / "term.duckdb"
    first = json.loads(_ok(_explore(db, 2000, 1, "--json")).stdout)["run_id"]
    with RunStore(db, read_only=True) as store:
        first_hash = store.results_hash(first)
    proc = _start_big(db)
    _wait_for_data(proc, db)
    assert _size(db) > _size_of_run(db, first)  # the new run really wrote data
    seconds, err = _stop(proc, signal.SIGTERM)

    assert proc.returncode == 143, err
    assert seconds < 20, f"took {seconds:.1f} s to stop"
    assert "terminated (SIGTERM): the unfinished run was discarded" in err and str(db) in err
    assert "Traceback" not in err
    _assert_only(db, {first: first_hash})


def test_sigterm_stops_the_dask_workers_too(tmp_path) -> None:
    psutil = pytest.importorskip("psutil")
    db = tmp_path / "dask.duckdb"
    first = json.loads(_ok(_explore(db, 2000, 1, "--json")).stdout)["run_id"]
    with RunStore(db, read_only=True) as store:
        first_hash = store.results_hash(first)
    proc = _start_big(db, "--workers", "1")
    _wait_for_data(proc, db, timeout=300)
    helpers = psutil.Process(proc.pid).children(recursive=True)
    assert helpers, "no worker processes: the run did not use Dask"
    seconds, err = _stop(proc, signal.SIGTERM)

    assert proc.returncode == 143, err
    assert seconds < 30, f"took {seconds:.1f} s to stop"
    assert "terminated (SIGTERM): the unfinished run was discarded" in err and "Traceback" not in err

    def alive(p) -> bool:
        try:
            return p.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + 15  # multiprocessing's resource tracker exits on its own, soon after
    while any(alive(p) for p in helpers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p.pid for p in helpers if alive(p)], "worker processes outlived the run"
    _assert_only(db, {first: first_hash})


def _size_of_run(db: Path, run_id: str) -> int:
    return sum(p.stat().st_size for p in (Path(str(db) + ".runs") / run_id).glob("*.parquet"))


# ------------------------------------------------- readers beside a writer


def test_readers_and_a_second_explore_work_while_explore_writes(tmp_path) -> None:
    db = tmp_path / "busy.duckdb"
    first = json.loads(_ok(_explore(db, 2000, 1, "--json")).stdout)["run_id"]
    with RunStore(db, read_only=True) as store:
        first_hash = store.results_hash(first)
    proc = _start_big(db)
    try:
        _wait_for_data(proc, db)
        listed = json.loads(_ok(run_foedus("runs", "list", "--db", db, "--json")).stdout)["runs"]
        assert [r["run_id"] for r in listed] == [first]
        shown = json.loads(_ok(run_foedus("runs", "show", first, "--db", db, "--json")).stdout)
        assert shown["results_sha256"] == first_hash
        found = json.loads(_ok(run_foedus("discover", first, "--package", "treaty", "--db", db, "--json")).stdout)
        assert found["n_futures"] == 2000
        second = json.loads(_ok(_explore(db, 2000, 2, "--json")).stdout)["run_id"]  # another writer
        assert proc.poll() is None, "the long run ended: the readers did not run beside it"
    finally:
        seconds, err = _stop(proc, signal.SIGTERM)
    assert proc.returncode == 143, err
    with RunStore(db, read_only=True) as store:
        second_hash = store.results_hash(second)
    _assert_only(db, {first: first_hash, second: second_hash})


# ------------------------------------------------------ stored size, subset


GB_RE = re.compile(r"would store about ([0-9.]+) GB")


def test_large_run_needs_yes_and_names_its_estimated_size(tmp_path) -> None:
    db = tmp_path / "big.duckdb"
    # 4 M futures: about 2.3 GB, and still 1.2 GB with the threshold metrics alone
    r = _explore(db, 4_000_000, 1)
    _bad(r, "this run would store about", f"4,000,000 futures x {len(PACKAGES)} packages x 13 metrics",
         "more than the 1.0 GB stored without confirmation", "add --yes to store it",
         "--store-metrics (the threshold metrics alone, attack_probability, approval_probability, max_cost_pct_gdp: about")
    assert len(r.stderr.strip().splitlines()) == 1
    full = float(GB_RE.search(r.stderr).group(1))
    assert 1.0 < full < 10
    # fewer metrics: a smaller estimate, still above the threshold here
    r = _explore(db, 4_000_000, 1, "--store-metrics", "attack_probability")
    _bad(r, f"x {len(PACKAGES)} packages x 3 metrics", "add --yes", "already stores only its threshold metrics")
    assert 1.0 < float(GB_RE.search(r.stderr).group(1)) < full
    assert not db.exists() and not Path(str(db) + ".runs").exists()  # refused before the store was opened


def test_on_a_terminal_explore_asks_before_a_large_run(tmp_path) -> None:
    import pty
    import select

    db = tmp_path / "ask.duckdb"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*foedus_command(), "explore", *map(str, PACKAGES), "--futures", "4000000", "--db", str(db)],
        cwd=ROOT, stdin=slave, stdout=slave, stderr=slave, close_fds=True,
    )
    os.close(slave)
    seen, answered = b"", False
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the terminal closed: the process ended
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and b"Store it?" in seen:
                os.write(master, b"n\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    text = " ".join(seen.decode(errors="replace").split())
    assert answered, text
    assert "This run would store about" in text and "Store it? [y/N]" in text
    assert proc.returncode == 2 and "add --yes to store it" in text, text
    assert not db.exists()


def test_store_metrics_keeps_a_subset_and_the_threshold_metrics(tmp_path) -> None:
    from foedus.exploration.explore import STORED_METRICS

    db = tmp_path / "subset.duckdb"
    js = json.loads(_ok(_explore(db, 3000, 4, "--store-metrics", "total_cost_usd_per_year,escalation_risk", "--json")).stdout)
    kept = [m for m in STORED_METRICS if m in {"total_cost_usd_per_year", "escalation_risk", "attack_probability",
                                                "max_cost_pct_gdp", "approval_probability"}]
    assert js["stored_metrics"] == kept
    rid = js["run_id"]
    full = json.loads(_ok(_explore(db, 3000, 4, "--json")).stdout)
    assert full["stored_metrics"] == list(STORED_METRICS)
    with RunStore(db, read_only=True) as store:
        assert store.get_run(rid)["metric_names"] == kept
        files = store.run_files(rid)
        assert js["stored_bytes"] == sum(f.stat().st_size for f in files)
        assert js["stored_bytes"] < 0.7 * full["stored_bytes"]
        import pyarrow.parquet as pq

        assert pq.read_schema([f for f in files if f.name.startswith("results-")][0]).names == ["package_idx", "future_id", *kept]
        # the same numbers as the full run, for the metrics kept
        pd.testing.assert_frame_equal(store.results(rid), store.results(full["run_id"])[["package_id", "future_id", *kept]])
    # the robustness table is the same: it is computed from the threshold metrics
    assert js["robustness"] == full["robustness"]
    assert f"run {rid}" in _ok(run_foedus("runs", "show", rid, "--db", db)).stdout
    _ok(run_foedus("discover", rid, "--package", "treaty", "--db", db, "--json"))
    _bad(run_foedus("discover", rid, "--package", "treaty", "--threshold", "humanitarian_coverage>=0.5", "--db", db),
         "--threshold: humanitarian_coverage: not stored in run", "escalation_risk")
    _bad(_explore(db, 100, 0, "--store-metrics", "attack_prob", "--store-metrics", "costs"),
         "--store-metrics: attack_prob: a stored metric; did you mean attack_probability", "--store-metrics: costs:")


def test_size_estimate_matches_a_real_run(explored) -> None:
    """The estimate explore makes before a run, against the files of the
    100,000-future run of the eleven seed packages."""
    from foedus.data.loaders import load_countries, load_packages
    from foedus.exploration.explore import make_spec, stored_size

    db, run_id, _ = explored
    countries = load_countries()
    spec = make_spec(load_packages(PACKAGES, countries), ParameterSet.default(), countries, 100_000, 7, "lhs")
    estimate, cost = stored_size(spec)
    with RunStore(db, read_only=True) as store:
        actual = sum(f.stat().st_size for f in store.run_files(run_id))
    assert estimate == pytest.approx(actual, rel=0.02)
