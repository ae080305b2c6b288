"""The report's header and executive summary (issue 9): title, author and
handling marking (checked: one line, bounded, no control characters), the
date of the data and the date generated, and the executive summary right
after the title, its sentences generated from the study's own numbers."""

from __future__ import annotations

import datetime as dt
import re
from html import escape, unescape

import pytest

from conftest import ROOT, run_foedus
from foedus.data.loaders import load_countries, load_packages
from foedus.data.parameter_set import ParameterSet
from foedus.domain.errors import InputError
from foedus.interfaces.report.build import MARKING_MAX, build_report, check_label
from foedus.study.formatting import fmt
from foedus.study.study import Design, Study
from foedus.study.summary import _share

FILES = [ROOT / "scenarios" / f"{i}.yaml" for i in ("status-quo", "coalition-backstop", "treaty", "nato")]
N, SEED = 256, 1
WHEN = dt.datetime(2031, 5, 17, 9, 30, tzinfo=dt.timezone.utc)
AUTHOR = "J. Analyst <Policy & Plans>"
MARKING = "NATO UNCLASSIFIED"


@pytest.fixture(scope="module")
def countries():
    return load_countries()


@pytest.fixture(scope="module")
def packages(countries):
    return load_packages(FILES, countries)


def _study(packages, countries, parameters=None) -> Study:
    return Study(list(packages), parameters or ParameterSet.default(), countries, None, Design(N, SEED))


def _report(packages, countries, parameters=None, **kw) -> str:
    return build_report(packages, parameters or ParameterSet.default(), countries, n_futures=N, seed=SEED, generated=WHEN, **kw)


@pytest.fixture(scope="module")
def report(packages, countries) -> str:
    return _report(packages, countries, title="Guarantees: options", author=AUTHOR, marking=MARKING)


def _exec_summary(html: str) -> str:
    start = html.index('<div class="exec-summary">')
    return html[start:html.index("</div>", start)]


def _items(html: str) -> list[str]:
    return [unescape(x) for x in re.findall(r"<li data-topic=\"[a-z]+\">(.*?)</li>", _exec_summary(html))]


def test_header_names_author_marking_and_both_dates(report, packages, countries):
    data = _study(packages, countries).comparison["data"]["latest"]
    head = report[:report.index('<div class="exec-summary">')]
    assert head.index('<p class="marking" id="marking-top">NATO UNCLASSIFIED</p>') < head.index("<h1>Guarantees: options</h1>")
    byline = re.search(r'<p class="meta" id="byline">(.*?)</p>', head).group(1)
    assert f"By <strong>{escape(AUTHOR)}</strong>" in byline  # escaped, never markup
    assert "2031-05-17 09:30 UTC" in byline and 'datetime="2031-05-17T09:30:00+00:00"' in byline
    assert f"data as of <strong>{data}</strong>" in byline
    assert f'<meta name="author" content="{escape(AUTHOR, quote=True)}">' in report
    # the marking closes the page too, and is printed at the top and bottom of every page
    tail = report[report.rindex("</div>"):]
    assert '<p class="marking end" id="marking-bottom">NATO UNCLASSIFIED</p>' in tail
    assert '@top-center{content:"NATO UNCLASSIFIED"' in report and '@bottom-center{content:"NATO UNCLASSIFIED"' in report


def test_no_marking_no_author_no_banner(packages, countries):
    html = _report(packages[:1], countries)
    assert 'class="marking' not in html and "@top-center" not in html and 'name="author"' not in html
    assert "By <strong>" not in html and "Generated <time" in html


def test_executive_summary_comes_right_after_the_title(report, packages, countries):
    i_title, i_exec, i_bottom = report.index("<h1>"), report.index('<h2 id="executive-summary">'), report.index('<h2 id="bottom-line">')
    assert i_title < i_exec < i_bottom
    assert "<h2" not in report[i_title:i_exec]  # nothing but the header between them
    assert '<a href="#executive-summary">Executive summary</a>' in report
    study = _study(packages, countries)
    expected = [s["text"] for s in study.summary()]
    assert _items(report) == expected
    topics = [s["topic"] for s in study.summary()]
    assert topics[:3] == ["deterrence", "cost", "robustness"] and topics[-1] == "caveats"


def _deterrence_agrees(html: str, study: Study) -> str:
    """The deterrence sentence of ``html`` states the leader of ``study``'s
    comparison (lowest central attack probability) with the value its
    tables show, and its range over futures; returns the sentence."""
    cmp = study.comparison
    leader = min(cmp["packages"], key=lambda p: p["metrics"]["attack_probability"])
    a = fmt("attack_probability", leader["metrics"]["attack_probability"])
    r = leader["ranges"]["attack_probability"]
    first = _items(html)[0]
    assert f"[{leader['id']}]" in first and leader["title"] in first
    assert f"within {cmp['horizon_years']:g} years {a}" in first or f"is {a}" in first, (a, first)
    assert f"from {fmt('attack_probability', r['p5'])} to {fmt('attack_probability', r['p95'])}" in first
    assert f"{cmp['ranges']['futures']:,} futures" in first
    # the same figure the summary table shows for that package
    assert escape(a) in html[html.index('<h2 id="summary">'):]
    return first


def test_summary_numbers_agree_with_the_comparison(report, packages, countries):
    study = _study(packages, countries)
    _deterrence_agrees(report, study)
    cmp = study.comparison
    leader = min(cmp["packages"], key=lambda p: p["metrics"]["attack_probability"])
    cost = _items(report)[1]
    assert fmt("approval_probability", leader["metrics"]["approval_probability"]) in cost
    if leader["metrics"]["total_cost_usd_per_year"]:
        assert fmt("total_cost_usd_per_year", leader["metrics"]["total_cost_usd_per_year"]) in cost
    # robustness: the share of futures in which the most robust package meets every threshold, as the robustness table rounds it
    rob = {r["id"]: r["satisficing"] for r in study.exploration.robustness}
    best = max(rob, key=lambda i: (rob[i] or 0.0, -study.ids.index(i)))
    sentence = _items(report)[2]
    assert f"[{best}]" in sentence and f"{N:,} sampled futures" in sentence
    assert f"in {_share(rob[best])} of them" in sentence, sentence
    assert f"Data as of {cmp['data']['latest']}" in _items(report)[-1]


def test_summary_follows_the_numbers_not_a_text(packages, countries):
    """Change an assumption and the sentences change with the numbers (a
    summary written once would not)."""
    without_us = ParameterSet.default().with_overrides({"will.USA": 0.0})
    a = _report(packages, countries)
    b = _report(packages, countries, without_us)
    sa = _deterrence_agrees(a, _study(packages, countries))
    sb = _deterrence_agrees(b, _study(packages, countries, without_us))
    assert sa != sb
    assert "1 parameter differs from the defaults: will.USA = 0" in _items(b)[-1]
    assert "differ" not in _items(a)[-1]
    # one package: its risk, not "deters best"
    one = _report(packages[2:3], countries)
    assert "deters best" not in _items(one)[0] and f"under {packages[2].title} [{packages[2].id}] is" in _items(one)[0]


@pytest.mark.parametrize("bad, fragment", [
    ("X" * (MARKING_MAX + 1), f"at most {MARKING_MAX} characters, got {MARKING_MAX + 1}"),
    ("OFFICIAL\nSENSITIVE", "control or format character (U+000A) at character 9"),
    ("OFFICIAL\x1b[31m", "U+001B"),
    ("SECRET\u202e", "U+202E"),  # a bidirectional override could show another marking than the one typed
    ("   ", "not empty"),
])
def test_bad_marking_is_a_clear_error(bad, fragment, packages, countries):
    with pytest.raises(InputError) as e:
        check_label("marking", bad, MARKING_MAX, "a handling marking")
    assert fragment in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(InputError):
        build_report(packages[:1], ParameterSet.default(), countries, marking=bad)


def test_marking_is_normalised_not_rejected():
    assert check_label("marking", "  NATO \u00a0 UNCLASSIFIED ", MARKING_MAX) == "NATO UNCLASSIFIED"
    assert check_label("marking", "OFFICIAL-SENSITIVE // UK EYES ONLY", MARKING_MAX) == "OFFICIAL-SENSITIVE // UK EYES ONLY"
    assert check_label("marking", "X" * MARKING_MAX, MARKING_MAX) == "X" * MARKING_MAX
    assert check_label("marking", None, MARKING_MAX) is None


def test_report_command_options(tmp_path):
    out = tmp_path / "r.html"
    r = run_foedus("report", FILES[1], FILES[2], "-o", out, "--futures", "0", "--title", "Options paper", "--author", "A. N. Author",
                   "--marking", "OFFICIAL")
    assert r.returncode == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    assert "<h1>Options paper</h1>" in html and "By <strong>A. N. Author</strong>" in html
    assert html.count(">OFFICIAL</p>") == 2 and '@top-center{content:"OFFICIAL"' in html
    assert "Executive summary" in html and "not computed (no futures sampled)" in html


@pytest.mark.parametrize("args, fragment", [
    (["--marking", "O" * 81], "--marking: a handling marking such as OFFICIAL or NATO UNCLASSIFIED: at most 80 characters, got 81"),
    (["--marking", "OFFICIAL\tX"], "--marking: a handling marking such as OFFICIAL or NATO UNCLASSIFIED: one line of printable characters"),
    (["--author", "x" * 121], "--author: the author's name: at most 120 characters, got 121"),
    (["--title", "a\x07b"], "--title: the report's title: one line of printable characters"),
])
def test_report_command_rejects_bad_labels(tmp_path, args, fragment):
    out = tmp_path / "r.html"
    r = run_foedus("report", FILES[0], "-o", out, "--futures", "0", *args)
    assert r.returncode == 2, r.stdout
    assert r.stderr.startswith("error: ") and fragment in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()
