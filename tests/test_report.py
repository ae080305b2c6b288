"""``foedus report``: one self-contained HTML file (no script, stylesheet or
image from elsewhere; links only in the sources list) with the summary,
per-sub-model sections, charts, assumptions and every source used."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from foedus.data.loaders import load_countries, load_packages, load_parameters
from foedus.interfaces.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
SCEN = sorted((ROOT / "scenarios").glob("*.yaml"))
CHROMIUM = "/usr/bin/chromium"
runner = CliRunner()


class Refs(HTMLParser):
    """Every URL-bearing attribute, with the tag and whether it sits in the sources list."""

    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str, bool]] = []
        self.tags: set[str] = set()
        self._in_sources = 0

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        a = dict(attrs)
        if tag == "ol" and "sources" in (a.get("class") or ""):
            self._in_sources += 1
        for k in ("src", "href", "data", "poster", "srcset", "action", "xlink:href"):
            if a.get(k):
                self.refs.append((tag, k, a[k], self._in_sources > 0))

    def handle_endtag(self, tag):
        if tag == "ol" and self._in_sources:
            self._in_sources -= 1


def assert_self_contained(html: str) -> Refs:
    p = Refs()
    p.feed(html)
    assert "script" not in p.tags and "iframe" not in p.tags and "link" not in p.tags
    for tag, attr, url, in_sources in p.refs:
        external = url.startswith(("http://", "https://", "//", "ftp:"))
        if external:
            assert tag == "a" and attr == "href" and in_sources, (tag, attr, url)
        else:
            assert url.startswith("#"), (tag, attr, url)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html), "external resource in CSS"
    assert "@import" not in html
    return p


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    r = runner.invoke(app, ["report", *map(str, SCEN), "-o", str(out)])
    assert r.exit_code == 0, r.output
    return out.read_text(encoding="utf-8")


def test_report_is_self_contained(report):
    refs = assert_self_contained(report)
    assert any(in_src for *_, in_src in refs.refs), "sources should carry their links"
    assert "<svg" in report and report.count("<svg") >= 8


def test_report_has_summary_sections_and_caveat(report):
    countries = load_countries()
    pkgs = load_packages(SCEN, countries)
    assert "Model estimates, not predictions" in report
    for p in pkgs:
        assert f">{p.id}<" in report
    for section in ("summary", "deterrence", "credibility", "worth", "combat", "costs", "forces", "approval", "escalation", "humanitarian", "robustness",
                    "assumptions", "calibration", "sources", "reproduce"):
        assert f'id="{section}"' in report, section
    assert "Not computed" not in report and "2,000 futures sampled" in report  # robustness by default
    assert "foedus report" in report and "foedus compare" in report


def test_report_states_the_date_of_its_data(report, central):
    d = central["data"]
    assert f'<p class="meta" id="data-vintage"><strong>Data as of {d["latest"]}</strong>' in report
    assert d["detail"] in report


def _section(report: str, sid: str) -> str:
    """The HTML of one section: from its heading to the next h2."""
    start = report.index(f'<h2 id="{sid}">')
    end = report.find("<h2 ", start + 1)
    return report[start:end if end > 0 else None]


@pytest.fixture(scope="module")
def central():
    """The comparison the report renders (same packages, defaults)."""
    from foedus.data.parameter_set import ParameterSet
    from foedus.exploration.compare import comparison

    countries = load_countries()
    return comparison(load_packages(SCEN, countries), ParameterSet.default(), countries)


def test_report_summary_shows_ranges_beside_central_values(report, central):
    import html as H

    from foedus.domain.metrics import SUMMARY_METRICS
    from foedus.study.formatting import fmt, fmt_range

    table = _section(report, "summary").split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1])
    assert len(rows) == len(SUMMARY_METRICS)
    pk = central["packages"]
    for m, row in zip(SUMMARY_METRICS, rows):
        cells = re.findall(r'<td class="n">(.*?)</td>', row)
        assert len(cells) == len(pk), m
        for p, cell in zip(pk, cells):
            got = re.fullmatch(r'(.*?)<div class="rng" data-p5="([^"]+)" data-p50="([^"]+)" data-p95="([^"]+)">(.*?)</div>', cell)
            assert got, (m, p["id"], cell)
            value, p5, p50, p95, text = got.groups()
            r = p["ranges"][m]
            assert H.unescape(value) == fmt(m, p["metrics"][m]), (m, p["id"])
            assert float(p5) <= float(p50) <= float(p95), (m, p["id"])
            assert (float(p5), float(p50), float(p95)) == pytest.approx((r["p5"], r["p50"], r["p95"]), rel=1e-9, abs=1e-12), (m, p["id"])
            assert H.unescape(text) == fmt_range(m, r), (m, p["id"])
    assert f"{central['ranges']['futures']:,} sampled futures" in _section(report, "summary")


def test_report_whose_promise_counts(report, central):
    import html as H

    from foedus.study.formatting import fmt

    sec = H.unescape(_section(report, "worth"))
    countries = load_countries()
    for p in central["packages"]:
        gs = sorted(p["guarantors"], key=lambda g: -g["attack_probability_without"])
        if not gs:
            continue
        top = gs[0]  # the guarantor whose absence raises the attack probability most is listed
        row = re.search(rf'<tr id="worth-{p["id"]}-{top["iso3"]}"[^>]*>(.*?)</tr>', sec)
        assert row, (p["id"], top["iso3"])
        assert f"without {countries[top['iso3']].name}" in row.group(1)
        assert f"{fmt('attack_probability', p['metrics']['attack_probability'])} → <strong>{fmt('attack_probability', top['attack_probability_without'])}</strong>" in row.group(1)
    cb = next(p for p in central["packages"] if p["id"] == "coalition-backstop")
    usa = next(g for g in cb["guarantors"] if g["iso3"] == "USA")
    row = re.search(r'<tr id="worth-coalition-backstop-USA"[^>]*>(.*?)</tr>', sec)
    assert row and fmt("attack_probability", usa["attack_probability_without"]) in row.group(1)
    assert fmt("approval_probability", usa["approval_probability_without"]) in row.group(1)


def test_report_calibration_section(report):
    import html as H

    import yaml

    from foedus.exploration.calibration import Calibration
    from foedus.study.formatting import number

    sec = _section(report, "calibration")
    doc = yaml.safe_load((ROOT / "src" / "foedus" / "data" / "calibration.yaml").read_text(encoding="utf-8"))
    ids = list(doc["targets"]) + list(doc.get("identities") or {})
    results = {r.id: r for r in Calibration().results()}
    assert sorted(ids) == sorted(results)
    refs = dict(re.findall(r'<li id="src-(\d+)">(.*?)</li>', report))
    for tid in ids:
        r = results[tid]
        row = re.search(rf'<tr id="cal-{re.escape(tid)}" data-target="{re.escape(tid)}" data-pass="(true|false)">(.*?)</tr>', sec)
        assert row, tid
        assert row.group(1) == str(r.passes).lower(), tid
        cells = [H.unescape(re.sub(r"<[^>]+>", " ", c)).split() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(2))]
        target, published, band, model, verdict, _source = cells
        assert r.title.split()[0] in target and tid in target
        assert published[0] == number(r.value, r.unit)
        assert "".join(band) == f"{number(r.band[0], r.unit)}–{number(r.band[1], r.unit)}".replace(" ", "")
        assert model == number(r.model, r.unit).split()
        assert verdict == ["pass" if r.passes else "fail"]
        cited = re.findall(r'href="#src-(\d+)"', row.group(2))
        assert len(cited) == len(r.sources), tid
        for n in cited:  # each source is in the reference list
            assert n in refs
    n_fit = sum(r.role == "fit" for r in results.values())
    assert f"Fit targets in their band: {sum(r.passes for r in results.values() if r.role == 'fit')} of {n_fit}" in sec


def test_report_counts_parameters_by_basis(report):
    import json
    from collections import Counter

    r = runner.invoke(app, ["params", "--json"])
    assert r.exit_code == 0, r.output
    counts = Counter(p["basis"] for p in json.loads(r.output)["parameters"])
    total = sum(counts.values())
    got = {b: int(n) for b, n in re.findall(r'data-basis="(\w+)" data-count="(\d+)"', _section(report, "assumptions"))}
    assert got == {b: counts.get(b, 0) for b in ("evidence", "calibrated", "anchored", "judgement")}
    assert f"{total} parameters by basis" in report
    labels = {"anchored": "judgement (anchored)"}
    for b, n in counts.items():
        assert f"{labels.get(b, b)} {n} ({100 * n / total:.0f} %)" in report


def test_report_lists_every_source_used(report):
    import html

    text = html.unescape(report)
    countries = load_countries()
    for p in load_packages(SCEN, countries):
        for ref in p.sources:
            assert ref.title.strip() in text, ref.title
    for par in load_parameters().values():
        assert par.name in text
        for ref in par.references:
            assert ref.title.strip() in text, (par.name, ref.title)
    assert "World Development Indicators" in text  # country data source


def test_report_with_futures_and_overrides(tmp_path):
    out = tmp_path / "r.html"
    files = [str(ROOT / "scenarios" / f"{i}.yaml") for i in ("status-quo", "coalition-backstop", "treaty")]
    r = runner.invoke(app, ["report", *files, "-o", str(out), "--futures", "300", "--seed", "2", "--set", "will.USA=0.2",
                            "--threshold", "attack_probability<=0.1", "--title", "Test brief"])
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert_self_contained(html)
    assert "<h1>Test brief</h1>" in html
    assert "300 futures sampled" in html and "meets all" in html
    assert "Where each package fails" in html
    assert "Changed from the defaults" in html and "will.USA" in html
    assert "base " in html  # baseline beside current
    assert "--futures 300" in html and "--set will.USA=0.2" in html


def test_report_bad_input_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "scenarios" / "status-quo.yaml").read_text().replace("kyiv_position: rejected", "kyiv_position: delighted"))
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", str(bad), "-o", str(out)])
    assert r.exit_code == 2
    assert "bad.yaml:" in r.output and "kyiv_position" in r.output and "Traceback" not in r.output
    assert not out.exists()
    r = runner.invoke(app, ["report", str(ROOT / "scenarios" / "nato.yaml"), "-o", str(out), "--threshold", "attack<=1"])
    assert r.exit_code == 2 and "Traceback" not in r.output


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed; no browser is downloaded")
def test_report_opens_offline(report, tmp_path):
    from playwright.sync_api import sync_playwright

    f = tmp_path / "report.html"
    f.write_text(report, encoding="utf-8")
    asked: list[str] = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                                              "--disable-component-update", "--disable-sync", "--no-first-run"])
        ctx = b.new_context(offline=True)
        pg = ctx.new_page()
        pg.on("request", lambda r: asked.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
        pg.goto(f.as_uri())
        assert pg.locator("h1").inner_text() == "foedus report"
        assert pg.locator("svg").count() >= 8
        assert pg.locator("#sources").is_visible()
        b.close()
    assert asked == []


def test_report_writes_an_a4_pdf_and_names_a_missing_engine(tmp_path):
    """`foedus report ... -o brief.pdf` (issue 9): an A4 PDF from the same
    report; without Chromium a one-line error naming what to install."""
    import os

    import pypdfium2

    from conftest import run_foedus

    out = tmp_path / "brief.pdf"
    r = run_foedus("report", *map(str, SCEN), "-o", out, "--futures", "500", timeout=300)
    assert r.returncode == 0, r.stderr
    pdf = pypdfium2.PdfDocument(str(out))
    assert 10 <= len(pdf) <= 60 and f"({len(pdf)} A4 pages" in r.stderr
    for page in pdf:
        w, h = page.get_size()
        assert abs(w - 595.3) < 1 and abs(h - 841.9) < 1
    import subprocess
    import sys

    env = {**os.environ, "FOEDUS_CHROMIUM": str(tmp_path / "no-chromium")}
    bad = subprocess.run([sys.executable, "-m", "foedus.interfaces.cli.main", "report", str(SCEN[0]), "-o", str(tmp_path / "x.pdf")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "apt-get install chromium" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "x.pdf").exists()
