"""Escalation: risk of a direct confrontation between nuclear powers over the
horizon, peacetime clashes, and the adversary's acceptance of a deal that
includes the package.

Equations (package p, future n)::

    exposure_p  = sum_{guarantor rows q of nuclear-weapon states} sum_post clash_rate[post] * [personnel_q,post > 0]
    incident    = 1 - exp(-horizon * exposure_p)
    war_path    = attack * phi_nuclear
    risk        = 1 - (1 - war_path) * (1 - incident * escalation_given_incident)

    weighted    = sum_q sum_post personnel_q,post * clash_rate[post] / clash_rate[western_ukraine]
                  (postures in Ukraine and offshore; forces on NATO territory next door count 0)
    acceptance  = base * exp(-troops_per_10k * weighted / 1e4)
                  * (1 - rej_nato)^[NATO membership] * (1 - rej_treaty)^[any ratified automatic pact]
                  * (1 - rej_umbrella)^[any umbrella]

``personnel`` counts ground, air-defence, trainers, monitors and the crews
of aircraft and ships. ``phi_nuclear`` is the probability that a
nuclear-weapon-state guarantor fights if the war resumes (credibility).

A clash is counted per *contingent* (a nuclear-weapon state's forces at one
posture), not per soldier: the evidence is a rate of clashes where forces of
nuclear powers operated near each other (US and Russian or Russian-directed
forces in Syria, 2015-23: Khasham, Feb 2018; the collision of Aug 2020),
not a rate per head. None of the dozens of close military encounters
logged between Russia and the West since 2014 (European Leadership Network)
escalated to a confrontation between nuclear powers, which bounds
``escalation_given_incident``. Forces based on NATO territory next door do
not lower acceptance: the US 28-point draft (Nov 2025) itself based European
fighter jets in Poland. Russia's stated position is that NATO-country troops
in Ukraine "under any flag" are unacceptable (Lavrov, March 2025).
"""

from __future__ import annotations

import numpy as np

from foedus.models.by_package import product
from foedus.models.compiled import exp, kernel, one_minus_exp
from foedus.models.forces import crew_factors
from foedus.models.inputs import Inputs, widen
from foedus.models.levers import POSTURES, Levers

_WEST = POSTURES.index("western_ukraine")
_NEXT_DOOR = POSTURES.index("neighbouring_territory")


def _levers(lv: Levers):
    people = lv.sum_rows(lv.ground + lv.trainers + lv.monitors)  # (Q, 5)
    air = lv.sum_rows(lv.aircraft)
    sea = lv.sum_rows(lv.ships)
    nuclear = lv.row_values(lv.nuclear)
    return (
        lv.sum_packages(people),
        lv.sum_packages(air),
        lv.sum_packages(sea),
        nuclear,
        people,
        air,
        sea,
        lv.sum_packages(lv.treaty_defence.astype(float), level="e") > 0,
        lv.sum_packages(lv.umbrella.astype(float), level="e") > 0,
    )


def escalation(lv: Levers, x: Inputs, attack: np.ndarray, fights: np.ndarray, horizon: float) -> dict[str, np.ndarray]:
    P, n = lv.n_packages, x.n
    rate = x.table("escalation.clash_rate", POSTURES)  # (5, n|1)
    pk_people, pk_air, pk_sea, nuclear, people, air, sea, treaty, umbrella = lv.memo("escalation", lambda: _levers(lv))
    crews = crew_factors(x)  # (3, n|1)
    # contingents of nuclear-weapon states: present at a posture or not
    present = lv.memo("contingents", lambda: lv.sum_packages(((people + air + sea) > 0) * nuclear[:, None]))  # (P, 5)
    exposure = product(present, rate)
    rel = rate / rate[_WEST][None, :]
    rel = np.where((np.arange(len(POSTURES)) == _NEXT_DOOR)[:, None], 0.0, rel)  # (5, n|1)
    weighted = (product(pk_people, rel) + product(pk_air, rel) * crews[1][None, :] + product(pk_sea, rel) * crews[2][None, :]) / 1e4
    rejections = lv.memo("rejections", lambda: np.stack([lv.nato_membership, treaty, umbrella], axis=1).astype(np.float64))  # (P, 3)
    rejection = np.stack([widen(x[k], n) for k in ("escalation.rejection.nato_membership", "escalation.rejection.mutual_defence_treaty",
                                                   "escalation.rejection.nuclear_umbrella")])
    risk, incident, acc = _escalation(widen(exposure, n), widen(weighted, n), widen(attack, n), widen(fights, n), float(horizon),
                                      widen(x["escalation.escalation_given_incident"], n), widen(x["escalation.acceptance_base"], n),
                                      widen(x["escalation.rejection.troops_per_10k"], n), rejections, rejection)
    return {"escalation_risk": risk, "incident_probability": incident, "adversary_acceptance": acc}


@kernel
def _escalation(exposure, weighted, attack, fights, horizon, given_incident, base, per_10k, rejects, rejection):
    """The equations of the module docstring for every package ``p`` and
    future ``i``, ``(P, n)`` each, from the clash exposure and the weighted
    troops (``(P, n)``); ``rejects[p, j]`` is 1 when package ``p`` has
    feature ``j`` (NATO membership, a ratified automatic pact, an
    umbrella), whose rejection rate is ``rejection[j, i]``."""
    P, n = exposure.shape
    risk, incident, acc = np.empty((P, n)), np.empty((P, n)), np.empty((P, n))
    for p in range(P):
        for i in range(n):
            incident[p, i] = one_minus_exp(horizon * exposure[p, i])
            war_path = attack[p, i] * fights[p, i]
            clash = incident[p, i] * given_incident[i]
            # = 1 - (1 - war_path) * (1 - clash), written so that rounding
            # never puts the total below either path
            risk[p, i] = war_path + clash * (1.0 - war_path)
            acc[p, i] = base[i] * exp(-per_10k[i] * weighted[p, i])
        for j in range(rejects.shape[1]):
            for i in range(n):
                acc[p, i] *= 1.0 - rejects[p, j] * rejection[j, i]
    return risk, incident, acc
