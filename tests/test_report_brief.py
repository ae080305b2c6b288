"""The report as a brief a planner can read (what a new user tripped on):
the executive summary and the bottom line first, then the essentials, the
per-guarantor and per-commitment detail in a compact appendix with no
figure lost; parameters in plain words; every range and robustness figure
naming the sample of futures it comes from; chart labels that never
overlap; tables that fit the page."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from conftest import SCENARIOS
from foedus.data.loaders import load_countries, load_packages
from foedus.data.parameter_set import ParameterSet
from foedus.interfaces.report import svg
from foedus.interfaces.report.build import build_report
from foedus.study.formatting import fmt
from foedus.study.study import Design, Study

CHROMIUM = "/usr/bin/chromium"
SEEDS = sorted(SCENARIOS.glob("*.yaml"))
SEVEN = SEEDS[:7]
N, SEED = 300, 2
#: What the report of the shipped packages listed per package before it moved to the appendix: the
#: costliest, the largest pools, the most credible, and those whose absence raises the attack probability most.
LISTED = (("cost_usd_per_year", 16), ("troops_required_pool", 16), ("credibility", 8), ("attack_probability_without", 6))


@pytest.fixture(scope="module")
def countries():
    return load_countries()


@pytest.fixture(scope="module")
def seven(countries):
    return load_packages(SEVEN, countries)


@pytest.fixture(scope="module")
def report(seven, countries) -> str:
    return build_report(seven, ParameterSet.default(), countries, n_futures=N, seed=SEED, sensitivity_n=64)


@pytest.fixture(scope="module")
def study(seven, countries) -> Study:
    return Study(list(seven), ParameterSet.default(), countries, None, Design(N, SEED))


@pytest.fixture(scope="module")
def seeds_report(countries) -> str:
    """The report of the eleven seed packages (central values and the comparison's ranges only)."""
    return build_report(load_packages(SEEDS, countries), ParameterSet.default(), countries, n_futures=0, sensitivity_n=0)


def _h2_ids(html: str) -> list[str]:
    return re.findall(r'<h2 id="([^"]+)"', html)


def _section(html: str, sid: str) -> str:
    start = html.index(f'<h2 id="{sid}"')
    end = html.find("<h2 ", start + 1)
    return html[start:end if end > 0 else None]


def _text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


# -- 1. a brief first, the detail in an appendix, nothing lost ----------------------------------------------------


def test_the_brief_comes_first_and_the_detail_last(report):
    order = _h2_ids(report)
    brief = ["executive-summary", "bottom-line", "summary", "worth", "scenarios", "submodels", "years", "robustness", "sensitivity"]
    appendix = ["guarantors", "packages", "assumptions", "calibration", "sources", "reproduce"]
    assert order == brief + appendix
    essentials = report[:report.index('<h2 id="guarantors"')]
    # no per-guarantor listing, no commitment table, no parameter table before the appendix
    assert 'class="compact' not in essentials
    # whose promise counts keeps to the guarantors that matter most
    worth = _section(report, "worth")
    for pid in re.findall(r'<tr id="worth-([a-z0-9-]+?)-[A-Z]{3}"', worth):
        assert len(re.findall(rf'<tr id="worth-{pid}-[A-Z]{{3}}"', worth)) <= 3


def _appendix_rows(html: str, pid: str) -> dict[str, list[str]]:
    """The appendix's per-guarantor rows of one package: guarantor -> cells (text)."""
    from foedus.interfaces.report.build import GUARANTOR_COLUMNS

    sec = _section(html, "guarantors")
    table = sec[sec.index(f"<h3>{pid}: per guarantor</h3>"):].split("</table>")[0]
    head = [_text(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", table)]
    assert head == ["guarantor"] + [h for h, _ in GUARANTOR_COLUMNS]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1]):
        cells = [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for iso in cells[0].replace(" short", "").split(", "):
            rows[iso] = cells[1:]
    return rows


def test_the_appendix_keeps_every_figure_the_old_listings_showed(report, study, countries):
    """Every guarantor the per-package cost, force, credibility and worth
    listings showed is in the appendix, with the same figures."""
    from foedus.interfaces.report.build import GUARANTOR_COLUMNS

    col = {key: k for k, (_, key) in enumerate(GUARANTOR_COLUMNS)}
    for p in study.comparison["packages"]:
        listed = set()
        for key, n in LISTED:
            have = [g for g in p["guarantors"] if (g.get(key) or 0) > 0]
            listed |= {g["iso3"] for g in sorted(have, key=lambda g: -g[key])[:n]}
        if not listed:
            continue
        rows = _appendix_rows(report, p["id"])
        for g in p["guarantors"]:
            if g["iso3"] not in listed:
                continue
            cells = rows[g["iso3"]]
            for key, as_metric in (("cost_usd_per_year", "cost_usd_per_year"), ("cost_pct_gdp", "cost_pct_gdp"),
                                   ("total_defence_pct_gdp", "total_defence_pct_gdp"), ("troops_deployed", "troops_deployed"),
                                   ("troops_required_pool", "troops_required_pool"), ("troops_available", "troops_available"),
                                   ("credibility", "credibility"), ("burden_share", "burden_share"), ("gdp_share", "gdp_share"),
                                   ("cost_raise_usd_per_year", "cost_raise_usd_per_year"),
                                   ("attack_probability_without", "attack_probability")):
                assert cells[col[key]] == fmt(as_metric, g.get(key)).removesuffix(" GDP"), (p["id"], g["iso3"], key)
            before = countries[g["iso3"]].defence_pct_gdp.value
            assert cells[col["defence_before"]] == fmt("total_defence_pct_gdp", before).removesuffix(" GDP")


def _commits(c) -> str:
    """What one commitment commits, as the appendix writes it: "5,000 troops, 24 aircraft", "$1.2 bn a year";
    a size by year as each value from its year ("5,000 troops from 2027, 10,000 troops from 2029"), enablers
    built by number, and the years in force when the commitment states them."""
    def sized(v, one):
        if isinstance(v, dict):
            return ", ".join(f"{one(x)} from {y}" for y, x in sorted(v.items()))
        return one(v) if v else ""

    name = c.enabler.value.replace("_", " ") if getattr(c, "enabler", None) is not None else "units"
    parts = [sized(c.troops, lambda x: f"{x:,} troops"), sized(c.aircraft, lambda x: f"{x} aircraft"), sized(c.ships, lambda x: f"{x} ships"),
             sized(c.usd_per_year, lambda x: f"{fmt('total_cost_usd_per_year', x)} a year"), sized(getattr(c, "units", 0), lambda x: f"{x:,} × {name}")]
    when = [f"from {c.from_}" if getattr(c, "from_", None) is not None else "", f"until {c.until}" if getattr(c, "until", None) is not None else ""]
    parts.append(" ".join(x for x in when if x))
    return ", ".join(x for x in parts if x)


def _rows(table: str) -> list[list[str]]:
    return [[_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)] for row in re.findall(r"<tr>(.*?)</tr>", table)]


def test_every_commitment_is_in_the_appendix_once(report, seven):
    """Each commitment with its size: in its package's table, or, when
    several packages hold it word for word, once in the table of shared
    commitments, on a row naming all of them (and not again in theirs)."""
    tables = {}
    for part in _section(report, "packages").split("<h3>")[1:]:
        head, _, rest = part.partition("</h3>")
        table = re.search(r"<table[^>]*>(.*?)</table>", rest.split("<h3>")[0], re.S)
        tables[head] = _rows(table.group(1)) if table else []
    shared = tables.get("Commitments in several packages", [])
    holders: dict[str, list[str]] = {}
    for p in seven:
        for c in p.commitments:
            holders.setdefault(c.model_dump_json(), []).append(p.id)
    for p in seven:
        (own,) = [rows for head, rows in tables.items() if head.endswith(f"<code>{p.id}</code>")]
        for c in p.commitments:
            item = " ".join(filter(None, [c.guarantor + (f" except {', '.join(c.except_)}" if c.except_ else ""), _commits(c)]))
            terms = [c.kind.value, c.legal_form.value, c.trigger.value, c.posture.value if c.posture else ""]
            terms = [t.replace("_", " ") for t in terms]
            ids = list(dict.fromkeys(holders[c.model_dump_json()]))
            mine = [r for r in own if r[:4] == terms and item in r[4].split("; ")]
            if len(ids) > 1:
                rows = [r for r in shared if r[:4] == terms and r[5] == ", ".join(ids) and item in r[4].split("; ")]
                assert len(rows) == 1 and not mine, (p.id, item, ids)
            else:
                assert mine, (p.id, item)


# -- 2. parameters in plain words --------------------------------------------------------------------------------


class _Described:
    """A parameter set of two parameters, as :meth:`ParameterSet.describe` gives them."""

    class _P:
        def __init__(self, description, unit):
            self.description, self.unit = description, unit

    def __init__(self):
        self.params = {
            "approval.eu_unanimity": self._P("Probability that all EU members agree (CFSP unanimity) to an EU-level commitment.", "probability"),
            "will.USA": self._P("Political will of the United States relative to the average ally. The record of 2025-26 points both ways.", "ratio"),
            "x.long": self._P("A description " + "that goes on and on " * 10 + "without a stop", "ratio"),
        }

    def describe(self, name):
        return self.params.get(name)


def test_parameter_label_is_the_first_clause_of_its_description():
    from foedus.study.summary import parameter_label

    ps = _Described()
    assert parameter_label("approval.eu_unanimity", ps) == "Probability that all EU members agree to an EU-level commitment"
    assert parameter_label("will.USA", ps) == "Political will of the United States relative to the average ally"
    long = parameter_label("x.long", ps)
    assert long.endswith("…") and len(long) <= 81 and long.startswith("A description that goes on")
    assert parameter_label("no.such", ps) == "no.such"


def test_failure_box_in_plain_words_hand_worked():
    from foedus.study.summary import plain_rule

    ps = _Described()
    both = {"name": "will.USA", "unit": "ratio", "low": 0.2, "high": 0.6, "data_low": 0.0, "data_high": 1.0}
    upper = {"name": "approval.eu_unanimity", "unit": "probability", "low": 0.3, "high": 0.464, "data_low": 0.3, "data_high": 0.9}
    lower = {"name": "will.USA", "unit": "ratio", "low": 0.2, "high": 1.0, "data_low": 0.0, "data_high": 1.0}
    assert plain_rule([upper], ps) == "“Probability that all EU members agree to an EU-level commitment” is at most 46.4%"
    assert plain_rule([lower], ps) == "“Political will of the United States relative to the average ally” is at least 0.2"
    assert plain_rule([both, upper], ps) == ("“Political will of the United States relative to the average ally” is between 0.2 and 0.6 and "
                                            "“Probability that all EU members agree to an EU-level commitment” is at most 46.4%")


def test_executive_summary_names_no_parameter_but_where_it_reproduces(countries, seven):
    from foedus.study.summary import parameter_label

    ps = ParameterSet.default().with_overrides({"will.USA": 0.2})
    summary = Study(list(seven), ps, countries, None, Design(N, SEED)).summary()
    names = sorted(ps.parameters, key=len, reverse=True)
    for s in summary:
        text = s["text"]
        if s["topic"] == "caveats":  # the changed parameter keeps its name beside its value: --set will.USA=0.2 reproduces it
            assert f"will.USA = 0.2 (“{parameter_label('will.USA', ps)}”)" in text
            text = text.replace("will.USA = 0.2", "")
        found = [n for n in names if re.search(rf"(?<![\w.]){re.escape(n)}(?![\w.])", text)]
        assert not found, (s["topic"], found, text)
        if s["topic"] == "failure" and "futures where" in text:
            assert "“" in text  # the box's inputs by their labels


# -- 3. each range names its sample -----------------------------------------------------------------------------


def test_every_range_and_robustness_figure_names_its_sample(report, study):
    rng = study.comparison["ranges"]
    ranges = f"{rng['futures']:,} futures, {rng['sampler'].upper()}, seed {rng['seed']}"
    robust = f"{N:,} futures, LHS, seed {SEED}"
    assert ranges != robust
    summary = [s["text"] for s in study.summary()]
    assert f"5th to 95th percentile over {ranges})" in summary[0]
    assert f"Across {N:,} sampled futures (LHS, seed {SEED})" in summary[2]
    bottom, table = _section(report, "bottom-line"), _section(report, "summary")
    assert ranges in _text(bottom) and f"{rng['futures']:,} sampled futures ({rng['sampler'].upper()}, seed {rng['seed']})" in _text(table)
    assert robust in _text(table)  # the summary says the robustness figures come from another sample
    rob = _section(report, "robustness")
    tables = rob.count("<table")
    captions = re.findall(r'<p class="caption">(.*?)</p>', rob)
    assert len(captions) >= tables and all(robust in _text(c) for c in captions[:tables]), captions
    assert f"{N:,} futures sampled (LHS, seed {SEED})" in rob and ranges in _text(rob)


# -- 4. chart labels apart, tables that fit ---------------------------------------------------------------------


def test_place_labels_moves_a_cluster_apart_and_leaves_the_others():
    h = 14.0
    cluster = [svg.Box(100, 200, 60 + 5 * k, h) for k in range(6)]  # six labels wanting the same place
    alone = svg.Box(400, 50, 60, h)
    placed = svg.place_labels(cluster + [alone], top=0, bottom=300)
    for i, a in enumerate(placed):
        for b in placed[i + 1:]:
            assert not a.intersects(b), (a, b)
        assert 0 <= a.y and a.y + a.h <= 300
    assert placed[-1] == alone  # nothing in its way: it stays
    assert placed[0].y == 200  # the first of the cluster keeps its place, the others stack as close as they fit
    assert max(abs(b.y - 200) for b in placed[:6]) <= 3 * (h + svg.LABEL_GAP) + 1e-9


def _label_boxes(html: str) -> list[svg.Box]:
    chart = re.search(r'<svg[^>]*aria-label="Deterrence against cost[^"]*".*?</svg>', html, re.S).group(0)
    return [svg.Box(*map(float, b.split())) for b in re.findall(r'class="point-label"[^>]*data-box="([^"]+)"', chart)]


def test_deterrence_cost_chart_labels_do_not_overlap_for_the_seeds(seeds_report):
    boxes = _label_boxes(seeds_report)
    assert len(boxes) == len(SEEDS)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.intersects(b), (a, b)


needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed; no browser is downloaded")

#: In the page: each table wider than its box, each label's real extent, and each label's planned box.
_MEASURE = """() => {
  const over = [];
  for (const t of document.querySelectorAll('table')) {
    const box = t.parentElement;
    if (t.scrollWidth > box.clientWidth + 1) over.push([t.className, t.scrollWidth, box.clientWidth, box.scrollWidth > box.clientWidth]);
  }
  const labels = [...document.querySelectorAll('text.point-label')].map((e) => {
    const b = e.getBBox();
    return [b.x, b.y, b.width, b.height, e.dataset.box.split(' ').map(Number)];
  });
  const main = document.querySelector('main');
  return {over, labels, page: document.documentElement.scrollWidth, main: main.clientWidth};
}"""


@pytest.mark.browser
@needs_chromium
def test_tables_fit_and_labels_do_not_overlap_in_chromium(seeds_report, tmp_path):
    """The eleven seed packages in Chromium at 1,400 px: no table wider than
    its box (nothing to scroll), no page wider than the window; printed on
    A4 (the print width of the content), nothing wider than the page, so
    Chromium never shrinks the PDF; the chart's labels, measured as drawn,
    never overlap and stay inside the boxes they were placed in."""
    from playwright.sync_api import sync_playwright

    from foedus.interfaces.report.pdf import MARGIN_MM, with_print_css

    f = tmp_path / "report.html"
    f.write_text(with_print_css(seeds_report), encoding="utf-8")
    a4_content = round((210 - MARGIN_MM["left"] - MARGIN_MM["right"]) / 25.4 * 96)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            for media, width in (("screen", 1400), ("print", a4_content)):
                pg = b.new_page(viewport={"width": width, "height": 1000})
                pg.emulate_media(media=media)
                pg.goto(f.as_uri())
                got = pg.evaluate(_MEASURE)
                assert got["over"] == [], (media, got["over"])
                assert got["page"] <= width, (media, got["page"])
                boxes = [svg.Box(*x[:4]) for x in got["labels"]]
                assert len(boxes) == len(SEEDS)
                for i, a in enumerate(boxes):
                    for c in boxes[i + 1:]:
                        assert not a.intersects(c), (media, a, c)
                for x, y, w, h, planned in got["labels"]:  # drawn inside its planned box (the width is an upper bound)
                    px, py, pw, ph = planned
                    assert px - 0.5 <= x and x + w <= px + pw + 0.5 and py - 0.5 <= y and y + h <= py + ph + 0.5, (media, x, y, w, h, planned)
                pg.close()
        finally:
            b.close()
