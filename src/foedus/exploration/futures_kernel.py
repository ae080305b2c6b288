"""Compiled kernels of the futures (``futures.py``): the Latin hypercube and
the inverse CDFs of the marginals, in one pass over each input.

Why hand-written and compiled: ``scipy.stats.qmc.LatinHypercube`` shuffles
one row at a time from Python and the marginals then took three further
passes over the block; together 0.25 M futures/s at 70 inputs on one core,
which made sampling a fifth of ``foedus explore``. Here one ``numba``
kernel builds each input's permutation and maps it through its inverse CDF
while the column sits in cache.

Latin hypercube of block ``b`` (``m`` futures, ``d`` inputs). The kernel
takes one 64-bit word ``r[j, i]`` per input ``j`` and future ``i``:

* its high 32 bits drive a Fisher-Yates shuffle of ``0..m-1`` (step ``i``
  swaps ``i`` with ``k = (r_hi * (i + 1)) >> 32``, Lemire 2019,
  doi:10.1145/3230636, without the rejection step: each ``k`` is drawn with
  probability within a factor ``1 + m / 2**32`` of ``1 / (i + 1)``, below
  2e-5 for the default block);
* its low 32 bits place the point inside its stratum:
  ``u = (perm[i] + (r_lo + 0.5) / 2**32) / m``, never 0 or 1.

The words come from one of two *schemes* (``futures.Design.scheme``):

* scheme 2, the default: SplitMix64 (Steele, Lea & Flood 2014,
  doi:10.1145/2660193.2660195), ``r[j, i] = mix(key + (j m + i + 1) g)``
  with ``g = 0x9E3779B97F4A7C15`` and Stafford's "mix13" finaliser, i.e.
  output ``j m + i + 1`` of the SplitMix64 sequence that starts at ``key``,
  the block's key drawn from ``SeedSequence(seed, spawn_key=(b,))``. Each
  word is a function of its position, so the kernel makes an input's words
  while its column sits in cache (0.3 ns a word, against 3 ns for NumPy's
  PCG64 words, which capped sampling at 3.4 M futures/s at 50 inputs);
* scheme 1, the runs stored before scheme 2: the words are NumPy's PCG64
  stream of that ``SeedSequence``, ``random_raw(d * m)`` row by row, and the
  log-uniform marginal calls libm's ``exp``. Kept so that those runs
  reproduce bit for bit (``foedus runs reproduce``).

So each input has exactly one point in each of the ``m`` strata (McKay,
Beckman & Conover 1979, doi:10.1080/00401706.1979.10489755), and future
``i`` of block ``b`` depends only on (seed, block size, b, i).

Marginals (``_fill``), with ``p = (low, high, mode)``:

* uniform: ``low + u * (high - low)``;
* log-uniform: ``exp(log low + u * (log high - log low))``, with the
  model's vectorised ``exp`` (``foedus.models.compiled``; within one unit in
  the last place) in scheme 2 and libm's in scheme 1;
* triangular (mode ``c`` as a share of the range):
  ``low + sqrt(u c) (high - low)`` if ``u < c``, else
  ``high - sqrt((1 - u)(1 - c)) (high - low)``.

``tests/test_futures.py`` keeps the NumPy reference of both (the oracle)
and checks the kernels against it.
"""

from __future__ import annotations

import numpy as np

from foedus.models.compiled import exp, kernel

#: Codes of the marginals, in the order of ``futures.DISTRIBUTIONS``.
UNIFORM, LOGUNIFORM, TRIANGULAR = 0, 1, 2

_LOW32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_TWO_TO_MINUS_32 = 2.0 ** -32
#: SplitMix64's increment (the golden gamma) and its finaliser's constants.
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


#: Futures per tile when the marginals read one row per future: the tile
#: (``TILE x d`` inputs) stays in cache while it is transposed.
TILE = 512


@kernel
def _fill(out: np.ndarray, units: np.ndarray, kind: int, low: float, high: float, mode: float, scheme: int) -> None:
    """``out[:]`` = one input's marginal at ``units`` (module docstring);
    the constants of each formula worked out once per call."""
    m = units.size
    if kind == LOGUNIFORM:
        llo = np.log(low)
        lw = np.log(high) - llo
        if scheme == 1:
            for i in range(m):
                out[i] = np.exp(llo + units[i] * lw)
        else:
            for i in range(m):
                out[i] = exp(llo + units[i] * lw)
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
def marginals(u: np.ndarray, kinds: np.ndarray, low: np.ndarray, high: np.ndarray, mode: np.ndarray, out: np.ndarray, scheme: int) -> np.ndarray:
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
            _fill(out[j, start:start + k], units[:k], kinds[j], low[j], high[j], mode[j], scheme)
    return out


@kernel
def splitmix64(key: np.uint64, first: int, out: np.ndarray) -> np.ndarray:
    """``out[i]`` = output ``first + i + 1`` of the SplitMix64 sequence
    that starts at ``key`` (module docstring)."""
    for i in range(out.size):
        z = key + np.uint64(first + i + 1) * _GAMMA
        z = (z ^ (z >> _S30)) * _MIX1
        z = (z ^ (z >> _S27)) * _MIX2
        out[i] = z ^ (z >> _S31)
    return out


@kernel
def _stratified(words: np.ndarray, perm: np.ndarray, units: np.ndarray) -> None:
    """``units`` = one input's Latin-hypercube points from its ``words``
    (module docstring); ``perm`` is scratch."""
    m = words.size
    for i in range(m):
        perm[i] = i
    for i in range(m - 1, 0, -1):
        k = np.int64(((words[i] >> _SHIFT32) * np.uint64(i + 1)) >> _SHIFT32)
        perm[i], perm[k] = perm[k], perm[i]
    for i in range(m):
        units[i] = (perm[i] + (np.float64(words[i] & _LOW32) + 0.5) * _TWO_TO_MINUS_32) / m


@kernel
def latin_hypercube(key: np.uint64, raw: np.ndarray, kinds: np.ndarray, low: np.ndarray, high: np.ndarray, mode: np.ndarray, out: np.ndarray, scheme: int) -> np.ndarray:
    """``out`` ``(d, m)``: Latin-hypercube values, input ``j`` through its
    marginal; the words from SplitMix64 at ``key`` (scheme 2) or given as
    ``raw`` ``(d, m)`` (scheme 1; module docstring)."""
    d, m = out.shape
    words = np.empty(m, np.uint64)
    perm = np.empty(m, np.int32)
    units = np.empty(m)
    for j in range(d):
        if scheme == 1:
            _stratified(raw[j], perm, units)
        else:
            _stratified(splitmix64(key, j * m, words), perm, units)
        _fill(out[j], units, kinds[j], low[j], high[j], mode[j], scheme)
    return out
