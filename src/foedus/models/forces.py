"""Forces: troops deployed, the pool needed to sustain them, and each
guarantor's deployable capacity.

Equations (per commitment row k of guarantor g, future n)::

    deployed_k   = sum_posture(ground + trainers) + aircraft * crew_per_aircraft
                   + ships * crew_per_ship
    required_k   = deployed_k * rotation_ratio * (1 + enabler_share)
    available_g  = active_g * deployable_share * (1 - committed_share) * force_generation
    capacity_ratio_k = available_g / required_k        (NaN when nothing is required)
    shortfall_k  = max(0, required_k - available_g)

Rotation: the rule of thirds (one deployed, one preparing, one recovering),
UK harmony guidelines and US BOG:dwell goals; deployable share: NATO
usability targets. Sources in ``data/parameters/forces.yaml``.
"""

from __future__ import annotations

import numpy as np

from foedus.models.inputs import Inputs
from foedus.models.levers import Levers


def deployed(lv: Levers, x: Inputs) -> np.ndarray:
    """Personnel deployed per row, ``(K, n|1)``."""
    people = (lv.ground + lv.trainers).sum(axis=1)[:, None]
    air = lv.aircraft.sum(axis=1)[:, None] * x["forces.air_personnel_per_aircraft"][None, :]
    sea = lv.ships.sum(axis=1)[:, None] * x["forces.naval_personnel_per_ship"][None, :]
    return people + air + sea


def required_pool(deployed_k: np.ndarray, x: Inputs) -> np.ndarray:
    """Pool that must exist to keep ``deployed_k`` in place: linear in it."""
    return deployed_k * (x["forces.rotation_ratio"] * (1.0 + x["forces.enabler_share"]))[None, :]


def available(lv: Levers, x: Inputs) -> np.ndarray:
    """Deployable capacity per guarantor, ``(G, n|1)``."""
    share = x["forces.deployable_share"] * (1.0 - x["forces.committed_share"]) * x["forces.force_generation"]
    return lv.active[:, None] * share[None, :]


def forces(lv: Levers, x: Inputs) -> dict[str, np.ndarray]:
    dep = deployed(lv, x)
    req = required_pool(dep, x)
    avail = lv.row_values(available(lv, x))
    avail = np.broadcast_to(avail, np.broadcast_shapes(avail.shape, req.shape))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(req > 0, avail / np.where(req > 0, req, 1.0), np.nan)
    return {
        "troops_deployed": dep,
        "troops_required_pool": req,
        "troops_available": avail,
        "capacity_ratio": ratio,
        "shortfall": np.maximum(req - avail, 0.0),
    }
