"""Credibility and delivery of every element, and per-package sums of them,
computed as small matrix products.

Why hand-written: a package's metrics are sums (or "any of" products) over
its elements of probability-weighted quantities. Done naively that is an
array of elements x futures per term (over three hundred elements for the
seeds), memory-bound and far too slow for millions of futures. But a future
enters an element's probability only through a few shared factors. Without
hand-tying, an element's credibility and delivery depend only on its *class*:
which will parameter, legal form, trigger and whether it promises to fight
(:mod:`foedus.models.credibility` has the equations). Hand-tying is non-zero
only for the elements of guarantors with troops in Ukraine (a few dozen),
which are evaluated explicitly. So for a lever-only element quantity ``v``::

    sum_e cred_e v_e = M_v @ cred_classes + I_v @ cred_explicit

with ``M_v[p, c]`` the sum of ``v`` over package p's elements of class c.
Products ``1 - prod_e (1 - q_e)`` over flagged elements are powers:
elements sharing a package and class share one factor, so the product is
``exp(counts @ log(1 - q_classes))``. Exact, not an approximation;
``tests/test_models_sums.py`` checks it against element-by-element
evaluation.
"""

from __future__ import annotations

import numpy as np

from foedus.models.credibility import combine_with_odds, delivery_by_form, hand_tying, legal_promise, will_odds
from foedus.models.inputs import Inputs
from foedus.models.levers import FORMS, TRIGGERS, Levers

#: Which probability a sum or product weighs by.
CRED, DELIVERY = "cred", "delivery"
#: Steps below a ratified automatic treaty: 0 (treaty, automatic) to 5 (declaration, discretionary).
N_STEPS = len(FORMS) + len(TRIGGERS) - 1


class Probabilities:
    """Credibility (the element is honoured: its guarantor fights or
    responds) and delivery (the element is delivered in peacetime) of every
    element, for one chunk of futures, in class form."""

    def __init__(self, lv: Levers, x: Inputs, horizon: float, alive: np.ndarray | None = None):
        """``alive`` ``(K, F, n|1)``: in a year of the time axis, the
        probability that a commitment of legal form ``F`` whose guarantor
        changes government in the years of pattern ``K`` is still in force
        (:func:`foedus.models.timeline.survival`); every promise is then
        honoured only if in force, and delivery is the chance of being in
        force. ``None``: the steady model (always in force; delivery is the
        mean share of the horizon in force)."""
        self.lv = lv
        self.x = x
        self.P = lv.n_packages
        self.will_key = lv.will_keys(x)
        self.timed = alive is not None
        self.will_key = (self.will_key, self.timed)
        plan = lv.memo(("plan", self.will_key), lambda: _plan(lv, self.will_key[0], self.timed))
        self.plan = plan
        n = x.n
        will = np.stack([np.broadcast_to(x[k], (n,)) for k in plan["wills"]]) if plan["wills"] else np.zeros((0, n))
        will = will_odds(will, x["credibility.will_ceiling"])  # kept as odds: comb(p, w) = p o / (p o + 1 - p)
        # legal promise by steps below a ratified automatic treaty, and by (form, trigger)
        self.c0_steps = legal_promise(x["credibility.reliability_prior"][None, :], x["credibility.step_odds"][None, :], np.arange(N_STEPS)[:, None])
        c0 = np.broadcast_to(self.c0_steps, (N_STEPS, n))[np.add.outer(np.arange(len(FORMS)), np.arange(len(TRIGGERS)))]
        self.c0 = c0
        self.alive = np.broadcast_to(alive, alive.shape[:2] + (n,)) if self.timed else None
        keys = plan["cred_keys"]  # (C, 5): will index, form, trigger, promise, pattern
        promised = np.where(keys[:, 3:4] > 0, c0[keys[:, 1], keys[:, 2]], 0.0) if keys.size else np.zeros((0, n))
        self.cred = self._in_force(combine_with_odds(promised, will[keys[:, 0]]), keys[:, 4], keys[:, 1]) if keys.size else np.zeros((0, n))
        # hand-tying once per guarantor row with troops in Ukraine
        self.h_rows = hand_tying(plan["tied_troops"][:, None], x["credibility.handtying_scale"][None, :])
        hk = plan["h_keys"]  # (H, 5)
        if hk.shape[0]:
            h = self.h_rows[plan["h_row"]]
            b = h + (1.0 - h) * np.where(hk[:, 3:4] > 0, c0[hk[:, 1], hk[:, 2]], 0.0)
            self.cred_h = self._in_force(combine_with_odds(b, will[hk[:, 0]]), hk[:, 4], hk[:, 1])
        else:
            self.cred_h = np.zeros((0, n))
        dk = plan["del_keys"]  # (D, 3): will index, form, pattern
        if self.timed:
            persist = self.alive[dk[:, 2], dk[:, 1]] if dk.size else np.zeros((0, n))
        else:
            persist = np.broadcast_to(delivery_by_form(x, horizon), (len(FORMS), n))[dk[:, 1]]
        self.delivery = combine_with_odds(persist, will[dk[:, 0]]) if dk.size else np.zeros((0, n))
        self._will = will

    def _in_force(self, p: np.ndarray, pattern: np.ndarray, form: np.ndarray) -> np.ndarray:
        """``p`` times the probability that the commitment is still in force
        (unchanged in the steady model)."""
        return p * self.alive[pattern, form] if self.timed else p

    # -- sums ------------------------------------------------------------------
    def sums(self, V: np.ndarray, key=None, kind: str = CRED) -> np.ndarray:
        """``V`` is ``(E, J)`` lever-only values; returns ``(J, P, n)`` sums of
        prob * V. Pass a hashable ``key`` naming ``V`` to reuse its matrices."""
        M, IH = self._matrices(V, key, kind)
        J = V.shape[1]
        classes = self.cred if kind == CRED else self.delivery
        out = (M @ classes).reshape(J, self.P, -1)
        if kind == CRED and self.cred_h.shape[0]:
            out = out + (IH @ self.cred_h).reshape(J, self.P, -1)
        return out

    def sum(self, v: np.ndarray, key=None, kind: str = CRED) -> np.ndarray:
        """``(P, n)`` sum over elements of prob * v for one lever-only ``v`` ``(E,)``."""
        return self.sums(np.asarray(v, dtype=np.float64)[:, None], key, kind)[0]

    def weighted(self, V: np.ndarray, F: np.ndarray, key=None) -> np.ndarray:
        """``(P, n)``: sum over elements of cred_e * sum_j V[e, j] * F[j, n]
        for lever columns ``V`` ``(E, J)`` and future factors ``F`` ``(J, n|1)``."""
        M, _ = self._matrices(V, key, CRED)
        J, n = V.shape[1], self.x.n
        F = np.broadcast_to(F, (J, n))
        MA = (M @ self.cred).reshape(J, self.P, n)
        out = MA[0] * F[0]
        for j in range(1, J):
            out += MA[j] * F[j]
        # explicit rows: only those whose columns are not all zero
        H = self.plan["H"]
        pos, VH, IH = self.lv.memo(("weighted_h", key, self.will_key), lambda: _weighted_rows(self.lv, H, V))
        if pos.size:
            out = out + IH @ (self.cred_h[pos] * (VH @ F))
        return out

    def _matrices(self, V, key, kind):
        build = lambda: _sum_matrices(self.lv, self.plan, V, kind)  # noqa: E731
        return self.lv.memo(("sums", key, kind, self.will_key), build) if key is not None else build()

    # -- "any of" products -------------------------------------------------------
    def any_of(self, flag: np.ndarray, key=None, kind: str = CRED) -> np.ndarray:
        """``(P, n)``: 1 - prod over flagged elements of (1 - prob_e)."""
        build = lambda: _product_plan(self.lv, self.plan, np.asarray(flag, dtype=bool), kind)  # noqa: E731
        N, Hidx, IH = self.lv.memo(("any_of", key, kind, self.will_key), build) if key is not None else build()
        classes = self.cred if kind == CRED else self.delivery
        out = N @ np.log(np.maximum(1.0 - classes, 1e-300)) if N.shape[1] else np.zeros((self.P, self.x.n))
        if Hidx.size:
            out = out + IH @ np.log(np.maximum(1.0 - self.cred_h[Hidx], 1e-300))
        return -np.expm1(out)

    def fight_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """``(by class, by tied row)``: the probability of fighting of the
        guarantor rows without troops in Ukraine, once per class ``(C, n)``,
        and of those with troops, one by one ``(T, n)``:
        ``comb(h_q + (1 - h_q) * max_e c0_e, will_q)``.

        A guarantor decides once whether to fight: its strongest promise and
        its hand-tying combined with its will (further, weaker promises by
        the same guarantor are not independent chances)."""
        fp = self.fight_plan()
        n = self.x.n
        # c0 by steps below a ratified automatic treaty; a last row of zeros: no promise
        c0 = np.vstack([np.broadcast_to(self.c0_steps, (N_STEPS, n)), np.zeros((1, n))])
        by_class = self._in_force(combine_with_odds(c0[fp["class_steps"]], self._will[fp["class_will"]]), fp["class_pattern"], fp["class_form"]) if fp["class_steps"].size else np.zeros((0, n))
        if fp["tied_steps"].size:
            h = self.h_rows[fp["tied_h_row"]]
            tied = self._in_force(combine_with_odds(h + (1.0 - h) * c0[fp["tied_steps"]], self._will[fp["tied_will"]]), fp["tied_pattern"], fp["tied_form"])
        else:
            tied = np.zeros((0, n))
        return by_class, tied

    def fights(self) -> np.ndarray:
        """``(R, n)`` probability that each fighting guarantor row fights (the
        rows of ``fight_plan``: those with a promise to fight or personnel in
        Ukraine), from :meth:`fight_tables`."""
        fp = self.fight_plan()
        by_class, tied = self.fight_tables()
        out = np.empty((fp["rows"].size, self.x.n))
        out[fp["free"]] = by_class[fp["class_of"]]
        out[fp["tied"]] = tied
        return out

    def fight_plan(self) -> dict:
        return self.lv.memo(("fight_plan", self.will_key), lambda: _fight_plan(self.lv, self.plan))

    def guarantees(self, V: np.ndarray, F: np.ndarray, decisive_force, pact_effect) -> tuple[np.ndarray, np.ndarray]:
        """Per package ``(S, phi_nuclear)``, each ``(P, n)``.

        ``S = 1 - prod_q (1 - pact_effect * F_q * k_q)`` over the guarantor
        rows that may fight, with ``F_q`` from :meth:`fight_tables` and ``k_q
        = 1 - exp(-A_q / decisive_force)``, ``A_q`` the row's power (the lever
        columns ``V`` summed over its elements, times the future factors
        ``F``); ``phi_nuclear = 1 - prod_{q nuclear} (1 - F_q)``, the
        probability that at least one nuclear-weapon state fights.
        Guarantors decide independently of each other given their wills.

        Computed without any rows-by-futures array: ``k`` once per distinct
        row of forces (rows repeat across packages), ``F`` once per class,
        and a running product per package over its rows (rows are sorted by
        package), in the same order every time."""
        fp = self.fight_plan()
        n = self.x.n
        S, nuclear = np.ones((self.P, n)), np.ones((self.P, n))
        if not fp["rows"].size:
            return S - 1.0, nuclear - 1.0
        by_class, tied = self.fight_tables()
        tables = (by_class, tied)
        power, walk = self.lv.memo(("fight_walk", self.will_key), lambda: _fight_walk(self.lv.sum_rows(V)[fp["rows"]], fp))
        reach = power @ np.broadcast_to(F, (F.shape[0], n))
        reach *= -1.0 / np.asarray(decisive_force)
        np.exp(reach, out=reach)
        np.subtract(1.0, reach, out=reach)  # k = 1 - exp(-A / A_s)
        minus_e = -np.asarray(pact_effect)
        tmp = np.empty(n)
        for p, table, i, u, is_nuclear in walk:
            f = tables[table][i]
            np.multiply(f, reach[u], out=tmp)
            tmp *= minus_e
            tmp += 1.0  # 1 - e F_q k_q
            S[p] *= tmp
            if is_nuclear:
                np.subtract(1.0, f, out=tmp)
                nuclear[p] *= tmp
        np.subtract(1.0, S, out=S)
        np.subtract(1.0, nuclear, out=nuclear)
        return S, nuclear

    # -- explicit values (detail) --------------------------------------------------
    def rows(self, idx: np.ndarray | None = None, kind: str = CRED) -> np.ndarray:
        """Explicit probability ``(len(idx), n)`` of elements ``idx`` (default all)."""
        idx = np.arange(self.lv.n_elements) if idx is None else np.asarray(idx)
        if kind == DELIVERY:
            return self.delivery[self.plan["del_cls"][idx]]
        out = self.cred[self.plan["cred_cls"][idx]].copy() if self.cred.shape[0] else np.zeros((idx.size, self.x.n))
        pos = self.plan["pos_in_H"][idx]
        hit = pos >= 0
        if hit.any():
            out[hit] = self.cred_h[pos[hit]]
        return out


def _weighted_rows(lv: Levers, H: np.ndarray, V: np.ndarray):
    """Explicit (hand-tied) elements with a non-zero lever column: their
    positions in ``H``, their columns and their package indicator."""
    keep = np.nonzero(V[H].any(axis=1))[0] if H.size else np.zeros(0, dtype=np.int64)
    return keep, V[H[keep]], _indicator(lv.el_package[H[keep]], lv.n_packages)


def _indicator(owner: np.ndarray, P: int) -> np.ndarray:
    I = np.zeros((P, owner.size))
    I[owner, np.arange(owner.size)] = 1.0
    return I


def _plan(lv: Levers, will_key: tuple[str, ...], timed: bool = False) -> dict:
    wills = sorted(set(will_key))
    # the government-change pattern of each element's guarantor (the time
    # axis only; one pattern, 0, in the steady model)
    pattern = lv.el_pattern if timed else np.zeros(lv.n_elements, dtype=np.int64)
    wi = {w: i for i, w in enumerate(wills)}
    troops_q = lv.troops_in_ukraine()
    tied_rows = np.nonzero(troops_q > 0)[0]
    row_pos = np.full(lv.n_rows, -1, dtype=np.int64)
    row_pos[tied_rows] = np.arange(tied_rows.size)
    # collective elements: decided by the group, no hand-tying
    tied = (troops_q[lv.el_q] > 0) & ~lv.collective
    keys = [(wi[w], int(f), int(t), int(p), int(k)) for w, f, t, p, k in zip(will_key, lv.form, lv.trigger, lv.promise, pattern)]
    uniq: dict[tuple, int] = {}
    cred_cls = np.array([uniq.setdefault(k, len(uniq)) if not h else -1 for k, h in zip(keys, tied)], dtype=np.int64)
    H = np.nonzero(tied)[0]
    pos = np.full(lv.n_elements, -1, dtype=np.int64)
    pos[H] = np.arange(H.size)
    duniq: dict[tuple, int] = {}
    del_cls = np.array([duniq.setdefault((k[0], k[1], k[4]), len(duniq)) for k in keys], dtype=np.int64)
    return {
        "wills": wills,
        "pattern": pattern,
        "cred_keys": np.array(list(uniq), dtype=np.int64).reshape(-1, 5),
        "cred_cls": cred_cls,
        "H": H,
        "pos_in_H": pos,
        "h_keys": np.array([keys[i] for i in H], dtype=np.int64).reshape(-1, 5),
        "h_row": row_pos[lv.el_q[H]],
        "tied_troops": troops_q[tied_rows],
        "row_pos": row_pos,
        "del_keys": np.array(list(duniq), dtype=np.int64).reshape(-1, 3),
        "del_cls": del_cls,
    }


def _sum_matrices(lv: Levers, plan: dict, V: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    P, J = lv.n_packages, V.shape[1]
    if kind == CRED:
        plain = plan["cred_cls"] >= 0
        cls, C, H = plan["cred_cls"], plan["cred_keys"].shape[0], plan["H"]
    else:
        plain = np.ones(lv.n_elements, dtype=bool)
        cls, C, H = plan["del_cls"], plan["del_keys"].shape[0], np.zeros(0, dtype=np.int64)
    M = np.zeros((J, P, C))
    for j in range(J):
        np.add.at(M[j], (lv.el_package[plain], cls[plain]), V[plain, j])
    IH = np.zeros((J, P, H.size))
    if H.size:
        IH[:, lv.el_package[H], np.arange(H.size)] = V[H].T
    return M.reshape(J * P, C), IH.reshape(J * P, H.size)


def _product_plan(lv: Levers, plan: dict, flag: np.ndarray, kind: str):
    P = lv.n_packages
    if kind == CRED:
        plain = flag & (plan["cred_cls"] >= 0)
        N = np.zeros((P, plan["cred_keys"].shape[0]))
        np.add.at(N, (lv.el_package[plain], plan["cred_cls"][plain]), 1.0)
        Hel = np.nonzero(flag & (plan["cred_cls"] < 0))[0]
        Hidx = plan["pos_in_H"][Hel]
        return N, Hidx, _indicator(lv.el_package[Hel], P)
    N = np.zeros((P, plan["del_keys"].shape[0]))
    np.add.at(N, (lv.el_package[flag], plan["del_cls"][flag]), 1.0)
    return N, np.zeros(0, dtype=np.int64), np.zeros((P, 0))


def _fight_plan(lv: Levers, plan: dict) -> dict:
    """Guarantor rows that may fight (a promise to fight, or personnel in
    Ukraine), in row order: rows without troops in Ukraine grouped into
    classes by (will, steps of their strongest promise; ``N_STEPS`` for
    none), rows with troops listed one by one; their package indicator and
    which of them are nuclear-weapon states."""
    # a guarantor may fight on a promise, or because its troops in Ukraine
    # (trainers and monitors included) are attacked
    tied_rows = lv.troops_in_ukraine() > 0
    fighting = ~lv.collective & (lv.fight_promise | tied_rows[lv.el_q])
    rows = np.unique(lv.el_q[fighting])
    steps = np.full(rows.size, N_STEPS, dtype=np.int64)
    will_idx = np.zeros(rows.size, dtype=np.int64)
    # the legal form whose lapse ends the row's part: that of its strongest
    # promise (or, for troops without a promise, of the instrument they come under)
    form = np.full(rows.size, len(FORMS), dtype=np.int64)
    pattern = np.zeros(rows.size, dtype=np.int64)
    ri = {q: i for i, q in enumerate(rows)}
    for e in np.nonzero(fighting)[0]:
        i = ri[lv.el_q[e]]
        s = int(lv.form[e] + lv.trigger[e])
        if lv.fight_promise[e] and s < steps[i]:
            steps[i] = s
            form[i] = lv.form[e]
        elif steps[i] == N_STEPS:
            form[i] = min(form[i], int(lv.form[e]))
        will_idx[i] = _will_index(plan, e)
        pattern[i] = plan["pattern"][e]
    tied = lv.troops_in_ukraine()[rows] > 0
    owner = lv.q_package[rows]
    nuclear = np.nonzero(lv.row_values(lv.nuclear)[rows])[0]
    classes: dict[tuple, int] = {}
    class_of = np.array([classes.setdefault((int(w), int(s), int(k), int(f)), len(classes)) for w, s, k, f, t in zip(will_idx, steps, pattern, form, tied) if not t],
                        dtype=np.int64)
    return {
        "rows": rows,
        "free": np.nonzero(~tied)[0],
        "tied": np.nonzero(tied)[0],
        "class_steps": np.array([k[1] for k in classes], dtype=np.int64),
        "class_will": np.array([k[0] for k in classes], dtype=np.int64),
        "class_pattern": np.array([k[2] for k in classes], dtype=np.int64),
        "class_form": np.array([k[3] for k in classes], dtype=np.int64),
        "class_of": class_of,
        "tied_steps": steps[tied],
        "tied_will": will_idx[tied],
        "tied_pattern": pattern[tied],
        "tied_form": form[tied],
        "tied_h_row": plan["row_pos"][rows[tied]],
        "nuclear": nuclear,
        "owner": owner,
        "nuclear_mask": np.isin(np.arange(rows.size), nuclear),
    }


def _fight_walk(power: np.ndarray, fp: dict) -> tuple[np.ndarray, list[tuple]]:
    """The distinct rows of ``power`` (the forces of each fighting row), and
    for each fighting row in order: its package, where its probability of
    fighting is (0: the class table, 1: the tied table, and the index in
    it), which distinct row of forces it has, and whether it is a
    nuclear-weapon state."""
    uniq, of_row = _unique_rows(power)
    where = np.empty((fp["rows"].size, 2), dtype=np.int64)
    where[fp["free"]] = np.stack([np.zeros(fp["free"].size, dtype=np.int64), fp["class_of"]], axis=1)
    where[fp["tied"]] = np.stack([np.ones(fp["tied"].size, dtype=np.int64), np.arange(fp["tied"].size)], axis=1)
    walk = [(int(p), int(t), int(i), int(u), bool(nuc)) for p, (t, i), u, nuc in zip(fp["owner"], where, of_row, fp["nuclear_mask"])]
    return uniq, walk


def _unique_rows(power: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``power`` and, for each row, which one it is."""
    uniq, of_row = np.unique(power, axis=0, return_inverse=True)
    return uniq, of_row.reshape(-1)


def _will_index(plan: dict, e: int) -> int:
    """Index into ``plan["wills"]`` of element ``e``'s will parameter."""
    pos = plan["pos_in_H"][e]
    if pos >= 0:
        return int(plan["h_keys"][pos, 0])
    return int(plan["cred_keys"][plan["cred_cls"][e], 0])
