"""Credibility and delivery of every element and guarantor row, and
per-package sums of them, computed as small matrix products over classes.

Why hand-written: a package's metrics are sums (or "any of" products) over
its elements of probability-weighted quantities. Done naively that is an
array of elements x futures per term (about seven hundred elements for the
seeds), memory-bound and far too slow for millions of futures. But a future
enters an element's probability only through a few shared factors: its
*class*, the will parameter, the rung of its promise, its legal form, its
guarantor's pattern of government change (time axis) and its guarantor's
troops in Ukraine (hand-tying; 0 for a group's collective measure).
A guarantor row's probability of fighting is the credibility of its
strongest promise to fight with its own hand-tying, a class of the same
table. :func:`foedus.models.credibility.class_tables` evaluates the table
once per future (compiled; the seeds have about 70 classes for 689
elements and 167 fighting rows). So for a lever-only element quantity ``v``::

    sum_e cred_e v_e = M_v @ cred_classes

with ``M_v[p, u]`` the sum of ``v`` over package p's elements of class u.
Products ``1 - prod_e (1 - q_e)`` over flagged elements are powers:
elements sharing a package and class share one factor, so the product is
``exp(counts @ log(1 - q_classes))``. The guarantees' product over
fighting rows is a compiled walk (:func:`_guarantee_walk`). Exact, not an
approximation; ``tests/test_models_sums.py`` checks every sum, product,
element, row and guarantee against an element-by-element NumPy reference
of the equations (``tests/reference_model.py``).
"""

from __future__ import annotations

import numpy as np

from foedus.models.by_package import classes_in_order, product, sparse_product, sparse_product_kernel, unique_rows
from foedus.models.compiled import kernel, log, one_minus_exp
from foedus.models.credibility import N_STEPS, class_tables, delivery_by_form
from foedus.models.inputs import Inputs, widen
from foedus.models.levers import FORMS, Levers, sum_into

#: Which probability a sum or product weighs by.
CRED, DELIVERY = "cred", "delivery"


class Probabilities:
    """Credibility (the element is honoured: its guarantor fights or
    responds) and delivery (the element is delivered in peacetime) of every
    element, and the probability that each guarantor row fights, for one
    chunk of futures, in class form."""

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
        timed = alive is not None
        self.will_key, plan = _planned(lv, x, timed)
        self.plan = plan
        n = x.n
        wills = np.stack([widen(x[k], n) for k in plan["wills"]]) if plan["wills"] else np.zeros((0, n))
        if timed:
            alive = widen(alive, n)
            persist = alive
        else:
            alive = np.ones((1, len(FORMS), n))
            persist = widen(delivery_by_form(x, horizon), n)[None]
        self.cred, self.delivery = class_tables(
            *(widen(x[f"credibility.{k}"], n) for k in ("reliability_prior", "step_odds", "will_ceiling", "handtying_scale")), wills, alive, persist, plan["keys"], plan["troops"], plan["del_keys"])

    def _table(self, kind: str) -> np.ndarray:
        return self.cred if kind == CRED else self.delivery

    # -- sums ------------------------------------------------------------------
    def _sum_matrix(self, V: np.ndarray, key, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`_sum_matrix` of ``V``, memoised under ``key`` when given."""
        build = lambda: _sum_matrix(self.lv, self.plan, V, kind)  # noqa: E731
        return self.lv.memo(("sums", key, kind, self.will_key), build) if key is not None else build()

    def sums(self, V: np.ndarray, key=None, kind: str = CRED) -> np.ndarray:
        """``V`` is ``(E, J)`` lever-only values; returns ``(J, P, n)`` sums of
        prob * V. Pass a hashable ``key`` naming ``V`` to reuse its matrix."""
        return sparse_product(*self._sum_matrix(V, key, kind), self._table(kind), V.shape[1] * self.P).reshape(V.shape[1], self.P, -1)

    def sum(self, v: np.ndarray, key=None, kind: str = CRED) -> np.ndarray:
        """``(P, n)`` sum over elements of prob * v for one lever-only ``v`` ``(E,)``."""
        return self.sums(np.asarray(v, dtype=np.float64)[:, None], key, kind)[0]

    def weighted(self, V: np.ndarray, F: np.ndarray, key=None) -> np.ndarray:
        """``(P, n)``: sum over elements of cred_e * sum_j V[e, j] * F[j, n]
        for lever columns ``V`` ``(E, J)`` and future factors ``F`` ``(J, n|1)``."""
        return _weighted(*self._sum_matrix(V, key, CRED), self.cred, widen(F, self.x.n), self.P)

    # -- "any of" products -------------------------------------------------------
    def any_of(self, flag: np.ndarray, key=None, kind: str = CRED) -> np.ndarray:
        """``(P, n)``: 1 - prod over flagged elements of (1 - prob_e)."""
        build = lambda: _count_matrix(self.lv, self.plan, np.asarray(flag, dtype=bool), kind)  # noqa: E731
        rows, cols, counts, used = self.lv.memo(("any_of", key, kind, self.will_key), build) if key is not None else build()
        return _any_of(rows, cols, counts, self._table(kind), used, self.P)

    # -- guarantor rows that may fight -----------------------------------------------
    def fights(self) -> np.ndarray:
        """``(R, n)`` probability that each fighting guarantor row fights (the
        rows of ``plan["fight_rows"]``: those with a promise to fight or
        personnel in Ukraine): ``comb(h_q + (1 - h_q) * max_e c0_e, will_q)``
        times the chance its strongest promise is in force.

        A guarantor decides once whether to fight: its strongest promise and
        its hand-tying combined with its will (further, weaker promises by
        the same guarantor are not independent chances)."""
        return self.cred[self.plan["fight_class"]]

    def row_fights(self) -> np.ndarray:
        """``(Q, n)``: :meth:`fights` for every guarantor row (0 for a row
        with neither a promise to fight nor personnel in Ukraine)."""
        out = np.zeros((self.lv.n_rows, self.x.n))
        out[self.plan["fight_rows"]] = self.fights()
        return out

    def guarantees(self, V: np.ndarray, F: np.ndarray, decisive_force, pact_effect) -> tuple[np.ndarray, np.ndarray]:
        """Per package ``(S, phi_nuclear)``, each ``(P, n)``.

        ``S = 1 - prod_q (1 - pact_effect * F_q * k_q)`` over the guarantor
        rows that may fight, with ``F_q`` from :meth:`fights` and ``k_q = 1 -
        exp(-A_q / decisive_force)``, ``A_q`` the row's power (the lever
        columns ``V`` summed over its elements, times the future factors
        ``F``); ``phi_nuclear = 1 - prod_{q nuclear} (1 - F_q)``, the
        probability that at least one nuclear-weapon state fights.
        Guarantors decide independently of each other given their wills.
        ``k`` is computed once per distinct row of forces (rows repeat
        across packages)."""
        plan, n = self.plan, self.x.n
        power, of_row = self.lv.memo(("fight_power", self.will_key), lambda: _unique_rows(self.lv.sum_rows(V)[plan["fight_rows"]]))
        keep, none = _guarantee_walk(self.cred, plan["fight_class"], self.lv.q_package[plan["fight_rows"]], plan["fight_nuclear"],
                                     widen(product(power, widen(F, n)), n), of_row, widen(decisive_force, n), widen(pact_effect, n), self.P)
        return 1.0 - keep, 1.0 - none

    # -- explicit values (detail) --------------------------------------------------
    def rows(self, idx: np.ndarray | None = None, kind: str = CRED) -> np.ndarray:
        """Explicit probability ``(len(idx), n)`` of elements ``idx`` (default all)."""
        idx = np.arange(self.lv.n_elements) if idx is None else np.asarray(idx)
        cls = self.plan["el_class"] if kind == CRED else self.plan["del_class"]
        return self._table(kind)[cls[idx]]


def _planned(lv: Levers, x: Inputs, timed: bool) -> tuple[tuple, dict]:
    """The key of the will parameters present, and :func:`_plan` for them
    (once per key)."""
    own, wills, will = lv.will_codes(x)
    key = (own, timed)
    return key, lv.memo(("plan", key), lambda: _plan(lv, wills, will, timed))


def pairs_in_force(lv: Levers, x: Inputs) -> np.ndarray:
    """``(K, F)`` bool: the (government-change pattern, legal form) pairs
    whose chance of being in force the time axis's :class:`Probabilities`
    read for ``lv``, those of its classes (every element's, so every
    delivery class's too, and every fighting row's): what
    :func:`foedus.models.timeline.survivals` needs to compute."""
    _, plan = _planned(lv, x, True)
    out = np.zeros((len(lv.patterns), len(FORMS)), dtype=bool)
    out[plan["keys"][:, 3], plan["keys"][:, 2]] = True
    return out


@kernel
def _guarantee_walk(cred, fight_class, owner, nuclear, forces, of_row, decisive, pact, P):
    """``(prod_q (1 - pact * F_q * k_q), prod_{q nuclear} (1 - F_q))`` per
    package, ``(P, n)`` each, with ``F_q = cred[fight_class[q]]`` and ``k_q =
    1 - exp(-A_q / decisive)``, ``A_q = forces[of_row[q]]`` (each distinct
    row of forces once); rows in order, so the products are taken in the
    same order for every future and chunk."""
    n = forces.shape[1]
    reach = np.empty((forces.shape[0], n))
    for u in range(forces.shape[0]):
        for i in range(n):
            reach[u, i] = one_minus_exp(forces[u, i] / decisive[i])
    keep = np.ones((P, n))
    none = np.ones((P, n))
    for r in range(fight_class.size):
        p, c, u = owner[r], fight_class[r], of_row[r]
        for i in range(n):
            keep[p, i] *= 1.0 - pact[i] * cred[c, i] * reach[u, i]
        if nuclear[r]:
            for i in range(n):
                none[p, i] *= 1.0 - cred[c, i]
    return keep, none


@kernel
def _weighted(rows, cols, vals, table, F, P):
    """``(P, n)``: ``sum_j MA[j, p] * F[j]`` with ``MA[j, p] = sum_k vals[k]
    * table[cols[k]]`` over the entries ``k`` of row ``rows[k] = j * P + p``
    (the order of :func:`_sum_matrix`), columns ``j`` in order; as
    :meth:`Probabilities.sums` followed by the weighted sum, without the
    ``(J, P, n)`` temporary."""
    n = table.shape[1]
    J = F.shape[0]
    out = np.zeros((P, n))
    ma = np.zeros(n)
    k = 0
    for j in range(J):
        for p in range(P):
            ma[:] = 0.0
            while k < rows.size and rows[k] == j * P + p:
                c, v = cols[k], vals[k]
                for i in range(n):
                    ma[i] += v * table[c, i]
                k += 1
            if j == 0:
                for i in range(n):
                    out[p, i] = ma[i] * F[0, i]
            else:
                for i in range(n):
                    out[p, i] += ma[i] * F[j, i]
    return out


@kernel
def _any_of(rows, cols, counts, table, used, P):
    """``(P, n)``: ``1 - prod (1 - q_u) ** count`` over the classes ``u =
    used[cols[k]]`` of package ``rows[k]``'s flagged elements, as ``1 -
    exp(sum_k count_k log(1 - q_u))``, terms in the order given (0 for a
    package with none; ``1 - q`` floored at 1e-300 so that a class certain
    to act gives 1, not ``0 * -inf``)."""
    n = table.shape[1]
    log_none = np.empty((used.size, n))
    for j in range(used.size):
        for i in range(n):
            log_none[j, i] = log(max(1.0 - table[used[j], i], 1e-300))
    acc = sparse_product_kernel(rows, cols, counts, log_none, P)
    out = np.empty((P, n))
    for p in range(P):
        for i in range(n):
            out[p, i] = one_minus_exp(-acc[p, i])
    return out


def _plan(lv: Levers, wills: list[str], will: np.ndarray, timed: bool = False) -> dict:
    """The classes of the levers (lever-only, once per set of will
    parameters present; ``wills`` and each element's index among them,
    ``will``: :meth:`Levers.will_codes`): each element's class and delivery
    class, and the fighting rows with their class. Classes are numbered in
    the order they first occur, the elements' before the fighting rows'."""
    # the government-change pattern of each element's guarantor (the time
    # axis only; one pattern, 0, in the steady model)
    pattern = lv.el_pattern if timed else np.zeros(lv.n_elements, dtype=np.int64)
    troops_q = lv.troops_in_ukraine()
    # collective elements are decided by the group: no hand-tying
    troops = np.where(lv.collective, 0.0, troops_q[lv.el_q])
    steps = np.where(lv.promise, lv.form + lv.trigger, N_STEPS)
    # fighting rows: a promise to fight, or personnel in Ukraine (trainers
    # and monitors included); their strongest promise to fight sets the rung
    # and the legal form whose lapse ends their part (for troops without a
    # promise, the most binding instrument they come under)
    fighting = np.nonzero(~lv.collective & (lv.fight_promise | (troops_q[lv.el_q] > 0)))[0]
    rows, at = np.unique(lv.el_q[fighting], return_inverse=True)
    at = at.reshape(-1)
    r_steps = np.full(rows.size, N_STEPS, dtype=np.int64)
    r_form = np.full(rows.size, len(FORMS), dtype=np.int64)
    np.minimum.at(r_form, at, lv.form[fighting])
    promised = lv.fight_promise[fighting]
    if promised.any():
        s_p, at_p, e_p = (lv.form + lv.trigger)[fighting][promised], at[promised], fighting[promised]
        first = np.lexsort((e_p, s_p, at_p))  # per row: the lowest rung, the first element holding it
        head = first[np.r_[True, at_p[first][1:] != at_p[first][:-1]]]
        r_steps[at_p[head]] = s_p[head]
        r_form[at_p[head]] = lv.form[e_p[head]]
    r_will = np.zeros(rows.size, dtype=np.int64)
    r_pattern = np.zeros(rows.size, dtype=np.int64)
    r_will[at], r_pattern[at] = will[fighting], pattern[fighting]  # a guarantor's: the same for its elements
    # one class per (will, rung, form, pattern, troops in Ukraine), elements first
    troop_code = np.unique(np.r_[troops, troops_q[rows]], return_inverse=True)[1].reshape(-1)
    keys = np.stack([np.r_[will, r_will], np.r_[steps, r_steps], np.r_[lv.form, r_form], np.r_[pattern, r_pattern], troop_code], axis=1)
    cls, first = classes_in_order(keys)
    E = lv.n_elements
    del_class, del_first = classes_in_order(np.stack([will, lv.form, pattern], axis=1))
    del_keys = np.stack([will, lv.form, pattern], axis=1)[del_first].astype(np.int64).reshape(-1, 3)
    return {
        "wills": wills,
        "first": {CRED: _first_in_package(lv, cls[:E], first.size), DELIVERY: _first_in_package(lv, del_class, del_keys.shape[0])},
        "keys": keys[first, :4].astype(np.int64),
        "troops": np.r_[troops, troops_q[rows]][first].astype(np.float64),
        "el_class": cls[:E],
        "del_keys": del_keys,
        "del_class": del_class,
        "fight_rows": rows,
        "fight_class": cls[E:],
        "fight_nuclear": lv.row_values(lv.nuclear)[rows].astype(np.bool_),
    }


def _sum_matrix(lv: Levers, plan: dict, V: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``M[j, p, u]``, the sum of ``V[:, j]`` over package p's elements of
    class u, as its non-zero entries ``(row j * P + p, class u, value)``
    (for the seeds' power columns, 111 of 4,248), in the order of
    :func:`_in_package_order`. Each sum adds its elements in order
    (:func:`foedus.models.levers.sum_into`)."""
    cls, U = _classes_of(plan, kind)
    J, P = V.shape[1], lv.n_packages
    M = sum_into(lv.el_package * U + cls, V, P * U).T.reshape(J * P, U)
    rows, cols = _in_package_order(plan["first"][kind], *np.nonzero(M))
    return rows, cols, M[rows, cols]


def _count_matrix(lv: Levers, plan: dict, flag: np.ndarray, kind: str) -> tuple[np.ndarray, ...]:
    """``(rows, cols, counts, used)``: how many of package ``rows[k]``'s
    flagged elements are of class ``used[cols[k]]`` (in the order of
    :func:`_in_package_order`)."""
    cls, U = _classes_of(plan, kind)
    N = np.bincount(lv.el_package[flag] * U + cls[flag], minlength=lv.n_packages * U).astype(np.float64).reshape(lv.n_packages, U)
    rows, cols = _in_package_order(plan["first"][kind], *np.nonzero(N))
    used, k = np.unique(cols, return_inverse=True)
    return rows, k.reshape(-1).astype(np.int64), np.ascontiguousarray(N[rows, cols]), used.astype(np.int64)


def _classes_of(plan: dict, kind: str) -> tuple[np.ndarray, int]:
    """Each element's class of ``kind`` (credibility or delivery) and how many there are."""
    return (plan["el_class"], plan["keys"].shape[0]) if kind == CRED else (plan["del_class"], plan["del_keys"].shape[0])


def _first_in_package(lv: Levers, cls: np.ndarray, U: int) -> np.ndarray:
    """``(P, U)``: the first of package p's elements of class u (``E`` if none)."""
    first = np.full((lv.n_packages, U), lv.n_elements)
    np.minimum.at(first, (lv.el_package, cls), np.arange(lv.n_elements))
    return first


def _in_package_order(first: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entries ``(row, class)`` of a per-package matrix (``row = j * P + p``)
    sorted by row, then by where the class first occurs among the package's
    elements (``first``: :func:`_first_in_package`): the order of a
    package's terms is then that of its own elements, whatever other
    packages are evaluated with it (class numbers depend on them)."""
    order = np.lexsort((first[rows % first.shape[0], cols], rows))
    return rows[order].astype(np.int64), cols[order].astype(np.int64)


def _unique_rows(power: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``power`` and, for each row, which one it is."""
    uniq, of_row = unique_rows(power)
    return np.ascontiguousarray(uniq), of_row.astype(np.int64)
