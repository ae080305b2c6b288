"""Credibility and delivery: the probability that a package element is
honoured when Ukraine is attacked, and the share of it delivered in
peacetime.

Equations (element e of guarantor g in package p, future n)::

    c0_e    = odds^-1( odds(reliability_prior) * step_odds ** (form_e + trigger_e) )   if e promises to act
            = 0                                                                        otherwise
    h_g     = 1 - exp(-troops_in_ukraine_g / handtying_scale)
    cred_e  = comb(h_g + (1 - h_g) * c0_e, will_g)
    deliv_e = comb(persist[form_e], will_g)
    persist[form] = (1 - (1 - r_form) ** H) / (-H * ln(1 - r_form))     mean share of the horizon in force
    comb(p, w)    = p v / (p v + (1 - p))     with v = odds(weff(w))       odds(p) times the odds of the effective will
    weff(w)       = a w / (1 + d w),  d = 2 (1 - c) / (2 c - 1),  a = c (1 + d)         c = will_ceiling

``form_e`` counts steps down from a ratified treaty (0) to a political
declaration (3), ``trigger_e`` from automatic (0) to discretionary (2).

*The fulfilment rate is counted once.* ``reliability_prior`` is the
historical rate at which defence pacts were honoured when invoked (41 %,
22-75 % by study: Berkemeier & Fuhrmann 2018, doi:10.1177/2053168018779697;
Leeds, Long & Mitchell 2000, doi:10.1177/0022002700044005006). That rate
already contains the will and interest of the average historical ally, so
``will`` is measured *relative to it*: 0.5 is the average ally (a ratified,
automatic treaty is then honoured at exactly the published rate), 0 never
honours or delivers anything.

*Will cannot erase law.* Will enters through its *effective* value
``weff``, the map that fixes 0 and 0.5 and takes 1 to ``will_ceiling``
(0.81): the odds ratio ``odds(weff(1))`` = 4.2 is the ratio between the
highest published fulfilment rate (74.5 %, specific obligations, Leeds,
Long & Mitchell 2000) and the defence-pact rate (41 %). So the most willing
guarantor on record lifts a ratified automatic treaty of the average ally
from 41 % to 74.5 %, and no will makes any promise certain: at will 1 a
political declaration with a discretionary trigger is honoured with
odds^-1(odds(0.41) * 0.54^5 * 4.2) = 0.12 at the central values. The map is
monotone, so at every will the ordering of the legal forms holds.

*One element, one credibility.* An element is one legal instrument (the
guarantor's commitments with the same form and trigger); its credibility
comes from its own form and trigger, the guarantor's will and the
guarantor's hand-tying (its own troops on Ukrainian soil, Schelling 1966;
small tripwires tie hands little, Reiter & Poast 2021). A ground force under
self-defence rules promises nothing (``c0 = 0``): it fights only as far as
its presence ties its guarantor's hands. A group's collective measure is one
decision of the group: the group's will, no hand-tying.

*Delivery* (aid, training, intelligence, monitoring, a joint commission,
humanitarian and reconstruction money) does not depend on anyone fighting:
it is the share of the horizon the commitment stays in force (its legal
form's yearly revocation rate, ``approval.revocation_per_year``), moved by
the guarantor's will in the same way. Troops in Ukraine do not raise it.

Properties: treaty >= congressional-executive >= executive agreement >=
declaration and automatic >= after consultation >= discretionary at every
will (each step multiplies the odds by ``step_odds`` < 1); more troops in
Ukraine never lower credibility; will = 0 gives 0; will = 1 gives at most
``comb(p, ceiling)`` < 1 for any p < 1; all values in [0, 1].
"""

from __future__ import annotations

import numpy as np

from foedus.models.inputs import Inputs
from foedus.models.levers import FORMS, Levers


def legal_promise(prior, step_odds, steps):
    """``odds^-1(odds(prior) * step_odds ** steps)``: the probability that a
    promise ``steps`` rungs below a ratified automatic treaty is honoured by
    the average ally."""
    o = prior / (1.0 - prior) * step_odds**steps
    return o / (1.0 + o)


def effective_will(will, ceiling):
    """``weff(w) = a w / (1 + d w)``: the Moebius map with ``weff(0) = 0``,
    ``weff(0.5) = 0.5`` and ``weff(1) = ceiling`` (``0.5 < ceiling < 1``).
    Monotone in ``w``; below 0.5 it is close to the identity."""
    w = np.asarray(will, dtype=np.float64)
    c = np.asarray(ceiling, dtype=np.float64)
    d = 2.0 * (1.0 - c) / (2.0 * c - 1.0)
    return c * (1.0 + d) * w / (1.0 + d * w)


def will_odds(will, ceiling):
    """Odds of the effective will, ``weff / (1 - weff)``: the factor a
    guarantor's will puts on the odds of each of its promises (1 at the
    average ally, 0 at will 0, ``odds(ceiling)`` at will 1)."""
    e = effective_will(will, ceiling)
    return e / (1.0 - e)


def combine_with_odds(p, odds):
    """``comb`` with the will given as odds: ``p * odds / (p * odds + 1 - p)``."""
    p, odds = np.broadcast_arrays(np.asarray(p, dtype=np.float64), np.asarray(odds, dtype=np.float64))
    num = p * odds
    den = num + (1.0 - p)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def combine_with_will(p, will, ceiling):
    """``comb(p, will)``: multiply the odds of ``p`` by the odds of the
    effective will (0.5 leaves ``p`` unchanged). ``will = 0`` gives 0;
    ``p = 0`` gives 0; ``will = 1`` gives ``comb(p, ceiling)``."""
    return combine_with_odds(p, will_odds(will, ceiling))


def hand_tying(troops, scale):
    """``1 - exp(-troops / scale)``: the chance that a guarantor fights
    because its own troops in Ukraine are attacked."""
    return -np.expm1(-np.asarray(troops, dtype=np.float64) / scale)


def delivery_by_form(x: Inputs, horizon: float) -> np.ndarray:
    """``(4, n|1)`` mean share of the horizon a commitment of each legal form
    stays in force, from the yearly revocation rates."""
    r = x.table("approval.revocation_per_year", FORMS)
    rate = -np.log1p(-np.minimum(r, 1.0 - 1e-12))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(rate > 0, -np.expm1(-rate * horizon) / (rate * horizon), 1.0)
    return mean


def credibility(lv: Levers, x: Inputs) -> np.ndarray:
    """Credibility of every element, ``(E, n|1)``, written element by element
    (detail and tests; the assessment uses the class form in ``sums``)."""
    steps = (lv.form + lv.trigger)[:, None]
    c0 = np.where(lv.promise[:, None], legal_promise(x["credibility.reliability_prior"][None, :], x["credibility.step_odds"][None, :], steps), 0.0)
    troops = lv.troops_in_ukraine()[lv.el_q][:, None]
    h = np.where(lv.collective[:, None], 0.0, hand_tying(troops, x["credibility.handtying_scale"][None, :]))
    return combine_with_will(h + (1.0 - h) * c0, element_will(lv, x), x["credibility.will_ceiling"])


def delivery(lv: Levers, x: Inputs, horizon: float) -> np.ndarray:
    """Peacetime delivery of every element, ``(E, n|1)``."""
    return combine_with_will(delivery_by_form(x, horizon)[lv.form], element_will(lv, x), x["credibility.will_ceiling"])


def element_will(lv: Levers, x: Inputs) -> np.ndarray:
    """``(E, n|1)`` the will parameter of every element."""
    keys = lv.will_keys(x)
    width = max(x[k].size for k in set(keys)) if keys else 1
    return np.stack([np.broadcast_to(x[k], (width,)) for k in keys]) if keys else np.zeros((0, 1))


def guarantor_fights(lv: Levers, x: Inputs) -> np.ndarray:
    """``(Q, n|1)`` probability that each guarantor fights if Ukraine is
    attacked: ``comb(h_g + (1 - h_g) * max_e c0_e, will_g)``. A guarantor
    decides once: its strongest promise to fight counts (further, weaker
    promises by the same guarantor are not independent chances), with its
    hand-tying and its will. No promise and no troops in Ukraine: 0."""
    steps = (lv.form + lv.trigger)[:, None]
    c0 = np.where((lv.fight_promise & ~lv.collective)[:, None], legal_promise(x["credibility.reliability_prior"][None, :], x["credibility.step_odds"][None, :], steps), 0.0)
    best = np.zeros((lv.n_rows, c0.shape[1]))
    np.maximum.at(best, lv.el_q, c0)
    h = hand_tying(lv.troops_in_ukraine()[:, None], x["credibility.handtying_scale"][None, :])
    keys = [f"will.{lv.guarantors[g]}" if f"will.{lv.guarantors[g]}" in x else "will.default" for g in lv.q_guarantor]
    width = max([x[k].size for k in keys] + [best.shape[1], h.shape[1]])
    will = np.stack([np.broadcast_to(x[k], (width,)) for k in keys]) if keys else np.zeros((0, width))
    return combine_with_will(h + (1.0 - h) * best, will, x["credibility.will_ceiling"])
