"""Forces and costs per package: one pass over the guarantor rows, each row's
forces (:func:`foedus.models.forces.row_forces`) and cost
(:func:`foedus.models.costs.priced`, :func:`foedus.models.costs.row_cost`)
computed and added into its package's totals as they are computed.

Per package p and future n, over its guarantor rows q (equations in
``forces.py`` and ``costs.py``)::

    troops_deployed       = sum_{q deploys} deployed_q
    troops_required_pool  = sum_{q deploys} pool_q
    guarantors_short      = #{q deploys : shortfall_q > 0}
    total_cost            = sum_q cost_q
    max_cost_pct_gdp      = max_q cost_q / gdp_q
    aid                   = sum_q money_q ;  guarantee cost = total - aid

A row that deploys nobody, builds no enabler and pays for no monitoring
mission costs its money whatever the future: its part of the totals is a
lever-only constant (:func:`_plan`), and only the other rows are looped
over, in row order, so that every sum is taken in the order of the rows.

Why one compiled pass: the rows' forces and costs as ``(R, n)`` arrays,
then summed by package, wrote and read six arrays of rows x futures; the
package totals need none of them (3.3 ms per chunk of 4,096 futures x 12
packages, against 1.2 ms in one pass, the same bits). The detail (forces
and costs of each row) keeps the row loops of ``forces.py`` and
``costs.py``, which call the same compiled equations.

numba's cache knows only this file: after editing ``row_forces``,
``priced`` or ``row_cost``, delete the ``*.nbi`` and ``*.nbc`` files under
``src/foedus/models/__pycache__`` (``foedus.models.compiled``).
"""

from __future__ import annotations

import numpy as np

from foedus.models.compiled import kernel
from foedus.models.costs import cost_rates, nonzero_entries, priced, row_cost, row_levers, varying_rows
from foedus.models.forces import crew_factors, deploying_rows, row_force_levers, row_forces
from foedus.models.inputs import Inputs, widen
from foedus.models.levers import Levers


def _plan(lv: Levers) -> dict:
    """Lever-only: the rows whose cost varies by future
    (:func:`foedus.models.costs.varying_rows`), in row order, with what the
    pass reads of them (those that deploy or build enablers have forces),
    and the constant totals of the others."""
    levers, money = row_levers(lv)
    gdp = lv.row_values(lv.gdp)
    varying = varying_rows(lv)
    const = np.ones(lv.n_rows, dtype=bool)
    const[varying] = False
    const_max = np.zeros(lv.n_packages)
    np.maximum.at(const_max, lv.q_package, np.where(const, money / gdp, 0.0))
    return {
        "rows": (np.isin(varying, deploying_rows(lv)), *row_force_levers(lv, varying), *nonzero_entries(levers[varying])[:3],
                 np.ascontiguousarray(money[varying], dtype=np.float64), lv.q_package[varying].astype(np.int64), 1.0 / gdp[varying]),
        "const_total": lv.sum_packages(np.where(const, money, 0.0)),
        "const_max": const_max,
        "aid": lv.sum_packages(money),
    }


def forces_and_costs(lv: Levers, x: Inputs) -> dict[str, np.ndarray]:
    """Per-package forces and costs, ``(P, n)`` each: troops deployed, the
    pool needed, the guarantors short, the total cost, the aid in it and
    the guarantee's own cost (the rest), and the highest guarantor cost in
    % of GDP."""
    plan = lv.memo("package_totals", lambda: _plan(lv))
    rates = cost_rates(lv, x)
    crew = crew_factors(x)
    n = max(rates.shape[1], crew.shape[1], x["forces.rotation_ratio"].size, x["forces.capacity_share"].size)
    dep, pool, short, total, worst = _package_pass(*plan["rows"], widen(crew, n), widen(x["forces.rotation_ratio"], n),
                                                   widen(x["forces.capacity_share"], n), widen(rates, n), plan["const_total"],
                                                   plan["const_max"], lv.n_packages)
    aid = np.broadcast_to(plan["aid"][:, None], total.shape)
    return {"troops_deployed": dep, "troops_required_pool": pool, "guarantors_short": short, "total_cost_usd_per_year": total,
            "aid_usd_per_year": aid, "guarantee_cost_usd_per_year": total - aid, "max_cost_pct_gdp": worst}


@kernel
def _package_pass(deploys, parts, active, starts, cols, vals, money, owner, inv_gdp, crew, rotation, share, rates, const_total,
                  const_max, P):
    """The totals of the module docstring over the varying rows ``r`` (those
    flagged ``deploys`` have forces; the others a shortfall of 0) and
    futures ``i``; then the constant rows' totals added."""
    n, last = crew.shape[1], rates.shape[0] - 1
    dep, pool, short = np.zeros((P, n)), np.zeros((P, n)), np.zeros((P, n))
    total, worst = np.zeros((P, n)), np.full((P, n), -np.inf)
    missing, cost = np.zeros(n), np.empty(n)
    for r in range(money.size):
        p = owner[r]
        if deploys[r]:
            for i in range(n):
                d, q, _, s = row_forces(parts, r, crew, i, rotation, active[r], share)
                dep[p, i] += d
                pool[p, i] += q
                short[p, i] += s > 0.0
                missing[i] = s
        else:
            missing[:] = 0.0
        priced(starts, cols, vals, rates, r, cost)
        for i in range(n):
            c, _ = row_cost(money[r], cost[i], missing[i], rates[last, i])
            total[p, i] += c
            worst[p, i] = max(worst[p, i], c * inv_gdp[r])
    for p in range(P):
        for i in range(n):
            total[p, i] = const_total[p] + total[p, i]
            worst[p, i] = max(const_max[p], worst[p, i])
    return dep, pool, short, total, worst
