"""``foedus compare`` at the terminal's width (issue 9): every shipped
package through the real command line with ``COLUMNS`` set, no line wider
than the terminal, package ids never cut, the bottom line's sentences, the
per-guarantor tables only with ``--guarantors``; the sample behind the
ranges as options of the study (``--futures``/``--seed``); and the helpers
in ``cli/common.py`` that lay tables out."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import ROOT, SCENARIOS, cli_env, foedus_command

FILES = sorted(SCENARIOS.glob("*.yaml"))
IDS = [f.stem for f in FILES]  # each shipped file is named after its package id


def _compare(columns: int, *args: str) -> str:
    env = cli_env(COLUMNS=str(columns))
    r = subprocess.run([*foedus_command(), "compare", *map(str, FILES), *args], cwd=ROOT, capture_output=True, text=True, env=env,
                       timeout=180)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def outputs() -> dict:
    """(columns, --guarantors) -> stdout, each run once."""
    return {(w, g): _compare(w, *(["--guarantors"] if g else [])) for w in (120, 80) for g in (False, True)}


def _words(text: str) -> set[str]:
    """Every run of id characters in ``text`` (so a cut id shows as a prefix, not the id)."""
    return set(re.findall(r"[a-z0-9][a-z0-9-]*[a-z0-9]", text))


@pytest.mark.parametrize("columns", [120, 80])
@pytest.mark.parametrize("guarantors", [False, True])
def test_no_line_is_wider_than_the_terminal(outputs, columns, guarantors):
    out = outputs[(columns, guarantors)]
    widest = max(out.splitlines(), key=len)
    assert len(widest) <= columns, (len(widest), widest)


@pytest.mark.parametrize("columns", [120, 80])
def test_package_ids_are_never_cut(outputs, columns):
    for guarantors in (False, True):
        out = outputs[(columns, guarantors)]
        words = _words(out)
        for pid in IDS:
            assert pid in words, pid
            # in the key, every table and the bottom line: never shortened to "coalition-…" or wrapped mid-id
            assert not re.search(re.escape(pid[:max(4, len(pid) - 3)]) + r"[a-z0-9-]*…", out.replace(pid, "")), pid
        for line in out.splitlines():
            assert not re.search(r"[a-z]-…|[a-z]…\s*│", line), line
        key = out.split("\n\n", 1)[0]  # the key of package ids and titles comes first
        for pid in IDS:
            assert re.search(rf"^{re.escape(pid)}\s+\S", key, re.M), pid


def test_every_package_has_its_values_and_its_bottom_line(outputs):
    out = outputs[(120, False)]
    assert "Bottom line" in out and "Whose promise counts" in out
    bullets = re.findall(r"^• ([a-z0-9-]+): Renewed war within", out, re.M)
    assert bullets == IDS
    # the summary table names every package as a row or a column, and each part repeats the row labels
    assert out.count("foedus compare — central values") >= 1
    for pid in IDS:
        assert out.count(pid) >= 4, pid  # key, summary table, whose promise counts, bottom line


def test_output_is_reasonably_short(outputs):
    n120 = len(outputs[(120, False)].splitlines())
    n80 = len(outputs[(80, False)].splitlines())
    # 11 packages, 13 metrics with their ranges, the key, whose promise counts,
    # the table per named will scenario (about 35 lines) and the sentences
    assert n120 <= 240, n120
    assert n80 <= 340, n80
    assert n120 <= n80


@pytest.mark.parametrize("columns", [120, 80])
def test_per_guarantor_tables_only_with_the_option(outputs, columns):
    plain, detailed = outputs[(columns, False)], outputs[(columns, True)]
    assert "per guarantor" not in plain
    assert "--guarantors" in plain  # the hint
    for pid in IDS:
        assert f"{pid}: per guarantor" in detailed, pid
    assert "Credibility" in detailed and "Credibility" not in plain
    assert len(detailed.splitlines()) > len(plain.splitlines()) + 10 * len(IDS)
    # the plain output is the start of the detailed one, apart from the hint
    assert detailed.startswith(plain.split("Per-guarantor credibility")[0].rstrip())


def test_ranges_follow_futures_and_seed():
    """--futures/--seed reach the study's own options (no subclass): the
    JSON states the sample, 0 leaves the ranges out."""
    from conftest import run_foedus

    a = run_foedus("compare", "--json", "--futures", "64", "--seed", "3", "scenarios/treaty.yaml", "scenarios/nato.yaml")
    assert a.returncode == 0, a.stderr
    doc = json.loads(a.stdout)
    assert doc["ranges"]["futures"] == 64 and doc["ranges"]["seed"] == 3
    b = run_foedus("compare", "--json", "--futures", "64", "--seed", "4", "scenarios/treaty.yaml", "scenarios/nato.yaml")
    other = json.loads(b.stdout)
    assert other["ranges"]["seed"] == 4
    assert [p["ranges"] for p in doc["packages"]] != [p["ranges"] for p in other["packages"]]
    assert [p["metrics"] for p in doc["packages"]] == [p["metrics"] for p in other["packages"]]  # central values do not move
    c = run_foedus("compare", "--json", "--futures", "0", "scenarios/treaty.yaml")
    assert json.loads(c.stdout).get("ranges") is None


def test_study_has_the_range_options():
    import dataclasses

    from foedus.data.loaders import load_countries, load_packages
    from foedus.data.parameter_set import ParameterSet
    from foedus.exploration.compare import RANGE_FUTURES
    from foedus.interfaces.cli import main
    from foedus.study.study import Study

    fields = {f.name: f.default for f in dataclasses.fields(Study)}
    assert fields["range_futures"] == RANGE_FUTURES and fields["range_seed"] == 0
    countries = load_countries()
    pkgs = load_packages([SCENARIOS / "treaty.yaml"], countries)
    s = main._study(pkgs, ParameterSet.default(), countries, None, 32, 5)
    assert type(s) is Study  # not a subclass made up in the command line
    assert s.comparison["ranges"]["futures"] == 32 and s.comparison["ranges"]["seed"] == 5


# -- the layout helpers ---------------------------------------------------------------------------------------------


@given(st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), max_size=120), st.integers(2, 80))
def test_shorten_fits_and_keeps_short_text(text, width):
    from foedus.interfaces.cli.common import shorten

    out = shorten(text, width)
    assert len(out) <= width
    assert "\n" not in out
    one_line = " ".join(text.split())
    if len(one_line) <= width:
        assert out == one_line
    else:
        assert out.endswith("…")
        assert one_line.startswith(out[:-1].rstrip(" ,;:("))


def test_shorten_cuts_at_a_word():
    from foedus.interfaces.cli.common import shorten

    assert shorten("Paris Declaration plus the US guarantee (under negotiation)", 46) == "Paris Declaration plus the US guarantee…"
    assert shorten("NATO membership", 40) == "NATO membership"
    assert shorten("a  b\n c", 10) == "a b c"


@pytest.mark.parametrize("width", [60, 80, 120])
def test_fitted_tables_fit_and_keep_every_column(width):
    import io

    from rich.console import Console
    from rich.text import Text

    from foedus.interfaces.cli.common import Col, fits, fitted_tables

    key = Col("package", [Text(i) for i in IDS], justify="left")
    cols = [Col(f"metric number {k}", [Text(f"{k * 1000 + j:,}\n{j}–{k}") for j in range(len(IDS))]) for k in range(12)]
    tables = fitted_tables("a title", key, cols, width, caption="a caption under the last table")
    con = Console(width=width, file=io.StringIO(), color_system=None)
    with con.capture() as cap:
        for t in tables:
            con.print(t)
    text = cap.get()
    assert max(map(len, text.splitlines())) <= width
    for k in range(12):
        assert f"{k * 1000 + len(IDS) - 1:,}" in text
    for pid in IDS:
        assert text.count(pid) == len(tables)  # every part repeats the row labels, uncut
    assert len(tables) > 1 and not fits("a title", key, cols, width)
    assert fits("a title", key, cols[:1], width)
