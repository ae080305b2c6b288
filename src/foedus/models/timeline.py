"""The time axis: the years from the start year to the horizon, and what
changes from one year to the next for commitments that do not change
themselves (they may lapse, the hazard is higher right after a ceasefire,
economies grow, money later is worth less).

Equations (year ``t = 0 .. T-1``, calendar year ``y_t = start + t``, horizon
``H`` years, ``T = ceil(H)``)::

    exposure     e_t = min(1, H - t)                share of year t inside the horizon
    lapse        l_{f,c}(τ) = r_f * (s * cycle_c + 1 - s)   in a year τ when a new government
                                                            of country c takes office
                            = r_f * (1 - s)                 in its other years
                            = r_f                           for a group's decision (no elections)
                 r_f = approval.revocation_per_year[f], s = time.lapse_share_at_government_change,
                 cycle_c = the mean gap between c's changes of government
    survival     S_{f,c}(t) = prod_{τ = 1..t} (1 - l_{f,c}(y_τ))   in force in year t
                 (nothing lapses in the year it is made; over a whole cycle the mean
                 lapse is r_f, so the average rate of approval.yaml is kept)
    early hazard m(t) = s(t) / mean_{τ < W} s(τ),  s(t) = 1 + (time.early_hazard_ratio - 1) * 2 ** (-t / time.early_hazard_halflife_years)
                 W = assessment.horizon_years, the window of the ceasefire record base_hazard is fitted to
                 h_base,t = 1 - (1 - h_base) ** m(t)   (the continuous-time hazard times m(t))
    over years   attack by T = 1 - prod_t (1 - h_t) ** e_t
    growth       GDP_{c,t} = GDP_c * (1 + g_c) ** (y_t - gdp_year)      (real, constant prices)
    discount     d_t = (1 + time.discount_rate) ** -t

A steady package with no lapse (``r_f = 0``) and no early hazard
(``m = 1``) has the same hazard every year, so ``attack by T = 1 - (1 -
h) ** H``: the single-year figure of the steady model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from foedus.models.inputs import Inputs
from foedus.models.levers import FORMS


#: Parameters only the time axis reads (the steady model never does; a test
#: holds it to that): they are sampled only when a yearly result is asked for,
#: so the steady model's futures, sensitivity and failure boxes carry no
#: input that cannot move them.
TIME_AXIS_PREFIXES = ("time.", "forces.recruit_growth_max", "forces.training_years")
TIME_AXIS_SUFFIXES = (".delivery_years",)


def time_axis_only(name: str) -> bool:
    """Whether parameter ``name`` is read by the time axis alone."""
    return name.startswith(TIME_AXIS_PREFIXES) or name.endswith(TIME_AXIS_SUFFIXES)


@dataclass(frozen=True)
class Timeline:
    """The years of one assessment: from ``start`` over ``horizon`` years."""

    start: int
    horizon: float

    def __post_init__(self):
        if not self.horizon > 0 or not math.isfinite(self.horizon):
            raise ValueError(f"horizon: a positive number of years, got {self.horizon}")

    @classmethod
    def of(cls, x: Inputs, horizon: float) -> "Timeline":
        return cls(int(x["assessment.start_year"][0]), float(horizon))

    @property
    def n(self) -> int:
        return int(math.ceil(self.horizon - 1e-9))

    @property
    def years(self) -> np.ndarray:
        return self.start + np.arange(self.n)

    @property
    def exposure(self) -> np.ndarray:
        """``(T,)`` share of each year inside the horizon (1 but for a
        fractional last year)."""
        return np.clip(self.horizon - np.arange(self.n), 0.0, 1.0)

    def index(self, year: int) -> int:
        """Index of calendar ``year`` on this axis (raises if outside)."""
        t = int(year) - self.start
        if not 0 <= t < self.n:
            raise ValueError(f"year: one of {self.start}-{self.start + self.n - 1}, got {year}")
        return t


def lapse_table(patterns: list[tuple[int, ...]], x: Inputs, years: np.ndarray) -> np.ndarray:
    """``(K, F, Y, n|1)`` probability that a commitment of legal form ``F``
    whose guarantor changes government in the years of pattern ``K`` lapses
    at the start of each of ``years`` (pattern ``()``: a group's decision,
    the flat rate)."""
    rates, change = _lapse_rates(patterns, x, years)
    return np.stack([np.where(c[None, :, None], high[:, None, :], low[:, None, :]) for (high, low), c in zip(rates, change)])


def _lapse_rates(patterns: list[tuple[int, ...]], x: Inputs, years: np.ndarray) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[np.ndarray]]:
    """Per pattern, the lapse ``(F, n|1)`` in a year of government change and
    in its other years (the same, the flat rate, for a group's decision),
    and which of ``years`` are years of change (``(Y,)`` bool)."""
    r = np.minimum(x.table("approval.revocation_per_year", FORMS), 1.0)  # (F, n|1)
    s = x["time.lapse_share_at_government_change"]
    width = max(r.shape[1], s.size)
    flat = np.broadcast_to(r, (len(FORMS), width))
    rates, change = [], []
    for changes in patterns:
        if not changes:
            rates.append((flat, flat))
            change.append(np.zeros(len(years), dtype=bool))
            continue
        cycle = float(np.mean(np.diff(changes))) if len(changes) > 1 else 1.0
        rates.append((np.broadcast_to(np.minimum(r * (s * cycle + 1.0 - s), 1.0), (len(FORMS), width)),
                      np.broadcast_to(r * (1.0 - s), (len(FORMS), width))))
        change.append(np.isin(years, changes))
    return rates, change


def survivals(patterns: list[tuple[int, ...]], x: Inputs, start: int, T: int, pairs: np.ndarray | None = None) -> np.ndarray:
    """``(T, K, F, n|1)`` probability that a commitment made in ``start`` is
    still in force in each year ``start + t``, ``t = 0 .. T-1`` (no lapse in
    the year it is made): the lapses of years ``1 .. t`` summed as logs year
    after year, so that year ``t`` holds the same sum, bit for bit, whatever
    the number of years asked. ``pairs`` ``(K, F)`` bool: only those
    (pattern, legal form) pairs, the others NaN (a commitment's survival is
    read only where one of its pattern and form exists; the Coalition
    package's year levers hold 8 of 32)."""
    r = x.table("approval.revocation_per_year", FORMS)
    width = max(r.shape[1], x["time.lapse_share_at_government_change"].size)
    K, F = len(patterns), len(FORMS)
    pairs = np.ones((K, F), dtype=bool) if pairs is None else np.asarray(pairs, dtype=bool)
    out = np.ones((max(int(T), 1), K, F, width))
    out[:, ~pairs] = np.nan
    if T > 1 and pairs.any():
        # log(1 - l) of the two rates of each pattern and form asked, then
        # year by year the one that applies, all at once
        rates, change = _lapse_rates(patterns, x, start + np.arange(1, T))
        k, f = np.nonzero(pairs)
        log_high, log_low = (np.log1p(-np.minimum(np.stack([v[i] for v in rates])[k, f], 1.0 - 1e-300)) for i in (0, 1))  # (U, n|1)
        steps = np.where(np.stack(change, axis=1)[:, k, None], log_high[None], log_low[None])  # (T-1, U, n|1)
        out[1:, k, f] = np.exp(np.cumsum(steps, axis=0))
    return out[:T]


def survival(patterns: list[tuple[int, ...]], x: Inputs, start: int, t: int) -> np.ndarray:
    """``(K, F, n|1)``: :func:`survivals` in year ``start + t`` alone."""
    t = max(int(t), 0)
    return survivals(patterns, x, start, t + 1)[t]


def hazard_shapes(x: Inputs, T: int) -> list[np.ndarray]:
    """``m(t)``, ``(n|1)`` each, for ``t = 0 .. T-1``: the base hazard's
    multiplier in year ``t`` after the ceasefire, ``1 + (ratio - 1) * 2 **
    (-t / halflife)`` divided by its mean over the calibration window (the
    years of ``assessment.horizon_years``, over which
    ``deterrence.base_hazard`` is fitted to the ceasefire record): the shape
    moves the calibrated risk toward the first years; it does not add to it."""
    ratio, half = x["time.early_hazard_ratio"], x["time.early_hazard_halflife_years"]
    window = np.arange(math.ceil(float(np.max(x["assessment.horizon_years"])) - 1e-9))[:, None]
    mean = _sum_years(1.0 + (ratio - 1.0) * np.exp2(-window / half), axis=0) / window.shape[0]
    return [(1.0 + (ratio - 1.0) * np.exp2(-t / half)) / mean for t in range(int(T))]


def hazard_shape(x: Inputs, t: int) -> np.ndarray:
    """:func:`hazard_shapes` in year ``t`` alone."""
    return hazard_shapes(x, t + 1)[t]


def _sum_years(a: np.ndarray, axis: int) -> np.ndarray:
    """The sum over the year ``axis``, year after year: ``a.sum(axis)``
    sums pairwise when that axis is the innermost one (one future), so a
    future's figures would differ in the last bit between a chunk of one
    future and a chunk of many."""
    return np.cumsum(a, axis=axis).take(-1, axis=axis)


def over_years(h: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """``1 - prod_t (1 - h_t) ** e_t`` over the year axis (axis 1 of ``h``,
    ``(P, T, n)``), cumulative: ``(P, T, n)``, the last column the horizon."""
    return -np.expm1(np.cumsum(exposure[None, :, None] * np.log1p(-np.minimum(h, 1.0)), axis=1))


def first_attack_weights(h: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """``(P, T, n)`` probability that the first attack falls in year ``t``."""
    cum = over_years(h, exposure)
    before = np.concatenate([np.zeros_like(cum[:, :1]), cum[:, :-1]], axis=1)
    return cum - before


def gdp_factor(growth: np.ndarray, gdp_year: np.ndarray, year: int) -> np.ndarray:
    """``(G,)`` GDP in ``year`` over GDP in its data year, at real growth ``growth``."""
    return (1.0 + growth) ** (year - gdp_year)


def discount(x: Inputs, t: int) -> np.ndarray:
    """``d_t``, ``(n|1)``: the present value of a dollar spent in year ``t``."""
    return (1.0 + x["time.discount_rate"]) ** (-float(t))
