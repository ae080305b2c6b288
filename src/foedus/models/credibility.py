"""Credibility: the probability that a guarantor fights (or delivers what it
promised) when the trigger occurs.

Equation (row k of guarantor g, future n)::

    h_k    = handtying_max * (1 - exp(-troops_in_ukraine_k / handtying_scale))
    base_k = reliability_prior * legal_form[form_k] * trigger[trigger_k] * interest_g
    cred_k = will_g * (h_k + (1 - h_k) * base_k)

``reliability_prior``: defence pacts honoured 41% of the time, 22-75% by
study (Berkemeier & Fuhrmann 2018, doi:10.1177/2053168018799116; Leeds, Long
& Mitchell 2000, doi:10.1177/0022002700044005006). Legal form and trigger
multipliers: reliability-enhancing design (Mattes 2012,
doi:10.1017/S002081831200029X; Chiba, Johnson & Leeds 2015,
doi:10.1086/682074). Hand-tying with diminishing returns: Schelling (1966);
small tripwires alone do not deter (Reiter & Poast 2021, TNSR 4(3)). The
form is ``will * (1 - (1-h)(1-base))``: troops in harm's way and the legal
promise are two routes to fighting, and no will means no fighting.
Properties: treaty >= executive agreement >= declaration; more troops never
lower it; will = 0 gives 0; always in [0, 1].
"""

from __future__ import annotations

import numpy as np

from foedus.models.inputs import Inputs
from foedus.models.levers import FORMS, IN_UKRAINE, TRIGGERS, Levers


def troops_in_ukraine(lv: Levers) -> np.ndarray:
    return (lv.ground + lv.trainers)[:, IN_UKRAINE].sum(axis=1)


def credibility(lv: Levers, x: Inputs) -> np.ndarray:
    """Credibility per row, ``(K, n|1)``."""
    form = x.table("credibility.legal_form", FORMS)[lv.form]
    trig = x.table("credibility.trigger", TRIGGERS)[lv.trigger]
    front = lv.row_values(lv.frontline)[:, None]
    interest = np.where(front, x["credibility.interest.frontline"][None, :], x["credibility.interest.other"][None, :])
    base = x["credibility.reliability_prior"][None, :] * form * trig * interest
    t = troops_in_ukraine(lv)[:, None]
    h = x["credibility.handtying_max"][None, :] * -np.expm1(-t / x["credibility.handtying_scale"][None, :])
    will = lv.row_values(x.per_guarantor("will", lv.guarantors))
    return will * (h + (1.0 - h) * base)
