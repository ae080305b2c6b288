"""Human formatting of metric values, shared by the CLI, web app and report.

Each metric has a kind (probability, USD per year, share of GDP, persons,
count) that decides how it is shown: probabilities and shares as %, money
in billions, persons with thousands separators.
"""

from __future__ import annotations

import math
import re

#: The package metrics a summary table shows, in reading order
#: (deter, hold, human cost, approve, risks, humanitarian, cost, forces).
SUMMARY_METRICS = (
    "attack_probability",
    "defence_holds_probability",
    "expected_casualties",
    "approval_probability",
    "escalation_risk",
    "adversary_acceptance",
    "humanitarian_coverage",
    "air_defence_coverage",
    "total_cost_usd_per_year",
    "max_cost_pct_gdp",
    "troops_deployed",
    "troops_required_pool",
    "guarantors_short",
)

#: metric -> (label, kind)
METRIC_INFO: dict[str, tuple[str, str]] = {
    "attack_probability": ("Attack within horizon", "prob"),
    "annual_attack_probability": ("Attack per year", "prob"),
    "defence_holds_probability": ("Defence holds if attacked", "prob"),
    "approval_probability": ("Approved and in force", "prob"),
    "ratification_probability": ("All veto players approve", "prob"),
    "kyiv_acceptance": ("Kyiv accepts", "prob"),
    "in_force_share": ("Share still in force at horizon", "prob"),
    "escalation_risk": ("Nuclear-power confrontation", "prob"),
    "incident_probability": ("Direct clash in peacetime", "prob"),
    "adversary_acceptance": ("Adversary accepts the deal", "prob"),
    "humanitarian_coverage": ("Aid needs covered", "prob"),
    "air_defence_coverage": ("Air-defence needs covered", "prob"),
    "total_cost_usd_per_year": ("Cost per year", "usd"),
    "max_cost_pct_gdp": ("Highest guarantor cost", "pct_gdp"),
    "troops_deployed": ("Personnel deployed", "persons"),
    "troops_required_pool": ("Pool needed (rotation, enablers)", "persons"),
    "guarantors_short": ("Guarantors short of troops", "count"),
    "expected_casualties": ("Expected casualties (risk-weighted)", "persons"),
    "casualties_if_war": ("Casualties if war resumes", "persons"),
    "defender_strength": ("Defending troop-equivalents", "persons"),
    # per guarantor
    "credibility": ("Credibility", "prob"),
    "approval": ("Own approvals pass", "prob"),
    "cost_usd_per_year": ("Cost per year", "usd"),
    "cost_pct_gdp": ("Cost, % GDP", "pct_gdp"),
    "total_defence_pct_gdp": ("Defence spending incl. package", "pct_gdp"),
    "headroom_core_2014": ("Headroom to 2% mark", "pct_gdp_signed"),
    "headroom_core_2035": ("Headroom to 3.5% mark", "pct_gdp_signed"),
    "headroom_total_2035": ("Headroom to 5% mark", "pct_gdp_signed"),
    "burden_share": ("Share of package cost", "prob"),
    "gdp_share": ("Share of package GDP", "prob"),
    "troops_available": ("Deployable capacity", "persons"),
    "capacity_ratio": ("Capacity / pool needed", "ratio"),
    "shortfall": ("Shortfall", "persons"),
    "cost_raise_usd_per_year": ("Cost of raising new forces", "usd"),
}


def label(metric: str) -> str:
    return METRIC_INFO.get(metric, (metric.replace("_", " "), ""))[0]


def kind(metric: str) -> str:
    return METRIC_INFO.get(metric, ("", "num"))[1]


def fmt(metric: str, value: float | None) -> str:
    """Format one value of ``metric`` for people."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "–"
    k = kind(metric)
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
