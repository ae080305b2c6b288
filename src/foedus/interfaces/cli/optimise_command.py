"""``foedus optimise DESIGN.yaml``: the robust design search on the command
line. Registered on the main Typer app by :mod:`foedus.interfaces.cli.main`.
It renders :class:`foedus.study.design_search.DesignSearch` (the front
table, the files written, the stored run); it computes nothing itself.

Ctrl-C (or SIGTERM) stops the search at the end of the generation under way
and keeps the front found so far: it is printed, written and stored as a
finished search would be, marked as stopped."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from foedus.interfaces.cli.common import _console, _dump, _parameters, app, handles_input_errors
from foedus.interfaces.cli.explore_commands import DB_HELP, DEFAULT_DB, _on_sigterm, _tell


@app.command()
@handles_input_errors
def optimise(
    design: Path = typer.Argument(..., help="A design file (docs/design.md): the base package and what may vary."),
    futures: int = typer.Option(1000, "--futures", "-n", min=0, max=100_000, help="Futures every candidate is evaluated on (the same for all)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the futures and of the search (0 is a seed): the same seed gives the same front, bit for bit."),
    population: int = typer.Option(100, "--population", min=4, max=2000, help="Candidates per generation."),
    generations: int = typer.Option(50, "--generations", min=1, max=10_000, help="Generations."),
    objective: Optional[list[str]] = typer.Option(None, "--objective", help="METRIC[:STAT][ in SCENARIO], repeatable; STAT central|mean|pNN; 'meets' = share of futures meeting the thresholds. Default: the design file's, else total_cost_usd_per_year and attack_probability:p80."),
    constraint: Optional[list[str]] = typer.Option(None, "--constraint", help="'TERM <= VALUE' or 'TERM >= VALUE' (10% = 0.1), or no-shortfall; repeatable. Default: the design file's."),
    threshold: Optional[list[str]] = typer.Option(None, "--threshold", "-t", help="What 'meets' counts, METRIC<=X (as explore). Default: the design file's, else explore's."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Fix a parameter: NAME=VALUE."),
    horizon: Optional[float] = typer.Option(None, "--horizon", min=0.1, max=100),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Directory for the designs found, one package file each."),
    max_designs: int = typer.Option(20, "--max-designs", min=1, max=500, help="Designs written and shown at most (spread along the front)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, max=256, help="Evaluate candidates on a local Dask cluster of N worker processes (the front is the same)."),
    db: Path = typer.Option(DEFAULT_DB, "--db", help=DB_HELP),
    no_store: bool = typer.Option(False, "--no-store", help="Do not keep the front in the run store."),
    as_json: bool = typer.Option(False, "--json"),
    report: Optional[Path] = typer.Option(None, "--report", help="Also write the report of the base and the designs found, with the front: HTML, or an A4 PDF if FILE ends in .pdf."),
):
    """Search a design space for the packages no other beats on every objective, among those meeting every constraint."""
    import signal
    import threading

    from foedus.data.loaders import load_countries
    from foedus.study.design_search import DesignSearch

    countries = load_countries()
    ps = _parameters(set_)
    search = DesignSearch(design, ps, countries, futures=futures, seed=seed, population=population, generations=generations,
                          objectives=objective or None, constraints=constraint, thresholds=threshold or None, horizon=horizon,
                          max_designs=max_designs, workers=workers)
    search.loaded, search.goals, search.variables, search.evaluator  # noqa: B018 (input errors before the search starts)
    if report is not None:
        from foedus.interfaces.report.design_search import check_output, write_design_search_report

        check_output(report)
    previous = None
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        with _progress(generations) as prog:
            task = prog.add_task("generations", total=generations)
            search.progress = lambda g, n: prog.update(task, completed=g + 1)
            result = search.result
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    rec = search.record
    files: list[Path] = []
    if out is not None and search.members:
        try:
            files = search.write(out)
        except OSError as exc:
            from foedus.interfaces.cli.common import fail

            fail(f"{out}: cannot write ({exc.strerror})")
    run_id = None
    if not no_store and search.members:
        from foedus.storage.store import RunStore

        with RunStore(db, on_wait=_tell) as store:
            run_id = search.store(store, files)
    if report is not None:
        _console(stderr=True).print(write_design_search_report(search, report, files), markup=False)
    rec = {**rec, "run_id": run_id, "db": str(db) if run_id else None, "files": [str(f) for f in files]}
    if as_json:
        _dump(rec)
        return
    _print_front(rec, search)
    if result.stopped:
        _console(stderr=True).print(f"stopped after {result.generations} of {generations} generations: the front so far is shown", markup=False)


def _progress(total: int):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn("searching"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=_console(stderr=True), transient=True)


def _print_front(rec: dict, search) -> None:
    from rich.table import Table

    from foedus.study.design_search import show_term
    from foedus.study.formatting import fmt

    con = _console()
    objs, cons, _ = search.goals
    s = rec["search"]
    con.print(f"[bold]{rec['design']['title']}[/]" + (f"\n{' '.join(rec['design']['question'].split())}" if rec["design"]["question"] else ""))
    con.print(f"{s['candidates']:,} designs evaluated on the same {rec['settings']['futures']:,} futures (seed {rec['settings']['seed']}), "
              f"{s['generations_run']} generations of {rec['settings']['population']}; {s['feasible']:,} meet every constraint; "
              f"front: {s['front_size']} designs" + (f", {s['shown']} shown" if s["shown"] < s["front_size"] else "") + f"; {s['seconds']:.1f} s.")
    if cons:
        con.print("Constraints: " + "; ".join(str(c) for c in cons))
    if not rec["front"]:
        con.print("[bold]No design meets every constraint.[/]")
        if rec.get("closest"):
            c = rec["closest"]
            con.print("Closest: " + "; ".join(f"{k} = {show_term(next(x.term for x in cons if str(x) == k), v['value'])}" for k, v in c["constraints"].items()))
        return
    t = Table(title="Front (no design below is beaten on every objective)", title_justify="left")
    t.add_column("design", no_wrap=True)
    for o in objs:
        t.add_column(("max " if o.sense > 0 else "min ") + o.term.label, justify="right")
    # approval beside every design, unless it is an objective already
    approval = [] if any(str(o) == "approval_probability:central" for o in objs) else ["approval_probability"]
    for m in approval:
        t.add_column("approval", justify="right")
    t.add_column("choices (where they differ from the base)")
    b = rec["base"]
    t.add_row(f"base: {b['id']}" + ("" if b["feasible"] else " ✗"), *[show_term(o.term, b["objectives"][str(o)]) for o in objs],
              *[fmt(m, b["summary"][m]) for m in approval], "as written", style="dim")
    for m in rec["front"]:
        t.add_row(m["id"], *[show_term(o.term, m["objectives"][str(o)]) for o in objs], *[fmt(k, m["summary"][k]) for k in approval],
                  m["described"])
    con.print(t)
    if not b["feasible"]:
        con.print("✗ the base does not meet every constraint.")
    if rec.get("files"):
        con.print(f"wrote {len(rec['files'])} package files to {Path(rec['files'][0]).parent}")
    if rec.get("run_id"):
        con.print(f"stored as run {rec['run_id']} in {rec['db']}")
    con.print(f"reproduce: {rec['reproduce']}")
