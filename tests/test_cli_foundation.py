"""The foundation commands of the ``foedus`` CLI: validate, params, countries,
show, compare (the issue's examples run as real subprocesses), their JSON
contracts (docs/cli.md), and exit status 2 without a traceback on bad input."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from conftest import ROOT, SCENARIOS, run_foedus
from foedus.data.loaders import load_countries, load_parameters
from foedus.interfaces.cli.main import app

SCENARIO_FILES = sorted(SCENARIOS.glob("*.yaml"))


def _no_traceback(r) -> None:
    out = (r.stdout or "") + (r.stderr or "")
    assert "Traceback" not in out


# ---------------------------------------------------------------------------
# the examples, as real subprocesses
# ---------------------------------------------------------------------------


def test_validate_shipped_scenarios_exits_0():
    rels = [str(p.relative_to(ROOT)) for p in SCENARIO_FILES]
    r = run_foedus("validate", *rels)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    ok = [l for l in r.stdout.splitlines() if l.startswith("ok ")]
    assert len(ok) == len(rels) == 12
    for rel in rels:
        assert any(rel in l for l in ok), rel


def test_params_json_lists_every_parameter_with_value_unit_year_source():
    r = run_foedus("params", "--json")
    assert r.returncode == 0, r.stderr
    records = json.loads(r.stdout)["parameters"]
    shipped = load_parameters()
    assert len(records) == len(shipped)
    assert {p["name"] for p in records} == set(shipped)
    for p in records:
        name = p["name"]
        assert isinstance(p["value"], (int, float)) and not isinstance(p["value"], bool), name
        assert p["value"] == shipped[name].value
        assert p["unit"], name
        assert isinstance(p["year"], int) and 1600 <= p["year"] <= 2100, name
        assert p["source"].strip(), name
        assert p["group"] == name.split(".", 1)[0]
        assert p["date"][:4] == str(p["year"])
        assert p["values"][p["date"]] == p["value"]
        assert p["description"].strip()
        assert p["references"] and all(ref["publisher"] and ref["title"] and ref["year"] for ref in p["references"])
        u = p["uncertainty"]
        if u is not None:
            assert u["low"] <= p["value"] <= u["high"], name
            assert u["distribution"] in ("uniform", "triangular", "loguniform")
            assert u["rationale"] and u["references"]
        if p["unit"] in ("probability", "fraction"):
            assert 0 <= p["value"] <= 1, name


def test_countries_json_lists_41_countries_each_figure_sourced():
    r = run_foedus("countries", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    countries, sources = doc["countries"], doc["sources"]
    assert len(countries) == 41
    assert {c["iso3"] for c in countries} == set(load_countries().countries)
    for c in countries:
        assert c["name"]
        for f in ("gdp_usd", "defence_pct_gdp", "defence_usd", "active_personnel"):
            fig = c[f]
            assert isinstance(fig["value"], (int, float)), (c["iso3"], f)
            assert fig["unit"] and fig["year"] and fig["grade"], (c["iso3"], f)
            assert fig["source"].strip(), (c["iso3"], f)
            assert fig["source_id"] in sources, (c["iso3"], f)
            assert "url" in fig and "note" in fig
        for f in ("nato_member", "eu_member", "coalition_member", "nuclear_weapon_state", "frontline"):
            assert isinstance(c[f]["value"], bool), (c["iso3"], f)
            assert c[f]["source_id"] in sources
        assert c["deployment_approval"]["value"] in ("prior", "ex_post", "limited", "none")
        assert c["defence_pct_gdp"]["unit"] == "fraction"
    for sid, ref in sources.items():
        assert ref["publisher"] and ref["title"] and ref["year"], sid


def test_show_prints_title_and_commitments():
    r = run_foedus("show", "scenarios/treaty.yaml")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.splitlines()[0].startswith("Formal mutual-defence treaty (Article-5-like)  (treaty)")
    assert "commitments" in out
    assert "Kyiv's position: demanded" in out
    rows = [l for l in out.splitlines() if "mutual_defence" in l]
    assert len(rows) == 6 and all("ratified_treaty" in l and "automatic" in l for l in rows)
    assert "us_senate_two_thirds (USA)" in out
    assert "Sources:" in out


@pytest.mark.parametrize(
    "assignment, fragments",
    [
        ("nonexistent.param=1", ["error: --set: nonexistent.param: a known parameter name", "names start with a group (approval,", "see `foedus params`"]),
        ("will.USA=2", ["error: --set: will.USA: a value in [0, 1] (unit probability; rates are fractions), got 2.0"]),
        ("will.USA=abc", ["error: --set: will.USA: a number (0.2) or a percentage (20%) after '=', got 'abc'"]),
    ],
)
def test_compare_rejects_bad_overrides(assignment, fragments):
    r = run_foedus("compare", "--set", assignment, "scenarios/status-quo.yaml")
    assert r.returncode == 2
    for frag in fragments:
        assert frag in r.stderr
    assert r.stdout == ""
    _no_traceback(r)


def test_compare_json_contract():
    r = run_foedus("compare", "--json", "--set", "will.USA=0", "scenarios/status-quo.yaml", "scenarios/coalition-backstop.yaml")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"packages", "horizon_years", "parameters", "overrides", "ranges", "data", "scenarios"}
    # the date of the data used: the latest evidence parameter, never a judgement or a fit
    from foedus.data.parameter_set import ParameterSet

    ps = ParameterSet.default()
    evidence = max((p.date, n) for n, p in ps.parameters.items() if p.basis.value == "evidence")
    assert (doc["data"]["parameters"], doc["data"]["parameter"]) == (evidence[0].isoformat(), evidence[1])
    assert doc["data"]["text"].startswith(f"data as of {doc['data']['latest']} (")
    assert doc["ranges"]["futures"] == 1000 and doc["ranges"]["percentiles"] == [5, 50, 95]
    assert doc["overrides"] == {"will.USA": 0.0}
    assert doc["parameters"]["will.USA"] == 0.0
    assert set(load_parameters()) <= set(doc["parameters"])
    assert doc["horizon_years"] == doc["parameters"]["assessment.horizon_years"] == 10
    _check_compare_contract(doc, ["status-quo", "coalition-backstop"])
    # will = 0 gives credibility 0
    usa = [g for p in doc["packages"] for g in p["guarantors"] if g["iso3"] == "USA"]
    assert usa and all(g["credibility"] == 0 for g in usa)


PROB_METRICS = (
    "attack_probability", "annual_attack_probability", "defence_holds_probability", "approval_probability",
    "ratification_probability", "kyiv_acceptance", "in_force_share", "escalation_risk", "incident_probability",
    "adversary_acceptance", "humanitarian_coverage", "air_defence_coverage", "max_cost_pct_gdp",
)
COUNT_METRICS = ("total_cost_usd_per_year", "troops_deployed", "troops_required_pool", "guarantors_short",
                 "expected_casualties", "casualties_if_war", "defender_strength")
GUARANTOR_FIELDS = {
    "iso3", "credibility", "delivery", "approval", "cost_usd_per_year", "cost_pct_gdp", "total_defence_pct_gdp",
    "headroom_core_2014", "headroom_core_2035", "headroom_total_2035", "burden_share", "gdp_share",
    "troops_deployed", "troops_required_pool", "troops_available", "capacity_ratio", "shortfall",
    "cost_raise_usd_per_year", "capacity_shortfall", "attack_probability_without", "approval_probability_without", "elements",
    "attack_probability_without_promises", "attack_probability_without_aid",
}


def _check_compare_contract(doc, ids):
    assert [p["id"] for p in doc["packages"]] == ids
    for p in doc["packages"]:
        assert p["title"] and p["kyiv_position"] in ("demanded", "accepted", "reluctant", "rejected")
        m = p["metrics"]
        assert set(PROB_METRICS) | set(COUNT_METRICS) <= set(m)
        for k in PROB_METRICS:
            assert 0 <= m[k] <= 1, (p["id"], k)
        for k in COUNT_METRICS:
            assert m[k] >= 0, (p["id"], k)
        assert m["troops_required_pool"] >= m["troops_deployed"]
        assert m["guarantors_short"] == sum(g["capacity_shortfall"] for g in p["guarantors"])
        assert m["total_cost_usd_per_year"] == pytest.approx(sum(g["cost_usd_per_year"] for g in p["guarantors"]))
        shares = [g["burden_share"] for g in p["guarantors"]]
        if m["total_cost_usd_per_year"] > 0:
            assert sum(shares) == pytest.approx(1)
        else:
            assert all(s is None for s in shares)  # no cost: no burden share (null, not 0)
        assert sum(g["gdp_share"] for g in p["guarantors"]) == pytest.approx(1)
        for g in p["guarantors"]:
            assert set(g) == GUARANTOR_FIELDS
            assert 0 <= g["credibility"] <= 1 and 0 <= g["approval"] <= 1
            assert g["total_defence_pct_gdp"] < 1
            if g["troops_required_pool"] == 0:
                assert g["capacity_ratio"] is None
            else:
                assert g["capacity_ratio"] == pytest.approx(g["troops_available"] / g["troops_required_pool"])
            assert g["capacity_shortfall"] == (g["shortfall"] > 0)
            for v in g.values():
                assert not (isinstance(v, float) and (math.isnan(v) or math.isinf(v)))
        for a in p["approvals"]:
            assert set(a) == {"approval", "by"}


# ---------------------------------------------------------------------------
# in process (typer's runner): further options and bad inputs
# ---------------------------------------------------------------------------

runner = CliRunner()


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_help_lists_the_foundation_commands():
    r = _invoke("--help")
    assert r.exit_code == 0
    for cmd in ("validate", "params", "countries", "show", "compare"):
        assert cmd in r.stdout


def test_params_group_filter():
    r = _invoke("params", "--json", "--group", "credibility")
    assert r.exit_code == 0
    records = json.loads(r.stdout)["parameters"]
    assert records and all(p["group"] == "credibility" for p in records)
    assert len(records) == sum(1 for p in load_parameters().values() if p.group == "credibility")


def test_params_and_countries_tables():
    r = _invoke("params")
    assert r.exit_code == 0 and "will.USA" in r.stdout
    r = _invoke("countries")
    assert r.exit_code == 0 and "foedus countries (41)" in r.stdout and "United Kingdom" in r.stdout


EU_27 = {
    "AUT", "BEL", "BGR", "HRV", "CYP", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC", "HUN", "IRL", "ITA", "LVA",
    "LTU", "LUX", "MLT", "NLD", "POL", "PRT", "ROU", "SVK", "SVN", "ESP", "SWE",
}


def test_countries_json_lists_the_eu_27_and_the_coalition_outside_nato_with_sources():
    """Issue 11, done when: `foedus countries --json` lists all EU-27 and the
    non-NATO Coalition members with sources."""
    r = run_foedus("countries", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    by_iso = {c["iso3"]: c for c in doc["countries"]}
    assert {i for i, c in by_iso.items() if c["eu_member"]["value"]} == EU_27
    coalition = {i for i, c in by_iso.items() if c["coalition_member"]["value"]}
    assert {i for i in coalition if not by_iso[i]["nato_member"]["value"]} == {"AUS", "AUT", "CYP", "IRL", "JPN", "NZL"}
    assert len(coalition) == 34 and not {"USA", "HUN", "MKD", "SVK"} & coalition
    assert doc["sources"]["cow-members"]["year"] == 2025
    for iso in ("AUT", "CYP", "IRL", "MLT", "AUS", "JPN", "NZL"):
        c = by_iso[iso]
        for f in ("gdp_usd", "defence_pct_gdp", "defence_usd", "active_personnel"):
            assert c[f]["source_id"] in doc["sources"] and c[f]["source"].strip(), (iso, f)
            assert c[f]["grade"] != "unverified", (iso, f)
        assert c["defence_pct_gdp"]["source_id"] == "sipri-milex-2025", iso
        assert c["coalition_member"]["source_id"] == "cow-members", iso


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["validate", "no/such/file.yaml"], "no/such/file.yaml: (file): file not found"),
        (["show", "tests/fixtures/broken/negative_troops.yaml"], "negative_troops.yaml:18: commitments[0].troops"),
        (["show", "tests/fixtures/broken/python_object.yaml"], "python_object.yaml:4: title: expected plain YAML data"),
        (["compare", "scenarios/status-quo.yaml", "tests/fixtures/broken/empty.yaml"], "empty.yaml:1: (document)"),
        (["compare", "scenarios/status-quo.yaml", "scenarios/status-quo.yaml"], "'status-quo' is used twice"),
        (["compare", "--set", "will.USA", "scenarios/status-quo.yaml"], "NAME=VALUE, e.g. will.USA=0.2"),
        (["compare", "--set", "will.USX=0.2", "scenarios/status-quo.yaml"], "did you mean will.USA"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args, fragment, monkeypatch):
    monkeypatch.chdir(ROOT)
    r = _invoke(*args)
    assert r.exit_code == 2
    assert fragment in r.stderr
    assert r.stderr.startswith("error: ")
    _no_traceback(r)


def test_misspelt_country_code_in_a_package_names_the_code_meant(monkeypatch):
    """`guarantor: GER` (the IOC code): the message names the file, line,
    field and expectation, and the ISO3 code meant; no traceback."""
    monkeypatch.chdir(ROOT)
    for command in ("validate", "compare"):
        r = run_foedus(command, "tests/fixtures/broken/guarantor_ger.yaml")
        assert r.returncode == 2, r.stdout
        assert r.stderr.splitlines() == ["error: tests/fixtures/broken/guarantor_ger.yaml:13: commitments[0].guarantor: expected a known ISO3 "
                                         "country code or group (NATO, EU, COALITION); 'GER' is not one: did you mean DEU (Germany)?"], r.stderr
        assert "Traceback" not in r.stdout + r.stderr


@pytest.mark.parametrize("assignment, meant", [
    ("will.GER=0", "will.DEU (Germany)"),                              # a per-country parameter, any ISO3 code
    ("approval.nato_consent.GER=0.5", "approval.nato_consent.DEU (Germany)"),
    ("will.UK=0", "will.GBR (United Kingdom)"),
    ("will.Germany=0", "will.DEU (Germany)"),
])
def test_misspelt_country_code_in_a_parameter_name_names_the_name_meant(assignment, meant):
    name, code = assignment.split("=")[0], assignment.split("=")[0].rsplit(".", 1)[1]
    r = run_foedus("compare", "--futures", "0", "--set", assignment, "scenarios/status-quo.yaml")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [f"error: --set: {name}: a known parameter name; {code} is not an ISO3 country code: did you mean {meant}?"], r.stderr
    _no_traceback(r)


def test_usage_errors_exit_2():
    r = _invoke("compare", "--horizon", "0", "scenarios/status-quo.yaml")
    assert r.exit_code == 2
    r = _invoke("validate")
    assert r.exit_code == 2


def test_params_file_overrides(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    good = tmp_path / "over.yaml"
    good.write_text("set:\n  will.USA: 0.0\n", encoding="utf-8")
    r = _invoke("compare", "--json", "--params", good, "scenarios/status-quo.yaml")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["overrides"] == {"will.USA": 0.0}
    bad = tmp_path / "bad.yaml"
    bad.write_text("will.USA: 0.2\nwill.GBR: high\n", encoding="utf-8")
    r = _invoke("compare", "--params", bad, "scenarios/status-quo.yaml")
    assert r.exit_code == 2
    assert f"{bad}:2: will.GBR: a number, got 'high'" in r.stderr


def test_compare_table_and_horizon(monkeypatch):
    monkeypatch.chdir(ROOT)
    r = _invoke("compare", "--horizon", "5", "--no-guarantors", "scenarios/status-quo.yaml", "scenarios/treaty.yaml")
    assert r.exit_code == 0, r.stderr
    assert "horizon 5 years" in r.stdout
    assert "status-quo" in r.stdout and "treaty" in r.stdout
    assert "per guarantor" not in r.stdout


def test_docs_describe_every_json_field():
    """docs/cli.md documents every field of the three JSON contracts."""
    from foedus.exploration.assess import GUARANTOR_METRICS, PACKAGE_METRICS

    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    from foedus.exploration.assess import ELEMENT_METRICS

    fields = set(PACKAGE_METRICS) | set(GUARANTOR_METRICS) | set(ELEMENT_METRICS) | {"capacity_shortfall", "horizon_years", "overrides", "kyiv_position"}
    fields |= {"scenarios", "hazard", "attack_probability_without_promises", "attack_probability_without_aid", "local_balance", "floor"}
    fields |= {"ranges", "p5", "p50", "p95", "attack_probability_without", "approval_probability_without", "elements", "collective",
               "legal_form", "trigger", "kinds", "basis", "calibration", "ukraine_military_aid_usd"}
    fields |= {"name", "group", "value", "unit", "year", "date", "values", "description", "source", "references", "uncertainty"}
    fields |= {"iso3", "source_id", "grade", "note", "url", "gdp_usd", "defence_pct_gdp", "defence_usd", "active_personnel",
               "nato_member", "eu_member", "nuclear_weapon_state", "frontline", "deployment_approval"}
    missing = sorted(f for f in fields if f"`{f}`" not in doc)
    assert missing == []
    for cmd in ("validate", "params", "countries", "show", "compare", "calibrate", "explore", "discover", "sensitivity", "runs", "serve", "report"):
        assert f"`{cmd}`" in doc or f"foedus {cmd}" in doc, cmd


def test_a_percentage_is_a_fraction_and_a_scenario_is_its_will_values():
    """`--set will.USA=20%` was refused while `--threshold` took `10%`; a
    named will scenario is its will values fixed."""
    import json as _json

    def attack(*args):
        r = run_foedus("compare", "scenarios/us-guarantee.yaml", "--futures", "0", "--no-by-scenario", "--json", *args, cwd=ROOT)
        assert r.returncode == 0, r.stderr
        return _json.loads(r.stdout)["packages"][0]["metrics"]["attack_probability"]

    assert attack("--set", "will.USA=20%") == attack("--set", "will.USA=0.2")
    assert attack("--scenario", "us-walks-away") == attack("--set", "will.USA=0", "--set", "will.default=0.5")
    assert attack("--scenario", "us-walks-away", "--set", "will.USA=1") == attack("--set", "will.USA=1", "--set", "will.default=0.5")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--set", "deterrence.ukraine_forces=20%"], "a percentage is only for probabilities and fractions"),
        (["--scenario", "us-walk-away"], "did you mean us-walks-away"),
    ],
)
def test_bad_percentages_and_scenarios_get_clear_errors(args, fragment):
    r = run_foedus("compare", "scenarios/us-guarantee.yaml", "--futures", "0", *args, cwd=ROOT)
    assert r.returncode == 2
    assert fragment in r.stderr and "Traceback" not in r.stderr
