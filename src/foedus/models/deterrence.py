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

from foedus.models.forces import capacity_share
from foedus.models.inputs import Inputs
from foedus.models.levers import POSTURES, Levers
from foedus.models.sums import CredSums


def arrival_weights(x: Inputs) -> np.ndarray:
    """``(5, n|1)`` share of each posture's power that arrives in time."""
    return np.exp(-x.table("deterrence.arrival_days", POSTURES) / x["deterrence.decisive_window_days"][None, :])


def _power_columns(lv: Levers) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """Lever-only columns of combat power and what factor each takes."""
    cols, recipe = [], []
    for j in range(len(POSTURES)):
        for kind, lever in (("ground", lv.ground[:, j]), ("air", lv.aircraft[:, j]), ("sea", lv.ships[:, j])):
            if lever.any():
                cols.append(lever)
                recipe.append((kind, j))
    if lv.mutual_defence.any():
        cols.append(lv.mutual_defence * lv.row_values(lv.active))
        recipe.append(("surge", -1))
    if not cols:
        return np.zeros((lv.n_rows, 1)), [("none", -1)]
    return np.stack(cols, axis=1), recipe


def power_terms(lv: Levers, x: Inputs) -> tuple[np.ndarray, np.ndarray]:
    """Lever columns ``(K, J)`` and future factors ``(J, n|1)`` whose products
    summed over ``j`` give each row's combat power in troop-equivalents."""
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
            facs.append(
                capacity_share(x)
                * x["deterrence.surge_share"]
                * np.exp(-x["deterrence.arrival_days.surge"] / x["deterrence.decisive_window_days"])
            )
        else:
            facs.append(np.zeros(1))
    width = max(f.size for f in facs)
    return V, np.stack([np.broadcast_to(f, (width,)) for f in facs])


def combat_power(lv: Levers, x: Inputs) -> np.ndarray:
    """Troop-equivalents each row brings if it fights, ``(K, n|1)`` (detail)."""
    V, F = power_terms(lv, x)
    return V @ F


def defender_strength(lv: Levers, x: Inputs, cs: CredSums) -> np.ndarray:
    """Effective defending troop-equivalents ``D`` per package, ``(P, n)``."""
    V, F = power_terms(lv, x)
    guarantors = cs.weighted(V, F, key="power")
    help_levers = lv.memo("help", lambda: np.stack([lv.aid_usd / 1e9, lv.trainers.sum(axis=1)], axis=1))
    S = cs.sums(help_levers, key="help")  # (2, P, n)
    help_te = S[0] * x["deterrence.aid_troop_equivalents_per_usd_bn"] + S[1] * x["deterrence.training_troop_equivalents_per_trainer"]
    intel = cs.any_of(lv.intel, key="intel")
    ukraine = (x["deterrence.ukraine_forces"] + help_te) * (1.0 + x["deterrence.intelligence_multiplier"] * intel)
    return ukraine + guarantors


def win_probability(D: np.ndarray, x: Inputs) -> np.ndarray:
    """Adversary's probability that a renewed offensive succeeds."""
    ratio = x["deterrence.defender_advantage"] * D / x["deterrence.adversary_forces"]
    return 1.0 / (1.0 + ratio ** x["deterrence.decisiveness"])


def escalation_cost(lv: Levers, x: Inputs, cs: CredSums) -> np.ndarray:
    nuclear = lv.row_values(lv.nuclear)
    flag = lv.umbrella | (nuclear & lv.combat)
    types = np.where(lv.umbrella, 0, 1)  # 0: explicit umbrella, 1: nuclear shadow
    shadow = np.broadcast_to(x["deterrence.nuclear_shadow"], (x.n,))
    factors = np.stack([np.ones(x.n), shadow])
    return x["deterrence.nuclear_escalation_cost"] * cs.any_of(flag, types, factors, key="escalation")


def sanctions_cost(lv: Levers, x: Inputs, cs: CredSums) -> np.ndarray:
    return x["deterrence.sanctions_cost"] * cs.any_of(lv.snapback, key="snapback")


def attack_probability(p_win, E, S, x: Inputs, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Net payoff -> yearly and horizon probabilities of renewed war."""
    delta = x["deterrence.resolve"] * p_win - (1.0 - p_win) - E - S
    annual = 1.0 / (1.0 + np.exp(-delta / x["deterrence.payoff_dispersion"]))
    attack = -np.expm1(horizon * np.log1p(-np.minimum(annual, 1.0)))
    return annual, attack


def deterrence(lv: Levers, x: Inputs, cs: CredSums, horizon: float) -> dict[str, np.ndarray]:
    D = defender_strength(lv, x, cs)
    p_win = win_probability(D, x)
    E = escalation_cost(lv, x, cs)
    S = sanctions_cost(lv, x, cs)
    annual, attack = attack_probability(p_win, E, S, x, horizon)
    return {
        "defender_strength": D,
        "adversary_win_probability": p_win,
        "escalation_cost": E,
        "sanctions_cost": S,
        "annual_attack_probability": annual,
        "attack_probability": attack,
    }
