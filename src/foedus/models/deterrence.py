"""Deterrence: probability that the adversary renews the war within the horizon.

An expected-utility (bargaining) model in the tradition of Fearon (1995,
doi:10.1017/S0020818300033324). Utility unit: the adversary's cost of a
failed renewed offensive. Per package p and future n::

    w_post   = exp(-arrival_days[post] / decisive_window_days)
    power_k  = sum_post w_post * (ground + aircraft * te_aircraft + ships * te_ship)
               + mutual_defence_k * available_g * surge_share * exp(-arrival_surge / window)
    D        = (U + aid_te + training_te) * (1 + intel_mult * intel) + sum_k cred_k * power_k
    p_win    = 1 / (1 + (defender_advantage * D / R) ** decisiveness)
    E        = nuclear_escalation_cost * (1 - prod_k (1 - cred_k * e_k))
               e_k = 1 for a nuclear umbrella, nuclear_shadow for a nuclear state's
               other combat commitments, 0 otherwise
    S        = sanctions_cost * (1 - prod_k (1 - cred_k * snapback_k))
    Delta    = resolve * p_win - (1 - p_win) - E - S
    annual   = 1 / (1 + exp(-Delta / payoff_dispersion))
    attack   = 1 - (1 - annual) ** horizon_years

with U Ukraine's forces, R the adversary's, aid_te = sum cred * aid/1e9 *
te_per_bn, training_te = sum cred * trainers * te_per_trainer, intel = 1 -
prod(1 - cred) over intelligence sharers. p_win is a ratio-form contest
success function (Hirshleifer 1989, doi:10.1007/BF00045776) with the
defender's advantage of the 3:1 debate (Mearsheimer 1989,
doi:10.2307/2538780). ``payoff_dispersion`` is calibrated so that Ukraine
alone at the central values meets Fortna's base rate of renewed war (almost
half of post-1945 interstate ceasefires; Fortna 2003,
doi:10.1017/S0020818303572010).

Properties: adding a credible guarantor (or Ukrainian forces) never raises
the attack probability, since D, E and S only grow and dDelta/dp_win =
resolve + 1 > 0; a more resolute adversary (resolve or R up) never lowers it.
"""

from __future__ import annotations

import numpy as np

from foedus.models.forces import available
from foedus.models.inputs import Inputs
from foedus.models.levers import POSTURES, Levers


def arrival_weights(x: Inputs) -> np.ndarray:
    """``(5, n|1)`` share of each posture's power that arrives in time."""
    return np.exp(-x.table("deterrence.arrival_days", POSTURES) / x["deterrence.decisive_window_days"][None, :])


def combat_power(lv: Levers, x: Inputs) -> np.ndarray:
    """Troop-equivalents each row brings if it fights, ``(K, n|1)``."""
    w = arrival_weights(x)
    power = lv.ground @ w
    power = power + (lv.aircraft @ w) * x["deterrence.aircraft_troop_equivalents"][None, :]
    power = power + (lv.ships @ w) * x["deterrence.ship_troop_equivalents"][None, :]
    if lv.mutual_defence.any():
        surge = lv.row_values(available(lv, x)) * (
            x["deterrence.surge_share"]
            * np.exp(-x["deterrence.arrival_days.surge"] / x["deterrence.decisive_window_days"])
        )[None, :]
        power = power + lv.mutual_defence[:, None] * surge
    return power


def any_of(lv: Levers, p: np.ndarray) -> np.ndarray:
    """Per package, probability that at least one row's event happens: 1 - prod(1 - p)."""
    return 1.0 - lv.prod_rows(1.0 - p)


def defender_strength(lv: Levers, x: Inputs, cred: np.ndarray) -> np.ndarray:
    """Effective defending troop-equivalents ``D`` per package, ``(P, n)``."""
    trainers = lv.trainers.sum(axis=1)[:, None]
    help_te = lv.sum_rows(cred * (lv.aid_usd[:, None] / 1e9)) * x["deterrence.aid_troop_equivalents_per_usd_bn"][None, :]
    help_te = help_te + lv.sum_rows(cred * trainers) * x["deterrence.training_troop_equivalents_per_trainer"][None, :]
    intel = any_of(lv, cred * lv.intel[:, None])
    ukraine = (x["deterrence.ukraine_forces"][None, :] + help_te) * (1.0 + x["deterrence.intelligence_multiplier"][None, :] * intel)
    return ukraine + lv.sum_rows(cred * combat_power(lv, x))


def win_probability(D: np.ndarray, x: Inputs) -> np.ndarray:
    """Adversary's probability that a renewed offensive succeeds."""
    ratio = x["deterrence.defender_advantage"] * D / x["deterrence.adversary_forces"]
    return 1.0 / (1.0 + ratio ** x["deterrence.decisiveness"])


def escalation_cost(lv: Levers, x: Inputs, cred: np.ndarray) -> np.ndarray:
    nuclear = lv.row_values(lv.nuclear)
    e = np.where(lv.umbrella, 1.0, 0.0)[:, None] + (
        (nuclear & lv.combat & ~lv.umbrella)[:, None] * x["deterrence.nuclear_shadow"][None, :]
    )
    return x["deterrence.nuclear_escalation_cost"][None, :] * any_of(lv, cred * e)


def sanctions_cost(lv: Levers, x: Inputs, cred: np.ndarray) -> np.ndarray:
    return x["deterrence.sanctions_cost"][None, :] * any_of(lv, cred * lv.snapback[:, None])


def attack_probability(p_win, E, S, x: Inputs, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Net payoff -> yearly and horizon probabilities of renewed war."""
    delta = x["deterrence.resolve"] * p_win - (1.0 - p_win) - E - S
    annual = 1.0 / (1.0 + np.exp(-delta / x["deterrence.payoff_dispersion"]))
    attack = -np.expm1(horizon * np.log1p(-np.minimum(annual, 1.0)))
    return annual, attack


def deterrence(lv: Levers, x: Inputs, cred: np.ndarray, horizon: float) -> dict[str, np.ndarray]:
    D = defender_strength(lv, x, cred)
    p_win = win_probability(D, x)
    E = escalation_cost(lv, x, cred)
    S = sanctions_cost(lv, x, cred)
    annual, attack = attack_probability(p_win, E, S, x, horizon)
    return {
        "defender_strength": D,
        "adversary_win_probability": p_win,
        "escalation_cost": E,
        "sanctions_cost": S,
        "annual_attack_probability": annual,
        "attack_probability": attack,
    }
