"""Forces: personnel deployed, the pool needed to keep them there, and each
guarantor's capacity to generate that pool.

Equations (guarantor row q = guarantor g in package p, future n)::

    deployed_q  = sum_e in q sum_post (ground + trainers + monitors) + aircraft * crew_per_aircraft
                  + ships * crew_per_ship
    pool_q      = deployed_q * rotation_ratio
    available_g = active_g * capacity_share
    capacity_ratio_q = available_g / pool_q        (NaN when nothing is deployed)
    shortfall_q = max(0, pool_q - available_g)     (flagged per guarantor)

``rotation_ratio`` counts the units preparing and recovering (and their
support outside the theatre) per unit deployed, calibrated to F.-S. Gady's
estimate that about 40,000 deployed would tie up "up to 100,000" (Reuters,
Dec 2024), checked against the rule of thirds. ``capacity_share`` is the
share of a guarantor's active personnel it can hold in such a rotation for
one mission, calibrated to the IISS options (April 2025): a medium force of
about 25,000 sustainable, a large one of 60,000-100,000 stretching Europe to
the limit. Sources and fits in ``data/parameters/forces.yaml`` and
``data/calibration.yaml``. The per-row equations are one compiled function
(:func:`row_forces`), looped over rows and futures by :func:`_shortfall`
(the rows, for the detail and the time axis) and by
:mod:`foedus.models.package_totals` (the package totals, with the costs,
in one pass): as NumPy expressions, a product with three columns and four
temporaries per row took a fifth of the assessment. Properties: the pool
is at least the deployed force and linear in it.
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable

from foedus.models.by_package import sum_by
from foedus.models.compiled import kernel
from foedus.models.inputs import Inputs, stack_rows, widen
from foedus.models.levers import Levers


def deployed_parts(lv: Levers) -> np.ndarray:
    """``(Q, 3)``: people, aircraft, ships per guarantor row (lever-only)."""

    def build():
        people = (lv.ground + lv.trainers + lv.monitors).sum(axis=1)
        return lv.sum_rows(np.stack([people, lv.aircraft.sum(axis=1), lv.ships.sum(axis=1)], axis=1))

    return lv.memo("deployed_parts", build)


def crew_factors(x: Inputs) -> np.ndarray:
    """``(3, n|1)``: persons per person, per aircraft, per ship."""
    return stack_rows([1.0, x["forces.air_personnel_per_aircraft"], x["forces.naval_personnel_per_ship"]])


def shortfall_rows(lv: Levers, x: Inputs, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(deployed, pool, available, shortfall)`` for guarantor ``rows``
    (default all), each ``(R, n)``."""
    if rows is None:  # every row: lever-only, once per levers
        parts, active = lv.memo("shortfall_rows", lambda: row_force_levers(lv, np.arange(lv.n_rows)))
    else:
        parts, active = row_force_levers(lv, rows)
    crew = crew_factors(x)
    n = max(crew.shape[1], x["forces.rotation_ratio"].size, x["forces.capacity_share"].size)
    return _shortfall(parts, widen(crew, n), widen(x["forces.rotation_ratio"], n), active, widen(x["forces.capacity_share"], n))


def row_force_levers(lv: Levers, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lever-only: the people, aircraft and ships of guarantor ``rows``
    ``(R, 3)`` and their guarantors' active personnel ``(R,)``, as
    :func:`row_forces` reads them."""
    return np.ascontiguousarray(deployed_parts(lv)[rows]), np.ascontiguousarray(lv.active[lv.q_guarantor[rows]], dtype=np.float64)


@register_jitable(inline="always")
def row_forces(parts, r, crew, i, rotation, active, share):
    """The equations above for row ``r`` (its people, aircraft and ships
    ``parts[r]``, its guarantor's active personnel ``active``) in future
    ``i``: ``(deployed, pool, available, shortfall)``. Compiled code only:
    the one implementation :func:`_shortfall` and the package totals
    (:mod:`foedus.models.package_totals`) both call."""
    deployed = parts[r, 0] * crew[0, i] + parts[r, 1] * crew[1, i] + parts[r, 2] * crew[2, i]
    pool = deployed * rotation[i]
    available = active * share[i]
    return deployed, pool, available, max(pool - available, 0.0)


@kernel
def _shortfall(parts, crew, rotation, active, share):
    """:func:`row_forces` for each row ``r`` and future ``i``: deployed,
    pool, available and shortfall, ``(R, n)`` each."""
    R, n = parts.shape[0], crew.shape[1]
    dep, pool, avail, short = np.empty((R, n)), np.empty((R, n)), np.empty((R, n)), np.empty((R, n))
    for r in range(R):
        for i in range(n):
            dep[r, i], pool[r, i], avail[r, i], short[r, i] = row_forces(parts, r, crew, i, rotation, active[r], share)
    return dep, pool, avail, short


def forces(lv: Levers, x: Inputs) -> dict[str, np.ndarray]:
    """Per-guarantor detail (compare, web): deployed, pool, capacity, ratio, shortfall."""
    dep, pool, avail, short = shortfall_rows(lv, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(pool > 0, avail / np.where(pool > 0, pool, 1.0), np.nan)
    return {
        "troops_deployed": dep,
        "troops_required_pool": pool,
        "troops_available": avail,
        "capacity_ratio": ratio,
        "shortfall": short,
    }


def deploying_rows(lv: Levers) -> np.ndarray:
    """Lever-only: the guarantor rows that deploy (or build enablers: their
    costs vary by future too)."""

    def build():
        parts = deployed_parts(lv)
        builds = lv.sum_rows(lv.enabler_units).sum(axis=1) > 0 if lv.enabler_units is not None else np.zeros(lv.n_rows, dtype=bool)
        return np.nonzero((parts.sum(axis=1) > 0) | builds)[0]

    return lv.memo("deploying_rows", build)


def coalition_stretch(lv: Levers, x: Inputs) -> np.ndarray:
    """``(P, n)`` pool needed over the capacity of the guarantors that deploy
    (0 when nobody deploys): above 1, the contributors together cannot
    sustain the force. (The IISS calibration target; not a stored metric.)"""
    D = deploying_rows(lv)
    _, pool, avail, _ = shortfall_rows(lv, x, D)
    num, den = sum_by(lv.q_package[D], pool, lv.n_packages), sum_by(lv.q_package[D], avail, lv.n_packages)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
