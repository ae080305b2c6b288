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
quantities by their yearly costs (:func:`priced`, compiled, over the
non-zero quantities only) plus its money and raise cost (:func:`row_cost`):
as NumPy products of a few columns by futures it made a temporary per term.
:func:`_cost_rows` loops them over rows (the detail, the elements, the time
axis); :mod:`foedus.models.package_totals` over the rows whose cost varies,
summed into the package totals in the same pass.
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable

from foedus.models.by_package import sparse_product
from foedus.models.compiled import kernel
from foedus.models.forces import crew_factors
from foedus.models.inputs import Inputs, stack_rows, widen
from foedus.models.levers import ENABLERS, POSTURES, Levers

MARKS = ("core_2014", "core_2035", "total_2035")


def unit_costs(x: Inputs) -> np.ndarray:
    """``(5, n|1)`` cost of a soldier-year by posture."""
    stat = x["costs.soldier_year.stationing"][None, :]
    exp = x["costs.soldier_year.expeditionary"][None, :]
    return stat + x.table("costs.contested_share", POSTURES) * (exp - stat)


def _platform_rates(x: Inputs) -> np.ndarray:
    """``(3, n|1)`` yearly cost of an aircraft, a ship and a monitoring mission."""
    return stack_rows([x["costs.aircraft_year"], x["costs.ship_year"], x["costs.monitoring_mission_year"]])


def _platforms(lv: Levers) -> np.ndarray:
    """``(E, 3)`` aircraft, ships and monitoring missions of each element."""
    return np.stack([lv.aircraft.sum(axis=1), lv.ships.sum(axis=1), lv.missions], axis=1)


def _cost_levers(lv: Levers) -> tuple[np.ndarray, np.ndarray]:
    """Lever-only, per element: ``(levers (E, 5 + 3 + K), money (E,))``,
    the quantities that the cost rates of :func:`cost_rates` multiply
    (personnel by posture, aircraft, ships, monitoring missions, enabler
    fleet) and the money given."""

    def build():
        units = lv.enabler_units if lv.enabler_units is not None else np.zeros((lv.n_elements, len(ENABLERS)))
        levers = np.concatenate([lv.ground + lv.trainers + lv.monitors, _platforms(lv), units], axis=1)
        return levers, lv.aid_usd + lv.humanitarian_usd + lv.reconstruction_usd

    return lv.memo("cost_levers", build)


def row_levers(lv: Levers) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_cost_levers` summed per guarantor row."""
    return lv.memo("cost_rows", lambda: tuple(lv.sum_rows(a) for a in _cost_levers(lv)))


def varying_rows(lv: Levers) -> np.ndarray:
    """Lever-only: the guarantor rows whose cost varies by future (those
    with personnel, platforms, a monitoring mission or an enabler fleet to
    price), in row order; every other row costs its money."""
    return lv.memo("varying_cost_rows", lambda: np.flatnonzero(row_levers(lv)[0].any(axis=1)))


def cost_rates(lv: Levers, x: Inputs) -> np.ndarray:
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


def _enabler_fleets(lv: Levers):
    """Lever-only, for :func:`element_costs`: the non-zero entries of each
    guarantor row's enabler fleet ``(Q, K)`` (what :func:`sparse_product`
    multiplies by the yearly cost of one unit; none when no element builds
    an enabler) and each element's share of its row's fleet by units,
    ``(E, 1)``."""

    def build():
        units = lv.enabler_units if lv.enabler_units is not None else np.zeros((lv.n_elements, len(ENABLERS)))
        per_row = lv.sum_rows(units)
        rows, cols = np.nonzero(per_row)
        own = units.sum(axis=1)
        row = lv.sum_rows(own)[lv.el_q]
        return (rows, cols, per_row[rows, cols], lv.n_rows), np.divide(own, row, out=np.zeros_like(own), where=row > 0)[:, None]

    return lv.memo("enabler_fleets", build)


def row_costs(lv: Levers, x: Inputs, rows: np.ndarray, shortfall: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(cost, raise)`` of guarantor ``rows``, each ``(R, n)``."""

    def build():
        levers, money = row_levers(lv)
        return nonzero_entries(levers[rows]), np.ascontiguousarray(money[rows], dtype=np.float64)

    quantities, money = lv.memo(("row_cost_entries", np.asarray(rows).tobytes()), build)
    return _costs(quantities, money, cost_rates(lv, x), shortfall)


def nonzero_entries(levers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Lever-only: the non-zero quantities of ``levers`` ``(R, C)`` as
    ``(starts, cols, values, R)``, in row then column order, row ``r``'s
    at ``starts[r]:starts[r + 1]`` (what :func:`priced` multiplies by the
    rates)."""
    rows, cols = np.nonzero(levers)
    starts = np.searchsorted(rows, np.arange(levers.shape[0] + 1)).astype(np.int64)
    return starts, cols.astype(np.int64), np.ascontiguousarray(levers[rows, cols], dtype=np.float64), levers.shape[0]


def _costs(quantities: tuple, money: np.ndarray, rates: np.ndarray, shortfall: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(cost, raise)`` of each row, ``(R, n)`` each (:func:`_cost_rows`;
    ``quantities``: its non-zero entries, :func:`nonzero_entries`)."""
    starts, cols, vals, R = quantities
    n = max(rates.shape[1], shortfall.shape[1])
    return _cost_rows(starts, cols, vals, widen(rates, n), money, widen(np.broadcast_to(shortfall, (R, shortfall.shape[1])), n))


@register_jitable
def priced(starts, cols, vals, rates, r, out):
    """``out[i] = sum_c levers[r, c] * rates[c, i]``: row ``r``'s personnel
    by posture, platforms and enabler fleet (its non-zero quantities,
    :func:`nonzero_entries`) times their yearly cost, in column order. Compiled
    code only (with :func:`row_cost`, the one implementation of the cost
    equation that :func:`_cost_rows` and the package totals,
    :mod:`foedus.models.package_totals`, loop over)."""
    out[:] = 0.0
    for k in range(starts[r], starts[r + 1]):
        c, v = cols[k], vals[k]
        for i in range(out.size):
            out[i] += v * rates[c, i]


@register_jitable(inline="always")
def row_cost(money, priced, shortfall, raise_rate):
    """``(cost, raise)``: ``cost = money + priced + raise`` with ``raise =
    shortfall * raise_rate`` (the yearly cost of raising a soldier)."""
    raise_ = shortfall * raise_rate
    return money + priced + raise_, raise_


@kernel
def _cost_rows(starts, cols, vals, rates, money, shortfall):
    """:func:`priced` and :func:`row_cost` for every row and future, ``(R,
    n)`` each. As NumPy expressions over futures it made three temporaries
    per row and took a tenth of the assessment."""
    R, n, last = money.size, rates.shape[1], rates.shape[0] - 1
    total, raise_ = np.empty((R, n)), np.empty((R, n))
    acc = np.empty(n)
    for r in range(R):
        priced(starts, cols, vals, rates, r, acc)
        for i in range(n):
            total[r, i], raise_[r, i] = row_cost(money[r], acc[i], shortfall[r, i], rates[last, i])
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
    cost, _ = _costs(quantities, money, cost_rates(lv, x), shortfall[lv.el_q] * part)
    (rows, cols, units, Q), share = _enabler_fleets(lv)
    return cost + sparse_product(rows, cols, units, enabler_rates(lv, x)[1], Q)[lv.el_q] * share


def _element_levers(lv: Levers):
    """Lever-only, per element: the quantities :func:`element_costs` prices
    (:func:`nonzero_entries`; enablers left out, priced as a share of the row's
    fleet), the money, and the personnel, aircraft and ships deployed
    ``(E, 1)`` each."""

    def build():
        levers, money = _cost_levers(lv)
        K = len(ENABLERS)
        own = np.concatenate([levers[:, :-K], np.zeros((lv.n_elements, K))], axis=1)
        return (nonzero_entries(own), np.ascontiguousarray(money, dtype=np.float64), (lv.ground + lv.trainers + lv.monitors).sum(axis=1)[:, None],
                lv.aircraft.sum(axis=1)[:, None], lv.ships.sum(axis=1)[:, None])

    return lv.memo("element_cost_levers", build)
