"""Escalation: risk of direct confrontation between nuclear powers over the
horizon, and the adversary's acceptance of a deal that includes the package.

Equations (package p, future n)::

    exposure_p = sum_{k nuclear} sum_post hazard[post] * (sum_roe personnel * roe_mult
                 + aircraft * crew + ships * crew) / 1e4
    incident   = 1 - exp(-horizon * exposure_p)
    fight_nuc  = 1 - prod_k (1 - cred_k * [nuclear_g and combat_k])
    risk       = 1 - (1 - attack * fight_nuc) * (1 - incident)

    weighted   = sum_k sum_post (personnel + aircraft * crew + ships * crew)_k,post
                 * hazard[post] / hazard[western_ukraine] / 1e4    (all postures, so forces
                 next door count for the ratio of their hazard, e.g. 0.125)
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
from foedus.models.sums import CredSums

_WEST = POSTURES.index("western_ukraine")


def _crews(lv_ps: tuple[np.ndarray, np.ndarray], x: Inputs) -> np.ndarray:
    air, sea = lv_ps
    return air[:, :, None] * x["forces.air_personnel_per_aircraft"][None, None, :] + sea[:, :, None] * x["forces.naval_personnel_per_ship"][None, None, :]


def _levers(lv: Levers):
    nuc = lv.row_values(lv.nuclear).astype(float)
    return (
        lv.sum_rows(lv.personnel_roe * nuc[:, None, None]),  # (P, 5, 3) nuclear-state personnel
        lv.sum_rows(lv.aircraft * nuc[:, None]),
        lv.sum_rows(lv.ships * nuc[:, None]),
        lv.sum_rows(lv.ground + lv.trainers),
        lv.sum_rows(lv.aircraft),
        lv.sum_rows(lv.ships),
        lv.sum_rows(lv.treaty_defence.astype(float)) > 0,
        lv.sum_rows(lv.umbrella.astype(float)) > 0,
        lv.sum_rows(lv.air_over_ukraine.astype(float)),
    )


def escalation(lv: Levers, x: Inputs, cs: CredSums, attack: np.ndarray, horizon: float) -> dict[str, np.ndarray]:
    P = lv.n_packages
    hazard = x.table("escalation.incident_hazard", POSTURES)  # (5, m)
    roe = x.table("escalation.roe", ROES)  # (3, m)
    nuclear = lv.row_values(lv.nuclear)
    L_roe, L_air, L_sea, plain_people, plain_air, plain_sea, treaty, umbrella, n_air = lv.memo("escalation", lambda: _levers(lv))
    people = (L_roe.reshape(P * len(POSTURES), len(ROES)) @ roe).reshape(P, len(POSTURES), -1) + _crews((L_air, L_sea), x)
    exposure = (people * hazard[None, :, :]).sum(axis=1) / 1e4
    incident = -np.expm1(-horizon * exposure)
    fight = cs.any_of(nuclear & lv.combat, key="nuclear_combat")
    # = 1 - (1 - attack * fight) * (1 - incident), written so that rounding
    # can never put the total below the incident path
    risk = incident + attack * fight * (1.0 - incident)

    plain = plain_people[:, :, None] + _crews((plain_air, plain_sea), x)
    rel = hazard / hazard[_WEST][None, :]
    weighted = (plain * rel[None, :, :]).sum(axis=1) / 1e4
    acc = x["escalation.acceptance_base"] * np.exp(-x["escalation.rejection.troops_per_10k"] * weighted)
    acc = acc * np.where(lv.nato_membership[:, None], 1.0 - x["escalation.rejection.nato_membership"][None, :], 1.0)
    acc = acc * np.where(treaty[:, None], 1.0 - x["escalation.rejection.mutual_defence_treaty"][None, :], 1.0)
    acc = acc * np.where(umbrella[:, None], 1.0 - x["escalation.rejection.nuclear_umbrella"][None, :], 1.0)
    acc = acc * (1.0 - x["escalation.rejection.air_power"][None, :]) ** n_air[:, None]
    return {
        "escalation_risk": risk,
        "incident_probability": incident,
        "nuclear_guarantor_fights": fight,
        "adversary_acceptance": acc,
    }
