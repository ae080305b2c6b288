"""Exploration core (exploration/explore.py, robustness.py, discover.py):
block evaluation, streaming robustness, percentiles, thresholds and PRIM
scenario discovery on an in-memory exploration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foedus.data.loaders import load_countries, load_packages
from foedus.data.parameter_set import ParameterSet
from foedus.domain.errors import InputError
from foedus.exploration import explore as ex
from foedus.exploration.discover import failure_box, failures
from foedus.exploration.robustness import (
    row_percentiles,
    row_percentiles_each,
    DEFAULT_THRESHOLDS,
    PERCENTILES,
    RobustnessAccumulator,
    Threshold,
    parse_threshold,
    percentiles,
)
from foedus.storage.store import DEFAULT_PRECISION, RunStore

from conftest import SCENARIOS


@pytest.fixture(scope="module")
def world():
    countries = load_countries()
    ps = ParameterSet.default()
    packages = load_packages(sorted(SCENARIOS.glob("*.yaml")), countries)
    return packages, ps, countries


@pytest.fixture(scope="module")
def memory_run(world):
    packages, ps, countries = world
    return ex.explore_memory(packages, ps, countries, 6000, seed=2, block=2048)


# ------------------------------------------------------------ evaluation


def _blocks(spec: ex.RunSpec) -> tuple[np.ndarray, np.ndarray]:
    out = [ex.evaluate_block(spec, b) for b in range(spec.n_blocks)]
    assert [o[0] for o in out] == [b * spec.design.block for b in range(spec.n_blocks)]
    return np.concatenate([o[1] for o in out]), np.concatenate([o[2] for o in out], axis=1)


def test_evaluate_block_does_not_depend_on_inner_chunking(world, monkeypatch) -> None:
    """The sub-chunk size inside a block is a cache tuning knob: changing it
    must not change a single bit of the results (odd sizes included)."""
    packages, ps, countries = world
    spec = ex.make_spec(packages, ps, countries, 3001, seed=5, block=2048)  # blocks of 2048 and 953
    vals, res = _blocks(spec)
    assert res.shape == (len(packages), 3001, len(ex.STORED_METRICS))
    assert np.isfinite(res).all()
    for inner in (1000, 333, 50):
        monkeypatch.setattr(ex, "INNER", inner)
        v2, r2 = _blocks(spec)
        assert v2.tobytes() == vals.tobytes()
        diff = np.argwhere(r2 != res)
        assert diff.size == 0, f"INNER={inner}: {len(diff)} results differ, e.g. (package, future, metric) {diff[:3].tolist()}"


def test_evaluate_block_inputs_are_the_design(world) -> None:
    packages, ps, countries = world
    spec = ex.make_spec(packages, ps, countries, 1500, seed=8, sampler="mc", block=1024)
    vals, _ = _blocks(spec)
    assert np.array_equal(vals, spec.design.sample(1500))


@settings(max_examples=40, deadline=None)
@given(st.permutations(range(6)), st.integers(0, 2**32 - 1))
def test_robustness_adds_blocks_in_block_order_whatever_order_they_arrive(arrival, seed) -> None:
    """Blocks finish in any order on a cluster; the run's robustness is the
    one-process accumulator's, bit for bit (the regret sums are floats)."""
    rng = np.random.default_rng(seed)
    ths = [parse_threshold(t) for t in ("attack_probability<=0.5", "approval_probability>=0.3")]
    blocks = []
    for _ in range(6):
        m = int(rng.integers(1, 40))
        blocks.append({"attack_probability": rng.random((3, m)) ** 3, "approval_probability": rng.random((3, m)) * 1e3})
    one_process = RobustnessAccumulator(["a", "b", "c"], ths)
    for block in blocks:
        one_process.update(block)
    in_order = ex._InBlockOrder(RobustnessAccumulator(["a", "b", "c"], ths))
    for b in arrival:
        acc = RobustnessAccumulator(["a", "b", "c"], ths)
        acc.update(blocks[b])
        in_order.add(b, acc)
    assert in_order.next == 6 and not in_order.early
    got = in_order.acc
    assert got.records() == one_process.records()
    for name in ("meets_all", "meets", "regret_sum", "regret_max", "best_count"):
        assert getattr(got, name).tobytes() == getattr(one_process, name).tobytes(), name


@pytest.mark.parametrize("sampler", ["lhs", "mc", "sobol"])
def test_blocks_written_into_scratch_are_the_same_bits(world, sampler) -> None:
    """A run's blocks evaluated one after the other into one Scratch (the
    last block shorter) are the blocks evaluated into fresh arrays, and are
    views of the scratch's buffers (the next block overwrites them)."""
    packages, ps, countries = world
    spec = ex.make_spec(packages, ps, countries, 2500, seed=0, sampler=sampler, block=1024)  # 1024, 1024, 452
    scratch = ex.Scratch.for_spec(spec)
    for b in range(spec.n_blocks):
        start, vals, res = ex.evaluate_block(spec, b, scratch)
        fresh = ex.evaluate_block(spec, b)
        assert start == fresh[0]
        assert vals.tobytes() == fresh[1].tobytes() and res.tobytes() == fresh[2].tobytes()
        assert np.shares_memory(vals, scratch.inputs) and np.shares_memory(res, scratch.results)


def test_a_scratch_too_small_for_the_block_is_refused(world) -> None:
    packages, ps, countries = world
    spec = ex.make_spec(packages, ps, countries, 100, seed=1, block=100)
    with pytest.raises(ValueError, match="scratch holds 10 values, block 0 needs"):
        spec.design.block_values(0, 100, np.empty(10))
    with pytest.raises(ValueError, match="flat float64"):
        spec.design.block_values(0, 100, np.empty((spec.design.d, 100)))


def test_sobol_results_do_not_depend_on_block_size(world, tmp_path) -> None:
    """Sobol' futures are one sequence, so any block size gives the same
    futures; the stored results must then hash the same too."""
    packages, ps, countries = world
    ids = [p.id for p in packages]
    hashes, kept = [], []
    with RunStore(tmp_path / "runs.duckdb") as store:
        for block in (512, 1000, 2048):
            spec = ex.make_spec(packages, ps, countries, 2048, seed=3, sampler="sobol", block=block)
            with store.begin_run({"n_futures": 2048}, list(spec.design.names), list(spec.metrics), ids) as w:
                res = ex.run_exploration(spec, ids, writer=w, keep=True)
                rid = w.commit()
            hashes.append(store.results_hash(rid))
            kept.append(res)
            # what was stored is what was computed, rounded to the store's precision
            fut = store.futures(rid)
            assert np.array_equal(fut[list(spec.design.names)].to_numpy(), res.inputs.astype(DEFAULT_PRECISION))
            stored = store.results(rid, ids[2])
            assert np.array_equal(
                stored["attack_probability"].to_numpy(), res.metrics["attack_probability"][2].astype(DEFAULT_PRECISION)
            )
    assert len(set(hashes)) == 1
    assert np.array_equal(kept[0].metrics["total_cost_usd_per_year"], kept[2].metrics["total_cost_usd_per_year"])


def test_float32_run_stores_the_float64_run_rounded(world, tmp_path) -> None:
    """The same seed and design stored at both precisions: float64 keeps the
    evaluated numbers exactly (and Parquet doubles), float32 keeps each of
    them rounded to nearest (and Parquet floats); the robustness summary is
    the same, since it is computed from the evaluated numbers."""
    import pyarrow.parquet as pq

    packages, ps, countries = world
    ids = [p.id for p in packages]
    spec = ex.make_spec(packages, ps, countries, 3000, seed=4, block=2048)
    runs = {}
    with RunStore(tmp_path / "runs.duckdb") as store:
        for precision in ("float64", "float32"):
            with store.begin_run({"n_futures": 3000}, list(spec.design.names), list(spec.metrics), ids, precision) as w:
                res = ex.run_exploration(spec, ids, writer=w, keep=True)
                rid = w.commit({"robustness": res.robustness})
            assert store.get_run(rid)["precision"] == precision
            types = {str(t) for f in store.run_files(rid) for t in pq.read_schema(f).types}
            assert types == {"int16", "int64", {"float64": "double", "float32": "float"}[precision]}
            runs[precision] = (rid, res, store.futures(rid), store.results(rid))
        (r64, res64, fut64, out64), (r32, res32, fut32, out32) = runs["float64"], runs["float32"]
        names = list(spec.design.names)
        # float64: exactly the evaluated numbers
        assert np.array_equal(fut64[names].to_numpy(), res64.inputs)
        for m in spec.metrics:
            assert np.array_equal(out64[m].to_numpy(), res64.metrics[m].reshape(-1)), m
        # float32: the float64 run's values, each cast to float32
        assert np.array_equal(fut32[names].to_numpy(), fut64[names].to_numpy().astype(np.float32))
        for m in spec.metrics:
            assert np.array_equal(out32[m].to_numpy(), out64[m].to_numpy().astype(np.float32)), m
        assert res32.robustness == res64.robustness
        assert store.results_hash(r32) != store.results_hash(r64)


def test_run_exploration_streams_the_same_robustness_as_one_shot(memory_run) -> None:
    res = memory_run
    assert res.inputs.shape == (6000, len(res.input_names)) and res.n == 6000
    assert set(res.metrics) == set(ex.STORED_METRICS)
    assert [str(t) for t in res.thresholds] == [str(parse_threshold(t)) for t in DEFAULT_THRESHOLDS]
    one = RobustnessAccumulator(res.package_ids, res.thresholds)
    one.update(res.metrics)
    for got, want in zip(res.robustness, one.records()):
        assert got["id"] == want["id"]
        assert got["satisficing"] == want["satisficing"]
        assert got["per_threshold"] == want["per_threshold"]
        for m, r in want["regret"].items():
            assert got["regret"][m]["max"] == r["max"] and got["regret"][m]["best_share"] == r["best_share"]
            assert got["regret"][m]["mean"] == pytest.approx(r["mean"], rel=1e-12, abs=1e-15)
        assert set(got["percentiles"]) == set(ex.STORED_METRICS)


def test_explore_memory_is_reproducible(world, memory_run) -> None:
    packages, ps, countries = world
    again = ex.explore_memory(packages, ps, countries, 6000, seed=2, block=2048)
    assert again.inputs.tobytes() == memory_run.inputs.tobytes()
    for m in ex.STORED_METRICS:
        assert again.metrics[m].tobytes() == memory_run.metrics[m].tobytes(), m
    other = ex.explore_memory(packages, ps, countries, 500, seed=3, block=2048)
    assert not np.array_equal(other.inputs, memory_run.inputs[:500])


# -------------------------------------------------------------- robustness


THRESHOLDS = [Threshold("a", "<=", 0.5), Threshold("b", ">=", 0.3), Threshold("c", "<", 0.7), Threshold("a", ">", 0.1)]


def _one_shot(metrics: dict[str, np.ndarray], ths: list[Threshold]) -> dict:
    ok = np.stack([t.met(metrics[t.metric]) for t in ths])  # (T, P, n)
    regrets = []
    for t in ths:
        v = metrics[t.metric]
        best = v.min(axis=0) if t.lower_is_better else v.max(axis=0)
        regrets.append(np.abs(v - best))
    reg = np.stack(regrets)  # (T, P, n)
    return {
        "satisficing": ok.all(axis=0).mean(axis=1),
        "per_threshold": ok.mean(axis=2).T,
        "regret_mean": reg.mean(axis=2).T,
        "regret_max": reg.max(axis=2).T,
        "best_share": (reg == 0).mean(axis=2).T,
    }


@st.composite
def chunked_metrics(draw):
    P = draw(st.integers(1, 5))
    n = draw(st.integers(1, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    metrics = {}
    for name in ("a", "b", "c"):
        v = rng.random((P, n))
        if draw(st.booleans()):  # coarse values: ties for the best package
            v = np.round(v, 1)
        metrics[name] = v
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=6)))
    return metrics, [0, *cuts, n]


@settings(max_examples=200, deadline=None)
@given(data=chunked_metrics(), k=st.integers(1, 4))
def test_accumulator_over_chunks_equals_one_shot(data, k: int) -> None:
    metrics, bounds = data
    ths = THRESHOLDS[:k]
    P, n = metrics["a"].shape
    ids = [f"p{i}" for i in range(P)]
    acc = RobustnessAccumulator(ids, ths)
    for lo, hi in zip(bounds, bounds[1:]):
        acc.update({m: v[:, lo:hi] for m, v in metrics.items()})
    assert acc.n == n
    want = _one_shot(metrics, ths)
    recs = acc.records()
    assert [r["id"] for r in recs] == ids
    for i, r in enumerate(recs):
        assert r["satisficing"] == pytest.approx(want["satisficing"][i], abs=1e-12)
        for j, t in enumerate(ths):
            assert r["per_threshold"][str(t)] == pytest.approx(want["per_threshold"][i, j], abs=1e-12)
        # regret is keyed by metric; the last threshold on a metric wins
        for j, t in enumerate(ths):
            if any(u.metric == t.metric for u in ths[j + 1 :]):
                continue
            g = r["regret"][t.metric]
            assert g["mean"] == pytest.approx(want["regret_mean"][i, j], rel=1e-9, abs=1e-12)
            assert g["max"] == want["regret_max"][i, j]
            assert g["best_share"] == pytest.approx(want["best_share"][i, j], abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(data=chunked_metrics())
def test_merged_accumulators_equal_one(data) -> None:
    metrics, bounds = data
    P, n = metrics["a"].shape
    ids = [f"p{i}" for i in range(P)]
    mid = bounds[len(bounds) // 2]
    one = RobustnessAccumulator(ids, THRESHOLDS[:3])
    one.update(metrics)
    left, right = RobustnessAccumulator(ids, THRESHOLDS[:3]), RobustnessAccumulator(ids, THRESHOLDS[:3])
    left.update({m: v[:, :mid] for m, v in metrics.items()})
    right.update({m: v[:, mid:] for m, v in metrics.items()})
    merged = left.merge(right)
    assert merged.n == n
    assert np.array_equal(merged.meets_all, one.meets_all) and np.array_equal(merged.meets, one.meets)
    assert np.array_equal(merged.regret_max, one.regret_max) and np.array_equal(merged.best_count, one.best_count)
    assert np.allclose(merged.regret_sum, one.regret_sum, rtol=1e-12, atol=1e-12)


def test_satisficing_by_hand() -> None:
    # two packages, four futures; attack <= 0.1 and approval >= 0.5
    attack = np.array([[0.05, 0.2, 0.1, 0.0], [0.3, 0.05, 0.05, 0.4]])
    approval = np.array([[0.6, 0.9, 0.4, 0.5], [0.5, 0.5, 0.1, 0.9]])
    ths = [parse_threshold("attack_probability<=0.1"), parse_threshold("approval_probability>=50%")]
    acc = RobustnessAccumulator(["x", "y"], ths)
    acc.update({"attack_probability": attack[:, :1], "approval_probability": approval[:, :1]})
    acc.update({"attack_probability": attack[:, 1:], "approval_probability": approval[:, 1:]})
    x, y = acc.records()
    assert x["satisficing"] == 0.5 and y["satisficing"] == 0.25  # x: futures 0, 3; y: future 1
    assert x["per_threshold"] == {"attack_probability<=0.1": 0.75, "approval_probability>=0.5": 0.75}
    assert x["regret"]["attack_probability"]["mean"] == pytest.approx((0 + 0.15 + 0.05 + 0) / 4)
    assert x["regret"]["attack_probability"]["max"] == pytest.approx(0.15)
    assert y["regret"]["approval_probability"]["max"] == pytest.approx(0.4)
    assert y["regret"]["attack_probability"]["best_share"] == 0.5


def test_percentiles_are_numpy_linear_percentiles() -> None:
    v = np.stack([np.arange(101.0), np.arange(101.0)[::-1] * 2])  # (2, 101)
    out = percentiles({"m": v}, ["a", "b"])
    assert PERCENTILES == (5, 25, 50, 75, 95)
    assert out["a"]["m"] == {"p5": 5.0, "p25": 25.0, "p50": 50.0, "p75": 75.0, "p95": 95.0}
    assert out["b"]["m"] == {"p5": 10.0, "p25": 50.0, "p50": 100.0, "p75": 150.0, "p95": 190.0}
    # interpolated between order statistics
    out = percentiles({"m": np.array([[0.0, 10.0]])}, ["a"])
    assert out["a"]["m"]["p25"] == 2.5 and out["a"]["m"]["p95"] == pytest.approx(9.5)


@settings(max_examples=200, deadline=None)
@given(rows=st.integers(1, 6), n=st.integers(1, 60), seed=st.integers(0, 2**32 - 1), ties=st.booleans(), nan=st.booleans(),
       pcts=st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=6))
def test_row_percentiles_are_numpys_bit_for_bit(rows, n, seed, ties, nan, pcts) -> None:
    """The sort-based percentiles the web app and compare use against
    np.percentile (method linear), to the last bit (a zero's sign aside):
    ties, NaN rows, the first and last order statistics, any percentile."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(rows, n)) * 10.0 ** rng.integers(-3, 9)
    if ties:
        a = np.round(a, 1 - int(np.log10(np.abs(a).max() + 1e-300)))
    if nan:
        a[rng.integers(rows), rng.integers(n)] = np.nan
    want = np.percentile(a, pcts, axis=1)
    got = row_percentiles(a, pcts)
    assert got.shape == want.shape
    # every bit, but for the sign of a zero: 0.0 and -0.0 tie, and the two
    # orderings may put either at an order statistic
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.where(got == 0, 0.0, got).view(np.int64), np.where(want == 0, 0.0, want).view(np.int64))


_SHAPES = st.sampled_from(["uniform", "lognormal", "pareto", "ties", "few values", "infinities", "huge", "subnormal", "negative"])


def _rows(shape: str, rng: np.random.Generator, rows: int, n: int) -> np.ndarray:
    """Rows that reach every branch of the compiled selection (order_stats):
    buckets over a spread row, heavy tails that need a second pass, rows of a
    few values, and the rows it sorts whole (infinite values, a range that
    overflows, subnormal ranges)."""
    return {
        "uniform": lambda: rng.random((rows, n)),
        "lognormal": lambda: np.exp(rng.normal(0, 4, (rows, n))),
        "pareto": lambda: rng.pareto(0.5, (rows, n)),
        "ties": lambda: np.round(rng.random((rows, n)), 2),
        "few values": lambda: rng.integers(0, 3, (rows, n)).astype(float),
        "infinities": lambda: np.where(rng.random((rows, n)) < 0.01, np.inf, rng.random((rows, n))),
        "huge": lambda: rng.normal(0, 1e307, (rows, n)),
        "subnormal": lambda: rng.random((rows, n)) * 1e-310,
        "negative": lambda: -np.exp(rng.normal(0, 5, (rows, n))),
    }[shape]()


@settings(max_examples=60, deadline=None)
@given(shape=_SHAPES, rows=st.integers(1, 4), n=st.integers(65, 6000), seed=st.integers(0, 2**32 - 1), nan=st.booleans())
def test_order_statistics_are_the_sorted_rows_values(shape, rows, n, seed, nan) -> None:
    """The selection by buckets (more values than it sorts directly) gives
    the values a full sort puts at each rank (NaN for a row holding NaN),
    and row_percentiles stays
    np.percentile's, on rows shaped to reach each of its branches."""
    from foedus.exploration.order_stats import SMALL, order_statistics

    assert n > SMALL
    rng = np.random.default_rng(seed)
    a = _rows(shape, rng, rows, n)
    if nan:
        a[rng.integers(rows), rng.integers(n)] = np.nan
    ranks = np.unique(np.concatenate([rng.integers(0, n, 8), [0, n - 1]])).astype(np.int64)
    want = np.sort(a, axis=1)[:, ranks]
    want[np.isnan(a).any(axis=1)] = np.nan  # a row holding NaN has no order statistics
    np.testing.assert_array_equal(order_statistics(a, ranks), want)
    pcts = (0, 5, 25, 50, 75, 95, 100, float(rng.uniform(0, 100)))
    with np.errstate(invalid="ignore"):  # inf - inf, in NumPy's interpolation as in ours
        np.testing.assert_array_equal(row_percentiles(a, pcts), np.percentile(a, pcts, axis=1))


@settings(max_examples=50, deadline=None)
@given(sizes=st.lists(st.integers(1, 5), min_size=1, max_size=4), n=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_row_percentiles_each_is_one_call_per_array(sizes, n, seed) -> None:
    """Several tables' percentiles from one selection: each part the same
    bits as row_percentiles of that table alone, in the order given."""
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=(r, n)) for r in sizes]
    got = row_percentiles_each(arrays, (5, 50, 95))
    assert len(got) == len(arrays)
    for a, q in zip(arrays, got):
        np.testing.assert_array_equal(q, row_percentiles(a, (5, 50, 95)))


def test_row_percentiles_refuses_what_is_not_a_table() -> None:
    with pytest.raises(ValueError, match="2-D array with at least one column"):
        row_percentiles(np.zeros((3, 0)), (50,))


def test_store_percentiles_match_in_memory_percentiles(world, tmp_path) -> None:
    packages, ps, countries = world
    ids = [p.id for p in packages]
    spec = ex.make_spec(packages, ps, countries, 3000, seed=4, block=1024)
    with RunStore(tmp_path / "runs.duckdb") as store:
        with store.begin_run({"n_futures": 3000}, list(spec.design.names), list(spec.metrics), ids) as w:
            res = ex.run_exploration(spec, ids, writer=w, keep=True)
            rid = w.commit()
        names = ["attack_probability", "total_cost_usd_per_year"]
        stored = ex.store_percentiles(store, rid, names)
    # of the stored numbers: the evaluated ones rounded to the store's precision
    mem = percentiles({m: a.astype(DEFAULT_PRECISION).astype(np.float64) for m, a in res.metrics.items()}, ids, names)
    for pid in ids:
        for m in names:
            for p, v in mem[pid][m].items():
                assert stored[pid][m][p] == pytest.approx(v, rel=1e-9, abs=1e-12), (pid, m, p)


# -------------------------------------------------------------- thresholds


@pytest.mark.parametrize(
    "text, want",
    [
        ("attack_probability<=0.1", Threshold("attack_probability", "<=", 0.1)),
        (" approval_probability >= 25% ", Threshold("approval_probability", ">=", 0.25)),
        ("max_cost_pct_gdp<1e-2", Threshold("max_cost_pct_gdp", "<", 0.01)),
        ("escalation_risk>0.5", Threshold("escalation_risk", ">", 0.5)),
    ],
)
def test_parse_threshold(text: str, want: Threshold) -> None:
    t = parse_threshold(text, ex.STORED_METRICS)
    assert t == want
    assert parse_threshold(str(t), ex.STORED_METRICS) == t  # str round-trips


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("attack_probability=0.1", ["--threshold", "attack_probability=0.1", "METRIC<=VALUE or METRIC>=VALUE"]),
        ("attack_probability", ["METRIC<=VALUE"]),
        ("attack_prob<=0.1", ["attack_prob", "did you mean attack_probability"]),
        ("bogus<=0.1", ["bogus", "a package metric", "attack_probability", "max_cost_pct_gdp"]),
        ("attack_probability<=1.2.3", ["attack_probability", "a number, got '1.2.3'"]),
        ("attack_probability<=", ["METRIC<=VALUE"]),
    ],
)
def test_bad_thresholds_are_input_errors(text: str, fragments: list[str]) -> None:
    with pytest.raises(InputError) as info:
        parse_threshold(text, ex.STORED_METRICS)
    msg = str(info.value)
    assert msg.startswith("--threshold: ") and "\n" not in msg
    for f in fragments:
        assert f in msg


def test_default_thresholds_parse_against_stored_metrics() -> None:
    ths = [parse_threshold(t, ex.STORED_METRICS) for t in DEFAULT_THRESHOLDS]
    assert {t.metric for t in ths} <= set(ex.STORED_METRICS) and len(ths) == 3


# ------------------------------------------------------------- discovery


def test_failures_are_any_threshold_missed() -> None:
    m = {"a": np.array([0.1, 0.6, 0.2, 0.9]), "b": np.array([0.5, 0.5, 0.1, 0.1])}
    ths = [Threshold("a", "<=", 0.5), Threshold("b", ">=", 0.3)]
    assert failures(m, ths).tolist() == [False, True, True, True]
    with pytest.raises(ValueError, match="at least one threshold"):
        failures(m, [])


def test_failure_box_on_an_in_memory_exploration(memory_run) -> None:
    res = memory_run
    found = 0
    for i, pid in enumerate(res.package_ids):
        y = failures({m: a[i] for m, a in res.metrics.items()}, res.thresholds)
        rate = y.mean()
        if not 0.05 < rate < 0.95:
            continue
        found += 1
        # ask for a density above the failure rate, else the box of all futures will do
        prim = failure_box(res, pid) if rate < 0.75 else failure_box(res, pid, density=0.97)
        box = prim.box
        assert box.density >= rate, pid
        assert 0 < box.mass < 1 and 0 < box.coverage <= 1
        assert box.restricted and set(box.restricted) <= set(res.input_names)
        text = box.describe()
        assert any(name in text for name in box.restricted)
        # the box is what it claims: recount its futures
        inside = np.ones(res.n, dtype=bool)
        for j, name in enumerate(res.input_names):
            lo, hi = box.limits[name]
            inside &= (res.inputs[:, j] >= lo) & (res.inputs[:, j] <= hi)
        assert inside.sum() == box.n_points
        assert y[inside].mean() == pytest.approx(box.density)
        assert y[inside].sum() / y.sum() == pytest.approx(box.coverage)
    assert found >= 2
    with pytest.raises(KeyError, match="no package 'nope'"):
        failure_box(res, "nope")


def test_thresholds_name_metrics_by_key_or_by_label_and_suggest_both():
    """Issue 9: the page shows labels ("Kyiv accepts"), and the threshold
    field rejected them with a suggestion of unrelated keys."""
    from foedus.domain.errors import InputError
    from foedus.domain.metrics import STORED_METRICS
    from foedus.exploration.robustness import parse_threshold

    assert str(parse_threshold("Attack within horizon <= 10%", STORED_METRICS)) == "attack_probability<=0.1"
    assert str(parse_threshold("approved and in force>=0.3", STORED_METRICS)) == "approval_probability>=0.3"
    with pytest.raises(InputError) as e:
        parse_threshold("Kyiv accepts>=0.5", STORED_METRICS)
    assert "'Kyiv accepts' (kyiv_acceptance) is not kept by explorations" in str(e.value)
    with pytest.raises(InputError) as e:
        parse_threshold("Aproved and in force>=0.3", STORED_METRICS)
    assert "did you mean approval_probability (Approved and in force)?" in str(e.value)


def test_a_packages_cache_key_is_its_own_text_even_for_copies(world) -> None:
    """``package_text`` keeps one text per package object: the same object
    gives the same text, a copy with a change (a lever edit) its own, and
    the text is always ``model_dump_json`` (a stale text would hand one
    package another's compiled levers)."""
    from foedus.exploration import levers_cache as kept

    p = world[0][0]
    assert kept.package_text(p) == p.model_dump_json()
    assert kept.package_text(p) is kept.package_text(p)
    c = p.commitments[0]
    edited = p.model_copy(update={"commitments": [c.model_copy(update={"guarantor": "POL" if c.guarantor != "POL" else "FRA"}), *p.commitments[1:]]})
    assert kept.package_text(edited) == edited.model_dump_json() != kept.package_text(p)
    for _ in range(kept.KEEP_TEXTS + 5):  # the kept texts stay bounded, and an evicted package is serialised again
        kept.package_text(p.model_copy())
    assert len(kept._TEXTS) <= kept.KEEP_TEXTS
    assert kept.package_text(p) == p.model_dump_json()


@settings(max_examples=200, deadline=None)
@given(m=st.integers(1, 200_000))
def test_a_block_is_cut_into_near_equal_chunks(m) -> None:
    """explore.chunks: contiguous, covering the block, round(m / INNER)
    chunks (at least one) of at most 1.5 INNER futures (+1), never a small
    remainder beside a full chunk."""
    from foedus.exploration.explore import INNER, chunks

    got = chunks(m)
    assert got[0][0] == 0 and got[-1][1] == m and all(a[1] == b[0] for a, b in zip(got, got[1:]))
    sizes = [hi - lo for lo, hi in got]
    assert len(got) == max(1, round(m / INNER)) and max(sizes) <= 1.5 * INNER + 1 and max(sizes) - min(sizes) < len(got)
