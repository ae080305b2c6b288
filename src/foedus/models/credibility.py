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

*Classes.* Elements that share a will parameter, a rung of promise
(``form + trigger``, or none), a legal form, a pattern of government
change (the time axis) and a number of troops in Ukraine share one
credibility; a guarantor row's probability of fighting is the credibility
of its strongest promise with its own hand-tying, so rows and elements
share one table. :func:`class_tables` evaluates that table (and the
delivery table) for every future in one compiled pass, from the functions
below: each equation is written once, as plain arithmetic
(``register_jitable``; hand-tying's ``1 - exp(-a)`` is
:func:`foedus.models.compiled.one_minus_exp`, which vectorises). Why
compiled: per future the seeds have about 70 distinct classes and a dozen
delivery classes; as NumPy array expressions each made several temporaries
of ``classes x futures``, about half the assessment's time (issue 18).

Properties: treaty >= congressional-executive >= executive agreement >=
declaration and automatic >= after consultation >= discretionary at every
will (each step multiplies the odds by ``step_odds`` < 1); more troops in
Ukraine never lower credibility; will = 0 gives 0; will = 1 gives at most
``comb(p, ceiling)`` < 1 for any p < 1; all values in [0, 1].
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable

from foedus.models.compiled import kernel, one_minus_exp
from foedus.models.inputs import Inputs
from foedus.models.levers import FORMS, TRIGGERS

#: Rungs below a ratified automatic treaty: 0 (treaty, automatic) to 5
#: (declaration, discretionary); the rung ``N_STEPS`` is "no promise" (c0 = 0).
N_STEPS = len(FORMS) + len(TRIGGERS) - 1


@register_jitable
def legal_promise(prior, step_odds, steps):
    """``odds^-1(odds(prior) * step_odds ** steps)``: the probability that a
    promise ``steps`` rungs below a ratified automatic treaty is honoured by
    the average ally."""
    o = prior / (1.0 - prior) * step_odds**steps
    return o / (1.0 + o)


@register_jitable
def effective_will(will, ceiling):
    """``weff(w) = a w / (1 + d w)``: the Moebius map with ``weff(0) = 0``,
    ``weff(0.5) = 0.5`` and ``weff(1) = ceiling`` (``0.5 < ceiling < 1``).
    Monotone in ``w``; below 0.5 it is close to the identity."""
    d = 2.0 * (1.0 - ceiling) / (2.0 * ceiling - 1.0)
    return ceiling * (1.0 + d) * will / (1.0 + d * will)


@register_jitable
def will_odds(will, ceiling):
    """Odds of the effective will, ``weff / (1 - weff)``: the factor a
    guarantor's will puts on the odds of each of its promises (1 at the
    average ally, 0 at will 0, ``odds(ceiling)`` at will 1)."""
    e = effective_will(will, ceiling)
    return e / (1.0 - e)


@register_jitable
def comb(p, odds):
    """``comb(p, w) = p v / (p v + 1 - p)`` with ``v`` the odds of the
    effective will: the odds of ``p`` times ``v``. ``p = 0`` or ``v = 0``
    gives 0 (also at ``p = 1, v = 0``, where the fraction is 0 / 0)."""
    num = p * odds
    den = num + (1.0 - p)
    return num / (den + (den == 0.0))


@register_jitable
def hand_tying(troops, scale):
    """``1 - exp(-troops / scale)``: the chance that a guarantor fights
    because its own troops in Ukraine are attacked."""
    return one_minus_exp(troops / scale)


def delivery_by_form(x: Inputs, horizon: float) -> np.ndarray:
    """``(4, n|1)`` mean share of the horizon a commitment of each legal form
    stays in force, from the yearly revocation rates."""
    r = x.table("approval.revocation_per_year", FORMS)
    rate = -np.log1p(-np.minimum(r, 1.0 - 1e-12))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(rate > 0, -np.expm1(-rate * horizon) / (rate * horizon), 1.0)
    return mean


@kernel
def class_tables(prior, step_odds, ceiling, scale, wills, alive, persist, keys, troops, del_keys):
    """Credibility ``(U, n)`` of each class and delivery ``(D, n)`` of each
    delivery class, for ``n`` futures.

    ``keys[u] = (will, steps, form, pattern)`` and ``troops[u]`` (0: no
    hand-tying): ``cred_u = alive[pattern, form] * comb(h + (1 - h) * c0[steps], will_odds)``
    with ``h = hand_tying(troops, scale)``, ``c0[N_STEPS] = 0``.
    ``del_keys[d] = (will, form, pattern)``: ``deliv_d = comb(persist[pattern, form], will_odds)``.
    ``prior``, ``step_odds``, ``ceiling``, ``scale`` are ``(n,)``, ``wills``
    ``(W, n)``, ``alive`` and ``persist`` ``(K, F, n)``. Each future is
    computed on its own, so a future's values do not depend on the others
    in the chunk."""
    n = prior.size
    c0 = np.zeros((N_STEPS + 1, n))
    for s in range(N_STEPS):
        for i in range(n):
            c0[s, i] = legal_promise(prior[i], step_odds[i], float(s))
    odds = np.empty((wills.shape[0], n))
    for w in range(wills.shape[0]):
        for i in range(n):
            odds[w, i] = will_odds(wills[w, i], ceiling[i])
    cred = np.empty((keys.shape[0], n))
    for u in range(keys.shape[0]):
        w, s, f, k = keys[u, 0], keys[u, 1], keys[u, 2], keys[u, 3]
        t = troops[u]
        if t > 0.0:
            for i in range(n):
                h = hand_tying(t, scale[i])
                cred[u, i] = alive[k, f, i] * comb(h + (1.0 - h) * c0[s, i], odds[w, i])
        else:
            for i in range(n):
                cred[u, i] = alive[k, f, i] * comb(c0[s, i], odds[w, i])
    deliv = np.empty((del_keys.shape[0], n))
    for d in range(del_keys.shape[0]):
        w, f, k = del_keys[d, 0], del_keys[d, 1], del_keys[d, 2]
        for i in range(n):
            deliv[d, i] = comb(persist[k, f, i], odds[w, i])
    return cred, deliv
