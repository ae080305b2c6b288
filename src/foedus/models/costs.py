"""Costs: what each guarantor pays per year, in USD and in % of GDP, and its
share of the burden.

Equations (guarantor row q = guarantor g in package p, future n)::

    unit[post]  = stationing + contested_share[post] * (expeditionary - stationing)
    personnel_q = sum_post (ground + trainers + monitors)[q, post] * unit[post]
    platforms_q = aircraft_q * aircraft_year + ships_q * ship_year + missions_q * monitoring_mission_year
    money_q     = military aid + humanitarian + reconstruction (USD per year)
    raise_q     = shortfall_q * raise_soldier_year
    enablers_q  = sum_k fleet_qk * (operating_year_k + acquisition_k / horizon)
                  (the fleet bought within the horizon and paid evenly; the time
                  axis prices orders and deliveries by year, foedus.exploration.years)
    cost_q      = personnel_q + platforms_q + money_q + raise_q + enablers_q
    aid (package)       = sum_q money_q ;  guarantee cost = total - aid
    cost_pct_gdp_q        = cost_q / gdp_g
    total_defence_pct_gdp = defence_pct_gdp_g + (cost_q - min(aid_q, aid_baseline_g)) / gdp_g
    headroom[mark]        = mark - total_defence_pct_gdp   (2 %, 3.5 %, 5 % NATO marks)
    burden_share_q = cost_q / sum_package cost ;  gdp_share_q = gdp_g / sum_package gdp

Cost bands: peacetime stationing next door (Panzerbrigade 45 in Lithuania,
EUR 25-30 m a month for 4,800 soldiers) and contested expeditionary
deployment (CBO 2010; CSBA). No expeditionary premium is paid in western
Ukraine: Bloomberg Economics' USD 30 bn over ten years for a 40,000-strong
force (2025) is the stationing band's cost. Missing soldiers (the shortfall of
the forces model) are raised at the yearly cost of employing a soldier (UK
written answer, 2021), not at the whole defence budget per soldier. Under
NATO's definition (The Hague, 2025) military aid to Ukraine already counts
in a country's defence spending, so the spending total adds only the aid
above what the country gave in 2022-25 (Kiel Ukraine Support Tracker).
A ceasefire-monitoring commitment pays its share of a mission the size of
the OSCE's monitoring mission in Ukraine (EUR 105.5 m for 2017-18, about 700
monitors with drones and cameras); monitors a commitment lists are costed as
personnel on top. Mutual-defence promises, nuclear umbrellas, consultation,
a joint commission and the sharing of intelligence already collected cost
nothing in peacetime here (a stated limit: no published figure prices
them); a dedicated reconnaissance contribution is entered as aircraft. Properties: cost grows with troops; % of GDP is cost
over GDP; burden shares sum to 1.

The cost of each guarantor row (and element) is one product of its
quantities by their yearly costs (:func:`foedus.models.by_package.product`,
a compiled loop that skips the zeros): as NumPy products of a few columns
by futures it made a temporary per term.
"""

from __future__ import annotations

import numpy as np

from foedus.models.by_package import product, sparse_product_kernel, sum_and_max_by
from foedus.models.compiled import kernel
from foedus.models.forces import crew_factors
from foedus.models.inputs import Inputs, widen
from foedus.models.levers import ENABLERS, POSTURES, Levers

MARKS = ("core_2014", "core_2035", "total_2035")


def unit_costs(x: Inputs) -> np.ndarray:
    """``(5, n|1)`` cost of a soldier-year by posture."""
    stat = x["costs.soldier_year.stationing"][None, :]
    exp = x["costs.soldier_year.expeditionary"][None, :]
    return stat + x.table("costs.contested_share", POSTURES) * (exp - stat)


def _platform_rates(x: Inputs) -> np.ndarray:
    """``(3, n|1)`` yearly cost of an aircraft, a ship and a monitoring mission."""
    rates = [x["costs.aircraft_year"], x["costs.ship_year"], x["costs.monitoring_mission_year"]]
    width = max(r.size for r in rates)
    return np.stack([np.broadcast_to(r, (width,)) for r in rates])


def _platforms(lv: Levers) -> np.ndarray:
    """``(E, 3)`` aircraft, ships and monitoring missions of each element."""
    return np.stack([lv.aircraft.sum(axis=1), lv.ships.sum(axis=1), lv.missions], axis=1)


def _cost_levers(lv: Levers) -> tuple[np.ndarray, np.ndarray]:
    """Lever-only, per element: ``(levers (E, 5 + 3 + K), money (E,))``,
    the quantities that the cost rates of :func:`_cost_rates` multiply
    (personnel by posture, aircraft, ships, monitoring missions, enabler
    fleet) and the money given."""

    def build():
        units = lv.enabler_units if lv.enabler_units is not None else np.zeros((lv.n_elements, len(ENABLERS)))
        levers = np.concatenate([lv.ground + lv.trainers + lv.monitors, _platforms(lv), units], axis=1)
        return levers, lv.aid_usd + lv.humanitarian_usd + lv.reconstruction_usd

    return lv.memo("cost_levers", build)


def _row_levers(lv: Levers) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_cost_levers` summed per guarantor row."""
    return lv.memo("cost_rows", lambda: tuple(lv.sum_rows(a) for a in _cost_levers(lv)))


def _cost_rates(lv: Levers, x: Inputs) -> np.ndarray:
    """``(5 + 3 + K + 1, n|1)``: the yearly cost of a soldier by posture, of
    an aircraft, a ship and a monitoring mission, of each enabler unit, and
    of raising a missing soldier."""
    _, F = enabler_rates(lv, x)
    rates = [unit_costs(x), _platform_rates(x), F, x["costs.raise_soldier_year"][None, :]]
    n = max(r.shape[1] for r in rates)
    return np.concatenate([np.broadcast_to(r, (r.shape[0], n)) for r in rates])


def enabler_rates(lv: Levers, x: Inputs) -> tuple[np.ndarray, np.ndarray]:
    """``(V, F)``: the enablers of each element ``(E, K)`` and the yearly
    cost of one unit ``(K, n|1)``: its operation plus its acquisition spread
    evenly over the horizon (the steady model; the time axis prices orders
    and deliveries year by year, :mod:`foedus.exploration.years`)."""
    V = lv.enabler_units if lv.enabler_units is not None else np.zeros((lv.n_elements, len(ENABLERS)))
    op = x.table("costs.enabler", [f"{k}.operating_year" for k in ENABLERS])
    acq = x.table("costs.enabler", [f"{k}.acquisition" for k in ENABLERS])
    return V, op + acq / x["assessment.horizon_years"][None, :]


def enabler_costs(lv: Levers, x: Inputs, rows: np.ndarray | None = None) -> np.ndarray:
    """``(R, n|1)`` yearly enabler cost of guarantor ``rows`` (default all)."""
    rows = np.arange(lv.n_rows) if rows is None else rows
    if lv.enabler_units is None or not lv.enabler_units.any():
        return np.zeros((rows.size, 1))
    V, F = enabler_rates(lv, x)
    per_row = lv.memo("enabler_rows", lambda: lv.sum_rows(V))
    return product(per_row[rows], F)


def row_costs(lv: Levers, x: Inputs, rows: np.ndarray, shortfall: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(cost, raise)`` of guarantor ``rows``, each ``(R, n)``."""

    def build():
        levers, money = _row_levers(lv)
        return _entries(levers[rows]), np.ascontiguousarray(money[rows], dtype=np.float64)

    quantities, money = lv.memo(("row_cost_entries", np.asarray(rows).tobytes()), build)
    return _costs(quantities, money, _cost_rates(lv, x), shortfall)


def _entries(levers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Lever-only: the non-zero quantities of ``levers`` ``(R, C)`` as
    ``(rows, cols, values, R)``, in row then column order (what
    :func:`_costs` multiplies by the rates)."""
    rows, cols = np.nonzero(levers)
    return rows.astype(np.int64), cols.astype(np.int64), np.ascontiguousarray(levers[rows, cols], dtype=np.float64), levers.shape[0]


def _costs(quantities: tuple, money: np.ndarray, rates: np.ndarray, shortfall: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``cost_q = money_q + sum_c levers[q, c] * rates[c] + raise_q`` with
    ``raise_q = shortfall_q * rates[-1]`` (the raise cost per soldier): the
    personnel by posture, platforms and enabler fleet of each row
    (``quantities``: their non-zero entries, :func:`_entries`) times their
    yearly cost, ``(R, n)`` each (:func:`_cost_rows`)."""
    rows, cols, vals, R = quantities
    n = max(rates.shape[1], shortfall.shape[1])
    return _cost_rows(rows, cols, vals, widen(rates, n), money, widen(np.broadcast_to(shortfall, (R, shortfall.shape[1])), n), R)


@kernel
def _cost_rows(rows, cols, vals, rates, money, shortfall, R):
    """The equation of :func:`_costs` in one compiled loop: each row's
    quantities (the non-zero ``vals`` at ``(rows, cols)``, in column order)
    times their yearly ``rates``, then its money and its raise cost. As
    NumPy expressions over futures it made three temporaries per row and
    took a tenth of the assessment."""
    n, last = rates.shape[1], rates.shape[0] - 1
    total = sparse_product_kernel(rows, cols, vals, rates, R)
    raise_ = np.empty((R, n))
    for r in range(R):
        for i in range(n):
            raise_[r, i] = shortfall[r, i] * rates[last, i]
            total[r, i] = money[r] + total[r, i] + raise_[r, i]
    return total, raise_


def costs(lv: Levers, x: Inputs, shortfall: np.ndarray) -> dict[str, np.ndarray]:
    """Per-guarantor detail (compare, web), ``(Q, n|1)`` each."""
    cost, raise_ = row_costs(lv, x, np.arange(lv.n_rows), shortfall)
    gdp = lv.row_values(lv.gdp)[:, None]
    aid = lv.sum_rows(lv.aid_usd)[:, None]
    total = total_defence_pct_gdp(lv.row_values(lv.defence_pct_gdp)[:, None], cost, aid, lv.row_values(lv.aid_baseline)[:, None], gdp)
    package_cost = lv.sum_packages(cost)
    with np.errstate(divide="ignore", invalid="ignore"):
        burden = cost / package_cost[lv.q_package]
    pkg_gdp = lv.sum_packages(lv.row_values(lv.gdp))
    out = {
        "cost_usd_per_year": cost,
        "cost_raise_usd_per_year": raise_,
        "cost_pct_gdp": cost / gdp,
        "total_defence_pct_gdp": total,
        "burden_share": burden,
        "gdp_share": np.broadcast_to((lv.row_values(lv.gdp) / pkg_gdp[lv.q_package])[:, None], cost.shape),
    }
    for m in MARKS:
        out[f"headroom_{m}"] = x[f"costs.nato_mark.{m}"][None, :] - total
    return out


def total_defence_pct_gdp(base_pct, cost, aid, aid_baseline, gdp):
    """A guarantor's defence spending with the package, in % of GDP (the
    steady model and each year of the time axis)::

        total = base_pct + (cost - min(aid, aid_baseline)) / gdp

    ``base_pct``: its spending without the package (today's share, or the
    year's national plan); ``cost``: the package's cost to it; ``aid``: its
    military aid in the package, of which what it already gave
    (``aid_baseline``, 2022-25) is counted in ``base_pct`` already (NATO
    counts aid to Ukraine as defence spending). Arrays broadcast together."""
    return base_pct + (cost - np.minimum(aid, aid_baseline)) / gdp


def element_costs(lv: Levers, x: Inputs, shortfall: np.ndarray) -> np.ndarray:
    """``(E, n)`` cost of each element: its personnel, platforms and money,
    plus its guarantor's raise cost in proportion to the personnel it deploys
    and its guarantor's enabler cost in proportion to the units it builds
    (approval weights). The same loop as :func:`row_costs`, per element."""
    quantities, money, people, aircraft, ships = _element_levers(lv)
    crew = crew_factors(x)
    deployed = people * crew[0] + aircraft * crew[1] + ships * crew[2]
    row_deployed = lv.sum_rows(deployed)[lv.el_q]
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(row_deployed > 0, deployed / np.where(row_deployed > 0, row_deployed, 1.0), 0.0)
    cost, _ = _costs(quantities, money, _cost_rates(lv, x), shortfall[lv.el_q] * part)
    return cost + enabler_costs(lv, x)[lv.el_q] * _enabler_part(lv)


def _element_levers(lv: Levers):
    """Lever-only, per element: the quantities :func:`element_costs` prices
    (:func:`_entries`; enablers left out, priced as a share of the row's
    fleet), the money, and the personnel, aircraft and ships deployed
    ``(E, 1)`` each."""

    def build():
        levers, money = _cost_levers(lv)
        K = len(ENABLERS)
        own = np.concatenate([levers[:, :-K], np.zeros((lv.n_elements, K))], axis=1)
        return (_entries(own), np.ascontiguousarray(money, dtype=np.float64), (lv.ground + lv.trainers + lv.monitors).sum(axis=1)[:, None],
                lv.aircraft.sum(axis=1)[:, None], lv.ships.sum(axis=1)[:, None])

    return lv.memo("element_cost_levers", build)


def _enabler_part(lv: Levers) -> np.ndarray:
    """``(E, 1)`` each element's share of its row's enabler fleet (by units)."""
    if lv.enabler_units is None or not lv.enabler_units.any():
        return np.zeros((lv.n_elements, 1))
    own = lv.enabler_units.sum(axis=1)
    row = lv.sum_rows(own)[lv.el_q]
    return np.divide(own, row, out=np.zeros_like(own), where=row > 0)[:, None]


def _package_levers(lv: Levers, deploying: np.ndarray):
    """Lever-only: the rows whose cost varies by future (those that deploy or
    build enablers, and those paying for a monitoring mission), where the
    deploying rows are among them, and the constant money of the others."""
    levers, money = _row_levers(lv)
    gdp = lv.row_values(lv.gdp)
    missions = levers[:, len(POSTURES) + 2]
    varying = np.union1d(deploying, np.nonzero(missions > 0)[0]).astype(np.int64)
    const = np.ones(lv.n_rows, dtype=bool)
    const[varying] = False
    const_max = np.zeros(lv.n_packages)
    np.maximum.at(const_max, lv.q_package, np.where(const, money / gdp, 0.0))
    return varying, np.searchsorted(varying, deploying), lv.sum_packages(np.where(const, money, 0.0)), const_max, 1.0 / gdp[varying], lv.sum_packages(money)


def package_costs(lv: Levers, x: Inputs, deploying: np.ndarray, short: np.ndarray) -> dict[str, np.ndarray]:
    """Per-package total cost, the aid in it and the guarantee's own cost
    (the rest), and the highest guarantor cost in % of GDP.

    Guarantors that deploy nothing and pay for no monitoring mission cost a
    constant (their money); only the other rows are evaluated per future
    (``short``: the shortfall of the ``deploying`` rows)."""
    varying, at, const_total, const_max, inv_gdp, aid = lv.memo(("package_costs", deploying.tobytes()), lambda: _package_levers(lv, deploying))
    short_v = np.zeros((varying.size, short.shape[1]))
    short_v[at] = short
    cost, _ = row_costs(lv, x, varying, short_v)
    owner = lv.q_package[varying]
    varying_total, varying_max = sum_and_max_by(owner, cost, inv_gdp, lv.n_packages)
    total = const_total[:, None] + varying_total
    worst = np.maximum(const_max[:, None], varying_max)
    aid = np.broadcast_to(aid[:, None], total.shape)
    return {"total_cost_usd_per_year": total, "aid_usd_per_year": aid, "guarantee_cost_usd_per_year": total - aid, "max_cost_pct_gdp": worst}
