"""Order statistics of each row of a table, without sorting it: the compiled
selection behind :func:`foedus.exploration.robustness.row_percentiles`.

Why hand-written and compiled: the percentiles of an exploration read a few
order statistics of each metric row (5th to 95th percentile: ten of 10,000
values), and NumPy's ``np.sort`` and ``np.partition`` both ran at 25 ns per
value on this machine (its wheel takes the scalar sort here: 31 ms for the
web app's 156 rows x 10,000 futures, half of an assumption move's
exploration), and numba's own sort is slower still (48 ns per value for rows
of 1,000). Selection by buckets reads each row twice and sorts only the few
values in the buckets that hold the wanted ranks: 5.7 ms for those 156 rows,
1.6 ms for the comparison's ranges (264 rows of 1,000).

For a row ``v`` of ``n`` values with minimum ``lo`` and maximum ``hi``:

1. bucket of each value ``b(v) = min(floor((v - lo) * B / (hi - lo)), B - 1)``
   with ``B`` buckets. IEEE subtraction and multiplication by a positive
   number are monotone (never reversing two values), and so is the floor,
   so every value of bucket ``i`` is at most every value of bucket ``i + 1``;
2. counts per bucket, and their running sum, give the bucket of each wanted
   rank ``k`` and its rank inside the bucket;
3. the values of those buckets are gathered; each rank's bucket, while it
   holds more than ``SMALL`` values (heavy-tailed rows put many values in
   the first buckets), is narrowed in the same way to the bucket holding the
   rank, at most ``PASSES`` times, then sorted, and the value at the rank is
   read. (No recursion: numba's cache cannot hold a recursive function.)

The result is the ``k``-th smallest value exactly, as a full sort would give
it (a zero's sign aside, where 0.0 and -0.0 tie). A row holding NaN gives
NaN; a row with an infinite value, or whose range overflows, is sorted
whole. ``tests/test_explore.py`` checks it against ``np.sort`` (and
``row_percentiles`` against ``np.percentile``) over ties, heavy tails,
infinities and NaN.
"""

from __future__ import annotations

import numpy as np

from foedus.models.compiled import kernel

#: Buckets per pass.
BUCKETS = 1024
#: Values up to which a bucket (or row) is sorted rather than split again.
SMALL = 64
#: Passes narrowing one rank's bucket before it is sorted whatever its size.
PASSES = 3


@kernel
def _scale(lo: float, hi: float, size: int) -> float:
    """Buckets per unit of values from ``lo`` to ``hi``; 0 where the values
    are to be sorted instead (few values, an infinite value, or a range
    that overflows or underflows)."""
    scale = BUCKETS / (hi - lo) if hi > lo else 0.0
    if size <= SMALL or not (np.isfinite(lo) and np.isfinite(hi) and np.isfinite(scale)):
        scale = 0.0
    return scale


@kernel
def _range(vals: np.ndarray) -> tuple[float, float, float]:
    """Minimum, maximum and buckets per unit (:func:`_scale`) of ``vals``."""
    lo, hi = vals[0], vals[0]
    for i in range(1, vals.size):
        lo = min(lo, vals[i])
        hi = max(hi, vals[i])
    return lo, hi, _scale(lo, hi, vals.size)


@kernel
def _bucket(v: float, lo: float, scale: float) -> int:
    return min(np.int64((v - lo) * scale), BUCKETS - 1)


@kernel
def _counts(vals: np.ndarray, lo: float, scale: float) -> np.ndarray:
    """``counts[b]``: how many values lie in the buckets before ``b``
    (``b`` = 0 .. BUCKETS)."""
    counts = np.zeros(BUCKETS + 1, np.int64)
    for i in range(vals.size):
        counts[_bucket(vals[i], lo, scale) + 1] += 1
    for b in range(BUCKETS):
        counts[b + 1] += counts[b]
    return counts


@kernel
def _take(vals: np.ndarray, lo: float, scale: float, b: int, size: int) -> np.ndarray:
    """The ``size`` values of ``vals`` in bucket ``b``."""
    part = np.empty(size, vals.dtype)
    k = 0
    for i in range(vals.size):
        if _bucket(vals[i], lo, scale) == b:
            part[k] = vals[i]
            k += 1
    return part


@kernel
def _bucket_of(counts: np.ndarray, rank: int) -> int:
    """The bucket holding the value of ``rank`` (:func:`_counts`)."""
    b = 0
    while counts[b + 1] <= rank:
        b += 1
    return b


@kernel
def _narrow(vals: np.ndarray, ranks: np.ndarray, lo: float, hi: float):
    """While every rank lies in one bucket (a heavy tail leaves most values
    in the first; a single rank always does), at most PASSES times: keep
    only that bucket's values and shift ``ranks`` (in place) to them.
    ``lo`` and ``hi``: the minimum and maximum of ``vals``. Returns the
    values left, their minimum and maximum, buckets per unit (0: sort
    them) and their bucket counts."""
    scale = _scale(lo, hi, vals.size)
    for _ in range(PASSES):
        if scale == 0.0:
            return vals, lo, hi, scale, np.zeros(0, np.int64)
        counts = _counts(vals, lo, scale)
        b = _bucket_of(counts, ranks[0])
        if counts[b + 1] <= ranks[ranks.size - 1]:
            return vals, lo, hi, scale, counts  # the ranks lie in several buckets
        vals = _take(vals, lo, scale, b, counts[b + 1] - counts[b])
        ranks -= counts[b]
        lo, hi, scale = _range(vals)
    return vals, lo, hi, 0.0, np.zeros(0, np.int64)  # narrowed PASSES times: sort what is left


@kernel
def _pick(vals: np.ndarray, lo: float, hi: float, ranks: np.ndarray, out: np.ndarray) -> None:
    """``out[j]`` = the ``ranks[j]``-th smallest of ``vals`` by sorting them
    (all ``lo`` when every value is the same)."""
    s = np.sort(vals) if lo != hi else vals
    for j in range(ranks.size):
        out[j] = s[ranks[j]]


@kernel
def _select(vals: np.ndarray, ranks: np.ndarray, out: np.ndarray, lo: float, hi: float) -> None:
    """``out[j]`` = the ``ranks[j]``-th smallest of ``vals`` (ranks sorted,
    no NaN in ``vals``, whose minimum and maximum are ``lo`` and ``hi``;
    module docstring): buckets for all the ranks together
    (:func:`_narrow`), then each rank's bucket on its own."""
    ranks = ranks.copy()
    vals, lo, hi, scale, counts = _narrow(vals, ranks, lo, hi)
    if scale == 0.0:
        _pick(vals, lo, hi, ranks, out)
        return
    # each wanted bucket once, with where its values go
    slot = np.full(BUCKETS, -1, np.int64)
    first = np.empty(ranks.size, np.int64)  # the bucket of each rank
    n_slots = 0
    for j in range(ranks.size):
        first[j] = b = _bucket_of(counts, ranks[j])
        if slot[b] < 0:
            slot[b] = n_slots
            n_slots += 1
    starts = np.empty(n_slots + 1, np.int64)
    total = 0
    for j in range(ranks.size):
        if j == 0 or first[j] != first[j - 1]:
            starts[slot[first[j]]] = total
            total += counts[first[j] + 1] - counts[first[j]]
    starts[n_slots] = total
    gathered = np.empty(total, vals.dtype)
    fill = starts[:n_slots].copy()
    for i in range(vals.size):
        k = slot[_bucket(vals[i], lo, scale)]
        if k >= 0:
            gathered[fill[k]] = vals[i]
            fill[k] += 1
    one = np.empty(1, np.int64)
    for j in range(ranks.size):
        k = slot[first[j]]
        one[0] = ranks[j] - counts[first[j]]
        part = gathered[starts[k]:starts[k + 1]]
        plo, phi, _ = _range(part)
        part, plo, phi, _, _ = _narrow(part, one, plo, phi)
        _pick(part, plo, phi, one, out[j:j + 1])


def order_statistics(a: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """``(rows, len(ranks))``: the ``ranks[j]``-th smallest value of each row
    of ``a`` (ranks sorted ascending, each in ``[0, n)``); NaN for a row
    holding NaN. Each row's minimum and maximum come from NumPy's
    reductions (vectorised, NaN where the row holds one: 0.1 ms for 104
    rows of 10,000, where a compiled pass that also copied each row and
    looked for NaN took 1.7 ms); the rows are read in place."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    ranks = np.ascontiguousarray(ranks, dtype=np.int64)
    if a.shape[1] == 0:
        return np.full((a.shape[0], ranks.size), np.nan)
    with np.errstate(invalid="ignore"):
        lo, hi = a.min(axis=1), a.max(axis=1)
    return _order_statistics(a, ranks, lo, hi)


@kernel
def _order_statistics(a: np.ndarray, ranks: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """:func:`order_statistics` of each row, given its minimum and maximum."""
    out = np.empty((a.shape[0], ranks.size))
    for r in range(a.shape[0]):
        if lo[r] != lo[r] or hi[r] != hi[r]:  # the row holds NaN
            out[r, :] = np.nan
        else:
            _select(a[r], ranks, out[r], lo[r], hi[r])
    return out
