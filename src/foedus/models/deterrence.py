"""Deterrence: probability that the adversary renews the war within the horizon.

An expected-utility (bargaining) model in the tradition of Fearon (1995,
doi:10.1017/S0020818300033324) whose cost terms are measured as hazard
ratios, the unit in which the evidence on ceasefires and alliances is
reported (Fortna 2003, doi:10.1017/S0020818303572046). Per package p and
future n::

    w_post  = exp(-arrival_days[post] / decisive_window_days)
    power_e = sum_post w_post * (ground + aircraft * te_aircraft + ships * te_ship)
              + mutual_defence_e * active_g * surge_share * exp(-arrival_days.surge / window)
    funds   = (ukraine_own_defence + sum_e deliv_e * aid_e) / (ukraine_own_defence + aid_baseline)
    U       = min(ukraine_forces, force_cap_p) * funds + sum_e deliv_e * trainers_e * te_per_trainer
    intel   = 1 - prod_e (1 - deliv_e)                       over intelligence sharers
    D       = U * (1 + intelligence_multiplier * intel) + sum_e cred_e * power_e
    p_win   = 1 / (1 + (defender_advantage * D / R) ** decisiveness)
    W       = sum_q fights_q * weight_q                      over guarantor rows q
    z       = (resolve * p_win - (1 - p_win)) / payoff_dispersion
              - war_cost * W
              + phi_sanctions * ln HR_sanctions
              + phi_monitoring * ln HR_monitoring + phi_commission * ln HR_commission
              + buffer_zone_p * ln HR_buffer_zone
    annual  = 1 / (1 + exp(-z))
    attack  = 1 - (1 - annual) ** horizon_years

``ukraine_forces`` is the force Ukraine fields with the military aid it
received in 2022-25 (``aid_baseline``, Kiel Ukraine Support Tracker); its
strength scales with the resources behind it, its own defence budget (SIPRI)
plus the aid the package delivers. A package that delivers today's aid keeps
today's army; one that delivers none leaves Ukraine with what its own budget
sustains (about 57%); more aid adds in proportion.

with fights_q the probability that guarantor q fights if Ukraine is attacked
(its promises and hand-tying combined with its will,
``Probabilities.guarantor_fights``), weight_q its defence spending over the
adversary's (country data), phi_sanctions = 1 - prod (1 - cred) over
sanctions snap-backs, and phi_monitoring, phi_commission = 1 - prod (1 -
deliv) over monitoring missions and joint commissions.

Reading the terms: the first is the bargaining core (value of success
against the cost of failure, over the yearly dispersion of the payoff). The
second is the expected cost of a wider war: each guarantor that would fight
lowers the adversary's yearly log-odds of attacking in proportion to its
military weight, so a promise by the United States (spending about six
times Russia's) weighs more than the same promise by the United Kingdom
(about 0.6); ``war_cost`` is calibrated to NATO's record and to the
deterrent effect of single defence pacts. Each ``phi * ln HR`` multiplies
the yearly odds of attacking by ``HR ** phi``, which for yearly
probabilities below 0.1 is the hazard ratio that the ceasefire studies
report. p_win is a ratio-form contest success function (Hirshleifer 1989,
doi:10.1007/BF00045776). The calibrated values (payoff_dispersion,
defender_advantage, war_cost and the hazard ratios) are fitted to the
published targets in ``data/calibration.yaml``.

Properties: adding a credible guarantor (or Ukrainian forces) never raises
the attack probability, since D, W and every phi only grow, war_cost >= 0,
every HR <= 1 and dz/dp_win = (resolve + 1) / payoff_dispersion > 0; a more resolute adversary
(resolve or R up) never lowers it; a tighter cap on Ukraine's forces never
lowers it.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from foedus.models.inputs import Inputs
from foedus.models.levers import POSTURES, Levers
from foedus.models.sums import DELIVERY, Probabilities

#: Channels that multiply the yearly odds of attack: name -> parameter.
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
            facs.append(np.zeros(1))
    width = max(f.size for f in facs)
    return V, np.stack([np.broadcast_to(f, (width,)) for f in facs])


def defender_strength(lv: Levers, x: Inputs, pr: Probabilities) -> np.ndarray:
    """Effective defending troop-equivalents ``D`` per package, ``(P, n)``."""
    V, F = power_terms(lv, x)
    guarantors = pr.weighted(V, F, key="power")
    help_levers = lv.memo("help", lambda: np.stack([lv.aid_usd, lv.trainers.sum(axis=1)], axis=1))
    S = pr.sums(help_levers, key="help", kind=DELIVERY)  # (2, P, n)
    own = x["deterrence.ukraine_own_defence_usd"]
    funds = (own + S[0]) / (own + x["deterrence.ukraine_aid_baseline_usd"])
    ukraine = np.minimum(x["deterrence.ukraine_forces"][None, :], lv.force_cap[:, None]) * funds
    ukraine = ukraine + S[1] * x["deterrence.training_troop_equivalents_per_trainer"]
    intel = pr.any_of(lv.intel, key="intel", kind=DELIVERY)
    return ukraine * (1.0 + x["deterrence.intelligence_multiplier"] * intel) + guarantors


def win_probability(D: np.ndarray, x: Inputs) -> np.ndarray:
    """Adversary's probability that a renewed offensive succeeds."""
    ratio = x["deterrence.defender_advantage"] * D / x["deterrence.adversary_forces"]
    return 1.0 / (1.0 + ratio ** x["deterrence.decisiveness"])


def channels(lv: Levers, x: Inputs, pr: Probabilities) -> dict[str, np.ndarray]:
    """``phi`` of every hazard-ratio channel, ``(P, n|1)`` each, and the
    guarantors' expected military weight ``W`` and nuclear ``phi``."""
    W, nuclear = pr.guarantor_fights()
    return {
        "weight": W,
        "nuclear": nuclear,
        "sanctions": pr.any_of(lv.snapback, key="snapback"),
        "monitoring": pr.any_of(lv.monitoring, key="monitoring", kind=DELIVERY),
        "commission": pr.any_of(lv.joint_commission, key="commission", kind=DELIVERY),
        "buffer_zone": lv.buffer_zone[:, None].astype(np.float64),
    }


def attack_probability(p_win, phi: dict[str, np.ndarray], x: Inputs, horizon: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bargaining core and channels -> log-odds, yearly and horizon probabilities."""
    z = (x["deterrence.resolve"] * p_win - (1.0 - p_win)) / x["deterrence.payoff_dispersion"] - x["deterrence.war_cost"] * phi["weight"]
    for name, param in HAZARD_RATIOS.items():
        z = z + phi[name] * np.log(x[param])
    annual = expit(z)
    with np.errstate(divide="ignore"):
        hazard = -np.log1p(-np.minimum(annual, 1.0))
    attack = -np.expm1(-horizon * hazard)
    return z, annual, attack


def deterrence(lv: Levers, x: Inputs, pr: Probabilities, horizon: float) -> dict[str, np.ndarray]:
    D = defender_strength(lv, x, pr)
    p_win = win_probability(D, x)
    phi = channels(lv, x, pr)
    z, annual, attack = attack_probability(p_win, phi, x, horizon)
    return {
        "defender_strength": D,
        "adversary_win_probability": p_win,
        "log_odds": z,
        "nuclear_guarantor_fights": phi["nuclear"],
        "fighting_weight": phi["weight"],
        **{f"phi_{k}": v for k, v in phi.items() if k in HAZARD_RATIOS},
        "annual_attack_probability": annual,
        "attack_probability": attack,
    }
