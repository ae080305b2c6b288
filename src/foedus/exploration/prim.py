"""Scenario discovery with PRIM: find a box of input ranges where failures concentrate.

This module owns the Patient Rule Induction Method (PRIM) of Friedman and
Fisher, "Bump hunting in high-dimensional data", Statistics and Computing 9
(1999) 123-143, doi:10.1023/A:1008894516817, in the scenario-discovery form
used by the EMA Workbench (Kwakkel 2017, doi:10.1016/j.envsoft.2017.06.054):
binary cases of interest, continuous inputs, the "lenient1" objective (gain
in density divided by the number of points removed), peeling and optional
pasting. It is pure computation: no plotting, printing or I/O.

Why hand-written
    ``ema_workbench.analysis.prim.Prim`` copies pandas DataFrames for every
    candidate peel, re-sorts every column at every step and pulls in
    matplotlib and seaborn on import; on 1e6 points x 12 inputs it takes
    about 18 s and 6 GB. Here each column is argsorted once; the box is a
    global boolean mask, and each column keeps a window of its sorted order
    that holds every point still in the box (plus points already peeled away
    by other columns, dropped lazily when they make up half of the window).
    The quantile a peel needs sits near the ends of a window, so each step
    only reads short runs from the window ends, and all 2d candidate peels
    are scored at once with NumPy.

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
    returned. Only continuous (float) inputs and a single box are handled:
    no categorical inputs, no second box found after removing the first.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

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
        bad = sorted({int(j) for j in np.nonzero(~np.isfinite(X))[1]})
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


class _Column:
    """One input's points in ascending order of its value.

    ``val``, ``idx`` (row number) and ``yc`` (case of interest) are in that
    order; ``flag`` marks the entries still in the box and ``pos`` maps a
    row number back to its entry. The window ``[a, b)`` holds every entry
    still in the box; entries in it that were peeled on another input have
    their flag off and are skipped when read.
    """

    __slots__ = ("val", "idx", "yc", "pos", "flag", "a", "b")

    def __init__(self, x: np.ndarray, y: np.ndarray):
        n = x.shape[0]
        order = np.argsort(x)
        self.val = x[order]
        self.yc = y[order]
        itype = np.int32 if n < 2**31 else np.intp
        self.idx = order.astype(itype)
        self.pos = np.empty(n, dtype=itype)
        self.pos[order] = np.arange(n, dtype=itype)
        self.flag = np.ones(n, dtype=bool)
        self.a, self.b = 0, n

    def end(self, need: int, m: int, top: bool):
        """Sorted values and case flags of at least ``need`` entries in the
        box (or all of them) from the low end of the window, or the high end
        if ``top``, and the number of window entries read for them."""
        span = self.b - self.a
        w = min(int(need * span / m * 1.15) + 32, span)
        while True:
            if top:
                sl = slice(self.b - w, self.b)
            else:
                sl = slice(self.a, self.a + w)
            keep = self.flag[sl]
            vals = self.val[sl][keep]
            if vals.shape[0] >= need or w == span:
                return vals, self.yc[sl][keep], w
            w = min(2 * w, span)


def _lower_peel(col: _Column, m: int, q: float):
    """EMA's lower peel on one column: (value, n removed, k removed, w)."""
    lo, hi = _quantile_index(m, q)
    need = min(hi + 2, m)
    while True:
        vals, ys, w = col.end(need, m, top=False)
        got = vals.shape[0]
        if vals[lo] == vals[hi] and hi < m - 1:
            r = int(np.searchsorted(vals, vals[lo], "right"))
            if r >= got and got < m:  # the run of ties goes past what was read
                need = min(2 * got + 2, m)
                continue
            hi = min(r, m - 1)
        break
    value = (vals[lo] + vals[hi]) / 2
    n_rm = int(np.searchsorted(vals, value, "left"))
    return float(value), n_rm, int(np.count_nonzero(ys[:n_rm])), w


def _upper_peel(col: _Column, m: int, q: float):
    """EMA's upper peel on one column: (value, n removed, k removed, w)."""
    lo, hi = _quantile_index(m, q)
    need = min(m - lo + 1, m)
    while True:
        vals, ys, w = col.end(need, m, top=True)
        got = vals.shape[0]
        off = m - got  # vals[t - off] is the t-th smallest value in the box
        if vals[lo - off] == vals[hi - off] and lo > 0:
            r = int(np.searchsorted(vals, vals[hi - off], "left")) - 1
            if r < 0 and got < m:  # the run of ties goes past what was read
                need = min(2 * got + 2, m)
                continue
            lo = max(r + off, 0)
        break
    value = (vals[lo - off] + vals[hi - off]) / 2
    n_keep = int(np.searchsorted(vals, value, "right"))
    return float(value), got - n_keep, int(np.count_nonzero(ys[n_keep:])), w


def _best(obj: np.ndarray, nonres: np.ndarray) -> int:
    """EMA's pick: highest objective, then most unrestricted inputs, then first."""
    top = np.flatnonzero(obj == obj.max())
    return int(top[np.argmax(nonres[top])])


def _lenient1(k_old: int, n_old: int, k_new: np.ndarray, n_new: np.ndarray) -> np.ndarray:
    """EMA's lenient1 objective, vectorised, with EMA's float operations."""
    mean_old = k_old / n_old
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_new = np.where(n_new > 0, k_new / np.maximum(n_new, 1), 0.0)
        change = np.abs(n_old - n_new).astype(np.float64)
        obj = np.where(mean_new != mean_old, (mean_new - mean_old) / change, 0.0)
    return obj


def _sorted_columns(X: np.ndarray, y: np.ndarray) -> list[_Column]:
    """Sort every column once; on threads for large data (NumPy's sort and
    fancy indexing release the GIL)."""
    n, d = X.shape
    workers = min(d, os.cpu_count() or 1)
    if n < 50_000 or workers < 2:
        return [_Column(X[:, j], y) for j in range(d)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda j: _Column(X[:, j], y), range(d)))


def _peel(X, y, lo_lim, hi_lim, init_lo, init_hi, peel_alpha, mass_min, steps):
    n, d = X.shape
    cols = _sorted_columns(X, y)
    m, k = n, int(np.count_nonzero(y))
    q_low, q_up = peel_alpha, 1 - peel_alpha
    n_cand = 2 * d
    value = np.empty(n_cand)
    n_rm = np.empty(n_cand, dtype=np.int64)
    k_rm = np.empty(n_cand, dtype=np.int64)
    width = [0] * n_cand
    while True:
        for j, col in enumerate(cols):
            # EMA's candidate order: upper peel, then lower peel, per input
            value[2 * j], n_rm[2 * j], k_rm[2 * j], width[2 * j] = _upper_peel(col, m, q_up)
            value[2 * j + 1], n_rm[2 * j + 1], k_rm[2 * j + 1], width[2 * j + 1] = _lower_peel(
                col, m, q_low
            )
        n_new = m - n_rm
        obj = _lenient1(k, m, k - k_rm, n_new)

        res_lo = lo_lim != init_lo
        res_hi = hi_lim != init_hi
        res_now = res_lo | res_hi
        after = np.empty(n_cand, dtype=bool)
        after[0::2] = res_lo | (value[0::2] != init_hi)
        after[1::2] = (value[1::2] != init_lo) | res_hi
        nonres = d - (int(res_now.sum()) - np.repeat(res_now, 2) + after)

        c = _best(obj, nonres)
        mass_new = int(n_new[c]) / n
        if not (mass_new >= mass_min and mass_new < m / n and obj[c] > 0):
            return cols, m, k
        j, col, v, w = c // 2, cols[c // 2], float(value[c]), width[c]
        if c % 2 == 0:  # upper peel: drop every entry above v
            cut = col.b - w + int(np.searchsorted(col.val[col.b - w : col.b], v, "right"))
            gone = col.idx[cut : col.b][col.flag[cut : col.b]]
            col.b = cut
            hi_lim[j] = v
        else:  # lower peel: drop every entry below v
            cut = col.a + int(np.searchsorted(col.val[col.a : col.a + w], v, "left"))
            gone = col.idx[col.a : cut][col.flag[col.a : cut]]
            col.a = cut
            lo_lim[j] = v
        for other in cols:
            other.flag[other.pos[gone]] = False
        m, k = int(n_new[c]), k - int(k_rm[c])
        steps.append((lo_lim.copy(), hi_lim.copy(), m, k))


def _paste(X, y, lo_lim, hi_lim, init_lo, init_hi, paste_alpha, mass_min, m, k, steps):
    n, d = X.shape
    while True:
        res = np.flatnonzero((lo_lim != init_lo) | (hi_lim != init_hi))
        if res.size == 0:
            return
        # only points outside the box on at most one restricted input matter
        n_out = np.zeros(n, dtype=np.int8)
        for j in res:
            xj = X[:, j]
            n_out += (xj < lo_lim[j]) | (xj > hi_lim[j])
        pool = np.flatnonzero(n_out <= 1)
        n_out_pool, y_pool = n_out[pool], y[pool]

        cand = []  # (value, dim, is_lower, n_new, k_new, restricted after)
        for j in res:
            xj = X[pool, j]
            out_j = (xj < lo_lim[j]) | (xj > hi_lim[j])
            ok = n_out_pool == out_j  # in the box on every other restricted input
            # EMA's order: paste the lower side, then the upper side
            data = np.sort(xj[ok & (xj >= init_lo[j]) & (xj <= lo_lim[j])])
            v = _ema_quantile(data, 1 - paste_alpha) if data.size else float(init_lo[j])
            inside = ok & (xj >= v) & (xj <= hi_lim[j])
            still = v != init_lo[j] or hi_lim[j] != init_hi[j]
            cand.append((v, j, True, np.count_nonzero(inside), np.count_nonzero(y_pool[inside]), still))
            data = np.sort(xj[ok & (xj >= hi_lim[j]) & (xj <= init_hi[j])])
            v = _ema_quantile(data, paste_alpha) if data.size else float(init_hi[j])
            inside = ok & (xj >= lo_lim[j]) & (xj <= v)
            still = lo_lim[j] != init_lo[j] or v != init_hi[j]
            cand.append((v, j, False, np.count_nonzero(inside), np.count_nonzero(y_pool[inside]), still))
        n_new = np.array([c[3] for c in cand], dtype=np.int64)
        k_new = np.array([c[4] for c in cand], dtype=np.int64)
        obj = _lenient1(k, m, k_new, n_new)
        nonres = d - (res.size - 1 + np.array([c[5] for c in cand], dtype=np.int64))
        c = _best(obj, nonres)
        v, j, is_lower, n_c, k_c, _ = cand[c]
        n_c, k_c = int(n_c), int(k_c)
        mass_new = n_c / n
        if not (mass_new >= mass_min and mass_new > m / n and obj[c] > 0 and k_c / n_c > k / m):
            return
        if is_lower:
            lo_lim[j] = v
        else:
            hi_lim[j] = v
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
    then, if ``paste``, widens the box again while that raises density.
    Returns the whole trajectory and picks the last box whose density is at
    least ``threshold`` (else the densest, the first of equals).

    Raises ValueError on malformed input: wrong shapes, NaN or infinite
    values, no case of interest, a wrong number of names, or parameters out
    of range.
    """
    X, y, names = _validate(X, y, names, threshold, peel_alpha, paste_alpha, mass_min)
    n, d = X.shape
    init_lo, init_hi = X.min(axis=0), X.max(axis=0)
    lo_lim, hi_lim = init_lo.copy(), init_hi.copy()
    t_coi = int(np.count_nonzero(y))
    steps = [(lo_lim.copy(), hi_lim.copy(), n, t_coi)]
    cols, m, k = _peel(X, y, lo_lim, hi_lim, init_lo, init_hi, float(peel_alpha), mass_min, steps)
    if paste:
        _paste(X, y, lo_lim, hi_lim, init_lo, init_hi, float(paste_alpha), mass_min, m, k, steps)

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
