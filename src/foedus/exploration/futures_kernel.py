"""Compiled kernels of the futures (``futures.py``): the Latin hypercube and
the inverse CDFs of the marginals, in one pass over each input.

Why hand-written and compiled: ``scipy.stats.qmc.LatinHypercube`` shuffles
one row at a time from Python and the marginals then took three further
passes over the block; together 0.25 M futures/s at 70 inputs on one core,
which made sampling a fifth of ``foedus explore``. Here one ``numba``
kernel builds each input's permutation and maps it through its inverse CDF
while the column sits in cache.

Latin hypercube of block ``b`` (``m`` futures, ``d`` inputs). From the
block's generator (``SeedSequence(seed, spawn_key=(b,))``, PCG64) the
kernel takes one 64-bit word ``r[j, i]`` per input ``j`` and future ``i``:

* its high 32 bits drive a Fisher-Yates shuffle of ``0..m-1`` (step ``i``
  swaps ``i`` with ``k = (r_hi * (i + 1)) >> 32``, Lemire 2019,
  doi:10.1145/3230636, without the rejection step: each ``k`` is drawn with
  probability within a factor ``1 + m / 2**32`` of ``1 / (i + 1)``, below
  2e-5 for the default block);
* its low 32 bits place the point inside its stratum:
  ``u = (perm[i] + (r_lo + 0.5) / 2**32) / m``, never 0 or 1.

So each input has exactly one point in each of the ``m`` strata (McKay,
Beckman & Conover 1979, doi:10.1080/00401706.1979.10489755), and future
``i`` of block ``b`` depends only on (seed, block size, b, i).

Marginals (``_fill``), with ``p = (low, high, mode)``:

* uniform: ``low + u * (high - low)``;
* log-uniform: ``exp(log low + u * (log high - log low))``;
* triangular (mode ``c`` as a share of the range):
  ``low + sqrt(u c) (high - low)`` if ``u < c``, else
  ``high - sqrt((1 - u)(1 - c)) (high - low)``.

``tests/test_futures.py`` keeps the NumPy reference of both (the oracle)
and checks the kernels against it.
"""

from __future__ import annotations

import numpy as np

from foedus.models.compiled import kernel

#: Codes of the marginals, in the order of ``futures.DISTRIBUTIONS``.
UNIFORM, LOGUNIFORM, TRIANGULAR = 0, 1, 2

_LOW32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_TWO_TO_MINUS_32 = 2.0 ** -32


#: Futures per tile when the marginals read one row per future: the tile
#: (``TILE x d`` inputs) stays in cache while it is transposed.
TILE = 512


@kernel
def _fill(out: np.ndarray, units: np.ndarray, kind: int, low: float, high: float, mode: float) -> None:
    """``out[:]`` = one input's marginal at ``units`` (module docstring);
    the constants of each formula worked out once per call."""
    m = units.size
    if kind == LOGUNIFORM:
        llo = np.log(low)
        lw = np.log(high) - llo
        for i in range(m):
            out[i] = np.exp(llo + units[i] * lw)
    elif kind == TRIANGULAR:
        w = high - low
        c = (mode - low) / w
        for i in range(m):
            u = units[i]
            out[i] = low + np.sqrt(u * c) * w if u < c else high - np.sqrt((1.0 - u) * (1.0 - c)) * w
    else:
        w = high - low
        for i in range(m):
            out[i] = low + units[i] * w


@kernel
def marginals(u: np.ndarray, kinds: np.ndarray, low: np.ndarray, high: np.ndarray, mode: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out`` ``(d, m)``: input ``j`` of unit points ``u`` ``(m, d)`` (one
    row per future, as samplers give them) through its marginal, tile by
    tile of futures. ``out`` comes from the caller: NumPy backs large
    arrays with huge pages, so writing a fresh block is four times faster
    than into one allocated here."""
    m, d = u.shape
    units = np.empty(TILE)
    for start in range(0, m, TILE):
        k = min(TILE, m - start)
        for j in range(d):
            for i in range(k):
                units[i] = u[start + i, j]
            _fill(out[j, start:start + k], units[:k], kinds[j], low[j], high[j], mode[j])
    return out


@kernel
def latin_hypercube(raw: np.ndarray, kinds: np.ndarray, low: np.ndarray, high: np.ndarray, mode: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out`` ``(d, m)``: Latin-hypercube values from ``raw`` ``(d, m)``
    uint64 words (module docstring), input ``j`` through its marginal."""
    d, m = raw.shape
    perm = np.empty(m, np.int32)
    units = np.empty(m)
    for j in range(d):
        for i in range(m):
            perm[i] = i
        for i in range(m - 1, 0, -1):
            k = np.int64(((raw[j, i] >> _SHIFT32) * np.uint64(i + 1)) >> _SHIFT32)
            perm[i], perm[k] = perm[k], perm[i]
        for i in range(m):
            units[i] = (perm[i] + (np.float64(raw[j, i] & _LOW32) + 0.5) * _TWO_TO_MINUS_32) / m
        _fill(out[j], units, kinds[j], low[j], high[j], mode[j])
    return out
