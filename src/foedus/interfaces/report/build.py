"""``foedus report``: a self-contained HTML report an analyst can attach to a
brief.

One file, no script and no external resource: styles inline, charts as
inline SVG (see :mod:`foedus.interfaces.report.svg`). The only URLs are
plain ``<a href>`` links in the sources list. The header gives the handling
marking (also closing the page, and printed at the top and bottom of every
PDF page), the title, the author, the date generated and the date of the
data; then the executive summary (:meth:`Study.summary
<foedus.study.study.Study.summary>`) and the bottom line. Sections: summary table
(central values with their 5th-95th percentile over the default sample of
futures), one section per sub-model, whose promise counts (each package's
attack probability without each guarantor) with each guarantor's
credibility, robustness across futures (with ``n_futures``), sensitivity
(Sobol' total-order indices of each package's attack probability, with each
input's basis), assumptions (every parameter with value, unit, basis,
range and source, and the count per basis), calibration (the published fit
and check targets against foedus), sources (package sources, parameter
references, calibration sources, country data), and how to reproduce the
numbers.

Numbers come from one :class:`~foedus.study.study.Study` (comparison,
exploration, failure boxes, bottom line, summary, sensitivity) and
:meth:`foedus.exploration.calibration.Calibration.results`; this module only
lays them out. When ``baseline_packages`` or parameter overrides differ from the
shipped defaults, each chart shows the baseline beside the current choice.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import Counter
from html import escape

from foedus.domain.metrics import SUMMARY_METRICS
from foedus.study.formatting import fmt, fmt_range, label, number
from foedus.interfaces.report import svg
from foedus.interfaces.report.pdf import print_css

#: Base samples of the report's Sobol' analysis (n x (inputs + 2) runs per package; 512 takes about 0.25 s a package).
SENSITIVITY_N = 512
#: Inputs listed per package in the sensitivity section.
SENSITIVITY_TOP = 5
#: Sub-model sections: (title, what it answers, package metrics, chart metrics).
SECTIONS = (
    ("Deterrence", "Does the package deter renewed aggression? Probability that the adversary renews the war within the horizon, from a bargaining model in which each guarantor's combat power counts in proportion to its credibility.",
     ("attack_probability", "annual_attack_probability", "defender_strength"), ("attack_probability",)),
    ("Credibility", "Which guarantor's promise is believed, and how much: the probability that each guarantor actually fights if the trigger happens (legal form, trigger, troops on the ground, nuclear status, national interest, political will).",
     (), ()),
    ("Combat", "If deterrence fails: does the defence hold, and at what human cost?",
     ("defence_holds_probability", "casualties_if_war", "expected_casualties"), ("defence_holds_probability", "expected_casualties")),
    ("Costs", "What the package costs each guarantor per year on top of current defence spending, in money and in % of GDP against the NATO marks (2 %, 3.5 % core, 5 % total).",
     ("total_cost_usd_per_year", "max_cost_pct_gdp"), ("total_cost_usd_per_year",)),
    ("Forces", "Troops that must exist to keep the deployment going (rotation, enablers) against each guarantor's deployable capacity.",
     ("troops_deployed", "troops_required_pool", "guarantors_short"), ("troops_required_pool",)),
    ("Approval", "Can it be agreed and approved: veto players (Senate, parliaments, NATO and EU unanimity), Kyiv's acceptance, and the chance it stays in force.",
     ("approval_probability", "ratification_probability", "kyiv_acceptance", "in_force_share"), ("approval_probability",)),
    ("Escalation", "Risk of direct confrontation between nuclear powers, peacetime incidents, and the adversary rejecting the deal.",
     ("escalation_risk", "incident_probability", "adversary_acceptance"), ("escalation_risk", "adversary_acceptance")),
    ("Humanitarian", "Civilian protection and reconstruction financing covered.",
     ("humanitarian_coverage", "air_defence_coverage"), ("humanitarian_coverage",)),
)

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
.base{color:#5f6b7a;font-size:11px}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.charts svg{max-width:100%;height:auto;border:1px solid #eef0f3;border-radius:4px}
.caption{color:#5f6b7a;font-size:11.5px;margin:2px 0 10px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
pre{background:#f5f6f8;padding:8px;border-radius:4px;white-space:pre-wrap;word-break:break-all}
a{overflow-wrap:anywhere}
ol.sources li{margin-bottom:4px;font-size:12.5px}
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

"""


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


def _table(head: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    h = "".join(f'<th class="{"n" if i >= numeric_from else ""}">{escape(x)}</th>' for i, x in enumerate(head))
    body = "".join("<tr>" + "".join(f'<td class="{"n" if i >= numeric_from else ""}">{x}</td>' for i, x in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


def _ref_html(r) -> str:
    parts = [f"{escape(r.publisher)} ({r.year}). <em>{escape(r.title)}</em>."]
    if r.url:
        parts.append(f' <a href="{escape(r.url, quote=True)}">{escape(r.url)}</a>')
    if r.doi:
        parts.append(f" doi:{escape(r.doi)}")
    parts.append(f' <span class="grade">[{escape(r.grade.value)}]</span>')
    return "".join(parts)


def _ref_key(r) -> tuple:
    return (r.publisher.strip().lower(), r.title.strip().lower(), r.year, r.url or "")


def _metric_chart(metric: str, ids: list[str], cur: dict, base: dict | None) -> str:
    series = []
    if base is not None:
        series.append(svg.Series("baseline", [base[i]["metrics"].get(metric) for i in ids], svg.BASE))
    series.append(svg.Series("current" if base is not None else "central value", [cur[i]["metrics"].get(metric) for i in ids], svg.CURRENT))
    return svg.bar_chart(svg.Chart(label(metric), ids, series, _axis_fmt(metric), width=500, height=270))


#: Guarantors listed per package under "Whose promise counts".
WORTH_SHOWN = 6
#: Longest handling marking, author and title accepted, in characters.
MARKING_MAX, AUTHOR_MAX, TITLE_MAX = 80, 120, 200
#: Unicode categories never accepted in a marking, author or title: controls
#: (tabs, line breaks, escapes), format characters (bidirectional overrides,
#: zero-width), surrogates, private-use and unassigned code points, line and
#: paragraph separators.
_NOT_TEXT = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


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


#: What each label is, in error messages.
MARKING_WHAT = "a handling marking such as OFFICIAL or NATO UNCLASSIFIED"


def build_report(packages, parameters, countries, *, horizon: float | None = None, n_futures: int = 0, seed: int = 0,
                 thresholds: list[str] | None = None, title: str = "foedus report", files: list[str] | None = None,
                 baseline_packages=None, sampler: str = "lhs", calibration=None, author: str | None = None,
                 marking: str | None = None, generated: dt.datetime | None = None, sensitivity_n: int = SENSITIVITY_N) -> str:
    """The report as one HTML string (no external resources).
    ``calibration``: a :class:`~foedus.exploration.calibration.Calibration`
    (built here when not given) whose targets fill the calibration section.
    ``author`` and the handling ``marking`` (e.g. "OFFICIAL", "NATO
    UNCLASSIFIED"; checked by :func:`check_label`) go in the header; the
    marking also at the top and bottom of the page and, printed, of every
    page. ``generated``: the time stated as the report's date (default: now).
    ``sensitivity_n``: base samples of the Sobol' analysis of each package's
    attack probability (a power of two; 0 leaves the section out)."""
    import foedus
    from foedus.data.parameter_set import ParameterSet
    from foedus.study.study import Design, Study

    title = check_label("title", title, TITLE_MAX, "the report's title")
    author = check_label("author", author, AUTHOR_MAX, "the author's name")
    marking = check_label("marking", marking, MARKING_MAX, MARKING_WHAT)
    study = Study(list(packages), parameters, countries, horizon, Design(n_futures, seed, sampler), thresholds)
    study.parsed_thresholds  # checked even without futures, so a typo is never silently ignored
    cal_error = None
    if calibration is None:
        from foedus.domain.errors import InputError
        from foedus.exploration.calibration import Calibration

        try:
            calibration = Calibration(countries=countries)
        except InputError as exc:  # a broken calibration file is reported in its section, not fatal to the report
            cal_error = str(exc)
    cal_results = calibration.results() if calibration is not None else []
    ids = [p.id for p in packages]
    result = study.comparison
    changed = bool(parameters.overrides) or (baseline_packages is not None and
                                              [p.model_dump() for p in baseline_packages] != [p.model_dump() for p in packages])
    base_result = Study(list(baseline_packages or packages), ParameterSet.default(), countries).comparison if changed else None
    cur = {p["id"]: p for p in result["packages"]}
    base = {p["id"]: p for p in base_result["packages"]} if base_result else None
    H = result["horizon_years"]
    parts: list[str] = []
    add = parts.append

    # -- header ---------------------------------------------------------------
    when = (generated or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    now = when.strftime("%Y-%m-%d %H:%M UTC")
    if marking:
        add(f'<p class="marking" id="marking-top">{escape(marking)}</p>')
    add(f"<h1>{escape(title)}</h1>")
    byline = [f"By <strong>{escape(author)}</strong>"] if author else []
    byline += [f'Generated <time datetime="{when.isoformat(timespec="seconds")}">{now}</time>',
               f'data as of <strong>{escape(result["data"]["latest"])}</strong>']
    add(f'<p class="meta" id="byline">{" — ".join(byline)}</p>')
    add(f'<p class="meta">foedus {escape(foedus.__version__)} — {len(packages)} packages — horizon {H:g} years'
        + (f" — {n_futures:,} futures (seed {seed})" if n_futures else "") + "</p>")
    add(f'<p class="meta" id="data-vintage"><strong>Data as of {escape(result["data"]["latest"])}</strong> ({escape(result["data"]["detail"])})</p>')

    # -- executive summary ------------------------------------------------------------
    add(_executive_summary(study.summary()))
    add('<p class="caveat"><strong>Model estimates, not predictions.</strong> Every figure below follows from the assumptions listed in '
        '<a href="#assumptions">Assumptions</a>, each with its source in <a href="#sources">Sources</a>. Probabilities are '
        "conditional on those assumptions; ranges across futures are shown where the report was run with futures.</p>")
    if base is not None:
        add('<p class="caveat">This report compares a <strong>current</strong> choice (edited packages and/or changed assumptions, listed under '
            'Assumptions) with the <strong>baseline</strong> (the packages as shipped, default assumptions). Baseline values are in grey.</p>')
    add("<nav><ul>" + "".join(f'<li><a href="#{a}">{t}</a></li>' for a, t in
                              [("executive-summary", "Executive summary"), ("bottom-line", "Bottom line"), ("summary", "Summary"), *[(s[0].lower(), s[0]) for s in SECTIONS[:2]], ("worth", "Whose promise counts"),
                               *[(s[0].lower(), s[0]) for s in SECTIONS[2:]], ("robustness", "Robustness across futures"),
                               *([("sensitivity", "Sensitivity")] if sensitivity_n else []), ("packages", "Packages"), ("assumptions", "Assumptions"), ("calibration", "Calibration"), ("sources", "Sources"),
                               ("reproduce", "Reproduce")]) + "</ul></nav>")

    # -- bottom line --------------------------------------------------------------
    add('<div class="bottom-line"><h2 id="bottom-line">Bottom line</h2>')
    add(_bottom_line(study.bottom_line(), result.get("ranges")) + "</div>")

    # -- summary --------------------------------------------------------------
    add('<h2 id="summary">Summary</h2>')
    rng = result.get("ranges")
    rows = []
    for m in SUMMARY_METRICS:
        row = [escape(label(m))]
        for i in ids:
            v = escape(fmt(m, cur[i]["metrics"].get(m)))
            r = (cur[i].get("ranges") or {}).get(m)
            if r:
                v += f'<div class="rng" data-p5="{r["p5"]}" data-p50="{r["p50"]}" data-p95="{r["p95"]}">{escape(fmt_range(m, r))}</div>'
            if base is not None:
                v += f'<div class="base">base {escape(fmt(m, base[i]["metrics"].get(m)))}</div>'
            row.append(v)
        rows.append(row)
    add(_table(["metric (central values)"] + ids, rows))
    add('<p class="caption">Central values of every parameter' + (
        f"; below each, in blue-grey, its range across futures: the 5th to the 95th percentile over {rng['futures']:,} sampled futures "
        f"({escape(str(rng['sampler']).upper())}, seed {rng['seed']}) of every uncertain parameter" if rng else "")
        + (". Grey: the baseline" if base is not None else "") + ". Model estimates, not predictions.</p>")
    add('<div class="charts">' + "".join(_metric_chart(m, ids, cur, base) for m in ("attack_probability", "approval_probability", "escalation_risk", "total_cost_usd_per_year")) + "</div>")
    add(_table(["package", "title", "Kyiv's position", "commitments", "guarantors"],
               [[escape(p.id), escape(p.title), escape(p.kyiv_position.value), str(len(p.commitments)), escape(", ".join(p.guarantors()))] for p in packages], numeric_from=99))

    # -- sub-models -------------------------------------------------------------
    for name, what, metrics, charts in SECTIONS:
        add(f'<h2 id="{name.lower()}">{name}</h2><p>{escape(what)}</p>')
        if metrics:
            rows = [[escape(label(m))] + [escape(fmt(m, cur[i]["metrics"].get(m))) + (f'<div class="base">base {escape(fmt(m, base[i]["metrics"].get(m)))}</div>' if base else "") for i in ids] for m in metrics]
            add(_table(["metric"] + ids, rows))
        if charts:
            add('<div class="charts">' + "".join(_metric_chart(m, ids, cur, base) for m in charts) + "</div>")
        if name == "Credibility":
            add(_credibility(ids, cur))
        elif name == "Costs":
            add(_costs(ids, cur, base, result, countries))
        elif name == "Forces":
            add(_forces(ids, cur, base))
        elif name == "Approval":
            items = []
            for i in ids:
                appr = ", ".join(f"{a['approval'].replace('_', ' ')} ({a['by']})" for a in cur[i]["approvals"]) or "none"
                items.append(f"<li><strong>{escape(i)}</strong>: {escape(appr)}</li>")
            add("<h3>Veto players by package</h3><ul>" + "".join(items) + "</ul>")
        add('<p class="caption">Model estimates, not predictions. Equations and their sources: the model document (docs/model.md).</p>')
        if name == "Credibility":
            add('<h2 id="worth">Whose promise counts</h2>')
            add(_worth(ids, cur, countries))

    # -- robustness -------------------------------------------------------------
    add('<h2 id="robustness">Robustness across futures</h2>')
    if n_futures:
        add(_robustness(study))
    else:
        add("<p>Not computed: run <code>foedus report ... --futures N</code> to add satisficing shares, regret, ranges across futures and the "
            "boxes of futures in which each package fails (PRIM).</p>")

    # -- sensitivity ------------------------------------------------------------------
    if sensitivity_n:
        add('<h2 id="sensitivity">Sensitivity: what drives the attack probability</h2>')
        add(_sensitivity(study, sensitivity_n, seed))

    # -- packages -------------------------------------------------------------------
    add('<h2 id="packages">Packages</h2>')
    for p in packages:
        add(f"<h3>{escape(p.title)} <code>{escape(p.id)}</code></h3><p>{escape(' '.join(p.rationale.split()))}</p>")
        crow = []
        for c in p.commitments:
            crow.append([escape(c.guarantor), escape(c.kind.value.replace("_", " ")), escape(c.legal_form.value.replace("_", " ")),
                         escape(c.trigger.value.replace("_", " ")), escape(c.posture.value.replace("_", " ") if c.posture else ""),
                         f"{c.troops:,}" if c.troops else "", str(c.aircraft or ""), str(c.ships or ""),
                         escape(fmt("total_cost_usd_per_year", c.usd_per_year)) if c.usd_per_year else ""])
        add(_table(["guarantor", "kind", "legal form", "trigger", "posture", "troops", "aircraft", "ships", "USD/yr"], crow, numeric_from=5))

    # -- assumptions ------------------------------------------------------------------
    add('<h2 id="assumptions">Assumptions</h2>')
    if parameters.overrides:
        add("<h3>Changed from the defaults</h3>")
        add(_table(["parameter", "value used", "default", "unit"],
                   [[escape(k), f"{v:g}", f"{(parameters.describe(k).value if parameters.describe(k) else float('nan')):g}", escape(parameters.describe(k).unit.value if parameters.describe(k) else "")]
                    for k, v in sorted(parameters.overrides.items())]))
    else:
        add("<p>All parameters at their shipped default values.</p>")
    if base is not None and baseline_packages is not None:
        changed_ids = [p.id for p, q in zip(packages, baseline_packages) if p.model_dump() != q.model_dump()]
        if changed_ids:
            add(f"<p>Packages edited with the web app levers: {escape(', '.join(changed_ids))} (commitments added by a lever are marked in their notes as not from a published source).</p>")
    vals = parameters.values()
    prow = []
    for pname, p in parameters.parameters.items():
        u = p.uncertainty
        basis = escape(p.basis.value)
        if p.calibration is not None and p.calibration.targets:
            basis += '<div class="base">' + ", ".join(f'<a href="#cal-{escape(t, quote=True)}">{escape(t)}</a>' for t in p.calibration.targets) + "</div>"
        prow.append([escape(pname), f"{vals.get(pname, p.value):g}", escape(p.unit.value), str(p.year), basis,
                     escape(f"{u.low:g}–{u.high:g} ({u.distribution})") if u else "fixed", escape(p.references[0].short())])
    add("<h3>Every parameter used</h3>")
    add(_basis_counts(parameters))
    add(_table(["parameter", "value", "unit", "year", "basis", "range across futures", "source"], prow, numeric_from=99))

    # -- calibration and sources ------------------------------------------------------------
    sources_html, cited = _sources(packages, parameters, countries, result, calibration)
    add('<h2 id="calibration">Calibration</h2>')
    if calibration is not None:
        add(_calibration(calibration, cal_results, cited))
    else:
        add(f"<p>Not available: the calibration targets could not be read.</p><pre>{escape(cal_error or '')}</pre>")
    add('<h2 id="sources">Sources</h2>')
    add(sources_html)

    # -- reproduce ------------------------------------------------------------------------
    add('<h2 id="reproduce">Reproduce</h2>')
    again = study.reproduce(files or [f"{i}.yaml" for i in ids])
    add(f"<pre>{escape(again['report_cli'])}</pre>")
    add(f"<pre>{escape(again['cli'])}</pre>")

    body = "\n".join(parts)
    end = f'\n<p class="marking end" id="marking-bottom">{escape(marking)}</p>' if marking else ""
    head_meta = f'<meta name="author" content="{escape(author, quote=True)}">' if author else ""
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f"{head_meta}<title>{escape(title)}</title><style>{CSS}</style><style>{print_css(title, marking)}</style></head><body><main>\n{body}\n"
            f'<p class="caption">foedus — open source. Model estimates, not predictions.</p>{end}</main></body></html>\n')


def _worth(ids: list[str], cur: dict, countries) -> str:
    """Per package, its attack probability and approval at the central
    values without each guarantor (from the comparison), the guarantors
    whose absence raises the attack probability most first."""
    out = ['<p>What each guarantor\'s promise is worth: the package\'s attack probability within the horizon at the central values, and '
           "the same with that guarantor's commitments removed (its own dropped, and left out of any NATO or EU commitment). The guarantors "
           "whose absence raises it most come first; beside it, the package's approval (approved and in force) with and without the guarantor.</p>"]
    rows = []
    for i in ids:
        p = cur[i]
        gs = [g for g in p["guarantors"] if "attack_probability_without" in g]
        gs.sort(key=lambda g: (-(g["attack_probability_without"] if g["attack_probability_without"] is not None else -1.0), g["iso3"]))
        a0 = fmt("attack_probability", p["metrics"].get("attack_probability"))
        r0 = fmt("approval_probability", p["metrics"].get("approval_probability"))
        if not gs:
            rows.append(f'<tr><td><strong>{escape(i)}</strong></td><td colspan="3">no guarantor</td></tr>')
            continue
        shown = gs[:WORTH_SHOWN]
        for k, g in enumerate(shown):
            name = countries[g["iso3"]].name if g["iso3"] in countries else g["iso3"]
            aw = fmt("attack_probability", g["attack_probability_without"])
            rw = fmt("approval_probability", g.get("approval_probability_without"))
            cls = ' class="same"' if aw == a0 else ""
            head = f'<td rowspan="{len(shown)}"><strong>{escape(i)}</strong><div class="base">{len(gs)} guarantors'
            head += f", {len(gs) - len(shown)} not shown" if len(gs) > len(shown) else ""
            head += "</div></td>"
            rows.append(f'<tr id="worth-{escape(i, quote=True)}-{escape(g["iso3"], quote=True)}"{cls}>' + (head if k == 0 else "")
                        + f"<td>without {escape(name)} ({escape(g['iso3'])})</td>"
                        + f'<td class="n">{escape(a0)} → <strong>{escape(aw)}</strong></td><td class="n">{escape(r0)} → {escape(rw)}</td></tr>')
    out.append('<table><thead><tr><th>package</th><th>guarantor taken away</th><th class="n">attack within horizon</th>'
               '<th class="n">approved and in force</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")
    out.append(f'<p class="caption">At most {WORTH_SHOWN} guarantors per package; <code>foedus compare --json</code> lists every one '
               "(<code>attack_probability_without</code>, <code>approval_probability_without</code>). Grey: no change at this precision. "
               "Model estimates, not predictions.</p>")
    return "".join(out)


def _basis_counts(parameters) -> str:
    """How many parameters rest on evidence, on calibration, on judgement."""
    from foedus.study.summary import basis_counts

    counts = basis_counts(parameters)
    n = sum(counts.values())
    parts = [f'<span class="basis-count" data-basis="{escape(b)}" data-count="{k}">{escape(b)} {k} ({100 * k / max(n, 1):.0f} %)</span>'
             for b, k in counts.items()]
    return (f'<p id="basis-counts">{n} parameters by basis: ' + ", ".join(parts) + ". <em>Evidence</em>: the source gives the number; "
            "<em>calibrated</em>: fitted to the published targets under <a href=\"#calibration\">Calibration</a>; "
            "<em>judgement</em>: a modelling judgement the sources inform but give no number for.</p>")


def _calibration(cal, results, cited: dict[str, int]) -> str:
    """The published targets against foedus: fit targets, then checks."""
    s = cal.data.sample
    n_fit = sum(r.role == "fit" for r in results)
    ok_fit = sum(r.passes for r in results if r.role == "fit")
    ok_check = sum(r.passes for r in results if r.role == "check")
    out = [f"<p>Published results foedus is measured against (<code>data/calibration.yaml</code>, as of {escape(cal.data.as_of.isoformat())}). "
           "The calibrated parameters are fitted to the <em>fit</em> targets; the <em>checks</em> are kept out of the fit. Each foedus value is the "
           f"mean or median over {s.futures:,} sampled futures ({escape(s.sampler.upper())}, seed {s.seed}) with the shipped parameters "
           f"(overrides of this report are not applied). Fit targets in their band: {ok_fit} of {n_fit}; checks passed: {ok_check} of {len(results) - n_fit}.</p>"]
    for role, title in (("fit", "Fit targets"), ("check", "Checks (kept out of the fit)")):
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
        out.append('<table><thead><tr><th>target</th><th class="n">published</th><th class="n">band</th><th class="n">foedus</th><th></th>'
                   "<th>source, grade</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    if cal.data.not_used:
        out.append("<p>Published results that could not be checked and are not used: " + "; ".join(escape(" ".join(t.split())) for t in cal.data.not_used) + ".</p>")
    out.append('<p class="caption">Run <code>foedus calibrate</code> for the same table; <code>foedus calibrate --fit</code> refits the calibrated parameters.</p>')
    return "".join(out)


def _credibility(ids: list[str], cur: dict) -> str:
    """Guarantor x package matrix of credibility (the guarantors that rank in
    the top 8 of any package)."""
    by = {i: {g["iso3"]: g["credibility"] for g in cur[i]["guarantors"]} for i in ids}
    keep: dict[str, float] = {}
    for i in ids:
        top = sorted(by[i].items(), key=lambda kv: -(kv[1] or 0))[:8]
        for iso, v in top:
            if (v or 0) > 0:
                keep[iso] = max(keep.get(iso, 0.0), v or 0.0)
    if not keep:
        return "<p>No guarantor has a commitment to fight in these packages.</p>"
    rows = [[escape(iso)] + [escape(fmt("credibility", by[i][iso])) if iso in by[i] else "" for i in ids]
            for iso in sorted(keep, key=lambda k: -keep[k])]
    n_all = len({iso for i in ids for iso in by[i]})
    note = f'<p class="caption">The {len(keep)} guarantors that rank in the top 8 of any package, of {n_all}; blank: not a guarantor of that package. Groups (NATO, EU) are expanded to their members.</p>'
    return "<h3>Credibility by guarantor</h3>" + _table(["guarantor"] + ids, rows) + note


def _costs(ids, cur, base, result, countries) -> str:
    from foedus.study.formatting import fmt as f

    marks = [(result["parameters"].get(f"costs.nato_mark.{k}"), t) for k, t in (("core_2014", "2 %"), ("core_2035", "3.5 %"), ("total_2035", "5 %"))]
    out = []
    for i in ids:
        gs = sorted(cur[i]["guarantors"], key=lambda g: -(g["cost_usd_per_year"] or 0))
        gs = [g for g in gs if (g["cost_usd_per_year"] or 0) > 0][:16]
        if not gs:
            continue
        cats = [g["iso3"] for g in gs]
        before = [countries[g].defence_pct_gdp.value if g in countries else 0.0 for g in cats]
        series = [svg.Series("defence spending before", before, "#b9cde6"), svg.Series("package cost", [g["cost_pct_gdp"] for g in gs], svg.CURRENT)]
        if base is not None:
            bb = {g["iso3"]: g for g in base[i]["guarantors"]}
            series.append(svg.Series("baseline total", [bb[c]["total_defence_pct_gdp"] if c in bb else None for c in cats], "#444", kind="marker"))
        out.append(f"<h3>{escape(i)}: cost per guarantor</h3>")
        out.append('<div class="charts">' + svg.bar_chart(svg.Chart(f"{i}: defence spending incl. the package, % GDP", cats, series, lambda v: f"{100 * v:.3g}%", stacked=True,
                                                                      ref_lines=[svg.RefLine(v, t) for v, t in marks if v], width=760, height=300)) + "</div>")
        out.append(_table(["guarantor", "cost per year", "cost, % GDP", "defence incl. package", "to 2 %", "to 3.5 %", "to 5 %", "share of cost", "share of GDP"],
                          [[escape(g["iso3"])] + [escape(f(m, g[m])) for m in ("cost_usd_per_year", "cost_pct_gdp", "total_defence_pct_gdp", "headroom_core_2014", "headroom_core_2035", "headroom_total_2035", "burden_share", "gdp_share")] for g in gs]))
    return "".join(out)


def _forces(ids, cur, base) -> str:
    from foedus.study.formatting import fmt as f

    out = []
    for i in ids:
        gs = sorted(cur[i]["guarantors"], key=lambda g: -(g["troops_required_pool"] or 0))
        gs = [g for g in gs if (g["troops_required_pool"] or 0) > 0][:16]
        if not gs:
            continue
        cats = [g["iso3"] for g in gs]
        series = [svg.Series("deployed", [g["troops_deployed"] for g in gs], svg.CURRENT),
                  svg.Series("pool needed", [g["troops_required_pool"] for g in gs], "#6b9bd1", colors=["#b3261e" if g["capacity_shortfall"] else "#6b9bd1" for g in gs]),
                  svg.Series("deployable capacity", [g["troops_available"] for g in gs], "#2e7d32")]
        if base is not None:
            bb = {g["iso3"]: g for g in base[i]["guarantors"]}
            series.append(svg.Series("baseline pool", [bb[c]["troops_required_pool"] if c in bb else None for c in cats], "#444", kind="marker"))
        out.append(f"<h3>{escape(i)}: force generation</h3>")
        out.append('<div class="charts">' + svg.bar_chart(svg.Chart(f"{i}: troops deployed, pool needed, capacity (log scale; red = short)", cats, series, lambda v: f"{v:,.0f}", log=True, width=760, height=300)) + "</div>")
        out.append(_table(["guarantor", "deployed", "pool needed", "deployable capacity", "capacity / pool", "shortfall", "cost of raising forces"],
                          [[escape(g["iso3"]) + (' <span class="short">short</span>' if g["capacity_shortfall"] else "")] + [escape(f(m, g[m])) for m in ("troops_deployed", "troops_required_pool", "troops_available", "capacity_ratio", "shortfall", "cost_raise_usd_per_year")] for g in gs]))
    return "".join(out)


def _robustness(study) -> str:
    res, ths, d = study.exploration, study.parsed_thresholds, study.design
    ids = res.package_ids
    rob = {r["id"]: r for r in res.robustness}
    out = [f"<p>{d.n_futures:,} futures sampled ({escape(d.sampler)}, seed {d.seed}) over {len(res.input_names)} uncertain inputs. A package "
           f"<em>satisfices</em> in a future when it meets every threshold: "
           f"{escape('; '.join(f'{label(t.metric)} {t.op} {fmt(t.metric, t.value)}' for t in ths))}. "
           "Regret: distance to the best package in the same future.</p>"]
    named = [f"{label(t.metric)} {t.op} {fmt(t.metric, t.value)}" for t in ths]
    out.append(_table(["package", "meets all"] + named,
                      [[escape(i), _pct(rob[i]["satisficing"] or 0.0)] + [_pct(rob[i]["per_threshold"][str(t)]) for t in ths] for i in ids]))
    out.append(_table(["package"] + [f"mean regret: {label(t.metric)}" for t in ths],
                      [[escape(i)] + [escape(fmt(t.metric, rob[i]["regret"][t.metric]["mean"])) for t in ths] for i in ids]))
    out.append('<div class="charts">' + svg.bar_chart(svg.Chart("Share of futures meeting every threshold", ids, [svg.Series("satisficing share", [rob[i]["satisficing"] for i in ids])], lambda v: f"{100 * v:.0f}%", width=500, height=270)) + "</div>")
    out.append("<h3>Ranges across futures</h3>")
    pm = ("attack_probability", "approval_probability", "escalation_risk", "total_cost_usd_per_year", "max_cost_pct_gdp")
    prow = []
    for i in ids:
        pc = rob[i].get("percentiles", {})
        prow.append([escape(i)] + [f"<strong>{escape(fmt(m, pc[m]['p50']))}</strong><div class=\"base\">{escape(fmt(m, pc[m]['p5']))} – {escape(fmt(m, pc[m]['p95']))}</div>" if m in pc else "–" for m in pm])
    out.append(_table(["package"] + [label(m) for m in pm], prow, numeric_from=99))
    out.append('<p class="caption">Median across futures in bold; below it the range from the 5th to the 95th percentile.</p>')
    out.append("<h3>Where each package fails (PRIM scenario discovery)</h3>")
    for i in ids:
        f = study.failure(i)
        if f["status"] == "never_fails":
            out.append(f"<p><strong>{escape(i)}</strong>: meets every threshold in all {f['n_futures']:,} futures.</p>")
            continue
        if f["status"] != "box":
            out.append(f"<p><strong>{escape(i)}</strong>: {escape(f['message'])}; no box to find.</p>")
            continue
        out.append(f"<p><strong>{escape(i)}</strong> fails in {_pct(f['fail_share'])} of futures. Box: <code>{escape(f['rule'])}</code> — "
                   f"coverage {_pct(f['coverage'])} of failures, density {_pct(f['density'])}.</p>")
        if f["restricted"]:
            rows_ = [(r["name"], r["data_low"], r["data_high"], r["low"], r["high"], f"{r['low']:.3g} – {r['high']:.3g}") for r in f["restricted"]]
            out.append('<div class="charts">' + svg.range_chart(f"{i}: box of futures where it fails (most restricted input first)", rows_) + "</div>")
    out.append('<p class="caption">Model estimates, not predictions: shares of sampled futures, not probabilities of events.</p>')
    return "".join(out)


def _sensitivity(study, n: int, seed: int) -> str:
    """Sobol' total-order indices (ST) of each package's attack probability
    (:meth:`foedus.study.study.Study.sensitivity`, ``n`` base samples): the
    inputs among the :data:`SENSITIVITY_TOP` largest of any package, with
    their basis, and a sentence on how many of them rest on judgement."""
    from foedus.study.study import reproduce_sensitivity

    m = "attack_probability"
    res = {i: study.sensitivity(i, [m], n, seed) for i in study.ids}
    st = {i: {x["input"]: x["ST"] for x in r["indices"] if x["ST"] is not None and x["ST"] == x["ST"]} for i, r in res.items()}
    basis = {x["name"]: x["basis"] for r in res.values() for x in r["inputs"]}
    tops = {i: sorted(v, key=lambda k: -v[k])[:SENSITIVITY_TOP] for i, v in st.items()}
    shown = sorted({k for t in tops.values() for k in t}, key=lambda k: -max(v.get(k, 0.0) for v in st.values()))
    ids = [i for i in study.ids if st[i]]
    first = {i: tops[i][0] for i in ids}
    judged = sum(1 for k in shown if basis.get(k) == "judgement")
    evals = next(iter(res.values()))["evaluations"] if res else 0
    lead = Counter(first.values()).most_common()
    out = [f"<p>Sobol' total-order index (ST) of the attack probability within the horizon: the share of its variance over futures that each "
           f"uncertain input explains, alone and with its interactions ({n:,} base samples, seed {seed}, {evals:,} model runs per package). "
           f"The table lists the {SENSITIVITY_TOP} largest inputs of each package; in bold, a package's largest.</p>"]
    if lead:
        top_in, k = lead[0]
        out.append(f"<p>{escape(top_in)} ({escape(basis.get(top_in) or '?')}) drives the attack probability most in {k} of the {len(ids)} packages "
                   f"whose attack probability varies. Of the {len(shown)} inputs listed, {judged} rest on judgement, so the ranking of the packages is "
                   "only as firm as those judgements.</p>")
    rows = [[escape(k), escape(basis.get(k) or "?")] + [("<strong>{}</strong>" if first.get(i) == k else "{}").format(f"{st[i][k]:.2f}") if k in st[i] else "–"
                                                       for i in ids] for k in shown]
    out.append(_table(["input", "basis"] + ids, rows, numeric_from=2))
    out.append('<p class="caption">ST counts the share of each input alone (S1) and with its interactions; indices are estimates (± a bootstrap interval shown by <code>foedus sensitivity</code>); '
               "an estimate can fall outside 0–1 where the attack probability hardly varies (a package near certain war); "
               "a package whose attack probability does not vary has no column. Reproduce: "
               f"<code>{escape(reproduce_sensitivity('PACKAGE.yaml', [m], n, seed, dict(study.parameters.overrides), study.horizon))}</code>. "
               "Model estimates, not predictions.</p>")
    return "".join(out)


def _executive_summary(sentences: list[dict]) -> str:
    """The executive summary (:meth:`foedus.study.study.Study.summary`): its
    sentences in reading order, each marked with its topic."""
    items = "".join(f'<li data-topic="{escape(s["topic"], quote=True)}">{escape(s["text"])}</li>' for s in sentences)
    return ('<div class="exec-summary"><h2 id="executive-summary">Executive summary</h2>'
            f"<ul>{items}</ul>"
            '<p class="caption">Generated from the numbers in this report (no language model). Model estimates, not predictions.</p></div>')


def _bottom_line(rows: list[dict], rng: dict | None) -> str:
    """Deterrence against cost, with approval: the package titles, central
    values with their ranges, the best value of each column marked, and one
    sentence per package on what drives it (all from the study)."""
    from foedus.domain.metrics import BOTTOM_LINE

    body = []
    for r in rows:
        cells = [f"<strong>{escape(r['title'])}</strong><div class=\"base\">{escape(r['id'])}</div>"]
        for m in BOTTOM_LINE:
            v = r["values"][m]
            cell = escape(fmt(m, v["value"]))
            if v["best"]:
                cell = f'<span class="best" title="best in this column">{cell} ★</span>'
            if v["p5"] is not None:
                cell += f'<div class="rng">{escape(fmt_range(m, {"p5": v["p5"], "p95": v["p95"]}))}</div>'
            cells.append(cell)
        body.append(cells)
    out = [_table(["package"] + [label(m) for m in BOTTOM_LINE], body)]
    out.append("<ul class=\"sentences\">" + "".join(f"<li><strong>{escape(r['title'])}.</strong> {escape(r['sentence'])}</li>" for r in rows) + "</ul>")
    out.append('<p class="caption">★ best central value in its column (all marked where several are equal at the precision shown). Below each value, its 5th–95th percentile over '
               + (f"{rng['futures']:,} sampled futures" if rng else "the sampled futures") + ". The sentences are generated from the numbers. "
               "Model estimates, not predictions.</p>")
    return "".join(out)


def _sources(packages, parameters, countries, result, calibration=None) -> tuple[str, dict[str, int]]:
    """The sources section, and the reference number of each calibration
    source id (for the calibration table)."""
    out = []
    seen: dict[tuple, int] = {}
    items: list[str] = []

    def cite(r) -> int:
        k = _ref_key(r)
        if k not in seen:
            seen[k] = len(items) + 1
            items.append(_ref_html(r))
        return seen[k]

    pk_rows = []
    for p in packages:
        nums = [cite(r) for r in p.sources]
        for c in p.commitments:
            nums += [cite(r) for r in c.sources]
        pk_rows.append(f"<li><strong>{escape(p.id)}</strong>: sources " + ", ".join(f"[{n}]" for n in sorted(set(nums))) + "</li>")
    par_rows = []
    for name, p in parameters.parameters.items():
        nums = [cite(r) for r in p.references]
        if p.uncertainty is not None:
            nums += [cite(r) for r in p.uncertainty.references]
        par_rows.append(f"{escape(name)} [{', '.join(str(n) for n in sorted(set(nums)))}]")
    used = sorted({g["iso3"] for pk in result["packages"] for g in pk["guarantors"]})
    src_ids = sorted({f.source for iso in used if iso in countries for f in {**countries[iso].figures(), **countries[iso].facts()}.values()})
    c_nums = [cite(countries.sources[s]) for s in src_ids if s in countries.sources]
    out.append("<h3>By package</h3><ul>" + "".join(pk_rows) + "</ul>")
    out.append("<h3>By parameter</h3><p style=\"font-size:12px\">" + "; ".join(par_rows) + "</p>")
    out.append(f"<h3>Country data</h3><p>GDP, defence spending, active personnel, memberships and approval regimes of the {len(used)} guarantor countries: sources "
               + ", ".join(f"[{n}]" for n in sorted(set(c_nums))) + ".</p>")
    cal_cited: dict[str, int] = {}
    if calibration is not None:
        for sid, ref in calibration.data.sources.items():
            cal_cited[sid] = cite(ref)
    out.append(f"<h3>Reference list ({len(items)})</h3>")
    if calibration is not None:
        out.append("<p>The calibration targets' sources: " + ", ".join(f"{escape(sid)} [{n}]" for sid, n in cal_cited.items()) + ".</p>")
    out.append("<ol class=\"sources\">" + "".join(f'<li id="src-{k + 1}">{h}</li>' for k, h in enumerate(items)) + "</ol>")
    return "".join(out), cal_cited
