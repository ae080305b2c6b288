"""The CLI, the web app and the report show the same numbers and the same
failure box for the same inputs (issue 9): they render one assessment, and
none of them computes its own."""

from __future__ import annotations

import json
import warnings
from html import escape

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from conftest import SCENARIOS, run_foedus

from foedus.data.loaders import load_countries, load_packages
from foedus.data.parameter_set import ParameterSet
from foedus.study.formatting import fmt
from foedus.interfaces.report.build import build_report
from foedus.interfaces.web.app import create_app
from foedus.interfaces.web.service import Workspace

IDS = ["coalition-backstop", "paris-declaration", "tailored"]
FILES = [SCENARIOS / f"{i}.yaml" for i in IDS]
N, SEED = 2000, 3
#: thresholds the focus package meets in some futures and misses in others (a real box)
THS = ["attack_probability<=0.15", "approval_probability>=0.2"]
FOCUS = "coalition-backstop"


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    db = tmp_path_factory.mktemp("agree") / "runs.duckdb"
    compare = json.loads(run_foedus("compare", *FILES, "--json").stdout)
    th = [a for t in THS for a in ("--threshold", t)]
    r = run_foedus("explore", *FILES, "--futures", str(N), "--seed", str(SEED), *th, "--db", db, "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    run = json.loads(r.stdout)
    d = run_foedus("discover", run["run_id"], "--package", FOCUS, "--db", db, "--json")
    assert d.returncode == 0, d.stderr
    return compare, run, json.loads(d.stdout)


@pytest.fixture(scope="module")
def web():
    client = TestClient(create_app(workspace=Workspace(SCENARIOS), warm=False), base_url="http://localhost")
    state = {"packages": IDS, "overrides": {}, "edits": {}}
    compare = client.post("/api/compare", json=state).json()
    explore = client.post("/api/explore", json={**state, "n_futures": N, "seed": SEED, "thresholds": THS, "focus": FOCUS}).json()
    return compare, explore


@pytest.fixture(scope="module")
def report():
    countries = load_countries()
    return build_report(load_packages(FILES, countries), ParameterSet.default(), countries, n_futures=N, seed=SEED, thresholds=THS)


def test_same_central_values_and_ranges(cli, web, report):
    c, w = {p["id"]: p for p in cli[0]["packages"]}, {p["id"]: p for p in web[0]["current"]["packages"]}
    for pid in IDS:
        # the web app evaluates package by package (for its caches), the CLI
        # all together: equal to floating-point rounding, identical on screen
        assert w[pid]["metrics"] == pytest.approx(c[pid]["metrics"], rel=1e-9, abs=1e-12), pid
        for m, r in c[pid]["ranges"].items():
            assert w[pid]["ranges"][m] == pytest.approx(r, rel=1e-9, abs=1e-12), (pid, m)
        for m in ("attack_probability", "total_cost_usd_per_year", "approval_probability"):
            assert fmt(m, c[pid]["metrics"][m]) in report, (pid, m)


def test_same_robustness(cli, web):
    c = {r["id"]: r for r in cli[1]["robustness"]}
    w = {r["id"]: r for r in web[1]["robustness"]}
    for pid in IDS:
        assert w[pid]["satisficing"] == pytest.approx(c[pid]["satisficing"], abs=1e-12), pid


def test_same_failure_box(cli, web, report):
    box = cli[2]["box"]
    wb = web[1]["failure_box"]
    assert box["description"] != "no restriction", "the thresholds must leave the focus package failing in some futures only"
    assert wb["rule"] == box["description"]
    assert (wb["coverage"], wb["density"]) == pytest.approx((box["coverage"], box["density"]), abs=1e-12)
    assert escape(box["description"]) in report
