"""Shared test helpers: repository paths and a runner for the real ``foedus``
command line (a subprocess, as users run it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SCENARIOS = ROOT / "scenarios"


def foedus_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m``."""
    script = shutil.which("foedus", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "foedus.interfaces.cli.main"]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a ``foedus`` subprocess: this one without
    ``COLUMNS`` and ``LINES``, so that piped output is laid out at its fixed
    width (160) unless a test sets one. Passed explicitly because GNU
    readline, once imported (pytest does), puts ``COLUMNS=80`` into the
    process environment that a child would otherwise inherit, unseen by
    ``os.environ``."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return env | extra


def run_foedus(*args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``foedus ARGS`` in ``cwd`` and capture its output as text."""
    return subprocess.run(
        [*foedus_command(), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(),
    )


def duckdb_tables(db: Path) -> set[str]:
    """Names of the tables in a DuckDB file, read through a read-only connection."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()


@pytest.fixture
def foedus_cli():
    """``foedus_cli("validate", path)`` -> CompletedProcess (stdout, stderr, returncode)."""
    return run_foedus


# Hypothesis: in CI (CI=true) draw the same examples on every run, so a red
# build is reproducible and never depends on luck; locally, search afresh.
import os as _os  # noqa: E402

from hypothesis import settings as _settings  # noqa: E402

_settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
if _os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    _settings.load_profile("ci")
