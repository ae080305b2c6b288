"""The web app's JSON API: numbers equal the Python API's, lever edits and
overrides behave, every malformed request gets a clear 4xx (never a 500),
request sizes are bounded, and the page's assets are local."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foedus.data.loaders import load_countries, load_packages, parse_package
from foedus.data.parameter_set import ParameterSet
from foedus.exploration.compare import comparison
from foedus.study.formatting import fmt, fmt_range, number
from foedus.interfaces.web.app import create_app
from foedus.interfaces.web.edits import apply_edits
from foedus.domain.metrics import TABLE_METRICS
from foedus.domain.vocabulary import BASES, Basis
from foedus.interfaces.web.service import BASELINE_KEYS, COMPARE_KEYS, MAX_FUTURES, MAX_PACKAGES, WORTH_SHOWN, Workspace
from web_server import GOOD

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"
ALL = sorted(p.stem for p in SCEN.glob("*.yaml"))


@pytest.fixture(scope="module")
def ws():
    return Workspace(SCEN)


@pytest.fixture(scope="module")
def client(ws):
    with TestClient(create_app(workspace=ws), raise_server_exceptions=False, base_url="http://localhost") as c:
        yield c


@pytest.fixture(scope="module")
def countries():
    return load_countries()


def _paths(ids):
    return [SCEN / f"{i}.yaml" for i in ids]


def _cut(packages: list[dict], keys=COMPARE_KEYS) -> list[dict]:
    """Each package's entry of the comparison record as /api/compare carries it."""
    return [{k: p[k] for k in keys if k in p} for p in packages]


def assert_same(a, b, path: str = "result") -> None:
    """The same structure and values, numbers equal to within floating-point
    rounding: the web app evaluates (and caches) each package on its own,
    ``foedus compare`` all of them together."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), (path, list(a), list(b) if isinstance(b, dict) else b)
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool) and isinstance(b, (int, float)):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)


def assert_clear_error(r, status=(400, 422)):
    assert r.status_code in ((status,) if isinstance(status, int) else status), (r.status_code, r.text)
    body = r.json()
    assert isinstance(body["detail"], str) and body["detail"].strip(), body
    assert "Traceback" not in r.text
    return body


# ---------------------------------------------------------------- basics


def test_health_meta_and_packages(client):
    h = client.get("/api/health").json()
    assert h["status"] == "ok" and h["packages"] == len(ALL) and h["scenario_problems"] == []
    meta = client.get("/api/meta").json()
    assert meta["limits"] == {"packages": MAX_PACKAGES, "futures": MAX_FUTURES, "body_bytes": 2 * 1024 * 1024}
    names = {a["name"] for a in meta["assumptions"]}
    assert {"will.USA", "will.default", "deterrence.resolve", "credibility.reliability_prior", "costs.soldier_year.expeditionary"} <= names
    for a in meta["assumptions"]:
        assert a["low"] <= a["value"] <= a["high"] and a["source"]
    assert meta["nato_marks"] == {"core_2014": 0.02, "core_2035": 0.035, "total_2035": 0.05}
    assert "Model estimates, not predictions" in meta["caption"]
    # the date of the data, as compare states it for the shipped packages
    from foedus.data.vintage import vintage

    countries = load_countries()
    shipped = load_packages(sorted(SCEN.glob("*.yaml")), countries)
    assert meta["data"] == vintage(ParameterSet.default(), countries, shipped).record()
    pk = client.get("/api/packages").json()["packages"]
    assert sorted(p["id"] for p in pk) == ALL
    cb = next(p for p in pk if p["id"] == "coalition-backstop")
    assert cb["levers"]["troops"]["GBR"] == 10000 and cb["sources"] and cb["origin"] == "shipped"


def test_assumption_sliders_name_existing_parameters_and_reach_the_named_scenarios(client, ws):
    """Every assumption slider sets a parameter that exists (a stale name,
    such as the old forces.force_generation, used to be dropped silently),
    the two drivers a reader asks about are there, titles are distinct, and
    each will slider spans every value a named will scenario gives it (the
    US walks away: 0), beyond the range it is sampled over."""
    from foedus.data.loaders import load_will_scenarios
    from foedus.interfaces.web.service import ASSUMPTIONS

    ps = ParameterSet.default()
    missing = [name for name, _, _ in ASSUMPTIONS if ps.describe(name) is None]
    assert missing == [], f"assumption sliders for parameters that do not exist: {missing}"
    meta = client.get("/api/meta").json()
    shown = {a["name"]: a for a in meta["assumptions"]}
    assert list(shown) == [name for name, _, _ in ASSUMPTIONS]
    assert shown["deterrence.floor_hazard"]["title"] == "Yearly risk no guarantee deters"
    assert shown["deterrence.decisive_window_days"]["title"] == "Days in which reinforcements must arrive"
    assert len({a["title"] for a in shown.values()}) == len(shown)
    assert "in Ukraine" not in shown["costs.soldier_year.expeditionary"]["title"]  # it is the contested band of every posture's cost
    for a in shown.values():
        spec = ps.describe(a["name"])
        assert a["value"] == spec.value and a["unit"] == spec.unit.value
        if spec.uncertainty is not None:
            assert a["sampled"] == [spec.uncertainty.low, spec.uncertainty.high]
            assert a["low"] <= spec.uncertainty.low and a["high"] >= spec.uncertainty.high
    fallback = {n for n in shown if n.startswith("will.") and ps.describe(n).name == "will.default"}
    for sc in load_will_scenarios().scenarios.values():
        for name, v in sc.set.items():
            for n in ({name} | (fallback if name == "will.default" else set())) & set(shown):
                assert shown[n]["low"] <= v <= shown[n]["high"], (n, v)
    assert shown["will.USA"]["low"] == 0.0 and shown["will.USA"]["high"] == 1.0


def test_will_scenarios_are_served(client):
    """GET /api/scenarios and /api/meta list the named will scenarios as
    data/will_scenarios.yaml gives them, in its order."""
    from foedus.data.loaders import load_will_scenarios

    want = load_will_scenarios().scenarios
    listed = client.get("/api/scenarios")
    assert listed.status_code == 200, listed.text
    got = listed.json()["scenarios"]
    assert [s["id"] for s in got] == list(want)
    for s in got:
        sc = want[s["id"]]
        assert s["title"] == sc.title and s["set"] == dict(sc.set) and s["option"] == f"--scenario {s['id']}"
        assert s["description"] == " ".join(sc.description.split())
        assert [r["title"] for r in s["references"]] == [r.title for r in sc.references]
    assert client.get("/api/meta").json()["will_scenarios"] == got


def test_table_shows_the_guarantee_apart_from_the_aid(client):
    """The side-by-side table lists the guarantee's own cost and the aid
    under the cost per year, and the comparison carries both."""
    meta = client.get("/api/meta").json()
    rows = meta["table_metrics"]
    i = rows.index("total_cost_usd_per_year")
    assert rows[i:i + 3] == ["total_cost_usd_per_year", "guarantee_cost_usd_per_year", "aid_usd_per_year"] == meta["cost_split"]
    assert [m for m in rows if m not in meta["cost_split"][1:]] == list(TABLE_METRICS)
    res = client.post("/api/compare", json={"packages": ["coalition-backstop", "status-quo"]}).json()
    for p in res["current"]["packages"]:
        for m in meta["cost_split"]:
            assert res["display"][p["id"]][m] == fmt(m, p["metrics"][m])
            assert res["range_display"][p["id"]][m] == fmt_range(m, p["ranges"][m])


def test_openapi_schema_documents_bounds(client):
    spec = client.get("/api/openapi.json").json()
    for path in ("/api/compare", "/api/scenarios", "/api/explore", "/api/packages", "/api/parameters/{name}", "/api/report", "/api/calibration"):
        assert path in spec["paths"], path
    schemas = spec["components"]["schemas"]
    assert schemas["Scenario"]["properties"]["packages"]["maxItems"] == MAX_PACKAGES
    assert schemas["ExploreRequest"]["properties"]["n_futures"]["maximum"] == MAX_FUTURES


def test_page_and_assets_are_local(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert refs and all(not u.startswith(("http://", "https://", "//")) for u in refs), refs
    assert "/static/vendor/plotly.min.js" in refs
    js = client.get("/static/vendor/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    for name in ("app.js", "style.css"):
        a = client.get(f"/static/{name}")
        assert a.status_code == 200 and "http://" not in a.text.replace("http://' + location", "")
    assert_clear_error(client.get("/static/../app.py"), 404)
    assert_clear_error(client.get("/static/secret.txt"), 404)
    assert "model estimates, not predictions" in r.text.lower()


# ---------------------------------------------------------------- compare


def test_compare_matches_python_api(client, countries):
    ids = ["status-quo", "coalition-backstop", "treaty"]
    r = client.post("/api/compare", json={"packages": ids})
    assert r.status_code == 200, r.text
    res = r.json()
    direct = comparison(load_packages(_paths(ids), countries), ParameterSet.default(), countries)
    assert_same(res["current"]["packages"], _cut(direct["packages"]))
    assert_same(res["baseline"]["packages"], _cut(direct["packages"], BASELINE_KEYS))
    for p in direct["packages"]:
        for m, v in p["metrics"].items():
            assert res["display"][p["id"]][m] == fmt(m, v)
    assert res["edited"] == [] and res["model_estimates_not_predictions"] is True


def test_override_moves_current_not_baseline(client, countries):
    ids = ["coalition-backstop", "treaty"]
    r = client.post("/api/compare", json={"packages": ids, "overrides": {"will.USA": 0.0}}).json()
    base = {p["id"]: p["metrics"] for p in r["baseline"]["packages"]}
    cur = {p["id"]: p["metrics"] for p in r["current"]["packages"]}
    for i in ids:  # the US backs both: without US will, attack becomes likelier
        assert cur[i]["attack_probability"] > base[i]["attack_probability"]
    direct = comparison(load_packages(_paths(ids), countries), ParameterSet.default().with_overrides({"will.USA": 0.0}), countries)
    assert_same(r["current"]["packages"], _cut(direct["packages"]))
    assert r["current"]["overrides"] == {"will.USA": 0.0}


def test_by_year_matches_the_study(client, countries):
    """/api/by-year: baseline and current year by year, each package's path as
    Study.by_year gives it (the web caches per package, the study evaluates
    them together), one value per year from the start year to the horizon,
    labelled from the metric catalogue."""
    from foedus.domain.metrics import YEAR, metric
    from foedus.interfaces.web.edits import apply_edits
    from foedus.study.study import Study

    ids = ["coalition-100k", "treaty"]
    edits = {"coalition-100k": {"troops": {"GBR": 40000}}}
    body = {"packages": ids, "overrides": {"will.USA": 0.2}, "edits": edits}
    r = client.post("/api/by-year", json=body)
    assert r.status_code == 200, r.text
    res = r.json()
    pkgs = load_packages(_paths(ids), countries)
    base = Study(pkgs, ParameterSet.default(), countries).by_year
    cur = Study(apply_edits(pkgs, edits, countries), ParameterSet.default().with_overrides({"will.USA": 0.2}), countries).by_year
    assert_same(res["baseline"], base)
    assert_same(res["current"], cur)
    assert res["current"]["years"] == list(range(cur["start_year"], cur["start_year"] + round(cur["horizon_years"])))
    assert res["charts"] == ["total_cost_usd_per_year", "troops_deployed", "attack_probability"]
    assert res["labels"] == {m: metric(m, YEAR).label for m in res["charts"]}
    for p in cur["packages"]:
        for m in res["charts"]:
            assert res["display"][p["id"]][m] == [fmt(m, v) for v in p["metrics"][m]]
        assert res["totals_display"][p["id"]]["cumulative_cost_usd"] == fmt("cumulative_cost_usd", p["totals"]["cumulative_cost_usd"])
    # the lever moved the current path only
    assert res["current"]["packages"][0]["metrics"]["troops_deployed"][-1] > res["baseline"]["packages"][0]["metrics"]["troops_deployed"][-1]
    assert res["edited"] == ["coalition-100k"]


def test_compare_ranges_over_futures(client):
    """Beside every central value: its 5th-95th percentile over the default
    sample of futures, from the comparison, with the string the page shows."""
    from foedus.exploration.compare import RANGE_FUTURES

    ids = ["status-quo", "coalition-backstop", "treaty"]
    res = client.post("/api/compare", json={"packages": ids}).json()
    rg = res["current"]["ranges"]
    assert rg["futures"] == RANGE_FUTURES and rg["sampler"] == "lhs" and rg["percentiles"] == [5, 50, 95]
    for p in res["current"]["packages"]:
        assert set(p["ranges"]) == set(p["metrics"]), p["id"]
        for m in TABLE_METRICS:
            r = p["ranges"][m]
            assert None not in (r["p5"], r["p50"], r["p95"]), (p["id"], m)
            assert r["p5"] <= r["p50"] <= r["p95"], (p["id"], m, r)
            assert res["range_display"][p["id"]][m] == fmt_range(m, r) != ""
    cb = next(p for p in res["current"]["packages"] if p["id"] == "coalition-backstop")
    assert cb["ranges"]["attack_probability"]["p95"] > cb["ranges"]["attack_probability"]["p5"]  # an uncertain outcome spreads
    # the ranges follow the assumptions: fixing US will changes the spread of the current packages, not of the baseline
    moved = client.post("/api/compare", json={"packages": ids, "overrides": {"will.USA": 0.0}}).json()
    cb2 = next(p for p in moved["current"]["packages"] if p["id"] == "coalition-backstop")
    assert cb2["ranges"]["attack_probability"] != cb["ranges"]["attack_probability"]
    assert_same(moved["baseline"]["packages"], res["baseline"]["packages"])


def test_whose_promise_counts(client, countries):
    """Per package, the attack probability without each guarantor, from the
    comparison, the guarantors whose absence raises it most first: every
    guarantor in /api/compare/detail, the first ``WORTH_SHOWN`` of them
    (and how many there are) in /api/compare."""
    ids = ["coalition-backstop", "status-quo", "nato"]
    res = client.post("/api/compare", json={"packages": ids}).json()
    assert list(res["worth"]) == ids == list(res["worth_all"])
    for pid in ids:
        detail = client.post("/api/compare/detail", json={"package": pid}).json()
        rows = detail["worth"]
        by = {g["iso3"]: g for g in detail["current"]["guarantors"]}
        assert sorted(r["iso3"] for r in rows) == sorted(by)
        assert res["worth"][pid] == rows[:WORTH_SHOWN] and res["worth_all"][pid]["count"] == len(rows)
        assert res["worth_all"][pid]["moves"] == any(r["display"]["attack_probability_without"] != r["display"]["attack_probability"] for r in rows)
        values = [r["attack_probability_without"] for r in rows]
        assert values == sorted(values, reverse=True)
        for r in rows:
            g = by[r["iso3"]]
            for k in ("attack_probability_without", "attack_probability_without_promises", "attack_probability_without_aid"):
                assert r[k] == g[k] and r[k] is not None, (pid, r["iso3"], k)  # all, only its promises, only its money
                assert r["display"][k] == fmt("attack_probability", g[k])
            assert r["approval_probability_without"] == g["approval_probability_without"]
            assert r["display"]["approval_probability_without"] == fmt("approval_probability", g["approval_probability_without"])
            assert r["display"]["attack_probability"] == res["display"][pid]["attack_probability"]
            assert r["name"] == countries[r["iso3"]].name
    assert len(res["worth"]["coalition-backstop"]) == WORTH_SHOWN < res["worth_all"]["coalition-backstop"]["count"]
    usa = next(r for r in res["worth"]["coalition-backstop"] if r["iso3"] == "USA")
    assert usa["name"] == countries["USA"].name
    # what the US promise is worth moves with US will (taken from the comparison under the override)
    low = client.post("/api/compare", json={"packages": ids, "overrides": {"will.USA": 0.05}}).json()
    usa_low = next(r for r in low["worth"]["coalition-backstop"] if r["iso3"] == "USA")
    cb_low = client.post("/api/compare/detail", json={"package": "coalition-backstop", "overrides": {"will.USA": 0.05}}).json()["current"]
    assert usa_low["attack_probability_without"] == next(g for g in cb_low["guarantors"] if g["iso3"] == "USA")["attack_probability_without"]


def test_compare_response_is_small(client):
    """/api/compare for every seed package carries what the page shows at
    once and stays under 150 KB of JSON (issue 18); the guarantors and
    commitments of each package are /api/compare/detail's."""
    ids = ALL
    assert len(ids) >= 12
    r = client.post("/api/compare", json={"packages": ids}, headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200, r.text
    assert "content-encoding" not in r.headers and int(r.headers["content-length"]) == len(r.content)  # the JSON itself
    assert len(r.content) < 150_000, f"/api/compare for {len(ids)} packages is {len(r.content):,} bytes"
    res = r.json()
    for side, keys in (("current", COMPARE_KEYS), ("baseline", BASELINE_KEYS)):
        assert [p["id"] for p in res[side]["packages"]] == ids
        assert all(list(p) == list(keys) for p in res[side]["packages"]), side
        assert "parameters" not in res[side]
    assert all(len(rows) <= WORTH_SHOWN for rows in res["worth"].values())


def test_answers_are_compressed_as_the_client_accepts(client):
    """A client that accepts Zstandard gets the same JSON in it, one that
    accepts only gzip gets gzip (the compressed bytes are kept with the
    answer), one that accepts neither, plain JSON."""
    from foedus.interfaces.web.app import compressed, encoding_for

    body = {"packages": ALL, "overrides": {"will.USA": 0.35}}
    plain = client.post("/api/compare", json=body, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    for accept, enc in (("gzip, deflate", "gzip"), ("gzip, deflate, br, zstd", "zstd")):
        for _ in range(2):  # computed, then kept
            r = client.post("/api/compare", json=body, headers={"Accept-Encoding": accept})
            assert r.status_code == 200 and r.headers["content-encoding"] == enc and "accept-encoding" in r.headers["vary"].lower()
            assert r.content == plain.content  # decoded by the client as the encoding it was told
            assert int(r.headers["content-length"]) == len(compressed(plain.content, enc)) < len(plain.content) / 4
    assert client.get("/api/meta", headers={"Accept-Encoding": "gzip;q=0"}).headers.get("content-encoding") is None
    assert [encoding_for(h) for h in ("gzip", "br, GZIP;q=0.5", "*", "identity", "", "gzip;q=0", "deflate, br", "zstd, gzip", "gzip, zstd;q=0",
                                      "*;q=0, gzip", "ZSTD;q=0.1", "gzip;q=x")] == [
        "gzip", "gzip", "zstd", None, None, None, None, "zstd", "gzip", "gzip", "zstd", None]


def test_every_answer_says_the_servers_own_time(client):
    """Server-Timing (``app;dur=MS``) on computed, kept and refused answers;
    a computed answer's includes the workspace's own time for it."""
    import re

    def dur(r) -> float:
        m = re.fullmatch(r"app;dur=(\d+\.\d\d)", r.headers.get("server-timing", ""))
        assert m, r.headers.get("server-timing")
        return float(m.group(1))

    body = {"package": "treaty", "overrides": {"will.USA": 0.4125}}
    computed = client.post("/api/compare/detail", json=body)
    assert computed.status_code == 200 and dur(computed) >= computed.json()["elapsed_ms"] > 0
    kept = client.post("/api/compare/detail", json=body)
    assert kept.content == computed.content and dur(kept) > 0
    assert dur(client.get("/api/health")) > 0
    refused = client.post("/api/compare/detail", json={"package": "no-such-package"})
    assert refused.status_code in (400, 404, 422) and dur(refused) > 0


def test_compare_detail_is_the_comparison_entry(client, countries):
    """/api/compare/detail gives one package's whole entry of the comparison
    record (``foedus compare --json``: guarantors with their commitments,
    collective decisions, approvals, hazard), current (lever edit, overrides,
    horizon) and baseline, the same numbers as the comparison of that
    package, and the same numbers /api/compare carries for it."""
    from foedus.domain.metrics import ELEMENT
    from foedus.interfaces.web.service import ELEMENT_SHOWN

    pid = "coalition-backstop"
    edit = {"troops": {"GBR": 18000}, "legal_form_of": {"USA": "ratified_treaty"}}
    state = {"overrides": {"will.USA": 0.3, "deterrence.resolve": 1.2}, "horizon": 7}
    r = client.post("/api/compare/detail", json={"package": pid, "edit": edit, **state})
    assert r.status_code == 200, r.text
    det = r.json()
    pkgs = load_packages(_paths([pid]), countries)
    ps = ParameterSet.default().with_overrides(state["overrides"])
    cur = comparison(apply_edits(pkgs, {pid: edit}, countries), ps, countries, 7)["packages"][0]
    base = comparison(pkgs, ParameterSet.default(), countries)["packages"][0]
    assert_same(det["current"], cur)
    assert_same(det["baseline"], base)
    assert det["package"] == pid and det["edited"] is True and det["horizon_years"] == 7
    assert any(g["elements"] for g in det["current"]["guarantors"]) and det["current"]["collective"]
    for entry, show in ((det["current"], det["element_display"]["current"]), (det["baseline"], det["element_display"]["baseline"])):
        for g in entry["guarantors"]:
            assert show[g["iso3"]] == [{m: fmt(m, e[m], ELEMENT) for m in ELEMENT_SHOWN} for e in g["elements"]]
        assert show["collective"] == [{m: fmt(m, e[m], ELEMENT) for m in ELEMENT_SHOWN} for e in entry["collective"]]
    # the lever moved the current entry, not the baseline
    gbr = lambda e: next(g for g in e["guarantors"] if g["iso3"] == "GBR")["troops_deployed"]  # noqa: E731
    assert gbr(det["current"]) != gbr(det["baseline"])
    # one computation: /api/compare carries exactly these numbers for the package
    res = client.post("/api/compare", json={"packages": ["treaty", pid], "edits": {pid: edit}, **state}).json()
    assert res["current"]["packages"][1] == _cut([det["current"]])[0]
    assert res["baseline"]["packages"][1] == _cut([det["baseline"]], BASELINE_KEYS)[0]
    assert res["worth"][pid] == det["worth"][:WORTH_SHOWN]
    assert res["baseline_guarantors"][pid] == [g["iso3"] for g in det["baseline"]["guarantors"]]


def test_compare_detail_bad_input(client):
    """Bad input to /api/compare/detail: a 4xx naming the field, never a traceback."""
    def field(r, status=422):
        body = assert_clear_error(r, status)
        return [p["field"] for p in body["problems"]]

    assert field(client.post("/api/compare/detail", json={"package": "no-such-package"})) == ["package"]
    assert "no-such-package" in client.post("/api/compare/detail", json={"package": "no-such-package"}).json()["detail"]
    assert field(client.post("/api/compare/detail", json={})) == ["package"]
    assert field(client.post("/api/compare/detail", json={"package": "Not An Id!"})) == ["package"]
    assert field(client.post("/api/compare/detail", json={"package": "treaty", "packages": ["treaty"]})) == ["packages"]
    assert field(client.post("/api/compare/detail", json={"package": "treaty", "edit": {"troops": {"GBR": -5}}})) == ["edit.troops.GBR"]
    assert field(client.post("/api/compare/detail", json={"package": "treaty", "overrides": {"no.such.parameter": 1}})) == ["no.such.parameter"]
    assert field(client.post("/api/compare/detail", json={"package": "treaty", "horizon": 0})) == ["horizon"]
    assert field(client.post("/api/compare/detail", content=b'{"package": ', headers={"content-type": "application/json"}), 400) == ["(body)"]
    assert field(client.post("/api/compare/detail", json=["treaty"])) == ["(body)"]


def test_calibration_and_parameter_basis(client):
    """GET /api/calibration: every target of data/calibration.yaml with the
    values of Calibration().results(); every parameter has a basis, counted."""
    import yaml
    from collections import Counter

    from foedus.exploration.calibration import Calibration

    cal = client.get("/api/calibration")
    assert cal.status_code == 200, cal.text
    cal = cal.json()
    data = yaml.safe_load((ROOT / "src" / "foedus" / "data" / "calibration.yaml").read_text(encoding="utf-8"))
    ids = list(data["targets"]) + list(data.get("identities") or {})  # fit targets and checks, then identities (shown, not checks)
    assert [t["id"] for t in cal["targets"]] == ids
    direct = {r.id: r for r in Calibration().results()}
    for t in cal["targets"]:
        d = direct[t["id"]]
        assert t["role"] == d.role and t["pass"] == d.passes and t["published"] == d.value and t["band"] == list(d.band)
        assert t["foedus"] == pytest.approx(d.model, rel=1e-9, nan_ok=True)
        assert t["display"] == {"published": number(d.value, d.unit), "band": f"{number(d.band[0], d.unit)}–{number(d.band[1], d.unit)}",
                                "foedus": number(d.model, d.unit)}
        assert [r["title"] for r in t["source_refs"]] and len(t["source_refs"]) == len(d.sources)
    assert cal["passed"]["fit"] == [sum(r.passes for r in direct.values() if r.role == "fit"), sum(r.role == "fit" for r in direct.values())]
    params = client.get("/api/parameters").json()
    basis = Counter(p["basis"] for p in params["parameters"])
    assert params["basis_counts"] == {b: basis.get(b, 0) for b in BASES}
    assert sum(params["basis_counts"].values()) == len(params["parameters"])
    assert params["basis_counts"]["anchored"] >= 1  # will.USA, deterrence.floor_hazard, ...
    meta = client.get("/api/meta").json()
    assert list(meta["basis"]) == list(BASES)
    assert meta["basis_labels"] == {b.value: b.label for b in Basis}
    assert meta["basis"]["anchored"] == "judgement (anchored): a value chosen by convention inside a band that named sources give"
    assert meta["basis"]["anchored"].startswith(meta["basis_labels"]["anchored"] + ":")
    calibrated = [p for p in params["parameters"] if p["basis"] == "calibrated"]
    assert calibrated, "no calibrated parameter"
    for p in calibrated:
        assert p["calibration"]["targets"] and set(p["calibration"]["targets"]) <= set(ids), p["name"]
        one = client.get(f"/api/parameters/{p['name']}").json()
        assert one["basis"] == "calibrated" and one["calibration"]["targets"] == p["calibration"]["targets"]


def test_lever_edits_and_reproduce_snippet(client, countries, monkeypatch):
    monkeypatch.chdir(ROOT)
    edits = {"coalition-backstop": {"troops": {"GBR": 20000, "ITA": 3000, "BEL": 0}, "legal_form": "ratified_treaty", "posture": "behind_dnipro", "aid_scale": 0.5}}
    body = {"packages": ["status-quo", "coalition-backstop"], "overrides": {"deterrence.resolve": 1.5}, "edits": edits, "horizon": 5}
    r = client.post("/api/compare", json=body)
    assert r.status_code == 200, r.text
    res = r.json()
    cur = {p["id"]: p for p in res["current"]["packages"]}
    base = {p["id"]: p for p in res["baseline"]["packages"]}
    lv = res["levers"]["coalition-backstop"]
    assert lv["troops"]["GBR"] == 20000 and lv["troops"]["ITA"] == 3000 and "BEL" not in lv["troops"]
    assert lv["legal_forms"] == ["ratified_treaty"] and lv["postures"] == ["behind_dnipro"]
    assert cur["coalition-backstop"]["metrics"]["troops_deployed"] != base["coalition-backstop"]["metrics"]["troops_deployed"]
    assert res["edited"] == ["coalition-backstop"] and res["horizon_years"] == 5
    # the Python snippet of the "reproduce this" panel gives the same numbers
    ns: dict = {}
    exec(res["reproduce"]["python"], ns)
    assert_same(_cut(ns["result"]["packages"]), res["current"]["packages"])
    cli = res["reproduce"]["cli"]
    assert "--set deterrence.resolve=1.5" in cli and "--horizon 5" in cli and "coalition-backstop-edited.yaml" in cli
    assert res["reproduce"]["downloads"] == [{"id": "coalition-backstop", "file": "coalition-backstop-edited.yaml"}]
    # the exported package file, compared by the CLI path, gives the same numbers too
    ex = client.post("/api/packages/coalition-backstop/export", json={"edit": edits["coalition-backstop"]})
    assert ex.status_code == 200 and "attachment" in ex.headers["content-disposition"]
    pkg = parse_package(ex.text, "edited.yaml", countries)
    sq = load_packages(_paths(["status-quo"]), countries)
    again = comparison(sq + [pkg], ParameterSet.default().with_overrides({"deterrence.resolve": 1.5}), countries, 5)
    assert_same(_cut(again["packages"]), res["current"]["packages"])


def test_apply_edits_rules(countries):
    [cb] = load_packages(_paths(["coalition-backstop"]), countries)
    [out] = apply_edits([cb], {"coalition-backstop": {"aid_scale": 0}}, countries)
    assert not any(c.kind.value.endswith("_aid") for c in out.commitments)
    [out] = apply_edits([cb], {"coalition-backstop": {"aid_usd": {"USA": 2e10, "DEU": 0}}}, countries)
    aid = {c.guarantor: c.usd_per_year for c in out.commitments if c.kind.value == "military_aid"}
    assert aid["USA"] == 2e10 and "DEU" not in aid
    [same] = apply_edits([cb], {"coalition-backstop": {}}, countries)
    assert same is cb
    from foedus.domain.errors import InputError

    [sq] = load_packages(_paths(["status-quo"]), countries)
    with pytest.raises(InputError):
        apply_edits([sq], {"status-quo": {"legal_form": "treaty-ish"}}, countries)
    with pytest.raises(InputError):
        apply_edits([sq], {"treaty": {"aid_scale": 2}}, countries)


# ---------------------------------------------------------------- uploads and parameters




def test_upload_then_compare(client):
    r = client.post("/api/packages", json={"text": GOOD, "name": "mine.yaml"})
    assert r.status_code == 201, r.text
    assert r.json()["id"] == "my-force" and r.json()["origin"] == "upload"
    res = client.post("/api/compare", json={"packages": ["my-force", "status-quo"]}).json()
    assert res["current"]["packages"][0]["metrics"]["troops_deployed"] == 5000
    assert "my-force.yaml" in res["reproduce"]["cli"]
    d = client.get("/api/packages/my-force").json()
    assert d["text"] == GOOD


def test_upload_errors_name_line_and_field(client):
    bad = GOOD.replace("troops: 5000", "troops: -5")
    b = assert_clear_error(client.post("/api/packages", json={"text": bad, "name": "mine.yaml"}), 422)
    line = bad.splitlines().index("  troops: -5") + 1
    assert any(p["field"].endswith("troops") and p["line"] == line for p in b["problems"]), b
    assert f"mine.yaml:{line}" in b["detail"]
    b = assert_clear_error(client.post("/api/packages", json={"text": "id: [unclosed", "name": "x.yaml"}), 422)
    assert b["problems"]
    b = assert_clear_error(client.post("/api/packages", json={"text": GOOD.replace("id: my-force", "id: treaty")}), 422)
    assert "shipped" in b["detail"]
    b = assert_clear_error(client.post("/api/packages/validate", json={"text": GOOD.replace("kyiv_position: accepted", "kyiv_position: maybe")}), 422)
    assert "kyiv_position" in b["detail"]
    assert client.post("/api/packages/validate", json={"text": GOOD}).json()["ok"] is True


@pytest.mark.parametrize("fixture, fragment", [("alias_bomb.yaml", "values once aliases (*name) are expanded"),
                                                ("deep_nesting.yaml", "nesting at most 64 levels deep")])
def test_hostile_uploads_get_a_clear_error_and_the_server_keeps_serving(client, fixture, fragment):
    """Issue 10: a 342-byte alias bomb grew the server by 100 MB/s without
    answering, and 5,000 nested lists gave a 500 and reset the connection."""
    text = (ROOT / "tests" / "fixtures" / "broken" / fixture).read_text()
    for url in ("/api/packages/validate", "/api/packages"):
        b = assert_clear_error(client.post(url, json={"text": text, "name": fixture}), 422)
        assert fragment in b["detail"] and fixture in b["detail"]
    assert client.get("/api/health").json()["status"] == "ok"


def test_parameters(client):
    allp = client.get("/api/parameters").json()["parameters"]
    assert len(allp) > 50 and all(p["references"] and p["unit"] for p in allp)
    p = client.get("/api/parameters/will.USA").json()
    spec = ParameterSet.default().describe("will.USA")
    assert p["unit"] == "probability" and p["source"] and p["basis"] == spec.basis.value
    assert (p["uncertainty"]["low"], p["uncertainty"]["high"]) == (spec.uncertainty.low, spec.uncertainty.high)
    ita = client.get("/api/parameters/will.ITA").json()
    assert ita["template"] == "will.default" and ita["name"] == "will.ITA"
    b = assert_clear_error(client.get("/api/parameters/will.USAA"), 422)
    assert "did you mean" in b["detail"]


# ---------------------------------------------------------------- malformed input


BAD_BODIES = [
    ("{not json", 400, "malformed JSON"),
    ("[1, 2]", 422, "(body)"),
    ('{"packages": []}', 422, "packages"),
    ('{"packages": "treaty"}', 422, "packages"),
    ('{"packages": ["Treaty!"]}', 422, "packages.0"),
    ('{"packages": ["nope"]}', 422, "nope"),
    ('{"packages": ["treaty", "treaty"]}', 422, "each package id once"),
    (json.dumps({"packages": [f"p{i}" for i in range(MAX_PACKAGES + 1)]}), 422, "packages"),
    ('{"packages": ["treaty"], "overrides": {"will.USA": 3}}', 422, "will.USA"),
    ('{"packages": ["treaty"], "overrides": {"will.USA": "high"}}', 422, "overrides.will.USA"),
    ('{"packages": ["treaty"], "overrides": {"will.USAX": 0.3}}', 422, "did you mean"),
    ('{"packages": ["treaty"], "overrides": {"escalation.clash_rate.western_ukraine": 0.9}}', 422, "ordering"),
    ('{"packages": ["treaty"], "edits": {"status-quo": {"aid_scale": 2}}}', 422, "selected package"),
    ('{"packages": ["treaty"], "edits": {"treaty": {"troops": {"GBR": -1}}}}', 422, "troops.GBR"),
    ('{"packages": ["treaty"], "edits": {"treaty": {"troops": {"gbr": 100}}}}', 422, "troops.gbr"),
    ('{"packages": ["treaty"], "edits": {"treaty": {"wings": 3}}}', 422, "wings"),
    ('{"packages": ["treaty"], "edits": {"treaty": {"posture": "moon"}}}', 422, "posture"),
    ('{"packages": ["status-quo"], "edits": {"status-quo": {"troops": {"USA": 0}, "aid_scale": 0, "legal_form": "ratified_treaty"}}}', 200, None),
    ('{"packages": ["treaty"], "horizon": 0}', 422, "horizon"),
    ('{"packages": ["treaty"], "extra": 1}', 422, "extra"),
]


@pytest.mark.parametrize("route", ["/api/compare", "/api/scenarios"])
@pytest.mark.parametrize("body,status,needle", BAD_BODIES)
def test_compare_rejects_malformed_input(client, body, status, needle, route):
    """The same body, the same answer from /api/compare and /api/scenarios
    (whose will overrides are set aside, but checked all the same)."""
    r = client.post(route, content=body, headers={"content-type": "application/json"})
    if status == 200:
        assert r.status_code == 200, r.text
        return
    b = assert_clear_error(r, status)
    assert needle in b["detail"], b["detail"]


BAD_EXPLORE = [
    ({"packages": ["treaty"], "n_futures": MAX_FUTURES + 1}, "n_futures"),
    ({"packages": ["treaty"], "n_futures": 0}, "n_futures"),
    ({"packages": ["treaty"], "n_futures": 100, "thresholds": ["attack_probability<<0.1"]}, "METRIC<=VALUE"),
    ({"packages": ["treaty"], "n_futures": 100, "thresholds": ["atack_probability<=0.1"]}, "attack_probability"),
    ({"packages": ["treaty"], "n_futures": 100, "thresholds": ["attack_probability<=0.1"] * 9}, "thresholds"),
    ({"packages": ["treaty"], "n_futures": 100, "focus": "nato"}, "focus"),
    ({"packages": ["treaty"], "n_futures": 100, "sampler": "random"}, "sampler"),
    ({"packages": ["treaty"], "n_futures": 100, "seed": -1}, "seed"),
]


@pytest.mark.parametrize("body,needle", BAD_EXPLORE)
def test_explore_rejects_malformed_input(client, body, needle):
    b = assert_clear_error(client.post("/api/explore", json=body), 422)
    assert needle in b["detail"], b["detail"]


def test_unknown_routes_and_packages(client):
    assert_clear_error(client.get("/api/packages/nope"), 404)
    assert_clear_error(client.post("/api/packages/nope/export", json={}), 404)
    assert_clear_error(client.get("/api/nothing"), 404)
    assert_clear_error(client.get("/api/compare"), 405)


def test_request_size_is_bounded(client):
    big = b'{"packages": ["treaty"], "pad": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    b = assert_clear_error(client.post("/api/compare", content=big, headers={"content-type": "application/json"}), 413)
    assert "larger than" in b["detail"]

    def chunks():  # no Content-Length: the limit still holds while streaming
        yield b'{"packages": ["treaty"], "pad": "'
        for _ in range(40):
            yield b"x" * 100_000
        yield b'"}'

    assert_clear_error(client.post("/api/compare", content=chunks(), headers={"content-type": "application/json"}), 413)
    text = "x" * (600 * 1024)
    assert_clear_error(client.post("/api/packages", json={"text": text}), 422)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
    max_leaves=12,
)
scenario_like = st.fixed_dictionaries(
    {"packages": st.one_of(st.lists(st.sampled_from(ALL + ["nope", "X", ""]), max_size=4), json_values)},
    optional={
        "overrides": st.one_of(st.dictionaries(st.sampled_from(["will.USA", "deterrence.resolve", "will.XXX", "forces.rotation_ratio"]), st.floats(-5, 5), max_size=3), json_values),
        "edits": st.one_of(st.dictionaries(st.sampled_from(ALL), st.fixed_dictionaries({}, optional={
            "troops": st.dictionaries(st.sampled_from(["GBR", "USA", "FRA", "XXX", "NATO"]), st.integers(-10, 200_000), max_size=3),
            "legal_form": st.sampled_from(["ratified_treaty", "political_declaration", "bogus", None]),
            "posture": st.sampled_from(["contact_line", "offshore", "moon", None]),
            "aid_scale": st.floats(-1, 12),
            "aid_usd": st.dictionaries(st.sampled_from(["USA", "EU", "DEU"]), st.floats(-1, 1e11), max_size=2)}), max_size=2), json_values),
        "horizon": st.one_of(st.floats(-5, 200), json_values),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=st.one_of(scenario_like, json_values))
def test_compare_never_500(client, body):
    r = client.post("/api/compare", json=body)
    assert r.status_code in (200, 400, 404, 422), (body, r.status_code, r.text)
    if r.status_code != 200:
        assert r.json()["detail"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=st.one_of(scenario_like, json_values))
def test_scenarios_never_500(client, body):
    r = client.post("/api/scenarios", json=body)
    assert r.status_code in (200, 400, 404, 422), (body, r.status_code, r.text)
    if r.status_code != 200:
        assert r.json()["detail"]


# ---------------------------------------------------------------- futures


def test_explore_robustness_and_failure_box(client, countries):
    from foedus.exploration.explore import explore_memory
    from foedus.exploration.robustness import parse_threshold

    ids = ["status-quo", "coalition-backstop", "treaty"]
    ths = ["attack_probability<=0.1"]
    body = {"packages": ids, "n_futures": 400, "seed": 3, "thresholds": ths, "focus": "coalition-backstop", "overrides": {"will.USA": 0.3}}
    r = client.post("/api/explore", json=body)
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["n_futures"] == 400 and res["packages"] == ids and "will.USA" not in res["input_names"]
    assert res["fixed_by_overrides"] == ["will.USA"]
    direct = explore_memory(load_packages(_paths(ids), countries), ParameterSet.default().with_overrides({"will.USA": 0.3}), countries, 400, 3,
                            thresholds=[parse_threshold(t) for t in ths])
    got = {x["id"]: x for x in res["robustness"]}
    for d in direct.robustness:
        assert got[d["id"]]["satisficing"] == pytest.approx(d["satisficing"])
        assert got[d["id"]]["regret"]["attack_probability"] == pytest.approx(d["regret"]["attack_probability"])
        assert got[d["id"]]["percentiles"]["attack_probability"] == pytest.approx(d["percentiles"]["attack_probability"])
    assert len(res["baseline_robustness"]) == 3
    box = res["failure_box"]
    assert box["package"] == "coalition-backstop" and box["status"] in ("box", "never_fails", "always_fails")
    if box["status"] == "box":
        assert 0 < box["coverage"] <= 1 and 0 < box["density"] <= 1
        assert box["trajectory"][0]["coverage"] == pytest.approx(1.0)
        for rr in box["restricted"]:
            assert rr["data_low"] <= rr["low"] <= rr["high"] <= rr["data_high"]
    assert "foedus explore" in res["reproduce"]["explore_cli"] and "--futures 400" in res["reproduce"]["explore_cli"]
    again = client.post("/api/explore", json=body).json()  # served from the per-package cache
    assert again["robustness"] == res["robustness"]
    disc = client.post("/api/discover", json=body)
    assert disc.status_code == 200 and disc.json()["failure_box"] == box
    b = assert_clear_error(client.post("/api/discover", json={**body, "focus": None}), 422)
    assert "focus" in b["detail"]


def test_report_endpoint_is_self_contained(client):
    r = client.post("/api/report", json={"packages": ["status-quo", "treaty"], "overrides": {"will.USA": 0.2}})
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)="https?://', r.text)
    assert "Sources" in r.text and "will.USA" in r.text


def test_cli_serve_starts_uvicorn_on_localhost(tmp_path):
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("foedus")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "foedus.interfaces.cli.main"]
    proc = subprocess.Popen(cmd + ["serve", "--port", str(port), "--scenarios", str(SCEN), "--log-level", "warning", "--workers", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        for _ in range(300):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        assert r.json()["packages"] == len(ALL)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    out = subprocess.run(cmd + ["serve", "--scenarios", str(tmp_path / "missing")], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2 and "not a folder" in out.stderr and "Traceback" not in out.stderr


any_floats = st.floats(allow_nan=True, allow_infinity=True)
answer_like = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | any_floats | st.text(max_size=12),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
    max_leaves=16,
)


def _finite_or_none(v):
    if isinstance(v, float):
        return v if v == v and abs(v) != float("inf") else None
    if isinstance(v, dict):
        return {k: _finite_or_none(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finite_or_none(x) for x in v]
    return v


@settings(max_examples=300, deadline=None)
@given(answer_like)
def test_answers_are_written_as_json_that_reads_back_the_same(value):
    """What the server sends (``responses.json_bytes``, orjson with the
    standard library for what orjson does not take, integers beyond 64
    bits) reads back as the same values, every float to the last bit, with
    NaN and infinities as null, which JSON cannot carry."""
    from foedus.interfaces.web.responses import json_bytes

    got = json.loads(json_bytes(value))
    assert json.dumps(got, sort_keys=True) == json.dumps(_finite_or_none(value), sort_keys=True)
