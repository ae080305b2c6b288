"""The web page in a real headless Chromium against a real uvicorn server:
move sliders, see the displayed metrics change and equal the API's, share
the view by URL, open a parameter's source, and work with no network.

Needs Debian's /usr/bin/chromium (no downloaded browser); skipped with a
reason when it is missing. Saves test-artifacts/web.png (1400 px) and
web-phone.png (390 px); with FOEDUS_UPDATE_DOCS_IMG=1 also docs/img/.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from web_server import thread_server

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium); no browser is downloaded"),
]


@pytest.fixture(scope="module")
def server():
    from foedus.interfaces.web.app import create_app

    with thread_server(create_app(ROOT / "scenarios")) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = ctx.new_page()
    outside: list[str] = []
    errors: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(server) or url.startswith(("data:", "blob:")):
            return r.continue_()
        outside.append(url)
        return r.abort()

    pg.route("**/*", route)  # offline: anything not from our server fails
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.outside, pg.errors = outside, errors
    yield pg
    ctx.close()
    assert not outside, f"the page tried to reach the network: {outside}"
    assert not errors, f"JavaScript errors: {errors}"


def _state(url: str) -> dict:
    """The view state the page keeps in its URL hash, as an API body."""
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).fragment, keep_blank_values=True).items()}
    body = {"packages": q["p"].split(","), "overrides": {}, "edits": json.loads(q["e"]) if q.get("e") else {}}
    for part in filter(None, q.get("o", "").split(",")):
        k, _, v = part.rpartition(":")
        body["overrides"][k] = float(v)
    if q.get("h"):
        body["horizon"] = float(q["h"])
    return body


def _cell(pg, pid: str, metric: str):
    return pg.locator(f'[data-testid="cell-{pid}-{metric}"]')


def _wait_change(pg, pid: str, metric: str, old: str, timeout: float = 15000):
    pg.wait_for_function(
        "([sel, old]) => { const e = document.querySelector(sel); return e && e.dataset.value !== old; }",
        arg=[f'[data-testid="cell-{pid}-{metric}"]', old], timeout=timeout)
    pg.wait_for_function("() => !document.getElementById('status').textContent.startsWith('updating')", timeout=timeout)


def _move(pg, testid: str, value) -> None:
    pg.locator(f'[data-testid="{testid}"]').fill(str(value))


def test_slider_moves_metric_and_matches_api(page, server):
    pg = page
    pg.goto(f"{server}/#v=table&n=500&live=0&t=attack_probability%3C%3D0.1")
    pg.wait_for_selector("body[data-ready='1']", timeout=30000)
    pid, metric = "coalition-backstop", "attack_probability"
    before_val = _cell(pg, pid, metric).get_attribute("data-value")
    before_txt = _cell(pg, pid, metric).inner_text()

    # an assumption about the world: the US walks away
    _move(pg, "assume-will.USA", 0)
    _wait_change(pg, pid, metric, before_val)
    assert "will.USA%3A0" in pg.url or "will.USA:0" in pg.url
    state = _state(pg.url)
    assert state["overrides"] == {"will.USA": 0.0}
    api = httpx.post(f"{server}/api/compare", json=state, timeout=30).json()
    shown = _cell(pg, pid, metric)
    assert float(shown.get_attribute("data-value")) == api["current"]["packages"][[p["id"] for p in api["current"]["packages"]].index(pid)]["metrics"][metric]
    assert shown.inner_text() == api["display"][pid][metric]
    assert shown.inner_text() != before_txt or shown.get_attribute("data-value") != before_val
    # baseline stays beside it
    assert api["baseline_display"][pid][metric] in shown.locator("xpath=..").inner_text()

    # a lever of the package: more British troops cost more
    cost_before = _cell(pg, pid, "total_cost_usd_per_year").get_attribute("data-value")
    _move(pg, "troops-GBR", 20000)
    _wait_change(pg, pid, "total_cost_usd_per_year", cost_before)
    state = _state(pg.url)
    assert state["edits"] == {pid: {"troops": {"GBR": 20000}}}
    api = httpx.post(f"{server}/api/compare", json=state, timeout=30).json()
    for m in ("total_cost_usd_per_year", "attack_probability", "troops_deployed", "max_cost_pct_gdp"):
        assert _cell(pg, pid, m).inner_text() == api["display"][pid][m], m
    assert float(cost_before) < float(_cell(pg, pid, "total_cost_usd_per_year").get_attribute("data-value"))

    # the reproduce panel says how to get the same numbers
    assert "--set will.USA=0" in pg.locator("#repro-cli").inner_text()
    assert "apply_edits" in pg.locator("#repro-python").inner_text()

    # robustness across futures and the failure box render (run once, not on every move, to keep the test short)
    pg.locator("#run-futures").click()
    pg.wait_for_function("() => document.body.dataset.exploreDone", timeout=45000)
    pg.wait_for_selector("#satisficing-chart .main-svg", timeout=10000)
    pg.locator("#guarantor-view").scroll_into_view_if_needed()  # its detail is asked for when it comes into view
    pg.wait_for_selector("#cost-chart .main-svg", timeout=10000)
    pg.wait_for_selector("#force-chart .main-svg", timeout=10000)
    assert pg.locator("#box-message").inner_text().startswith(pid)

    ARTIFACTS.mkdir(exist_ok=True)
    pg.evaluate("window.scrollTo(0, 0)")
    pg.screenshot(path=str(ARTIFACTS / "web-table.png"), full_page=False)
    pg.screenshot(path=str(ARTIFACTS / "web-full.png"), full_page=True)

    # the view can be shared: a fresh page with the same URL shows the same numbers
    url = pg.url
    shown_cost = _cell(pg, pid, "total_cost_usd_per_year").inner_text()
    pg2 = pg.context.new_page()
    pg2.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) else (pg.outside.append(r.request.url), r.abort()))
    pg2.goto(url)
    pg2.wait_for_selector("body[data-ready='1']", timeout=30000)
    assert _cell(pg2, pid, "total_cost_usd_per_year").inner_text() == shown_cost
    assert pg2.locator('[data-testid="assume-will.USA"]').input_value() == "0"
    assert pg2.locator('[data-testid="troops-GBR"]').input_value() == "20000"
    pg2.close()


def test_sources_parameters_and_upload(page, server):
    """A parameter's value, unit and sources are one click away; any
    parameter can be set from the table; a package can be edited and added
    in the page, with validation errors naming the field."""
    pg = page
    pg.goto(f"{server}/#v=table&live=0&p=status-quo")
    pg.wait_for_selector("body[data-ready='1']", timeout=30000)
    pg.locator('button.info[data-param="will.USA"]').first.click()
    drawer = pg.locator("#drawer")
    drawer.wait_for(state="visible")
    assert pg.locator('[data-testid="drawer-unit"]').inner_text() == "probability"
    text = drawer.inner_text()
    assert "Sources" in text and "will.USA" in text
    # any parameter, from the table: set it and the numbers follow
    pg.locator("#drawer-close").click()
    pg.locator("#param-search").fill("resolve")
    pg.locator('tr[data-param-row="deterrence.resolve"]').click()
    before = _cell(pg, "status-quo", "attack_probability").get_attribute("data-value")
    pg.locator('#drawer input[aria-label="value of deterrence.resolve"]').fill("2.5")
    pg.get_by_role("button", name="Set", exact=True).click()
    _wait_change(pg, "status-quo", "attack_probability", before)
    assert _state(pg.url)["overrides"] == {"deterrence.resolve": 2.5}
    pg.locator("#drawer-close").click()

    # upload an edited copy of a package
    pg.locator("#open-editor").click()
    pg.locator("#editor-base").select_option("status-quo")
    pg.locator("#editor-load").click()
    pg.wait_for_function("() => document.getElementById('editor-text').value.includes('id: status-quo-edited')")
    text = pg.locator("#editor-text").input_value()
    set_text = "t => { document.getElementById('editor-text').value = t; }"  # as a paste would
    pg.evaluate(set_text, text.replace("kyiv_position: rejected", "kyiv_position: delighted"))
    pg.locator("#editor-validate").click()
    pg.wait_for_function("() => document.getElementById('editor-errors').textContent.includes('kyiv_position')")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith("kyiv_position:"))
    assert f"status-quo-edited.yaml:{line}: kyiv_position" in pg.locator("#editor-errors").inner_text()  # names the file and line
    # a file chosen from disk: its errors name that file
    bad = text.replace("kyiv_position: rejected", "kyiv_position: delighted").encode()
    pg.locator("#editor-file").set_input_files(files=[{"name": "my-guarantee.yaml", "mimeType": "text/yaml", "buffer": bad}])
    pg.wait_for_function("() => document.getElementById('editor-text').value.includes('delighted')")
    pg.locator("#editor-validate").click()
    pg.wait_for_function("() => document.getElementById('editor-errors').textContent.startsWith('my-guarantee.yaml:')")
    pg.evaluate(set_text, text)
    pg.locator("#editor-add").click()
    pg.wait_for_selector('[data-testid="cell-status-quo-edited-attack_probability"]', timeout=15000)
    assert "status-quo-edited" in _state(pg.url)["packages"]


def test_ranges_and_whose_promise_counts(page, browser, server):
    """Beside every central value its range over futures, and per package the
    attack probability without each guarantor: the page shows what the API
    returns, follows a slider, and fits a 390 px phone."""
    pg = page
    ids = ["coalition-backstop", "status-quo", "treaty"]
    pg.goto(f"{server}/#v=table&live=0&p={','.join(ids)}")
    pg.wait_for_selector("body[data-ready='1']", timeout=30000)
    meta = httpx.get(f"{server}/api/meta", timeout=30).json()
    # the page states how current its data are, as the API does
    assert pg.locator('[data-testid="data-vintage"]').inner_text() == f"Data as of {meta['data']['latest']} ({meta['data']['detail']})."
    api = httpx.post(f"{server}/api/compare", json=_state(pg.url), timeout=60).json()
    cur = {p["id"]: p for p in api["current"]["packages"]}
    for pid in ids:
        for m in meta["table_metrics"]:
            cell = pg.locator(f'[data-testid="range-{pid}-{m}"]')
            r = cur[pid]["ranges"][m]
            assert cell.inner_text() == api["range_display"][pid][m], (pid, m)
            p5, p50, p95 = (float(cell.get_attribute(f"data-{k}")) for k in ("p5", "p50", "p95"))
            assert (p5, p50, p95) == (r["p5"], r["p50"], r["p95"]), (pid, m)
            assert p5 <= p50 <= p95, (pid, m)
    assert f"{api['current']['ranges']['futures']:,} sampled futures" in pg.locator("#compare-caption").inner_text()

    # whose promise counts: the US in the coalition backstop, with the API's value, top guarantors first
    usa_api = next(g for g in api["worth"]["coalition-backstop"] if g["iso3"] == "USA")
    usa = pg.locator('[data-testid="worth-coalition-backstop-USA"]')
    assert usa.is_visible()
    assert f"without {usa_api['name']}" in usa.inner_text()
    assert usa_api["display"]["attack_probability_without"] in usa.inner_text()
    assert usa_api["display"]["attack_probability"] in usa.inner_text()
    assert float(usa.get_attribute("data-value")) == usa_api["attack_probability_without"]
    # money and promises told apart: without only its promises, without only its aid, as the API says
    for pid in ids:
        for g in api["worth"][pid][:5]:
            parts = pg.locator(f'[data-testid="worth-parts-{pid}-{g["iso3"]}"]')
            assert float(parts.get_attribute("data-promises")) == g["attack_probability_without_promises"], (pid, g["iso3"])
            assert float(parts.get_attribute("data-aid")) == g["attack_probability_without_aid"], (pid, g["iso3"])
            txt = parts.inner_text()
            assert f"without its promises only {g['display']['attack_probability_without_promises']}" in txt, txt
            assert f"without its aid only {g['display']['attack_probability_without_aid']}" in txt, txt
    card = pg.locator('.worth-card[data-package="coalition-backstop"] > ol > li')
    shown = [card.nth(i).get_attribute("data-testid").rsplit("-", 1)[1] for i in range(card.count())]
    assert shown == [g["iso3"] for g in api["worth"]["coalition-backstop"]][: len(shown)] and len(shown) >= 1

    # US will falls: the table's ranges and the "without" figures follow the API
    before = _cell(pg, "coalition-backstop", "attack_probability").get_attribute("data-value")
    _move(pg, "assume-will.USA", 0.2)
    _wait_change(pg, "coalition-backstop", "attack_probability", before)
    api2 = httpx.post(f"{server}/api/compare", json=_state(pg.url), timeout=60).json()
    assert api2["current"]["overrides"] == {"will.USA": 0.2}
    usa2 = next(g for g in api2["worth"]["coalition-backstop"] if g["iso3"] == "USA")
    assert float(pg.locator('[data-testid="worth-coalition-backstop-USA"]').get_attribute("data-value")) == usa2["attack_probability_without"]
    parts = pg.locator('[data-testid="worth-parts-coalition-backstop-USA"]')
    assert float(parts.get_attribute("data-promises")) == usa2["attack_probability_without_promises"]
    assert float(parts.get_attribute("data-aid")) == usa2["attack_probability_without_aid"]
    assert pg.locator('[data-testid="range-coalition-backstop-attack_probability"]').inner_text() == api2["range_display"]["coalition-backstop"]["attack_probability"]

    # a 390 px phone: the view is readable without horizontal overflow
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
    ph = ctx.new_page()
    ph.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) else (pg.outside.append(r.request.url), r.abort()))
    ph.goto(pg.url)
    ph.wait_for_selector("body[data-ready='1']", timeout=30000)
    row = ph.locator('[data-testid="worth-coalition-backstop-USA"]')
    row.scroll_into_view_if_needed()
    assert row.is_visible() and usa2["display"]["attack_probability_without"] in row.inner_text()
    width = ph.evaluate("window.innerWidth")
    assert ph.evaluate("document.documentElement.scrollWidth") <= width
    box = ph.locator("#worth").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    over = ph.evaluate("""() => [...document.querySelectorAll('#worth *')]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth || e.scrollWidth > e.clientWidth + 1)
        .map((e) => e.tagName + '.' + e.className)""")
    assert over == [], over
    ARTIFACTS.mkdir(exist_ok=True)
    ph.locator("#worth").screenshot(path=str(ARTIFACTS / "web-worth-390.png"))
    ctx.close()


def test_detail_on_demand(page, server):
    """/api/compare carries the first guarantors of "whose promise counts";
    the detail of the package being shaped is asked for when "Who pays, who
    deploys" comes into view, and opening "all N guarantors" of another
    package asks /api/compare/detail for that package (and only then) and
    shows the API's rows; the commitments of the package being shaped, one
    by one, are the detail's, and follow a lever."""
    pg = page
    pid, other = "coalition-backstop", "treaty"
    asked: list[dict] = []
    pg.on("request", lambda r: asked.append(json.loads(r.post_data)) if r.url.endswith("/api/compare/detail") else None)
    pg.goto(f"{server}/#v=table&live=0&p={pid},{other}&f={pid}")
    pg.wait_for_selector("body[data-ready='1']", timeout=30000)
    pg.wait_for_function("() => document.body.dataset.compareSeq", timeout=30000)
    pg.wait_for_timeout(500)
    assert asked == []  # nothing on screen needs a package's detail yet
    pg.locator("#guarantor-view").scroll_into_view_if_needed()
    pg.wait_for_function("() => document.body.dataset.detailDone", timeout=30000)
    pg.wait_for_selector("#cost-chart .main-svg", timeout=10000)
    assert [a["package"] for a in asked] == [pid]  # the package being shaped, for who pays and who deploys
    api = httpx.post(f"{server}/api/compare", json=_state(pg.url), timeout=60).json()
    shown = len(api["worth"][other])
    assert api["worth_all"][other]["count"] > shown
    rest = pg.locator(f'[data-testid="worth-rest-{other}"] > li')
    assert rest.count() == 0

    # open "all N guarantors" of the other package: one request for it, the API's rows in its order
    pg.locator(f'[data-testid="worth-all-{other}"] > summary').click()
    pg.wait_for_selector(f'[data-testid="worth-rest-{other}"][data-loaded="1"]', timeout=30000)
    assert [a["package"] for a in asked] == [pid, other]
    detail = httpx.post(f"{server}/api/compare/detail", json={"package": other}, timeout=60).json()
    want = detail["worth"][shown:]
    assert rest.count() == len(want) == api["worth_all"][other]["count"] - shown
    for i, g in enumerate(want):
        row = rest.nth(i)
        assert row.get_attribute("data-testid") == f"worth-{other}-{g['iso3']}"
        assert float(row.get_attribute("data-value")) == g["attack_probability_without"]
        assert g["display"]["attack_probability_without"] in row.inner_text()

    # the commitments of the package being shaped, as the detail gives them
    def check_commitments():
        state = _state(pg.url)
        body = {"package": pid, "overrides": state["overrides"], "edit": state["edits"].get(pid, {})}
        d = httpx.post(f"{server}/api/compare/detail", json=body, timeout=60).json()
        cur, show = d["current"], d["element_display"]["current"]
        n = sum(len(g["elements"]) for g in cur["guarantors"]) + len(cur["collective"])
        assert pg.locator('[data-testid="commitments"] tbody tr').count() == n > 0
        for g in cur["guarantors"]:
            for i, e in enumerate(g["elements"]):
                row = pg.locator(f'[data-testid="commitment-{g["iso3"]}-{i}"]')
                for m, text in show[g["iso3"]][i].items():
                    cell = row.locator(f'td[data-metric="{m}"]')
                    assert cell.inner_text() == text, (g["iso3"], i, m)
                    v = cell.get_attribute("data-value")
                    assert (v == "") if e[m] is None else (float(v) == e[m]), (g["iso3"], i, m, v)
        return d

    pg.locator('[data-testid="commitments-box"] > summary').click()
    pg.wait_for_selector('[data-testid="commitments"] tbody tr', timeout=15000)
    assert [a["package"] for a in asked] == [pid, other]  # the focus's detail was already there
    check_commitments()
    # a lever moves the package: the open commitments follow, from a new detail
    done = pg.evaluate("document.body.dataset.detailDone")
    pg.locator("#lever-aid-scale").fill("2")
    pg.wait_for_function("(old) => document.body.dataset.detailDone !== old", arg=done, timeout=30000)
    assert asked[-1]["package"] == pid and asked[-1]["edit"] == {"aid_scale": 2}
    assert "edited" in pg.locator("#commitments-title").inner_text()
    check_commitments()


def test_assumption_sliders_say_exactly_what_they_move(page, server):
    """Each assumption slider names the parameter it sets and what that
    parameter is (the start of its description), and moving it sets that
    parameter and no other; the European control names every will it sets.
    (The cost slider was read as applying to all of Ukraine.)"""
    pg = page
    pg.goto(f"{server}/#live=0&p=status-quo")
    pg.wait_for_selector("body[data-ready='1']", timeout=30000)
    meta = httpx.get(f"{server}/api/meta", timeout=30).json()
    params = {p["name"]: p for p in httpx.get(f"{server}/api/parameters", timeout=30).json()["parameters"]}
    for a in meta["assumptions"]:
        moves = pg.locator(f'[data-testid="moves-{a["name"]}"]')
        head, _, what = moves.text_content().partition(": ")  # text, also of the sliders folded under "by country"
        assert head == f"moves {a['name']}", head
        if a["name"] in params:
            assert len(what) > 10 and params[a["name"]]["description"].startswith(what.removesuffix(" …")), (a["name"], what)
        else:  # a per-country value (will.GBR) has no description of its own: its name says it all
            assert what == "", (a["name"], what)
        assert pg.locator(f'[data-testid="assume-{a["name"]}"]').get_attribute("aria-describedby") == moves.get_attribute("id")
    assert pg.locator('[data-testid="moves-will-europe"]').text_content() == "moves " + ", ".join(meta["european_will"]) + ": together"

    a = next(x for x in meta["assumptions"] if x["group"] == "costs")
    _move(pg, f"assume-{a['name']}", a["high"])
    pg.wait_for_function("name => decodeURIComponent(location.hash).includes(name + ':')", arg=a["name"], timeout=15000)
    assert set(_state(pg.url)["overrides"]) == {a["name"]}


def _scenario_cells_match(pg, api) -> None:
    """Every cell of the "By will scenario" view: the API's central value and 5th-95th percentile."""
    cols = [("pooled", api["pooled"])] + [(sc["id"], sc["packages"]) for sc in api["scenarios"]]
    for pid in api["packages"]:
        for col, vals in cols:
            cell = pg.locator(f'[data-testid="sc-{pid}-{col}"]')
            v = vals[pid]["attack_probability"]
            assert float(cell.get_attribute("data-value")) == v["value"], (pid, col)
            assert (float(cell.get_attribute("data-p5")), float(cell.get_attribute("data-p95"))) == (v["p5"], v["p95"]), (pid, col)
            d = api["display"][pid][col]["attack_probability"]
            assert cell.inner_text() == d["value"] and d["range"] in cell.locator("xpath=..").inner_text(), (pid, col)


def test_will_scenario_selector_and_view(page, server):
    """Choosing a named will scenario sets its will values (the sliders
    move, the link keeps it, "reproduce" gives --scenario), the numbers are
    the API's for that state; "pooled" returns to the defaults; the view
    "By will scenario" shows the API's value and range per package and
    scenario, the chosen one marked, and follows a lever move."""
    pg = page
    ids = ["coalition-backstop", "us-guarantee", "treaty"]
    pg.goto(f"{server}/#live=0&v=table&p={','.join(ids)}")
    pg.wait_for_selector("body[data-ready='1']", timeout=30000)
    meta = httpx.get(f"{server}/api/meta", timeout=30).json()
    sel = pg.locator('[data-testid="will-scenario"]')
    assert sel.input_value() == ""
    options = [(o.get_attribute("value"), o.inner_text()) for o in sel.locator("option").all()]
    assert options[0] == ("", "pooled (will sampled)")
    assert options[1:-1] == [(sc["id"], sc["title"]) for sc in meta["will_scenarios"]]

    sc = next(x for x in meta["will_scenarios"] if x["id"] == "us-walks-away")
    before = _cell(pg, "us-guarantee", "attack_probability").get_attribute("data-value")
    sel.select_option(sc["id"])
    _wait_change(pg, "us-guarantee", "attack_probability", before)
    state = _state(pg.url)
    assert state["overrides"] == sc["set"]
    for name, v in sc["set"].items():
        assert float(pg.locator(f'[data-testid="assume-{name}"]').input_value()) == v, name
    assert float(pg.locator('[data-testid="assume-will-europe"]').input_value()) == sc["set"]["will.default"]
    assert sc["description"] in pg.locator('[data-testid="will-scenario-about"]').inner_text()
    api = httpx.post(f"{server}/api/compare", json=state, timeout=60).json()
    assert api["will_scenario"] == sc["id"]
    for pid in ids:
        assert _cell(pg, pid, "attack_probability").inner_text() == api["display"][pid]["attack_probability"]
        assert float(_cell(pg, pid, "attack_probability").get_attribute("data-value")) == next(
            p for p in api["current"]["packages"] if p["id"] == pid)["metrics"]["attack_probability"]
    repro = pg.locator("#repro-cli").inner_text()
    assert api["reproduce"]["cli"] in repro and api["reproduce"]["scenario"]["cli"] in repro and f"--scenario {sc['id']}" in repro

    # the link keeps it
    pg2 = pg.context.new_page()
    pg2.goto(pg.url)
    pg2.wait_for_selector("body[data-ready='1']", timeout=30000)
    assert pg2.locator('[data-testid="will-scenario"]').input_value() == sc["id"]
    assert pg2.locator('[data-testid="assume-will.USA"]').input_value() == "0"
    pg2.close()

    # the view by will scenario: opened, computed, the chosen scenario marked
    pg.locator('[data-testid="tab-scenarios"]').click()
    assert "v=scenarios" in pg.url and pg.locator("#view-scenarios").is_visible()
    pg.wait_for_function("() => document.body.dataset.scenDone", timeout=60000)
    res = httpx.post(f"{server}/api/scenarios", json=_state(pg.url), timeout=60).json()
    assert res["will_scenario"] == sc["id"] and res["set_aside"] == sorted(sc["set"])
    _scenario_cells_match(pg, res)
    assert "chosen" in pg.locator(f'[data-testid="sc-head-{sc["id"]}"]').get_attribute("class")
    assert pg.locator("#sc-table th.chosen").count() == 1
    assert pg.locator('[data-testid="sc-reproduce"]').inner_text() == res["reproduce"]["cli"]
    # the chosen scenario's column is what the rest of the page shows now
    chosen = next(x for x in res["scenarios"] if x["id"] == sc["id"])
    for p in api["current"]["packages"]:
        assert chosen["packages"][p["id"]]["attack_probability"]["value"] == pytest.approx(p["metrics"]["attack_probability"], rel=1e-9)

    # a lever move: the view follows (only the moved package changes)
    done = pg.evaluate("document.body.dataset.scenDone")
    old = pg.locator('[data-testid="sc-treaty-us-reliable"]').get_attribute("data-value")
    pg.locator("#focus").select_option("treaty")
    pg.locator("#lever-aid-scale").fill("0.2")
    pg.wait_for_function("d => document.body.dataset.scenDone !== d", arg=done, timeout=60000)
    pg.wait_for_function("o => document.querySelector('[data-testid=\"sc-treaty-us-reliable\"]').dataset.value !== o", arg=old, timeout=30000)
    res2 = httpx.post(f"{server}/api/scenarios", json=_state(pg.url), timeout=60).json()
    assert res2["edited"] == ["treaty"]
    _scenario_cells_match(pg, res2)

    # "use it" sets another scenario; moving a will slider makes it your own; pooled drops every will override
    pg.locator('[data-testid="sc-use-us-reliable"]').click()
    pg.wait_for_function("() => decodeURIComponent(location.hash).includes('will.USA:1')", timeout=15000)
    pg.wait_for_function("() => document.querySelector('#sc-table th.chosen') && "
                         "document.querySelector('#sc-table th.chosen').dataset.testid === 'sc-head-us-reliable'", timeout=60000)
    assert sel.input_value() == "us-reliable"
    _move(pg, "assume-will.USA", 0.6)
    pg.wait_for_function("() => document.querySelector('[data-testid=\"will-scenario\"]').value === 'custom'", timeout=15000)
    sel.select_option("")
    pg.wait_for_function("() => !decodeURIComponent(location.hash).includes('will.')", timeout=15000)
    assert _state(pg.url)["overrides"] == {}
    usa = next(a for a in meta["assumptions"] if a["name"] == "will.USA")
    assert float(pg.locator('[data-testid="assume-will.USA"]').input_value()) == usa["value"]
    pg.wait_for_function("() => document.querySelector('#sc-table th.chosen') && "
                         "document.querySelector('#sc-table th.chosen').dataset.testid === 'sc-head-pooled'", timeout=60000)


def test_parameter_basis_and_calibration_targets(page, server):
    """A parameter's basis is one click away; a calibrated one lists the
    published targets it was fitted to, with the values /api/calibration
    returns; the table filters by basis and counts the parameters by basis."""
    pg = page
    pg.goto(f"{server}/#live=0&p=status-quo")
    pg.wait_for_selector("body[data-ready='1']", timeout=30000)
    params = httpx.get(f"{server}/api/parameters", timeout=30).json()
    meta = httpx.get(f"{server}/api/meta", timeout=30).json()
    cal = httpx.get(f"{server}/api/calibration", timeout=60).json()
    targets = {t["id"]: t for t in cal["targets"]}
    counts = params["basis_counts"]
    text = pg.locator("#basis-counts").inner_text()
    assert set(counts) == set(meta["basis_labels"]) and "anchored" in counts
    for b, n in counts.items():
        assert f"{meta['basis_labels'][b]} {n} " in text, (b, text)

    pg.locator("#param-basis").select_option("calibrated")
    rows = pg.locator("#param-table tbody tr")
    assert rows.count() == counts["calibrated"]
    p = next(x for x in params["parameters"] if x["basis"] == "calibrated")
    pg.locator(f'tr[data-param-row="{p["name"]}"]').click()
    pg.locator("#drawer").wait_for(state="visible")
    basis = pg.locator('[data-testid="drawer-basis"]')
    assert basis.get_attribute("data-basis") == "calibrated" and basis.inner_text() == meta["basis"]["calibrated"]
    for tid in p["calibration"]["targets"]:
        item = pg.locator(f'[data-testid="drawer-target-{tid}"]')
        item.wait_for(timeout=30000)
        t = targets[tid]
        txt = item.inner_text()
        assert t["title"] in txt and t["display"]["published"] in txt and t["display"]["foedus"] in txt, txt
        assert item.get_attribute("data-pass") == str(t["pass"]).lower()
        assert ("in band" if t["pass"] else "outside the band") in txt
    pg.locator("#drawer-close").click()

    # a value chosen by convention inside a band named sources give: "judgement (anchored)"
    pg.locator("#param-basis").select_option("anchored")
    assert pg.locator("#param-table tbody tr").count() == counts["anchored"]
    a = next(x for x in params["parameters"] if x["basis"] == "anchored")
    row = pg.locator(f'tr[data-param-row="{a["name"]}"]')
    assert meta["basis_labels"]["anchored"] == "judgement (anchored)" and "judgement (anchored)" in row.inner_text()
    row.click()
    pg.locator("#drawer").wait_for(state="visible")
    basis = pg.locator('[data-testid="drawer-basis"]')
    assert basis.get_attribute("data-basis") == "anchored" and basis.inner_text() == meta["basis"]["anchored"]
    pg.locator("#drawer-close").click()

    pg.locator("#param-basis").select_option("evidence")
    assert pg.locator("#param-table tbody tr").count() == counts["evidence"]
    e = next(x for x in params["parameters"] if x["basis"] == "evidence")
    pg.locator(f'tr[data-param-row="{e["name"]}"]').click()
    pg.locator("#drawer").wait_for(state="visible")
    assert pg.locator('[data-testid="drawer-basis"]').get_attribute("data-basis") == "evidence"
    assert pg.locator("#drawer-calibration").count() == 0


# ---------------------------------------------------------------- served to the network: token and deleting uploads

TOKEN = "browser-test-token-0123456789"


@pytest.fixture(scope="module")
def remote_server(tmp_path_factory):
    """The app as ``foedus serve --allow-remote`` serves it (token, Host
    check, rate limits), bound to 127.0.0.1, saving uploads in a folder."""
    from foedus.interfaces.web.app import create_app
    from foedus.interfaces.web.security import Security
    from foedus.interfaces.web.service import Workspace

    uploads = tmp_path_factory.mktemp("workspace") / "uploads"
    ws = Workspace(ROOT / "scenarios", uploads_dir=uploads)
    with thread_server(create_app(workspace=ws, security=Security.exposed("127.0.0.1", TOKEN))) as base:
        yield base, uploads


def test_token_link_and_deleting_an_upload_with_confirmation(browser, remote_server):
    """Without the token the page says what is needed; opened with
    ?token= it works, the token leaves the address bar and is kept in an
    HttpOnly cookie. An uploaded package is deleted from the picker only
    after confirming: Cancel keeps it (and its file), Delete removes it from
    the page, the server, the workspace folder and the browser's copy, and a
    reload does not bring it back."""
    base, uploads = remote_server
    auth = {"Authorization": f"Bearer {TOKEN}"}
    pid = "status-quo-mine"
    text = httpx.get(f"{base}/api/packages/status-quo", headers=auth, timeout=30).json()["text"].replace("id: status-quo", f"id: {pid}", 1)
    r = httpx.post(f"{base}/api/packages", json={"text": text, "name": f"{pid}.yaml"}, headers=auth, timeout=30)
    assert r.status_code == 201, r.text
    assert (uploads / f"{pid}.yaml").read_text() == text

    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = ctx.new_page()
    outside, errors = [], []
    pg.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else (outside.append(r.request.url), r.abort()))
    pg.on("pageerror", lambda e: errors.append(str(e)))
    try:
        resp = pg.goto(f"{base}/#v=table&live=0&p=status-quo,{pid}")
        assert resp.status == 401 and "Access token needed" in pg.locator("body").inner_text()

        pg.goto(f"{base}/?token={TOKEN}#v=table&live=0&p=status-quo,{pid}")
        pg.wait_for_selector("body[data-ready='1']", timeout=30000)
        assert "token" not in pg.url and urlsplit(pg.url).fragment.startswith("v=table&live=0")
        assert TOKEN not in pg.evaluate("document.cookie")  # HttpOnly: out of the scripts' reach
        assert pg.locator(f'[data-testid="cell-{pid}-attack_probability"]').count() == 1
        pg.evaluate("([k, v]) => localStorage.setItem('foedus.uploads', JSON.stringify({[k]: v}))", [pid, text])

        delete = pg.locator(f'[data-testid="delete-{pid}"]')
        assert pg.locator('[data-testid="delete-status-quo"]').count() == 0  # shipped packages have no delete button
        dialog = pg.locator('[data-testid="confirm-delete"]')
        delete.click()
        dialog.wait_for(state="visible")
        assert pid in pg.locator("#confirm-delete-text").inner_text()
        pg.locator("#confirm-delete-cancel").click()
        dialog.wait_for(state="hidden")
        assert pg.locator(f'[data-testid="pick-{pid}"]').count() == 1
        assert httpx.get(f"{base}/api/packages/{pid}", headers=auth).status_code == 200 and (uploads / f"{pid}.yaml").exists()
        delete.click()  # Escape cancels too
        dialog.wait_for(state="visible")
        pg.keyboard.press("Escape")
        dialog.wait_for(state="hidden")
        assert (uploads / f"{pid}.yaml").exists()

        delete.click()
        dialog.wait_for(state="visible")
        pg.locator("#confirm-delete-ok").click()
        pg.locator(f'[data-testid="pick-{pid}"]').wait_for(state="detached", timeout=15000)
        pg.locator(f'[data-testid="cell-{pid}-attack_probability"]').wait_for(state="detached", timeout=15000)
        assert pg.locator('[data-testid="cell-status-quo-attack_probability"]').count() == 1
        assert pid not in _state(pg.url)["packages"]
        assert httpx.get(f"{base}/api/packages/{pid}", headers=auth).status_code == 404
        assert not (uploads / f"{pid}.yaml").exists()
        assert pid not in pg.evaluate("localStorage.getItem('foedus.uploads')")

        pg.goto(f"{base}/#v=table&live=0&p=status-quo,{pid}")  # no token in the URL now: the cookie carries it
        pg.wait_for_selector("body[data-ready='1']", timeout=30000)
        assert pg.locator(f'[data-testid="pick-{pid}"]').count() == 0
        assert pg.locator('[data-testid="pick-status-quo"]').count() == 1
    finally:
        ctx.close()
    assert not outside, f"the page tried to reach the network: {outside}"
    assert not errors, f"JavaScript errors: {errors}"


def test_page_waits_out_a_rate_limit(browser):
    """Over its comparisons limit the page says so and asks again after the
    server's Retry-After, instead of leaving stale numbers."""
    from foedus.interfaces.web.app import create_app
    from foedus.interfaces.web.security import DEFAULT_LIMITS, Limit, Security
    from foedus.interfaces.web.service import Workspace

    limits = {**DEFAULT_LIMITS, "compare": Limit("comparisons", burst=1, per_second=0.5)}
    app = create_app(workspace=Workspace(ROOT / "scenarios"), security=Security.exposed("127.0.0.1", TOKEN, limits=limits))
    with thread_server(app) as base:
        ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
        pg = ctx.new_page()
        errors, statuses = [], []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("response", lambda r: statuses.append(r.status) if r.url.endswith("/api/compare") else None)
        try:
            pg.goto(f"{base}/?token={TOKEN}#v=table&live=0&p=us-guarantee")
            pg.wait_for_selector("body[data-ready='1']", timeout=30000)
            before = _cell(pg, "us-guarantee", "attack_probability").get_attribute("data-value")
            _move(pg, "assume-will.USA", 0)  # the bucket is empty: 429, then a retry ~2 s later
            pg.wait_for_function("() => document.getElementById('status').textContent.includes('too many comparisons')", timeout=15000)
            _wait_change(pg, "us-guarantee", "attack_probability", before, timeout=20000)
            assert 429 in statuses and statuses[-1] == 200, statuses
            assert not pg.locator("#status").get_attribute("class").count("error")
        finally:
            ctx.close()
        assert not errors, errors


# ---------------------------------------------------------------- the bottom line, sensitivity, A/B, phones


def _context(browser, server, width: int, height: int, **kw):
    """A new page of ``width`` px that may only reach our server and fails the test on a JavaScript error."""
    ctx = browser.new_context(viewport={"width": width, "height": height}, **kw)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) or r.request.url.startswith(("data:", "blob:")) else r.abort())
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors
    return ctx, pg


def _no_overflow(pg) -> None:
    width = pg.evaluate("window.innerWidth")
    assert pg.evaluate("document.documentElement.scrollWidth") <= width
    # no element of the page runs off the right edge (a chart's own drawing and a wide table inside its
    # scrolling box excepted: the box itself must fit)
    over = pg.evaluate("""() => [...document.querySelectorAll('header *, .caveat, main *, aside *')]
        .filter((e) => !e.closest('.js-plotly-plot') && !(e.parentElement && e.parentElement.closest('.table-wrap'))
                       && e.getClientRects().length && e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map((e) => e.tagName + '#' + e.id + '.' + e.className)""")
    assert over == [], over


def test_bottom_line_view_first(browser, server):
    """The page opens on the bottom line: per package its title, deterrence
    against cost with approval, each with its range, the best value per
    column marked, a sentence generated from the numbers and a chart of
    deterrence against cost; the 14-row table is one click away."""
    ids = ["coalition-backstop", "treaty", "status-quo", "regional", "nato"]
    ctx, pg = _context(browser, server, 1400, 1000)
    pg.goto(f"{server}/#live=0&p={','.join(ids)}")
    pg.wait_for_selector("body[data-ready='1']", timeout=30000)
    assert pg.locator("#view-summary").is_visible() and not pg.locator("#comparison").is_visible()
    api = httpx.post(f"{server}/api/compare", json=_state(pg.url), timeout=60).json()
    rows = api["bottom_line"]["current"]
    assert pg.locator("#summary-table tbody tr.bl-row").count() == len(ids)
    for r in rows:
        assert pg.locator(f'[data-testid="bl-title-{r["id"]}"]').inner_text() == r["title"]
        assert pg.locator(f'[data-testid="bl-sentence-{r["id"]}"]').inner_text().startswith(r["sentence"])
        for m, v in r["values"].items():
            cell = pg.locator(f'[data-testid="bl-{r["id"]}-{m}"]')
            assert float(cell.get_attribute("data-value")) == v["value"], (r["id"], m)
            assert cell.get_attribute("data-best") == str(v["best"]).lower(), (r["id"], m)
            assert ("★" in cell.inner_text()) == v["best"]
            assert api["display"][r["id"]][m] in cell.inner_text()
            rng = pg.locator(f'[data-testid="bl-range-{r["id"]}-{m}"]')
            assert (float(rng.get_attribute("data-p5")), float(rng.get_attribute("data-p95"))) == (v["p5"], v["p95"])
    for m in rows[0]["values"]:  # as many ★ as the API gives (none where no package meets every threshold, or on a tie)
        marked = pg.locator(f'#summary-table [data-testid^="bl-"][data-testid$="-{m}"][data-best="true"]').count()
        assert marked == sum(r["values"][m]["best"] for r in rows), m
        assert all(r["meets_thresholds"] for r in rows if r["values"][m]["best"]), m
    # under the cost per year, the guarantee itself and the aid
    cur = {p["id"]: p for p in api["current"]["packages"]}
    for r in rows:
        split = pg.locator(f'[data-testid="cost-split-{r["id"]}"]')
        assert split.inner_text() == (f'guarantee {api["display"][r["id"]]["guarantee_cost_usd_per_year"]} · '
                                      f'aid {api["display"][r["id"]]["aid_usd_per_year"]}')
        assert float(split.get_attribute("data-guarantee")) == cur[r["id"]]["metrics"]["guarantee_cost_usd_per_year"]
        assert float(split.get_attribute("data-aid")) == cur[r["id"]]["metrics"]["aid_usd_per_year"]
    # the chart plots deterrence against cost, baseline and current, with the API's numbers
    pg.wait_for_selector("#summary-chart .main-svg", timeout=10000)
    data = pg.evaluate("document.getElementById('summary-chart').data.map((t) => [t.name, t.y])")
    assert [d[0] for d in data] == ["baseline", "current"]
    assert data[1][1] == [r["values"]["attack_probability"]["value"] for r in rows]
    # robustness, once run, is set beside the central ranking
    pg.locator("#run-futures").click()
    pg.wait_for_function("() => document.body.dataset.exploreDone", timeout=60000)
    robust = pg.locator('[data-testid="summary-robust"]')
    robust.wait_for(timeout=10000)
    assert "Meets every threshold" in robust.inner_text() and "central" in robust.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    pg.evaluate("window.scrollTo(0, 0)")
    pg.screenshot(path=str(ARTIFACTS / "web.png"))
    if os.environ.get("FOEDUS_UPDATE_DOCS_IMG"):
        shutil.copy(ARTIFACTS / "web.png", ROOT / "docs" / "img" / "web.png")
    # the full table one click away, with the same central value
    pg.locator('[data-testid="tab-table"]').click()
    assert pg.locator("#comparison").is_visible() and not pg.locator("#view-summary").is_visible()
    assert float(_cell(pg, "treaty", "attack_probability").get_attribute("data-value")) == rows[1]["values"]["attack_probability"]["value"]
    assert "v=table" in pg.url
    assert not pg.errors, pg.errors
    ctx.close()


def test_sensitivity_view(browser, server):
    """Sobol' indices on the page: a progress indicator while they run, then
    per input S1 and ST with its basis, as /api/sensitivity returns them;
    another metric is drawn from the same answer."""
    ctx, pg = _context(browser, server, 1400, 1000)
    pg.goto(f"{server}/#live=0&p=coalition-backstop,treaty&f=treaty&sn=512")
    pg.wait_for_selector("body[data-ready='1']", timeout=30000)
    pg.locator('[data-testid="tab-sensitivity"]').click()
    pg.locator('[data-testid="sens-progress"]').wait_for(state="visible", timeout=5000)
    pg.wait_for_function("() => document.body.dataset.sensDone", timeout=120000)
    assert not pg.locator('[data-testid="sens-progress"]').is_visible()
    body = {"package": "treaty", "overrides": {}, "metrics": ["attack_probability", "approval_probability", "escalation_risk",
                                                              "total_cost_usd_per_year"], "n": 512}
    api = httpx.post(f"{server}/api/sensitivity", json=body, timeout=120).json()
    want = sorted((x for x in api["indices"] if x["output"] == "attack_probability" and x["ST"] is not None), key=lambda x: -x["ST"])
    rows = pg.locator("#sens-table tbody tr")
    assert rows.count() == len(want)
    for i in range(5):
        tr = rows.nth(i)
        assert tr.get_attribute("data-testid") == f"sens-row-{want[i]['input']}"
        assert float(tr.get_attribute("data-st")) == want[i]["ST"]
        assert want[i]["basis"] in tr.inner_text()
    assert f"{api['evaluations']:,}" in pg.locator('[data-testid="sens-message"]').inner_text()
    assert pg.locator("#sens-reproduce").inner_text() == api["reproduce"]
    # another metric: drawn from the same answer
    pg.locator('[data-testid="sens-metric"]').select_option("approval_probability")
    want = max((x for x in api["indices"] if x["output"] == "approval_probability" and x["ST"] is not None), key=lambda x: x["ST"])
    assert pg.locator("#sens-table tbody tr").first.get_attribute("data-testid") == f"sens-row-{want['input']}"
    # a move elsewhere marks the analysis stale rather than silently keeping it
    _move(pg, "assume-will.USA", 0.2)
    pg.wait_for_function("() => document.getElementById('view-sensitivity').classList.contains('stale')", timeout=15000)
    assert "press Run" in pg.locator('[data-testid="sens-message"]').inner_text()
    assert not pg.errors, pg.errors
    ctx.close()


def test_guarantor_removal_pinning_and_per_guarantor_levers(browser, server):
    """Pin the shipped state, take the United States out of the coalition
    backstop: the current column equals what "whose promise counts" reports
    without it, the pinned column keeps the shipped figure, and both survive
    a reload from the link; a per-guarantor legal form moves the package as
    the API says."""
    pid = "coalition-backstop"
    ctx, pg = _context(browser, server, 1400, 1000)
    pg.goto(f"{server}/#live=0&v=table&p={pid},treaty&f={pid}")
    pg.wait_for_selector("body[data-ready='1']", timeout=30000)
    shipped = httpx.post(f"{server}/api/compare", json=_state(pg.url), timeout=60).json()
    without_us = next(g for g in shipped["worth"][pid] if g["iso3"] == "USA")
    # per-guarantor credibility and cost beside "whose promise counts"
    detail = pg.locator(f'[data-testid="worth-detail-{pid}-USA"]')
    assert float(detail.get_attribute("data-credibility")) == without_us["credibility"]
    assert without_us["display"]["credibility"] in detail.inner_text() and without_us["display"]["cost_usd_per_year"] in detail.inner_text()

    pg.locator('[data-testid="pin"]').click()
    pg.locator('[data-testid="pin-note"]').wait_for(state="visible")
    pg.wait_for_selector(f'[data-testid="pin-cell-{pid}-attack_probability"]', timeout=15000)
    before = _cell(pg, pid, "attack_probability").get_attribute("data-value")
    pg.locator('[data-testid="lever-guarantor"]').select_option("USA")
    pg.locator('[data-testid="lever-remove"]').click()
    _wait_change(pg, pid, "attack_probability", before)
    state = _state(pg.url)
    assert state["edits"] == {pid: {"remove": ["USA"]}}
    assert float(_cell(pg, pid, "attack_probability").get_attribute("data-value")) == pytest.approx(without_us["attack_probability_without"], rel=1e-9)
    pinned = float(pg.locator(f'[data-testid="pin-cell-{pid}-attack_probability"]').get_attribute("data-value"))
    assert pinned == next(p for p in shipped["current"]["packages"] if p["id"] == pid)["metrics"]["attack_probability"]
    assert pg.locator('[data-testid="removed-list"]').inner_text().count("United States") == 1
    assert "USA" not in [o.get_attribute("value") for o in pg.locator('[data-testid="lever-guarantor"] option').all()]
    # the bottom line shows the pinned value too
    pg.locator('[data-testid="tab-summary"]').click()
    assert float(pg.locator(f'[data-testid="bl-pin-{pid}-attack_probability"]').get_attribute("data-value")) == pinned

    # the link keeps both states
    pg2 = pg.context.new_page()
    pg2.goto(pg.url)
    pg2.wait_for_selector("body[data-ready='1']", timeout=30000)
    pg2.wait_for_selector(f'[data-testid="bl-pin-{pid}-attack_probability"]', timeout=15000)
    assert float(pg2.locator(f'[data-testid="bl-pin-{pid}-attack_probability"]').get_attribute("data-value")) == pinned
    assert "United States" in pg2.locator('[data-testid="removed-list"]').inner_text()
    pg2.close()

    # put it back and give Britain a ratified treaty: the figures follow the API
    pg.locator('[data-testid="restore-USA"]').click()
    pg.wait_for_function("() => !location.hash.includes('remove')", timeout=15000)
    pg.locator('[data-testid="tab-table"]').click()
    before = _cell(pg, pid, "attack_probability").get_attribute("data-value")
    pg.locator('[data-testid="lever-guarantor"]').select_option("GBR")
    pg.locator('[data-testid="lever-guarantor-form"]').select_option("ratified_treaty")
    _wait_change(pg, pid, "attack_probability", before)
    state = _state(pg.url)
    assert state["edits"] == {pid: {"legal_form_of": {"GBR": "ratified_treaty"}}}
    api = httpx.post(f"{server}/api/compare", json=state, timeout=60).json()
    assert _cell(pg, pid, "attack_probability").inner_text() == api["display"][pid]["attack_probability"]
    # the air-power lever: the US aircraft slider, then unpin
    assert pg.locator('[data-testid="aircraft-USA"]').count() == 1
    pg.locator('[data-testid="pin"]').click()
    pg.wait_for_function("() => !document.querySelector('[data-testid^=\"pin-cell-\"]')", timeout=15000)
    assert "pin=" not in pg.url
    assert not pg.errors, pg.errors
    ctx.close()


def test_phone_390_has_no_horizontal_overflow(browser, server):
    """At 390 px the header, the bottom line, the table view, the sensitivity
    view and the levers fit the screen; the bottom line comes before the
    controls."""
    ctx, pg = _context(browser, server, 390, 844, device_scale_factor=2, is_mobile=True, has_touch=True)
    pg.goto(f"{server}/#live=0&sn=256")
    pg.wait_for_selector("body[data-ready='1']", timeout=30000)
    _no_overflow(pg)
    for b in ("#share", "#download-report", '[data-testid="pin"]'):
        box = pg.locator(b).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, b
    assert pg.locator("#view-summary").bounding_box()["y"] < pg.locator("aside.controls").bounding_box()["y"]
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / "web-phone.png"))
    if os.environ.get("FOEDUS_UPDATE_DOCS_IMG"):
        shutil.copy(ARTIFACTS / "web-phone.png", ROOT / "docs" / "img" / "web-phone.png")
    pg.locator('[data-testid="tab-table"]').click()
    _no_overflow(pg)
    pg.locator('[data-testid="tab-scenarios"]').click()
    pg.wait_for_function("() => document.body.dataset.scenDone", timeout=60000)
    assert pg.locator('[data-testid^="sc-"][data-value]').count() > 0
    _no_overflow(pg)
    pg.locator('[data-testid="tab-sensitivity"]').click()
    pg.wait_for_function("() => document.body.dataset.sensDone", timeout=120000)
    _no_overflow(pg)
    assert not pg.errors, pg.errors
    ctx.close()


def test_year_by_year_charts(browser, server):
    """Yearly charts of the package being shaped: cost per year, forces
    deployed and the attack by the end of each year, baseline against
    current, one x value per year from the start year to the horizon, with
    the values /api/by-year returns; a lever moves the current line, not the
    baseline; the section fits a 390 px phone."""
    pid = "coalition-100k"
    ctx, pg = _context(browser, server, 1400, 1000)
    pg.goto(f"{server}/#live=0&p={pid},treaty&f={pid}")
    pg.wait_for_selector("body[data-ready='1']", timeout=30000)
    pg.wait_for_function("() => document.body.dataset.yearsDone", timeout=60000)
    shown = pg.evaluate("document.body.dataset.yearsDone")
    before = {m: pg.evaluate(f"document.getElementById('year-chart-{m}').data.find((t) => t.name === 'current').y")
              for m in ("total_cost_usd_per_year", "troops_deployed")}
    _move(pg, "troops-GBR", 40000)
    pg.wait_for_function("(old) => document.body.dataset.yearsDone !== old", arg=shown, timeout=60000)
    state = _state(pg.url)
    assert state["edits"] == {pid: {"troops": {"GBR": 40000}}}
    body = {**state, "packages": [pid]}
    api = httpx.post(f"{server}/api/by-year", json=body, timeout=60).json()
    cur = api["current"]
    years = list(range(cur["start_year"], cur["start_year"] + round(cur["horizon_years"])))
    assert cur["years"] == years and api["baseline"]["years"] == years and len(years) == 10
    assert api["charts"] == ["total_cost_usd_per_year", "troops_deployed", "attack_probability"]
    entry, base = cur["packages"][0], api["baseline"]["packages"][0]
    for m in api["charts"]:
        chart = pg.locator(f'[data-testid="year-chart-{m}"]')
        chart.locator(".main-svg").first.wait_for(timeout=10000)
        traces = pg.evaluate(f"document.getElementById('year-chart-{m}').data.map((t) => ({{name: t.name, x: t.x, y: t.y}}))")
        named = {t["name"]: t for t in traces}
        assert "baseline" in named and "current" in named, [t["name"] for t in traces]
        for t in traces:  # every trace, the band too: one x value per year from the start year to the horizon
            assert t["x"] == years, (m, t["name"])
        k = 1e-9 if m == "total_cost_usd_per_year" else 1.0
        assert named["current"]["y"] == pytest.approx([v * k for v in entry["metrics"][m]], rel=1e-9), m
        assert named["baseline"]["y"] == pytest.approx([v * k for v in base["metrics"][m]], rel=1e-9), m
        title = pg.evaluate(f"document.getElementById('year-chart-{m}').layout.title.text")
        assert title == api["labels"][m]
    assert api["labels"]["attack_probability"] == "Attack by this year"
    # the lever moved the current line, not the baseline
    assert pg.evaluate("document.getElementById('year-chart-troops_deployed').data.find((t) => t.name === 'current').y") != before["troops_deployed"]
    assert entry["metrics"]["troops_deployed"][-1] > base["metrics"]["troops_deployed"][-1]
    totals = pg.locator('[data-testid="years-totals"]').inner_text()
    for k in ("cumulative_cost_usd", "attack_probability", "steady_attack_probability"):
        assert api["totals_display"][pid][k] in totals, k
    assert str(entry["totals"]["peak_cost_year"]) in totals
    ARTIFACTS.mkdir(exist_ok=True)
    pg.locator("#years").screenshot(path=str(ARTIFACTS / "web-years.png"))
    assert not pg.errors, pg.errors
    ctx.close()

    # a 390 px phone: the yearly charts fit the screen, one x value per year
    ctx, ph = _context(browser, server, 390, 844, device_scale_factor=2, is_mobile=True, has_touch=True)
    ph.goto(f"{server}/#live=0&p={pid}&f={pid}")
    ph.wait_for_selector("body[data-ready='1']", timeout=30000)
    ph.wait_for_function("() => document.body.dataset.yearsDone", timeout=60000)
    ph.locator("#years").scroll_into_view_if_needed()
    _no_overflow(ph)
    for m in api["charts"]:
        box = ph.locator(f'[data-testid="year-chart-{m}"]').bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, m
        assert ph.evaluate(f"document.getElementById('year-chart-{m}').data.find((t) => t.name === 'current').x") == years
    ph.locator("#years").screenshot(path=str(ARTIFACTS / "web-years-390.png"))
    assert not ph.errors, ph.errors
    ctx.close()
