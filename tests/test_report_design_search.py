"""``foedus optimise DESIGN.yaml --report FILE``: the report of the base
package and the designs found, with a "Design search" section (settings,
objectives and constraints, the trade-off chart, the front table, the
command that reproduces it) whose every number is the ``--json`` record's.

Each search here is tiny (200 futures, population 12, 4 generations) and
run as users run it, through the ``foedus`` command in a subprocess."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import ROOT, run_foedus
from test_report import assert_self_contained

DESIGN = ROOT / "designs" / "european-force-us-air.yaml"
#: A tiny search whose front is not empty: the design file's search with
#: looser constraints (the base's attack probability in 80% of futures is
#: about 23%).
SEARCH = [str(DESIGN), "--futures", "200", "--seed", "4", "--population", "12", "--generations", "4",
          "--constraint", "attack_probability:p80 <= 20%", "--constraint", "no-shortfall", "--no-store"]


class Section(HTMLParser):
    """The "Design search" section read back: the settings paragraph's
    data, the table rows (their id, role, cells with their data and text),
    the chart's points, the reproduce command, the objectives and
    constraints listed."""

    def __init__(self, html: str):
        super().__init__()
        self.settings: dict[str, str] = {}
        self.rows: list[dict] = []
        self.points: list[dict] = []
        self.limits = 0
        self.reproduce = ""
        self.objectives: list[str] = []
        self.constraints: list[str] = []
        self._cell: dict | None = None
        self._in_reproduce = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if a.get("id") == "design-search-settings":
            self.settings = {k.removeprefix("data-"): v for k, v in a.items() if k.startswith("data-")}
        elif tag == "tr" and "data-id" in a:
            self.rows.append({"id": a["data-id"], "role": a["data-role"], "cells": []})
        elif tag == "td" and self.rows and self._cell is None:
            self._cell = {"attrs": a, "text": ""}
        elif "design-point" in cls:
            self.points.append(a | {"base": "base-point" in cls})
        elif "limit" in cls:
            self.limits += 1
        elif a.get("id") == "design-search-reproduce":
            self._in_reproduce = True
        elif tag == "li" and "data-objective" in a:
            self.objectives.append(a["data-objective"])
        elif tag == "li" and "data-constraint" in a:
            self.constraints.append(a["data-constraint"])

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[-1]["cells"].append(self._cell)
            self._cell = None
        elif tag == "pre":
            self._in_reproduce = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        if self._in_reproduce:
            self.reproduce += data


def section_of(html: str) -> str:
    start, end = html.index('<h2 id="design-search">'), html.index('<h2 id="bottom-line">')
    return html[start:end]


def optimise(*args: str) -> tuple[object, str]:
    r = run_foedus("optimise", *args, timeout=600)
    assert r.returncode == 0, r.stderr
    return r, r.stdout


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One search with ``--json --report``: the record and the report of the same run."""
    out = tmp_path_factory.mktemp("design-report") / "front.html"
    r, stdout = optimise(*SEARCH, "--json", "--report", str(out))
    rec = json.loads(stdout)
    assert len(rec["front"]) >= 2, "the test search should find a front to report"
    return rec, out.read_text(encoding="utf-8"), r.stderr


def test_report_lists_the_base_and_every_front_member(run):
    rec, html, stderr = run
    sec = Section(section_of(html))
    assert [(r["id"], r["role"]) for r in sec.rows] == [(rec["base"]["id"], "base")] + [(m["id"], "front") for m in rec["front"]]
    # the report is the normal report of those packages: each in the appendix under its id
    for pid in [rec["base"]["id"], *(m["id"] for m in rec["front"])]:
        assert f"<code>{pid}</code></h3>" in html, pid
    assert f"the base and {len(rec['front'])} designs" in stderr


def test_chart_has_one_point_per_member_and_the_base_marked(run):
    rec, html, _ = run
    sec = Section(section_of(html))
    assert len(sec.points) == len(rec["front"]) + 1
    assert [p["data-id"] for p in sec.points if p["base"]] == [rec["base"]["id"]]
    assert sorted(p["data-id"] for p in sec.points if not p["base"]) == sorted(m["id"] for m in rec["front"])
    # the bound of the deterrence term drawn across the chart
    assert sec.limits == 1


def test_section_values_are_those_of_the_json_record(run):
    rec, html, _ = run
    sec = Section(section_of(html))
    entries = {e["id"]: e for e in [rec["base"], *rec["front"]]}
    terms = [o["term"] for o in rec["objectives"]]
    assert terms == sec.objectives and [c["text"] for c in rec["constraints"]] == sec.constraints
    for row in sec.rows:
        e = entries[row["id"]]
        valued = {c["attrs"]["data-term"]: float(c["attrs"]["data-value"]) for c in row["cells"] if "data-term" in c["attrs"]}
        assert {t: e["objectives"][t] for t in terms} == {t: valued[t] for t in terms}
        if "approval_probability" in valued:
            assert valued["approval_probability"] == e["summary"]["approval_probability"]
        met = next(c for c in row["cells"] if "data-met" in c["attrs"])
        assert int(met["attrs"]["data-met"]) == sum(c["met"] for c in e["constraints"].values())
        assert row["cells"][-1]["text"] == (e["described"] if row["role"] == "front" else "as written")
    for p in sec.points:
        e = entries[p["data-id"]]
        assert float(p["data-x"]) == e["objectives"]["total_cost_usd_per_year:central"]
        assert float(p["data-y"]) == e["objectives"]["attack_probability:p80"]
        assert float(p["data-c"]) == e["summary"]["approval_probability"]
    st, s = rec["settings"], rec["search"]
    assert sec.settings == {"futures": str(st["futures"]), "seed": str(st["seed"]), "population": str(st["population"]),
                            "generations": str(st["generations"]), "generations-run": str(s["generations_run"]),
                            "stopped": str(s["stopped"]).lower(), "front-size": str(s["front_size"]), "shown": str(s["shown"])}
    assert (st["futures"], st["seed"], st["population"], s["generations_run"], s["stopped"]) == (200, 4, 12, 4, False)
    assert sec.reproduce == rec["reproduce"] and "--seed 4" in sec.reproduce


def test_same_seed_same_section_without_json(run, tmp_path):
    """Another run with the same seed, printing the table and writing the
    designs: its section reads as the first run's --json record, and its
    reproduce commands name the package files written."""
    rec, html, _ = run
    out = tmp_path / "again.html"
    r, stdout = optimise(*SEARCH, "--report", str(out), "-o", str(tmp_path / "found"))
    again = out.read_text(encoding="utf-8")
    head = "<h3>Reproduce the search</h3>"
    assert section_of(again).split(head)[0] == section_of(html).split(head)[0]
    assert "(as this run did)" in section_of(again).split(head)[1] and "(as this run did)" not in html
    assert "wrote the report" in r.stderr and rec["front"][0]["id"] in stdout
    files = [tmp_path / "found" / f"{m['id']}.yaml" for m in rec["front"]]
    assert all(f.exists() for f in files)
    base = ROOT / "scenarios" / "coalition-backstop.yaml"
    assert f"foedus report {base} {' '.join(map(str, files))}" in again.split('<h2 id="reproduce">')[1]


def test_report_is_self_contained_with_the_section_near_the_top(run):
    rec, html, _ = run
    assert_self_contained(html)
    assert f"<title>Design search: {rec['design']['title']}</title>" in html
    assert '<li><a href="#design-search">Design search</a></li>' in html
    assert html.index('id="executive-summary"') < html.index('id="design-search"') < html.index('id="bottom-line"')
    assert html.count('<svg class="tradeoff"') == 1


def test_report_without_a_feasible_design(tmp_path):
    """No design meets the constraints: the report is the base's, saying so,
    its chart the base alone."""
    out = tmp_path / "none.html"
    r, stdout = optimise(str(DESIGN), "--futures", "100", "--population", "8", "--generations", "1", "--no-store", "--json",
                         "--constraint", "attack_probability:p80 <= 0.01%", "--report", str(out))
    rec = json.loads(stdout)
    assert rec["front"] == []
    html = out.read_text(encoding="utf-8")
    sec = Section(section_of(html))
    assert "No design meets every constraint" in section_of(html)
    assert [p["data-id"] for p in sec.points] == [rec["base"]["id"]] and sec.points[0]["base"]
    assert [r["role"] for r in sec.rows] == ["base"] + (["closest"] if rec["closest"] else [])
    assert "— 1 packages —" in html


@pytest.mark.parametrize("where", ["missing/front.html", ".", "front.txt"])
def test_a_report_that_cannot_be_written_fails_before_the_search(tmp_path, where):
    target = tmp_path / where
    r = run_foedus("optimise", str(DESIGN), "--futures", "100", "--population", "8", "--generations", "1", "--no-store",
                   "--report", str(target), timeout=120)
    assert r.returncode == 2 and "--report" in r.stderr and "Traceback" not in r.stderr
    assert "Front" not in r.stdout  # nothing searched, nothing printed
    assert not (tmp_path / "missing").exists() and not (tmp_path / "front.txt").exists()


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists() and not shutil.which("chromium"), reason="no Chromium to print with")
def test_report_as_pdf(tmp_path):
    pytest.importorskip("playwright")
    pypdfium2 = pytest.importorskip("pypdfium2")
    out = tmp_path / "front.pdf"
    r, _ = optimise(str(DESIGN), "--futures", "100", "--population", "8", "--generations", "1", "--no-store", "--report", str(out))
    assert out.read_bytes().startswith(b"%PDF")
    pdf = pypdfium2.PdfDocument(str(out))
    assert f"({len(pdf)} A4 pages" in r.stderr
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(min(3, len(pdf))))
    assert "Design search" in text and "The question." in text
