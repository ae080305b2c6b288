"""Human formatting of metric values, shared by the CLI, web app and report.

Each metric's kind (probability, USD per year, share of GDP, persons,
count; from the catalogue, :mod:`foedus.domain.metrics`) decides how it is
shown: probabilities and shares as %, money in billions, persons with
thousands separators.

Values are shown no more precisely than they are known. An attack
probability below what the record can resolve is shown as "<x%": the floor
hazard (``deterrence.floor_hazard``, anchored on NATO's record of about 35
member-decades without an attack) is about 1% a decade, and no record
resolves a difference below it. Casualties are rounded to two significant
figures (their loss rate and campaign length are known to tens of per cent).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from foedus.domain.metrics import metric as _metric


#: Country names read with "the" in a sentence ("the United States", "the Netherlands").
_THE = ("United ", "Netherlands")


def country(iso: str, names: dict[str, str] | None = None) -> str:
    """A country's name as it reads in a sentence: "the United States",
    "Germany" (the ISO3 code when ``names`` does not know it)."""
    name = (names or {}).get(iso, iso)
    return f"the {name}" if name.startswith(_THE) else name


def label(metric: str) -> str:
    """The metric's label in the catalogue (its key, readable, if unknown)."""
    try:
        return _metric(metric).label
    except KeyError:
        return metric.replace("_", " ")


@lru_cache(maxsize=4096)  # the catalogue is fixed; a comparison formats some 1,500 values
def kind(metric: str, level: str | None = None) -> str:
    """How the metric's values are shown (``num`` if unknown); ``level``:
    the catalogue level to look it up at (default: the package's)."""
    try:
        return (_metric(metric, level) if level else _metric(metric)).kind
    except KeyError:
        return "num"


#: Metrics rounded to two significant figures.
_TWO_FIGURES = ("expected_casualties", "casualties_if_war")


@lru_cache(maxsize=1)
def _floor_hazard() -> float:
    from foedus.data.loaders import load_parameters

    return float(load_parameters()["deterrence.floor_hazard"].value)


def resolution(metric: str) -> float | None:
    """The smallest value of ``metric`` the evidence can tell apart from
    zero, or None: the floor hazard a year for the yearly attack probability,
    and over a decade for the attack probability."""
    if metric == "annual_attack_probability":
        return _floor_hazard()
    if metric == "attack_probability":
        return 1.0 - (1.0 - _floor_hazard()) ** 10
    return None


def below_resolution(metric: str, value: float | None) -> bool:
    r = resolution(metric)
    return r is not None and value is not None and value < r


def fmt(metric: str, value: float | None, level: str | None = None) -> str:
    """Format one value of ``metric`` (at the catalogue's ``level``, by
    default the package's) for people."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "–"
    k = kind(metric, level)
    if below_resolution(metric, value):
        return f"<{100 * resolution(metric):.1f}%"
    if metric in _TWO_FIGURES and value:
        return f"{float(f'{value:.2g}'):,.0f}"
    if k == "prob":
        return f"{100 * value:.1f}%" if value >= 0.001 or value == 0 else "<0.1%"
    if k == "usd":
        if abs(value) >= 1e9:
            return f"${value / 1e9:,.1f} bn"
        if abs(value) >= 1e6:
            return f"${value / 1e6:,.0f} m"
        return f"${value:,.0f}"
    if k == "pct_gdp":
        return f"{100 * value:.2f}% GDP"
    if k == "pct_gdp_signed":
        return f"{100 * value:+.2f} pp"
    if k == "persons":
        return f"{value:,.0f}"
    if k == "count":
        return f"{value:.0f}"
    if k == "ratio":
        return f"{value:.2f}×"
    return f"{value:.4g}"


_NUMBER = re.compile(r"^([<$]*)([0-9][0-9.,]*)(.*)$")


def fmt_range(metric: str, r: dict | None) -> str:
    """A spread over futures, ``{"p5", "p95", ...}``, compactly as
    "low–high" with the unit written once ("0.4–15.2%", "$80.4–83.8 bn",
    "90.0–90.0%" when it does not spread); empty when there is none."""
    if not r or r.get("p5") is None or r.get("p95") is None:
        return ""
    lo, hi = fmt(metric, r["p5"]), fmt(metric, r["p95"])
    if lo == hi and lo.startswith("<"):
        return lo
    a, b = _NUMBER.match(lo), _NUMBER.match(hi)
    if a and b and a.group(3) == b.group(3) and b.group(1) in ("", "$") and ("$" in a.group(1)) == ("$" in b.group(1)):
        return f"{a.group(1)}{a.group(2)}–{b.group(2)}{b.group(3)}"
    return f"{lo}–{hi}"


def number(value: float | None, unit: str) -> str:
    """A value in a parameter or target unit (probability, ratio, USD, persons)."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "–"
    if unit in ("probability", "fraction"):
        return f"{100 * value:.1f}%"
    if unit.startswith("usd"):
        return f"${value / 1e9:,.1f} bn" if abs(value) >= 1e9 else f"${value:,.0f}"
    if unit in ("persons", "count"):
        return f"{value:,.0f}"
    return f"{value:.3g}"
