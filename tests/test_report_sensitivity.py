"""The report's sensitivity section (issue 9): Sobol' total-order indices of
each package's attack probability, the same numbers as the study (and so as
the web app's sensitivity view and ``foedus sensitivity``), each input with
its basis; left out with ``sensitivity_n=0``; a bad size is a clear error."""

from __future__ import annotations

import re
from html import unescape

import pytest

from conftest import ROOT, run_foedus
from foedus.data.loaders import load_countries, load_packages
from foedus.data.parameter_set import ParameterSet
from foedus.interfaces.report.build import SENSITIVITY_TOP, build_report
from foedus.study.study import Study

IDS = ("status-quo", "treaty")
FILES = [ROOT / "scenarios" / f"{i}.yaml" for i in IDS]
N, SEED = 64, 2


@pytest.fixture(scope="module")
def setup():
    countries = load_countries()
    packages = load_packages(FILES, countries)
    return countries, packages


def _section(html: str) -> str:
    start = html.index('<h2 id="sensitivity">')
    return html[start:html.index("<h2", start + 10)]


def test_sensitivity_section_shows_the_study_indices(setup):
    countries, packages = setup
    html = build_report(packages, ParameterSet.default(), countries, seed=SEED, sensitivity_n=N)
    sec = _section(html)
    study = Study(list(packages), ParameterSet.default(), countries)
    ref = {i: study.sensitivity(i, ["attack_probability"], N, SEED) for i in IDS}
    rows = re.findall(r'<tr><td class="">([^<]+)</td><td class="">([^<]+)</td>(.*?)</tr>', sec)
    assert rows, sec[:500]
    listed = {unescape(r[0]) for r in rows}
    for i in IDS:
        st = {x["input"]: x["ST"] for x in ref[i]["indices"] if x["ST"] == x["ST"]}
        top = sorted(st, key=lambda k: -st[k])[:SENSITIVITY_TOP]
        assert set(top) <= listed, (i, top)
    for name, basis, cells in rows:
        name = unescape(name)
        assert basis == next(x["basis"] for x in ref[IDS[0]]["inputs"] if x["name"] == name)
        shown = re.findall(r"<td[^>]*>(?:<strong>)?([^<]+)", cells)
        for i, text in zip(IDS, shown):
            st = next(x["ST"] for x in ref[i]["indices"] if x["input"] == name)
            assert text == f"{st:.2f}", (i, name, text, st)
    assert f"{N:,} base samples, seed {SEED}" in sec
    assert '<a href="#sensitivity">' in html


def test_sensitivity_section_can_be_left_out_and_checks_its_size(setup, tmp_path):
    countries, packages = setup
    html = build_report(packages, ParameterSet.default(), countries, sensitivity_n=0)
    assert 'id="sensitivity"' not in html and '<a href="#sensitivity">' not in html
    out = tmp_path / "r.html"
    r = run_foedus("report", *FILES, "--futures", "0", "--sensitivity-n", "100", "-o", out)
    assert r.returncode == 2 and "--sensitivity-n: a power of two" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
