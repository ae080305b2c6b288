"""The design search in the web app: ``GET /api/designs`` lists the design
files beside the scenarios, ``POST /api/optimise`` answers with exactly the
record of :class:`foedus.study.design_search.DesignSearch` and offers each
design on the front as an uploaded package (listed, compared, exported);
bad input gets a clear 4xx; and in a real Chromium, clicking a point of the
trade-off chart compares that design with its base pinned beside it.

Searches here are tiny (at most 200 futures, population 12, 4 generations):
the machine's two cores are shared.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from foedus.data.loaders import load_countries
from foedus.data.parameter_set import ParameterSet
from foedus.interfaces.web.app import create_app
from foedus.interfaces.web.security import limit_name
from foedus.interfaces.web.service import OPTIMISE_BOUNDS, Workspace, default_designs
from foedus.study.design_search import DesignSearch
from web_server import thread_server

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"
BASE = SCEN / "coalition-backstop.yaml"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]

#: Small enough to search in about a second; its front has two designs at
#: these settings (so the chart has points to click).
DESIGN = """\
id: web-test
title: Web test search over the coalition backstop
question: The cheapest British and French force that keeps the attack probability below 20% in 80% of futures.
base: {base}
guarantors:
  GBR:
    required: true
    troops: {{low: 0, high: 20000, step: 10000}}
    legal_forms: [executive_agreement, ratified_treaty]
  FRA:
    required: true
    troops: {{low: 0, high: 20000, step: 20000}}
  POL: {{}}
terms:
  monitoring: optional
objectives: [total_cost_usd_per_year, "attack_probability:p80"]
constraints:
  - "attack_probability:p80 <= 20%"
"""
SMALL = {"design": "web-test", "futures": 100, "population": 12, "generations": 3, "seed": 0}
#: What differs between two runs of the same search: timings.
TIMINGS = ("seconds", "evaluation_seconds")


def _designs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "web-test.yaml").write_text(DESIGN.format(base=BASE), encoding="utf-8")
    return folder


def _untimed(rec: dict) -> dict:
    rec = json.loads(json.dumps(rec))
    for k in TIMINGS:
        rec["search"].pop(k, None)
    for k in ("uploaded", "base_package", "base_note", "elapsed_ms"):
        rec.pop(k, None)
    return rec


@pytest.fixture(scope="module")
def designs(tmp_path_factory):
    return _designs(tmp_path_factory.mktemp("designs"))


@pytest.fixture(scope="module")
def ws(designs):
    return Workspace(SCEN, designs=designs)


@pytest.fixture(scope="module")
def client(ws):
    with TestClient(create_app(workspace=ws, warm=False), raise_server_exceptions=False, base_url="http://localhost") as c:
        yield c


@pytest.fixture(scope="module")
def found(client):
    r = client.post("/api/optimise", json=SMALL)
    assert r.status_code == 200, r.text
    return r.json()


def _clear_error(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert isinstance(body["detail"], str) and body["detail"].strip()
    assert "Traceback" not in r.text
    return body


# ------------------------------------------------------------ the design files on offer


def test_designs_are_found_beside_the_scenarios_folder(tmp_path):
    # the app's default: designs/ beside scenarios/ (the repository's seed design)
    with TestClient(create_app(SCEN, warm=False), base_url="http://localhost") as c:
        r = c.get("/api/designs").json()
    seed = next(d for d in r["designs"] if d["id"] == "european-force-us-air")
    assert seed["title"] == "European force with a US air backstop"
    assert seed["base"] == "coalition-backstop" and seed["question"].startswith("The cheapest European package")
    assert "attack_probability:p80" in seed["objectives"] and "no-shortfall" in seed["constraints"]
    assert r["folder"] == "designs" and r["problems"] == []
    assert r["bounds"] == {k: list(v) for k, v in OPTIMISE_BOUNDS.items()}
    assert r["defaults"]["futures"] <= r["bounds"]["futures"][1]
    # a scenarios folder with no designs beside it offers none
    (tmp_path / "scen").mkdir()
    assert default_designs(tmp_path / "scen") is None
    assert Workspace(tmp_path / "scen").design_list() == []


def test_a_broken_design_file_is_reported_and_skipped(tmp_path):
    folder = _designs(tmp_path / "designs")
    (folder / "broken.yaml").write_text(DESIGN.format(base="no-such-package.yaml").replace("id: web-test", "id: broken"), encoding="utf-8")
    with TestClient(create_app(workspace=Workspace(SCEN, designs=folder), warm=False), base_url="http://localhost") as c:
        r = c.get("/api/designs").json()
        health = c.get("/api/health").json()
    assert [d["id"] for d in r["designs"]] == ["web-test"]
    assert len(r["problems"]) == 1 and "broken.yaml" in r["problems"][0] and "base" in r["problems"][0]
    assert health["designs"] == 1 and health["design_problems"] == r["problems"]


# ------------------------------------------------------------ the search


def test_the_record_is_the_design_searchs(found, designs):
    """The web app renders DesignSearch's record; it computes none of it."""
    direct = DesignSearch(designs / "web-test.yaml", ParameterSet.default(), load_countries(), futures=100, seed=0, population=12,
                          generations=3, max_designs=12)
    assert _untimed(found) == _untimed(direct.record)
    assert found["design"]["id"] == "web-test" and found["base"]["id"] == "coalition-backstop"
    assert len(found["front"]) >= 2, "the test design should give a front of at least two designs"
    assert found["reproduce"].startswith("foedus optimise ") and "--population 12" in found["reproduce"]


def test_front_members_are_offered_as_uploads(client, found, designs, tmp_path):
    ids = [m["id"] for m in found["front"]]
    assert [u["id"] for u in found["uploaded"]] == ids
    assert found["base_package"] == "coalition-backstop"  # a shipped package: not uploaded again
    listed = {p["id"]: p for p in client.get("/api/packages").json()["packages"]}
    for m in found["front"]:
        assert listed[m["id"]]["origin"] == "upload" and listed[m["id"]]["title"] == m["title"]
    # the package files are those `foedus optimise -o DIR` writes, byte for byte
    direct = DesignSearch(designs / "web-test.yaml", ParameterSet.default(), load_countries(), futures=100, seed=0, population=12,
                          generations=3, max_designs=12)
    written = {f.stem: f.read_text(encoding="utf-8") for f in direct.write(tmp_path / "found")}
    assert sorted(written) == sorted(ids)
    for pid in ids:
        assert client.get(f"/api/packages/{pid}").json()["text"] == written[pid]
        exported = client.post(f"/api/packages/{pid}/export", json={})
        assert exported.status_code == 200 and exported.text == written[pid]
    # compared beside the base: the central values are the record's summary
    pid = ids[0]
    cmp = client.post("/api/compare", json={"packages": ["coalition-backstop", pid]}).json()
    cur = {p["id"]: p["metrics"] for p in cmp["current"]["packages"]}
    for m in ("total_cost_usd_per_year", "attack_probability", "approval_probability"):
        assert cur[pid][m] == pytest.approx(found["front"][0]["summary"][m], rel=1e-9)
        assert cur["coalition-backstop"][m] == pytest.approx(found["base"]["summary"][m], rel=1e-9)


def test_a_deleted_design_comes_back_with_the_next_search(client, found):
    pid = found["front"][-1]["id"]
    assert client.delete(f"/api/packages/{pid}").status_code == 200
    assert pid not in [p["id"] for p in client.get("/api/packages").json()["packages"]]
    t0 = time.perf_counter()
    again = client.post("/api/optimise", json=SMALL)
    assert again.status_code == 200
    assert _untimed(again.json()) == _untimed(found)  # the same answer (kept, not searched again)
    assert again.json()["elapsed_ms"] == found["elapsed_ms"] and time.perf_counter() - t0 < 5
    assert pid in [p["id"] for p in client.get("/api/packages").json()["packages"]]


def test_another_seed_is_another_search(client, found):
    r = client.post("/api/optimise", json={**SMALL, "seed": 1, "generations": 2})
    assert r.status_code == 200
    assert r.json()["settings"]["seed"] == 1 and r.json()["settings"]["generations"] == 2
    assert r.json()["search"]["candidates"] != found["search"]["candidates"] or r.json()["front"] != found["front"]


def test_a_worker_process_searches_exactly_as_the_server_process(designs, found):
    """With a compute pool the search runs in a worker (which finds the
    same design files): the same record, the designs offered the same."""
    from foedus.interfaces.web.pool import ComputePool

    pool = ComputePool(SCEN, 1, designs=designs)
    try:
        with TestClient(create_app(workspace=Workspace(SCEN, designs=designs), warm=False, pool=pool), raise_server_exceptions=False,
                        base_url="http://localhost") as c:
            r = c.post("/api/optimise", json=SMALL)
            assert r.status_code == 200, r.text
            assert _untimed(r.json()) == _untimed(found)
            assert [u["id"] for u in r.json()["uploaded"]] == [m["id"] for m in found["front"]]
            listed = [p["id"] for p in c.get("/api/packages").json()["packages"]]
            assert all(m["id"] in listed for m in found["front"])
    finally:
        pool.close()


# ------------------------------------------------------------ bad input


@pytest.mark.parametrize("body, field", [
    ({"design": "no-such-design"}, "no-such-design"),
    ({"design": "../etc/passwd"}, "design"),
    ({**SMALL, "futures": OPTIMISE_BOUNDS["futures"][1] + 1}, "futures"),
    ({**SMALL, "futures": 0}, "futures"),
    ({**SMALL, "population": OPTIMISE_BOUNDS["population"][1] + 1}, "population"),
    ({**SMALL, "population": 1}, "population"),
    ({**SMALL, "generations": OPTIMISE_BOUNDS["generations"][1] + 1}, "generations"),
    ({**SMALL, "generations": "many"}, "generations"),
    ({**SMALL, "seed": -1}, "seed"),
    ({**SMALL, "objectives": ["cost"]}, "objectives"),
    ({**SMALL, "overrides": {"no.such.parameter": 1}}, "no.such.parameter"),
    ({"futures": 100}, "design"),
])
def test_bad_input_gets_a_clear_422(client, body, field):
    out = _clear_error(client.post("/api/optimise", json=body), 422)
    assert field in out["detail"] or any(field in (p["field"] or "") for p in out["problems"]), out
    if body.get("design") == "no-such-design":
        assert "web-test" in out["detail"]  # names the designs on offer


def test_malformed_json_gets_400(client):
    _clear_error(client.post("/api/optimise", content=b"{design:", headers={"content-type": "application/json"}), 400)


def test_a_second_search_waits_then_gets_503(ws, client):
    ws.optimise_wait = 0.2
    try:
        with ws.one_optimise():  # another search holds the slot
            r = client.post("/api/optimise", json={**SMALL, "seed": 7})
        out = _clear_error(r, 503)
        assert "busy" in out["detail"] and r.headers["retry-after"]
    finally:
        ws.optimise_wait = 30.0


def test_full_uploads_refuse_the_search_and_change_nothing(designs):
    small = Workspace(SCEN, designs=designs, max_uploads=1)
    with TestClient(create_app(workspace=small, warm=False), raise_server_exceptions=False, base_url="http://localhost") as c:
        out = _clear_error(c.post("/api/optimise", json=SMALL), 409)
        assert "delete" in out["detail"]
        assert [p for p in c.get("/api/packages").json()["packages"] if p["origin"] == "upload"] == []


def test_a_search_counts_as_an_exploration_for_the_rate_limit():
    assert limit_name("POST", "/api/optimise") == "explore"
    assert limit_name("GET", "/api/designs") is None


# ------------------------------------------------------------ in a real browser


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium); no browser is downloaded")
def test_click_a_design_to_compare_it_with_the_base_pinned(tmp_path):
    """Run a tiny search from the panel, click a point of the trade-off
    chart: the design joins the comparison, its base is pinned beside it,
    and the figures are those the API gives for the design and the base."""
    from playwright.sync_api import sync_playwright

    ws = Workspace(SCEN, designs=_designs(tmp_path / "designs"))
    with thread_server(create_app(workspace=ws, warm=False)) as server:
        _click_a_design(sync_playwright, server)


def _click_a_design(sync_playwright, server: str) -> None:
    outside, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})

        def route(r):
            if r.request.url.startswith(server) or r.request.url.startswith(("data:", "blob:")):
                return r.continue_()
            outside.append(r.request.url)
            return r.abort()

        pg.route("**/*", route)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(f"{server}/#p=coalition-backstop&live=0")
        pg.wait_for_selector("body[data-ready='1']", timeout=30000)
        pg.wait_for_function("() => document.querySelectorAll('#ds-design option').length > 0", timeout=15000)
        assert "coalition-backstop" in pg.locator('[data-testid="ds-about"]').inner_text()
        for k in ("futures", "population", "generations"):
            pg.fill(f'[data-testid="ds-{k}"]', str(SMALL[k]))
        pg.locator('[data-testid="ds-run"]').click()
        pg.wait_for_selector("body[data-ds-done]", timeout=90000)
        api = httpx.post(f"{server}/api/optimise", json={**SMALL, "overrides": {}}, timeout=60).json()
        front = api["front"]
        assert len(front) >= 2
        assert "front: " in pg.locator('[data-testid="ds-message"]').inner_text()

        # the chart: one point per design (cost against the p80 attack, coloured by approval), the base apart
        chart = pg.evaluate("""() => { const d = document.getElementById('ds-chart').data;
            return d.map((t) => ({ x: t.x, y: t.y, ids: t.customdata.map((c) => c[0]), color: t.marker.color, text: t.text || null })); }""")
        assert chart[0]["ids"] == [m["id"] for m in front]
        assert chart[0]["x"] == pytest.approx([m["objectives"]["total_cost_usd_per_year:central"] / 1e9 for m in front], rel=1e-12)
        assert chart[0]["y"] == pytest.approx([m["objectives"]["attack_probability:p80"] for m in front], rel=1e-12)
        assert chart[0]["color"] == pytest.approx([m["summary"]["approval_probability"] for m in front], rel=1e-12)
        assert chart[1]["ids"] == ["coalition-backstop"] and "base" in chart[1]["text"][0]
        # the table under it
        assert pg.locator('[data-testid^="ds-row-"]').count() == len(front) + 1
        # the designs are in the package list
        for m in front:
            assert pg.locator(f'[data-testid="pick-{m["id"]}"]').count() == 1

        # click the second design's point
        i = 1
        pid = front[i]["id"]
        pg.locator('[data-testid="ds-chart"]').scroll_into_view_if_needed()
        xy = pg.evaluate("""(i) => { const gd = document.getElementById('ds-chart'); const fl = gd._fullLayout, t = gd._fullData[0];
            const r = gd.getBoundingClientRect(); return [r.left + fl._size.l + fl.xaxis.l2p(t.x[i]), r.top + fl._size.t + fl.yaxis.l2p(t.y[i])]; }""", i)
        pg.mouse.click(*xy)
        pg.wait_for_selector(f'[data-testid="bl-pin-{pid}-attack_probability"]', timeout=30000)
        q = {k: v[0] for k, v in parse_qs(urlsplit(pg.url).fragment).items()}
        assert q["p"].split(",") == ["coalition-backstop", pid] and q["f"] == pid
        assert json.loads(q["pin"])["as"] == {pid: "coalition-backstop"}
        note = pg.locator('[data-testid="pin-note"]').inner_text()
        assert "coalition-backstop (the base package) in place of the design " + pid in note
        # current: the design; pinned beside it: the base (as the API compares them)
        cmp = httpx.post(f"{server}/api/compare", json={"packages": ["coalition-backstop", pid]}, timeout=60).json()
        cur = {p["id"]: p["metrics"] for p in cmp["current"]["packages"]}
        for m in ("attack_probability", "total_cost_usd_per_year", "approval_probability"):
            assert float(pg.locator(f'[data-testid="bl-{pid}-{m}"]').get_attribute("data-value")) == cur[pid][m]
            assert float(pg.locator(f'[data-testid="bl-pin-{pid}-{m}"]').get_attribute("data-value")) == cur["coalition-backstop"][m]
        assert cur[pid]["total_cost_usd_per_year"] != cur["coalition-backstop"]["total_cost_usd_per_year"]
        # the side-by-side table: a pinned column holding the base's figure
        pg.locator('[data-testid="tab-table"]').click()
        assert float(pg.locator(f'[data-testid="pin-cell-{pid}-attack_probability"]').get_attribute("data-value")) == cur["coalition-backstop"]["attack_probability"]
        assert pg.locator(f'[data-testid="ds-row-{pid}"]').get_attribute("class").endswith("chosen")
        browser.close()
    assert not outside, f"the page tried to reach the network: {outside}"
    assert not errors, f"JavaScript errors: {errors}"
