"""Named will scenarios in the web app: the selector's list, POST
/api/scenarios (each package in every scenario beside the pooled result)
against the study and the CLI, choosing a scenario as overrides, the
commands that reproduce it, the per-package cache, and the rate limit."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from foedus.data.loaders import load_countries, load_packages, load_will_scenarios
from foedus.data.parameter_set import ParameterSet
from foedus.interfaces.web.app import create_app
from foedus.interfaces.web.edits import apply_edits
from foedus.interfaces.web.security import DEFAULT_LIMITS, Limit, Security
from foedus.interfaces.web.service import Workspace
from foedus.study.formatting import fmt, fmt_range
from foedus.study.study import Study

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"
M = "attack_probability"


@pytest.fixture(scope="module")
def ws():
    return Workspace(SCEN)


@pytest.fixture(scope="module")
def client(ws):
    with TestClient(create_app(workspace=ws, warm=False), raise_server_exceptions=False, base_url="http://localhost") as c:
        yield c


@pytest.fixture(scope="module")
def countries():
    return load_countries()


def _post(client, route, body):
    r = client.post(route, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def _close(a: dict, b: dict, keys=("value", "p5", "p50", "p95")) -> None:
    for k in keys:
        assert a[k] == pytest.approx(b[k], rel=1e-9, abs=1e-12), (k, a, b)


def test_results_per_scenario_are_the_studys(client, countries):
    """Each package (after its lever edit) in every named scenario, as the
    study computes it with by_scenario (what `foedus compare` prints), under
    the other overrides; the user's will override is set aside (each column
    fixes will) and the pooled column is /api/compare's current value and
    range without it."""
    ids = ["coalition-backstop", "treaty", "status-quo"]
    edits = {"treaty": {"aid_scale": 0.5}}
    body = {"packages": ids, "overrides": {"deterrence.resolve": 1.2, "will.USA": 0.3}, "edits": edits, "horizon": 8}
    res = _post(client, "/api/scenarios", body)
    assert res["packages"] == ids and res["metrics"] == [M] and res["horizon_years"] == 8
    assert res["set_aside"] == ["will.USA"] and res["overrides"] == {"deterrence.resolve": 1.2}
    assert res["edited"] == ["treaty"] and res["model_estimates_not_predictions"] is True

    pkgs = apply_edits(load_packages([SCEN / f"{i}.yaml" for i in ids], countries), edits, countries)
    study = Study(pkgs, ParameterSet.default().with_overrides({"deterrence.resolve": 1.2}), countries, 8, by_scenario=True)
    ref = study.comparison
    want = load_will_scenarios().scenarios
    assert [s["id"] for s in res["scenarios"]] == [s["id"] for s in ref["scenarios"]] == list(want)
    for got, exp in zip(res["scenarios"], ref["scenarios"]):
        assert got["set"] == exp["set"] == dict(want[got["id"]].set) and got["title"] == exp["title"]
        for pid in ids:
            _close(got["packages"][pid][M], exp["packages"][pid][M])
            assert res["display"][pid][got["id"]][M] == {"value": fmt(M, got["packages"][pid][M]["value"]),
                                                        "range": fmt_range(M, got["packages"][pid][M])}
    assert res["ranges"] == ref["ranges"]

    compare = _post(client, "/api/compare", {**body, "overrides": {"deterrence.resolve": 1.2}})
    for p in compare["current"]["packages"]:
        assert res["pooled"][p["id"]][M] == {"value": p["metrics"][M], **p["ranges"][M]}
        assert res["display"][p["id"]]["pooled"][M] == {"value": compare["display"][p["id"]][M], "range": compare["range_display"][p["id"]][M]}
    # a scenario moves the result: fixing US will away from the average ally changes the US-backed packages
    by = {s["id"]: s for s in res["scenarios"]}
    cb = "coalition-backstop"
    assert by["us-walks-away"]["packages"][cb][M]["value"] != by["us-reliable"]["packages"][cb][M]["value"]


def test_choosing_a_scenario_gives_its_column(client):
    """Choosing a scenario in the page sets its will values as overrides:
    /api/compare then gives, for every package, the central value and range
    of that scenario's column, says which scenario it is, and adds the
    --scenario form of the command; "pooled" (no will override) is none."""
    ids = ["coalition-backstop", "us-guarantee"]
    res = _post(client, "/api/scenarios", {"packages": ids})
    plain = _post(client, "/api/compare", {"packages": ids})
    assert plain["will_scenario"] is None and "scenario" not in plain["reproduce"] and res["will_scenario"] is None
    for sc in res["scenarios"]:
        cur = _post(client, "/api/compare", {"packages": ids, "overrides": sc["set"]})
        assert cur["will_scenario"] == sc["id"]
        for p in cur["current"]["packages"]:
            _close({"value": p["metrics"][M], **p["ranges"][M]}, sc["packages"][p["id"]][M])
        rep = cur["reproduce"]
        for k, v in sc["set"].items():
            assert f"--set {k}={v:g}" in rep["cli"]
        assert rep["scenario"]["id"] == sc["id"] and f"--scenario {sc['id']}" in rep["scenario"]["cli"]
        assert "--set will." not in rep["scenario"]["cli"] and sc["title"] in rep["scenario"]["note"]
        # the view marks the column of the scenario the assumptions set
        assert _post(client, "/api/scenarios", {"packages": ids, "overrides": sc["set"]})["will_scenario"] == sc["id"]


@pytest.mark.parametrize("overrides, expected", [
    ({"will.USA": 0.0, "will.default": 0.5}, "us-walks-away"),
    ({"will.USA": 0.0, "will.default": 0.5, "will.GBR": 0.5, "deterrence.resolve": 1.3}, "us-walks-away"),  # GBR as its default: the same
    ({"will.USA": 0.0}, None),  # Europe's will still sampled: not the scenario
    ({"will.USA": 0.0, "will.default": 0.5, "will.GBR": 0.4}, None),
    ({"will.USA": 0.0, "will.default": 0.5, "will.CAN": 0.2}, None),
    ({"will.USA": 0.25, "will.default": 0.5}, "us-as-in-2025"),
    ({"deterrence.resolve": 1.3}, None),
    ({}, None),
])
def test_which_scenario_the_overrides_set(ws, overrides, expected):
    assert ws.will_scenario_of(overrides) == expected


def test_the_commands_reproduce_the_numbers(client, monkeypatch):
    """The Python recipe of /api/scenarios gives its numbers, and the
    --scenario command of a comparison gives the page's central value."""
    monkeypatch.chdir(ROOT)
    ids = ["treaty", "us-guarantee"]
    res = _post(client, "/api/scenarios", {"packages": ids, "overrides": {"deterrence.resolve": 0.9}})
    space: dict = {}
    exec(res["reproduce"]["python"], space)  # noqa: S102 - our own recipe, run as a reader would
    got = {s["id"]: s for s in space["result"]["scenarios"]}
    for sc in res["scenarios"]:
        for pid in ids:
            _close(sc["packages"][pid][M], got[sc["id"]]["packages"][pid][M])
    assert "--set deterrence.resolve=0.9" in res["reproduce"]["cli"]

    sc = next(s for s in res["scenarios"] if s["id"] == "us-walks-away")
    cur = _post(client, "/api/compare", {"packages": ["us-guarantee"], "overrides": sc["set"]})
    cmd = cur["reproduce"]["scenario"]["cli"].split()
    assert cmd[:2] == ["foedus", "compare"] and cmd[-1] == "--json"
    out = subprocess.run([sys.executable, "-m", "foedus.interfaces.cli.main", *cmd[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    cli = json.loads(out.stdout)
    cli = cli[0] if isinstance(cli, list) else cli
    assert cli["packages"][0]["metrics"][M] == pytest.approx(cur["current"]["packages"][0]["metrics"][M], rel=1e-9)
    assert cli["packages"][0]["ranges"][M]["p95"] == pytest.approx(cur["current"]["packages"][0]["ranges"][M]["p95"], rel=1e-9)


def test_cached_per_package_and_never_computed_by_compare(monkeypatch):
    """The results per scenario are evaluated for the packages not in the
    cache only (a lever move re-evaluates that package), and /api/compare
    never computes them."""
    import foedus.exploration.compare as compare_module

    calls: list[list[str]] = []
    real = compare_module.scenario_results

    def counting(lv, *args, **kw):
        calls.append(list(lv.package_ids))
        return real(lv, *args, **kw)

    monkeypatch.setattr(compare_module, "scenario_results", counting)
    client = TestClient(create_app(workspace=Workspace(SCEN), warm=False), base_url="http://localhost")
    ids = ["coalition-backstop", "treaty", "status-quo"]
    first = _post(client, "/api/scenarios", {"packages": ids})
    assert calls == [ids]
    _post(client, "/api/scenarios", {"packages": ids, "overrides": {"will.USA": 0.2}})  # will set aside: the same columns
    assert calls == [ids]
    moved = _post(client, "/api/scenarios", {"packages": ids, "edits": {"treaty": {"aid_scale": 0.25}}})
    assert calls == [ids, ["treaty"]]
    for sc0, sc1 in zip(first["scenarios"], moved["scenarios"]):
        assert sc0["packages"]["status-quo"] == sc1["packages"]["status-quo"]
        assert sc0["packages"]["treaty"] != sc1["packages"]["treaty"]

    def refuse(*args, **kw):
        raise AssertionError("/api/compare computed the results per scenario")

    monkeypatch.setattr(compare_module, "scenario_results", refuse)
    res = _post(client, "/api/compare", {"packages": ids, "overrides": {"deterrence.resolve": 1.4}})
    assert "scenarios" not in res["current"] and "scenarios" not in res["baseline"]


def test_rate_limited_as_an_exploration():
    """Served to the network, /api/scenarios needs the token and draws on
    the explorations' bucket (shared with /api/explore): over it, 429 with
    Retry-After."""
    token = "scenario-test-token-0123456789"
    limits = {**DEFAULT_LIMITS, "explore": Limit("explorations", burst=1, per_second=0.2)}
    app = create_app(workspace=Workspace(SCEN), warm=False, security=Security.exposed("127.0.0.1", token, limits=limits))
    client = TestClient(app, base_url="http://localhost")
    body = {"packages": ["treaty"]}
    assert client.post("/api/scenarios", json=body).status_code == 401  # no token: refused before any bucket is touched
    auth = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/scenarios", json=body, headers=auth).status_code == 200
    r = client.post("/api/scenarios", json=body, headers=auth)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1, r.text
    assert "too many explorations" in r.json()["detail"] and r.headers["x-frame-options"] == "DENY"
    assert client.post("/api/explore", json={**body, "n_futures": 10}, headers=auth).status_code == 429  # one bucket
    assert client.post("/api/compare", json=body, headers=auth).status_code == 200  # comparisons have their own
