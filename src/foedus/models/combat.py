"""Combat: if deterrence fails, the probability that the defence holds and
the losses of a renewed campaign.

Equations (package p, future n)::

    holds             = 1 - p_win                 (same contest function as deterrence)
    attacker_per_day  = attacker_loss_rate * D
    defender_per_day  = attacker_loss_rate / defender_advantage**2 * R
    casualties_if_war = campaign_days * (attacker_per_day + defender_per_day)
    expected_casualties = attack_probability * casualties_if_war

Lanchester's square law (1916): with attrition coefficients a (defender on
attacker) and b (attacker on defender), a defender worth ``k`` attackers has
a/b = k**2. ``a`` is calibrated on Russia's casualties against Ukraine's
defence in 2022-25 (about 850 a day against about 800,000). The linear-in-time
losses are the first-order solution of the Lanchester equations over a
campaign short relative to force depletion. Symmetric forces favour the
defender (holds > 0.5 whenever defender_advantage > 1).
"""

from __future__ import annotations

import numpy as np

from foedus.models.inputs import Inputs


def combat(D: np.ndarray, p_win: np.ndarray, attack: np.ndarray, x: Inputs) -> dict[str, np.ndarray]:
    a = x["combat.attacker_loss_rate"]
    k = x["deterrence.defender_advantage"]
    R = x["deterrence.adversary_forces"]
    attacker = a * D
    defender = np.broadcast_to(a / k**2 * R, attacker.shape)
    casualties = x["combat.campaign_days"] * (attacker + defender)
    return {
        "defence_holds_probability": 1.0 - p_win,
        "attacker_casualties_per_day": attacker,
        "defender_casualties_per_day": defender,
        "casualties_if_war": casualties,
        "expected_casualties": attack * casualties,
    }
