"""What every ``foedus`` command shares: the Typer apps, the console,
error handling (input errors to ``file:line: field: expectation`` and exit
status 2), JSON output and parameter overrides. The command modules
(:mod:`.main`, :mod:`.explore_commands`) import from here, never from each
other."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import typer

app = typer.Typer(
    name="foedus",
    help="Design, cost and stress-test security guarantees (reference case: Ukraine after a ceasefire).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
runs_app = typer.Typer(help="Stored explorations: list, show, export, delete.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")

EXIT_INPUT = 2


def _console(stderr: bool = False):
    from rich.console import Console

    # Error lines (stderr) are never wrapped: one `file:line: field: expectation` per line.
    return Console(stderr=stderr, highlight=False, soft_wrap=stderr, width=None if sys.stdout.isatty() else 160)


def fail(message: str) -> None:
    _console(stderr=True).print(f"[bold red]error:[/] {message}", markup=True)
    raise typer.Exit(EXIT_INPUT)


def handles_input_errors(fn):
    """Turn input errors into a clear message and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from foedus.domain.errors import InputError

        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            from rich.markup import escape

            con = _console(stderr=True)
            for line in str(exc).splitlines():
                con.print(f"[bold red]error:[/] {escape(line)}")
            raise typer.Exit(EXIT_INPUT) from None
        except KeyboardInterrupt:
            _console(stderr=True).print("interrupted")
            raise typer.Exit(130) from None

    return wrapper


def _dump(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def _parameters(set_: list[str] | None, params_file: Path | None = None):
    from foedus.data.parameter_set import ParameterSet, parse_assignments

    ps = ParameterSet.default()
    if params_file is not None:
        ps = ps.with_overrides(_read_overrides_file(params_file), source=str(params_file))
    if set_:
        ps = ps.with_overrides(parse_assignments(set_))
    return ps


def _read_overrides_file(path: Path) -> dict[str, float]:
    """A YAML file ``{set: {name: value}, range: {name: [low, high]}, fix: [names]}``
    or a flat ``{name: value}`` mapping."""
    from foedus.data.yamlio import load
    from foedus.domain.errors import InputError, Problem

    data, lines = load(path)
    if not isinstance(data, dict):
        raise InputError(str(path), [Problem("(document)", "a mapping of parameter names to numbers", 1)])
    flat = data.get("set", data) if isinstance(data.get("set"), dict) else data
    out = {}
    for k, v in flat.items():
        if k in ("range", "fix"):
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(str(path), [Problem(str(k), f"a number, got {v!r}", lines.get((k,)))])
        out[str(k)] = float(v)
    return out
