"""Sobol' sensitivity indices: known answers, agreement with SALib,
reproducibility, properties and input validation."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foedus.exploration.sensitivity import (
    SobolIndices,
    SobolProblem,
    sobol,
    sobol_analyze,
    sobol_sample,
)

ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1
ISHIGAMI = SobolProblem(("x1", "x2", "x3"), ((-math.pi, math.pi),) * 3)


def ishigami(X: np.ndarray) -> np.ndarray:
    a, b = ISHIGAMI_A, ISHIGAMI_B
    return np.sin(X[:, 0]) + a * np.sin(X[:, 1]) ** 2 + b * X[:, 2] ** 4 * np.sin(X[:, 0])


def ishigami_analytic() -> tuple[np.ndarray, np.ndarray]:
    """Ishigami & Homma (1990) partial variances for inputs uniform on [-pi, pi]."""
    a, b, pi = ISHIGAMI_A, ISHIGAMI_B, math.pi
    V = a**2 / 8 + b * pi**4 / 5 + b**2 * pi**8 / 18 + 0.5
    V1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    V2 = a**2 / 8
    V13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    S1 = np.array([V1 / V, V2 / V, 0.0])
    ST = np.array([(V1 + V13) / V, V2 / V, V13 / V])
    return S1, ST


@pytest.fixture(scope="module")
def ishigami_design() -> tuple[np.ndarray, np.ndarray]:
    X = sobol_sample(ISHIGAMI, 2**13, seed=0)
    return X, ishigami(X)


# ----------------------------------------------------------------- 1. known answer


def test_ishigami_analytic_values_are_the_published_ones():
    S1, ST = ishigami_analytic()
    np.testing.assert_allclose(S1, [0.3139, 0.4424, 0.0], atol=1e-4)
    np.testing.assert_allclose(ST, [0.5576, 0.4424, 0.2437], atol=1e-4)


def test_ishigami_known_answer(ishigami_design):
    X, Y = ishigami_design
    assert X.shape == (2**13 * 5, 3)
    assert X.min() >= -math.pi and X.max() <= math.pi
    res = sobol_analyze(ISHIGAMI, Y, outputs=["ishigami"])
    S1, ST = ishigami_analytic()
    np.testing.assert_allclose(res.S1[0], S1, atol=0.02)
    np.testing.assert_allclose(res.ST[0], ST, atol=0.02)
    # Half-widths are positive and of the size the bootstrap should give.
    assert np.all(res.S1_conf > 0) and np.all(res.S1_conf < 0.05)
    assert np.all(res.ST_conf > 0) and np.all(res.ST_conf < 0.05)
    assert res.n == 2**13 and res.conf_level == 0.95


# ----------------------------------------------------------------- 2. agreement with SALib


def _salib(problem: SobolProblem, y: np.ndarray, seed: int, num_resamples: int, **kw):
    from SALib.analyze import sobol as salib_sobol

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return salib_sobol.analyze(
            problem.to_salib(), y, num_resamples=num_resamples, seed=seed, **kw
        )


def test_agrees_with_salib_on_ishigami(ishigami_design):
    _, Y = ishigami_design
    res = sobol_analyze(ISHIGAMI, Y, num_resamples=100, seed=7)
    ref = _salib(ISHIGAMI, Y, seed=7, num_resamples=100, calc_second_order=False)
    np.testing.assert_allclose(res.S1[0], ref["S1"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.ST[0], ref["ST"], rtol=0, atol=1e-10)
    # Same resample indices (same non-zero seed) -> same bootstrap half-widths.
    np.testing.assert_allclose(res.S1_conf[0], ref["S1_conf"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.ST_conf[0], ref["ST_conf"], rtol=0, atol=1e-10)


def test_agrees_with_salib_on_two_outputs():
    problem = SobolProblem(("a", "b", "c", "d"), ((0, 1), (-2, 3), (10, 11), (0, 5)))
    X = sobol_sample(problem, 2**10, seed=3)
    Y = np.column_stack(
        [
            X[:, 0] * X[:, 1] + np.exp(X[:, 2] - 10) + 0.1 * X[:, 3] ** 2,
            np.where(X[:, 1] > 0.5, 1.0, 0.0) * X[:, 3] + 1e3,  # non-centred, step
        ]
    )
    res = sobol_analyze(problem, Y, outputs=("smooth", "step"), num_resamples=50, seed=11)
    assert res.S1.shape == res.ST.shape == (2, 4)
    for j in range(2):
        ref = _salib(problem, Y[:, j], seed=11, num_resamples=50, calc_second_order=False)
        np.testing.assert_allclose(res.S1[j], ref["S1"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(res.ST[j], ref["ST"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(res.S1_conf[j], ref["S1_conf"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(res.ST_conf[j], ref["ST_conf"], rtol=0, atol=1e-10)


def test_second_order_design_agrees_with_salib():
    X = sobol_sample(ISHIGAMI, 2**8, seed=1, calc_second_order=True)
    assert X.shape == (2**8 * 8, 3)
    Y = ishigami(X)
    res = sobol_analyze(ISHIGAMI, Y, calc_second_order=True, num_resamples=50, seed=5)
    ref = _salib(ISHIGAMI, Y, seed=5, num_resamples=50, calc_second_order=True)
    np.testing.assert_allclose(res.S1[0], ref["S1"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.ST[0], ref["ST"], rtol=0, atol=1e-10)


def test_sample_is_salibs_design():
    from SALib.sample import sobol as salib_sample

    ref = salib_sample.sample(ISHIGAMI.to_salib(), 64, calc_second_order=False, seed=0)
    np.testing.assert_array_equal(sobol_sample(ISHIGAMI, 64, seed=0), ref)


# ----------------------------------------------------------------- 3. reproducibility


def _fields(res: SobolIndices) -> list[np.ndarray]:
    return [res.S1, res.S1_conf, res.ST, res.ST_conf]


def test_same_seed_is_bit_identical_and_seeds_differ():
    a = sobol(ISHIGAMI, ishigami, 2**9, seed=0)
    b = sobol(ISHIGAMI, ishigami, 2**9, seed=0)
    c = sobol(ISHIGAMI, ishigami, 2**9, seed=1)
    for x, y in zip(_fields(a), _fields(b)):
        assert x.tobytes() == y.tobytes()
    assert not np.array_equal(a.S1, c.S1)
    assert not np.array_equal(a.ST_conf, c.ST_conf)
    assert not np.array_equal(sobol_sample(ISHIGAMI, 8, seed=0), sobol_sample(ISHIGAMI, 8, seed=1))


def test_chunking_does_not_change_the_answer():
    a = sobol(ISHIGAMI, ishigami, 2**8, seed=2)
    b = sobol(ISHIGAMI, ishigami, 2**8, seed=2, chunk=333)
    for x, y in zip(_fields(a), _fields(b)):
        np.testing.assert_array_equal(x, y)


# ----------------------------------------------------------------- 4. properties


@st.composite
def additive_cases(draw):
    d = draw(st.integers(2, 5))
    coef = draw(
        st.lists(st.floats(-5, 5, allow_nan=False), min_size=d, max_size=d).filter(
            lambda c: max(abs(x) for x in c) >= 0.1
        )
    )
    zero = draw(st.integers(0, d))  # position of an extra input that does nothing
    coef.insert(zero, 0.0)
    lows = draw(st.lists(st.floats(-100, 100), min_size=d + 1, max_size=d + 1))
    widths = draw(st.lists(st.floats(0.01, 50), min_size=d + 1, max_size=d + 1))
    seed = draw(st.integers(0, 2**32 - 1))
    return np.array(coef), zero, lows, widths, seed


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(additive_cases())
def test_additive_linear_functions(case):
    coef, zero, lows, widths, seed = case
    problem = SobolProblem(
        tuple(f"x{i}" for i in range(len(coef))),
        tuple((lo, lo + w) for lo, w in zip(lows, widths)),
    )
    res = sobol(problem, lambda X: X @ coef, 2**9, seed=seed, num_resamples=20)
    S1, ST = res.S1[0], res.ST[0]
    np.testing.assert_allclose(S1, ST, atol=0.03)
    assert abs(S1.sum() - 1.0) < 0.03
    assert abs(ST[zero]) < 1e-12 and abs(S1[zero]) < 1e-12
    # Analytic: S_i = c_i^2 w_i^2 / sum_j c_j^2 w_j^2 for uniform inputs.
    v = coef**2 * np.asarray(widths) ** 2
    np.testing.assert_allclose(ST, v / v.sum(), atol=0.03)


# ----------------------------------------------------------------- degenerate outputs, formats


def test_constant_output_gives_nan_not_zero_division():
    X = sobol_sample(ISHIGAMI, 2**6, seed=0)
    Y = np.column_stack([ishigami(X), np.full(X.shape[0], 3.0)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from 0/0
        res = sobol_analyze(ISHIGAMI, Y, outputs=["ish", "flat"])
    assert np.all(np.isfinite(res.S1[0])) and np.all(np.isfinite(res.ST_conf[0]))
    for arr in _fields(res):
        assert np.all(np.isnan(arr[1]))


def test_frame_and_records():
    X = sobol_sample(ISHIGAMI, 2**6, seed=0)
    Y = np.column_stack([ishigami(X), X[:, 0]])
    res = sobol_analyze(ISHIGAMI, Y, outputs=["ish", "lin"])
    recs = res.to_records()
    assert len(recs) == 6
    assert recs[4] == {
        "output": "lin",
        "input": "x2",
        "S1": float(res.S1[1, 1]),
        "S1_conf": float(res.S1_conf[1, 1]),
        "ST": float(res.ST[1, 1]),
        "ST_conf": float(res.ST_conf[1, 1]),
    }
    df = res.to_frame()
    assert list(df.columns) == ["output", "input", "S1", "S1_conf", "ST", "ST_conf"]
    assert df.shape == (6, 6)
    assert df.loc[(df.output == "ish") & (df.input == "x3"), "ST"].item() == res.ST[0, 2]
    with pytest.raises(ValueError):
        res.S1[0, 0] = 1.0  # read-only
    assert sobol_analyze(ISHIGAMI, Y[:, 0]).outputs == ("y",)
    assert sobol_analyze(ISHIGAMI, Y).outputs == ("y0", "y1")


def test_import_does_no_work():
    code = (
        "import sys, foedus.exploration.sensitivity as s; "
        "bad = [m for m in ('SALib', 'scipy', 'pandas') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=None)


# ----------------------------------------------------------------- 5. bad input


@pytest.mark.parametrize(
    ("names", "bounds", "message"),
    [
        (("a", "b"), ((0, 1),), "2 names but 1 bounds"),
        ((), (), "at least one input"),
        (("a", "a"), ((0, 1), (0, 1)), "unique; repeated: a"),
        (("a",), ((1, 1),), "'a' must have low < high"),
        (("a",), ((0, float("inf")),), "'a' must be finite"),
        (("a",), ((0, 1, 2),), "'a' must be a (low, high) pair"),
        (("a", ""), ((0, 1), (0, 1)), "names[1] must be a non-empty string"),
    ],
)
def test_bad_problem(names, bounds, message):
    with pytest.raises(ValueError) as exc:
        SobolProblem(names, bounds)
    assert message in str(exc.value)


@pytest.mark.parametrize("n", [1000, 0, 1, 3, 2.0, True, -4])
def test_n_not_power_of_two(n):
    with pytest.raises(ValueError, match="power of two"):
        sobol_sample(ISHIGAMI, n, seed=0)


def test_n_message_suggests_neighbours():
    with pytest.raises(ValueError, match=r"got 1000 \(nearest: 512 or 1024\)"):
        sobol_sample(ISHIGAMI, 1000, seed=0)


@pytest.mark.parametrize("seed", [-1, None, 1.5])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        sobol_sample(ISHIGAMI, 8, seed=seed)


def test_bad_Y():
    X = sobol_sample(ISHIGAMI, 2**4, seed=0)
    Y = ishigami(X)
    with pytest.raises(ValueError, match="Y has 79 rows.*not a positive multiple of 5"):
        sobol_analyze(ISHIGAMI, Y[:-1])
    with pytest.raises(ValueError, match="calc_second_order=True"):
        sobol_analyze(ISHIGAMI, np.zeros(16 * 8))  # 2nd-order layout, analysed as 1st
    with pytest.raises(ValueError, match="transposed"):
        sobol_analyze(ISHIGAMI, np.vstack([Y, Y]))
    with pytest.raises(ValueError, match="1-D .* or 2-D"):
        sobol_analyze(ISHIGAMI, Y.reshape(1, 1, -1))
    with pytest.raises(ValueError, match="at least 2"):
        sobol_analyze(ISHIGAMI, Y[:5])
    bad = Y.copy()
    bad[7] = np.nan
    with pytest.raises(ValueError, match="non-finite.*'y'.*row 7"):
        sobol_analyze(ISHIGAMI, bad)
    with pytest.raises(ValueError, match="outputs has 2 names but Y has 1"):
        sobol_analyze(ISHIGAMI, Y, outputs=["a", "b"])
    with pytest.raises(ValueError, match="outputs must be unique"):
        sobol_analyze(ISHIGAMI, np.column_stack([Y, Y]), outputs=["a", "a"])
    with pytest.raises(ValueError, match="conf_level"):
        sobol_analyze(ISHIGAMI, Y, conf_level=1.0)
    with pytest.raises(ValueError, match="num_resamples"):
        sobol_analyze(ISHIGAMI, Y, num_resamples=1)
    with pytest.raises(ValueError, match="problem must be a SobolProblem"):
        sobol_analyze(ISHIGAMI.to_salib(), Y)


def test_bad_func():
    with pytest.raises(ValueError, match=r"func must return shape \(40,\)"):
        sobol(ISHIGAMI, lambda X: X[:-1, 0], 8, seed=0)
    with pytest.raises(ValueError, match="inconsistent with earlier chunks"):
        sobol(ISHIGAMI, lambda X: X[:, :2] if X.shape[0] == 16 else X, 8, seed=0, chunk=16)
    with pytest.raises(ValueError, match="chunk must be a positive integer"):
        sobol(ISHIGAMI, ishigami, 8, seed=0, chunk=0)
    with pytest.raises(ValueError, match="func must be callable"):
        sobol(ISHIGAMI, None, 8, seed=0)
