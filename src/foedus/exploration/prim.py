"""Scenario discovery with PRIM: find a box of input ranges where failures concentrate.

This module owns the Patient Rule Induction Method (PRIM) of Friedman and
Fisher, "Bump hunting in high-dimensional data", Statistics and Computing 9
(1999) 123-143, doi:10.1023/A:1008894516817, in the scenario-discovery form
used by the EMA Workbench (Kwakkel 2017, doi:10.1016/j.envsoft.2017.06.054):
binary cases of interest, continuous inputs, the "lenient1" objective (gain
in density divided by the number of points removed), peeling and optional
pasting. It is pure computation: no plotting, printing or I/O.

Why hand-written
    ``ema_workbench.analysis.prim.Prim`` deep-copies a pandas DataFrame for
    every candidate peel, sorts every column of the box again at every step
    and imports matplotlib and seaborn with it; on 1e6 points x 12 inputs it
    takes about 18 s and 6 GB. Here each column is sorted once (values and
    order from one SIMD sort of packed keys, on two threads when the data
    are large), and the box is kept as counts of the points still inside
    per block of about sqrt(n) consecutive sorted entries. The order
    statistic a peel needs is then found from a cumulative sum over blocks
    plus a look at one block, the 2d candidate peels of a step are found in
    one compiled loop (:func:`_peel_candidates`, numba: as Python calls per
    input they took 10 ms a step at 70 inputs), and taking a peeled slice
    out of the box costs one row look-up per point removed. The steps
    themselves run in one compiled loop too (:func:`_peel_loop`: as NumPy
    calls around the candidates they took 0.2 ms a step, a fifth of the web
    app's failure box). A step costs O(d sqrt(n)) plus the points it removes,
    so the initial sorts dominate; peak memory is about 25 bytes per point
    and input on top of ``X``. The sorts depend on ``X`` alone: for a
    read-only ``X`` they are kept (:func:`_sorted_inputs`, up to
    :data:`SORTED_KEPT_BYTES`), so boxes for other cases of interest over
    the same futures (the web app's failure box of each package, after
    each lever move) skip them.

Agreement with EMA
    The peeling and pasting rules are those of EMA Workbench 2.5
    (``Prim._peel``, ``_real_peel``, ``_paste``, ``_real_paste``,
    ``_lenient1_obj_func`` and ``prim_util.get_quantile``), replicated choice
    for choice: the same sdtoolkit-style quantile with its walk over tied
    values, the same closed box (``low <= x <= high``), the same candidate
    order (per input in column order: upper peel, then lower peel; for
    pastes: lower, then upper), the same ranking (objective, then the number
    of inputs left unrestricted, first candidate wins ties) and the same
    stopping tests (mass at least ``mass_min``, mass strictly falls, or for
    pastes rises, and objective positive). Every float is computed with the
    same operations, so trajectories agree exactly, not just to a tolerance.
    ``tests/test_prim.py`` checks limits, coverage and density against EMA
    on synthetic data sets, with and without tied values.

Differences from EMA, on purpose
    EMA's ``find_box`` always pastes and returns the last box of the
    trajectory (or an empty "dump" box when that box is below the
    threshold). Here pasting is off by default (``paste=False``) and the
    box picked (:attr:`PrimResult.chosen`) is the last box whose density
    reaches the threshold, else the densest one; the whole trajectory is
    returned. Only continuous inputs and a single box are handled: integer
    inputs are taken as floats (EMA would use its discrete peel for an
    integer column), there are no categorical inputs, and no second box is
    sought after removing the first.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from foedus.models.compiled import kernel

__all__ = ["Box", "PrimResult", "find_box"]


@dataclass(frozen=True)
class Box:
    """One box on the peeling (and pasting) trajectory.

    ``limits`` maps every input name to its closed range ``(low, high)``;
    an input the box does not restrict keeps the data minimum and maximum.
    """

    limits: dict[str, tuple[float, float]]
    restricted: tuple[str, ...]
    coverage: float  # share of all cases of interest that fall in the box
    density: float  # share of the points in the box that are cases of interest
    mass: float  # share of all points that fall in the box
    n_points: int

    # data range, to tell which side of a restricted input is cut
    data_limits: dict[str, tuple[float, float]] | None = field(default=None, repr=False, compare=False)

    def describe(self, fmt: str = "{:.3g}") -> str:
        """The box as a rule, e.g. ``"x0 <= 0.3 and 0.6 <= x1 <= 0.9"``.

        Only restricted inputs appear, in input order. An input cut on one
        side only shows that side (``x >= a`` or ``x <= b``); one cut on both
        shows ``a <= x <= b``. Bounds are inclusive, as in the box itself.
        Without ``data_limits`` every restricted input shows both sides.
        """
        if not self.restricted:
            return "no restriction"
        parts = []
        for name in self.restricted:
            low, high = self.limits[name]
            lo_s, hi_s = fmt.format(low), fmt.format(high)
            if self.data_limits is None:
                low_cut = high_cut = True
            else:
                d_low, d_high = self.data_limits[name]
                low_cut, high_cut = low != d_low, high != d_high
            if low_cut and high_cut:
                parts.append(f"{lo_s} <= {name} <= {hi_s}")
            elif low_cut:
                parts.append(f"{name} >= {lo_s}")
            else:
                parts.append(f"{name} <= {hi_s}")
        return " and ".join(parts)


@dataclass(frozen=True)
class PrimResult:
    """The trajectory PRIM walked and the box it picked.

    ``trajectory[0]`` is the box around all data (coverage 1). Peeling
    boxes follow, each inside the one before; with ``paste=True`` any pasted
    boxes come last, each containing the one before.
    """

    trajectory: list[Box]
    chosen: int
    names: tuple[str, ...]

    @property
    def box(self) -> Box:
        """The chosen box: ``trajectory[chosen]``."""
        return self.trajectory[self.chosen]

    def to_records(self) -> list[dict]:
        """The trajectory as JSON-ready dicts, one per box."""
        return [
            {
                "coverage": b.coverage,
                "density": b.density,
                "mass": b.mass,
                "n_points": b.n_points,
                "restricted": list(b.restricted),
                "limits": {k: [v[0], v[1]] for k, v in b.limits.items()},
            }
            for b in self.trajectory
        ]


# ---------------------------------------------------------------- validation


def _validate(X, y, names, threshold, peel_alpha, paste_alpha, mass_min):
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array of shape (n_points, n_inputs), got {X.ndim}-D")
    n, d = X.shape
    if n < 2 or d < 1:
        raise ValueError(f"X needs at least 2 points and 1 input, got shape {X.shape}")
    if X.dtype == bool or not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
        raise ValueError(f"X must hold real numbers, got dtype {X.dtype}")
    X = X.astype(np.float64, copy=False)
    if not np.isfinite(X).all():
        bad = [int(j) for j in np.flatnonzero(~np.isfinite(X).all(axis=0))]
        raise ValueError(f"X contains NaN or infinite values (in columns {bad})")

    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"y must be 1-D with one entry per row of X ({n}), got shape {y.shape}")
    if y.dtype != bool:
        if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
            raise ValueError(f"y must be boolean (case of interest or not), got dtype {y.dtype}")
        if np.issubdtype(y.dtype, np.floating) and np.isnan(y).any():
            raise ValueError("y contains NaN; it must be boolean")
        if not np.isin(y, (0, 1)).all():
            raise ValueError("y must be boolean or hold only 0 and 1")
        y = y.astype(bool)
    if not y.any():
        raise ValueError("y has no case of interest (all False): there is nothing to find")

    if isinstance(names, str):
        raise ValueError("names must be a sequence of input names, not a single string")
    names = tuple(names)
    if len(names) != d:
        raise ValueError(f"names has {len(names)} entries but X has {d} columns")
    if not all(isinstance(s, str) for s in names):
        raise ValueError("names must be strings")
    if len(set(names)) != d:
        dup = sorted({s for s in names if names.count(s) > 1})
        raise ValueError(f"names must be unique; repeated: {dup}")

    for label, value, lo, hi, lo_open, hi_open in (
        ("threshold", threshold, 0.0, 1.0, True, False),
        ("peel_alpha", peel_alpha, 0.0, 0.5, True, True),
        ("paste_alpha", paste_alpha, 0.0, 0.5, True, True),
        ("mass_min", mass_min, 0.0, 1.0, False, True),
    ):
        ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
        ok = ok and (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi)
        if not ok:
            interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
            raise ValueError(f"{label} must be a number in {interval}, got {value!r}")
    return X, y, names


# ------------------------------------------------------------ EMA's quantile


def _quantile_index(m: int, q: float) -> tuple[int, int]:
    """Floor and ceiling of EMA's quantile position ``(m - 1) * q``."""
    i = (m - 1) * q
    return math.floor(i), math.ceil(i)


def _ema_quantile(a: np.ndarray, q: float) -> float:
    """``ema_workbench.analysis.prim_util.get_quantile`` on sorted ``a``.

    Midpoint of the two order statistics around ``(m - 1) * q``; when they
    tie, the walk moves outwards (downwards for q > 0.5, upwards otherwise)
    to the next distinct value, as sdtoolkit does.
    """
    m = a.shape[0]
    lo, hi = _quantile_index(m, q)
    if a[lo] == a[hi]:
        if q > 0.5:
            if lo > 0:
                lo = max(int(np.searchsorted(a, a[hi], "left")) - 1, 0)
        elif hi < m - 1:
            hi = min(int(np.searchsorted(a, a[lo], "right")), m - 1)
    return float((a[lo] + a[hi]) / 2)


# ---------------------------------------------------------------- the search


@kernel
def _best(obj: np.ndarray, nonres: np.ndarray) -> int:
    """EMA's pick: highest objective, then most unrestricted inputs, then first."""
    top = obj.max()
    best = -1
    for c in range(obj.size):
        if obj[c] == top and (best < 0 or nonres[c] > nonres[best]):
            best = c
    return best


@kernel
def _lenient1(k_old: int, n_old: int, k_new: np.ndarray, n_new: np.ndarray) -> np.ndarray:
    """EMA's lenient1 objective of each candidate, with EMA's float
    operations: the gain in density over the points removed."""
    mean_old = k_old / n_old
    obj = np.empty(k_new.size)
    for c in range(k_new.size):
        mean_new = k_new[c] / max(n_new[c], 1) if n_new[c] > 0 else 0.0
        obj[c] = (mean_new - mean_old) / float(abs(n_old - n_new[c])) if mean_new != mean_old else 0.0
    return obj


def _sort_with_order(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(np.argsort(x), np.sort(x))`` for finite float64 ``x``, faster.

    The float's bits, mapped so that unsigned order is numeric order, keep
    their high bits and carry the point's index in the low bits; one plain
    (SIMD) sort of these keys gives order and values at once, about 1.5x
    faster than ``np.argsort``. Values that agree in the kept bits come out
    in index order, so runs of equal kept bits that are out of order are
    sorted again by value (rare: values within ~1e-10 relative of another).
    Ties among equal values may come in any order.
    """
    n = x.shape[0]
    shift = max(1, (n - 1).bit_length())
    if shift > 32:  # too few value bits left to be worth it
        order = np.argsort(x)
        return order, x[order]
    bits = x.view(np.uint64)
    sign = np.uint64(1 << 63)
    if np.signbit(x).any():  # negatives: flip all bits; others: set the sign bit
        key = bits ^ ((np.uint64(0) - (bits >> np.uint64(63))) | sign)
    else:
        key = bits | sign
    key >>= np.uint64(shift)
    key <<= np.uint64(shift)
    key |= np.arange(n, dtype=np.uint64)
    key.sort()
    order = (key & np.uint64((1 << shift) - 1)).astype(np.intp)
    val = x[order]
    bad = np.flatnonzero(val[:-1] > val[1:])
    if bad.size:
        head = key >> np.uint64(shift)  # non-decreasing; order is only wrong inside a run
        runs = np.unique(head[bad])
        start = np.searchsorted(head, runs, "left")
        size = np.searchsorted(head, runs, "right") - start
        at = np.arange(size.sum()) + np.repeat(start - np.cumsum(size) + size, size)
        src = at[np.lexsort((val[at], head[at]))]
        order[at], val[at] = order[src], val[src]
    return order, val


def _block_size(n: int) -> int:
    return max(64, math.isqrt(n))


def _each_input(work, n: int, d: int) -> None:
    """``work(j)`` for every input ``j``, on threads when the data are
    large (NumPy's sorts and fancy indexing release the GIL)."""
    workers = min(d, os.cpu_count() or 1)
    if n < 50_000 or workers < 2:
        for j in range(d):
            work(j)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(work, range(d)))


#: Sorted inputs kept by :func:`_sorted_inputs`: ``id(X) -> (X, val, idx, bid)``.
_SORTED: dict[int, tuple] = {}
#: Bytes of sorted inputs kept (the web app's 10,000 futures x 70 inputs take 11 MB).
SORTED_KEPT_BYTES = 64 * 2**20
_SORTED_LOCK = threading.Lock()


def _sorted_inputs(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every input's values sorted ``val`` ``(d, n)``, the rows in that order
    ``idx`` ``(d, n)``, and each point's flat block in each input's order
    ``bid`` ``(n, d)`` (see :class:`_SortedColumns`): what depends on ``X``
    alone, not on the cases of interest.

    Kept for a read-only ``X`` (it cannot change while kept; the object is
    kept with its sorts, so its ``id`` is not reused meanwhile), within
    :data:`SORTED_KEPT_BYTES`: the web app asks for the failure box of
    package after package, and after every lever move, over the same
    futures, and the sorts were two thirds of each box."""
    with _SORTED_LOCK:
        seen = _SORTED.get(id(X))
    if seen is not None and seen[0] is X:
        return seen[1:]
    n, d = X.shape
    blk = _block_size(n)
    nb = -(-n // blk)
    val = np.empty((d, n))
    idx = np.empty((d, n), dtype=np.int32 if n < 2**31 else np.intp)
    bid = np.empty((d, n), dtype=np.int32 if d * nb < 2**31 else np.int64)
    block_of_rank = (np.arange(n) // blk).astype(bid.dtype)  # + j * nb: flat block id

    def one(j: int) -> None:
        order, val[j] = _sort_with_order(np.ascontiguousarray(X[:, j]))
        idx[j] = order
        bid[j][order] = block_of_rank + j * nb

    _each_input(one, n, d)
    out = (val, idx, np.ascontiguousarray(bid.T))  # a point's blocks side by side: one look-up per point
    size = sum(a.nbytes for a in out)
    if not X.flags.writeable and size <= SORTED_KEPT_BYTES:
        with _SORTED_LOCK:  # the web app's threads share what is kept
            while _SORTED and sum(a.nbytes for e in _SORTED.values() for a in e[1:]) + size > SORTED_KEPT_BYTES:
                _SORTED.pop(next(iter(_SORTED)))
            _SORTED[id(X)] = (X, *out)
    return out


class _SortedColumns:
    """Every input's points sorted once, with counts of the points left in the box.

    Row ``j`` of ``val``, ``idx`` (row number in X) and ``yc`` (case of
    interest) lists input ``j``'s points in ascending order of value, cut
    into blocks of ``blk`` entries; ``bid[i, j] - j * nb`` is the block that
    holds point ``i`` in input ``j``'s order. ``alive`` marks the points still in
    the box, and ``cnt[j, t]`` and ``kcnt[j, t]`` count them, and the cases
    of interest among them, in block ``t`` of input ``j``. So the r-th
    smallest value in the box is found by a cumulative sum over blocks and a
    look at one block, not a pass over the column (:func:`_nth`,
    :func:`_below`), and taking points out of the box costs one look-up per
    point. Entries below ``lo_at[j]`` and from ``hi_at[j]`` on are out of the box
    (peeled on input ``j``).
    """

    def __init__(self, X: np.ndarray, y: np.ndarray):
        n, d = X.shape
        self.n, self.d, self.y = n, d, y
        self.blk = blk = _block_size(n)
        self.nb = nb = -(-n // blk)
        self.alive = np.ones(n, dtype=bool)
        self.val, self.idx, self.bid = _sorted_inputs(X)
        self.yc, self.kcnt = _cases(y, self.idx, blk, nb)
        self.cnt = np.full((d, nb), blk, dtype=np.int64)
        self.cnt[:, -1] = n - (nb - 1) * blk
        self.lo_at = np.zeros(d, dtype=np.int64)
        self.hi_at = np.full(d, n, dtype=np.int64)


@kernel
def _cases(y, idx, blk, nb):
    """``yc[j, p]``: whether the point at entry ``p`` of input ``j``'s order
    is a case of interest, and ``kcnt[j, t]``: how many of block ``t``'s
    are (one pass; as a NumPy gather and sum per input it took 1.6 ms for
    10,000 points x 69 inputs)."""
    d, n = idx.shape
    yc = np.empty((d, n), np.bool_)
    kcnt = np.zeros((d, nb), np.int64)
    for j in range(d):
        for t in range(nb):
            k = 0
            for p in range(t * blk, min((t + 1) * blk, n)):
                c = y[idx[j, p]]
                yc[j, p] = c
                k += c
            kcnt[j, t] = k
    return yc, kcnt


@kernel
def _below(idx, yc, alive, ccnt, ckcnt, blk, j, q):
    """Points, and cases of interest, in the box among entries ``[0, q)`` of
    input ``j``: the block counts before ``q``'s block, then a look at it."""
    t = q // blk
    n_in = ccnt[j, t - 1] if t else 0
    k_in = ckcnt[j, t - 1] if t else 0
    for p in range(t * blk, q):
        if alive[idx[j, p]]:
            n_in += 1
            if yc[j, p]:
                k_in += 1
    return n_in, k_in


@kernel
def _nth(val, idx, alive, ccnt, blk, j, r):
    """The ``r``-th smallest value (from 0) of input ``j`` in the box: the
    block that holds it from the cumulative counts, then the points of that
    block still in the box."""
    t = np.searchsorted(ccnt[j], r, side="right")
    seen = ccnt[j, t - 1] if t else 0
    for p in range(t * blk, min((t + 1) * blk, val.shape[1])):
        if alive[idx[j, p]]:
            if seen == r:
                return val[j, p]
            seen += 1
    return np.nan  # r is not below the box's count: never asked


@kernel
def _peel_candidates(val, idx, yc, alive, ccnt, ckcnt, blk, m, k, q_low, q_up, value, n_rm, k_rm):
    """EMA's upper peel (``2j``) and lower peel (``2j + 1``) of every input
    ``j``: the new limit, the points removed and the cases removed. The
    limit is the midpoint of the two order statistics around EMA's quantile
    position ``(m - 1) q``; when they tie, the walk moves outwards to the
    next distinct value (sdtoolkit's rule, ``_ema_quantile``)."""
    for j in range(val.shape[0]):
        i = (m - 1) * q_up
        lo, hi = math.floor(i), math.ceil(i)
        a_hi = _nth(val, idx, alive, ccnt, blk, j, hi)
        a_lo = a_hi if hi == lo else _nth(val, idx, alive, ccnt, blk, j, lo)
        if a_lo == a_hi and lo > 0:  # walk down to the next distinct value
            lo = max(_below(idx, yc, alive, ccnt, ckcnt, blk, j, np.searchsorted(val[j], a_hi, side="left"))[0] - 1, 0)
            a_lo = _nth(val, idx, alive, ccnt, blk, j, lo)
        v = (a_lo + a_hi) / 2
        n_keep, k_keep = _below(idx, yc, alive, ccnt, ckcnt, blk, j, np.searchsorted(val[j], v, side="right"))
        value[2 * j], n_rm[2 * j], k_rm[2 * j] = v, m - n_keep, k - k_keep

        i = (m - 1) * q_low
        lo, hi = math.floor(i), math.ceil(i)
        a_lo = _nth(val, idx, alive, ccnt, blk, j, lo)
        a_hi = a_lo if hi == lo else _nth(val, idx, alive, ccnt, blk, j, hi)
        if a_lo == a_hi and hi < m - 1:  # walk up to the next distinct value
            hi = min(_below(idx, yc, alive, ccnt, ckcnt, blk, j, np.searchsorted(val[j], a_lo, side="right"))[0], m - 1)
            a_hi = _nth(val, idx, alive, ccnt, blk, j, hi)
        v = (a_lo + a_hi) / 2
        n_out, k_out = _below(idx, yc, alive, ccnt, ckcnt, blk, j, np.searchsorted(val[j], v, side="left"))
        value[2 * j + 1], n_rm[2 * j + 1], k_rm[2 * j + 1] = v, n_out, k_out


def _peel(cols, lo_lim, hi_lim, init_lo, init_hi, peel_alpha, mass_min, steps):
    """EMA's peeling: cut the best ``peel_alpha`` tail of one input at a time
    (:func:`_peel_loop`), each box appended to ``steps``."""
    m, k = cols.n, int(np.count_nonzero(cols.y))
    los, his, ms, ks = _peel_loop(cols.val, cols.idx, cols.bid, cols.y, cols.yc, cols.alive, cols.cnt, cols.kcnt, cols.lo_at, cols.hi_at,
                                  cols.blk, lo_lim, hi_lim, init_lo, init_hi, float(peel_alpha), float(mass_min), m, k)
    steps.extend((lo, hi, int(a), int(b)) for lo, hi, a, b in zip(los, his, ms, ks))
    return (int(ms[-1]), int(ks[-1])) if ms else (m, k)


@kernel
def _peel_loop(val, idx, bid, y, yc, alive, cnt, kcnt, lo_at, hi_at, blk, lo_lim, hi_lim, init_lo, init_hi, peel_alpha, mass_min, m, k):
    """The peeling steps in one compiled loop (as Python, 0.2 ms a step of
    NumPy calls around the candidates at 10,000 points x 69 inputs): each
    step finds EMA's candidate peels (:func:`_peel_candidates`, upper then
    lower per input), scores them (:func:`_lenient1`), picks one
    (:func:`_best`, ranking by the inputs left unrestricted), stops as EMA
    does, and takes the points peeled out of the box and out of every
    input's block counts. ``lo_lim`` and ``hi_lim`` are updated in place;
    returns each new box's limits, points and cases of interest."""
    d, n = val.shape
    flat_cnt, flat_kcnt = cnt.reshape(-1), kcnt.reshape(-1)
    ccnt, ckcnt = np.empty_like(cnt), np.empty_like(kcnt)
    value, n_rm, k_rm = np.empty(2 * d), np.empty(2 * d, np.int64), np.empty(2 * d, np.int64)
    n_new, k_new, nonres = np.empty(2 * d, np.int64), np.empty(2 * d, np.int64), np.empty(2 * d, np.int64)
    los, his, ms, ks = [lo_lim.copy()], [hi_lim.copy()], [m], [k]  # typed by their first entries, dropped at the end
    while True:
        for j in range(d):  # cumulative block counts of the box
            a = b = 0
            for t in range(cnt.shape[1]):
                a += cnt[j, t]
                b += kcnt[j, t]
                ccnt[j, t], ckcnt[j, t] = a, b
        _peel_candidates(val, idx, yc, alive, ccnt, ckcnt, blk, m, k, peel_alpha, 1 - peel_alpha, value, n_rm, k_rm)
        restricted = 0
        for j in range(d):
            restricted += lo_lim[j] != init_lo[j] or hi_lim[j] != init_hi[j]
        for j in range(d):  # inputs left unrestricted after each candidate
            res_lo, res_hi = lo_lim[j] != init_lo[j], hi_lim[j] != init_hi[j]
            now = res_lo or res_hi
            nonres[2 * j] = d - (restricted - now + (res_lo or value[2 * j] != init_hi[j]))
            nonres[2 * j + 1] = d - (restricted - now + (value[2 * j + 1] != init_lo[j] or res_hi))
        for c in range(2 * d):
            n_new[c], k_new[c] = m - n_rm[c], k - k_rm[c]
        obj = _lenient1(k, m, k_new, n_new)
        c = _best(obj, nonres)
        mass_new = n_new[c] / n
        if not (mass_new >= mass_min and mass_new < m / n and obj[c] > 0):
            break
        j, v = c // 2, value[c]
        if c % 2 == 0:  # upper peel: the entries above v leave the box
            q = np.searchsorted(val[j], v, side="right")
            start, stop = q, hi_at[j]
            hi_at[j] = min(q, hi_at[j])
            hi_lim[j] = v
        else:  # lower peel: the entries below v
            q = np.searchsorted(val[j], v, side="left")
            start, stop = lo_at[j], q
            lo_at[j] = max(q, lo_at[j])
            lo_lim[j] = v
        for p in range(start, stop):
            r = idx[j, p]
            if alive[r]:
                alive[r] = False
                for i in range(d):
                    flat_cnt[bid[r, i]] -= 1
                    if y[r]:
                        flat_kcnt[bid[r, i]] -= 1
        m, k = n_new[c], k_new[c]
        los.append(lo_lim.copy())
        his.append(hi_lim.copy())
        ms.append(m)
        ks.append(k)
    return los[1:], his[1:], ms[1:], ks[1:]


def _paste(X, y, cols, lo_lim, hi_lim, init_lo, init_hi, paste_alpha, mass_min, m, k, steps):
    """EMA's pasting: widen one side of one restricted input at a time.

    A paste on input j can only take in points that are outside the box on
    input j alone, so each step looks at those (grouped by input) and at the
    points of the box lying exactly on a limit, not at all the data.
    """
    n, d = X.shape
    res = [j for j in range(d) if lo_lim[j] != init_lo[j] or hi_lim[j] != init_hi[j]]

    def outside(j: int) -> np.ndarray:  # points outside the limits of input j, from its sorted order
        flag = np.zeros(n, dtype=bool)
        flag[cols.idx[j, : np.searchsorted(cols.val[j], lo_lim[j], "left")]] = True
        flag[cols.idx[j, np.searchsorted(cols.val[j], hi_lim[j], "right") :]] = True
        return flag

    def on_limit(j: int, value: float) -> int:  # points of the box with x_j == value
        rows = cols.idx[j, np.searchsorted(cols.val[j], value, "left") : np.searchsorted(cols.val[j], value, "right")]
        return int(np.count_nonzero(n_out[rows] == 0))

    # pasting never restricts another input, so only these inputs matter
    out = {j: outside(j) for j in res}
    n_out = np.zeros(n, dtype=np.int32)  # restricted inputs on which a point is outside the box
    which = np.zeros(n, dtype=np.int32)  # sum of j + 1 over those inputs
    for j in res:
        n_out += out[j]
        which[out[j]] += j + 1
    while True:
        res = [j for j in res if lo_lim[j] != init_lo[j] or hi_lim[j] != init_hi[j]]
        if not res:
            return
        one = np.flatnonzero(n_out == 1)  # outside on exactly one restricted input ...
        one_dim = which[one] - 1  # ... this one
        y_one = y[one]
        cand = []  # (value, input, lower side?, n_new, k_new, input still restricted?)
        for j in res:
            sel = one_dim == j
            xs, ys = X[one[sel], j], y_one[sel]
            lo, hi = lo_lim[j], hi_lim[j]
            # EMA's order: paste the lower side, then the upper side. The data
            # to paste from are the points in the box on every other
            # restricted input and beyond or on the limit; the whole box
            # stays inside the widened box.
            data = np.sort(np.concatenate([xs[xs <= lo], np.full(on_limit(j, lo), lo)]))
            v = _ema_quantile(data, 1 - paste_alpha) if data.size else float(init_lo[j])
            add = (xs >= v) & (xs <= hi)
            still = v != init_lo[j] or hi != init_hi[j]
            cand.append((v, j, True, m + np.count_nonzero(add), k + np.count_nonzero(ys[add]), still))
            data = np.sort(np.concatenate([xs[xs >= hi], np.full(on_limit(j, hi), hi)]))
            v = _ema_quantile(data, paste_alpha) if data.size else float(init_hi[j])
            add = (xs >= lo) & (xs <= v)
            still = lo != init_lo[j] or v != init_hi[j]
            cand.append((v, j, False, m + np.count_nonzero(add), k + np.count_nonzero(ys[add]), still))
        n_new = np.array([c[3] for c in cand], dtype=np.int64)
        k_new = np.array([c[4] for c in cand], dtype=np.int64)
        obj = _lenient1(k, m, k_new, n_new)
        nonres = d - (len(res) - 1 + np.array([c[5] for c in cand], dtype=np.int64))
        c = _best(obj, nonres)
        v, j = cand[c][0], cand[c][1]
        n_c, k_c = int(n_new[c]), int(k_new[c])
        mass_new = n_c / n
        if not (mass_new >= mass_min and mass_new > m / n and obj[c] > 0 and k_c / n_c > k / m):
            return
        if cand[c][2]:
            lo_lim[j] = v
        else:
            hi_lim[j] = v
        n_out -= out[j]
        which[out[j]] -= j + 1
        out[j] = outside(j)
        n_out += out[j]
        which[out[j]] += j + 1
        m, k = n_c, k_c
        steps.append((lo_lim.copy(), hi_lim.copy(), m, k))


def find_box(
    X: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    *,
    threshold: float = 0.8,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
    paste: bool = False,
    paste_alpha: float = 0.05,
) -> PrimResult:
    """Run PRIM on continuous inputs ``X`` (n, d) and cases of interest ``y`` (n,).

    Peels, as EMA Workbench does, the ``peel_alpha`` tail of one input at a
    time (the one that raises density most per point removed) until no peel
    helps or the next box would hold less than ``mass_min`` of the points;
    then, if ``paste``, widens the box again, by the ``paste_alpha``
    quantile of the points just outside one side, while that raises density.
    Returns the whole trajectory and picks the last box whose density is at
    least ``threshold`` (else the densest, the first of equals).

    Raises ValueError on malformed input: wrong shapes, NaN or infinite
    values, no case of interest, a wrong number of names, or parameters out
    of range.
    """
    X, y, names = _validate(X, y, names, threshold, peel_alpha, paste_alpha, mass_min)
    n, d = X.shape
    cols = _SortedColumns(X, y)
    init_lo, init_hi = cols.val[:, 0].copy(), cols.val[:, -1].copy()  # the data range
    lo_lim, hi_lim = init_lo.copy(), init_hi.copy()
    t_coi = int(np.count_nonzero(y))
    steps = [(lo_lim.copy(), hi_lim.copy(), n, t_coi)]
    m, k = _peel(cols, lo_lim, hi_lim, init_lo, init_hi, float(peel_alpha), mass_min, steps)
    if paste:
        _paste(X, y, cols, lo_lim, hi_lim, init_lo, init_hi, float(paste_alpha), mass_min, m, k, steps)

    data_limits = {names[j]: (float(init_lo[j]), float(init_hi[j])) for j in range(d)}
    trajectory = []
    for lo, hi, m, k in steps:
        restricted = tuple(names[j] for j in range(d) if lo[j] != init_lo[j] or hi[j] != init_hi[j])
        trajectory.append(
            Box(
                limits={names[j]: (float(lo[j]), float(hi[j])) for j in range(d)},
                restricted=restricted,
                coverage=k / t_coi,
                density=k / m,
                mass=m / n,
                n_points=int(m),
                data_limits=data_limits,
            )
        )
    density = np.array([b.density for b in trajectory])
    meets = np.flatnonzero(density >= threshold)
    chosen = int(meets[-1]) if meets.size else int(np.argmax(density))
    return PrimResult(trajectory=trajectory, chosen=chosen, names=names)
