"""Costs: what each guarantor pays per year, in USD and in % of GDP, on top
of its current defence spending, and its share of the burden.

Equations (row k of guarantor g, future n)::

    unit[post]  = stationing + contested_share[post] * (expeditionary - stationing)
    personnel_k = sum_post (ground + trainers)[k, post] * unit[post]
    platforms_k = aircraft_k * aircraft_year + ships_k * ship_year
    money_k     = military aid + humanitarian + reconstruction (USD per year)
    raise_k     = shortfall_k * raise_cost_factor * defence_usd_g / active_g
    cost_k      = personnel_k + platforms_k + money_k + raise_k
    cost_pct_gdp_k        = cost_k / gdp_g
    total_defence_pct_gdp = defence_pct_gdp_g + cost_pct_gdp_k
    headroom[mark]        = mark - total_defence_pct_gdp   (2%, 3.5%, 5% NATO marks)
    burden_share_k        = cost_k / sum_package cost ;  gdp_share_k = gdp_g / sum_package gdp

Cost bands: peacetime forward stationing 60-150k USD per soldier-year
(Bloomberg 2025; Panzerbrigade 45), contested expeditionary 0.4-2 m (CBO
2010; CSBA). Where the pool a commitment needs exceeds the guarantor's
capacity, the missing soldiers must be raised at the full cost of a soldier
in that country's current budget. Mutual-defence promises and nuclear
umbrellas cost nothing in peacetime here (a stated limit). Properties: cost
grows with troops; % of GDP is cost over GDP; burden shares sum to 1.
"""

from __future__ import annotations

import numpy as np

from foedus.models.forces import shortfall_rows
from foedus.models.inputs import Inputs
from foedus.models.levers import POSTURES, Levers

MARKS = ("core_2014", "core_2035", "total_2035")


def per_soldier_budget(lv: Levers) -> np.ndarray:
    """Current defence spending per active soldier per guarantor; for a
    country with no forces (Iceland), the median of the others (over the whole
    country table, so a package's cost does not depend on what it is compared with)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(lv.active > 0, lv.defence_usd / np.where(lv.active > 0, lv.active, 1.0), np.nan)
    if np.isnan(v).any():
        fill = lv.budget_per_soldier_fallback
        if not np.isfinite(fill):  # levers built by hand, without the country table
            fill = np.nanmedian(v) if np.isfinite(v).any() else 0.0
        v = np.where(np.isnan(v), fill, v)
    return v


def unit_costs(x: Inputs) -> np.ndarray:
    """``(5, n|1)`` cost of a soldier-year by posture."""
    stat = x["costs.soldier_year.stationing"][None, :]
    exp = x["costs.soldier_year.expeditionary"][None, :]
    return stat + x.table("costs.contested_share", POSTURES) * (exp - stat)


def _cost_rows(lv: Levers, rows: np.ndarray):
    """Lever-only pieces of the cost of ``rows``."""
    return (
        (lv.ground + lv.trainers)[rows],
        np.stack([lv.aircraft[rows].sum(axis=1), lv.ships[rows].sum(axis=1)], axis=1),
        (lv.aid_usd + lv.humanitarian_usd + lv.reconstruction_usd)[rows][:, None],
        per_soldier_budget(lv)[lv.row_guarantor[rows]][:, None],
    )


def _variable_cost(lv: Levers, x: Inputs, rows: np.ndarray, short: np.ndarray) -> np.ndarray:
    people, platforms, money, budget = lv.memo(("cost_rows", rows.tobytes()), lambda: _cost_rows(lv, rows))
    a, s = x["costs.aircraft_year"], x["costs.ship_year"]
    width = max(a.size, s.size)
    base = people @ unit_costs(x) + platforms @ np.stack([np.broadcast_to(a, (width,)), np.broadcast_to(s, (width,))]) + money
    raise_ = short * (x["costs.raise_cost_factor"][None, :] * budget)
    return base, raise_


def costs(lv: Levers, x: Inputs, shortfall: np.ndarray) -> dict[str, np.ndarray]:
    """Per-row detail (compare, web)."""
    base, raise_ = _variable_cost(lv, x, np.arange(lv.n_rows), shortfall)
    cost = base + raise_
    gdp = lv.row_values(lv.gdp)[:, None]
    pct = cost / gdp
    total = lv.row_values(lv.defence_pct_gdp)[:, None] + pct
    package_cost = lv.sum_rows(cost)
    with np.errstate(divide="ignore", invalid="ignore"):
        burden = cost / package_cost[lv.row_package]
    out = {
        "cost_usd_per_year": cost,
        "cost_raise_usd_per_year": raise_,
        "cost_pct_gdp": pct,
        "total_defence_pct_gdp": total,
        "burden_share": burden,
        "gdp_share": np.broadcast_to(lv.gdp_weight[:, None], cost.shape),
    }
    for m in MARKS:
        out[f"headroom_{m}"] = x[f"costs.nato_mark.{m}"][None, :] - total
    return out


def _cost_levers(lv: Levers, deploying: np.ndarray):
    money = lv.aid_usd + lv.humanitarian_usd + lv.reconstruction_usd
    const_rows = np.ones(lv.n_rows, dtype=bool)
    const_rows[deploying] = False
    const_total = lv.sum_rows(np.where(const_rows, money, 0.0))
    const_max = lv.max_rows(np.where(const_rows, money / lv.row_values(lv.gdp), 0.0))
    I = np.zeros((lv.n_packages, deploying.size))
    I[lv.row_package[deploying], np.arange(deploying.size)] = 1.0
    pk = lv.row_package[deploying]
    pk_with = np.unique(pk)
    starts = np.searchsorted(pk, pk_with)
    return const_total, const_max, I, 1.0 / lv.row_values(lv.gdp)[deploying], pk_with, starts


def package_costs(lv: Levers, x: Inputs, deploying: np.ndarray, short: np.ndarray) -> dict[str, np.ndarray]:
    """Per-package total cost and the highest guarantor cost in % of GDP.

    Rows that deploy nothing cost a constant (their money); only deploying
    rows are evaluated per future."""
    const_total, const_max, I, inv_gdp, pk_with, starts = lv.memo(("package_costs", deploying.tobytes()), lambda: _cost_levers(lv, deploying))
    base, raise_ = _variable_cost(lv, x, deploying, short)
    cost_d = base + raise_
    total = const_total[:, None] + I @ cost_d
    worst = np.broadcast_to(const_max[:, None], total.shape).copy()
    if deploying.size:
        mx = np.maximum.reduceat(cost_d * inv_gdp[:, None], starts, axis=0)
        worst[pk_with] = np.maximum(worst[pk_with], mx)
    return {"total_cost_usd_per_year": total, "max_cost_pct_gdp": worst}
