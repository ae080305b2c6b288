"""The report of a design search: ``foedus optimise DESIGN.yaml --report FILE``.

The normal report (:func:`foedus.interfaces.report.build.build_report`) of
the base package and the designs chosen from the front (the study of
``[base, *members]``), with a "Design search" section after the
navigation: the question and the settings (futures, seed, population,
generations run, stopped or not), the objectives and constraints in words, a
trade-off chart (cost against the deterrence term, each design coloured by
its approval, the base as a diamond), the front table and the command that
reproduces the search.

Every number of that section is taken from
:attr:`DesignSearch.record <foedus.study.design_search.DesignSearch.record>`
(the ``optimise --json`` contract) and every package from
:attr:`DesignSearch.members <foedus.study.design_search.DesignSearch.members>`;
this module lays them out and computes nothing.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from foedus.interfaces.report import svg
from foedus.interfaces.report.build import SENSITIVITY_N, TITLE_MAX, _axis_fmt, build_report

#: Anchor and navigation title of the section.
ANCHOR, NAV_TITLE = "design-search", "Design search"
COST, ATTACK, APPROVAL = "total_cost_usd_per_year", "attack_probability", "approval_probability"


def check_output(output: Path) -> None:
    """Raise :class:`~foedus.domain.errors.InputError` when the report
    cannot be written to ``output`` (no such folder, or a folder), before
    the search spends its time."""
    from foedus.domain.errors import InputError, Problem

    output = Path(output)
    if output.is_dir():
        raise InputError(str(output), [Problem("--report", "a file to write, not a folder")])
    if not output.parent.is_dir():
        raise InputError(str(output), [Problem("--report", f"cannot write: no folder {output.parent}")])
    if output.suffix.lower() not in (".html", ".htm", ".pdf"):
        raise InputError(str(output), [Problem("--report", "a file ending in .html (the report) or .pdf (an A4 PDF of it)")])


def report_title(record: dict) -> str:
    return f"Design search: {record['design']['title']}"[:TITLE_MAX]


def design_search_report(search, *, files: list[str] | None = None, title: str | None = None, author: str | None = None,
                         marking: str | None = None, sensitivity_n: int = SENSITIVITY_N, generated=None) -> str:
    """The report of ``search`` (a :class:`~foedus.study.design_search.DesignSearch`)
    as one HTML string: the study of its base package and chosen designs,
    over the search's parameters, horizon, futures, seed and thresholds,
    with the "Design search" section. ``files``: the package files written
    for the designs (``optimise -o``), named in the reproduce commands."""
    rec = search.record
    members = search.members
    base_file = os.path.normpath(str(search.loaded[2]))
    named = [str(f) for f in files] if files else [f"{p.id}.yaml" for p in members]
    return build_report([search.base, *members], search.parameters, search.countries, horizon=search.horizon, n_futures=search.futures,
                        seed=search.seed, thresholds=rec["thresholds"], title=title or report_title(rec), files=[base_file, *named],
                        author=author, marking=marking, generated=generated, sensitivity_n=sensitivity_n,
                        lead=[(ANCHOR, NAV_TITLE, design_search_section(rec, search.goals, files=bool(files)))])


def write_design_search_report(search, output: Path, files: list[Path] | None = None) -> str:
    """Write the report of ``search`` to ``output``: HTML, or an A4 PDF when
    it ends in ``.pdf`` (:func:`~foedus.interfaces.report.pdf.html_to_pdf`).
    Returns the line saying what was written; raises
    :class:`~foedus.domain.errors.InputError` when it cannot be."""
    from foedus.domain.errors import InputError, Problem

    output = Path(output)
    html = design_search_report(search, files=[str(f) for f in files or ()])
    n = 1 + len(search.members)
    if output.suffix.lower() == ".pdf":
        from foedus.interfaces.report.pdf import html_to_pdf

        pages = html_to_pdf(html, output, title=report_title(search.record))
        return f"wrote the report {output} ({pages} A4 pages, the base and {n - 1} designs)"
    try:
        output.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise InputError(str(output), [Problem("--report", f"cannot write ({exc.strerror})")]) from None
    return f"wrote the report {output} ({len(html.encode()) / 1024:,.0f} KB, the base and {n - 1} designs)"


# ---------------------------------------------------------------------------------
# the section
# ---------------------------------------------------------------------------------


def design_search_section(rec: dict, goals, *, files: bool = False) -> str:
    """The "Design search" section from ``rec`` (the ``optimise --json``
    record) and ``goals`` (the search's parsed objectives, constraints and
    thresholds, which say how each value reads)."""

    objs, cons, ths = goals
    d, st, s = rec["design"], rec["settings"], rec["search"]
    out = [f'<h2 id="{ANCHOR}">Design search</h2>']
    if d.get("question"):
        out.append(f'<p class="question"><strong>The question.</strong> {escape(" ".join(d["question"].split()))}</p>')
    out.append(f"<p>Design file <code>{escape(d['file'])}</code> (“{escape(d['title'])}”): starting from the base package "
               f"<code>{escape(d['base'])}</code>, the search may vary {len(d['variables'])} decisions "
               f"({escape(', '.join(x['name'] for x in d['variables']))}).</p>")
    ran = (f"stopped after {s['generations_run']} of {st['generations']} generations (the front found so far)" if s["stopped"]
           else f"{s['generations_run']} generations")
    shown = f", {s['shown']} shown here (spread along the front, both ends kept)" if s["shown"] < s["front_size"] else ""
    attrs = {"futures": st["futures"], "seed": st["seed"], "population": st["population"], "generations": st["generations"],
             "generations-run": s["generations_run"], "stopped": str(bool(s["stopped"])).lower(), "front-size": s["front_size"], "shown": s["shown"]}
    data = " ".join(f'data-{k}="{v}"' for k, v in attrs.items())
    out.append(f'<p id="design-search-settings" {data}>'
               f"The search (NSGA-II, NSGA-III above three objectives) tried {s['candidates']:,} designs, each evaluated on the same {st['futures']:,} futures "
               f"(seed {st['seed']}, horizon {st['horizon_years']:g} years): population {st['population']}, {escape(ran)}. "
               f"{s['feasible']:,} meet every constraint; the front (the designs no other beats on every objective): "
               f"{s['front_size']} designs{escape(shown)}.</p>")
    out.append("<h3>Objectives and constraints</h3><ul class=\"goals\">"
               + "".join(f'<li data-objective="{escape(str(o), quote=True)}">{"Maximise" if o.sense > 0 else "Minimise"} '
                         f"{escape(_lower(o.term.label))} <code>{escape(str(o))}</code></li>" for o in objs)
               + "".join(f'<li data-constraint="{escape(str(c), quote=True)}">Keep {escape(_lower(c.term.label))} '
                         f"{_op_words(c.op)} {escape(_bound(c))} <code>{escape(str(c))}</code></li>" for c in cons)
               + ("" if cons else "<li>No constraint.</li>") + "</ul>")
    if any(o.term.metric == "meets" for o in objs) or any(c.term.metric == "meets" for c in cons):
        out.append("<p>A future is met when every threshold holds: " + escape("; ".join(str(t) for t in ths)) + ".</p>")
    out.append('<div class="charts">' + _chart(rec, objs, cons) + "</div>")
    out.append(_chart_caption(rec, objs, cons))
    out.append(_front_table(rec, objs, cons))
    out.append("<h3>Reproduce the search</h3>"
               f'<pre id="design-search-reproduce">{escape(rec["reproduce"])}</pre>'
               '<p class="caption">The same seed gives the same front, bit for bit. Add <code>--report FILE.html</code> (or <code>.pdf</code>) '
               "to write this report again, <code>-o DIR</code> to write each design as a package file"
               + (" (as this run did)" if files else "") + ". The sections below are the report of the base package and these designs, as "
               "<code>foedus report</code> writes it for their package files: their numbers are the report's own (its robustness section "
               "draws its own sample of futures), those of this section the search's.</p>")
    return "".join(out)


def _op_words(op: str) -> str:
    return {"<=": "at most", "<": "below", ">=": "at least", ">": "above"}[op]


def _bound(c) -> str:
    """A constraint's bound as people read it (a probability to three figures, never "<0.1%")."""
    from foedus.study.design_search import show_term

    return f"{100 * c.value:.3g}%" if c.term.kind == "prob" and c.term.metric != "meets" else show_term(c.term, c.value)


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _axes(rec: dict, objs, cons):
    """(x, y) of the chart, each (title, metric, value of a record entry):
    cost (the cost objective, else the central cost) against deterrence (an
    attack-probability objective, the robust one first, else such a
    constraint, else the central attack probability)."""

    def of_objective(o):
        return (o.term.label, o.term.metric, lambda e, k=str(o): e["objectives"].get(k))

    def central(m: str, title: str):
        return (title, m, lambda e: e["summary"].get(m))

    x = next((of_objective(o) for o in objs if o.term.metric == COST and not o.term.scenario), None) or central(COST, "Cost per year (central)")
    ys = [o for o in objs if o.term.metric == ATTACK and not o.term.scenario]
    y = next((of_objective(o) for o in sorted(ys, key=lambda o: not o.term.over_futures)), None)
    if y is None:
        c = next((c for c in cons if c.term.metric == ATTACK and not c.term.scenario), None)
        y = (c.term.label, ATTACK, lambda e, k=str(c): e["constraints"][k]["value"]) if c is not None else None
    return x, y or central(ATTACK, "Attack within horizon (central)")


def _y_term(objs, cons, y_title: str):
    return next((t for t in [*(o.term for o in objs), *(c.term for c in cons)] if t.label == y_title), None)


def _short(rec: dict, pid: str) -> str:
    """A design's label on the chart: its number (its id without the design's)."""
    return pid.removeprefix(rec["design"]["id"] + "-")


def _chart(rec: dict, objs, cons) -> str:
    from foedus.study.formatting import fmt

    (xt, xm, xv), (yt, ym, yv) = _axes(rec, objs, cons)
    term = _y_term(objs, cons, yt)
    limits = [(c.value, f"{'≤' if c.op in ('<=', '<') else '≥'} {_axis_fmt(ym)(c.value)} (constraint)")
              for c in cons if term is not None and c.term == term]
    b = rec["base"]
    points = [svg.TradePoint(b["id"], f"base: {b['id']}", xv(b), yv(b), b["summary"].get(APPROVAL), base=True)]
    points += [svg.TradePoint(m["id"], _short(rec, m["id"]), xv(m), yv(m), m["summary"].get(APPROVAL)) for m in rec["front"]]
    return svg.tradeoff_chart(svg.TradeOff(f"The front: {_lower(yt)} against {_lower(xt)}", xt, yt, "approval (central)", points,
                                           _axis_fmt(xm), _axis_fmt(ym), lambda v: fmt(APPROVAL, v), limits=limits))


def _chart_caption(rec: dict, objs, cons) -> str:
    (xt, _, _), (yt, _, _) = _axes(rec, objs, cons)
    return (f'<p class="caption">Each design of the front as a dot labelled with the number ending its id, the base package '
            f"(<code>{escape(rec['base']['id'])}</code>) as a diamond; across: {escape(_lower(xt))}, up: {escape(_lower(yt))}, over the search's "
            f"{rec['settings']['futures']:,} futures; the fill: the approval probability (central), darker when higher (the legend gives the "
            "lowest and highest shown). Dashed: a constraint's bound. The axes span the values shown (they need not start at zero). Lower and further left is better; no design of the front is beaten on "
            "every objective by another. Model estimates, not predictions.</p>")


def _front_table(rec: dict, objs, cons) -> str:
    from foedus.study.design_search import show_term
    from foedus.study.formatting import fmt

    approval = not any(o.term.metric == APPROVAL and o.term.stat == "central" and not o.term.scenario for o in objs)
    head = ["design"] + [("max " if o.sense > 0 else "min ") + o.term.label for o in objs] + (["approval (central)"] if approval else [])
    head += ["constraints met", "choices (where they differ from the base)"]

    def row(e: dict, role: str, name: str, described: str) -> str:
        cells = [f'<td class="nw">{name}</td>']
        for o in objs:
            val = e["objectives"].get(str(o))
            cells.append(f'<td class="n" data-term="{escape(str(o), quote=True)}" data-value="{_num(val)}">{escape(show_term(o.term, val))}</td>')
        if approval:
            val = e["summary"].get(APPROVAL)
            cells.append(f'<td class="n" data-term="{APPROVAL}" data-value="{_num(val)}">{escape(fmt(APPROVAL, val))}</td>')
        met = [k for k, c in e["constraints"].items() if c["met"]]
        missed = [k for k, c in e["constraints"].items() if not c["met"]]
        ok = f'{len(met)} of {len(e["constraints"])}' if e["constraints"] else "–"
        if missed:
            ok = f'<span class="fail" title="misses: {escape("; ".join(missed), quote=True)}">✗ {ok}</span>'
        cells.append(f'<td class="n" data-met="{len(met)}">{ok}</td>')
        cells.append(f"<td>{escape(described)}</td>")
        return f'<tr data-id="{escape(e["id"], quote=True)}" data-role="{role}">' + "".join(cells) + "</tr>"

    b = rec["base"]
    rows = [row(b, "base", f'<span class="same">base:</span> <code>{escape(b["id"])}</code>', "as written")]
    rows += [row(m, "front", f"<code>{escape(m['id'])}</code>", m["described"]) for m in rec["front"]]
    out = ["<h3>The front</h3>"]
    if not rec["front"]:
        out.append('<p id="no-design"><strong>No design meets every constraint.</strong> The report below is of the base package alone.'
                   + (" The closest design found (the smallest shortfall from the constraints) is in the table; it is not one of the "
                      "report's packages." if rec.get("closest") else "") + "</p>")
        if rec.get("closest"):
            rows.append(row(rec["closest"], "closest", "closest design", rec["closest"]["described"]))
    h = "".join(f'<th class="{"n" if 0 < i < len(head) - 1 else ""}">{escape(x)}</th>' for i, x in enumerate(head))
    out.append(f'<div class="wide"><table class="compact front"><thead><tr>{h}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')
    out.append('<p class="caption">The base package first, then the designs of the front in the order of the first objective: their values over '
               f"the search's {rec['settings']['futures']:,} futures (seed {rec['settings']['seed']}). Each design is one of this report's packages, "
               "under its id; its choices are those that differ from the base (everything else, and every source, is the base's). "
               "✗: a constraint missed (hover for which). Model estimates, not predictions.</p>")
    return "".join(out)


def _num(v) -> str:
    """A value as Python writes it, for a ``data-value`` attribute ("" for none)."""
    return "" if v is None else repr(float(v))
