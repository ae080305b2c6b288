"""Deterrence: probability that the adversary renews the war within the horizon.

A yearly hazard in the units the evidence uses (ceasefire durations are
hazard analyses: Fortna 2003, doi:10.1017/S0020818303572046), written as a
base rate times bounded effects, plus a floor no guarantee removes. Per
package p and future n::

    h      = h_floor + (1 - h_floor) * h_base * HR_guarantees * prod_t HR_t ** phi_t
    attack = 1 - (1 - h) ** H

*The local balance* (what can fight in the decisive window)::

    w_post  = exp(-arrival_days[post] / decisive_window_days)
    power_e = sum_post w_post * (ground + aircraft * te_air + ships * te_ship)
              + mutual_defence_e * active_g * surge_share * exp(-arrival_days.surge / window)
    funds   = (ukraine_own_defence + sum_e deliv_e * aid_e) / (ukraine_own_defence + aid_baseline)
    U       = min(ukraine_forces, force_cap_p) * funds + sum_e deliv_e * trainers_e * te_per_trainer
    intel   = 1 - prod_e (1 - deliv_e)                   over intelligence sharers
    D       = U * (1 + intelligence_multiplier * intel) + sum_e cred_e * power_e
    B       = D / adversary_forces

*The base hazard*, identified by an intercept and a slope::

    odds(h_base) = odds(base_hazard) * resolve * (B / reference_force_ratio) ** (-balance_elasticity)

``base_hazard`` is the yearly hazard of renewed war for Ukraine alone at its
strength at the ceasefire (B = reference_force_ratio, resolve = 1), fitted
to the ceasefire base rate; ``balance_elasticity`` is the response of the
odds of attack to the local balance (Huth 1988: what deters is the
capability to deny a quick victory). Ukraine's strength scales with the
money behind it (``funds``): a package that delivers today's aid keeps
today's army; one that delivers none leaves what Ukraine's own budget
sustains.

*Guarantees* (promises to fight), bounded and saturating::

    A_q = sum_{e in q} power_e                     forces guarantor q can bring in the window if it fights
    k_q = 1 - exp(-A_q / decisive_force)           the share of a decisive force it can bring
    S   = 1 - prod_q (1 - pact_effect * F_q * k_q)      F_q: probability that q fights
    HR_guarantees = 1 - S

A guarantor's effect comes from the forces it can bring in the decisive
window and from the credibility of its promise; global defence budgets do
not enter. One pact lowers the hazard above the floor by at most
``pact_effect`` (a guarantor certain to fight with a decisive force; fitted
to the single-pact evidence for a US pact); pacts combine as independent
chances that someone fights with a force that counts, so that ``n`` pacts
each at most ``c`` give ``HR_guarantees >= (1 - c) ** n``, and no
combination takes the hazard below ``h_floor``: the guarantees saturate at
the floor, set by the strongest case on record (NATO's frontline members,
about 1% a decade). How pacts combine is checked, not fitted, against that
record (Ukraine in NATO).

*Terms* multiply the hazard by ``HR_t ** phi_t``: sanctions snap-back
(``phi``: the probability it is applied, its credibility), ceasefire
monitoring and a joint commission (``phi``: delivery), a buffer zone
(``phi`` = 1).

Properties: adding a commitment never raises ``h`` (D, every F_q, k_q and
phi only grow, every HR <= 1, balance_elasticity >= 0); a more resolute
adversary (resolve or adversary_forces up) never lowers it; ``h >=
h_floor`` whatever the number of pacts; one pact gives ``HR_guarantees
>= 1 - pact_effect``. ``p_win`` (the adversary's chance that an offensive
succeeds, Hirshleifer 1989, doi:10.1007/BF00045776) is computed here for the
combat model; it does not enter the hazard.
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable
from scipy.special import logit

from foedus.models.compiled import exp, kernel, log, log1p, one_minus_exp
from foedus.models.inputs import Inputs, stack_rows, widen
from foedus.models.levers import POSTURES, Levers
from foedus.models.sums import DELIVERY, Probabilities

#: Terms that multiply the yearly hazard: name -> parameter.
HAZARD_RATIOS = {
    "sanctions": "deterrence.hazard_ratio.sanctions",
    "monitoring": "deterrence.hazard_ratio.monitoring",
    "commission": "deterrence.hazard_ratio.joint_commission",
    "buffer_zone": "deterrence.hazard_ratio.buffer_zone",
}


def arrival_weights(x: Inputs) -> np.ndarray:
    """``(5, n|1)`` share of each posture's power that arrives in time."""
    return np.exp(-x.table("deterrence.arrival_days", POSTURES) / x["deterrence.decisive_window_days"][None, :])


def _power_columns(lv: Levers) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """Lever-only columns of combat power and the factor each takes."""
    cols, recipe = [], []
    for j in range(len(POSTURES)):
        for kind, lever in (("ground", lv.ground[:, j]), ("air", lv.aircraft[:, j]), ("sea", lv.ships[:, j])):
            if lever.any():
                cols.append(lever)
                recipe.append((kind, j))
    if lv.mutual_defence.any():
        cols.append(lv.mutual_defence * lv.el_values(lv.active))
        recipe.append(("surge", -1))
    if not cols:
        return np.zeros((lv.n_elements, 1)), [("none", -1)]
    return np.stack(cols, axis=1), recipe


def power_terms(lv: Levers, x: Inputs) -> tuple[np.ndarray, np.ndarray]:
    """Lever columns ``(E, J)`` and future factors ``(J, n|1)`` whose products
    summed over ``j`` give each element's combat power in troop-equivalents."""
    V, recipe = lv.memo("power_columns", lambda: _power_columns(lv))
    w = arrival_weights(x)
    facs = []
    for kind, j in recipe:
        if kind == "ground":
            facs.append(w[j])
        elif kind == "air":
            facs.append(w[j] * x["deterrence.aircraft_troop_equivalents"])
        elif kind == "sea":
            facs.append(w[j] * x["deterrence.ship_troop_equivalents"])
        elif kind == "surge":
            facs.append(x["deterrence.surge_share"] * np.exp(-x["deterrence.arrival_days.surge"] / x["deterrence.decisive_window_days"]))
        else:
            facs.append(0.0)
    return V, stack_rows(facs)


def defender_strength(lv: Levers, x: Inputs, pr: Probabilities, power: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Effective defending troop-equivalents ``D`` per package, ``(P, n)``
    (``power``: :func:`power_terms`)."""
    V, F = power
    guarantors = pr.weighted(V, F, key="power")
    help_levers = lv.memo("help", lambda: np.stack([lv.aid_usd, lv.trainers.sum(axis=1)], axis=1))
    S = pr.sums(help_levers, key="help", kind=DELIVERY)  # (2, P, n)
    own = x["deterrence.ukraine_own_defence_usd"]
    funds = (own + S[0]) / (own + x["deterrence.ukraine_aid_baseline_usd"])
    ukraine = np.minimum(x["deterrence.ukraine_forces"][None, :], lv.force_cap[:, None]) * funds
    ukraine = ukraine + S[1] * x["deterrence.training_troop_equivalents_per_trainer"]
    intel = pr.any_of(lv.intel, key="intel", kind=DELIVERY)
    return ukraine * (1.0 + x["deterrence.intelligence_multiplier"] * intel) + guarantors


@register_jitable(inline="always")
def base_hazard(log_B, logit_base, log_resolve, elasticity, log_reference):
    """``h_base``: the yearly hazard at local balance ``B = D / R``,
    ``odds = odds(base_hazard) * resolve * (B / B_ref) ** -elasticity``,
    from ``log B`` and the logarithms of the rest."""
    return 1.0 / (1.0 + exp(elasticity * (log_B - log_reference) - logit_base - log_resolve))


@register_jitable(inline="always")
def win_probability(log_B, log_advantage, decisiveness):
    """The adversary's probability that a renewed offensive succeeds
    (combat), ``1 / (1 + (defender_advantage * B) ** decisiveness)``."""
    return 1.0 / (1.0 + exp(decisiveness * (log_advantage + log_B)))


@register_jitable(inline="always")
def one_minus_power(h, m):
    """``1 - (1 - h) ** m``: the probability of at least one attack in
    ``m`` years at yearly hazard ``h`` (and the yearly probability when
    the continuous-time hazard is multiplied by ``m``)."""
    return one_minus_exp(-m * log1p(-h))


@kernel
def _hazards(D, adversary, logit_base, log_resolve, elasticity, log_reference, log_advantage, decisiveness, shape, shaped, S,
             phi_0, phi_1, phi_2, phi_3, log_hr, floor, horizon):
    """``(h_base, win, h, attack)``, ``(P, n)`` each, in one pass over
    packages and futures, from the defender's strength ``D`` and the
    guarantees' share ``S`` ``(P, n)``, the hazard-ratio terms' ``phi_t``
    ``(P, n)`` and ``log HR_t`` ``(4, n)`` (terms in the order of
    :data:`HAZARD_RATIOS`) and the adversary's inputs ``(n,)``::

        B      = D / adversary_forces
        h_base = base_hazard(log B)               then, if ``shaped`` (time
                                                  axis), one_minus_power(h_base, shape)
        win    = win_probability(log B)
        h      = h_floor + (1 - h_floor) * h_base * (1 - S) * exp(sum_t phi_t log HR_t)
        attack = one_minus_power(h, horizon)
    """
    P, n = D.shape
    h_base, win, h, attack = np.empty((P, n)), np.empty((P, n)), np.empty((P, n)), np.empty((P, n))
    for p in range(P):
        for i in range(n):
            log_B = log(D[p, i] / adversary[i])
            b = base_hazard(log_B, logit_base[i], log_resolve[i], elasticity[i], log_reference[i])
            if shaped:
                b = one_minus_power(b, shape[i])
            h_base[p, i] = b
            win[p, i] = win_probability(log_B, log_advantage[i], decisiveness[i])
            terms = 0.0
            terms += phi_0[p, i] * log_hr[0, i]
            terms += phi_1[p, i] * log_hr[1, i]
            terms += phi_2[p, i] * log_hr[2, i]
            terms += phi_3[p, i] * log_hr[3, i]
            h[p, i] = floor[i] + (1.0 - floor[i]) * b * (1.0 - S[p, i]) * exp(terms)
            attack[p, i] = one_minus_power(h[p, i], horizon)
    return h_base, win, h, attack


def channels(lv: Levers, x: Inputs, pr: Probabilities, power: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
    """``phi`` of every hazard-ratio term, ``(P, n|1)`` each; the share
    ``S`` of the largest guarantee effect achieved, and the probability that
    a nuclear-weapon state fights (``power``: :func:`power_terms`)."""
    V, F = power
    S, nuclear = pr.guarantees(V, F, x["deterrence.decisive_force"], x["deterrence.pact_effect"])
    return {
        "guarantees": S,
        "nuclear": nuclear,
        "sanctions": pr.any_of(lv.snapback, key="snapback"),
        "monitoring": pr.any_of(lv.monitoring, key="monitoring", kind=DELIVERY),
        "commission": pr.any_of(lv.joint_commission, key="commission", kind=DELIVERY),
        "buffer_zone": lv.buffer_zone[:, None].astype(np.float64),
    }


def deterrence(lv: Levers, x: Inputs, pr: Probabilities, horizon: float, shape: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The hazard and its parts, ``(P, n)`` each; ``shape`` (time axis)
    multiplies the base hazard's continuous-time rate: ``h_base -> 1 - (1 -
    h_base) ** shape``."""
    power = power_terms(lv, x)
    D = defender_strength(lv, x, pr, power)
    phi = channels(lv, x, pr, power)
    n = x.n
    log_hr = np.stack([widen(np.log(x[param]), n) for param in HAZARD_RATIOS.values()])
    per_future = (
        x["deterrence.adversary_forces"],
        logit(x["deterrence.base_hazard"]),
        np.log(x["deterrence.resolve"]),
        x["deterrence.balance_elasticity"],
        np.log(x["deterrence.reference_force_ratio"]),
        np.log(x["deterrence.defender_advantage"]),
        x["deterrence.decisiveness"],
        x["deterrence.floor_hazard"],
    )
    adversary, logit_base, log_resolve, elasticity, log_reference, log_advantage, decisiveness, floor = (widen(v, n) for v in per_future)
    h_base, win, h, attack = _hazards(widen(D, n), adversary, logit_base, log_resolve, elasticity, log_reference, log_advantage, decisiveness,
                                      widen(shape if shape is not None else 1.0, n), shape is not None, widen(phi["guarantees"], n),
                                      *(widen(phi[name], n) for name in HAZARD_RATIOS), log_hr, floor, float(horizon))
    return {
        "defender_strength": D,
        "adversary_win_probability": win,
        "base_hazard": h_base,
        "guarantee_share": phi["guarantees"],
        "guarantee_hazard_ratio": 1.0 - phi["guarantees"],
        "nuclear_guarantor_fights": phi["nuclear"],
        **{f"phi_{k}": v for k, v in phi.items() if k in HAZARD_RATIOS},
        "annual_attack_probability": h,
        "attack_probability": attack,
    }
