"""Approval: probability that the package is approved and stays in force.

Equations (package p, future n)::

    vetoes    = prod_a p_a ** count[p, a]         over veto players (Senate 2/3,
                Congress majorities, Commons, Bundestag, Art. 35, other
                parliaments, EU unanimity)
    nato      = prod_{m in NATO} consent_m        if the package is NATO membership
    kyiv      = kyiv[position_p]                  (a package Kyiv rejects is unstable)
    survive_k = (1 - revocation_per_year[form_k]) ** horizon
    in_force  = sum_k gdp_weight_k * survive_k    (GDP-weighted share still in force)
    approval  = kyiv * vetoes * nato * in_force

The veto players each package needs are derived from the rules in
:func:`foedus.models.levers.implied_approvals` plus those the package file
lists. Properties: every factor is a probability, so adding a veto player
never raises approval; NATO unanimity is exactly the product over members.
"""

from __future__ import annotations

import numpy as np

from foedus.models.inputs import Inputs
from foedus.models.levers import FORMS, KYIV, VETOES, Levers


def approval(lv: Levers, x: Inputs, horizon: float) -> dict[str, np.ndarray]:
    p = x.table("approval", VETOES)  # (V, n|1)
    with np.errstate(divide="ignore"):
        vetoes = np.exp(lv.vetoes @ np.log(p))  # (P, n|1); p = 0 gives exp(-inf) = 0
    consent = x.per_guarantor("approval.nato_consent", lv.nato_members).prod(axis=0)  # (n|1,)
    nato = np.where(lv.nato_membership[:, None], consent[None, :], 1.0)
    kyiv = x.table("approval.kyiv", KYIV)[lv.kyiv]
    rev = x.table("approval.revocation_per_year", FORMS)[lv.form]  # (K, n|1)
    survive = (1.0 - rev) ** horizon
    in_force = lv.sum_rows(lv.gdp_weight[:, None] * survive)
    return {
        "approval_probability": kyiv * vetoes * nato * in_force,
        "ratification_probability": vetoes * nato,
        "kyiv_acceptance": kyiv,
        "in_force_share": in_force,
    }
