"""The compiled loops' own arithmetic (models/compiled.py): ``1 - exp(-a)``
against NumPy's ``expm1``, to two units in the last place."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from foedus.models.compiled import one_minus_exp


@njit
def _one_minus_exp(a):
    out = np.empty_like(a)
    for i in range(a.size):
        out[i] = one_minus_exp(a[i])
    return out


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
