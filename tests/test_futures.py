"""Futures (exploration/futures.py): the three samplers, the inverse CDFs of
the marginals, user range edits, seeds, and block-wise regeneration."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foedus.data.parameter_set import ParameterSet
from foedus.domain.errors import InputError
from foedus.exploration.futures import SAMPLERS, SCHEME, SCHEMES, Design, KeptBlocks, keeping_blocks
from foedus.exploration.futures_kernel import splitmix64
from foedus.models.timeline import time_axis_only


@pytest.fixture(scope="module")
def ps() -> ParameterSet:
    return ParameterSet.default()


def _one(dist: str, low: float, high: float, mode: float | None = None) -> Design:
    return Design(names=("x",), low=(low,), high=(high,), distributions=(dist,), modes=(low if mode is None else mode,))


# ------------------------------------------------------------------ samplers


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_design_values_inside_every_range(ps: ParameterSet, sampler: str) -> None:
    d = Design.from_parameters(ps, sampler=sampler, seed=3, block=1024, time_axis=True)
    unc = ps.uncertain()
    assert d.names == tuple(unc) and d.d == len(unc) > 10
    # without the time axis: every uncertain input the steady model reads, and only those
    steady = Design.from_parameters(ps, sampler=sampler, seed=3, block=1024).names
    assert steady == tuple(n for n in unc if not time_axis_only(n)) and len(steady) < d.d
    n = 3000  # three blocks, the last one partial
    x = d.sample(n)
    assert x.shape == (n, d.d)
    assert np.isfinite(x).all()
    lo, hi = np.array(d.low), np.array(d.high)
    assert (x >= lo).all() and (x <= hi).all()
    # and the design really spreads over each range, not a corner of it
    span = (x.max(axis=0) - x.min(axis=0)) / (hi - lo)
    assert span.min() > 0.9, dict(zip(d.names, span))
    # distributions and ranges are those of the parameter set
    for j, name in enumerate(d.names):
        assert (d.low[j], d.high[j], d.distributions[j]) == (unc[name].low, unc[name].high, unc[name].distribution)


@pytest.mark.parametrize("sampler", ["lhs", "sobol"])
def test_lhs_and_sobol_stratify_each_input(ps: ParameterSet, sampler: str) -> None:
    """Within a block (LHS) or over the first 2^k points (Sobol'), each input
    has exactly one point in each of the m equal strata of [0, 1)."""
    m = 1024
    d = Design.from_parameters(ps, sampler=sampler, seed=5, block=m)
    u = d.unit_block(0, 5 * m)
    assert u.shape == (m, d.d)
    strata = np.floor(u * m).astype(int)
    for j in range(d.d):
        assert np.array_equal(np.sort(strata[:, j]), np.arange(m)), d.names[j]


def test_mc_is_plain_uniform(ps: ParameterSet) -> None:
    d = Design.from_parameters(ps, sampler="mc", seed=5, block=4096)
    u = d.unit_block(0, 4096)
    assert ((u >= 0) & (u < 1)).all()
    # mean 1/2 within 5 standard errors for every input; not stratified
    assert np.abs(u.mean(axis=0) - 0.5).max() < 5 * np.sqrt(1 / 12 / 4096)
    strata = np.floor(u * 4096).astype(int)
    assert any(len(np.unique(strata[:, j])) < 4096 for j in range(d.d))


def test_unknown_sampler_and_negative_seed_are_refused(ps: ParameterSet) -> None:
    with pytest.raises(ValueError, match="sampler must be one of lhs, sobol, mc"):
        Design.from_parameters(ps, sampler="halton")
    with pytest.raises(ValueError, match="seed"):
        Design.from_parameters(ps, seed=-1)
    with pytest.raises(ValueError, match="block"):
        Design.from_parameters(ps, block=0)


# ------------------------------------------------------------- marginals

finite_pos = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)
units = st.lists(st.floats(min_value=0.0, max_value=1.0, allow_nan=False), min_size=2, max_size=40)


@settings(max_examples=150, deadline=None)
@given(low=finite_pos, ratio=st.floats(min_value=1.001, max_value=1e4), us=units)
def test_loguniform_inverse_cdf(low: float, ratio: float, us: list[float]) -> None:
    high = low * ratio
    d = _one("loguniform", low, high)
    u = np.sort(np.array(us + [0.0, 0.5, 1.0]))[:, None]
    x = d.to_values(u)[:, 0]
    assert np.all(np.diff(x) >= 0)  # monotone in u
    assert x[0] == pytest.approx(low, rel=1e-12) and x[-1] == pytest.approx(high, rel=1e-12)
    assert (x >= low * (1 - 1e-12)).all() and (x <= high * (1 + 1e-12)).all()
    # it is the inverse of the log-uniform CDF F(x) = log(x/low) / log(high/low)
    F = np.log(x / low) / np.log(high / low)
    assert np.allclose(F, u[:, 0], atol=1e-9)
    assert d.to_values(np.array([[0.5]]))[0, 0] == pytest.approx(np.sqrt(low * high), rel=1e-12)


def _triangular_cdf(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    left = (x - a) ** 2 / ((b - a) * (c - a)) if c > a else np.zeros_like(x)
    right = 1 - (b - x) ** 2 / ((b - a) * (b - c)) if b > c else np.ones_like(x)
    return np.where(x <= c, left, right)


@settings(max_examples=150, deadline=None)
@given(
    low=st.floats(min_value=-1e3, max_value=1e3, allow_nan=False),
    width=st.floats(min_value=1e-3, max_value=1e3),
    frac=st.one_of(st.just(0.0), st.just(1.0), st.floats(min_value=0.0, max_value=1.0)),
    us=units,
)
def test_triangular_inverse_cdf(low: float, width: float, frac: float, us: list[float]) -> None:
    high = low + width
    mode = low + frac * width
    d = _one("triangular", low, high, mode)
    u = np.sort(np.array(us + [0.0, 1.0]))[:, None]
    x = d.to_values(u)[:, 0]
    tol = 1e-9 * max(1.0, abs(low), abs(high))
    assert np.all(np.diff(x) >= -tol)  # monotone in u
    assert x[0] == pytest.approx(low, abs=tol) and x[-1] == pytest.approx(high, abs=tol)
    assert (x >= low - tol).all() and (x <= high + tol).all()
    # inverse of the triangular CDF with its mode where the design says
    assert np.allclose(_triangular_cdf(np.clip(x, low, high), low, high, mode), u[:, 0], atol=1e-6)
    # the share below the mode is (mode - low) / (high - low)
    c = (mode - low) / width
    assert d.to_values(np.array([[c]]))[0, 0] == pytest.approx(mode, abs=10 * tol)


def test_triangular_mode_is_the_central_value() -> None:
    d = _one("triangular", 0.0, 10.0, 2.0)
    x = d.to_values(np.random.default_rng(0).random((200_000, 1)))[:, 0]
    hist, edges = np.histogram(x, bins=50, range=(0, 10))
    assert 0.0 <= edges[np.argmax(hist)] <= 2.2
    assert x.mean() == pytest.approx((0 + 10 + 2) / 3, abs=0.03)


def test_uniform_inverse_cdf_is_linear() -> None:
    d = _one("uniform", -2.0, 6.0)
    u = np.array([[0.0], [0.25], [0.5], [1.0]])
    assert np.array_equal(d.to_values(u)[:, 0], [-2.0, 0.0, 2.0, 6.0])


# --------------------------------------------------------- user range edits


def test_narrowed_range_is_sampled(ps: ParameterSet) -> None:
    base = Design.from_parameters(ps)
    j = base.names.index("will.USA")
    shipped = ps.parameters["will.USA"].uncertainty
    assert (base.low[j], base.high[j]) == (shipped.low, shipped.high)
    narrow = ps.with_ranges({"will.USA": (0.2, 0.3)})
    d = Design.from_parameters(narrow, seed=1, block=512)
    assert d.names == base.names
    assert (d.low[j], d.high[j]) == (0.2, 0.3)
    x = d.sample(2000)[:, j]
    assert x.min() >= 0.2 and x.max() <= 0.3 and x.max() - x.min() > 0.09
    # the other inputs are untouched
    others = [k for k in range(d.d) if k != j]
    assert np.array_equal(d.sample(2000)[:, others], Design.from_parameters(ps, seed=1, block=512).sample(2000)[:, others])


def test_widened_range_keeps_log_uniform(ps: ParameterSet) -> None:
    wide = ps.with_ranges({"deterrence.decisive_window_days": (2.0, 365.0), "deterrence.resolve": (0.1, 5.0)})
    d = Design.from_parameters(wide, seed=2, block=1024)
    jw, jr = d.names.index("deterrence.decisive_window_days"), d.names.index("deterrence.resolve")
    assert d.distributions[jw] == "loguniform" and (d.low[jw], d.high[jw]) == (2.0, 365.0)
    x = d.sample(4096)
    assert x[:, jw].min() < 7.0 and x[:, jw].max() > 120.0  # beyond the shipped 7..120
    assert x[:, jr].min() < 0.5 and x[:, jr].max() > 3.0  # beyond the shipped 0.5..3
    # log-uniform: the median is the geometric mean of the bounds
    assert np.median(x[:, jw]) == pytest.approx(np.sqrt(2.0 * 365.0), rel=0.05)


def test_fixed_and_overridden_parameters_leave_the_design(ps: ParameterSet) -> None:
    base = Design.from_parameters(ps)
    fixed = ps.with_fixed(["deterrence.resolve"]).with_overrides({"will.USA": 0.25})
    d = Design.from_parameters(fixed, seed=0)
    assert "deterrence.resolve" not in d.names and "will.USA" not in d.names
    assert d.d == base.d - 2
    vals = fixed.values()
    assert vals["will.USA"] == 0.25 and vals["deterrence.resolve"] == 1.0
    # a range on an overridden parameter makes it uncertain again, with the
    # override as central value (the mode of a triangular marginal)
    again = fixed.with_ranges({"will.USA": (0.1, 0.4)})
    d2 = Design.from_parameters(again)
    j = d2.names.index("will.USA")
    assert (d2.low[j], d2.high[j], d2.modes[j]) == (0.1, 0.4, 0.25)


def test_bad_range_edits_are_input_errors(ps: ParameterSet) -> None:
    with pytest.raises(InputError, match="low < high"):
        ps.with_ranges({"will.USA": (0.6, 0.2)})
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        ps.with_ranges({"will.USA": (0.2, 1.5)})
    with pytest.raises(InputError, match="did you mean"):
        ps.with_fixed(["deterrence.resolv"])


# ------------------------------------------------------ seeds and chunking


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_one_seed_reproduces_bit_for_bit(ps: ParameterSet, sampler: str) -> None:
    a = Design.from_parameters(ps, sampler=sampler, seed=11, block=700).sample(2500)
    b = Design.from_parameters(ParameterSet.default(), sampler=sampler, seed=11, block=700).sample(2500)
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_seed_zero_is_a_seed_distinct_from_one(ps: ParameterSet, sampler: str) -> None:
    s0 = Design.from_parameters(ps, sampler=sampler, seed=0, block=512).sample(1000)
    s0b = Design.from_parameters(ps, sampler=sampler, seed=0, block=512).sample(1000)
    s1 = Design.from_parameters(ps, sampler=sampler, seed=1, block=512).sample(1000)
    assert np.array_equal(s0, s0b)
    assert not np.isclose(s0, s1).all(axis=1).any()  # no future in common
    assert Design.from_parameters(ps, sampler=sampler, seed=0).seed == 0


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_sample_is_the_blocks_in_any_order(ps: ParameterSet, sampler: str) -> None:
    d = Design.from_parameters(ps, sampler=sampler, seed=4, block=600)
    n = 2000  # blocks of 600, 600, 600, 200
    assert d.n_blocks(n) == 4
    whole = d.sample(n)
    blocks = {b: d.block_values(b, n) for b in reversed(range(d.n_blocks(n)))}  # last first
    assert np.array_equal(whole, np.concatenate([blocks[b] for b in range(4)]))
    assert [blocks[b].shape[0] for b in range(4)] == [600, 600, 600, 200]
    # a block depends only on its number: a fresh design regenerates block 2 alone
    fresh = Design.from_parameters(ps, sampler=sampler, seed=4, block=600)
    assert np.array_equal(fresh.block_values(2, n), whole[1200:1800])


def test_kept_blocks_are_the_same_bits_drawn_once(ps: ParameterSet) -> None:
    """Within keeping_blocks a block is drawn once and handed out again,
    read-only, equal to a fresh draw; the oldest goes when more are kept,
    a block over the size limit is not kept, and outside the block (or in
    another thread) every call draws afresh."""
    import threading

    d = Design.from_parameters(ps, seed=3, block=500)
    fresh = d.block_values(1, 1200)
    assert fresh.flags.writeable and d.block_values(1, 1200) is not fresh
    kept = KeptBlocks(blocks=2, max_bytes=fresh.nbytes)
    with keeping_blocks(kept):
        first = d.block_values(1, 1200)
        assert d.block_values(1, 1200) is first and not first.flags.writeable
        assert np.array_equal(first, fresh)
        assert not np.array_equal(d.block_values(0, 1200), first)  # another block: its own key
        other = threading.Thread(target=lambda: seen.append(d.block_values(1, 1200)))
        seen: list = []
        other.start()
        other.join()
        assert seen[0] is not first and seen[0].flags.writeable  # not kept in another thread
        d.block_values(2, 1200)  # a third block: the oldest kept (block 1) goes
        again = d.block_values(1, 1200)
        assert again is not first and np.array_equal(again, fresh)
        big = Design.from_parameters(ps, seed=3, block=600)
        assert big.block_values(0, 1200) is not big.block_values(0, 1200)  # over max_bytes: drawn each time
    assert d.block_values(1, 1200) is not again


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_complete_blocks_do_not_depend_on_run_length(ps: ParameterSet, sampler: str) -> None:
    d = Design.from_parameters(ps, sampler=sampler, seed=9, block=512)
    assert np.array_equal(d.sample(1024), d.sample(3000)[:1024])


@pytest.mark.parametrize("sampler", ["sobol", "mc"])
def test_prefix_property_for_sequences(ps: ParameterSet, sampler: str) -> None:
    """Sobol' and MC futures are prefixes of longer runs even mid-block."""
    d = Design.from_parameters(ps, sampler=sampler, seed=9, block=512)
    assert np.array_equal(d.sample(700), d.sample(1500)[:700])


def test_sobol_futures_do_not_depend_on_block_size(ps: ParameterSet) -> None:
    """One scrambled Sobol' sequence, fast-forwarded: the block size is
    purely an evaluation detail."""
    a = Design.from_parameters(ps, sampler="sobol", seed=6, block=256).sample(2048)
    b = Design.from_parameters(ps, sampler="sobol", seed=6, block=2048).sample(2048)
    c = Design.from_parameters(ps, sampler="sobol", seed=6, block=1000).sample(2048)
    assert np.array_equal(a, b) and np.array_equal(a, c)


def test_design_json_round_trip(ps: ParameterSet) -> None:
    d = Design.from_parameters(ps, sampler="sobol", seed=12, block=300)
    j = d.to_json()
    again = Design.from_json(j)
    assert again == d
    assert np.array_equal(again.sample(500), d.sample(500))


# ----------------------------------------- the compiled kernels and their oracle
#
# futures_kernel.py compiles the marginals and the Latin hypercube; these are
# the plain NumPy / Python references they must reproduce.


def _reference_values(d: Design, u: np.ndarray) -> np.ndarray:
    """The marginals in plain NumPy (the formulas of futures_kernel's docstring)."""
    lo, hi = np.asarray(d.low), np.asarray(d.high)
    out = lo + u * (hi - lo)
    dist = np.asarray(d.distributions)
    log = dist == "loguniform"
    if log.any():
        llo, lhi = np.log(lo[log]), np.log(hi[log])
        out[:, log] = np.exp(llo + u[:, log] * (lhi - llo))
    tri = dist == "triangular"
    if tri.any():
        a, b = lo[tri], hi[tri]
        c = (np.asarray(d.modes)[tri] - a) / (b - a)
        ut = u[:, tri]
        out[:, tri] = np.where(ut < c, a + np.sqrt(ut * c) * (b - a), b - np.sqrt((1 - ut) * (1 - c)) * (b - a))
    return out


_MASK64 = (1 << 64) - 1


def _reference_splitmix64(key: int, n: int) -> list[int]:
    """The first ``n`` outputs of SplitMix64 from state ``key`` in Python
    integers (Steele, Lea & Flood 2014; Vigna's splitmix64.c)."""
    out = []
    for _ in range(n):
        key = (key + 0x9E3779B97F4A7C15) & _MASK64
        z = ((key ^ (key >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        out.append(z ^ (z >> 31))
    return out


def _reference_lhs_units(d: Design, b: int, m: int) -> np.ndarray:
    """Block ``b``'s unit Latin hypercube, step by step in Python integers:
    SplitMix64 words (scheme 2) or NumPy's PCG64 words (scheme 1)."""
    seeds = np.random.SeedSequence(d.seed, spawn_key=(b,))
    if d.scheme == 1:
        raw = np.random.default_rng(seeds).bit_generator.random_raw(d.d * m).reshape(d.d, m)
    else:
        raw = np.array(_reference_splitmix64(int(seeds.generate_state(1, np.uint64)[0]), d.d * m), np.uint64).reshape(d.d, m)
    u = np.empty((m, d.d))
    for j in range(d.d):
        perm = list(range(m))
        for i in range(m - 1, 0, -1):
            k = ((int(raw[j, i]) >> 32) * (i + 1)) >> 32
            perm[i], perm[k] = perm[k], perm[i]
        for i in range(m):
            u[i, j] = (perm[i] + (float(int(raw[j, i]) & 0xFFFFFFFF) + 0.5) * 2.0**-32) / m
    return u


_DISTS = st.sampled_from(["uniform", "loguniform", "triangular"])


@settings(max_examples=60, deadline=None)
@given(
    specs=st.lists(st.tuples(_DISTS, st.floats(1e-3, 1e3), st.floats(1.01, 1e3), st.floats(0.0, 1.0)), min_size=1, max_size=6),
    seed=st.integers(0, 2**32),
    sampler=st.sampled_from(SAMPLERS),
    scheme=st.sampled_from(SCHEMES),
)
def test_kernels_match_the_numpy_reference(specs: list, seed: int, sampler: str, scheme: int) -> None:
    lows = tuple(lo for _, lo, _, _ in specs)
    highs = tuple(lo * r for _, lo, r, _ in specs)
    d = Design(
        names=tuple(f"x{j}" for j in range(len(specs))), low=lows, high=highs,
        distributions=tuple(s[0] for s in specs),
        modes=tuple(lo + f * (hi - lo) for lo, hi, (_, _, _, f) in zip(lows, highs, specs)),
        sampler=sampler, seed=seed, block=257, scheme=scheme,
    )
    u = d.unit_block(1, 600)
    got = d.block_values(1, 600)
    assert np.array_equal(got, d.to_values(u))  # one pass == units then marginals, bit for bit
    assert np.allclose(got, _reference_values(d, u), rtol=1e-12, atol=0.0)
    assert np.array_equal(d.to_values(u), d.to_values(np.ascontiguousarray(u)))  # any memory layout


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("m", [1, 2, 97, 512])
def test_latin_hypercube_is_the_reference_algorithm(ps: ParameterSet, m: int, scheme: int) -> None:
    d = dataclasses.replace(Design.from_parameters(ps, sampler="lhs", seed=0, block=m), scheme=scheme)
    assert np.array_equal(d.unit_block(3, 10 * m), _reference_lhs_units(d, 3, m))


def test_splitmix64_gives_the_published_sequence() -> None:
    # splitmix64.c (Vigna) from state 0: its first three outputs
    assert _reference_splitmix64(0, 3) == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    words = splitmix64(np.uint64(2**64 - 5), 7, np.empty(40, np.uint64))  # the state wraps around 2**64
    assert words.tolist() == _reference_splitmix64(2**64 - 5, 47)[7:]


def test_a_stored_design_without_a_scheme_is_rebuilt_with_scheme_1(ps: ParameterSet) -> None:
    # a run stored before scheme 2 recorded no scheme: it must regenerate its own futures
    d = Design.from_parameters(ps, sampler="lhs", seed=5, block=300)
    record = d.to_json()
    assert record["scheme"] == SCHEME == 2
    del record["scheme"]
    old = Design.from_json(record)
    assert old.scheme == 1 and Design.from_json(d.to_json()) == d
    assert np.array_equal(old.unit_block(1, 700), _reference_lhs_units(old, 1, 300))
    assert not np.array_equal(old.unit_block(1, 700), d.unit_block(1, 700))
    with pytest.raises(ValueError, match="scheme must be one of 1, 2, got 3"):
        dataclasses.replace(d, scheme=3)


def test_unknown_distribution_is_refused() -> None:
    with pytest.raises(ValueError, match="distribution must be one of uniform, loguniform, triangular, got normal"):
        _one("normal", 0.0, 1.0)
    with pytest.raises(ValueError, match=r"unit points must be \(m, 1\)"):
        _one("uniform", 0.0, 1.0).to_values(np.zeros((3, 2)))
