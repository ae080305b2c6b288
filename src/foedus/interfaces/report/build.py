"""``foedus report``: a self-contained HTML report an analyst can attach to a
brief.

One file, no script and no external resource: styles inline, charts as
inline SVG (see :mod:`foedus.interfaces.report.svg`). The only URLs are
plain ``<a href>`` links in the sources list. The header gives the handling
marking (also closing the page, and printed at the top and bottom of every
PDF page), the title, the author, the date generated and the date of the
data. Then, for a planner reading from the top:

- the executive summary (:meth:`Study.summary
  <foedus.study.study.Study.summary>`) and the bottom line (deterrence
  against cost and approval, with a chart of the one against the other);
- the essentials: the summary table (central values with their 5th-95th
  percentile over the comparison's sample of futures), whose promise counts
  (the guarantors whose absence raises the attack probability most), every
  other package metric by sub-model, year by year (:attr:`Study.by_year
  <foedus.study.study.Study.by_year>`: per package the cumulative and
  discounted cost, the attack by the end of the horizon beside the steady
  model's figure and the year of peak cost, yearly cost and force charts of
  the packages whose cost or forces change over the years, and per
  guarantor the year of its peak cost and of a complete build-up),
  robustness across futures (with its own sample, ``n_futures``), and
  sensitivity (Sobol' total-order indices of each
  package's attack probability, with each input's basis);
- a compact appendix: every figure per guarantor, the packages and their
  commitments (grouped by kind and terms), assumptions (every parameter with
  value, unit, basis, range and its sources' numbers, and the count per
  basis), calibration (the published fit and check targets against
  foedus), the numbered sources, and how to reproduce the numbers.

Every range and share of futures names its sample (futures, sampler, seed):
the comparison's ranges and the robustness figures come from different
samples. Parameters are named in plain words where the text speaks of them,
and by name where a reader needs the name to reproduce something.

Numbers come from one :class:`~foedus.study.study.Study` (comparison,
exploration, failure boxes, bottom line, summary, sensitivity) and
:meth:`foedus.exploration.calibration.Calibration.results`; this module only
lays them out. When ``baseline_packages`` or parameter overrides differ from
the shipped defaults, tables and charts show the baseline beside the current
choice.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from foedus.domain.metrics import SUMMARY_METRICS
from foedus.interfaces.report import svg
from foedus.interfaces.report.pdf import print_css
from foedus.study.formatting import fmt, fmt_range, label, number
from foedus.study.summary import parameter_label, plain_rule, sample

#: Base samples of the report's Sobol' analysis (n x (inputs + 2) runs per package; 512 takes about 0.25 s a package).
SENSITIVITY_N = 512
#: Inputs listed per package in the sensitivity section.
SENSITIVITY_TOP = 5
#: Sub-models: (title, what it answers, its package metrics). Those on the
#: summary table are not repeated under "Every metric by sub-model".
SECTIONS = (
    ("Deterrence", "Does the package deter renewed aggression? Probability that the adversary renews the war within the horizon, from a bargaining model in which each guarantor's combat power counts in proportion to its credibility.",
     ("attack_probability", "annual_attack_probability", "defender_strength")),
    ("Credibility", "Which guarantor's promise is believed, and how much: the probability that each guarantor actually fights if the trigger happens (legal form, trigger, troops on the ground, nuclear status, national interest, political will). Per guarantor under Whose promise counts and in the appendix.",
     ()),
    ("Combat", "If deterrence fails: does the defence hold, and at what human cost?",
     ("defence_holds_probability", "casualties_if_war", "expected_casualties")),
    ("Costs", "What the package costs each guarantor per year on top of current defence spending, in money and in % of GDP against the NATO marks (2 %, 3.5 % core, 5 % total). Per guarantor in the appendix.",
     ("total_cost_usd_per_year", "max_cost_pct_gdp")),
    ("Forces", "Troops that must exist to keep the deployment going (rotation, enablers) against each guarantor's deployable capacity. Per guarantor in the appendix.",
     ("troops_deployed", "troops_required_pool", "guarantors_short")),
    ("Approval", "Can it be agreed and approved: veto players (Senate, parliaments, NATO and EU unanimity, listed per package in the appendix), Kyiv's acceptance, and the chance it stays in force.",
     ("approval_probability", "ratification_probability", "kyiv_acceptance", "in_force_share")),
    ("Escalation", "Risk of direct confrontation between nuclear powers, peacetime incidents, and the adversary rejecting the deal.",
     ("escalation_risk", "incident_probability", "adversary_acceptance")),
    ("Humanitarian", "Civilian protection and reconstruction financing covered.",
     ("humanitarian_coverage", "air_defence_coverage")),
)
#: Guarantors listed per package under "Whose promise counts" (the appendix lists more).
WORTH_SHOWN = 3
#: Guarantors listed per package in the appendix: the costliest, those
#: needing the largest pools, the most credible, and those whose absence
#: raises the attack probability most (each list at most this long).
APPENDIX_COST, APPENDIX_POOL, APPENDIX_CREDIBLE, APPENDIX_WORTH = 16, 16, 8, 6
#: Longest handling marking, author and title accepted, in characters.
MARKING_MAX, AUTHOR_MAX, TITLE_MAX = 80, 120, 200
#: Unicode categories never accepted in a marking, author or title: controls
#: (tabs, line breaks, escapes), format characters (bidirectional overrides,
#: zero-width), surrogates, private-use and unassigned code points, line and
#: paragraph separators.
_NOT_TEXT = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
#: What each label is, in error messages.
MARKING_WHAT = "a handling marking such as OFFICIAL or NATO UNCLASSIFIED"

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1d2430;margin:0;background:#fff;font-size:14px;line-height:1.45}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:2px solid #13294b;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.meta{color:#5f6b7a;font-size:13px}
.caveat{background:#fff8e1;border:1px solid #f0e0a0;padding:8px 12px;border-radius:4px;margin:12px 0}
.best{font-weight:700;color:#1b5e20}.sentences li{margin:4px 0}
table{border-collapse:collapse;width:100%;font-size:12.5px;margin:6px 0 10px}
th,td{border-bottom:1px solid #d9dee5;padding:3px 6px;vertical-align:top}
th{background:#f5f6f8;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.side th.n{white-space:normal}
table.side .rng,table.side .base{white-space:normal}
.wide{overflow-x:auto}
table.side.many{font-size:11.5px}table.side.many th,table.side.many td{padding:3px 4px}
table.inputs td:first-child,table.parameters td:nth-child(-n+3){overflow-wrap:anywhere}
.nw,table.rows td:first-child{white-space:nowrap}
table.compact{font-size:11.5px}
table.compact th{font-weight:600;white-space:normal}
tr.group th{background:#e9eef6;font-weight:400;white-space:normal}
.base{color:#5f6b7a;font-size:11px}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.charts svg{max-width:100%;height:auto;border:1px solid #eef0f3;border-radius:4px}
.caption{color:#5f6b7a;font-size:11.5px;margin:2px 0 10px}
.rationale{font-size:12.5px;margin:2px 0 4px}
table.commitments td:nth-child(-n+4),table.parameters td:nth-child(7),.targets{white-space:nowrap}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
pre{background:#f5f6f8;padding:8px;border-radius:4px;white-space:pre-wrap;word-break:break-all}
a{overflow-wrap:anywhere}
ol.sources{font-size:12px}ol.sources li{margin-bottom:3px}
.grade{color:#5f6b7a;font-size:11px}
.short{color:#b3261e;font-weight:600}
.rng{color:#4d6d99;font-size:11px;white-space:nowrap}
.pass{color:#1b7f3b;font-weight:600}.fail{color:#b3261e;font-weight:600}
.same{color:#5f6b7a}
nav ul{columns:3;font-size:13px}
.marking{text-align:center;font-weight:700;letter-spacing:.04em;border:1px solid #1d2430;padding:2px 8px;margin:0 0 12px;font-size:13px}
.marking.end{margin:16px 0 0}
.exec-summary{background:#f3f6fb;border-left:4px solid #13294b;padding:2px 14px 6px;margin:12px 0}
.exec-summary h2{border-bottom:none;margin-top:10px}.exec-summary li{margin:5px 0}
@media print{
.wide{overflow:visible}
table.side.many{font-size:6.3pt}table.side.many td.n{white-space:normal}
table.side.many th,table.side.many td{padding:2px 2px}
table.compact{font-size:6.3pt;line-height:1.12}
table.compact th,table.compact td{padding:.5px 3px}
table.compact .base,table.compact .grade,table.compact code{font-size:6pt}
table.compact td.n .base{white-space:normal}
.rationale{font-size:7.5pt}
.appendix h3{font-size:10.5pt}
ol.sources{columns:2;column-gap:14pt;font-size:6.3pt;line-height:1.15}ol.sources li{break-inside:avoid;margin-bottom:1pt}
ol.sources .url-rest{display:none}
.sentences{font-size:8.5pt}
.charts{gap:6px}
h2{margin-top:10pt}h3{margin:8pt 0 3pt}
}
"""


# ---------------------------------------------------------------------------------
# labels (title, author, marking)
# ---------------------------------------------------------------------------------


def check_label(name: str, value: str | None, max_len: int, what: str = "text") -> str | None:
    """``value`` (a report's marking, author or title) as printed: one line,
    runs of spaces made one. None stays None. Raises
    :class:`~foedus.domain.errors.InputError` naming ``name`` when it holds a
    control or format character, is empty, or is longer than ``max_len``
    characters."""
    from foedus.domain.errors import InputError, Problem

    if value is None:
        return None
    bad = next((c for c in value if unicodedata.category(c) in _NOT_TEXT), None)
    if bad is not None:
        where = value.index(bad) + 1
        raise InputError("foedus report", [Problem(name, f"{what}: one line of printable characters, got a control or format character "
                                                         f"(U+{ord(bad):04X}) at character {where}")])
    text = " ".join(value.split())
    if not text:
        raise InputError("foedus report", [Problem(name, f"{what}: not empty")])
    if len(text) > max_len:
        raise InputError("foedus report", [Problem(name, f"{what}: at most {max_len} characters, got {len(text)}")])
    return text


# ---------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------


@dataclass
class _View:
    """What the sections share: the study, its comparison by package id,
    the baseline's (None when nothing differs from it), and the inputs."""

    study: object
    packages: list
    parameters: object
    countries: object
    cur: dict
    base: dict | None
    #: the baseline's study (None when nothing differs from it): its yearly path
    base_study: object = None

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.packages]

    @property
    def result(self) -> dict:
        return self.study.comparison

    def ranges_sample(self) -> str | None:
        """The sample behind the comparison's ranges, in words; None without ranges."""
        rng = self.result.get("ranges")
        return sample(rng["futures"], rng["seed"], rng["sampler"]) if rng else None

    def futures_sample(self) -> str | None:
        """The sample behind robustness and failure boxes, in words; None without futures."""
        d = self.study.design
        return sample(d.n_futures, d.seed, d.sampler) if d.n_futures else None

    def country_name(self, iso: str) -> str:
        return self.countries[iso].name if iso in self.countries else iso


def build_report(packages, parameters, countries, *, horizon: float | None = None, n_futures: int = 0, seed: int = 0,
                 thresholds: list[str] | None = None, title: str = "foedus report", files: list[str] | None = None,
                 baseline_packages=None, sampler: str = "lhs", calibration=None, author: str | None = None,
                 marking: str | None = None, generated: dt.datetime | None = None, sensitivity_n: int = SENSITIVITY_N,
                 lead: list[tuple[str, str, str]] | None = None) -> str:
    """The report as one HTML string (no external resources).
    ``calibration``: a :class:`~foedus.exploration.calibration.Calibration`
    (built here when not given) whose targets fill the calibration section.
    ``author`` and the handling ``marking`` (e.g. "OFFICIAL", "NATO
    UNCLASSIFIED"; checked by :func:`check_label`) go in the header; the
    marking also at the top and bottom of the page and, printed, of every
    page. ``generated``: the time stated as the report's date (default: now).
    ``sensitivity_n``: base samples of the Sobol' analysis of each package's
    attack probability (a power of two; 0 leaves the section out).
    ``lead``: sections another interface has laid out (anchor, title in the
    navigation, HTML), placed after the navigation and before the bottom
    line (the design search's, :mod:`foedus.interfaces.report.design_search`)."""
    from foedus.study.study import Design, Study

    title = check_label("title", title, TITLE_MAX, "the report's title")
    author = check_label("author", author, AUTHOR_MAX, "the author's name")
    marking = check_label("marking", marking, MARKING_MAX, MARKING_WHAT)
    study = Study(list(packages), parameters, countries, horizon, Design(n_futures, seed, sampler), thresholds, by_scenario=True)
    study.parsed_thresholds  # checked even without futures, so a typo is never silently ignored
    calibration, cal_error = _calibration(calibration, countries)
    base_study = _baseline(packages, parameters, countries, baseline_packages)
    v = _View(study, list(packages), parameters, countries, {p["id"]: p for p in study.comparison["packages"]},
              {p["id"]: p for p in base_study.comparison["packages"]} if base_study is not None else None, base_study)
    refs = _References.of(v, calibration)
    brief = [
        _header(v, title, author, marking, when=(generated or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)),
        _executive_summary(study.summary()),
        _caveats(v),
        _nav(sensitivity_n, [(a, t) for a, t, _ in lead or ()]),
        *[html for _, _, html in lead or ()],
        _bottom_line_section(v),
        _summary_section(v),
        _worth_section(v),
        _scenario_section(v),
        _submodels_section(v),
        _years_section(v),
        _robustness_section(v),
        *([_sensitivity_section(v, sensitivity_n, seed)] if sensitivity_n else []),
    ]
    appendix = [
        _guarantors_section(v),
        _packages_section(v, baseline_packages),
        _assumptions_section(v, refs),
        _calibration_section(calibration, cal_error, refs),
        _sources_section(v, refs),
        _reproduce_section(v, files),
    ]
    end = f'\n<p class="marking end" id="marking-bottom">{escape(marking)}</p>' if marking else ""
    head_meta = f'<meta name="author" content="{escape(author, quote=True)}">' if author else ""
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f"{head_meta}<title>{escape(title)}</title><style>{CSS}</style><style>{print_css(title, marking)}</style></head><body><main>\n"
            + "\n".join(brief) + '\n<div class="appendix">\n' + "\n".join(appendix) + "\n</div>"
            + f'\n<p class="caption">foedus — open source. Model estimates, not predictions.</p>{end}</main></body></html>\n')


def _calibration(calibration, countries):
    """The calibration to report and, when its file cannot be read, the error (reported in its section, not fatal)."""
    if calibration is not None:
        return calibration, None
    from foedus.domain.errors import InputError
    from foedus.exploration.calibration import Calibration

    try:
        return Calibration(countries=countries), None
    except InputError as exc:
        return None, str(exc)


def _baseline(packages, parameters, countries, baseline_packages):
    """The baseline's study (the packages as shipped, default parameters),
    or None when the report's choice does not differ from it."""
    from foedus.data.parameter_set import ParameterSet
    from foedus.study.study import Study

    changed = bool(parameters.overrides) or (baseline_packages is not None and
                                              [p.model_dump() for p in baseline_packages] != [p.model_dump() for p in packages])
    if not changed:
        return None
    return Study(list(baseline_packages or packages), ParameterSet.default(), countries)


# ---------------------------------------------------------------------------------
# shared pieces
# ---------------------------------------------------------------------------------


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%" if abs(v) >= 0.01 or v == 0 else f"{100 * v:.2g}%"


def _axis_fmt(metric: str):
    from foedus.study.formatting import kind

    k = kind(metric)
    if k in ("prob", "pct_gdp"):
        return lambda v: f"{100 * v:.3g}%"
    if k == "usd":
        return lambda v: f"${v / 1e9:.3g} bn" if v else "0"
    return lambda v: f"{v:,.0f}" if abs(v) >= 1 or v == 0 else f"{v:.2g}"


def _table(head: list[str], rows: list[list[str]], numeric_from: int = 1, cls: str = "", numeric_to: int | None = None) -> str:
    """A table: the columns from ``numeric_from`` up to (not including)
    ``numeric_to`` right-aligned as numbers; ``cls`` its class."""

    def n(i: int) -> str:
        return "n" if numeric_from <= i < (numeric_to if numeric_to is not None else len(head)) else ""

    h = "".join(f'<th class="{n(i)}">{escape(x)}</th>' for i, x in enumerate(head))
    body = "".join("<tr>" + "".join(f'<td class="{n(i)}">{x}</td>' for i, x in enumerate(r)) + "</tr>" for r in rows)
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


#: Packages side by side beyond which a table's print is set smaller (and numbers may wrap).
MANY_COLUMNS = 8


def _side(ids: list[str]) -> str:
    """The class of a table with one column per package."""
    return "side many" if len(ids) > MANY_COLUMNS else "side"


def _wide(table: str) -> str:
    """A table with one column per package, in a box that scrolls sideways on
    a screen too narrow for it (it fits at 1,400 px for the eleven seed packages)."""
    return f'<div class="wide">{table}</div>'


def _base_note(v: _View, pid: str, metric: str) -> str:
    """"base X" under a value, when there is a baseline."""
    if v.base is None or pid not in v.base:
        return ""
    return f'<div class="base">base {escape(fmt(metric, v.base[pid]["metrics"].get(metric)))}</div>'


def _ref_html(r) -> str:
    parts = [f"{escape(r.publisher)} ({r.year}). <em>{escape(r.title)}</em>."]
    if r.url:
        parts.append(f' <a href="{escape(r.url, quote=True)}">{_url_text(r.url)}</a>')
    if r.doi:
        parts.append(f" doi:{escape(r.doi)}")
    parts.append(f' <span class="grade">[{escape(r.grade.value)}]</span>')
    return "".join(parts)


def _url_text(url: str) -> str:
    """A URL as link text: its site, then the rest in a span that print
    leaves out (the printed link still holds the whole URL)."""
    scheme, _, rest = url.partition("://")
    site, slash, path = (rest or scheme).partition("/")
    head = f"{scheme}://{site}" if rest else site
    return escape(head) + (f'<span class="url-rest">{escape(slash + path)}</span>' if slash else "")


def _ref_links(nums: list[int]) -> str:
    """Reference numbers as links into the reference list, runs as ranges: "[3, 7–9]"."""
    runs: list[list[int]] = []
    for n in sorted(set(nums)):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])

    def link(n: int) -> str:
        return f'<a href="#src-{n}">{n}</a>'

    parts = [link(r[0]) if len(r) == 1 else f"{link(r[0])}{', ' if len(r) == 2 else '–'}{link(r[-1])}" for r in runs]
    return "[" + ", ".join(parts) + "]" if parts else ""


class _References:
    """The numbered reference list: each distinct reference once, numbered in
    the order first cited (package sources, parameter references, country
    data, calibration sources), and the numbers each of them cites."""

    def __init__(self):
        self.items: list[str] = []
        self._seen: dict[tuple, int] = {}
        self.packages: dict[str, list[int]] = {}
        self.parameters: dict[str, list[int]] = {}
        self.countries: list[int] = []
        self.calibration: dict[str, int] = {}
        self.n_countries = 0

    def cite(self, r) -> int:
        key = (r.publisher.strip(), r.title.strip(), r.year, r.url or "")  # as written: every title the data give is listed
        if key not in self._seen:
            self._seen[key] = len(self.items) + 1
            self.items.append(_ref_html(r))
        return self._seen[key]

    def cite_all(self, refs) -> list[int]:
        return sorted({self.cite(r) for r in refs})

    @classmethod
    def of(cls, v: _View, calibration) -> "_References":
        refs = cls()
        for p in v.packages:
            refs.packages[p.id] = refs.cite_all([*p.sources, *(r for c in p.commitments for r in c.sources)])
        for name, p in v.parameters.parameters.items():
            refs.parameters[name] = refs.cite_all([*p.references, *(p.uncertainty.references if p.uncertainty is not None else [])])
        used = sorted({g["iso3"] for pk in v.result["packages"] for g in pk["guarantors"]})
        refs.n_countries = len(used)
        src_ids = sorted({f.source for iso in used if iso in v.countries
                          for f in {**v.countries[iso].figures(), **v.countries[iso].facts()}.values()})
        refs.countries = refs.cite_all([v.countries.sources[s] for s in src_ids if s in v.countries.sources])
        if calibration is not None:
            refs.calibration = {sid: refs.cite(ref) for sid, ref in calibration.data.sources.items()}
        return refs


# ---------------------------------------------------------------------------------
# header, executive summary, bottom line
# ---------------------------------------------------------------------------------


def _header(v: _View, title: str, author: str | None, marking: str | None, when: dt.datetime) -> str:
    import foedus

    data = v.result["data"]
    d = v.study.design
    out = [f'<p class="marking" id="marking-top">{escape(marking)}</p>'] if marking else []
    out.append(f"<h1>{escape(title)}</h1>")
    byline = [f"By <strong>{escape(author)}</strong>"] if author else []
    byline += [f'Generated <time datetime="{when.isoformat(timespec="seconds")}">{when.strftime("%Y-%m-%d %H:%M UTC")}</time>',
               f'data as of <strong>{escape(data["latest"])}</strong>']
    out.append(f'<p class="meta" id="byline">{" — ".join(byline)}</p>')
    out.append(f'<p class="meta">foedus {escape(foedus.__version__)} — {len(v.packages)} packages — horizon {v.result["horizon_years"]:g} years'
               + (f" — {d.n_futures:,} futures (seed {d.seed})" if d.n_futures else "") + "</p>")
    out.append(f'<p class="meta" id="data-vintage"><strong>Data as of {escape(data["latest"])}</strong> ({escape(data["detail"])})</p>')
    return "\n".join(out)


def _executive_summary(sentences: list[dict]) -> str:
    """The executive summary (:meth:`foedus.study.study.Study.summary`): its
    sentences in reading order, each marked with its topic."""
    items = "".join(f'<li data-topic="{escape(s["topic"], quote=True)}">{escape(s["text"])}</li>' for s in sentences)
    return ('<div class="exec-summary"><h2 id="executive-summary">Executive summary</h2>'
            f"<ul>{items}</ul>"
            '<p class="caption">Generated from the numbers in this report (no language model). Model estimates, not predictions.</p></div>')


def _caveats(v: _View) -> str:
    out = ['<p class="caveat"><strong>Model estimates, not predictions.</strong> Every figure below follows from the assumptions listed in '
           '<a href="#assumptions">Assumptions</a>, each with its source in <a href="#sources">Sources</a>. Probabilities are '
           "conditional on those assumptions; ranges across futures are shown where the report was run with futures.</p>"]
    if v.base is not None:
        out.append('<p class="caveat">This report compares a <strong>current</strong> choice (edited packages and/or changed assumptions, listed under '
                   'Assumptions) with the <strong>baseline</strong> (the packages as shipped, default assumptions). Baseline values are in grey.</p>')
    return "\n".join(out)


def _nav(sensitivity_n: int, lead: list[tuple[str, str]] = ()) -> str:
    links = [("executive-summary", "Executive summary"), *lead, ("bottom-line", "Bottom line"), ("summary", "Summary"), ("worth", "Whose promise counts"),
             ("submodels", "Every metric by sub-model"), ("years", "Year by year"), ("robustness", "Robustness across futures"),
             *([("sensitivity", "Sensitivity")] if sensitivity_n else []), ("guarantors", "Appendix: per guarantor"),
             ("packages", "Appendix: packages"), ("assumptions", "Appendix: assumptions"), ("calibration", "Appendix: calibration"),
             ("sources", "Sources"), ("reproduce", "Reproduce")]
    return "<nav><ul>" + "".join(f'<li><a href="#{a}">{t}</a></li>' for a, t in links) + "</ul></nav>"


def _bottom_line_section(v: _View) -> str:
    """Deterrence against cost, with approval: the package titles, central
    values with their ranges, the best value of each column marked, a chart
    of deterrence against cost, and one sentence per package on what drives
    it (all from the study)."""
    from foedus.domain.metrics import BOTTOM_LINE

    rows = v.study.bottom_line()
    top = {m: max([x for r in rows for x in (r["values"][m]["value"], r["values"][m]["p95"]) if x is not None] + [0.0]) for m in BOTTOM_LINE}
    body = []
    for r in rows:
        cells = [f"<strong>{escape(r['title'])}</strong><div class=\"base\">{escape(r['id'])}</div>"]
        for m in BOTTOM_LINE:
            val = r["values"][m]
            cell = escape(fmt(m, val["value"]))
            if val["best"]:
                cell = f'<span class="best" title="best in this column">{cell} ★</span>'
            if val["p5"] is not None:
                spread = fmt_range(m, {"p5": val["p5"], "p95": val["p95"]})
                cell += (f'<div class="rng">{escape(spread)}</div>'
                         + svg.range_bar(val["value"], val["p5"], val["p95"], top[m], f"{r['id']}, {label(m)}: {fmt(m, val['value'])}, 5th–95th percentile {spread}"))
            cells.append(cell)
        body.append(cells)
    where = v.ranges_sample()
    out = ['<h2 id="bottom-line">Bottom line</h2>', _table(["package"] + [label(m) for m in BOTTOM_LINE], body)]
    out.append('<p class="caption">★ the best central value of its column, as the study marks it. Below each value, its 5th–95th percentile over '
               + (f"the comparison's sample of {escape(where)}" if where else "the sampled futures")
               + ", and a bar of that range (the dot: the central value) on a scale shared by the column. Model estimates, not predictions.</p>")
    out.append('<div class="charts">' + _deterrence_cost_chart(v) + "</div>")
    out.append("<ul class=\"sentences\">" + "".join(f"<li><strong>{escape(r['title'])}.</strong> {escape(r['sentence'])}</li>" for r in rows) + "</ul>")
    out.append('<p class="caption">The sentences are generated from the numbers (no language model); their ranges over futures come from the same sample '
               "as the table's. Model estimates, not predictions.</p>")
    return "".join(out)


def _deterrence_cost_chart(v: _View) -> str:
    """Each package's attack probability against its cost per year, with
    their 5th-95th percentiles as bars, labels placed apart (the baseline
    in grey when there is one)."""
    a, c = "attack_probability", "total_cost_usd_per_year"

    def point(pid: str, entry: dict) -> svg.Point:
        m, r = entry["metrics"], entry.get("ranges") or {}

        def span(k: str) -> tuple[float, float] | None:
            return (r[k]["p5"], r[k]["p95"]) if r.get(k) else None

        return svg.Point(pid, m.get(c), m.get(a), span(c), span(a))

    where = v.ranges_sample()
    chart = svg.Scatter("Deterrence against cost" + (f" (bars: 5th–95th percentile, {where})" if where else ""),
                        label(c), label(a), [point(i, v.cur[i]) for i in v.ids], _axis_fmt(c), _axis_fmt(a),
                        background=[point(i, v.base[i]) for i in v.ids if i in v.base] if v.base is not None else [], height=300)
    return svg.scatter_chart(chart)


# ---------------------------------------------------------------------------------
# the essentials
# ---------------------------------------------------------------------------------


def _summary_section(v: _View) -> str:
    """Every summary metric side by side, central values with their ranges
    over the comparison's sample."""
    rows = []
    for m in SUMMARY_METRICS:
        row = [escape(label(m))]
        for i in v.ids:
            cell = escape(fmt(m, v.cur[i]["metrics"].get(m)))
            r = (v.cur[i].get("ranges") or {}).get(m)
            if r:
                cell += f'<div class="rng" data-p5="{r["p5"]}" data-p50="{r["p50"]}" data-p95="{r["p95"]}">{escape(fmt_range(m, r))}</div>'
            row.append(cell + _base_note(v, i, m))
        rows.append(row)
    rng, robust = v.result.get("ranges"), v.futures_sample()
    caption = "Central values of every parameter"
    if rng:
        caption += (f"; below each, in blue-grey, its range across futures: the 5th to the 95th percentile over {rng['futures']:,} sampled futures "
                    f"({escape(str(rng['sampler']).upper())}, seed {rng['seed']}) of every uncertain parameter, the sample of <code>foedus compare</code>")
        if robust:
            caption += f" (robustness, further down, uses its own sample: {escape(robust)})"
    caption += (". Grey: the baseline" if v.base is not None else "") + ". Model estimates, not predictions."
    return ('<h2 id="summary">Summary</h2>' + _wide(_table(["metric (central values)"] + v.ids, rows, cls=_side(v.ids)))
            + f'<p class="caption">{caption}</p>')


def _worth_section(v: _View) -> str:
    """Per package, its attack probability and approval at the central
    values without each of the :data:`WORTH_SHOWN` guarantors whose absence
    raises the attack probability most, and their credibility."""
    out = ['<h2 id="worth">Whose promise counts</h2>',
           "<p>What each guarantor's promise and money are worth: the package's attack probability within the horizon at the central values, and "
           "the same with that guarantor's commitments removed (its own dropped, and left out of any NATO or EU commitment): all of them, only its "
           "promises and forces (its aid kept), and only its aid (its promises kept), the guarantors whose absence raises it most first; beside it, "
           "the package's approval (approved and in force) with and without the guarantor, and the guarantor's credibility (the probability that it "
           "fights if the trigger happens).</p>"]
    rows = []
    for i in v.ids:
        p = v.cur[i]
        gs = sorted((g for g in p["guarantors"] if "attack_probability_without" in g), key=_worth_order)
        if not gs:
            rows.append(f'<tr><td><strong>{escape(i)}</strong></td><td colspan="5">no guarantor</td></tr>')
            continue
        rows += _worth_rows(v, i, gs)
    out.append('<table><thead><tr><th>package</th><th>guarantor taken away</th><th class="n">attack within horizon</th>'
               '<th class="n">only its promises / only its aid</th>'
               '<th class="n">approved and in force</th><th class="n">its credibility</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")
    out.append(f'<p class="caption">At most {WORTH_SHOWN} guarantors per package; the <a href="#guarantors">appendix</a> lists more for each package, and '
               "<code>foedus compare --json</code> every one (<code>attack_probability_without</code>, <code>..._without_promises</code>, "
               "<code>..._without_aid</code>, <code>approval_probability_without</code>). "
               "Grey: no change at this precision. Model estimates, not predictions.</p>")
    return "".join(out)


def _scenario_section(v: _View) -> str:
    """Each package's attack probability in every named will scenario
    (will fixed; the range over the other uncertain inputs), beside the
    pooled range in which will is sampled."""
    scen = v.result.get("scenarios")
    if not scen:
        return ""
    m = "attack_probability"
    head = ["package", "pooled (will sampled)"] + [sc["title"] for sc in scen]

    def cell(d: dict) -> str:
        r = fmt_range(m, d) if d.get("p5") is not None else ""
        return escape(fmt(m, d["value"])) + (f'<div class="base">{escape(r)}</div>' if r else "")

    rows = []
    for i in v.ids:
        p = v.cur[i]
        rows.append([f"<strong>{escape(i)}</strong>", cell({"value": p["metrics"][m], **(p.get("ranges") or {}).get(m, {})})]
                    + [cell(sc["packages"][i][m]) for sc in scen])
    sets = "; ".join(f"<em>{escape(sc['title'])}</em>: " + ", ".join(f"<code>{escape(k)}</code> = {x:g}" for k, x in sc["set"].items()) for sc in scen)
    sample_text = v.ranges_sample() or "no futures"
    return ('<h2 id="scenarios">By will scenario</h2>'
            "<p>Whose will matters is a deep uncertainty no data resolve. Each named scenario fixes the guarantors' political will (0 never acts, "
            "0.5 the average ally of the record, 1 the most reliable allies on record); the pooled column samples will over the fulfilment record "
            "instead. Attack within the horizon, central value and 5th–95th percentile over the other uncertain inputs.</p>"
            + _wide(_table(head, rows, cls=_side(v.ids)))
            + f'<p class="caption">{sets}. Ranges: {escape(sample_text)}. <code>foedus compare --scenario ID</code> gives every metric in one '
            "scenario. Model estimates, not predictions.</p>")


def _worth_order(g: dict) -> tuple:
    """Guarantors whose absence raises the attack probability most first (then by code)."""
    w = g["attack_probability_without"]
    return (-(w if w is not None else -1.0), g["iso3"])


def _worth_rows(v: _View, pid: str, gs: list[dict]) -> list[str]:
    p = v.cur[pid]
    a0 = fmt("attack_probability", p["metrics"].get("attack_probability"))
    r0 = fmt("approval_probability", p["metrics"].get("approval_probability"))
    shown = gs[:WORTH_SHOWN]
    head = f'<td rowspan="{len(shown)}"><strong>{escape(pid)}</strong><div class="base">{len(gs)} guarantors'
    head += f", {len(gs) - len(shown)} not shown" if len(gs) > len(shown) else ""
    head += "</div></td>"
    rows = []
    for k, g in enumerate(shown):
        aw = fmt("attack_probability", g["attack_probability_without"])
        rw = fmt("approval_probability", g.get("approval_probability_without"))
        cls = ' class="same"' if aw == a0 else ""
        rows.append(f'<tr id="worth-{escape(pid, quote=True)}-{escape(g["iso3"], quote=True)}"{cls}>' + (head if k == 0 else "")
                    + f"<td>without {escape(v.country_name(g['iso3']))} ({escape(g['iso3'])})</td>"
                    + f'<td class="n">{escape(a0)} → <strong>{escape(aw)}</strong></td>'
                    + f'<td class="n">{escape(fmt("attack_probability", g.get("attack_probability_without_promises")))} / '
                    + f'{escape(fmt("attack_probability", g.get("attack_probability_without_aid")))}</td>'
                    + f'<td class="n">{escape(r0)} → {escape(rw)}</td>'
                    + f'<td class="n">{escape(fmt("credibility", g.get("credibility")))}</td></tr>')
    return rows


def _submodels_section(v: _View) -> str:
    """One table: per sub-model, the question it answers and its package
    metrics that the summary table does not already show."""
    n = len(v.ids) + 1
    body = []
    for name, question, metrics in SECTIONS:
        also = [label(m) for m in metrics if m in SUMMARY_METRICS]
        note = f' <span class="base">On the summary table: {escape(", ".join(also))}.</span>' if also else ""
        body.append(f'<tr class="group" id="{name.lower()}"><th colspan="{n}"><strong>{escape(name)}.</strong> {escape(question)}{note}</th></tr>')
        for m in metrics:
            if m not in SUMMARY_METRICS:
                cells = [escape(fmt(m, v.cur[i]["metrics"].get(m))) + _base_note(v, i, m) for i in v.ids]
                body.append(f"<tr><td>{escape(label(m))}</td>" + "".join(f'<td class="n">{c}</td>' for c in cells) + "</tr>")
    head = "<th>metric (central values)</th>" + "".join(f'<th class="n">{escape(i)}</th>' for i in v.ids)
    return ('<h2 id="submodels">Every metric by sub-model</h2>'
            + _wide(f'<table class="{_side(v.ids)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')
            + '<p class="caption">Model estimates, not predictions. Equations and their sources: the model document (docs/model.md).</p>')


# ---------------------------------------------------------------------------------
# year by year
# ---------------------------------------------------------------------------------

#: Guarantors listed per package in the table of peak years: those paying most
#: at their peak (every guarantor still building up forces is listed too).
PEAK_SHOWN = 3


def _year_label(m: str) -> str:
    """The catalogue's label of ``m`` on the time axis (its package label if it has none of its own)."""
    from foedus.domain.metrics import YEAR, metric

    return metric(m, YEAR).label


def _years_section(v: _View) -> str:
    """The yearly path from the start year to the horizon (:attr:`Study.by_year`):
    the totals per package (cumulative and discounted cost, the attack by the
    end of the last year beside the steady model's figure, the year of peak
    cost), a chart of the cost per year and one of the forces per package
    (the baseline dashed when there is one, the 5th-95th percentile as a
    band), and the year of peak cost and the year the build-up is complete
    per guarantor."""
    yr = v.study.by_year
    base = v.base_study.by_year if v.base_study is not None else None
    bp = {p["id"]: p for p in base["packages"]} if base is not None else {}
    years, end = yr["years"], yr["years"][-1]
    where = sample(yr["ranges"]["futures"], yr["ranges"]["seed"], yr["ranges"]["sampler"]) if yr.get("ranges") else None
    out = ['<h2 id="years">Year by year</h2>',
           f"<p>From {years[0]} to {end}: what each package costs in each year (forces as they are raised, enablers as they are bought and "
           "delivered, aid), the personnel it has deployed, and the probability that the war has been renewed by the end of each year (a yearly "
           "hazard, with promises that may lapse and a hazard highest right after the ceasefire). Commitments that change by year are priced in the "
           "year they change; a package without years is the same every year.</p>"]

    def with_base(pid: str, text: str, base_text: str | None) -> str:
        return escape(text) + (f'<div class="base">base {escape(base_text)}</div>' if base_text is not None and pid in bp else "")

    a, c = "attack_probability", "total_cost_usd_per_year"
    head = ["package", f"{_year_label('cumulative_cost_usd')} by {end}", f"{_year_label('discounted_cost_usd')} by {end}",
            f"Attack by the end of {end}", f"{label(a)} (steady model)", "Year of peak cost", f"Peak {label(c).lower()}"]
    rows = []
    for p in yr["packages"]:
        pid, t, b = p["id"], p["totals"], (bp.get(p["id"]) or {}).get("totals")
        bs = bp.get(pid)
        rows.append([f'<span id="years-{escape(pid)}">{escape(pid)}</span>',
                     with_base(pid, fmt("cumulative_cost_usd", t["cumulative_cost_usd"]), b and fmt("cumulative_cost_usd", b["cumulative_cost_usd"])),
                     with_base(pid, fmt("discounted_cost_usd", t["discounted_cost_usd"]), b and fmt("discounted_cost_usd", b["discounted_cost_usd"])),
                     with_base(pid, fmt(a, t["attack_probability"]), b and fmt(a, b["attack_probability"])),
                     with_base(pid, fmt(a, p["steady_attack_probability"]), bs and fmt(a, bs["steady_attack_probability"])),
                     with_base(pid, str(t["peak_cost_year"]), b and str(b["peak_cost_year"])),
                     with_base(pid, fmt(c, t["peak_cost_usd_per_year"]), b and fmt(c, b["peak_cost_usd_per_year"]))])
    out.append(_wide(_table(head, rows, cls="side rows years-totals")))
    out.append('<p class="caption">Cumulative cost: the cost to all guarantors summed over the years; discounted: each year\'s cost discounted to '
               f"{years[0]} at the discount rate (<code>time.discount_rate</code>). Attack by the end of {end}: 1 − Π(1 − h<sub>t</sub>) over the "
               "yearly hazards h<sub>t</sub>; the steady model repeats one year over the horizon (it equals the yearly path when nothing changes "
               "by year)." + (" Grey: the baseline." if base is not None else "") + " Model estimates, not predictions.</p>")

    charts, flat = [], []
    for p in yr["packages"]:
        pid, b = p["id"], bp.get(p["id"])
        if not any(_changes(x["metrics"][m]) for x in (p, b) if x is not None for m in YEAR_CHARTED):
            flat.append(pid)
            continue
        if any(p["metrics"][c]) or (b and any(b["metrics"][c])):
            charts.append(svg.line_chart(svg.LineChart(f"{pid}: {label(c).lower()}", years, _year_lines(p, b, c), _axis_fmt(c))))
        if any(p["metrics"]["troops_deployed"]) or any(p["metrics"]["troops_required_pool"]) or (b and any(b["metrics"]["troops_deployed"])):
            charts.append(svg.line_chart(svg.LineChart(f"{pid}: {_year_label('troops_deployed').lower()}", years,
                                                       _year_lines(p, b, "troops_deployed", also=("troops_short",)), _axis_fmt("troops_deployed"))))
    if charts:
        out.append('<div class="charts years-charts">' + "".join(charts) + "</div>")
    out.append('<p class="caption">' + (f"Per package whose cost or forces change over the years, its {label(c).lower()} and the "
               f"{_year_label('troops_deployed').lower()} in each year (blue; the band: 5th–95th percentile over "
               f"{escape(where) if where else 'the sampled futures'}, the sample of the summary's ranges)"
               + (", the baseline dashed grey" if base is not None else "")
               + f"; red: {_year_label('troops_short').lower()} (the pool needed beyond capacity and the soldiers trained so far). "
               "A package that costs nothing has no cost chart, one that deploys no forces no force chart. " if charts else "")
               + (f"The same cost and forces every year, so no chart (their totals are in the table): {escape(', '.join(flat))}. " if flat else "")
               + "Model estimates, not predictions.</p>")
    out.append(_peak_table(v, yr, bp))
    return "".join(out)


#: The yearly metrics the report charts per package (cost, forces); a package
#: in which none of them changes over the years gets no chart.
YEAR_CHARTED = ("total_cost_usd_per_year", "troops_deployed", "troops_short")


def _changes(values: list[float]) -> bool:
    """Whether a yearly path changes over the years (beyond rounding)."""
    return bool(values) and max(values) - min(values) > 1e-9 * max(1.0, abs(max(values)))


def _year_lines(p: dict, b: dict | None, m: str, also: tuple[str, ...] = ()) -> list:
    """The lines of one yearly chart: the baseline (dashed grey) if any, the
    current value with its band, and the ``also`` metrics (red) where not all zero."""
    r = (p.get("ranges") or {}).get(m)
    lines = []
    if b is not None:
        lines.append(svg.Line("baseline", b["metrics"][m], svg.BASE, dashed=True))
    lines.append(svg.Line("current" if b is not None else _year_label(m).lower(), p["metrics"][m], svg.CURRENT,
                          band=(r["p5"], r["p95"]) if r else None))
    for k in also:
        if any(p["metrics"][k]):
            lines.append(svg.Line(_year_label(k).lower(), p["metrics"][k], "#b3261e"))
    return lines


def _peak_table(v: _View, yr: dict, bp: dict) -> str:
    """Per package and guarantor: the year of its peak cost, that cost, and
    the year its build-up is complete (the forces it must raise trained)."""
    years = yr["years"]
    start, end = years[0], years[-1]
    rows, more = [], 0
    for p in yr["packages"]:
        gs = [g for g in p["guarantors"] if any(g["metrics"]["cost_usd_per_year"]) or g["ready_year"] != start]
        peak = {g["iso3"]: g["metrics"]["cost_usd_per_year"][years.index(g["peak_cost_year"])] for g in gs}
        top = sorted(gs, key=lambda g: (-peak[g["iso3"]], g["iso3"]))
        kept = {g["iso3"] for g in top[:PEAK_SHOWN]} | {g["iso3"] for g in gs if g["ready_year"] != start}
        more += len(gs) - len(kept)
        for g in (g for g in top if g["iso3"] in kept):
            iso = g["iso3"]
            ready = str(g["ready_year"]) if g["ready_year"] is not None else f"after {end}"
            rows.append(f'<tr id="peak-{escape(p["id"])}-{escape(iso)}" data-peak-year="{g["peak_cost_year"]}" data-peak-cost="{peak[iso]!r}" '
                        f'data-ready-year="{g["ready_year"] if g["ready_year"] is not None else ""}"><td>{escape(p["id"])}</td>'
                        f"<td>{escape(v.country_name(iso))} ({escape(iso)})</td><td class=\"n\">{g['peak_cost_year']}</td>"
                        f'<td class="n">{escape(fmt("total_cost_usd_per_year", peak[iso]))}</td><td class="n">{escape(ready)}</td></tr>')
    head = "".join(f'<th class="{"n" if i > 1 else ""}">{h}</th>' for i, h in enumerate(
        ["package", "guarantor", "year of peak cost", "peak cost per year", "build-up complete"]))
    return ('<h3 id="peak-years">Year of peak cost per guarantor</h3>'
            f'<table class="rows peak-years"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            f'<p class="caption">Per package, the {PEAK_SHOWN} guarantors paying most in their peak year, and every guarantor still raising forces '
            f"after {start}. Build-up complete: the first year in which the forces a guarantor must raise for the package are trained (its "
            f"start year when it has them already; “after {end}” when not within the horizon). Central values."
            + (f" {more} more guarantors with smaller costs: <code>foedus compare --by-year --json</code> lists every one." if more else "")
            + " Model estimates, not predictions.</p>")


# ---------------------------------------------------------------------------------
# robustness and sensitivity
# ---------------------------------------------------------------------------------


def _robustness_section(v: _View) -> str:
    out = ['<h2 id="robustness">Robustness across futures</h2>']
    if not v.study.design.n_futures:
        out.append("<p>Not computed: run <code>foedus report ... --futures N</code> to add satisficing shares, regret, ranges across futures and the "
                   "boxes of futures in which each package fails (PRIM).</p>")
        return "".join(out)
    res, ths = v.study.exploration, v.study.parsed_thresholds
    ids, where = res.package_ids, v.futures_sample()
    rob = {r["id"]: r for r in res.robustness}
    named = [f"{label(t.metric)} {t.op} {fmt(t.metric, t.value)}" for t in ths]
    other = v.ranges_sample()
    out.append(f"<p>{res.n:,} futures sampled ({escape(str(v.study.design.sampler).upper())}, seed {v.study.design.seed}) over "
               f"{len(res.input_names)} uncertain inputs" + (f", a sample of its own (the summary's ranges come from {escape(other)})" if other else "")
               + f". A package <em>satisfices</em> in a future when it meets every threshold: {escape('; '.join(named))}. "
               "Regret: distance to the best package in the same future.</p>")
    out.append(_table(["package", "meets all"] + named + [f"mean regret: {label(t.metric)}" for t in ths],
                      [[escape(i), _pct(rob[i]["satisficing"] or 0.0)] + [_pct(rob[i]["per_threshold"][str(t)]) for t in ths]
                       + [escape(fmt(t.metric, rob[i]["regret"][t.metric]["mean"])) for t in ths] for i in ids], cls="side rows"))
    out.append(f'<p class="caption">Shares of the {escape(where)}; mean regret over the same futures.</p>')
    out.append('<div class="charts">' + svg.bar_chart(svg.Chart(f"Share of futures meeting every threshold ({where})", ids,
                                                                [svg.Series("satisficing share", [rob[i]["satisficing"] for i in ids])],
                                                                lambda x: f"{100 * x:.0f}%", width=680, height=190)) + "</div>")
    out.append(_ranges_across_futures(ids, rob, where))
    out.append(_failure_boxes(v, ids, where))
    return "".join(out)


def _ranges_across_futures(ids: list[str], rob: dict, where: str) -> str:
    pm = ("attack_probability", "approval_probability", "escalation_risk", "total_cost_usd_per_year", "max_cost_pct_gdp")
    rows = []
    for i in ids:
        pc = rob[i].get("percentiles", {})
        rows.append([escape(i)] + [f"<strong>{escape(fmt(m, pc[m]['p50']))}</strong><div class=\"base\">{escape(fmt(m, pc[m]['p5']))} – {escape(fmt(m, pc[m]['p95']))}</div>"
                                   if m in pc else "–" for m in pm])
    return ("<h3>Ranges across futures</h3>" + _table(["package"] + [label(m) for m in pm], rows, numeric_from=99, cls="side rows")
            + f'<p class="caption">Median over the {escape(where)} in bold; below it the range from the 5th to the 95th percentile of the same sample.</p>')


def _failure_boxes(v: _View, ids: list[str], where: str) -> str:
    """Where each package fails: the share of futures that miss a threshold
    and PRIM's box, in plain words with its rule (the parameters by name,
    as ``foedus discover`` prints it) below."""
    rows = []
    for i in ids:
        f = v.study.failure(i)
        if f["status"] == "never_fails":
            rows.append(f'<tr><td><strong>{escape(i)}</strong></td><td colspan="4">meets every threshold in all {f["n_futures"]:,} futures</td></tr>')
        elif f["status"] != "box":
            rows.append(f'<tr><td><strong>{escape(i)}</strong></td><td colspan="4">{escape(f["message"])}; no box to find</td></tr>')
        elif not f["restricted"]:
            rows.append(f'<tr><td><strong>{escape(i)}</strong></td><td class="n">{_pct(f["fail_share"])}</td>'
                        '<td colspan="3">anywhere: no region of the uncertain inputs singles out its failures</td></tr>')
        else:
            rows.append(f'<tr><td><strong>{escape(i)}</strong></td><td class="n">{_pct(f["fail_share"])}</td>'
                        f'<td>futures where {escape(plain_rule(f["restricted"], v.parameters))}<div class="base"><code>{escape(f["rule"])}</code></div></td>'
                        f'<td class="n">{_pct(f["coverage"])}</td><td class="n">{_pct(f["density"])}</td></tr>')
    return ("<h3>Where each package fails (PRIM scenario discovery)</h3>"
            '<table class="side rows"><thead><tr><th>package</th><th class="n">fails in</th><th>box of futures where failures concentrate</th>'
            '<th class="n">coverage</th><th class="n">density</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>"
            f'<p class="caption">Shares of the {escape(where)}: <em>fails in</em>, the futures in which the package misses a threshold; '
            "<em>coverage</em>, the share of those failures inside the box; <em>density</em>, the share of futures in the box that fail. "
            "Below each box, its rule with the parameters by name (for <code>--set</code> and <code>--range</code>). "
            "Model estimates, not predictions: shares of sampled futures, not probabilities of events.</p>")


def _sensitivity_section(v: _View, n: int, seed: int) -> str:
    """Sobol' total-order indices (ST) of each package's attack probability
    (:meth:`foedus.study.study.Study.sensitivity`, ``n`` base samples): the
    inputs among the :data:`SENSITIVITY_TOP` largest of any package, with
    their basis and what they are, and a sentence on how many of them rest
    on judgement."""
    from foedus.study.study import reproduce_sensitivity

    study, m = v.study, "attack_probability"
    res = {i: study.sensitivity(i, [m], n, seed) for i in study.ids}
    st = {i: {x["input"]: x["ST"] for x in r["indices"] if x["ST"] is not None and x["ST"] == x["ST"]} for i, r in res.items()}
    basis = {x["name"]: x["basis"] for r in res.values() for x in r["inputs"]}
    tops = {i: sorted(s, key=lambda k: -s[k])[:SENSITIVITY_TOP] for i, s in st.items()}
    shown = sorted({k for t in tops.values() for k in t}, key=lambda k: -max(s.get(k, 0.0) for s in st.values()))
    ids = [i for i in study.ids if st[i]]
    first = {i: tops[i][0] for i in ids}
    judged = sum(1 for k in shown if basis.get(k) == "judgement")
    evals = next(iter(res.values()))["evaluations"] if res else 0
    lead = Counter(first.values()).most_common()
    out = ['<h2 id="sensitivity">Sensitivity: what drives the attack probability</h2>',
           f"<p>Sobol' total-order index (ST) of the attack probability within the horizon: the share of its variance over futures that each "
           f"uncertain input explains, alone and with its interactions ({n:,} base samples, seed {seed}, {evals:,} model runs per package; a "
           f"Saltelli design of its own, apart from the samples above). The table lists the {SENSITIVITY_TOP} largest inputs of each package; "
           "in bold, a package's largest.</p>"]
    if lead:
        top_in, k = lead[0]
        out.append(f"<p>“{escape(parameter_label(top_in, v.parameters))}” (<code>{escape(top_in)}</code>, {escape(basis.get(top_in) or '?')}) "
                   f"drives the attack probability most in {k} of the {len(ids)} packages whose attack probability varies. Of the {len(shown)} "
                   f"inputs listed, {judged} rest on judgement, so the ranking of the packages is only as firm as those judgements.</p>")
    rows = [[escape(k), escape(basis.get(k) or "?")] + [("<strong>{}</strong>" if first.get(i) == k else "{}").format(f"{st[i][k]:.2f}") if k in st[i] else "–"
                                                       for i in ids] for k in shown]
    out.append(_wide(_table(["input", "basis"] + ids, rows, numeric_from=2, cls=_side(ids) + " inputs")))
    out.append('<p class="caption legend">' + "; ".join(f"<code>{escape(k)}</code>: {escape(parameter_label(k, v.parameters))}" for k in shown) + ".</p>")
    out.append('<p class="caption">ST counts the share of each input alone (S1) and with its interactions; indices are estimates (± a bootstrap interval shown by <code>foedus sensitivity</code>); '
               "an estimate can fall outside 0–1 where the attack probability hardly varies (a package near certain war); "
               "a package whose attack probability does not vary has no column. Reproduce: "
               f"<code>{escape(reproduce_sensitivity('PACKAGE.yaml', [m], n, seed, dict(study.parameters.overrides), study.horizon))}</code>. "
               "Model estimates, not predictions.</p>")
    return "".join(out)


# ---------------------------------------------------------------------------------
# the appendix
# ---------------------------------------------------------------------------------

#: The appendix's per-guarantor columns: (header, metric).
GUARANTOR_COLUMNS = (("credibility", "credibility"), ("attack without it", "attack_probability_without"),
                     ("approval without it", "approval_probability_without"), ("cost per year", "cost_usd_per_year"),
                     ("cost, % GDP", "cost_pct_gdp"), ("defence, % GDP, before", "defence_before"),
                     ("defence, % GDP, with package", "total_defence_pct_gdp"), ("share of cost", "burden_share"),
                     ("share of GDP", "gdp_share"), ("deployed", "troops_deployed"), ("pool needed", "troops_required_pool"),
                     ("deployable capacity", "troops_available"), ("shortfall", "shortfall"), ("cost of raising forces", "cost_raise_usd_per_year"))
#: How the appendix formats the columns whose key is not a metric.
_AS = {"attack_probability_without": "attack_probability", "approval_probability_without": "approval_probability",
       "defence_before": "total_defence_pct_gdp"}
#: Per-guarantor columns that have a baseline value beside them.
_WITH_BASE = ("total_defence_pct_gdp", "troops_required_pool")


def _guarantors_section(v: _View) -> str:
    out = ['<h2 id="guarantors">Appendix: per guarantor</h2>',
           f"<p>Every figure per guarantor, at the central values: for each package the {APPENDIX_COST} guarantors it costs most, the "
           f"{APPENDIX_POOL} that need the largest pools of troops, the {APPENDIX_CREDIBLE} most credible and the {APPENDIX_WORTH} whose "
           "absence raises its attack probability most. Groups (NATO, EU) are expanded to their members.</p>"]
    for i in v.ids:
        gs = _listed_guarantors(v.cur[i]["guarantors"])
        if gs:
            out.append(f"<h3>{escape(i)}: per guarantor</h3>" + _guarantor_table(v, i, gs))
            more = len(v.cur[i]["guarantors"]) - len(gs)
            if more:
                out.append(f'<p class="caption">{more} more guarantors of {escape(i)}: <code>foedus compare --json</code> lists every one.</p>')
    out.append('<p class="caption">Headroom to the NATO marks (2 %, 3.5 % and 5 % of GDP) is the mark less the defence spending with the package; '
               "capacity / pool is the deployable capacity over the pool needed. <span class=\"short\">short</span>: capacity below the pool. "
               "Model estimates, not predictions.</p>")
    return "".join(out)


def _listed_guarantors(gs: list[dict]) -> list[dict]:
    """The guarantors the appendix lists (see :data:`APPENDIX_COST`), costliest first."""
    def top(key, n: int, order=None):
        kept = [g for g in gs if (g.get(key) or 0) > 0]
        return {g["iso3"] for g in sorted(kept, key=order or (lambda g: -(g.get(key) or 0)))[:n]}

    keep = (top("cost_usd_per_year", APPENDIX_COST) | top("troops_required_pool", APPENDIX_POOL) | top("credibility", APPENDIX_CREDIBLE)
            | top("attack_probability_without", APPENDIX_WORTH, _worth_order))
    return sorted((g for g in gs if g["iso3"] in keep), key=lambda g: (-(g["cost_usd_per_year"] or 0), -(g["troops_required_pool"] or 0), g["iso3"]))


def _guarantor_table(v: _View, pid: str, gs: list[dict]) -> str:
    """One row per guarantor; guarantors whose every figure reads the same
    (members of one group commitment, say) share a row."""
    base = {g["iso3"]: g for g in v.base[pid]["guarantors"]} if v.base is not None and pid in v.base else None
    rows: dict[tuple, list[str]] = {}
    for g in gs:
        values = g | {"defence_before": v.countries[g["iso3"]].defence_pct_gdp.value if g["iso3"] in v.countries else None}
        cells = []
        for _, key in GUARANTOR_COLUMNS:
            cell = escape(fmt(_AS.get(key, key), values.get(key)).removesuffix(" GDP"))
            if base is not None and key in _WITH_BASE and g["iso3"] in base:
                cell += f'<div class="base">base {escape(fmt(key, base[g["iso3"]].get(key)).removesuffix(" GDP"))}</div>'
            cells.append(cell)
        short = ' <span class="short">short</span>' if g.get("capacity_shortfall") else ""
        rows.setdefault((short, *cells), []).append(escape(g["iso3"]))
    return _table(["guarantor"] + [h for h, _ in GUARANTOR_COLUMNS], [[", ".join(who) + key[0], *key[1:]] for key, who in rows.items()], cls="compact")


def _packages_section(v: _View, baseline_packages) -> str:
    """Each package: its title, Kyiv's position, veto players, the first
    sentence of its rationale and its commitments grouped by kind and
    terms; commitments found word for word in several packages once, in a
    table of their own."""
    out = ['<h2 id="packages">Appendix: packages</h2>']
    if v.base is not None and baseline_packages is not None:
        edited = [p.id for p, q in zip(v.packages, baseline_packages) if p.model_dump() != q.model_dump()]
        if edited:
            out.append(f"<p>Packages edited with the web app levers: {escape(', '.join(edited))} (commitments added by a lever are marked in their "
                       "notes as not from a published source).</p>")
    holders = _holders(v.packages)
    shared = {k for k, ids in holders.items() if len(ids) > 1}
    head = ["kind", "legal form", "trigger", "posture", "guarantors and what each commits"]
    if shared:
        firsts = [c for p in v.packages for c in p.commitments if c.model_dump_json() in shared and holders[c.model_dump_json()][0] == p.id]
        out.append("<h3>Commitments in several packages</h3>")
        out.append(_table(head + ["in packages"], _commitment_rows(firsts, lambda c: ", ".join(holders[c.model_dump_json()])),
                          numeric_from=99, cls="compact commitments"))
    for p in v.packages:
        own = [c for c in p.commitments if c.model_dump_json() not in shared]
        n_shared = len(p.commitments) - len(own)
        also = f" Also {n_shared} of the commitments in several packages (above)." if n_shared else ""
        out.append(f"<h3>{escape(p.title)} <code>{escape(p.id)}</code></h3>"
                   f'<p class="rationale"><strong>Kyiv\'s position:</strong> {escape(p.kyiv_position.value)}. <strong>Veto players:</strong> '
                   f"{escape(_veto_players(v.cur[p.id]['approvals']))}. {escape(_first_sentence(p.rationale))}{escape(also)}</p>")
        if own:
            out.append(_table(head, _commitment_rows(own), numeric_from=99, cls="compact commitments"))
    out.append('<p class="caption">Each package in the first sentence of its rationale (<code>foedus show FILE</code> prints all of it, with every '
               "commitment's sources and notes). Commitments of the same kind, legal form, trigger and posture share a row. Sizes: personnel, "
               "combat aircraft, surface combatants, money a year.</p>")
    return "".join(out)


def _holders(packages) -> dict[str, list[str]]:
    """Each distinct commitment (as written) and the ids of the packages that hold it."""
    out: dict[str, list[str]] = {}
    for p in packages:
        for c in p.commitments:
            ids = out.setdefault(c.model_dump_json(), [])
            if p.id not in ids:
                ids.append(p.id)
    return out


def _first_sentence(text: str) -> str:
    """The first sentence of ``text`` (up to a full stop followed by a capital), on one line."""
    text = " ".join(text.split())
    m = re.match(r"(.+?[.!?])\s+(?=[A-Z])", text)
    return m.group(1) if m else text


def _veto_players(approvals: list[dict]) -> str:
    """Each veto player with the guarantors it holds a veto for: "national parliament (DNK, EST)"."""
    by: dict[str, list[str]] = {}
    for a in approvals:
        by.setdefault(a["approval"].replace("_", " "), []).append(a["by"])
    return ", ".join(f"{k} ({', '.join(v)})" for k, v in by.items()) or "none"


def _commitment_rows(commitments, where=None) -> list[list[str]]:
    """One row per kind, legal form, trigger and posture (and, with
    ``where``, per the packages ``where(c)`` names): the guarantors and what
    each commits."""
    groups: dict[tuple, list[str]] = {}
    for c in commitments:
        key = (c.kind.value, c.legal_form.value, c.trigger.value, c.posture.value if c.posture else "", *([where(c)] if where else []))
        who = c.guarantor + (f" except {', '.join(c.except_)}" if c.except_ else "")
        size = _size(c)
        groups.setdefault(key, []).append(f"{who} {size}" if size else who)
    return [[escape(k.replace("_", " ")) for k in key[:4]] + [escape("; ".join(items))] + [escape(k) for k in key[4:]] for key, items in groups.items()]


def _size(c) -> str:
    """What one commitment commits: "5,000 troops, 24 aircraft", "$1.2 bn a
    year"; a size that changes by year with each year it takes effect ("5,000
    troops from 2027, 10,000 troops from 2029"), enablers built with their
    number, and the years it is in force when it states them."""
    usd = lambda x: f"{fmt('total_cost_usd_per_year', x)} a year"  # noqa: E731
    enabler = getattr(c, "enabler", None)
    parts = [_sized(c.troops, lambda x: f"{x:,} troops"), _sized(c.aircraft, lambda x: f"{x} aircraft"),
             _sized(c.ships, lambda x: f"{x} ships"), _sized(c.usd_per_year, usd),
             _sized(getattr(c, "units", 0), lambda x: f"{x:,} × {enabler.value.replace('_', ' ') if enabler is not None else 'units'}")]
    start, until = getattr(c, "from_", None), getattr(c, "until", None)
    if start is not None or until is not None:
        parts.append(" ".join(x for x in (f"from {start}" if start is not None else "", f"until {until}" if until is not None else "") if x))
    return ", ".join(x for x in parts if x)


def _sized(value, one) -> str:
    """A size in words ("" when none): by year, each value from its year."""
    if isinstance(value, Mapping):
        return ", ".join(f"{one(x)} from {y}" for y, x in sorted(value.items()))
    return one(value) if value else ""


def _assumptions_section(v: _View, refs: _References) -> str:
    ps = v.parameters
    out = ['<h2 id="assumptions">Appendix: assumptions</h2>']
    if ps.overrides:
        out.append("<h3>Changed from the defaults</h3>")
        out.append(_table(["parameter", "what it is", "value used", "default", "unit"],
                          [[f"<code>{escape(k)}</code>", escape(parameter_label(k, ps)), f"{val:g}",
                            f"{(ps.describe(k).value if ps.describe(k) else float('nan')):g}", escape(ps.describe(k).unit.value if ps.describe(k) else "")]
                           for k, val in sorted(ps.overrides.items())], numeric_from=2))
    else:
        out.append("<p>All parameters at their shipped default values.</p>")
    vals = ps.values()
    rows = []
    for name, p in ps.parameters.items():
        u = p.uncertainty
        basis = escape(p.basis.label)
        if p.calibration is not None and p.calibration.targets:
            basis += '<div class="base targets">' + "<br>".join(f'<a href="#cal-{escape(t, quote=True)}">{escape(t)}</a>' for t in p.calibration.targets) + "</div>"
        rows.append([escape(name), f"{vals.get(name, p.value):g}", escape(p.unit.value), str(p.year), basis,
                     f'<span class="nw">{u.low:g}–{u.high:g}</span> ({escape(u.distribution)})' if u else "fixed",
                     _ref_links(refs.parameters.get(name, []))])
    out.append("<h3>Every parameter used</h3>")
    out.append(_basis_counts(ps))
    out.append(_table(["parameter", "value", "unit", "year", "basis", "range across futures", "sources"], rows, numeric_from=99, cls="compact parameters"))
    out.append('<p class="caption">Sources: numbers in the <a href="#sources">reference list</a>. <code>foedus params</code> gives each '
               "parameter's description; <code>--set NAME=VALUE</code> changes it.</p>")
    return "".join(out)


def _basis_counts(parameters) -> str:
    """How many parameters rest on evidence, on calibration, on judgement."""
    from foedus.study.summary import basis_counts

    counts = basis_counts(parameters)
    n = sum(counts.values())
    parts = [f'<span class="basis-count" data-basis="{escape(b)}" data-count="{k}">{escape(_basis_label(b))} {k} ({100 * k / max(n, 1):.0f} %)</span>'
             for b, k in counts.items()]
    return (f'<p id="basis-counts">{n} parameters by basis: ' + ", ".join(parts) + ". <em>Evidence</em>: the source gives the number; "
            "<em>calibrated</em>: fitted to the published targets under <a href=\"#calibration\">Calibration</a>, and moved by the fit; "
            "<em>judgement (anchored)</em>: a value chosen by convention inside a band that named sources give; "
            "<em>judgement</em>: a modelling judgement the sources inform but give no number for.</p>")


def _basis_label(b: str) -> str:
    from foedus.domain.vocabulary import Basis

    return Basis(b).label if b in {x.value for x in Basis} else b


def _calibration_section(cal, error: str | None, refs: _References) -> str:
    """The published targets against foedus: fit targets, then checks."""
    out = ['<h2 id="calibration">Appendix: calibration</h2>']
    if cal is None:
        return "".join(out) + f"<p>Not available: the calibration targets could not be read.</p><pre>{escape(error or '')}</pre>"
    results, cited = cal.results(), refs.calibration
    s = cal.data.sample
    n_fit = sum(r.role == "fit" for r in results)
    ok_fit = sum(r.passes for r in results if r.role == "fit")
    ok_check = sum(r.passes for r in results if r.role == "check")
    n_check = sum(r.role == "check" for r in results)
    out.append(f"<p>Published results foedus is measured against (<code>data/calibration.yaml</code>, as of {escape(cal.data.as_of.isoformat())}). "
               "The calibrated parameters are fitted to the <em>fit</em> targets; the <em>checks</em> are kept out of the fit, each with its own set-up, "
               "metric or statistic and a two-sided band; <em>identities</em> hold by construction and are shown, not counted. Each foedus value is the "
               f"median (for a few force and cost ratios the mean) over {s.futures:,} sampled futures ({escape(s.sampler.upper())}, seed {s.seed}) with the shipped parameters "
               f"(overrides of this report are not applied). Fit targets in their band: {ok_fit} of {n_fit}; checks passed: {ok_check} of {n_check}.</p>")
    for role, title in (("fit", "Fit targets"), ("check", "Checks (kept out of the fit)"), ("identity", "Identities (by construction, not checks)")):
        rows = []
        for r in results:
            if r.role != role:
                continue
            src = ", ".join(f'<a href="#src-{cited[sid]}">[{cited[sid]}]</a>' if sid in cited else escape(sid) for sid in r.sources)
            fits = f'<div class="base">fits {escape(", ".join(r.fits))}</div>' if r.fits else ""
            verdict = '<span class="pass">pass</span>' if r.passes else '<span class="fail">fail</span>'
            rows.append(f'<tr id="cal-{escape(r.id, quote=True)}" data-target="{escape(r.id, quote=True)}" data-pass="{str(r.passes).lower()}">'
                        f"<td><strong>{escape(r.title)}</strong><div class=\"base\"><code>{escape(r.id)}</code> — {escape(r.statistic)}, set-up {escape(r.setup)}</div>{fits}</td>"
                        f'<td class="n">{escape(number(r.value, r.unit))}<div class="base">{escape(r.value_basis)}</div></td>'
                        f'<td class="n">{escape(number(r.band[0], r.unit))}–{escape(number(r.band[1], r.unit))}</td>'
                        f'<td class="n">{escape(number(r.model, r.unit))}</td><td>{verdict}</td>'
                        f'<td>{src}<div class="grade">{escape(r.grade)}</div></td></tr>')
        out.append(f"<h3>{title}</h3>")
        out.append('<table class="compact"><thead><tr><th>target</th><th class="n">published</th><th class="n">band</th><th class="n">foedus</th><th></th>'
                   "<th>source, grade</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    if cal.data.not_used:
        out.append("<p>Published results that could not be checked and are not used: " + "; ".join(escape(" ".join(t.split())) for t in cal.data.not_used) + ".</p>")
    out.append('<p class="caption">Run <code>foedus calibrate</code> for the same table; <code>foedus calibrate --fit</code> refits the calibrated parameters.</p>')
    return "".join(out)


def _sources_section(v: _View, refs: _References) -> str:
    out = ['<h2 id="sources">Sources</h2>',
           "<p><strong>By package:</strong> " + "; ".join(f"{escape(i)} {_ref_links(refs.packages[i])}" for i in v.ids) + ". "
           f"<strong>Country data</strong> (GDP, defence spending, active personnel, memberships and approval regimes of the {refs.n_countries} "
           f"guarantor countries): {_ref_links(refs.countries)}. <strong>Parameters:</strong> the sources column of the "
           '<a href="#assumptions">assumptions</a>.'
           + (" <strong>Calibration targets:</strong> " + ", ".join(f"{escape(sid)} {_ref_links([n])}" for sid, n in refs.calibration.items()) + "."
              if refs.calibration else "") + "</p>",
           f"<h3>Reference list ({len(refs.items)})</h3>",
           "<ol class=\"sources\">" + "".join(f'<li id="src-{k + 1}">{h}</li>' for k, h in enumerate(refs.items)) + "</ol>"]
    return "".join(out)


def _reproduce_section(v: _View, files: list[str] | None) -> str:
    again = v.study.reproduce(files or [f"{i}.yaml" for i in v.ids])
    return f'<h2 id="reproduce">Reproduce</h2><pre>{escape(again["report_cli"])}</pre><pre>{escape(again["cli"])}</pre>'
