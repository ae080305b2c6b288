"""CLI commands of the deep-uncertainty workflow: ``explore``, ``discover``,
``sensitivity`` and ``runs``. Registered on the main Typer app by
:mod:`foedus.interfaces.cli.main`; imports of the heavy machinery happen
inside the commands.

Stopping: these commands treat SIGTERM like Ctrl-C (SIGINT). Its handler
raises :class:`Terminated`, a KeyboardInterrupt, in the main thread, so the
same clean-up runs: a Dask cluster is shut down, the unfinished run's
directory is removed (the store holds both signals back while it removes
it, or while a commit makes a run visible), and the command exits with one
line on stderr and status 143 (130 for Ctrl-C)."""

from __future__ import annotations

import functools
import signal
import sys
import threading
from pathlib import Path
from typing import Optional

import typer

from foedus.interfaces.cli.common import EXIT_INPUT, SCENARIO_HELP, _console, _dump, _parameters, app, handles_input_errors, interrupt_behind, runs_app
from foedus.storage.store import DEFAULT_PRECISION, PRECISIONS  # constants only: the store module imports nothing heavy

DB_HELP = "Run store (DuckDB file)."
DEFAULT_DB = Path("foedus-runs.duckdb")

#: A run whose files would take more than this many bytes needs ``--yes``
#: (or a ``--store-metrics`` subset that brings it under). 1 GB: the twelve
#: seed packages store about 0.58 GB per million futures (float32; 1.24 GB
#: at --precision float64), so every run up to about 1.7 million futures
#: (800,000 at float64; what the scripts, the tests and the documented
#: examples do) goes through unasked, while one that takes a noticeable share
#: of a laptop's disk (the 2 M-future run of issue 10 wrote 2.4 GB without a
#: word) is stated before it starts.
CONFIRM_STORE_BYTES = 1_000_000_000

EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt so
    that the same clean-up runs."""


def _on_sigterm(signum, frame) -> None:
    # once: a second SIGTERM must not cut the clean-up short (SIGKILL still can)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated()


def stops_cleanly(fn):
    """Run a command with SIGTERM handled like Ctrl-C: clean-up runs, one
    line on stderr (with the notes the command added to the exception),
    exit status 143 for SIGTERM and 130 for Ctrl-C."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        previous = None
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            previous = signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            return fn(*args, **kwargs)
        except BaseException as exc:
            stop = interrupt_behind(exc)
            if stop is None:
                raise
            term = isinstance(stop, Terminated)
            notes = "; ".join(getattr(stop, "__notes__", ()))
            _console(stderr=True).print(("terminated (SIGTERM)" if term else "interrupted") + (f": {notes}" if notes else ""), markup=False)
            raise typer.Exit(EXIT_TERMINATED if term else EXIT_INTERRUPTED) from None
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper


def _tell(message: str) -> None:
    """Waiting for the store: say so on stderr."""
    _console(stderr=True).print(message, markup=False)


def _thresholds(items, metrics):
    from foedus.exploration.robustness import DEFAULT_THRESHOLDS, parse_threshold

    return [parse_threshold(t, metrics) for t in (items or DEFAULT_THRESHOLDS)]


def _file_ranges_and_fix(path: Path) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """``range: {NAME: [LOW, HIGH]}`` and ``fix: [NAME, ...]`` of a ``--params``
    file (its ``set`` part is read by ``_parameters``)."""
    from foedus.data.yamlio import load
    from foedus.domain.errors import InputError, Problem

    data, lines = load(path)
    if not isinstance(data, dict):
        return {}, []
    raw = data.get("range") or {}
    if not isinstance(raw, dict):
        raise InputError(str(path), [Problem("range", "a mapping NAME: [LOW, HIGH]", lines.get(("range",)))])
    ranges = {}
    for k, v in raw.items():
        if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)):
            raise InputError(str(path), [Problem(f"range.{k}", f"[LOW, HIGH], two numbers, got {v!r}", lines.get(("range", k)))])
        ranges[str(k)] = (float(v[0]), float(v[1]))
    fix = data.get("fix") or []
    if isinstance(fix, str):
        fix = [fix]
    if not isinstance(fix, list) or not all(isinstance(x, str) for x in fix):
        raise InputError(str(path), [Problem("fix", "a list of parameter names", lines.get(("fix",)))])
    return ranges, fix


def _progress(total: int, label: str):
    """A Rich progress bar on stderr (hidden when not a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=_console(stderr=True), transient=True, disable=total < 50_000,
    )


def _stored_metrics(items: list[str] | None, thresholds) -> list[str] | None:
    """``--store-metrics`` (repeatable, comma-separated) checked against the
    metric catalogue, plus the threshold metrics (discover needs them); None
    keeps every stored metric."""
    if not items:
        return None
    import difflib

    from foedus.domain.errors import InputError, Problem
    from foedus.exploration.explore import STORED_METRICS

    names = [n.strip() for item in items for n in item.split(",") if n.strip()]
    problems = []
    for n in names:
        if n not in STORED_METRICS:
            near = difflib.get_close_matches(n, STORED_METRICS, n=3)
            problems.append(Problem(n, "a stored metric" + (f"; did you mean {', '.join(near)}?" if near else f" (one of {', '.join(STORED_METRICS)})")))
    if problems or not names:
        raise InputError("--store-metrics", problems or [Problem("(empty)", f"metric names, e.g. attack_probability (one of {', '.join(STORED_METRICS)})")])
    return [m for m in STORED_METRICS if m in set(names) | {t.metric for t in thresholds}]


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


#: Metrics whose percentiles explore and runs show print (the robustness table's columns).
SHOWN_PERCENTILES = ["attack_probability", "total_cost_usd_per_year", "approval_probability", "escalation_risk"]


def _check_size(spec, db: Path, yes: bool, thresholds, precision: str) -> None:
    """Refuse (or, on a terminal, ask about) a run whose files would exceed
    CONFIRM_STORE_BYTES, unless ``--yes``."""
    from foedus.exploration.explore import stored_size, stored_size_bound

    if yes or stored_size_bound(spec, precision) <= CONFIRM_STORE_BYTES:
        return
    estimate, cost = stored_size(spec, precision=precision)
    if estimate <= CONFIRM_STORE_BYTES:
        return
    from foedus.domain.errors import InputError, Problem

    P, M, d = spec.levers.n_packages, len(spec.metrics), spec.design.d
    runs_dir = db.with_name(db.name + ".runs")
    what = (f"about {_gb(estimate)} in {runs_dir}/ ({spec.n:,} futures x {P} packages x {M} metrics, "
            f"and {d} inputs per future, at the bytes per value measured on a sample)")
    minimal = [m for m in spec.metrics if m in {t.metric for t in thresholds}]
    if len(minimal) < M:
        smaller = cost.estimate(spec.n, P, spec.n_blocks, minimal)
        fewer = f"store fewer metrics with --store-metrics (the threshold metrics alone, {', '.join(minimal)}: about {_gb(smaller)})"
    else:
        fewer = "store fewer metrics with --store-metrics (this run already stores only its threshold metrics) or explore fewer futures"
    if sys.stdin.isatty() and sys.stderr.isatty():
        if typer.confirm(f"This run would store {what}. Store it?", default=False, err=True):
            return
    raise InputError("explore", [Problem(
        "stored size",
        f"this run would store {what}, more than the {_gb(CONFIRM_STORE_BYTES)} stored without confirmation: "
        f"add --yes to store it, or {fewer}",
    )])


@app.command()
@handles_input_errors
@stops_cleanly
def explore(
    files: list[Path] = typer.Argument(..., help="Package files."),
    futures: int = typer.Option(10_000, "--futures", "-n", min=1, max=2_000_000_000, help="Number of futures to sample."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed (0 is a seed): the same seed reproduces the run bit for bit."),
    sampler: str = typer.Option("lhs", "--sampler", help="lhs | sobol | mc"),
    threshold: Optional[list[str]] = typer.Option(None, "--threshold", "-t", help="METRIC<=X or METRIC>=X (repeatable); default attack_probability<=0.1, max_cost_pct_gdp<=0.01, approval_probability>=0.25."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Fix a parameter: NAME=VALUE."),
    range_: Optional[list[str]] = typer.Option(None, "--range", help="Narrow or widen an uncertain range: NAME=LOW:HIGH."),
    fix: Optional[list[str]] = typer.Option(None, "--fix", help="Hold an uncertain parameter at its central value."),
    params_file: Optional[Path] = typer.Option(None, "--params", help="YAML file of parameter overrides."),
    horizon: Optional[float] = typer.Option(None, "--horizon", min=0.1, max=100),
    db: Path = typer.Option(DEFAULT_DB, "--db", help=DB_HELP),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://host:8786)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, max=256, help="Start a local Dask cluster with N worker processes."),
    write_on_workers: Optional[bool] = typer.Option(
        None, "--write-on-workers/--write-on-client",
        help="On Dask: each worker writes the blocks it computes into the store's directory (it must see it at the same path: a local cluster, "
             "or a file system the machines share), and only a summary of each block comes back; or the workers send every result to this "
             "process, which writes them. Default: on workers with --workers, on this process with --scheduler."),
    block: int = typer.Option(65536, "--block", min=256, max=1_048_576, help="Futures per block (part of the design: changes the LHS)."),
    store_metrics: Optional[list[str]] = typer.Option(None, "--store-metrics", help="Store only these metrics (comma-separated or repeated; the threshold metrics are always stored). Default: all 13."),
    yes: bool = typer.Option(False, "--yes", "-y", help=f"Store the run even if its files would exceed {CONFIRM_STORE_BYTES / 1e9:g} GB (the size is estimated before the run)."),
    scenario: Optional[str] = typer.Option(None, "--scenario", help=SCENARIO_HELP),
    precision: str = typer.Option(DEFAULT_PRECISION, "--precision", help=f"Stored float type of inputs and metrics: {' or '.join(PRECISIONS)}. float32 keeps 7 significant digits in half the bytes (docs/exploration.md section 5 says why that suffices); float64 keeps the evaluated numbers exactly. runs export always writes float64 columns: a float32 run's values widened, a float64 run's exactly."),
    yearly: Optional[list[str]] = typer.Option(None, "--yearly", help="Also store yearly metrics of the time axis, METRIC@YEAR (comma-separated or repeated), e.g. attack_probability@2029; thresholds may use them."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Sample futures, evaluate every package in each, store the run and print robustness."""
    from foedus import __version__
    from foedus.data.loaders import load_countries, load_packages, package_hash
    from foedus.data.parameter_set import parse_ranges
    from foedus.data.provenance import run_provenance
    from foedus.exploration.explore import STORED_METRICS, make_spec, with_metrics, with_yearly
    from foedus.exploration.futures import SAMPLERS

    if sampler not in SAMPLERS:
        from foedus.domain.errors import InputError, Problem

        raise InputError("--sampler", [Problem("sampler", f"one of {', '.join(SAMPLERS)}, got '{sampler}'")])
    if precision not in PRECISIONS:
        from foedus.domain.errors import InputError, Problem

        raise InputError("--precision", [Problem("precision", f"one of {', '.join(PRECISIONS)}, got '{precision}'")])
    countries = load_countries()
    ps = _parameters(set_, params_file, scenario)
    if params_file is not None:  # its `range` and `fix` keys; --range and --fix come after
        file_ranges, file_fix = _file_ranges_and_fix(params_file)
        if file_ranges:
            ps = ps.with_ranges(file_ranges, source=str(params_file))
        if file_fix:
            ps = ps.with_fixed(file_fix, source=str(params_file))
    if range_:
        ps = ps.with_ranges(parse_ranges(range_))
    if fix:
        ps = ps.with_fixed(fix)
    pkgs = load_packages(files, countries)
    years = [n.strip() for item in (yearly or []) for n in item.split(",") if n.strip()]
    years += [t.split("<")[0].split(">")[0].strip() for t in (threshold or []) if "@" in t.split("<")[0].split(">")[0]]
    ths = _thresholds(threshold, STORED_METRICS + tuple(dict.fromkeys(years)))
    stored = _stored_metrics(store_metrics, [t for t in ths if "@" not in t.metric])
    spec = make_spec(pkgs, ps, countries, futures, seed, sampler, horizon, block, time_axis=bool(years))
    if years:
        try:
            spec = with_yearly(spec, years, pkgs, countries)
        except ValueError as exc:
            from foedus.domain.errors import InputError, Problem

            raise InputError("--yearly", [Problem(", ".join(years), str(exc))]) from None
    if stored is not None:
        spec = with_metrics(spec, stored)
    _check_size(spec, db, yes, ths, precision)
    meta = {
        "packages": [{"id": p.id, "sha256": package_hash(f), "title": p.title} for p, f in zip(pkgs, files)],
        "overrides": dict(ps.overrides),
        "seed": seed,
        "sampler": sampler,
        "n_futures": futures,
        "chunk_size": block,
        "horizon_years": spec.horizon,
        "thresholds": [str(t) for t in ths],
        "extra": {"foedus_version": __version__, "design": spec.design.to_json(), "ranges": {k: [r.low, r.high] for k, r in ps.ranges.items()}, "fixed": sorted(ps.fixed),
                  "provenance": run_provenance(ps, {p.id: f for p, f in zip(pkgs, files)})},
    }
    if write_on_workers is not None and scheduler is None and not workers:
        from foedus.domain.errors import InputError, Problem

        flag = "--write-on-workers" if write_on_workers else "--write-on-client"
        raise InputError(flag, [Problem("cluster", "a Dask cluster to write on (--workers N or --scheduler ADDRESS)")])
    out = _explore_and_store(spec, [p.id for p in pkgs], ths, meta, db, scheduler, workers, precision, write_on_workers)
    if as_json:
        _dump(out)
        return
    _print_robustness(out)


def _explore_and_store(spec, ids: list[str], ths, meta: dict, db: Path, scheduler: str | None, workers: int | None, precision: str,
                       write_on_workers: bool | None = None) -> dict:
    """Run the exploration ``spec`` into a new run of the store ``db``,
    stored at ``precision`` (with a progress bar), and return the explore
    record (``--json``); ``write_on_workers``: as
    :func:`~foedus.exploration.explore.run_exploration`."""
    from foedus.exploration.explore import run_exploration, store_percentiles
    from foedus.storage.store import RunStore

    futures = spec.n
    writer = None
    try:
        with RunStore(db, on_wait=_tell) as store:
            with store.begin_run(meta, list(spec.design.names), list(spec.metrics), ids, precision) as writer:
                with _progress(futures, "exploring") as prog:
                    task = prog.add_task("futures", total=futures)
                    res = run_exploration(spec, ids, ths, writer=writer, scheduler=scheduler, workers=workers, write_on_workers=write_on_workers,
                                          progress=lambda m: prog.advance(task, m))
                run_id = writer.commit({"robustness": res.robustness, "seconds": res.seconds})
            stored_bytes = sum(f.stat().st_size for f in store.run_files(run_id))
            pct = store_percentiles(store, run_id, SHOWN_PERCENTILES)
            exact = store.quantiles_exact(run_id)
    except BaseException as exc:
        stop = interrupt_behind(exc)
        if stop is None:
            raise
        if writer is not None and writer.state == "committed":
            stop.add_note(f"run {writer.run_id} was stored complete in {db} just before")
        else:
            stop.add_note(f"the unfinished run was discarded; {db} holds its complete runs only, as before")
        raise stop from None
    for rec in res.robustness:
        rec["percentiles"] = pct.get(rec["id"], {})
    rate = futures * len(ids) / max(res.seconds, 1e-9)
    return {"run_id": run_id, "db": str(db), "n_futures": futures, "seed": spec.design.seed, "sampler": spec.design.sampler, "thresholds": [str(t) for t in ths], "stored_metrics": list(spec.metrics), "precision": precision, "stored_bytes": stored_bytes, "seconds": res.seconds, "package_futures_per_second": rate, "percentiles_exact": exact, "robustness": res.robustness}


def short_threshold(text: str) -> str:
    """Compact table label for a threshold: ``attack≤10%``."""
    from foedus.exploration.robustness import parse_threshold
    from foedus.study.formatting import kind

    t = parse_threshold(text)
    name = t.metric.replace("max_cost_pct_gdp", "cost").replace("_probability", "").replace("_usd_per_year", "")
    op = {"<=": "≤", ">=": "≥"}.get(t.op, t.op)
    v = f"{100 * t.value:g}%" if kind(t.metric) in ("prob", "pct_gdp") else f"{t.value:g}"
    return f"{name}{op}{v}"


def _print_robustness(out: dict) -> None:
    from rich.table import Table

    from foedus.study.formatting import fmt

    con = _console()
    t = Table(title=f"Robustness over {out['n_futures']:,} futures (run {out['run_id']}, seed {out['seed']}, {out['sampler']})",
              caption="Share of futures meeting every threshold; percentiles p5 / p50 / p95"
              + ("" if out.get("percentiles_exact", True) else " (t-digest estimates: a run this large has too many rows for exact ones in bounded memory)")
              + ". Model estimates, not predictions.")
    t.add_column("package")
    t.add_column("meets all", justify="right")
    for th in out["thresholds"]:
        t.add_column(short_threshold(th), justify="right")
    t.add_column("attack p5/p50/p95", justify="right")
    t.add_column("cost p50", justify="right")
    t.add_column("mean regret (attack)", justify="right")
    for r in sorted(out["robustness"], key=lambda r: -(r["satisficing"] or 0)):
        pa = r["percentiles"].get("attack_probability", {})
        pc = r["percentiles"].get("total_cost_usd_per_year", {})
        reg = r["regret"].get("attack_probability", {}).get("mean")
        t.add_row(
            r["id"], fmt("attack_probability", r["satisficing"]),
            *[fmt("attack_probability", r["per_threshold"][th]) for th in out["thresholds"]],
            " / ".join(fmt("attack_probability", pa.get(k)) for k in ("p5", "p50", "p95")) if pa else "–",
            fmt("total_cost_usd_per_year", pc.get("p50")) if pc else "–",
            fmt("attack_probability", reg) if reg is not None else "–",
        )
    con.print(t)
    con.print(f"Stored as run [bold]{out['run_id']}[/] in {out['db']} ({out['seconds']:.1f} s, {out['package_futures_per_second']:,.0f} package-futures/s). "
              f"Next: foedus discover {out['run_id']} --package ID")


@app.command()
@handles_input_errors
@stops_cleanly
def discover(
    run: str = typer.Argument(..., help="Run id (foedus runs list)."),
    package: str = typer.Option(..., "--package", "-p", help="Package id in the run."),
    threshold: Optional[list[str]] = typer.Option(None, "--threshold", "-t", help="Failure thresholds (default: the run's)."),
    density: float = typer.Option(0.8, "--density", min=0.05, max=1.0, help="Minimum share of failures inside the box."),
    db: Path = typer.Option(DEFAULT_DB, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json"),
):
    """PRIM: the box of uncertain inputs in which a package fails."""
    from foedus.domain.errors import InputError, Problem
    from foedus.exploration.discover import stored_failure_box
    from foedus.exploration.explore import STORED_METRICS
    from foedus.storage.store import RunStore

    with RunStore(db, read_only=True, on_wait=_tell) as store:
        meta = store.get_run(run)
        ids = [p["id"] for p in meta["packages"]]
        if package not in ids:
            raise InputError(str(db), [Problem("--package", f"one of the run's packages ({', '.join(ids)}), got '{package}'")])
        kept = meta.get("metric_names") or []
        ths = _thresholds(threshold or meta.get("thresholds"), STORED_METRICS + tuple(m for m in kept if "@" in m))
        missing = [t.metric for t in ths if t.metric not in kept]
        if missing:  # a run explored with --store-metrics
            raise InputError("--threshold", [Problem(m, f"not stored in run {run} (it stores {', '.join(kept)})") for m in dict.fromkeys(missing)])
        box, n_fail, n = stored_failure_box(store, run, package, ths, density=density)
    out = {"run_id": run, "package": package, "thresholds": [str(t) for t in ths], "n_futures": n, "failures": n_fail, "failure_share": n_fail / max(n, 1)}
    if box is not None:
        b = box.box
        out.update({"box": {"description": b.describe(), "coverage": b.coverage, "density": b.density, "mass": b.mass, "restricted": list(b.restricted), "limits": {k: list(v) for k, v in b.limits.items() if k in b.restricted}}, "trajectory": [{"coverage": r["coverage"], "density": r["density"], "mass": r["mass"], "restricted": r["restricted"]} for r in box.to_records()]})
    if as_json:
        _dump(out)
        return
    con = _console()
    con.print(f"[bold]{package}[/] misses a threshold ({', '.join(out['thresholds'])}) in {out['failure_share']:.1%} of {n:,} futures.")
    if box is None:
        con.print("It never fails: there is no box to find.")
        return
    b = out["box"]
    if not b["restricted"]:
        con.print(f"It fails in {b['density']:.1%} of all futures, above the density asked for ({density:.0%}): no region of inputs singles out its failures. Try a stricter --density or other thresholds.")
        return
    con.print(f"It fails when [bold]{b['description']}[/]")
    con.print(f"  coverage {b['coverage']:.1%} of all failures, density {b['density']:.1%} of futures in the box fail, box holds {b['mass']:.1%} of futures.")
    from rich.table import Table

    t = Table(title="peeling trajectory (coverage / density trade-off)")
    for c in ("step", "coverage", "density", "mass", "restricted inputs"):
        t.add_column(c)
    traj = out["trajectory"]
    step = max(1, len(traj) // 12)
    for i in list(range(0, len(traj), step)) + ([len(traj) - 1] if (len(traj) - 1) % step else []):
        r = traj[i]
        t.add_row(str(i), f"{r['coverage']:.1%}", f"{r['density']:.1%}", f"{r['mass']:.1%}", ", ".join(r["restricted"]))
    con.print(t)


@app.command()
@handles_input_errors
@stops_cleanly
def sensitivity(
    package: Path = typer.Argument(..., help="A package file."),
    metric: list[str] = typer.Option(["attack_probability"], "--metric", "-m", help="Metric(s) to analyse (repeatable); METRIC@YEAR for one year of the time axis, e.g. attack_probability@2029."),
    n: int = typer.Option(1024, "--n", min=2, max=1 << 20, help="Base sample size (power of two); runs n*(d+2) evaluations."),
    seed: int = typer.Option(0, "--seed", min=0),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Fix a parameter: NAME=VALUE."),
    horizon: Optional[float] = typer.Option(None, "--horizon", min=0.1, max=100),
    top: int = typer.Option(15, "--top", min=1, help="Rows to show."),
    scenario: Optional[str] = typer.Option(None, "--scenario", help=SCENARIO_HELP + " Within a scenario the leading drivers are the constants, not will."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Sobol' first- and total-order indices of a metric to every uncertain input."""
    from foedus.data.loaders import load_countries, load_package
    from foedus.domain.errors import InputError, Problem
    from foedus.exploration.assess import PACKAGE_METRICS
    from foedus.study.study import sensitivity as sobol_of

    for m in metric:
        if "@" in m:
            from foedus.exploration.years import check_yearly

            v = _parameters(set_, scenario=scenario).values()
            try:
                check_yearly(m, int(v["assessment.start_year"]), horizon or v["assessment.horizon_years"])
            except ValueError as exc:
                raise InputError("--metric", [Problem(m, str(exc))]) from None
        elif m not in PACKAGE_METRICS:
            raise InputError("--metric", [Problem(m, f"one of {', '.join(PACKAGE_METRICS)}, or one year of the time axis, METRIC@YEAR (attack_probability@2029)")])
    if n & (n - 1):
        raise InputError("--n", [Problem("n", f"a power of two (e.g. {1 << (n.bit_length() - 1)} or {1 << n.bit_length()}), got {n}")])
    countries = load_countries()
    ps = _parameters(set_, scenario=scenario)
    pkg = load_package(package, countries)
    res = sobol_of(pkg, ps, countries, list(dict.fromkeys(metric)), n, seed, horizon)  # what the web app's sensitivity view shows
    recs = res["indices"]
    if as_json:
        _dump(res)
        return
    from rich.table import Table

    con = _console()
    for m in metric:
        rows = sorted((r for r in recs if r["output"] == m), key=lambda r: -(r["ST"] if r["ST"] == r["ST"] else -1))
        t = Table(title=f"Sobol' indices of {m} for {pkg.id} (n={n}, {res['evaluations']:,} evaluations)", caption="S1: share of variance from the input alone; ST: including interactions. ± 95% bootstrap half-width. basis: evidence (the source gives the number), calibrated (fitted to published targets) or judgement.")
        for c in ("input", "basis", "S1", "ST"):
            t.add_column(c, justify="right" if c in ("S1", "ST") else "left")
        for r in rows[:top]:
            t.add_row(r["input"], r["basis"] or "–", f"{r['S1']:.3f} ± {r['S1_conf']:.3f}", f"{r['ST']:.3f} ± {r['ST_conf']:.3f}")
        con.print(t)


@runs_app.command("list")
@handles_input_errors
@stops_cleanly
def runs_list(db: Path = typer.Option(DEFAULT_DB, "--db", help=DB_HELP), as_json: bool = typer.Option(False, "--json")):
    """Stored runs, newest last."""
    from foedus.storage.store import RunStore

    if not db.exists():
        runs = []
    else:
        with RunStore(db, read_only=True, on_wait=_tell) as store:
            runs = store.list_runs()
    if as_json:
        _dump({"runs": runs})
        return
    from rich.table import Table

    t = Table(title=f"runs in {db}")
    for c in ("run", "created", "packages", "futures", "seed", "sampler", "thresholds"):
        t.add_column(c)
    for r in runs:
        t.add_row(r["run_id"], str(r.get("created_at", ""))[:19], ", ".join(p["id"] for p in r.get("packages", [])), f"{r.get('n_futures', 0):,}", str(r.get("seed")), str(r.get("sampler")), ", ".join(r.get("thresholds") or []))
    _console().print(t)


@runs_app.command("show")
@handles_input_errors
@stops_cleanly
def runs_show(run: str, db: Path = typer.Option(DEFAULT_DB, "--db", help=DB_HELP), as_json: bool = typer.Option(False, "--json")):
    """One run's metadata and robustness summary."""
    from foedus.data.provenance import changed_since
    from foedus.exploration.explore import store_percentiles
    from foedus.storage.store import RunStore

    with RunStore(db, read_only=True, on_wait=_tell) as store:
        meta = store.get_run(run)
        meta["results_sha256"] = store.results_hash(run)
        pct = store_percentiles(store, run, SHOWN_PERCENTILES)
        meta["percentiles_exact"] = store.quantiles_exact(run)
    # the data files changed since the run (None: it recorded none)
    meta["data_changed"] = changed_since((meta.get("extra") or {}).get("provenance"))
    summary = meta.get("summary") or {}
    rob = summary.get("robustness", [])
    for rec in rob:
        rec["percentiles"] = pct.get(rec["id"], {})
    if as_json:
        _dump(meta)
        return
    _print_robustness({"run_id": run, "db": str(db), "n_futures": meta["n_futures"], "seed": meta["seed"], "sampler": meta["sampler"], "thresholds": meta.get("thresholds") or [], "seconds": summary.get("seconds", 0.0), "package_futures_per_second": meta["n_futures"] * len(meta["packages"]) / max(summary.get("seconds", 1e-9), 1e-9), "percentiles_exact": meta["percentiles_exact"], "robustness": rob})
    changed = meta["data_changed"]
    if changed is None:
        _console().print("data: not recorded (a run made before runs recorded their parameter values and data digests)", markup=False)
    elif changed:
        _console().print(f"stale: changed since this run: {', '.join(changed)} (its parameter values are in runs show --json, extra.provenance)", markup=False)
    else:
        _console().print("data: unchanged since this run (parameters, countries, calibration, will scenarios)", markup=False)
    _console().print(f"stored as {meta['precision']} (runs export writes float64: {'the stored values widened' if meta['precision'] == 'float32' else 'exactly as evaluated'})", markup=False)
    _console().print(f"results sha256 {meta['results_sha256']}")  # last: docs/exploration.md reads it with tail -1


@runs_app.command("reproduce")
@handles_input_errors
@stops_cleanly
def runs_reproduce(
    run: str,
    db: Path = typer.Option(DEFAULT_DB, "--db", help=DB_HELP),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://host:8786)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, max=256, help="Start a local Dask cluster with N worker processes."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Rebuild a stored exploration from the parameter values, package texts and
    design it recorded, store it as a new run and say whether its results are
    identical (exit 1 if not)."""
    from foedus import __version__
    from foedus.exploration.reproduce import rebuilt_spec
    from foedus.storage.store import RunStore

    with RunStore(db, read_only=True, on_wait=_tell) as store:
        meta = store.get_run(run)
        original_hash = store.results_hash(run)
    rebuilt = rebuilt_spec(meta)
    keep = ("packages", "overrides", "seed", "sampler", "n_futures", "chunk_size", "horizon_years", "thresholds")
    new_meta = {k: meta[k] for k in keep if k in meta}
    new_meta["extra"] = {**(meta.get("extra") or {}), "foedus_version": __version__, "reproduces": {"run_id": meta["run_id"], "foedus_version": meta.get("foedus_version")}}
    # at the original's precision: the same numbers, rounded the same way
    out = _explore_and_store(rebuilt.spec, rebuilt.package_ids, rebuilt.thresholds, new_meta, db, scheduler, workers, meta["precision"])
    with RunStore(db, read_only=True, on_wait=_tell) as store:
        new_hash = store.results_hash(out["run_id"])
    out["reproduces"] = meta["run_id"]
    out["identical"] = new_hash == original_hash
    out["results_sha256"] = {"original": original_hash, "rebuilt": new_hash}
    if as_json:
        _dump(out)
    else:
        con = _console()
        verdict = "identical results" if out["identical"] else "DIFFERENT results"
        con.print(f"run {meta['run_id']} rebuilt as run {out['run_id']} from its recorded parameter values, packages and design: {verdict}", markup=False)
        con.print(f"results sha256 {original_hash} (original)\nresults sha256 {new_hash} (rebuilt)", markup=False)
        if not out["identical"]:
            con.print(f"the original was made by foedus {meta.get('foedus_version')}, this is {__version__}; another version or machine may round differently", markup=False)
    if not out["identical"]:
        raise typer.Exit(1)


@runs_app.command("export")
@handles_input_errors
@stops_cleanly
def runs_export(
    run: str,
    out: Path = typer.Option(Path("."), "--out", "-o", help="Directory to write into."),
    parquet: bool = typer.Option(False, "--parquet"),
    csv: bool = typer.Option(False, "--csv"),
    db: Path = typer.Option(DEFAULT_DB, "--db", help=DB_HELP),
):
    """Write a run's futures, results and metadata as Parquet or CSV. Inputs and metrics are float64 columns: a float64 run's numbers exactly as evaluated, a float32 run's stored values widened (no further rounding)."""
    from foedus.domain.errors import InputError, Problem
    from foedus.storage.store import RunStore

    if parquet == csv:
        raise InputError("runs export", [Problem("format", "exactly one of --parquet or --csv")])
    with RunStore(db, read_only=True, on_wait=_tell) as store:
        files = store.export(run, out, "parquet" if parquet else "csv")
    for f in files:
        _console().print(str(f))


@runs_app.command("delete")
@handles_input_errors
@stops_cleanly
def runs_delete(run: str, db: Path = typer.Option(DEFAULT_DB, "--db", help=DB_HELP)):
    """Delete a stored run."""
    from foedus.storage.store import RunStore

    with RunStore(db, on_wait=_tell) as store:
        store.delete_run(run)
    _console().print(f"deleted {run}")


_ = EXIT_INPUT
