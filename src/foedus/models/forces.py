"""Forces: troops deployed, the pool needed to sustain them, and each
guarantor's deployable capacity.

Equations (per commitment row k of guarantor g, future n)::

    deployed_k   = sum_posture(ground + trainers) + aircraft * crew_per_aircraft
                   + ships * crew_per_ship
    required_k   = deployed_k * rotation_ratio * (1 + enabler_share)
    available_g  = active_g * deployable_share * (1 - committed_share) * force_generation
    capacity_ratio_k = available_g / required_k        (NaN when nothing is required)
    shortfall_k  = max(0, required_k - available_g)    (flagged per guarantor)

Rotation: the rule of thirds (one deployed, one preparing, one recovering),
UK harmony guidelines and US BOG:dwell goals; deployable share: NATO
usability targets. Sources in ``data/parameters/forces.yaml``. Properties:
the pool is at least the deployed force and linear in it.
"""

from __future__ import annotations

import numpy as np

from foedus.models.inputs import Inputs
from foedus.models.levers import Levers


def capacity_share(x: Inputs) -> np.ndarray:
    return x["forces.deployable_share"] * (1.0 - x["forces.committed_share"]) * x["forces.force_generation"]


def pool_factor(x: Inputs) -> np.ndarray:
    """Personnel in the pool per person deployed."""
    return x["forces.rotation_ratio"] * (1.0 + x["forces.enabler_share"])


def deployed_parts(lv: Levers) -> np.ndarray:
    """``(K, 3)``: people, aircraft, ships per row (lever-only)."""
    return np.stack([(lv.ground + lv.trainers).sum(axis=1), lv.aircraft.sum(axis=1), lv.ships.sum(axis=1)], axis=1)


def crew_factors(x: Inputs) -> np.ndarray:
    """``(3, n|1)``: persons per person, per aircraft, per ship."""
    a, s = x["forces.air_personnel_per_aircraft"], x["forces.naval_personnel_per_ship"]
    width = max(a.size, s.size)
    return np.stack([np.ones(width), np.broadcast_to(a, (width,)), np.broadcast_to(s, (width,))])


def deployed(lv: Levers, x: Inputs) -> np.ndarray:
    """Personnel deployed per row, ``(K, n|1)``."""
    return deployed_parts(lv) @ crew_factors(x)


def required_pool(deployed_k: np.ndarray, x: Inputs) -> np.ndarray:
    """Pool that must exist to keep ``deployed_k`` in place: linear in it."""
    return deployed_k * pool_factor(x)[None, :]


def available(lv: Levers, x: Inputs) -> np.ndarray:
    """Deployable capacity per guarantor, ``(G, n|1)``."""
    return lv.active[:, None] * capacity_share(x)[None, :]


def shortfall_rows(lv: Levers, x: Inputs, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(deployed, required, available, shortfall)`` for ``rows`` (default all), each ``(R, n|1)``."""
    rows = np.arange(lv.n_rows) if rows is None else rows
    parts, active = lv.memo(("shortfall_rows", rows.tobytes()), lambda: (deployed_parts(lv)[rows], lv.active[lv.row_guarantor[rows]][:, None]))
    dep = parts @ crew_factors(x)
    req = required_pool(dep, x)
    avail = active * capacity_share(x)[None, :]
    avail = np.broadcast_to(avail, np.broadcast_shapes(avail.shape, req.shape))
    return dep, req, avail, np.maximum(req - avail, 0.0)


def forces(lv: Levers, x: Inputs) -> dict[str, np.ndarray]:
    """Per-row detail (compare, web): deployed, pool, capacity, ratio, shortfall."""
    dep, req, avail, short = shortfall_rows(lv, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(req > 0, avail / np.where(req > 0, req, 1.0), np.nan)
    return {
        "troops_deployed": dep,
        "troops_required_pool": req,
        "troops_available": avail,
        "capacity_ratio": ratio,
        "shortfall": short,
    }


def _package_levers(lv: Levers):
    parts = deployed_parts(lv)
    D = np.nonzero(parts.sum(axis=1) > 0)[0]
    I = np.zeros((lv.n_packages, D.size))
    I[lv.row_package[D], np.arange(D.size)] = 1.0
    return lv.sum_rows(parts), D, I


def package_forces(lv: Levers, x: Inputs) -> dict[str, np.ndarray]:
    """Per-package totals ``(P, n)`` and the shortfall of deploying rows."""
    parts, D, I = lv.memo("package_forces", lambda: _package_levers(lv))
    dep = parts @ crew_factors(x)
    _, _, _, short = shortfall_rows(lv, x, D)
    return {
        "troops_deployed": dep,
        "troops_required_pool": dep * pool_factor(x)[None, :],
        "guarantors_short": I @ (short > 0).astype(np.float64),
        "deploying_rows": D,
        "shortfall_deploying": short,
    }
