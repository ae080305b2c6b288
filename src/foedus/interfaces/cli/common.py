"""What every ``foedus`` command shares: the Typer apps, the console,
error handling (input errors to ``file:line: field: expectation`` and exit
status 2), JSON output and parameter overrides. The command modules
(:mod:`.main`, :mod:`.explore_commands`) import from here, never from each
other."""

from __future__ import annotations

import functools
import json
import os
import sys
from dataclasses import dataclass
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
    # Width: $COLUMNS when set (rich reads it), else the terminal's, else 160 when piped.
    columns = os.environ.get("COLUMNS", "")
    width = None if sys.stdout.isatty() or (columns.isdigit() and int(columns) > 0) else 160
    # no emoji codes: "file:100: field" must not print as a picture
    return Console(stderr=stderr, highlight=False, soft_wrap=stderr, width=width, emoji=False)


def fail(message: str) -> None:
    _console(stderr=True).print(f"[bold red]error:[/] {message}", markup=True)
    raise typer.Exit(EXIT_INPUT)


def interrupt_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt (Ctrl-C, or SIGTERM's :class:`Terminated`)
    that ``exc`` is or stems from, if any. A signal handler runs at the next
    Python line, and when that line is inside a C extension's call back
    into Python (numba loading or boxing for a compiled function, for one),
    the interrupt reaches us as a ``SystemError`` whose cause it is."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        # ``raise ... from None`` (as when an interrupt has been handled) ends the chain
        exc = exc.__cause__ if exc.__cause__ is not None or exc.__suppress_context__ else exc.__context__
    return None


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
        except BaseException as exc:
            if interrupt_behind(exc) is None:
                raise
            _console(stderr=True).print("interrupted")
            raise typer.Exit(130) from None

    return wrapper


def _dump(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


#: Help of the ``--scenario`` option (compare, report, sensitivity, explore).
SCENARIO_HELP = ("A named will scenario (data/will_scenarios.yaml): average-ally, us-as-in-2025, us-walks-away, us-reliable, "
                 "europe-hesitant. Fixes the guarantors' will; --set of a will wins over it.")


def _parameters(set_: list[str] | None, params_file: Path | None = None, scenario: str | None = None):
    from foedus.data.parameter_set import ParameterSet, parse_assignments
    from foedus.domain.errors import InputError

    ps = ParameterSet.default()
    try:
        ps = ps.with_scenario(scenario)
        if params_file is not None:
            ps = ps.with_overrides(_read_overrides_file(params_file), source=str(params_file))
        if set_:
            ps = ps.with_overrides(parse_assignments(set_))
    except InputError as exc:
        raise _with_country_hints(exc, ps) from None
    return ps


def _with_country_hints(exc, ps):
    """``exc`` with a hint on each unknown parameter name whose last part is
    a misspelt country (``will.GER``: "did you mean will.DEU (Germany)?")."""
    from foedus.data.loaders import load_countries
    from foedus.domain.errors import InputError, Problem

    names = {k: c.name for k, c in load_countries().countries.items()}
    problems = []
    for p in exc.problems:
        better = _country_in_name(p.field, names, ps)
        problems.append(Problem(p.field, f"a known parameter name; {better}", p.line) if better and "parameter name" in p.expected else p)
    return InputError(exc.file, problems)


def _country_in_name(name: str, names: dict[str, str], ps) -> str | None:
    """For a parameter name ending in a misspelt country code or name
    (``approval.nato_consent.GER``, ``will.Germany``): what to write instead,
    or None when its last part does not look like a country."""
    from foedus.domain.errors import InputError
    from foedus.domain.package import suggest_countries

    head, _, last = name.rpartition(".")
    if not head or last in names or not (last.isupper() or last.casefold() in {n.casefold() for n in names.values()}):
        return None
    near = suggest_countries(last, names)
    for iso in near:
        try:
            ps.check_name(f"{head}.{iso}")
        except InputError:
            continue
        return f"{last} is not an ISO3 country code: did you mean {head}.{iso} ({names[iso]})?"
    return f"{last} is not an ISO3 country code ({', '.join(f'{names[k]} is {k}' for k in near)})" if near else None


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


# ---------------------------------------------------------------------------
# tables that fit the terminal
# ---------------------------------------------------------------------------


@dataclass
class Col:
    """One column of a :func:`fitted_tables` table: its header (wrapped at
    spaces to the column's width) and one cell per row (rich ``Text``, one
    or more lines, never wrapped or cut)."""

    header: str
    cells: list
    justify: str = "right"


def _text_width(cell) -> int:
    from rich.text import Text

    t = cell if isinstance(cell, Text) else Text.from_markup(str(cell))
    return max((Text(line).cell_len for line in t.plain.split("\n")), default=0)


def _col_width(c: Col) -> int:
    words = c.header.split() or [""]
    return max([_text_width(x) for x in c.cells] + [len(w) for w in words])


def _rendered_width(table) -> int:
    import io

    from rich.console import Console

    con = Console(width=100_000, file=io.StringIO(), highlight=False, color_system=None)
    with con.capture() as cap:
        con.print(table)
    from rich.text import Text

    return max((Text(line).cell_len for line in cap.get().splitlines()), default=0)


def _build(title, key: Col, cols: list[Col], key_width: int, caption=None):
    from rich.table import Table

    t = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    t.add_column(key.header, width=key_width, justify=key.justify, overflow="fold")
    for c in cols:
        t.add_column(c.header, width=_col_width(c), justify=c.justify, overflow="fold")
    for r in range(len(key.cells)):
        t.add_row(key.cells[r], *[c.cells[r] for c in cols])
    return t


def fitted_tables(title: str, key: Col, cols: list[Col], width: int, *, key_width: int | None = None,
                  caption: str | None = None) -> list:
    """``cols`` beside the row labels ``key``, as few tables as fit in
    ``width`` characters: the columns split into consecutive groups of about
    the same size, each table repeating the row labels, no cell wrapped or
    cut. A single column wider than ``width`` gets a table of its own.
    ``caption`` goes under the last table."""
    kw = key_width if key_width is not None else _col_width(key)
    groups: list[list[Col]] = []
    for c in cols:
        if groups and _rendered_width(_build(title, key, groups[-1] + [c], kw)) <= width:
            groups[-1].append(c)
        else:
            groups.append([c])
    if 1 < len(groups) < len(cols):  # the same number of tables, evened out
        per = -(-len(cols) // len(groups))
        even = [cols[k:k + per] for k in range(0, len(cols), per)]
        if len(even) == len(groups) and all(_rendered_width(_build(title, key, g, kw)) <= width for g in even):
            groups = even
    out = []
    start = 0
    for n, g in enumerate(groups):
        part = title if len(groups) == 1 else f"{title} ({n + 1} of {len(groups)}: columns {start + 1}–{start + len(g)} of {len(cols)})"
        out.append(_build(part, key, g, kw, caption if n == len(groups) - 1 else None))
        start += len(g)
    return out


def fits(title: str, key: Col, cols: list[Col], width: int, *, key_width: int | None = None) -> bool:
    """Whether all of ``cols`` fit in one table of ``width`` characters."""
    kw = key_width if key_width is not None else _col_width(key)
    return _rendered_width(_build(title, key, cols, kw)) <= width


def shorten(text: str, width: int) -> str:
    """``text`` on one line of at most ``width`` characters, cut at a word
    boundary and marked with an ellipsis when it is longer."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[:max(width - 1, 1)]
    if " " in cut[1:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,;:(") + "…"
