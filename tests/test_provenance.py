"""A stored run records what it was computed from (every parameter value in
force and a digest of each shipped data file), and ``foedus runs show``
says whether today's data still match it."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

import duckdb
import pytest

from conftest import ROOT, run_foedus
from foedus.data.parameter_set import ParameterSet
from foedus.data.provenance import changed_since, data_digests, run_provenance

DATA = Path(str(resources.files("foedus.data")))


def _ok(r):
    assert r.returncode == 0, r.stdout + r.stderr
    return r


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    db = tmp_path_factory.mktemp("prov") / "runs.duckdb"
    js = json.loads(_ok(run_foedus("explore", str(ROOT / "scenarios" / "treaty.yaml"), "--futures", "200", "--seed", "3",
                                   "--set", "will.USA=0.3", "--db", str(db), "--json")).stdout)
    return db, js["run_id"]


def test_digests_are_those_of_the_shipped_files():
    want = {f"parameters/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest() for p in (DATA / "parameters").glob("*.yaml")}
    for name in ("countries.yaml", "calibration.yaml", "will_scenarios.yaml"):
        want[name] = hashlib.sha256((DATA / name).read_bytes()).hexdigest()
    assert data_digests() == want


def test_changed_since_names_the_files_that_differ():
    ps = ParameterSet.default()
    rec = run_provenance(ps)
    assert changed_since(rec) == []
    assert changed_since(None) is None and changed_since({}) is None
    then = dict(rec["data_sha256"])
    then["countries.yaml"] = "0" * 64  # edited since
    then["parameters/retired.yaml"] = "1" * 64  # removed since
    del then["will_scenarios.yaml"]  # added since
    assert changed_since({"data_sha256": then}) == ["countries.yaml", "parameters/retired.yaml", "will_scenarios.yaml"]


def test_a_run_records_every_parameter_value_and_the_data(run):
    db, rid = run
    meta = json.loads(_ok(run_foedus("runs", "show", rid, "--db", str(db), "--json")).stdout)
    prov = meta["extra"]["provenance"]
    want = ParameterSet.default().values()
    assert set(prov["parameter_values"]) == set(want)
    assert prov["parameter_values"]["will.USA"] == 0.3  # the override, not the default
    assert all(prov["parameter_values"][k] == v for k, v in want.items() if k != "will.USA")
    assert prov["data_sha256"] == data_digests()
    assert meta["data_changed"] == []
    text = _ok(run_foedus("runs", "show", rid, "--db", str(db))).stdout
    assert "data: unchanged since this run" in text


def test_runs_show_says_a_run_is_stale(tmp_path):
    """A run made with other data (its recorded digest differs from today's
    file) is reported stale, naming the file; a run that recorded nothing
    says so."""
    copy = tmp_path / "runs.duckdb"
    rid = json.loads(_ok(run_foedus("explore", str(ROOT / "scenarios" / "treaty.yaml"), "--futures", "100", "--db", str(copy),
                                    "--json")).stdout)["run_id"]
    con = duckdb.connect(str(copy))
    extra = json.loads(con.execute("SELECT extra FROM runs WHERE run_id = ?", [rid]).fetchone()[0])
    extra["provenance"]["data_sha256"]["parameters/deterrence.yaml"] = "0" * 64
    con.execute("UPDATE runs SET extra = ? WHERE run_id = ?", [json.dumps(extra), rid])
    con.close()
    out = _ok(run_foedus("runs", "show", rid, "--db", str(copy))).stdout
    assert "stale: changed since this run: parameters/deterrence.yaml" in " ".join(out.split())
    con = duckdb.connect(str(copy))
    del extra["provenance"]
    con.execute("UPDATE runs SET extra = ? WHERE run_id = ?", [json.dumps(extra), rid])
    con.close()
    out = _ok(run_foedus("runs", "show", rid, "--db", str(copy))).stdout
    assert "data: not recorded" in out


# ------------------------------------------------------------- runs reproduce


def _edit_extra(db: Path, rid: str, edit) -> None:
    """Change a stored run's recorded ``extra`` in the real catalogue."""
    con = duckdb.connect(str(db))
    extra = json.loads(con.execute("SELECT extra FROM runs WHERE run_id = ?", [rid]).fetchone()[0])
    edit(extra)
    con.execute("UPDATE runs SET extra = ? WHERE run_id = ?", [json.dumps(extra), rid])
    con.close()


def _explore(tmp_path: Path, *args: str) -> tuple[Path, Path, str]:
    """A run of a copy of two seed packages, with an override, a range and a
    block size that are not the defaults."""
    db = tmp_path / "runs.duckdb"
    files = []
    for name in ("treaty.yaml", "coalition-backstop.yaml"):
        f = tmp_path / name
        f.write_text((ROOT / "scenarios" / name).read_text())
        files.append(str(f))
    rid = json.loads(_ok(run_foedus("explore", *files, "--futures", "700", "--seed", "0", "--block", "256",
                                    "--set", "will.USA=0.35", "--range", "deterrence.resolve=0.6:2.5",
                                    "--db", str(db), "--json", *args)).stdout)["run_id"]
    return db, Path(files[0]), rid


def test_reproduce_rebuilds_a_run_bit_for_bit_from_its_record(tmp_path):
    """Rebuilt from the recorded values, texts and design, not from today's
    options and files: the package file is edited after the run and no
    option is repeated, yet the results hash is the original's."""
    db, treaty, rid = _explore(tmp_path, "--yearly", "attack_probability@2029")
    treaty.write_text(treaty.read_text().replace("ratified_treaty", "political_declaration"))  # edited since
    r = _ok(run_foedus("runs", "reproduce", rid, "--db", str(db), "--json"))
    out = json.loads(r.stdout)
    assert out["identical"] is True and out["reproduces"] == rid and out["run_id"] != rid
    assert out["results_sha256"]["original"] == out["results_sha256"]["rebuilt"]
    meta = json.loads(_ok(run_foedus("runs", "show", out["run_id"], "--db", str(db), "--json")).stdout)
    assert meta["extra"]["reproduces"]["run_id"] == rid
    assert meta["results_sha256"] == out["results_sha256"]["original"]
    assert "attack_probability@2029" in meta["metric_names"]
    text = _ok(run_foedus("runs", "reproduce", rid, "--db", str(db))).stdout
    assert "identical results" in text


def test_reproduce_keeps_the_runs_precision(tmp_path):
    """A float64 run is rebuilt at float64 (at the default float32 its hash
    would differ): identical results, stored as float64 again."""
    db, _, rid = _explore(tmp_path, "--precision", "float64")
    out = json.loads(_ok(run_foedus("runs", "reproduce", rid, "--db", str(db), "--json")).stdout)
    assert out["identical"] is True and out["precision"] == "float64"


def test_reproduce_uses_the_recorded_values_and_says_when_results_differ(tmp_path):
    """A recorded value changed in the catalogue (will.USA, fixed by the run
    at 0.35, as if the run had used 0.9)
    gives other results: reported, exit 1. So the check can fail, and the
    values come from the record, not from today's defaults."""
    db, _, rid = _explore(tmp_path)
    _edit_extra(db, rid, lambda e: e["provenance"]["parameter_values"].update({"will.USA": 0.9}))
    r = run_foedus("runs", "reproduce", rid, "--db", str(db))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "DIFFERENT results" in r.stdout and "Traceback" not in r.stderr


def test_a_run_stored_before_scheme_2_reproduces_with_its_own_futures(tmp_path, monkeypatch):
    """Regression (sampler scheme 2): runs stored before it recorded no
    scheme, and drew their Latin hypercube from PCG64. Such a run, made here
    in-process by the scheme-1 sampler and stored with its record as the
    earlier code wrote it, is rebuilt bit for bit by ``runs reproduce``; a
    scheme-2 run whose record loses its scheme is not (so the scheme is
    read from the record, and the check can fail)."""
    import dataclasses

    from typer.testing import CliRunner

    from foedus.exploration.futures import Design
    from foedus.interfaces.cli.main import app

    made = Design.from_parameters
    monkeypatch.setattr(Design, "from_parameters", classmethod(lambda cls, *a, **k: dataclasses.replace(made(*a, **k), scheme=1)))
    db = tmp_path / "runs.duckdb"
    res = CliRunner().invoke(app, ["explore", str(ROOT / "scenarios" / "treaty.yaml"), "--futures", "600", "--seed", "3",
                                   "--block", "256", "--db", str(db), "--json"])
    assert res.exit_code == 0, res.output
    old = json.loads(res.stdout)["run_id"]
    monkeypatch.undo()
    _edit_extra(db, old, lambda e: e["design"].pop("scheme"))
    out = json.loads(_ok(run_foedus("runs", "reproduce", old, "--db", str(db), "--json")).stdout)
    assert out["identical"] is True and out["reproduces"] == old

    (tmp_path / "new").mkdir()
    db2, _, new = _explore(tmp_path / "new")
    _edit_extra(db2, new, lambda e: e["design"].pop("scheme"))
    r = run_foedus("runs", "reproduce", new, "--db", str(db2))
    assert r.returncode == 1 and "DIFFERENT results" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda e: e["provenance"].pop("package_texts"), "a run that recorded its package texts"),
        (lambda e: e.pop("provenance"), "a run that recorded its parameter values"),
        (lambda e: e["provenance"]["data_sha256"].update({"countries.yaml": "0" * 64}), "the country table the run was computed with"),
        (lambda e: e.update({"kind": "optimise"}), "this is a optimise run"),
    ],
)
def test_reproduce_refuses_what_it_cannot_rebuild(tmp_path, edit, message):
    db, _, rid = _explore(tmp_path)
    _edit_extra(db, rid, edit)
    r = run_foedus("runs", "reproduce", rid, "--db", str(db))
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in " ".join(r.stderr.split()) and "Traceback" not in r.stderr
