"""Approval: probability that the package is approved and stays in force.

Equations (element e of package p, future n)::

    approve_e   = prod_a p_a ** count[e, a]       the element's own veto players
                  (Senate 2/3 for a US treaty, both Houses for a congressional-
                  executive agreement, Commons, Bundestag, Art. 35, other
                  parliaments with prior or ex-post approval)
    survive_e   = (1 - revocation_per_year[form_e]) ** horizon
    national    = sum_e weight_e * approve_e * survive_e
    collective  = prod_a p_a ** count[p, a]       package-wide vetoes (EU unanimity)
                  * prod_{m in NATO} consent_m     if the package is NATO membership
                                                   (or lists nato_unanimity)
    kyiv        = kyiv[position_p]   if the package asks anything of Ukraine, else 1
    approval    = kyiv * collective * national

``weight_e`` blends the element's share of the package's peacetime cost at
the central values (what it costs) with its guarantor's share of the
package's GDP split over the guarantor's elements (what its promise could
bring in war), half and half by default (``approval.weight_on_cost``). So
``national`` is the expected share of the package, by what each instrument
brings, that is approved and still in force at the horizon: a coalition
does not fall when one small parliament says no, but it shrinks. Removing a
guarantor therefore raises approval unless that guarantor's own instruments
were approved and kept in force more often than the package's average (it
was holding the average up).

A package asks something of Ukraine (and needs Kyiv's acceptance) when it
holds any commitment stronger than a political declaration, forces on
Ukrainian soil, or terms of the ceasefire (a buffer zone, a cap on its
forces). Unilateral declarations, as in the status quo, need nobody's
approval. EU instruments need unanimity unless members stay out (``except``,
enhanced cooperation). Properties: every factor is a probability, so adding
a veto player never raises approval; NATO unanimity is exactly the product
over members.

Elements with the same veto counts and legal form make a *class*:
``approve`` is computed once per class and future, and the package sums
and the element detail (``approval(..., detail=True)``) read that one
profile; a guarantor row's own approval (each veto player counted once
however many of its instruments need it) is likewise one factor per class
of rows with the same veto players.
"""

from __future__ import annotations

import numpy as np

from foedus.models.by_package import product, sparse_product_kernel, unique_rows
from foedus.models.compiled import exp, kernel, log
from foedus.models.inputs import Inputs, widen
from foedus.models.levers import FORMS, KYIV, VETOES, Levers


def weights(lv: Levers, central_cost: np.ndarray, on_cost: float = 0.5) -> np.ndarray:
    """Element weights ``(E,)``: ``on_cost`` x the element's share of its
    package's cost at the central values + (1 - on_cost) x its GDP share
    (all GDP share when the package costs nothing)."""
    cost = np.asarray(central_cost, dtype=np.float64).reshape(lv.n_elements)
    total = lv.sum_packages(cost, level="e")[lv.el_package]
    with np.errstate(divide="ignore", invalid="ignore"):
        cost_share = np.where(total > 0, cost / np.where(total > 0, total, 1.0), lv.el_gdp_weight)
    return on_cost * cost_share + (1.0 - on_cost) * lv.el_gdp_weight


def _power_product(counts: np.ndarray, log_p: np.ndarray) -> np.ndarray:
    """``(R, n)``: ``prod_a p_a ** counts[r, a]`` for ``counts`` ``(R, A)``
    and the logarithms of the probabilities ``log_p`` ``(A, n)``
    (:func:`_log_table`, :func:`_powers`)."""
    rows, cols = np.nonzero(counts)
    return _powers(rows.astype(np.int64), cols.astype(np.int64), np.ascontiguousarray(counts[rows, cols], dtype=np.float64), log_p,
                   counts.shape[0])


def _log_table(p: np.ndarray) -> np.ndarray:
    """``log p`` of the veto players' probabilities ``(A, n|1)``, ``(A, n)``:
    once per evaluation, for the elements' classes and the package-wide vetoes."""
    return _logs(widen(p, p.shape[1]))


@kernel
def _logs(p):
    A, n = p.shape
    log_p = np.empty((A, n))
    for a in range(A):
        for i in range(n):
            log_p[a, i] = log(p[a, i])
    return log_p


@kernel
def _powers(rows, cols, counts, log_p, R):
    """``exp(sum_k counts[k] log p[cols[k]])`` per row ``rows[k]``, the veto
    players a row needs in column order (those it does not need are not
    entries: ``0 ** 0 = 1``); a veto player certain to say no (``p_a =
    0``) gives ``log 0 = -inf`` and so exactly 0."""
    n = log_p.shape[1]
    out = sparse_product_kernel(rows, cols, counts, log_p, R)
    for r in range(R):
        for i in range(n):
            out[r, i] = exp(out[r, i])
    return out


def nato_consent(lv: Levers, x: Inputs) -> np.ndarray:
    """``prod_{m in NATO} consent_m``: members without a parameter of their
    own share ``approval.nato_consent.default`` (one power, not 32 factors)."""
    named = [m for m in lv.nato_members if f"approval.nato_consent.{m}" in x]
    out = x["approval.nato_consent.default"] ** (len(lv.nato_members) - len(named))
    for m in named:
        out = out * x[f"approval.nato_consent.{m}"]
    return out


def guarantor_approval(lv: Levers, x: Inputs) -> np.ndarray:
    """Per guarantor row, the probability that the veto players its
    instruments need all approve, ``(Q, n|1)``: each veto player counted
    once, however many of the guarantor's instruments need it (one factor
    per class of rows with the same veto players)."""
    _, _, rows, row_cls = _classes(lv)
    return _power_product(rows, _log_table(x.table("approval", VETOES)))[row_cls]


def survival(lv: Levers, x: Inputs, horizon: float) -> np.ndarray:
    """Per-element probability of still being in force at the horizon, ``(E, n|1)``."""
    return survival_by_form(x, horizon)[lv.form]


def survival_by_form(x: Inputs, horizon: float) -> np.ndarray:
    """``survive_f = (1 - revocation_per_year[f]) ** horizon`` per legal form, ``(4, n|1)``."""
    return np.exp(np.log1p(-x.table("approval.revocation_per_year", FORMS)) * horizon)


def _classes(lv: Levers):
    """Lever-only: the classes of elements with the same veto counts and
    legal form, ``uniq`` ``(C, V + 1)`` (the form last), and each element's
    class ``cls`` ``(E,)``; the classes of guarantor rows with the same veto
    players (each counted once per row), ``rows`` ``(C_q, V)``, and each
    row's class ``row_cls`` ``(Q,)``. Each class's approval is computed once
    per future and read by its elements and rows."""

    def build():
        uniq, cls = unique_rows(np.concatenate([lv.el_vetoes, lv.form[:, None].astype(float)], axis=1))
        counts = np.zeros((lv.n_rows, len(VETOES)))
        np.maximum.at(counts, lv.el_q, lv.el_vetoes)
        rows, row_cls = unique_rows(counts)
        return uniq, cls, rows, row_cls

    return lv.memo("approval_classes", build)


def _levers(lv: Levers, w: np.ndarray):
    """Lever-only for the weights ``w``: each package's weight on each
    element class ``W`` ``(P, C)`` and on each legal form ``Wf`` ``(P, F)``,
    and the packages with nothing to approve."""
    uniq, cls, _, _ = _classes(lv)
    W = np.zeros((lv.n_packages, uniq.shape[0]))
    np.add.at(W, (lv.el_package, cls), w)
    Wf = np.zeros((lv.n_packages, len(FORMS)))
    np.add.at(Wf, (lv.el_package, lv.form), w)
    # a package with no elements (Ukraine alone) has nothing to approve
    empty = W.sum(axis=1) <= 0
    return W, Wf, empty


def approval(lv: Levers, x: Inputs, horizon: float, w: np.ndarray, *, detail: bool = False) -> dict[str, np.ndarray]:
    """The package figures ``(P, n)``; with ``detail`` also each element's
    own approval (``element_approval``, ``(E, n|1)``, read from the class
    profile the package figures use) and each guarantor row's
    (``guarantor_approval``, ``(Q, n|1)``, :func:`guarantor_approval`)."""
    n = x.n
    log_p = _log_table(x.table("approval", VETOES))
    survive = survival_by_form(x, horizon)  # (4, n|1)
    uniq, cls, _, _ = _classes(lv)
    W, Wf, empty = lv.memo(("approval", np.asarray(w).tobytes()), lambda: _levers(lv, w))
    own_profile = _power_product(uniq[:, :-1], log_p)  # (C, n|1)
    profile = own_profile * survive[uniq[:, -1].astype(int)]
    # weights sum to 1 up to rounding: keep the averages inside [0, 1]
    national = np.where(empty[:, None], 1.0, np.minimum(product(W, profile), 1.0))
    collective = _power_product(lv.vetoes, log_p)
    if lv.nato_consent.any():
        collective = collective * np.where(lv.nato_consent[:, None], nato_consent(lv, x)[None, :], 1.0)
    kyiv = np.where(lv.needs_kyiv[:, None], x.table("approval.kyiv", KYIV)[lv.kyiv], 1.0)
    in_force = np.where(empty[:, None], 1.0, np.minimum(product(Wf, survive), 1.0))
    ratification = collective * np.where(empty[:, None], 1.0, np.minimum(product(W, own_profile), 1.0))
    shape = (lv.n_packages, n)
    out = {
        "approval_probability": np.broadcast_to(kyiv * collective * national, shape),
        "ratification_probability": np.broadcast_to(ratification, shape),
        "kyiv_acceptance": np.broadcast_to(kyiv, shape),
        "in_force_share": np.broadcast_to(in_force, shape),
    }
    if detail:
        out["element_approval"] = own_profile[cls]
        out["guarantor_approval"] = guarantor_approval(lv, x)
    return out
