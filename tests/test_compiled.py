"""The compiled loops' own elementary functions (models/compiled.py)
against NumPy's, to a stated number of units in the last place."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from foedus.models.compiled import exp, log, log1p, one_minus_exp


def _vectorised(f):
    """A compiled loop applying the compiled-only function ``f`` to an array."""

    @njit(error_model="numpy")  # as models/compiled.kernel
    def loop(a):
        out = np.empty_like(a)
        for i in range(a.size):
            out[i] = f(a[i])
        return out

    return loop


_one_minus_exp, _exp, _log, _log1p = (_vectorised(f) for f in (one_minus_exp, exp, log, log1p))


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return np.abs(got - want) / np.spacing(np.abs(want))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1e4, allow_nan=False), min_size=1, max_size=64))
def test_one_minus_exp_is_within_two_ulps_of_numpy(values: list[float]) -> None:
    a = np.array(values)
    assert (_ulps(_one_minus_exp(a), -np.expm1(-a)) <= 2.0).all()


def test_one_minus_exp_over_every_scale_and_at_the_edges() -> None:
    rng = np.random.default_rng(0)
    # every binade from the smallest subnormal to beyond the clamp, and the
    # points where the reduction changes k (multiples of ln 2 / 2)
    a = np.r_[10.0 ** rng.uniform(-323, 3, 200_000), rng.uniform(0, 70, 200_000), np.arange(1, 200) * np.log(2) / 2, 5e-324, 59.999, 60.0, 60.001, 745.2, 1e308]
    want = -np.expm1(-a)
    got = _one_minus_exp(a)
    assert (_ulps(got, want) <= 2.0).all()
    assert (got[a < 1e-300] == a[a < 1e-300]).all()  # tiny a: 1 - exp(-a) = a
    edge = _one_minus_exp(np.array([0.0, np.inf, np.nan]))
    assert edge[0] == 0.0 and edge[1] == 1.0 and np.isnan(edge[2])


def _close(got: np.ndarray, want: np.ndarray, ulps: float) -> bool:
    """Equal where NumPy is not finite (inf, nan), within ``ulps`` elsewhere."""
    fin = np.isfinite(want)
    same = np.array_equal(got[~fin], want[~fin], equal_nan=True)
    return same and bool((_ulps(got[fin], want[fin]) <= ulps).all())


def test_exp_log_and_log1p_match_numpy_over_every_scale() -> None:
    rng = np.random.default_rng(1)
    with np.errstate(all="ignore"):
        y = np.r_[rng.uniform(-750, 712, 300_000), rng.uniform(-1, 1, 300_000), rng.uniform(-1e-9, 1e-9, 1000), 0.0, np.inf, -np.inf, np.nan, 709.78, 709.79, -708.4, -745.1, -745.2]
        normal = np.exp(y) >= 2.0**-1022
        assert _close(_exp(y[normal]), np.exp(y[normal]), 1.0)
        # subnormal results: within one step of the smallest subnormal
        assert np.abs(_exp(y[~normal & np.isfinite(y)]) - np.exp(y[~normal & np.isfinite(y)])).max() <= 5e-324
        x = np.r_[10.0 ** rng.uniform(-323, 308, 300_000), rng.uniform(0.5, 2.0, 300_000), 5e-324, 1e-310, 1.0, 1.0 + 2.0**-52, 1.0 - 2.0**-53, 1.7976931348623157e308, 0.0, -1.0, np.inf, np.nan]
        assert _close(_log(x), np.log(x), 2.0)
        assert _log(np.array([1.0]))[0] == 0.0
        h = np.r_[-(10.0 ** rng.uniform(-320, 0, 300_000)), 10.0 ** rng.uniform(-320, 300, 300_000), rng.uniform(-1.0, 1.0, 300_000), -1.0, 0.0, -0.0, np.inf, np.nan]
        assert _close(_log1p(h), np.log1p(h), 3.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=-700.0, max_value=700.0, allow_nan=False), min_size=1, max_size=64))
def test_log_inverts_exp(values: list[float]) -> None:
    y = np.array(values)
    assert _close(_exp(y), np.exp(y), 1.0)
    back = _log(_exp(y))
    assert (np.abs(back - y) <= 4 * np.spacing(np.maximum(np.abs(y), 1.0))).all()
