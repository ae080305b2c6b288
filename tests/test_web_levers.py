"""The web app's A/B levers and its new views, through the JSON API and the
edit functions: taking a guarantor out gives the figure "whose promise
counts" reports, per-guarantor legal form and posture, the air-power and
air-defence levers, the bottom line in every comparison, and the Sobol'
sensitivity view (the same indices as the CLI's ``foedus sensitivity``)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from foedus.data.loaders import load_countries, load_packages
from foedus.data.parameter_set import ParameterSet
from foedus.domain.errors import InputError
from foedus.domain.metrics import BOTTOM_LINE, metric
from foedus.domain.vocabulary import BASES, Kind
from foedus.exploration.robustness import DEFAULT_THRESHOLDS, parse_threshold
from foedus.interfaces.web.app import create_app
from foedus.interfaces.web.edits import ADDED_NOTE, apply_edit, lever_summary
from foedus.interfaces.web.service import Workspace
from foedus.study.formatting import fmt
from foedus.study.study import Study

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(workspace=Workspace(SCEN)), raise_server_exceptions=False, base_url="http://localhost") as c:
        yield c


@pytest.fixture(scope="module")
def countries():
    return load_countries()


def _pkg(pid, countries):
    [p] = load_packages([SCEN / f"{pid}.yaml"], countries)
    return p


def _attack(client, pid, edit=None, **extra):
    body = {"packages": [pid], **extra}
    if edit:
        body["edits"] = {pid: edit}
    r = client.post("/api/compare", json=body)
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------- taking a guarantor out


@pytest.mark.parametrize("pid, iso", [("coalition-backstop", "USA"), ("coalition-backstop", "GBR"), ("paris-declaration", "FRA"),
                                      ("coalition-backstop", "ITA")])  # ITA: bound only through the EU's commitments
def test_removing_a_guarantor_gives_whose_promise_counts(client, pid, iso):
    worth = {g["iso3"]: g for g in client.post("/api/compare/detail", json={"package": pid}).json()["worth"]}
    out = _attack(client, pid, {"remove": [iso]})
    got = out["current"]["packages"][0]["metrics"]["attack_probability"]
    assert got == pytest.approx(worth[iso]["attack_probability_without"], rel=1e-9, abs=1e-12)
    assert out["current"]["packages"][0]["metrics"]["approval_probability"] == pytest.approx(
        worth[iso]["approval_probability_without"], rel=1e-9, abs=1e-12)
    removed = client.post("/api/compare/detail", json={"package": pid, "edit": {"remove": [iso]}}).json()["current"]
    assert iso in worth and iso not in {g["iso3"] for g in removed["guarantors"]}
    assert out["edited"] == [pid]


def test_removal_is_validated_and_exported(client, countries):
    r = client.post("/api/compare", json={"packages": ["coalition-backstop"], "edits": {"coalition-backstop": {"remove": ["ZZZ"]}}})
    assert r.status_code == 422 and "remove.ZZZ" in r.json()["detail"] and "a guarantor bound by the package" in r.json()["detail"]
    r = client.post("/api/compare", json={"packages": ["coalition-backstop"], "edits": {"coalition-backstop": {"remove": "USA"}}})
    assert r.status_code == 422 and "Traceback" not in r.text
    sq = _pkg("us-guarantee", countries)
    with pytest.raises(InputError, match="at least one commitment left"):
        apply_edit(sq, {"remove": sorted({c.guarantor for c in sq.commitments})}, countries)
    # the exported file of the edited package is a valid package with the same figures
    edit = {"remove": ["USA", "ITA"]}
    text = client.post("/api/packages/coalition-backstop/export", json={"edit": edit}).text
    doc = yaml.safe_load(text)
    assert doc["id"] == "coalition-backstop"
    assert not any(c["guarantor"] == "USA" for c in doc["commitments"])
    assert all("ITA" in c.get("except", []) for c in doc["commitments"] if c["guarantor"] == "EU")


def test_removal_matches_package_without(countries):
    cb = _pkg("coalition-backstop", countries)
    out = apply_edit(cb, {"remove": ["USA"]}, countries)
    ref = cb.without("USA", countries)
    assert out.id == cb.id
    assert [(c.guarantor, c.kind, c.troops, c.aircraft, c.usd_per_year, c.except_) for c in out.commitments] == \
        [(c.guarantor, c.kind, c.troops, c.aircraft, c.usd_per_year, c.except_) for c in ref.commitments]


# ---------------------------------------------------------------- per-guarantor levers


def test_legal_form_and_posture_per_guarantor(client, countries):
    cb = _pkg("coalition-backstop", countries)
    out = apply_edit(cb, {"legal_form_of": {"GBR": "ratified_treaty"}, "posture_of": {"GBR": "behind_dnipro"}}, countries)
    for before, after in zip(cb.commitments, out.commitments):
        if before.guarantor == "GBR":
            assert after.legal_form.value == "ratified_treaty"
            assert after.posture == (None if before.posture is None else type(before.posture)("behind_dnipro"))
        else:
            assert (after.legal_form, after.posture) == (before.legal_form, before.posture)
    assert lever_summary(out)["by_guarantor"]["GBR"]["legal_forms"] == ["ratified_treaty"]
    # a stronger British promise moves the package's attack probability, and the API says so
    base = _attack(client, "coalition-backstop")["current"]["packages"][0]["metrics"]["attack_probability"]
    firmer = _attack(client, "coalition-backstop", {"legal_form_of": {"GBR": "ratified_treaty"}})["current"]["packages"][0]["metrics"]["attack_probability"]
    assert firmer < base
    with pytest.raises(InputError, match="legal_form_of.JPN"):
        apply_edit(cb, {"legal_form_of": {"JPN": "ratified_treaty"}}, countries)
    with pytest.raises(InputError, match="posture_of.GBR"):
        apply_edit(cb, {"posture_of": {"GBR": "on the moon"}}, countries)


def test_air_power_and_air_defence_levers(countries):
    cb = _pkg("coalition-backstop", countries)
    lv = lever_summary(cb)
    assert lv["aircraft"]["USA"] > 0 and lv["air_defence"]["USA"] > 0

    def total(p, kind, field, iso):
        return sum(getattr(c, field) for c in p.commitments if c.guarantor == iso and c.kind is kind)

    out = apply_edit(cb, {"aircraft": {"USA": 0}, "air_defence": {"USA": 2 * lv["air_defence"]["USA"]}}, countries)
    assert total(out, Kind.AIR_POWER, "aircraft", "USA") == 0
    assert total(out, Kind.AIR_DEFENCE, "troops", "USA") == 2 * lv["air_defence"]["USA"]
    assert total(out, Kind.DEPLOYED_GROUND_FORCE, "troops", "GBR") == total(cb, Kind.DEPLOYED_GROUND_FORCE, "troops", "GBR")
    # a guarantor with no aircraft yet gets a new, marked commitment where the package's air power flies from
    new = apply_edit(cb, {"aircraft": {"POL": 24}}, countries)
    [added] = [c for c in new.commitments if c.guarantor == "POL" and c.kind is Kind.AIR_POWER]
    assert added.aircraft == 24 and added.note == ADDED_NOTE
    assert added.posture.value == "neighbouring_territory"
    with pytest.raises(InputError, match="aircraft.USA"):
        apply_edit(cb, {"aircraft": {"USA": -1}}, countries)


# ---------------------------------------------------------------- the bottom line


def test_compare_carries_the_bottom_line(client):
    ids = ["coalition-backstop", "treaty", "status-quo", "nato"]
    res = client.post("/api/compare", json={"packages": ids}).json()
    rows = res["bottom_line"]["current"]
    assert [r["id"] for r in rows] == ids
    cur = {p["id"]: p for p in res["current"]["packages"]}
    for r in rows:
        assert r["title"] == cur[r["id"]]["title"]
        assert list(r["values"]) == list(BOTTOM_LINE)
        for m, v in r["values"].items():
            assert v["value"] == cur[r["id"]]["metrics"][m]
            assert (v["p5"], v["p95"]) == (cur[r["id"]]["ranges"][m]["p5"], cur[r["id"]]["ranges"][m]["p95"])
        assert fmt("attack_probability", r["values"]["attack_probability"]["value"]) in r["sentence"]
    # ★ only among the packages that meet every threshold, never on a tie at the precision shown, never on a
    # value below what the evidence resolves (the rule of foedus.study.study.bottom_line, checked from the numbers)
    ths = [parse_threshold(t) for t in DEFAULT_THRESHOLDS]
    meets = {i: all(t.met(cur[i]["metrics"][t.metric]) for t in ths) for i in ids}
    assert {r["id"]: r["meets_thresholds"] for r in rows} == meets
    for m in BOTTOM_LINE:
        assert [r["values"][m]["best"] for r in rows] == _best_marks(m, [cur[i]["metrics"][m] for i in ids], [meets[i] for i in ids]), m
    # a package and an exact copy of it tie in every column: neither is marked where they lead
    text = client.get("/api/packages/treaty").json()["text"].replace("id: treaty", "id: treaty-twin", 1)
    assert client.post("/api/packages", json={"text": text, "name": "treaty-twin.yaml"}).status_code == 201
    twin = client.post("/api/compare", json={"packages": ["treaty", "treaty-twin", "status-quo"]}).json()
    tc = {p["id"]: p for p in twin["current"]["packages"]}
    trows = {r["id"]: r for r in twin["bottom_line"]["current"]}
    for m in BOTTOM_LINE:
        assert tc["treaty"]["metrics"][m] == tc["treaty-twin"]["metrics"][m]
        assert trows["treaty"]["values"][m]["best"] is False and trows["treaty-twin"]["values"][m]["best"] is False, m
        vals = [tc[i]["metrics"][m] for i in tc]
        assert [trows[i]["values"][m]["best"] for i in tc] == _best_marks(m, vals, [trows[i]["meets_thresholds"] for i in tc]), m
    assert client.delete("/api/packages/treaty-twin").status_code == 200
    # the baseline's bottom line does not move with an override; the current one does
    low = client.post("/api/compare", json={"packages": ids, "overrides": {"will.USA": 0.05}}).json()
    assert low["bottom_line"]["baseline"] == res["bottom_line"]["baseline"]
    assert low["bottom_line"]["current"] != res["bottom_line"]["current"]


def _best_marks(m: str, vals: list, meets: list) -> list[bool]:
    """Which values get ★: the best among those that meet the thresholds,
    if no other shows the same at the precision shown, it is not below the
    resolution and it leads the next by at least the resolution."""
    from foedus.study.formatting import below_resolution, resolution

    ok = sorted((v for v, good in zip(vals, meets) if good and v is not None), reverse=metric(m).direction > 0)
    if not ok:
        return [False] * len(vals)
    top = ok[0]
    lead = len(ok) == 1 or resolution(m) is None or abs(ok[1] - top) >= resolution(m)
    unique = sum(fmt(m, v) == fmt(m, top) for v in ok) == 1 and not below_resolution(m, top) and lead
    return [unique and good and v is not None and fmt(m, v) == fmt(m, top) for v, good in zip(vals, meets)]


# ---------------------------------------------------------------- sensitivity


def test_sensitivity_endpoint_matches_the_study_and_the_cli(client, countries):
    body = {"package": "treaty", "metrics": ["attack_probability", "approval_probability"], "n": 256, "seed": 3}
    r = client.post("/api/sensitivity", json=body)
    assert r.status_code == 200, r.text
    res = r.json()
    study = Study(load_packages([SCEN / "treaty.yaml"], countries), ParameterSet.default(), countries)
    ref = study.sensitivity("treaty", body["metrics"], 256, 3)
    assert res["evaluations"] == 256 * (len(ref["inputs"]) + 2)
    got = {(x["output"], x["input"]): x for x in res["indices"]}
    assert len(got) == len(ref["indices"]) == 2 * len(ref["inputs"])
    for x in ref["indices"]:
        y = got[(x["output"], x["input"])]
        for k in ("S1", "ST"):
            assert (y[k] is None and x[k] != x[k]) or y[k] == pytest.approx(x[k], rel=1e-12, abs=1e-15)
        assert y["basis"] == x["basis"] in BASES
    # the page's "reproduce" line gives the same indices in the terminal
    cmd = res["reproduce"].split()
    assert cmd[:2] == ["foedus", "sensitivity"]
    out = subprocess.run([sys.executable, "-m", "foedus.interfaces.cli.main", *cmd[1:], "--json"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    cli = json.loads(out.stdout)
    rows = cli["indices"] if isinstance(cli, dict) else cli
    top = max((x for x in rows if x["output"] == "attack_probability"), key=lambda x: x["ST"])
    assert top["ST"] == pytest.approx(got[("attack_probability", top["input"])]["ST"], rel=1e-9)


@pytest.mark.parametrize("body, needle", [
    ({"package": "treaty", "n": 100}, "n"),
    ({"package": "treaty", "metrics": ["no_such_metric"]}, "no_such_metric"),
    ({"package": "treaty", "metrics": []}, "metrics"),
    ({"package": "not-a-package"}, "not-a-package"),
    ({"package": "treaty", "edit": {"remove": ["ZZZ"]}}, "remove.ZZZ"),
])
def test_sensitivity_rejects_bad_requests(client, body, needle):
    r = client.post("/api/sensitivity", json=body)
    assert 400 <= r.status_code < 500, r.text
    assert needle in r.text and "Traceback" not in r.text


_YEARLY = """
id: yearly-force
title: A force built up over the years
rationale: A package written for the test suite, whose UK ground force and aid grow year by year.
kyiv_position: accepted
sources:
- publisher: foedus tests
  title: A test
  year: 2026
commitments:
- guarantor: GBR
  kind: deployed_ground_force
  legal_form: executive_agreement
  trigger: after_consultation
  posture: western_ukraine
  troops: {2027: 5000, 2029: 10000}
- guarantor: FRA
  kind: deployed_ground_force
  legal_form: executive_agreement
  trigger: after_consultation
  posture: western_ukraine
  troops: 4000
- guarantor: GBR
  kind: military_aid
  legal_form: executive_agreement
  trigger: discretionary
  usd_per_year: {2026: 1000000000, 2028: 2000000000}
"""


def test_levers_on_sizes_that_change_by_year():
    """A lever on a commitment whose size changes by year: the controls show
    its peak, a troop slider sets the peak and scales every year with it (the
    build-up keeps its shape), the aid factor scales every year's aid, and 0
    removes it; the web page then compares it year by year."""
    from foedus.data.loaders import parse_package

    countries = load_countries()
    pkg = parse_package(_YEARLY, "yearly.yaml", countries)
    lv = lever_summary(pkg)
    assert lv["troops"] == {"GBR": 10000, "FRA": 4000}
    assert lv["aid_usd"] == {"GBR": 2e9}
    out = apply_edit(pkg, {"troops": {"GBR": 20000}, "aid_scale": 1.5}, countries)
    gbr = next(c for c in out.commitments if c.guarantor == "GBR" and c.kind is Kind.DEPLOYED_GROUND_FORCE)
    assert dict(gbr.troops) == {2027: 10000, 2029: 20000}
    aid = next(c for c in out.commitments if c.kind is Kind.MILITARY_AID)
    assert dict(aid.usd_per_year) == {2026: pytest.approx(1.5e9), 2028: pytest.approx(3e9)}
    assert next(c for c in out.commitments if c.guarantor == "FRA").troops == 4000  # the other guarantor untouched
    assert lever_summary(out)["troops"]["GBR"] == 20000
    gone = apply_edit(pkg, {"troops": {"GBR": 0}}, countries)
    assert not [c for c in gone.commitments if c.guarantor == "GBR" and c.kind is Kind.DEPLOYED_GROUND_FORCE]

    ws = Workspace(SCEN)
    with TestClient(create_app(workspace=ws, warm=False), raise_server_exceptions=False, base_url="http://localhost") as c:
        up = c.post("/api/packages", json={"text": _YEARLY, "name": "yearly.yaml"})
        assert up.status_code == 201, up.text
        res = c.post("/api/by-year", json={"packages": ["yearly-force"], "edits": {"yearly-force": {"troops": {"GBR": 20000}}}})
        assert res.status_code == 200, res.text
        body = res.json()
        cur = body["current"]["packages"][0]["metrics"]["troops_deployed"]
        base = body["baseline"]["packages"][0]["metrics"]["troops_deployed"]
        years = body["current"]["years"]
        assert cur[years.index(2029)] > base[years.index(2029)] > base[years.index(2026)]
