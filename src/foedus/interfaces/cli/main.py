"""The ``foedus`` command line: the foundation, assessment, serving and
report commands; the exploration commands live in
:mod:`foedus.interfaces.cli.explore_commands` and register themselves on the
same app (imported at the end of this module), and what both share in
:mod:`foedus.interfaces.cli.common`.

Commands import what they need when they run, so ``foedus --help`` stays
fast. Any :class:`~foedus.domain.errors.InputError` is printed as
``file:line: field: expectation`` on stderr with exit status 2, never a
traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from foedus.domain.metrics import SUMMARY_METRICS
from foedus.interfaces.cli.common import EXIT_INPUT, SCENARIO_HELP, _console, _dump, _parameters, app, fail, handles_input_errors


# ---------------------------------------------------------------------------
# foundation commands
# ---------------------------------------------------------------------------


@app.command()
@handles_input_errors
def validate(files: list[Path] = typer.Argument(..., help="Package files (YAML) to check.")):
    """Check package files; print every problem with file, line and field."""
    from foedus.data.loaders import load_countries, load_package
    from foedus.domain.errors import InputError

    countries = load_countries()
    con = _console()
    errors = []
    for f in files:
        try:
            p = load_package(f, countries)
            con.print(f"[green]ok[/]    {f}  ({p.id}: {len(p.commitments)} commitments)")
        except InputError as exc:
            errors.append(exc)
    if errors:
        from rich.markup import escape

        err = _console(stderr=True)
        for e in errors:
            for line in str(e).splitlines():
                err.print(f"[bold red]error:[/] {escape(line)}")
        raise typer.Exit(EXIT_INPUT)


@app.command()
@handles_input_errors
def params(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    group: Optional[str] = typer.Option(None, help="Only parameters of this sub-model (file), e.g. credibility."),
):
    """Every parameter with value, unit, year, range and source."""
    from foedus.data.loaders import load_parameters

    ps = load_parameters()
    items = [p for p in ps.values() if group is None or p.group == group]
    if as_json:
        _dump({"parameters": [_param_record(p) for p in items]})
        return
    from rich.table import Table

    from collections import Counter

    t = Table(title="foedus parameters", show_lines=False)
    for c in ("name", "value", "unit", "year", "basis", "range", "source"):
        t.add_column(c, overflow="fold")
    for p in items:
        u = p.uncertainty
        rng = f"{u.low:g}–{u.high:g} ({u.distribution})" if u else ""
        t.add_row(p.name, f"{p.value:g}", p.unit.value, str(p.year), p.basis.label, rng, p.references[0].short())
    con = _console()
    con.print(t)
    from foedus.domain.vocabulary import Basis

    counts = Counter(p.basis for p in items)
    con.print("basis: " + ", ".join(f"{b.label} {counts.get(b, 0)} ({100 * counts.get(b, 0) / max(len(items), 1):.0f}%)" for b in Basis))


def _param_record(p) -> dict:
    return p.record()


@app.command()
@handles_input_errors
def countries(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")):
    """Country data (NATO, the EU, the Coalition of the Willing, Ukraine, Russia) with each figure's year and source."""
    from foedus.data.loaders import load_countries

    table = load_countries()
    if as_json:
        out = []
        for c in table.countries.values():
            rec = {"iso3": c.iso3, "name": c.name}
            for k, f in c.facts().items():
                src = table.sources[f.source]
                rec[k] = {"value": getattr(f.value, "value", f.value), "source": src.short(), "source_id": f.source, "grade": f.grade.value, "note": f.note}
            for k, f in c.figures().items():
                src = table.sources[f.source]
                rec[k] = {"value": f.value, "unit": f.unit.value, "year": f.year, "source": src.short(), "source_id": f.source, "url": src.url, "grade": f.grade.value, "note": f.note}
            out.append(rec)
        _dump({"countries": out, "sources": {k: v.model_dump(exclude_none=True, mode="json") for k, v in table.sources.items()}})
        return
    from rich.table import Table

    from foedus.study.formatting import fmt

    t = Table(title=f"foedus countries ({len(table.countries)})")
    for c in ("ISO3", "name", "GDP", "defence % GDP", "defence", "active", "NATO", "EU", "Coalition", "nuclear", "deployment vote", "weakest grade"):
        t.add_column(c)
    order = ["verified", "secondary", "derived", "unverified"]
    for c in table.countries.values():
        grades = [f.grade.value for f in {**c.figures(), **c.facts()}.values()]
        t.add_row(
            c.iso3,
            c.name,
            fmt("total_cost_usd_per_year", c.gdp_usd.value) + f" ({c.gdp_usd.year})",
            f"{100 * c.defence_pct_gdp.value:.2f}% ({c.defence_pct_gdp.year})",
            fmt("total_cost_usd_per_year", c.defence_usd.value) + f" ({c.defence_usd.year})",
            f"{c.active_personnel.value:,.0f} ({c.active_personnel.year})",
            "yes" if c.is_nato else "",
            "yes" if c.is_eu else "",
            "yes" if c.is_coalition else "",
            "yes" if c.is_nuclear else "",
            c.deployment_approval.value.value,
            max(grades, key=order.index),
        )
    _console().print(t)


@app.command()
@handles_input_errors
def show(package: Path = typer.Argument(..., help="A package file.")):
    """A readable summary of one package."""
    from rich.markup import escape
    from rich.table import Table

    from foedus.data.loaders import load_countries, load_package
    from foedus.models.levers import compile_packages
    from foedus.study.formatting import fmt

    countries = load_countries()
    p = load_package(package, countries)
    con = _console()
    con.print(f"[bold]{escape(p.title)}[/]  ({p.id})")
    con.print(escape(" ".join(p.rationale.split())))
    con.print(f"Kyiv's position: {p.kyiv_position.value}")
    t = Table(title="commitments (a size by year reads 2027: 10,000 → 2029: 25,000)")
    for c in ("guarantor", "kind", "legal form", "trigger", "posture", "troops", "aircraft", "ships", "USD/yr", "enabler units", "years", "ROE"):
        t.add_column(c)

    def size(v, show=lambda x: f"{x:,}") -> str:
        if isinstance(v, dict):
            return " → ".join(f"{y}: {show(x)}" for y, x in v.items())
        return show(v) if v else ""

    for c in p.commitments:
        t.add_row(
            c.guarantor, c.kind.value, c.legal_form.value, c.trigger.value,
            c.posture.value if c.posture else "", size(c.troops), size(c.aircraft), size(c.ships),
            size(c.usd_per_year, lambda x: fmt("total_cost_usd_per_year", x)),
            (f"{c.enabler.value} " + size(c.units)) if c.enabler else "",
            "–".join(str(y) if y is not None else "" for y in (c.from_, c.until)) if (c.from_ or c.until) else "",
            c.rules_of_engagement.value,
        )
    con.print(t)
    lv = compile_packages([p], countries)
    con.print("Approvals needed (rules and file): " + (", ".join(f"{a} ({by})" for a, by in lv.approvals_by_package[0]) or "none"))
    con.print("Sources:")
    for s in p.sources:
        con.print(f"  - {escape(s.short())}" + (f" {s.url}" if s.url else ""))


# ---------------------------------------------------------------------------
# assessment
# ---------------------------------------------------------------------------

@app.command()
@handles_input_errors
def compare(
    files: list[Path] = typer.Argument(..., help="Package files to compare side by side."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Override a parameter: NAME=VALUE (repeatable), e.g. will.USA=0."),
    params_file: Optional[Path] = typer.Option(None, "--params", help="YAML file of parameter overrides {name: value}."),
    horizon: Optional[float] = typer.Option(None, "--horizon", min=0.1, max=100, help="Years over which risks accumulate."),
    futures: int = typer.Option(1000, "--futures", min=0, max=100_000, help="Futures in the sample behind the ranges (0: central values only)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of that sample."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output (see docs/cli.md)."),
    guarantors: bool = typer.Option(False, "--guarantors/--no-guarantors", help="Show per-guarantor details."),
    scenario: Optional[str] = typer.Option(None, "--scenario", help=SCENARIO_HELP),
    by_scenario: bool = typer.Option(True, "--by-scenario/--no-by-scenario", help="Also give each package's attack probability in every named will scenario."),
    by_year: bool = typer.Option(False, "--by-year", help="Year by year from the start year to the horizon: attack by each year, cost, forces, build-up (see docs/model.md, time axis)."),
):
    """Compare packages: central values, ranges over futures, what each guarantor's promise and aid are worth, and the results per named will scenario."""
    from foedus.data.loaders import load_countries, load_packages

    countries = load_countries()
    ps = _parameters(set_, params_file, scenario)
    pkgs = load_packages(files, countries)
    study = _study(pkgs, ps, countries, horizon, futures, seed, by_scenario)
    if by_year:
        if as_json:
            _dump(study.by_year)
        else:
            _print_by_year(study.by_year, guarantors)
        return
    if as_json:
        _dump(study.comparison)
        return
    _print_comparison(study.comparison, study.bottom_line(), guarantors)


#: The yearly tables of ``compare --by-year``, one per metric.
BY_YEAR_TABLES = ("attack_probability", "total_cost_usd_per_year", "max_cost_pct_gdp", "troops_deployed", "troops_short")


def _print_by_year(result: dict, guarantors: bool = False) -> None:
    """The yearly path at the console's width: per metric a table with one
    row per package and one column per year (split over as few tables as
    fit), the 5th-95th percentile under each value; then the totals; with
    ``guarantors``, each package's guarantors by year."""
    from rich.table import Table
    from rich.text import Text

    from foedus.domain.metrics import YEAR, metric
    from foedus.interfaces.cli.common import Col, fitted_tables
    from foedus.study.formatting import fmt

    con = _console()
    width = con.width
    pk = result["packages"]
    ids = [p["id"] for p in pk]
    idw = max(map(len, ids))
    years = result["years"]
    rng = result.get("ranges")
    for m in BY_YEAR_TABLES:
        rows = Col("package", [Text(i) for i in ids], justify="left")
        cols = []
        for t, y in enumerate(years):
            cells = []
            for p in pk:
                c = Text(fmt(m, p["metrics"][m][t]))
                if rng:
                    c.append("\n" + fmt(m, p["ranges"][m]["p5"][t]) + "–" + fmt(m, p["ranges"][m]["p95"][t]), style="dim")
                cells.append(c)
            cols.append(Col(str(y), cells))
        title = f"{metric(m, YEAR).label} — {years[0]}–{years[-1]}"
        caption = f"Second line: 5th–95th percentile over {rng['futures']:,} futures (seed {rng['seed']})." if rng else None
        for tb in fitted_tables(title, rows, cols, width, key_width=idw, caption=caption):
            con.print(tb)
    tot = Table(title=f"Totals {years[0]}–{years[-1]} (model estimates, not predictions)", title_justify="left")
    for h in ("package", "attack by the end (steady model)", "cumulative cost", "discounted", "peak cost (year)"):
        tot.add_column(h, justify="left" if h == "package" else "right", no_wrap=h == "package")
    for p in pk:
        t = p["totals"]
        tot.add_row(p["id"], f"{fmt('attack_probability', t['attack_probability'])} ({fmt('attack_probability', p['steady_attack_probability'])})",
                    fmt("total_cost_usd_per_year", t["cumulative_cost_usd"]), fmt("total_cost_usd_per_year", t["discounted_cost_usd"]),
                    f"{fmt('total_cost_usd_per_year', t['peak_cost_usd_per_year'])} ({t['peak_cost_year']})")
    con.print(tot)
    if not guarantors:
        con.print("[dim]Each guarantor's cost, % of GDP, spending against the Hague path and build-up by year: --by-year --guarantors[/]")
        return
    for p in pk:
        shown = sorted(p["guarantors"], key=lambda g: -g["cumulative_cost_usd"])[:GUARANTORS_SHOWN]
        if not shown:
            continue
        names = Col("guarantor", [Text(g["iso3"]) + Text(f" ready {g['ready_year']}" if g["ready_year"] and g["ready_year"] > years[0] else "",
                                                          style="yellow") for g in shown], justify="left")
        cols = [Col(str(y), [Text(fmt("cost_usd_per_year", g["metrics"]["cost_usd_per_year"][t]) + "\n"
                                  + fmt("total_defence_pct_gdp", g["metrics"]["total_defence_pct_gdp"][t]) + " / "
                                  + fmt("hague_path_pct_gdp", g["metrics"]["hague_path_pct_gdp"][t])) for g in shown]) for t, y in enumerate(years)]
        for tb in fitted_tables(f"{p['id']}: per guarantor by year — cost; defence spending incl. package / Hague path (% GDP)", names, cols,
                                width, caption="'ready': the year its build-up of forces is complete (central values)."):
            con.print(tb)


def _print_scenarios(result: dict, width: int, idw: int) -> None:
    """Each package's attack probability in every named will scenario
    (central value, and below it the 5th-95th percentile with will fixed),
    beside the pooled range in which will is sampled."""
    from rich.table import Table
    from rich.text import Text

    from foedus.interfaces.cli.common import Col, fitted_tables
    from foedus.study.formatting import fmt, fmt_range

    m = "attack_probability"
    pk = result["packages"]
    rows = Col("package", [Text(p["id"]) for p in pk], justify="left")

    def cell(v: dict) -> Text:
        t = Text(fmt(m, v["value"]))
        if v.get("p5") is not None:
            t.append("\n" + fmt_range(m, v), style="dim")
        return t

    cols = [Col("pooled (will sampled)", [cell({"value": p["metrics"][m], **(p.get("ranges") or {}).get(m, {})}) for p in pk])]
    for sc in result["scenarios"]:
        cols.append(Col(sc["title"], [cell(sc["packages"][p["id"]][m]) for p in pk]))
    sets = "; ".join(f"{sc['id']}: " + ", ".join(f"{k}={v:g}" for k, v in sc["set"].items()) for sc in result["scenarios"])
    caption = f"Attack within horizon per named will scenario (foedus compare --scenario ID); second line: 5th–95th percentile with will fixed. {sets}."
    for t in fitted_tables("By will scenario", rows, cols, width, key_width=idw, caption=caption):
        _console().print(t)


def _study(pkgs, ps, countries, horizon, futures: int, seed: int, by_scenario: bool = True):
    """The study ``compare`` renders, its ranges over ``futures`` sampled
    futures (seed ``seed``; the default sample is 1,000, seed 0)."""
    from foedus.study.study import Study

    return Study(pkgs, ps, countries, horizon, range_futures=futures, range_seed=seed, by_scenario=by_scenario)


#: Width of the metric labels in a table with one column per package (labels wrap at spaces).
LABEL_WIDTH = 22
#: Per-guarantor columns of ``compare --guarantors``.
GUARANTOR_COLUMNS = ("credibility", "delivery", "troops_deployed", "troops_required_pool", "troops_available", "cost_usd_per_year",
                     "cost_pct_gdp", "total_defence_pct_gdp", "burden_share")
#: Guarantors listed per package by ``compare --guarantors`` (the costliest first).
GUARANTORS_SHOWN = 12


def _print_comparison(result: dict, bottom: list[dict], guarantors: bool = False) -> None:
    """The comparison at the console's width: a key of package ids and
    titles; the summary table with one column per package when it fits in
    one table, else transposed (one row per package, the metrics split over
    as few tables as fit); whose promise counts; the bottom line's
    sentences; and with ``guarantors`` a table per package. Ids and values
    are never cut."""
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from foedus.interfaces.cli.common import Col, fits, fitted_tables, shorten
    from foedus.study.formatting import fmt, fmt_range, label

    con = _console()
    width = con.width
    pk = result["packages"]
    rng = result.get("ranges")
    ids = [p["id"] for p in pk]
    idw = max(map(len, ids))

    key = Table(title="Packages", title_justify="left", box=None, show_header=False, pad_edge=False)
    key.add_column("id", no_wrap=True, min_width=idw)
    key.add_column("title", no_wrap=True, max_width=max(width - idw - 4, 10))
    for p in pk:
        key.add_row(p["id"], escape(shorten(p["title"], max(width - idw - 4, 10))))
    con.print(key)
    con.print()

    def cell(m: str, p: dict) -> Text:
        t = Text(fmt(m, p["metrics"][m]))
        if rng:
            t.append("\n" + fmt_range(m, p["ranges"][m]), style="dim")
        return t

    caption = "Model estimates, not predictions."
    if rng:
        caption += f" Second line: 5th–95th percentile over {rng['futures']:,} futures (seed {rng['seed']})."
    caption += f" Data as of {result['data']['latest']} ({result['data']['detail']})."
    title = f"foedus compare — central values, horizon {result['horizon_years']:g} years"
    labels = Col("metric", [Text(label(m)) for m in SUMMARY_METRICS], justify="left")
    wide = [Col(p["id"], [cell(m, p) for m in SUMMARY_METRICS]) for p in pk]
    lw = max(LABEL_WIDTH, *(len(w) for m in SUMMARY_METRICS for w in label(m).split()))
    if fits(title, labels, wide, width, key_width=lw):
        tables = fitted_tables(title, labels, wide, width, key_width=lw, caption=caption)
    else:  # one row per package, the metrics in as few tables as fit
        rows = Col("package", [Text(i) for i in ids], justify="left")
        tall = [Col(label(m), [cell(m, p) for p in pk]) for m in SUMMARY_METRICS]
        tables = fitted_tables(title, rows, tall, width, key_width=idw, caption=caption)
    for t in tables:
        con.print(t)
    if result["overrides"]:
        con.print("Overrides: " + ", ".join(f"{k}={v:g}" for k, v in result["overrides"].items()))
    w = Table(title="Whose promise counts — attack within horizon without each guarantor: all of it / only its promises / only its aid "
                    "(central values)", title_justify="left")
    w.add_column("package", no_wrap=True, min_width=idw)
    w.add_column("attack", justify="right", no_wrap=True)
    w.add_column("without the guarantors that matter most (all / promises / aid)")
    for p in pk:
        gs = sorted(p["guarantors"], key=lambda g: -(g["attack_probability_without"] or 0))
        base = p["metrics"]["attack_probability"]
        shown = [f"{g['iso3']} {fmt('attack_probability', g['attack_probability_without'])} / "
                 f"{fmt('attack_probability', g.get('attack_probability_without_promises'))} / "
                 f"{fmt('attack_probability', g.get('attack_probability_without_aid'))}" for g in gs[:3]
                 if g["attack_probability_without"] is not None and g["attack_probability_without"] > base + 5e-4]
        w.add_row(p["id"], fmt("attack_probability", base), "; ".join(shown) or "no single guarantor moves it")
    con.print(w)
    if result.get("scenarios"):
        _print_scenarios(result, width, idw)
    con.print()
    con.print(Text("Bottom line", style="bold") + Text(" (generated from the numbers; model estimates, not predictions)"))
    for r in bottom:
        con.print(Text("• ") + Text(r["id"], style="bold") + Text(f": {r['sentence']}"))
    if not guarantors:
        con.print("[dim]Per-guarantor credibility, cost and forces: --guarantors[/]")
        return
    for p in pk:
        shown = sorted(p["guarantors"], key=lambda r: -(r["cost_usd_per_year"] or 0))[:GUARANTORS_SHOWN]
        if not shown:
            continue
        names = Col("guarantor", [Text(r["iso3"]) + (Text(" short", style="red") if r["capacity_shortfall"] else Text("")) for r in shown],
                    justify="left")
        cols = [Col(label(c), [Text(fmt(c, r[c])) for r in shown]) for c in GUARANTOR_COLUMNS]
        cols.append(Col(label("attack_probability") + " without", [Text(fmt("attack_probability", r["attack_probability_without"])) for r in shown]))
        more = len(p["guarantors"]) - len(shown)
        note = f"… and {more} more guarantors (--json lists all)" if more > 0 else None
        for t in fitted_tables(f"{p['id']}: per guarantor", names, cols, width, caption=note):
            con.print(t)


@app.command()
@handles_input_errors
def calibrate(
    fit: bool = typer.Option(False, "--fit", help="Refit the calibrated parameters and write them to the parameter files."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
):
    """Published targets against foedus: fit targets (calibrated) and checks (kept out of the fit)."""
    from foedus.exploration.calibration import Calibration, write_fit

    cal = Calibration()
    fitted = None
    if fit:
        err = _console(stderr=True)
        with err.status("fitting the calibrated parameters to the fit targets…"):
            fitted = cal.fit(progress=lambda r, n: err.print(f"round {r} of {n} done"))
        for f in write_fit(fitted):
            err.print(f"wrote {f}")
    results = cal.results()
    if as_json:
        out = {
            "as_of": cal.data.as_of.isoformat(),
            "sample": cal.data.sample.model_dump(),
            "targets": [r.record() for r in results if r.role != "identity"],
            "identities": [r.record() for r in results if r.role == "identity"],
            "not_used": cal.data.not_used,
        }
        if fitted is not None:
            out["fitted"] = {n: {"value": v, "range": list(fitted.ranges[n]), "targets": fitted.targets_of[n]} for n, v in fitted.centres.items()}
        _dump(out)
        if any(not r.passes for r in results if r.role == "fit"):
            raise typer.Exit(1)
        return
    _print_calibration(cal, results)
    if any(not r.passes for r in results if r.role == "fit"):
        _console(stderr=True).print("[bold red]a fit target is outside its band[/]")
        raise typer.Exit(1)


def _print_calibration(cal, results) -> None:
    from rich.table import Table

    from foedus.study.formatting import number

    con = _console()
    s = cal.data.sample
    for role, title in (("fit", "Fit targets (the calibrated parameters are fitted to these)"), ("check", "Checks (kept out of the fit)"),
                        ("identity", "Identities (hold by construction: shown, not counted as checks)")):
        t = Table(title=title, title_justify="left", caption=f"foedus: mean or median over {s.futures:,} futures ({s.sampler}, seed {s.seed}); targets in data/calibration.yaml")
        for c, j in (("target", "left"), ("published", "right"), ("band", "right"), ("foedus", "right"), ("", "left"), ("source, grade", "left")):
            t.add_column(c, justify=j, overflow="fold")
        for r in results:
            if r.role != role:
                continue
            ok = "[green]pass[/]" if r.passes else "[red]fail[/]"
            t.add_row(
                f"{r.id}\n[dim]{r.title}[/]",
                number(r.value, r.unit),
                f"{number(r.band[0], r.unit)}–{number(r.band[1], r.unit)}",
                number(r.model, r.unit),
                ok,
                f"{', '.join(r.sources)}\n[dim]{r.grade}[/]",
            )
        con.print(t)
    n_fit = sum(r.role == "fit" for r in results)
    n_check = sum(r.role == "check" for r in results)
    con.print(f"fit targets in band: {sum(r.passes for r in results if r.role == 'fit')}/{n_fit}; checks passed: {sum(r.passes for r in results if r.role == 'check')}/{n_check}")
    from foedus.exploration.calibration import moved_off

    for name, p in sorted(cal.ps.parameters.items()):
        if p.calibration is not None:
            why = moved_off(p.value, p.calibration.start, p.calibration.bounds)
            con.print(f"calibrated {name} = {p.value:g} (fit from {p.calibration.start:g} in [{p.calibration.bounds[0]:g}, {p.calibration.bounds[1]:g}])"
                      + (f": [red]{why}[/]" if why else ""))


# ---------------------------------------------------------------------------
# web app and reports (foedus.interfaces.web, foedus.interfaces.report)
# ---------------------------------------------------------------------------


@app.command()
@handles_input_errors
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (localhost by default; any other address needs --allow-remote)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    scenarios: Optional[Path] = typer.Option(None, "--scenarios", help="Folder of package files on offer (default: ./scenarios if it exists)."),
    workspace: Path = typer.Option(Path("foedus-workspace"), "--workspace",
                                   help="Folder where uploaded packages are saved (in its uploads/ folder) and loaded from at start."),
    allow_remote: bool = typer.Option(False, "--allow-remote",
                                      help="Serve to the network: every request then needs the access token, and each client is rate-limited."),
    token: Optional[str] = typer.Option(None, "--token", envvar="FOEDUS_TOKEN", show_envvar=True,
                                        help="Access token for --allow-remote (default: a new one is generated and printed once). "
                                             "Prefer the environment variable: an option shows in the process list."),
    allowed_host: Optional[list[str]] = typer.Option(None, "--allowed-host",
                                                     help="Another name the server is reached under, accepted in the Host header (repeatable; '*' turns the check off, e.g. behind a proxy that checks it)."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level: critical, error, warning, info, debug."),
    workers: Optional[int] = typer.Option(None, "--workers", min=0, max=64,
                                          help="Processes for comparisons and explorations (default: one per core; 0: in the server process)."),
):
    """Serve the web app: sliders, side-by-side comparison, charts, sources (see docs/web.md)."""
    if scenarios is not None and not scenarios.is_dir():
        fail(f"--scenarios: {scenarios} is not a folder")
    if workspace.exists() and not workspace.is_dir():
        fail(f"--workspace: {workspace} is not a folder")
    from foedus.interfaces.web.security import Security, check_token, generate_token, is_loopback, is_wildcard

    extra = allowed_host or []
    for h in extra:
        if not h.strip() or any(c in h for c in "/ \t"):
            fail(f"--allowed-host: '{h}' is not a host name or address")
    loopback = is_loopback(host)
    if not loopback and not allow_remote:
        fail(f"--host {host}: not a loopback address, so the app would be reachable from the network; add --allow-remote to do so "
             "(every request then needs an access token; see docs/web.md, Security model)")
    err = _console(stderr=True)
    if token is not None and not allow_remote:
        err.print("warning: --token (or FOEDUS_TOKEN) ignored: serving on localhost needs no token (add --allow-remote to require one)",
                  markup=False)
    generated = False
    if allow_remote:
        if token is None:
            token, generated = generate_token(), True
        why = check_token(token)
        if why:
            fail(f"--token (or FOEDUS_TOKEN): {why}")
        security = Security.exposed(host, token, extra)
    else:
        security = Security.local(host, extra)

    from foedus.interfaces.web.app import default_scenarios, serve as run
    from foedus.interfaces.web.service import Workspace

    folder = scenarios if scenarios is not None else default_scenarios()
    uploads = workspace / "uploads"
    ws = Workspace(folder, uploads_dir=uploads)
    for problem in ws.problems:
        err.print(f"[yellow]warning:[/] {escape_markup(problem)}", markup=True)
    for problem in ws.upload_problems:
        err.print(f"[yellow]warning:[/] {escape_markup(problem)}", markup=True)
    shown = f"[{host}]" if ":" in host else host
    err.print(f"foedus web app on http://{shown}:{port}/  (scenarios: {folder or 'none; upload packages in the page'}; "
              f"uploads saved in {uploads}: {len(ws.uploads)} loaded)", markup=False)
    if allow_remote:
        import socket

        open_host = socket.gethostname() if is_wildcard(host) else shown
        where = "on a loopback address, guarded as if on the network" if loopback else "reachable from the network"
        err.print(f"--allow-remote: {where}; every request needs the access token, and each client is rate-limited", markup=False)
        if generated:
            err.print(f"access token (generated, shown only now): {token}", markup=False)
            err.print(f"open: http://{open_host}:{port}/?token={token}", markup=False)
        else:
            err.print(f"access token: the one you gave (--token or FOEDUS_TOKEN); open http://{open_host}:{port}/?token=<token>", markup=False)
        names = "*" if security.any_host else ", ".join(sorted(security.allowed_hosts))
        err.print(f"Host names accepted: {names}, or the IP address a request arrives on; add others with --allowed-host NAME", markup=False)
        err.print("no TLS: the token and every figure cross the network in clear; use a network you trust, or an HTTPS proxy in front",
                  markup=False)
    run(host=host, port=port, scenarios=folder, log_level=log_level, workspace=ws, security=security, workers=workers)


def escape_markup(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@app.command()
@handles_input_errors
def report(
    files: list[Path] = typer.Argument(..., help="Package files to report on."),
    output: Path = typer.Option(Path("report.html"), "-o", "--output", help="File to write: HTML, or an A4 PDF if it ends in .pdf (needs Chromium and Playwright)."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Override a parameter: NAME=VALUE (repeatable)."),
    params_file: Optional[Path] = typer.Option(None, "--params", help="YAML file of parameter overrides {name: value}."),
    horizon: Optional[float] = typer.Option(None, "--horizon", min=0.1, max=100, help="Years over which risks accumulate."),
    futures: int = typer.Option(2000, "--futures", min=0, max=100_000,
                                help="Futures sampled for the robustness section and failure boxes (0: none; at most 100,000, held in memory). "
                                     "The summary's ranges come from compare's own sample; the report names each sample where it is used."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the futures."),
    threshold: Optional[list[str]] = typer.Option(None, "--threshold", help="Robustness threshold, e.g. attack_probability<=0.1 (repeatable)."),
    title: str = typer.Option("foedus report", "--title", help="Report title (at most 200 characters)."),
    author: Optional[str] = typer.Option(None, "--author", help="Author named in the header (at most 120 characters)."),
    sensitivity_n: int = typer.Option(512, "--sensitivity-n", min=0, max=1 << 16,
                                      help="Base samples of the Sobol' sensitivity section (a power of two; 0 leaves it out)."),
    scenario: Optional[str] = typer.Option(None, "--scenario", help=SCENARIO_HELP),
    marking: Optional[str] = typer.Option(None, "--marking",
                                          help="Handling marking, e.g. OFFICIAL or 'NATO UNCLASSIFIED' (free text, one line, at most 80 "
                                               "characters): in the header and footer, and at the top and bottom of every PDF page."),
):
    """Write a self-contained HTML report (charts inline, no external resources), or an A4 PDF with -o FILE.pdf."""
    from foedus.data.loaders import load_countries, load_packages
    from foedus.domain.errors import InputError
    from foedus.interfaces.report.build import AUTHOR_MAX, MARKING_MAX, MARKING_WHAT, TITLE_MAX, build_report, check_label

    try:  # checked before anything is computed
        title = check_label("--title", title, TITLE_MAX, "the report's title")
        author = check_label("--author", author, AUTHOR_MAX, "the author's name")
        marking = check_label("--marking", marking, MARKING_MAX, MARKING_WHAT)
    except InputError as exc:
        p = exc.problems[0]
        fail(escape_markup(f"{p.field}: {p.expected}"))
    if sensitivity_n & (sensitivity_n - 1):
        fail(f"--sensitivity-n: a power of two (e.g. 256 or 512), or 0 to leave the section out; got {sensitivity_n}")
    countries = load_countries()
    ps = _parameters(set_, params_file, scenario)
    pkgs = load_packages(files, countries)
    html = build_report(pkgs, ps, countries, horizon=horizon, n_futures=futures, seed=seed, thresholds=threshold, title=title,
                        files=[str(f) for f in files], author=author, marking=marking, sensitivity_n=sensitivity_n)
    if output.suffix.lower() == ".pdf":
        from foedus.interfaces.report.pdf import html_to_pdf

        pages = html_to_pdf(html, output, title=title, marking=marking)
        _console(stderr=True).print(f"wrote {output} ({pages} A4 pages, {len(pkgs)} packages" + (f", {futures:,} futures" if futures else "") + ")")
        return
    try:
        output.write_text(html, encoding="utf-8")
    except OSError as exc:
        fail(f"{output}: cannot write ({exc.strerror})")
    _console(stderr=True).print(f"wrote {output} ({len(html.encode()) / 1024:,.0f} KB, {len(pkgs)} packages" + (f", {futures:,} futures" if futures else "") + ")")


# Commands defined in sibling modules register themselves on ``app``.
from foedus.interfaces.cli import explore_commands as _explore_commands  # noqa: E402,F401
from foedus.interfaces.cli import optimise_command as _optimise_command  # noqa: E402,F401


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
