"""Variance-based (Sobol') global sensitivity analysis: which uncertain inputs
drive which outputs, with bootstrap confidence intervals.

What this module owns
---------------------
The problem/sample/analyze split of SALib, for first-order (``S1``) and
total-order (``ST``) Sobol' indices of any number of outputs at once:

* :class:`SobolProblem` -- input names and uniform bounds. Inputs with other
  distributions are the caller's business: sample on the bounds you want (for
  instance ``(0, 1)``) and map through the inverse CDF inside the model.
* :func:`sobol_sample` -- the Saltelli cross-sampled design built on a
  scrambled Sobol' sequence (``N * (d + 2)`` rows, or ``N * (2d + 2)`` with
  ``calc_second_order=True``).
* :func:`sobol_analyze` -- ``S1``, ``ST`` and their confidence half-widths
  for every output column of ``Y`` (returned as :class:`SobolIndices`).
* :func:`sobol` -- sample, evaluate a vectorised model in row chunks, analyze.

Estimators
----------
With ``A``, ``B`` the two independent base matrices and ``AB_i`` = ``A`` with
column ``i`` taken from ``B``, and ``V`` the sample variance of ``[f(A); f(B)]``:

* first order (Saltelli et al. 2010, Table 2 (b))::

      S1_i = mean(f(B) * (f(AB_i) - f(A))) / V

* total order (Jansen 1999; Saltelli et al. 2010, Table 2 (f))::

      ST_i = 0.5 * mean((f(A) - f(AB_i)) ** 2) / V

Each output is first standardised over all its rows, ``(Y - mean) / std``, as
SALib does (the ``S1`` estimator is not shift-invariant, so this matters for
agreement). Confidence intervals are the normal approximation SALib uses:
``conf = z * std(bootstrap estimates, ddof=1)`` with ``z`` the two-sided
normal quantile for ``conf_level``; the bootstrap resamples the ``N`` base rows
(``A``, ``B`` and every ``AB_i`` together) with replacement, drawing the
resample indices exactly as SALib does (``default_rng(seed).integers(N,
size=(N, num_resamples))``), so for a non-zero seed even the half-widths
match SALib's to rounding. Unlike SALib, ``seed=0`` is a real seed here (SALib
treats 0 as "unseeded").

Degenerate outputs: an output that is constant over the design (or whose
``[f(A); f(B)]`` variance is zero after standardisation) has undefined indices;
they are returned as NaN (value and confidence) rather than SALib's silent
zero, so a flat output is never mistaken for "no input matters". A bootstrap
resample whose variance is zero is likewise dropped from the spread estimate.

Why analysis is hand-vectorised but sampling is not
--------------------------------------------------
SALib's ``analyze`` handles one output per call and loops over inputs in
Python, indexing ``A[r]``, ``B[r]`` and ``AB[r, j]`` (each an ``N x R`` copy) for
every input; for 16 inputs x 6 outputs at ``N = 8192`` it takes seconds and was
~97 % of a whole sensitivity run. Here all outputs and inputs are reduced in a
few array expressions, and the bootstrap is one resample-count matrix ``W``
(``R x N``, built from the same index array SALib draws) multiplied into the
per-row terms: a mean over a resample equals a count-weighted mean over the
base rows, so every bootstrap statistic of every (output, input) pair is one
BLAS matrix product, with no ``N x R x d`` gather. Sampling, by contrast, is
done once per study and has no per-output loop, so we reuse SALib's design
(and thus its exact row layout) instead of re-implementing it.

SALib is imported lazily inside :func:`sobol_sample`; importing this module
does no work.

References
----------
* Sobol', I. M. (2001). Global sensitivity indices for nonlinear mathematical
  models and their Monte Carlo estimates. Mathematics and Computers in
  Simulation 55(1-3):271-280. doi:10.1016/S0378-4754(00)00270-6
* Saltelli, A. (2002). Making best use of model evaluations to compute
  sensitivity indices. Computer Physics Communications 145(2):280-297.
  doi:10.1016/S0010-4655(02)00280-1
* Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M. and
  Tarantola, S. (2010). Variance based sensitivity analysis of model output.
  Design and estimator for the total sensitivity index. Computer Physics
  Communications 181(2):259-270. doi:10.1016/j.cpc.2009.09.018
* Jansen, M. J. W. (1999). Analysis of variance designs for model output.
  Computer Physics Communications 117(1-2):35-43.
  doi:10.1016/S0010-4655(98)00154-4
* Herman, J. and Usher, W. (2017). SALib: An open-source Python library for
  sensitivity analysis. Journal of Open Source Software 2(9):97.
  doi:10.21105/joss.00097
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = [
    "SobolProblem",
    "SobolIndices",
    "sobol_sample",
    "sobol_analyze",
    "sobol",
]

# Variances at or below this (on the standardised scale) count as zero; the
# same threshold SALib uses.
_EPS = float(np.finfo(float).eps)
_INDEX_FIELDS = ("S1", "S1_conf", "ST", "ST_conf")
# Upper bound on elements of one bootstrap count-matrix block (R_block x N).
_W_BLOCK_ELEMENTS = 1 << 22


def _is_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


# --------------------------------------------------------------------------- problem


@dataclass(frozen=True)
class SobolProblem:
    """Input names and uniform bounds ``(low, high)`` for each input.

    Lists are accepted and stored as tuples. Raises ``ValueError`` if there are
    no inputs, names are empty or repeated, the counts of names and bounds
    differ, or a bound is non-finite or has ``low >= high``.
    """

    names: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        names = self.names
        if isinstance(names, str) or not isinstance(names, Sequence):
            raise ValueError(
                f"SobolProblem.names must be a sequence of input names, got {type(names).__name__}"
            )
        names = tuple(names)
        if not names:
            raise ValueError("SobolProblem needs at least one input (names is empty)")
        for i, nm in enumerate(names):
            if not isinstance(nm, str) or not nm:
                raise ValueError(f"SobolProblem.names[{i}] must be a non-empty string, got {nm!r}")
        dupes = sorted({nm for nm in names if names.count(nm) > 1})
        if dupes:
            raise ValueError(f"SobolProblem.names must be unique; repeated: {', '.join(dupes)}")

        bounds = self.bounds
        if isinstance(bounds, str) or not isinstance(bounds, Sequence | np.ndarray):
            raise ValueError(
                "SobolProblem.bounds must be a sequence of (low, high) pairs, "
                f"got {type(bounds).__name__}"
            )
        bounds = tuple(bounds)
        if len(bounds) != len(names):
            raise ValueError(
                f"SobolProblem has {len(names)} names but {len(bounds)} bounds; "
                "give one (low, high) pair per input"
            )
        clean: list[tuple[float, float]] = []
        for nm, b in zip(names, bounds):
            try:
                lo, hi = (float(v) for v in b)
            except (TypeError, ValueError):
                raise ValueError(
                    f"SobolProblem.bounds for {nm!r} must be a (low, high) pair of numbers, "
                    f"got {b!r}"
                ) from None
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise ValueError(f"SobolProblem.bounds for {nm!r} must be finite, got ({lo}, {hi})")
            if not lo < hi:
                raise ValueError(
                    f"SobolProblem.bounds for {nm!r} must have low < high, got ({lo}, {hi})"
                )
            clean.append((lo, hi))
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "bounds", tuple(clean))

    @property
    def num_vars(self) -> int:
        """Number of inputs ``d``."""
        return len(self.names)

    def to_salib(self) -> dict[str, Any]:
        """The equivalent SALib problem dictionary."""
        return {
            "num_vars": self.num_vars,
            "names": list(self.names),
            "bounds": [list(b) for b in self.bounds],
        }


def _check_problem(problem: Any) -> SobolProblem:
    if not isinstance(problem, SobolProblem):
        raise ValueError(f"problem must be a SobolProblem, got {type(problem).__name__}")
    return problem


def _check_seed(seed: Any) -> int:
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


# --------------------------------------------------------------------------- sampling


def sobol_sample(
    problem: SobolProblem, n: int, *, seed: int, calc_second_order: bool = False
) -> np.ndarray:
    """Saltelli's cross-sampled design on a scrambled Sobol' sequence.

    Thin wrapper over ``SALib.sample.sobol.sample`` (Owen scrambling seeded
    with ``seed``; 0 is a valid seed). ``n`` is the number of base samples and
    must be a power of two >= 2 (the balance properties of the Sobol' sequence
    hold only for powers of two). Returns a float array of shape
    ``(n * (d + 2), d)``, or ``(n * (2d + 2), d)`` when ``calc_second_order``;
    rows come in blocks ``A, AB_1..AB_d, [BA_1..BA_d,] B`` per base sample.
    """
    problem = _check_problem(problem)
    if not _is_int(n) or n < 2 or (int(n) & (int(n) - 1)) != 0:
        hint = ""
        if _is_int(n) and n > 2:
            lo = 1 << (int(n).bit_length() - 1)
            hint = f" (nearest: {lo} or {lo * 2})"
        raise ValueError(
            f"n (base sample size) must be a power of two >= 2, got {n!r}{hint}"
        )
    seed = _check_seed(seed)
    if not isinstance(calc_second_order, bool | np.bool_):
        raise ValueError(f"calc_second_order must be a bool, got {calc_second_order!r}")

    from SALib.sample import sobol as _salib_sobol

    X = _salib_sobol.sample(
        problem.to_salib(),
        int(n),
        calc_second_order=bool(calc_second_order),
        scramble=True,
        seed=seed,
    )
    return np.ascontiguousarray(X, dtype=np.float64)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class SobolIndices:
    """First- and total-order Sobol' indices for several outputs.

    ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` have shape ``(len(outputs),
    len(names))``; ``*_conf`` are half-widths of the ``conf_level`` normal
    bootstrap interval (``S1 +/- S1_conf``). NaN marks outputs whose variance
    is zero (indices undefined). Arrays are stored read-only. ``n`` is the
    base sample size the indices were computed from.
    """

    names: tuple[str, ...]
    outputs: tuple[str, ...]
    S1: np.ndarray
    S1_conf: np.ndarray
    ST: np.ndarray
    ST_conf: np.ndarray
    n: int = 0
    conf_level: float = 0.95

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        shape = (len(self.outputs), len(self.names))
        for key in _INDEX_FIELDS:
            arr = np.array(getattr(self, key), dtype=np.float64)
            if arr.shape != shape:
                raise ValueError(
                    f"SobolIndices.{key} must have shape (n_outputs, n_inputs) = {shape}, "
                    f"got {arr.shape}"
                )
            arr.setflags(write=False)
            object.__setattr__(self, key, arr)

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per (output, input): output, input, S1, S1_conf, ST, ST_conf."""
        recs: list[dict[str, Any]] = []
        for o, out in enumerate(self.outputs):
            for i, name in enumerate(self.names):
                recs.append(
                    {
                        "output": out,
                        "input": name,
                        "S1": float(self.S1[o, i]),
                        "S1_conf": float(self.S1_conf[o, i]),
                        "ST": float(self.ST[o, i]),
                        "ST_conf": float(self.ST_conf[o, i]),
                    }
                )
        return recs

    def to_frame(self) -> pandas.DataFrame:
        """Long-format table: columns output, input, S1, S1_conf, ST, ST_conf."""
        import pandas as pd

        return pd.DataFrame.from_records(
            self.to_records(),
            columns=["output", "input", "S1", "S1_conf", "ST", "ST_conf"],
        )


# --------------------------------------------------------------------------- analysis


def _normal_quantile(conf_level: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + conf_level / 2.0)


def _std_ddof1_ignoring_nan(x: np.ndarray) -> np.ndarray:
    """Sample std (ddof=1) along the last axis, skipping NaN; NaN if < 2 values."""
    ok = ~np.isnan(x)
    if ok.all():
        return x.std(axis=-1, ddof=1) if x.shape[-1] >= 2 else np.full(x.shape[:-1], np.nan)
    cnt = ok.sum(axis=-1)
    xz = np.where(ok, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = xz.sum(axis=-1) / cnt
        dev = np.where(ok, x - mean[..., None], 0.0)
        var = (dev * dev).sum(axis=-1) / (cnt - 1)
    return np.where(cnt >= 2, np.sqrt(var), np.nan)


def _coerce_Y(Y: Any) -> tuple[np.ndarray, bool]:
    try:
        arr = np.asarray(Y, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("Y must be a numeric array of model outputs") from None
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"Y must be 1-D (N_total,) or 2-D (N_total, n_outputs), got shape {arr.shape}"
        )
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError("Y has no output columns (shape (N_total, 0))")
    return arr, arr.ndim == 1


def sobol_analyze(
    problem: SobolProblem,
    Y: np.ndarray,
    *,
    outputs: Sequence[str] | None = None,
    conf_level: float = 0.95,
    num_resamples: int = 200,
    seed: int = 0,
    calc_second_order: bool = False,
) -> SobolIndices:
    """First-order and total-order Sobol' indices of every output column of ``Y``.

    ``Y`` holds the model outputs on the rows of :func:`sobol_sample` (same
    order, same ``calc_second_order``): shape ``(N_total,)`` or ``(N_total,
    n_outputs)``. ``outputs`` names the columns (default ``("y",)`` for 1-D
    ``Y``, else ``("y0", "y1", ...)``). ``S1`` uses the Saltelli et al. (2010)
    estimator and ``ST`` Jansen's (1999); ``*_conf`` are ``z * std`` of
    ``num_resamples`` bootstrap estimates (resample indices from
    ``numpy.random.default_rng(seed)``). Point estimates agree with
    ``SALib.analyze.sobol.analyze`` to rounding. Outputs with zero variance get
    NaN indices and NaN half-widths. Only first- and total-order indices are
    computed, also from a second-order design.
    """
    problem = _check_problem(problem)
    d = problem.num_vars
    Yarr, one_d = _coerce_Y(Y)
    n_total = Yarr.shape[0]
    k = 1 if one_d else Yarr.shape[1]

    if not isinstance(calc_second_order, bool | np.bool_):
        raise ValueError(f"calc_second_order must be a bool, got {calc_second_order!r}")
    step = 2 * d + 2 if calc_second_order else d + 2
    if n_total == 0 or n_total % step != 0:
        layout = "2d + 2" if calc_second_order else "d + 2"
        msg = (
            f"Y has {n_total} rows, but a Sobol' design for d={d} inputs "
            f"(calc_second_order={bool(calc_second_order)}) has n * ({layout}) = n * {step} rows; "
            f"{n_total} is not a positive multiple of {step}"
        )
        other = d + 2 if calc_second_order else 2 * d + 2
        if n_total and n_total % other == 0:
            msg += (
                f" (it is a multiple of {other}: was the sample drawn with "
                f"calc_second_order={not calc_second_order}?)"
            )
        elif not one_d and Yarr.shape[1] % step == 0:
            msg += " (Y looks transposed: rows must be design points, columns outputs)"
        raise ValueError(msg)
    N = n_total // step
    if N < 2:
        raise ValueError(f"Y holds only {N} base sample; at least 2 are needed")

    if outputs is None:
        out_names = ("y",) if one_d else tuple(f"y{j}" for j in range(k))
    else:
        if isinstance(outputs, str):
            outputs = (outputs,)
        if not isinstance(outputs, Sequence):
            raise ValueError(f"outputs must be a sequence of names, got {type(outputs).__name__}")
        out_names = tuple(outputs)
        if len(out_names) != k:
            raise ValueError(f"outputs has {len(out_names)} names but Y has {k} output column(s)")
        for j, nm in enumerate(out_names):
            if not isinstance(nm, str) or not nm:
                raise ValueError(f"outputs[{j}] must be a non-empty string, got {nm!r}")
        dupes = sorted({nm for nm in out_names if out_names.count(nm) > 1})
        if dupes:
            raise ValueError(f"outputs must be unique; repeated: {', '.join(dupes)}")

    if (
        isinstance(conf_level, bool)
        or not isinstance(conf_level, numbers.Real)
        or not 0.0 < conf_level < 1.0
    ):
        raise ValueError(
            f"conf_level must be a number strictly between 0 and 1, got {conf_level!r}"
        )
    if not _is_int(num_resamples) or num_resamples < 2:
        raise ValueError(f"num_resamples must be an integer >= 2, got {num_resamples!r}")
    seed = _check_seed(seed)
    R = int(num_resamples)

    # (k, N_total): outputs leading, so every reduction runs along a contiguous axis.
    Yt = Yarr[None, :] if one_d else np.ascontiguousarray(Yarr.T)
    bad_rows = ~np.isfinite(Yt)
    if bad_rows.any():
        j = int(np.argmax(bad_rows.any(axis=1)))
        raise ValueError(
            f"Y has {int(bad_rows.sum())} non-finite value(s) (NaN/inf); first in output "
            f"{out_names[j]!r} at row {int(np.argmax(bad_rows[j]))}"
        )

    # Standardise each output over all its rows, as SALib does.
    constant = Yt.max(axis=1) == Yt.min(axis=1)
    mean = Yt.mean(axis=1, keepdims=True)
    std = Yt.std(axis=1, keepdims=True)
    std[constant] = 1.0
    Z = ((Yt - mean) / std).reshape(k, N, step)

    A = np.ascontiguousarray(Z[:, :, 0])  # (k, N)
    B = np.ascontiguousarray(Z[:, :, step - 1])  # (k, N)
    AB = np.ascontiguousarray(Z[:, :, 1 : d + 1].transpose(0, 2, 1))  # (k, d, N)

    F1 = B[:, None, :] * (AB - A[:, None, :])  # first-order terms   (k, d, N)
    F2 = 0.5 * (A[:, None, :] - AB) ** 2  # total-order terms (Jansen)  (k, d, N)
    V = np.concatenate([A, B], axis=1).var(axis=1)  # (k,)
    degenerate = constant | (V <= _EPS)
    Vsafe = np.where(degenerate, 1.0, V)[:, None]

    S1 = F1.mean(axis=2) / Vsafe
    ST = F2.mean(axis=2) / Vsafe

    # Bootstrap: every resample mean is a count-weighted mean over base rows, so
    # stack the per-row terms (k * (2d + 2), N) and multiply by the counts.
    rng = np.random.default_rng(seed)
    r = rng.integers(N, size=(N, R))  # identical to SALib's draw for the same seed
    M = np.concatenate(
        [F1, F2, (A + B)[:, None, :], (A * A + B * B)[:, None, :]], axis=1
    ).reshape(k * (2 * d + 2), N)
    G = np.empty((M.shape[0], R))
    rb = max(1, min(R, _W_BLOCK_ELEMENTS // N))
    for b0 in range(0, R, rb):
        b1 = min(R, b0 + rb)
        cols = r[:, b0:b1] + N * np.arange(b1 - b0)[None, :]
        W = np.bincount(cols.ravel(), minlength=N * (b1 - b0)).reshape(b1 - b0, N)
        G[:, b0:b1] = M @ W.T.astype(np.float64)
    G = (G / N).reshape(k, 2 * d + 2, R)
    m1 = G[:, 2 * d] / 2.0  # mean of [A; B] per resample  (k, R)
    m2 = G[:, 2 * d + 1] / 2.0  # mean of squares              (k, R)
    Vb = m2 - m1 * m1
    with np.errstate(invalid="ignore", divide="ignore"):
        Vb = np.where(Vb > _EPS, Vb, np.nan)[:, None, :]
        S1_b = G[:, :d] / Vb
        ST_b = G[:, d : 2 * d] / Vb
    z = _normal_quantile(float(conf_level))
    S1_conf = z * _std_ddof1_ignoring_nan(S1_b)
    ST_conf = z * _std_ddof1_ignoring_nan(ST_b)

    for arr in (S1, ST, S1_conf, ST_conf):
        arr[degenerate] = np.nan

    return SobolIndices(
        names=problem.names,
        outputs=out_names,
        S1=S1,
        S1_conf=S1_conf,
        ST=ST,
        ST_conf=ST_conf,
        n=N,
        conf_level=float(conf_level),
    )


# --------------------------------------------------------------------------- convenience


def sobol(
    problem: SobolProblem,
    func: Callable[[np.ndarray], np.ndarray],
    n: int,
    *,
    seed: int,
    outputs: Sequence[str] | None = None,
    chunk: int = 65536,
    conf_level: float = 0.95,
    num_resamples: int = 200,
) -> SobolIndices:
    """Sample (:func:`sobol_sample`), evaluate ``func`` in chunks, analyze.

    ``func`` receives an ``(m, d)`` array of input rows (``m <= chunk``) and
    must return ``(m,)`` or ``(m, k)`` finite outputs, the same ``k`` for every
    chunk. ``seed`` seeds both the design and the bootstrap.
    """
    problem = _check_problem(problem)
    if not callable(func):
        raise ValueError(f"func must be callable, got {type(func).__name__}")
    if not _is_int(chunk) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    X = sobol_sample(problem, n, seed=seed)
    parts: list[np.ndarray] = []
    ndim: int | None = None
    for s in range(0, X.shape[0], int(chunk)):
        rows = X[s : s + int(chunk)]
        out = func(rows)
        try:
            y = np.asarray(out, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"func must return a numeric array, got {type(out).__name__}"
            ) from None
        if y.ndim not in (1, 2) or y.shape[0] != rows.shape[0]:
            raise ValueError(
                f"func must return shape ({rows.shape[0]},) or ({rows.shape[0]}, k) "
                f"for {rows.shape[0]} input rows, got {y.shape}"
            )
        if ndim is None:
            ndim = y.ndim
        elif y.ndim != ndim or (ndim == 2 and y.shape[1] != parts[0].shape[1]):
            raise ValueError(
                f"func returned shape {y.shape} for rows {s}..{s + rows.shape[0] - 1}, "
                f"inconsistent with earlier chunks ({parts[0].shape[1:] or 'one output'})"
            )
        parts.append(y)
    Y = np.concatenate(parts, axis=0)
    return sobol_analyze(
        problem,
        Y,
        outputs=outputs,
        conf_level=conf_level,
        num_resamples=num_resamples,
        seed=seed,
    )
