"""A plain NumPy reference of the credibility model, element by element and
row by row: the oracle the compiled class tables
(:func:`foedus.models.credibility.class_tables`, read through
:class:`foedus.models.sums.Probabilities`) are checked against to 1e-9 or
better. It is written from the equations of ``docs/model.md`` §credibility
with NumPy array expressions only, sharing no code with the class form:
every element gets its own credibility and delivery, every guarantor row
its own probability of fighting and its own reach.
"""

from __future__ import annotations

import numpy as np

from foedus.models.credibility import delivery_by_form
from foedus.models.inputs import Inputs
from foedus.models.levers import Levers


def _odds_of_will(will, ceiling):
    c = np.asarray(ceiling, dtype=np.float64)
    d = 2.0 * (1.0 - c) / (2.0 * c - 1.0)
    e = c * (1.0 + d) * np.asarray(will, dtype=np.float64) / (1.0 + d * np.asarray(will, dtype=np.float64))
    return e / (1.0 - e)


def combine_with_will(p, will, ceiling):
    """``comb(p, will)``: the odds of ``p`` times the odds of the effective will."""
    p, odds = np.broadcast_arrays(np.asarray(p, dtype=np.float64), _odds_of_will(will, ceiling))
    num = p * odds
    den = num + (1.0 - p)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _c0(x: Inputs, steps):
    prior, step_odds = x["credibility.reliability_prior"][None, :], x["credibility.step_odds"][None, :]
    o = prior / (1.0 - prior) * step_odds**steps
    return o / (1.0 + o)


def _hand_tying(troops, x: Inputs):
    return 1.0 - np.exp(-np.asarray(troops, dtype=np.float64) / x["credibility.handtying_scale"][None, :])


def element_will(lv: Levers, x: Inputs) -> np.ndarray:
    """``(E, n|1)`` the will parameter of every element: its guarantor's
    ``will.<ISO3>`` if given, else ``will.default``, which a group's
    collective element always uses."""
    keys = ["will.default" if coll or f"will.{lv.guarantors[g]}" not in x else f"will.{lv.guarantors[g]}"
            for g, coll in zip(lv.el_guarantor.tolist(), lv.collective.tolist())]
    width = max(x[k].size for k in set(keys)) if keys else 1
    return np.stack([np.broadcast_to(x[k], (width,)) for k in keys]) if keys else np.zeros((0, 1))


def credibility(lv: Levers, x: Inputs) -> np.ndarray:
    """Credibility of every element, ``(E, n|1)``."""
    steps = (lv.form + lv.trigger)[:, None]
    c0 = np.where(lv.promise[:, None], _c0(x, steps), 0.0)
    troops = lv.troops_in_ukraine()[lv.el_q][:, None]
    h = np.where(lv.collective[:, None], 0.0, _hand_tying(troops, x))
    return combine_with_will(h + (1.0 - h) * c0, element_will(lv, x), x["credibility.will_ceiling"])


def delivery(lv: Levers, x: Inputs, horizon: float) -> np.ndarray:
    """Peacetime delivery of every element, ``(E, n|1)``."""
    return combine_with_will(delivery_by_form(x, horizon)[lv.form], element_will(lv, x), x["credibility.will_ceiling"])


def guarantor_fights(lv: Levers, x: Inputs) -> np.ndarray:
    """``(Q, n|1)`` probability that each guarantor fights if Ukraine is
    attacked: ``comb(h_g + (1 - h_g) * max_e c0_e, will_g)``."""
    steps = (lv.form + lv.trigger)[:, None]
    c0 = np.where((lv.fight_promise & ~lv.collective)[:, None], _c0(x, steps), 0.0)
    best = np.zeros((lv.n_rows, c0.shape[1]))
    np.maximum.at(best, lv.el_q, c0)
    h = _hand_tying(lv.troops_in_ukraine()[:, None], x)
    keys = [f"will.{lv.guarantors[g]}" if f"will.{lv.guarantors[g]}" in x else "will.default" for g in lv.q_guarantor]
    width = max([x[k].size for k in keys] + [best.shape[1], h.shape[1]])
    will = np.stack([np.broadcast_to(x[k], (width,)) for k in keys]) if keys else np.zeros((0, width))
    return combine_with_will(h + (1.0 - h) * best, will, x["credibility.will_ceiling"])


def guarantee_reach(lv: Levers, x: Inputs) -> np.ndarray:
    """``(Q, n|1)`` ``k_q = 1 - exp(-A_q / decisive_force)``, row by row."""
    from foedus.models.deterrence import power_terms

    V, F = power_terms(lv, x)
    return 1.0 - np.exp(-(lv.sum_rows(V) @ F) / x["deterrence.decisive_force"][None, :])


def shortfall_rows(lv: Levers, x: Inputs):
    """``(deployed, pool, available, shortfall)`` of every guarantor row, ``(Q, n|1)`` each."""
    from foedus.models.forces import crew_factors

    people = (lv.ground + lv.trainers + lv.monitors).sum(axis=1)
    parts = lv.sum_rows(np.stack([people, lv.aircraft.sum(axis=1), lv.ships.sum(axis=1)], axis=1))
    dep = parts @ crew_factors(x)
    pool = dep * x["forces.rotation_ratio"][None, :]
    avail = lv.active[lv.q_guarantor][:, None] * x["forces.capacity_share"][None, :]
    avail = np.broadcast_to(avail, np.broadcast_shapes(avail.shape, pool.shape))
    return dep, pool, avail, np.maximum(pool - avail, 0.0)


def row_costs(lv: Levers, x: Inputs, shortfall: np.ndarray):
    """``(cost, raise)`` of every guarantor row: personnel by posture times
    the soldier-year by posture, platforms times their yearly cost, money,
    the raise cost of the shortfall, and the enabler fleet times its yearly
    cost (operation plus acquisition over the horizon)."""
    from foedus.models.costs import unit_costs
    from foedus.models.levers import ENABLERS

    people = lv.sum_rows(lv.ground + lv.trainers + lv.monitors) @ unit_costs(x)
    platforms = (lv.sum_rows(lv.aircraft.sum(axis=1))[:, None] * x["costs.aircraft_year"][None, :]
                 + lv.sum_rows(lv.ships.sum(axis=1))[:, None] * x["costs.ship_year"][None, :]
                 + lv.sum_rows(lv.missions)[:, None] * x["costs.monitoring_mission_year"][None, :])
    money = lv.sum_rows(lv.aid_usd + lv.humanitarian_usd + lv.reconstruction_usd)[:, None]
    raise_ = shortfall * x["costs.raise_soldier_year"][None, :]
    op = x.table("costs.enabler", [f"{k}.operating_year" for k in ENABLERS])
    acq = x.table("costs.enabler", [f"{k}.acquisition" for k in ENABLERS])
    enablers = lv.sum_rows(lv.enabler_units) @ (op + acq / x["assessment.horizon_years"][None, :])
    return people + platforms + money + raise_ + enablers, raise_
