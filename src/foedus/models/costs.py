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
umbrellas cost nothing in peacetime here (a stated limit).
"""

from __future__ import annotations

import numpy as np

from foedus.models.inputs import Inputs
from foedus.models.levers import POSTURES, Levers

MARKS = ("core_2014", "core_2035", "total_2035")


def per_soldier_budget(lv: Levers) -> np.ndarray:
    """Current defence spending per active soldier per guarantor; for a
    country with no forces (Iceland), the median of the others."""
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(lv.active > 0, lv.defence_usd / np.where(lv.active > 0, lv.active, 1.0), np.nan)
    if np.isnan(v).any():
        fill = np.nanmedian(v) if np.isfinite(v).any() else 0.0
        v = np.where(np.isnan(v), fill, v)
    return v


def costs(lv: Levers, x: Inputs, shortfall: np.ndarray) -> dict[str, np.ndarray]:
    stat = x["costs.soldier_year.stationing"][None, :]
    exp = x["costs.soldier_year.expeditionary"][None, :]
    unit = stat + x.table("costs.contested_share", POSTURES) * (exp - stat)  # (5, n|1)
    personnel = (lv.ground + lv.trainers) @ unit
    platforms = lv.aircraft.sum(axis=1)[:, None] * x["costs.aircraft_year"][None, :] + lv.ships.sum(axis=1)[:, None] * x[
        "costs.ship_year"
    ][None, :]
    money = (lv.aid_usd + lv.humanitarian_usd + lv.reconstruction_usd)[:, None]
    raise_ = shortfall * (x["costs.raise_cost_factor"][None, :] * lv.row_values(per_soldier_budget(lv))[:, None])
    cost = personnel + platforms + money + raise_
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
        "total_cost_usd_per_year": package_cost,
        "max_cost_pct_gdp": lv.max_rows(pct),
    }
    for m in MARKS:
        out[f"headroom_{m}"] = x[f"costs.nato_mark.{m}"][None, :] - total
    return out
