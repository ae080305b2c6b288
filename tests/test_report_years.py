"""The report's "Year by year" section: per package the totals over the
years (cumulative and discounted cost, the attack by the end against the
steady model's figure, the year of peak cost), a yearly cost chart and a
force chart (baseline against current when they differ), and per guarantor
the year of its peak cost and of a complete build-up, every number as
:attr:`Study.by_year` gives it."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from foedus.data.loaders import load_countries, load_packages
from foedus.data.parameter_set import ParameterSet
from foedus.interfaces.report.build import PEAK_SHOWN, build_report
from foedus.interfaces.web.edits import apply_edits
from foedus.study.formatting import fmt
from foedus.study.study import Study

ROOT = Path(__file__).resolve().parents[1]
IDS = ["coalition-100k", "treaty", "nato"]
EDITS = {"coalition-100k": {"troops": {"GBR": 40000}}}


@pytest.fixture(scope="module")
def countries():
    return load_countries()


@pytest.fixture(scope="module")
def shipped(countries):
    return load_packages([ROOT / "scenarios" / f"{i}.yaml" for i in IDS], countries)


@pytest.fixture(scope="module")
def edited(shipped, countries):
    return apply_edits(shipped, EDITS, countries)


@pytest.fixture(scope="module")
def report(edited, shipped, countries) -> str:
    return build_report(edited, ParameterSet.default(), countries, baseline_packages=shipped, sensitivity_n=0)


@pytest.fixture(scope="module")
def years(edited, countries) -> dict:
    return Study(edited, ParameterSet.default(), countries).by_year


@pytest.fixture(scope="module")
def base_years(shipped, countries) -> dict:
    return Study(shipped, ParameterSet.default(), countries).by_year


def _section(html: str, sid: str) -> str:
    start = html.index(f'<h2 id="{sid}"')
    end = html.find("<h2 ", start + 1)
    return html[start:end if end > 0 else None]


def _text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _chart(sec: str, title: str) -> str | None:
    m = re.search(rf'<svg class="line-chart"[^>]*aria-label="{re.escape(title)}".*?</svg>', sec, re.S)
    return m.group(0) if m else None


def _series(chart: str) -> dict[str, list[float]]:
    return {unescape(name): [float(x) for x in vals.split()] for name, vals in re.findall(r'data-series="([^"]+)" data-values="([^"]*)"', chart)}


def test_the_section_is_in_the_brief_and_the_navigation(report):
    assert '<h2 id="years">Year by year</h2>' in report
    assert '<a href="#years">Year by year</a>' in report
    order = re.findall(r'<h2 id="([^"]+)"', report)
    assert order.index("submodels") < order.index("years") < order.index("robustness")


def test_totals_per_package(report, years, base_years):
    sec = _section(report, "years")
    end = years["years"][-1]
    table = sec[:sec.index("</table>")]
    head = [_text(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", table)]
    assert head == ["package", f"Cumulative cost by {end}", f"Cumulative cost, discounted by {end}", f"Attack by the end of {end}",
                    "Attack within horizon (steady model)", "Year of peak cost", "Peak cost per year"]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    base = {p["id"]: p for p in base_years["packages"]}
    assert len(rows) == len(years["packages"])
    for p, row in zip(years["packages"], rows):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        value = [unescape(re.sub(r"<div.*", "", c, flags=re.S)).strip() for c in cells]
        under = [unescape(m.group(1)) if (m := re.search(r'<div class="base">base (.*?)</div>', c)) else None for c in cells]
        t, b = p["totals"], base[p["id"]]["totals"]
        assert _text(value[0]) == p["id"]
        assert value[1:] == [fmt("cumulative_cost_usd", t["cumulative_cost_usd"]), fmt("discounted_cost_usd", t["discounted_cost_usd"]),
                             fmt("attack_probability", t["attack_probability"]), fmt("attack_probability", p["steady_attack_probability"]),
                             str(t["peak_cost_year"]), fmt("total_cost_usd_per_year", t["peak_cost_usd_per_year"])], p["id"]
        assert under[1:] == [fmt("cumulative_cost_usd", b["cumulative_cost_usd"]), fmt("discounted_cost_usd", b["discounted_cost_usd"]),
                             fmt("attack_probability", b["attack_probability"]),
                             fmt("attack_probability", base[p["id"]]["steady_attack_probability"]),
                             str(b["peak_cost_year"]), fmt("total_cost_usd_per_year", b["peak_cost_usd_per_year"])], p["id"]
    # the lever raised the cumulative cost of the edited package above its baseline
    cur = next(p for p in years["packages"] if p["id"] == "coalition-100k")
    assert cur["totals"]["cumulative_cost_usd"] > base["coalition-100k"]["totals"]["cumulative_cost_usd"]


def test_yearly_cost_and_force_charts(report, years, base_years):
    sec = _section(report, "years")
    want = years["years"]
    assert want == list(range(years["start_year"], years["start_year"] + round(years["horizon_years"])))
    base = {p["id"]: p for p in base_years["packages"]}
    drawn, flat = 0, []
    for p in years["packages"]:
        pid = p["id"]
        if all(max(x["metrics"][m]) - min(x["metrics"][m]) < 1e-6 for x in (p, base[pid])
               for m in ("total_cost_usd_per_year", "troops_deployed", "troops_short")):
            flat.append(pid)  # the same every year: no chart, its totals in the table
            assert f'aria-label="{pid}: ' not in sec, pid
            continue
        for title, m in ((f"{pid}: cost per year", "total_cost_usd_per_year"), (f"{pid}: personnel deployed", "troops_deployed")):
            chart = _chart(sec, title)
            if not any(p["metrics"][m]) and not any(base[pid]["metrics"][m]):
                assert chart is None, title  # nothing to draw: no chart
                continue
            assert chart is not None, title
            drawn += 1
            assert re.search(r'data-years="([^"]+)"', chart).group(1).split() == [str(y) for y in want]
            series = _series(chart)
            assert series["current"] == pytest.approx(p["metrics"][m], rel=1e-12), title
            assert series["baseline"] == pytest.approx(base[pid]["metrics"][m], rel=1e-12), title
            assert chart.count("<title>") >= 2 * len(want)  # one point per year and series
            assert "<polygon" in chart  # the 5th-95th percentile band
    assert drawn >= 2 and "coalition-100k" not in flat  # it builds up: charted
    assert set(flat) >= {"treaty", "nato"}  # steady packages
    assert f"so no chart (their totals are in the table): {', '.join(flat)}." in _text(sec)
    force = _series(_chart(sec, "coalition-100k: personnel deployed"))
    assert force["personnel still to raise"] == pytest.approx(next(p for p in years["packages"] if p["id"] == "coalition-100k")["metrics"]["troops_short"])


def test_peak_year_per_guarantor(report, years, countries):
    sec = _section(report, "years")
    assert '<h3 id="peak-years">Year of peak cost per guarantor</h3>' in sec
    table = sec[sec.index('<table class="rows peak-years">'):]
    table = table[:table.index("</table>")]
    head = [_text(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", table)]
    assert head == ["package", "guarantor", "year of peak cost", "peak cost per year", "build-up complete"]
    rows = re.findall(r'<tr id="peak-([a-z0-9-]+?)-([A-Z]{3})"[^>]*>(.*?)</tr>', table, re.S)
    assert rows
    start, years_ = years["start_year"], years["years"]
    seen: dict[str, list[str]] = {}
    for pid, iso, row in rows:
        p = next(p for p in years["packages"] if p["id"] == pid)
        g = next(g for g in p["guarantors"] if g["iso3"] == iso)
        cells = [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        peak = g["metrics"]["cost_usd_per_year"][years_.index(g["peak_cost_year"])]
        assert cells == [pid, f"{countries[iso].name} ({iso})", str(g["peak_cost_year"]), fmt("total_cost_usd_per_year", peak),
                         str(g["ready_year"]) if g["ready_year"] is not None else f"after {years_[-1]}"], (pid, iso)
        seen.setdefault(pid, []).append(iso)
    for p in years["packages"]:
        paying = [g for g in p["guarantors"] if any(g["metrics"]["cost_usd_per_year"])]
        if not paying:
            assert p["id"] not in seen  # nato costs nothing
            continue
        peak = {g["iso3"]: g["metrics"]["cost_usd_per_year"][years_.index(g["peak_cost_year"])] for g in paying}
        top = sorted(peak, key=lambda i: (-peak[i], i))[:PEAK_SHOWN]
        building = [g["iso3"] for g in p["guarantors"] if g["ready_year"] != start]
        assert set(seen[p["id"]]) == set(top) | set(building), p["id"]
    # the edited coalition builds up: some guarantor's forces are ready only after the start year, and shown so
    late = [g for g in next(p for p in years["packages"] if p["id"] == "coalition-100k")["guarantors"] if g["ready_year"] != start]
    assert late and all(g["iso3"] in seen["coalition-100k"] for g in late)
