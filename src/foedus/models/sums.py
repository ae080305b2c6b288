"""Per-package sums over commitment rows, computed as small matrix products.

Why hand-written: a package's metrics are sums (or products) over its
guarantors' rows of credibility-weighted quantities. Done naively that is an
array of rows x futures per term (179 rows for the eight seeds), memory-bound
and about a hundred times too slow for millions of futures. But the future
enters each row only through a few shared factors: a row's credibility is

    cred_k = A_c(n) * (1 - h_k(n)) + W_c(n) * h_k(n)
    A_c    = will_c * reliability_prior * interest_c * legal_form_c * trigger_c
    W_c    = will_c

where ``c`` is the row's *class* (which will parameter, frontline or not,
legal form, trigger; about twenty classes) and the hand-tying term ``h_k``
is non-zero only for rows with troops in Ukraine. So for a lever-only row
quantity ``v``::

    sum_k cred_k v_k = M_v @ A  +  I_v @ cred_H

with ``M_v[p, c]`` the sum of ``v`` over package p's rows of class c without
troops in Ukraine and ``cred_H`` the explicit credibility of the few rows
with them. Quantities that vary by future as ``sum_j v_kj f_j(n)`` are sums
of such terms weighted by ``f_j``. Products ``1 - prod_k (1 - cred_k e_k)``
run over flagged rows only, and rows sharing a package, class and factor
are one power: ``counts @ log(1 - A e)``. Exact, not an approximation;
``tests/test_models_sums.py`` checks it against row-by-row evaluation.
"""

from __future__ import annotations

import numpy as np

from foedus.models.inputs import Inputs
from foedus.models.levers import FORMS, TRIGGERS, Levers


class CredSums:
    """Credibility-weighted per-package sums for one chunk of futures."""

    def __init__(self, lv: Levers, x: Inputs):
        self.lv = lv
        self.x = x
        self.P, self.K = lv.n_packages, lv.n_rows
        will_key = tuple(f"will.{g}" if f"will.{g}" in x else "will.default" for g in lv.guarantors)
        plan = lv.memo(("credsums", will_key), lambda: _plan(lv, will_key))
        self.cls, self.H, self.plain, uniq = plan["cls"], plan["H"], plan["plain"], plan["uniq"]
        self.plan = plan
        self.will_key = will_key
        n = x.n
        rho = x["credibility.reliability_prior"]
        A = np.empty((len(uniq), n))
        W = np.empty((len(uniq), n))
        for (wk, fr, f, t), c in uniq.items():
            interest = x["credibility.interest.frontline"] if fr else x["credibility.interest.other"]
            W[c] = x[wk]
            A[c] = x[wk] * rho * interest * x[f"credibility.legal_form.{FORMS[f]}"] * x[f"credibility.trigger.{TRIGGERS[t]}"]
        self.A, self.W = A, W
        if self.H.size:
            th = plan["troops_H"][:, None]
            h = x["credibility.handtying_max"][None, :] * -np.expm1(-th / x["credibility.handtying_scale"][None, :])
            h = np.broadcast_to(h, (self.H.size, n))
            cH = self.cls[self.H]
            self.credH = A[cH] * (1.0 - h) + W[cH] * h
        else:
            self.credH = np.zeros((0, n))

    def sums(self, V: np.ndarray, key=None) -> np.ndarray:
        """``V`` is ``(K, J)`` lever-only values; returns ``(J, P, n)`` sums of
        cred * V. Pass a hashable ``key`` naming ``V`` to reuse its matrices
        across chunks."""
        build = lambda: _sum_matrices(self.lv, self.plan, V)  # noqa: E731
        # the matrices depend on the class plan, hence on which will.<ISO3> exist
        M, IH = self.lv.memo(("sums", key, self.will_key), build) if key is not None else build()
        J = V.shape[1]
        out = (M @ self.A).reshape(J, self.P, -1)
        if self.H.size:
            out = out + (IH @ self.credH).reshape(J, self.P, -1)
        return out

    def weighted(self, V: np.ndarray, F: np.ndarray, key=None) -> np.ndarray:
        """``(P, n)``: sum over rows of cred_k * sum_j V[k, j] * F[j, n] for
        lever columns ``V`` ``(K, J)`` and future factors ``F`` ``(J, n|1)``.
        Rows with troops in Ukraine are done explicitly (a few dozen), the
        rest through their classes."""
        lv = self.lv
        build = lambda: _sum_matrices(lv, self.plan, V)  # noqa: E731
        M, _ = lv.memo(("sums", key, self.will_key), build) if key is not None else build()
        J, n = V.shape[1], self.A.shape[1]
        F = np.broadcast_to(F, (J, n))
        out = np.einsum("jpn,jn->pn", (M @ self.A).reshape(J, self.P, n), F)
        if self.H.size:
            IH = lv.memo(("rows_to_packages", key), lambda: _row_indicator(lv, self.H))
            out = out + IH @ (self.credH * (V[self.H] @ F))
        return out

    def sum(self, v: np.ndarray, key=None) -> np.ndarray:
        """``(P, n)`` sum over rows of cred * v for one lever-only ``v`` ``(K,)``."""
        return self.sums(np.asarray(v, dtype=np.float64)[:, None], key)[0]

    def rows(self, idx: np.ndarray) -> np.ndarray:
        """Explicit credibility ``(len(idx), n)`` of the rows ``idx``."""
        out = self.A[self.cls[idx]]
        if self.H.size:
            pos = self.plan["pos_in_H"][idx]
            hit = pos >= 0
            if hit.any():
                out[hit] = self.credH[pos[hit]]
        return out

    def any_of(self, flag: np.ndarray, types: np.ndarray | None = None, factors: np.ndarray | None = None, key=None) -> np.ndarray:
        """``(P, n)``: 1 - prod over rows with ``flag`` of (1 - cred_k * e_k).

        ``e_k = factors[types[k]]``: ``types`` gives each row a small integer
        and ``factors`` is ``(T, n|1)``; by default every ``e_k`` is 1. Rows
        without troops in Ukraine that share a package, class and type share
        one factor, so the product is a power: counts @ log(1 - A e)."""
        n = self.A.shape[1]
        if types is None:
            types = np.zeros(self.K, dtype=np.int64)
        if factors is None:
            factors = np.ones((1, 1))
        build = lambda: _product_plan(self.lv, self.plan, flag, types)  # noqa: E731
        # the plan groups rows by class, hence depends on which will.<ISO3> exist
        pairs, N, Hidx, IH = self.lv.memo(("any_of", key, self.will_key), build) if key is not None else build()
        out = np.zeros((self.P, n))
        if pairs.shape[0]:
            q = np.minimum(self.A[pairs[:, 0]] * factors[pairs[:, 1]], 1.0)
            out = out + N @ np.log(np.maximum(1.0 - q, 1e-300))
        if Hidx.size:
            q = np.minimum(self.credH[self.plan["pos_in_H"][Hidx]] * factors[types[Hidx]], 1.0)
            out = out + IH @ np.log(np.maximum(1.0 - q, 1e-300))
        return -np.expm1(out)


def _row_indicator(lv: Levers, rows: np.ndarray) -> np.ndarray:
    I = np.zeros((lv.n_packages, rows.size))
    I[lv.row_package[rows], np.arange(rows.size)] = 1.0
    return I


def _product_plan(lv: Levers, plan: dict, flag: np.ndarray, types: np.ndarray):
    flag = np.asarray(flag, dtype=bool)
    plain = flag & plan["plain"]
    keys = np.stack([plan["cls"][plain], types[plain]], axis=1)
    pairs, inv = (np.unique(keys, axis=0, return_inverse=True) if keys.size else (np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int64)))
    N = np.zeros((lv.n_packages, pairs.shape[0]))
    np.add.at(N, (lv.row_package[plain], inv.reshape(-1)), 1.0)
    Hidx = np.nonzero(flag & ~plan["plain"])[0]
    IH = np.zeros((lv.n_packages, Hidx.size))
    IH[lv.row_package[Hidx], np.arange(Hidx.size)] = 1.0
    return pairs.astype(np.int64), N, Hidx, IH


def _plan(lv: Levers, will_key: tuple[str, ...]) -> dict:
    keys = [(will_key[g], bool(lv.frontline[g]), int(f), int(t)) for g, f, t in zip(lv.row_guarantor, lv.form, lv.trigger)]
    uniq: dict[tuple, int] = {}
    cls = np.array([uniq.setdefault(k, len(uniq)) for k in keys], dtype=np.int64)
    troops = (lv.ground + lv.trainers)[:, _in_ukraine()].sum(axis=1)
    H = np.nonzero(troops > 0)[0]
    pos = np.full(lv.n_rows, -1, dtype=np.int64)
    pos[H] = np.arange(H.size)
    return {"cls": cls, "uniq": uniq, "H": H, "plain": troops <= 0, "troops_H": troops[H], "pos_in_H": pos}


def _sum_matrices(lv: Levers, plan: dict, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    P, J, C = lv.n_packages, V.shape[1], len(plan["uniq"])
    plain, H, cls = plan["plain"], plan["H"], plan["cls"]
    M = np.zeros((J, P, C))
    for j in range(J):
        np.add.at(M[j], (lv.row_package[plain], cls[plain]), V[plain, j])
    IH = np.zeros((J, P, H.size))
    if H.size:
        IH[:, lv.row_package[H], np.arange(H.size)] = V[H].T
    return M.reshape(J * P, C), IH.reshape(J * P, H.size)


def _in_ukraine():
    from foedus.models.levers import IN_UKRAINE

    return IN_UKRAINE


def package_sum(lv: Levers, v: np.ndarray) -> np.ndarray:
    """Per-package sum of a lever-only row quantity: ``(P, ...)``."""
    return lv.sum_rows(np.asarray(v, dtype=np.float64))
