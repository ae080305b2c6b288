"""Escalation: risk of direct confrontation between nuclear powers over the
horizon, and the adversary's acceptance of a deal that includes the package.

Equations (package p, future n)::

    exposure_k = nuclear_g * sum_{posture, roe} personnel * hazard[posture] * roe_mult / 1e4
    incident   = 1 - exp(-horizon * sum_k exposure_k)
    fight_nuc  = 1 - prod_k (1 - cred_k * nuclear_g * combat_k)
    risk       = 1 - (1 - attack * fight_nuc) * (1 - incident)

    weighted   = sum_k personnel_k,posture * hazard[posture] / hazard[western_ukraine] / 1e4
    acceptance = base * exp(-rejection_troops * weighted)
                 * (1 - rej_nato)^[NATO membership] * (1 - rej_treaty)^[any ratified automatic pact]
                 * (1 - rej_umbrella)^[any umbrella] * (1 - rej_air)^(number of air guarantors)

Russia's stated position: NATO-country troops in Ukraine "under any flag"
are unacceptable and would be "legitimate targets" (Lavrov, March 2025;
Putin, 5 September 2025). Hazards rise towards the contact line, so the same
troops carry more incident risk, and less acceptance, there than in western
Ukraine.
"""

from __future__ import annotations

import numpy as np

from foedus.models.inputs import Inputs
from foedus.models.levers import POSTURES, ROES, Levers

_WEST = POSTURES.index("western_ukraine")


def _personnel_by_posture(lv: Levers, x: Inputs) -> np.ndarray:
    """``(K, 5, n|1)`` personnel by posture, crews included, weighted by ROE."""
    K, P5, R3 = lv.personnel_roe.shape
    roe = x.table("escalation.roe", ROES)  # (3, m)
    ground = (lv.personnel_roe.reshape(K * P5, R3) @ roe).reshape(K, P5, -1)
    crews = (
        lv.aircraft[:, :, None] * x["forces.air_personnel_per_aircraft"][None, None, :]
        + lv.ships[:, :, None] * x["forces.naval_personnel_per_ship"][None, None, :]
    )
    return ground + crews


def escalation(lv: Levers, x: Inputs, cred: np.ndarray, attack: np.ndarray, horizon: float) -> dict[str, np.ndarray]:
    hazard = x.table("escalation.incident_hazard", POSTURES)  # (5, n|1)
    people = _personnel_by_posture(lv, x)  # (K, 5, m)
    nuclear = lv.row_values(lv.nuclear)
    exposure = (people * hazard[None, :, :]).sum(axis=1) * (nuclear[:, None] / 1e4)
    incident = -np.expm1(-horizon * lv.sum_rows(exposure))
    fight = 1.0 - lv.prod_rows(1.0 - cred * (nuclear & lv.combat)[:, None])
    risk = 1.0 - (1.0 - attack * fight) * (1.0 - incident)

    plain = (lv.ground + lv.trainers)[:, :, None] + (
        lv.aircraft[:, :, None] * x["forces.air_personnel_per_aircraft"][None, None, :]
        + lv.ships[:, :, None] * x["forces.naval_personnel_per_ship"][None, None, :]
    )
    rel = hazard / hazard[_WEST][None, :]
    weighted = lv.sum_rows((plain * rel[None, :, :]).sum(axis=1) / 1e4)
    acc = x["escalation.acceptance_base"] * np.exp(-x["escalation.rejection.troops_per_10k"] * weighted)
    acc = acc * np.where(lv.nato_membership[:, None], 1.0 - x["escalation.rejection.nato_membership"][None, :], 1.0)
    treaty = lv.sum_rows(lv.treaty_defence.astype(float)) > 0
    acc = acc * np.where(treaty[:, None], 1.0 - x["escalation.rejection.mutual_defence_treaty"][None, :], 1.0)
    umbrella = lv.sum_rows(lv.umbrella.astype(float)) > 0
    acc = acc * np.where(umbrella[:, None], 1.0 - x["escalation.rejection.nuclear_umbrella"][None, :], 1.0)
    n_air = lv.sum_rows(lv.air_over_ukraine.astype(float))
    acc = acc * (1.0 - x["escalation.rejection.air_power"][None, :]) ** n_air[:, None]
    return {
        "escalation_risk": risk,
        "incident_probability": incident,
        "nuclear_guarantor_fights": fight,
        "adversary_acceptance": acc,
    }
