"""PRIM scenario discovery (foedus.exploration.prim): agreement with EMA
Workbench, properties of the peeling trajectory, the rule text and input
checks."""

from __future__ import annotations

import json
import logging
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foedus.exploration.prim import Box, _sort_with_order, find_box

# --------------------------------------------------------------- EMA agreement


@pytest.fixture(scope="module")
def ema_prim():
    """EMA Workbench's prim module, quiet (it is a test dependency)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optional-extra warnings on import
        pytest.importorskip("ema_workbench")
        from ema_workbench.analysis import prim
    logging.getLogger("EMA").setLevel(logging.CRITICAL)
    return prim


def _dataset(kind: str):
    rng = np.random.default_rng({"and": 11, "scaled": 12, "ties": 13}[kind])
    if kind == "and":  # the rule of the brief, 5 % of labels flipped
        X = rng.random((5_000, 4))
        y = (X[:, 0] < 0.3) & (X[:, 1] > 0.6)
        return X, y ^ (rng.random(X.shape[0]) < 0.05), {}
    if kind == "scaled":  # other ranges, a two-sided rule, coarser peeling
        X = rng.random((6_000, 4)) * [40.0, 1.0, 5.0, 1000.0] + [10.0, -0.5, 0.0, -500.0]
        y = (X[:, 2] > 1.5) & (X[:, 2] < 4.0) & (X[:, 3] > 0.0)
        return X, y ^ (rng.random(X.shape[0]) < 0.03), {"peel_alpha": 0.1, "mass_min": 0.1}
    # many tied values: inputs on a grid of 0.05, so EMA's quantile walks over ties
    X = np.round(rng.random((2_000, 3)) * 20) / 20
    y = (X[:, 1] >= 0.5) & (X[:, 2] <= 0.4)
    return X, y ^ (rng.random(X.shape[0]) < 0.05), {}


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # inside EMA, with pandas >= 3
@pytest.mark.parametrize("kind", ["and", "scaled", "ties"])
def test_same_trajectory_and_box_as_ema(ema_prim, kind):
    X, y, params = _dataset(kind)
    names = [f"x{i}" for i in range(X.shape[1])]
    import pandas as pd

    ema = ema_prim.Prim(pd.DataFrame(X, columns=names), y, threshold=0.8, **params)
    ema_box = ema.find_box()  # peels, pastes, returns the last box of its trajectory
    ema_traj = ema_box.peeling_trajectory
    assert ema_box.density >= 0.8  # so EMA returned its box, not a "dump" box

    ours = find_box(X, y, names, threshold=0.8, paste=True, **params)
    assert len(ours.trajectory) == len(ema_traj)
    for i, box in enumerate(ours.trajectory):
        lims = ema_box.box_lims[i]
        for name in names:
            assert box.limits[name] == pytest.approx((lims.loc[0, name], lims.loc[1, name]), abs=1e-9)
        ema_restricted = [nm for nm in names if (lims[nm] != ema_box.box_lims[0][nm]).any()]
        assert list(box.restricted) == ema_restricted
        assert box.coverage == pytest.approx(ema_traj["coverage"][i], abs=1e-9)
        assert box.density == pytest.approx(ema_traj["density"][i], abs=1e-9)
        assert box.mass == pytest.approx(ema_traj["mass"][i], abs=1e-9)
        assert box.n_points == ema_traj["n"][i]

    # the box EMA picks is the one we pick
    assert ours.chosen == len(ema_traj) - 1
    assert ours.box.coverage == pytest.approx(ema_box.coverage, abs=1e-9)
    assert ours.box.density == pytest.approx(ema_box.density, abs=1e-9)

    # without pasting we stop where EMA's peeling stopped
    peeled = find_box(X, y, names, threshold=0.8, **params)
    k = len(peeled.trajectory)
    assert [b.limits for b in peeled.trajectory] == [b.limits for b in ours.trajectory[:k]]
    assert all(ema_traj["n"][i] > ema_traj["n"][i - 1] for i in range(k, len(ema_traj)))


# -------------------------------------------------------------- properties


@st.composite
def _problems(draw):
    n = draw(st.integers(8, 150))
    d = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    levels = draw(st.sampled_from([0, 2, 5]))  # 0: continuous, else ties on a grid
    X = rng.random((n, d)) if levels == 0 else rng.integers(0, levels, (n, d)).astype(float)
    y = rng.random(n) < draw(st.floats(0.05, 0.9))
    if draw(st.booleans()):  # give PRIM something to find
        y |= X[:, 0] <= np.median(X[:, 0])
        y &= rng.random(n) < 0.9
    if not y.any():
        y[draw(st.integers(0, n - 1))] = True
    params = {
        "threshold": draw(st.sampled_from([0.5, 0.8, 1.0])),
        "peel_alpha": draw(st.sampled_from([0.05, 0.1, 0.25])),
        "mass_min": draw(st.sampled_from([0.0, 0.05, 0.2])),
        "paste": draw(st.booleans()),
    }
    return X, y, params


def _members(X, box, names):
    inside = np.ones(X.shape[0], dtype=bool)
    for j, name in enumerate(names):
        low, high = box.limits[name]
        inside &= (X[:, j] >= low) & (X[:, j] <= high)
    return inside


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problems())
def test_trajectory_properties(problem):
    X, y, params = problem
    names = [f"in{j}" for j in range(X.shape[1])]
    res = find_box(X, y, names, **params)
    traj = res.trajectory
    n, t_coi = X.shape[0], int(y.sum())

    assert traj[0].coverage == 1.0 and traj[0].mass == 1.0 and traj[0].restricted == ()
    for box in traj:
        assert 0.0 <= box.coverage <= 1.0 and 0.0 <= box.density <= 1.0 and 0.0 < box.mass <= 1.0
        assert box.mass >= params["mass_min"]
        # the statistics are those of the points inside the limits
        inside = _members(X, box, names)
        assert inside.sum() == box.n_points
        assert box.coverage == pytest.approx(y[inside].sum() / t_coi)
        assert box.density == pytest.approx(y[inside].mean())
        assert box.mass == pytest.approx(box.n_points / n)
        for j, name in enumerate(names):
            low, high = box.limits[name]
            assert X[:, j].min() <= low <= high <= X[:, j].max()
            assert (name in box.restricted) == ((low, high) != (X[:, j].min(), X[:, j].max()))

    # peeling shrinks the box (nested, coverage never rises); pasting then widens it
    sizes = [b.n_points for b in traj]
    k = next((i for i in range(1, len(sizes)) if sizes[i] > sizes[i - 1]), len(sizes))
    for prev, nxt in zip(traj[:k], traj[1:k]):
        assert nxt.n_points < prev.n_points and nxt.coverage <= prev.coverage
        assert all(prev.limits[s][0] <= nxt.limits[s][0] <= nxt.limits[s][1] <= prev.limits[s][1] for s in names)
    if not params["paste"]:
        assert k == len(traj)
    for prev, nxt in zip(traj[k - 1 :], traj[k:]):
        assert nxt.n_points > prev.n_points and nxt.density > prev.density
        assert all(nxt.limits[s][0] <= prev.limits[s][0] <= prev.limits[s][1] <= nxt.limits[s][1] for s in names)

    # the chosen box: the last one dense enough, else the densest
    dens = [b.density for b in traj]
    meets = [i for i, v in enumerate(dens) if v >= params["threshold"]]
    if meets:
        assert res.chosen == meets[-1]
    else:
        assert res.box.density == max(dens)
    assert res.box is traj[res.chosen]
    json.dumps(res.to_records())


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.sampled_from([0.0, -0.0, 1.0, 1.0 + 2**-52, 1.0 + 2**-40, -1.0, 5e-324, -5e-324]),
        ),
        min_size=1,
        max_size=300,
    )
)
def test_sort_with_order_matches_numpy(values):
    """The packed-key sort behind the column sorts: same values as np.sort,
    an order that is a permutation giving them, also for values so close
    that only their low bits differ (these need the fix-up pass)."""
    x = np.array(values, dtype=np.float64)
    order, val = _sort_with_order(x)
    assert np.array_equal(val, np.sort(x))
    assert np.array_equal(np.sort(order), np.arange(x.size))
    assert np.array_equal(x[order], val)


def test_sort_with_order_fixes_near_ties_at_scale():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.random(5_000), 0.5 + rng.integers(0, 2**20, 5_000) * 2**-52, -rng.random(100)])
    rng.shuffle(x)
    order, val = _sort_with_order(x)
    assert np.array_equal(val, np.sort(x)) and np.array_equal(x[order], val)


# -------------------------------------------------------------- describe()


def test_describe_hand_worked():
    data = {"will.USA": (0.0, 1.0), "force_generation": (0.0, 1.0), "stock": (0.0, 1.0), "z": (-1.0, 1.0)}
    box = Box(
        limits={"will.USA": (0.0, 0.35), "force_generation": (0.2, 0.7), "stock": (0.125, 1.0), "z": (-1.0, 1.0)},
        restricted=("will.USA", "force_generation", "stock"),
        coverage=0.5,
        density=0.9,
        mass=0.1,
        n_points=10,
        data_limits=data,
    )
    assert box.describe() == "will.USA <= 0.35 and 0.2 <= force_generation <= 0.7 and stock >= 0.125"
    assert box.describe("{:.1f}") == "will.USA <= 0.3 and 0.2 <= force_generation <= 0.7 and stock >= 0.1"
    bare = Box(box.limits, box.restricted, 0.5, 0.9, 0.1, 10)  # no data range: both sides
    assert bare.describe().startswith("0 <= will.USA <= 0.35 and ")
    full = Box(data, (), 1.0, 0.2, 1.0, 50, data_limits=data)
    assert full.describe() == "no restriction"


def test_hand_worked_peel():
    """x = 0..19, cases of interest x < 5. Each step the upper peel drops the
    top point ((m-1)*0.95 falls between the two largest values, the limit is
    their midpoint); the lower peel would drop a case of interest. Peeling
    stops when the box x <= 4.5 is pure: 16 boxes, 20 points down to 5."""
    X = np.arange(20.0)[:, None]
    res = find_box(X, X[:, 0] < 5, ["x"])
    assert [b.n_points for b in res.trajectory] == list(range(20, 4, -1))
    assert [b.limits["x"][1] for b in res.trajectory[1:]] == [h + 0.5 for h in range(18, 3, -1)]
    assert res.chosen == 15
    assert res.box.describe() == "x <= 4.5"
    assert (res.box.coverage, res.box.density, res.box.mass) == (1.0, 1.0, 0.25)
    rec = res.to_records()[-1]
    assert rec == {
        "coverage": 1.0,
        "density": 1.0,
        "mass": 0.25,
        "n_points": 5,
        "restricted": ["x"],
        "limits": {"x": [0.0, 4.5]},
    }


# ------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda X, y, nm: (X[:, 0], y, nm), "2-D"),
        (lambda X, y, nm: (np.where(X == X[3, 1], np.nan, X), y, nm), r"NaN.*columns \[1\]"),
        (lambda X, y, nm: (np.where(X == X[3, 1], np.inf, X), y, nm), "infinite"),
        (lambda X, y, nm: (X, y[:-1], nm), "one entry per row"),
        (lambda X, y, nm: (X, np.zeros_like(y), nm), "all False"),
        (lambda X, y, nm: (X, y * 2.0 + 1.0, nm), "only 0 and 1"),
        (lambda X, y, nm: (X, y, nm[:-1]), "names has 2 entries but X has 3 columns"),
        (lambda X, y, nm: (X, y, ["a", "a", "b"]), "unique"),
        (lambda X, y, nm: (X.astype(str), y, nm), "real numbers"),
    ],
)
def test_bad_input_raises_value_error(change, message):
    rng = np.random.default_rng(0)
    X, y, names = rng.random((30, 3)), rng.random(30) < 0.3, ["a", "b", "c"]
    with pytest.raises(ValueError, match=message):
        find_box(*change(X, y, names))


@pytest.mark.parametrize(
    "param, value",
    [("threshold", 0.0), ("threshold", 1.5), ("peel_alpha", 0.5), ("peel_alpha", 0.0), ("mass_min", 1.0)],
)
def test_bad_parameter_raises_value_error(param, value):
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 2)), rng.random(30) < 0.3
    with pytest.raises(ValueError, match=param):
        find_box(X, y, ["a", "b"], **{param: value})


def test_threaded_sort_gives_the_same_trajectory(monkeypatch):
    """Large inputs are sorted on threads; the result must not depend on it."""
    import foedus.exploration.prim as prim

    rng = np.random.default_rng(5)
    X = np.round(rng.random((60_000, 3)), 3)  # some ties too
    y = (X[:, 0] < 0.4) & (X[:, 2] > 0.3) ^ (rng.random(X.shape[0]) < 0.05)
    threaded = find_box(X, y, ["a", "b", "c"], paste=True)
    monkeypatch.setattr(prim.os, "cpu_count", lambda: 1)
    serial = find_box(X, y, ["a", "b", "c"], paste=True)
    assert threaded.to_records() == serial.to_records()


def test_integer_labels_accepted():
    X = np.arange(20.0)[:, None]
    a = find_box(X, (X[:, 0] < 5).astype(int), ["x"])
    b = find_box(X, X[:, 0] < 5, ["x"])
    assert a.to_records() == b.to_records()


def _trajectory(res):
    return [(b.limits, b.coverage, b.density, b.mass) for b in res.trajectory]


def test_read_only_inputs_are_sorted_once_and_give_the_same_boxes():
    """The web app asks for box after box over the same read-only futures:
    the sorts are kept, and every box equals the box over a fresh copy."""
    from foedus.exploration import prim

    rng = np.random.default_rng(11)
    X = rng.random((3000, 6))
    X[:, 2] = np.round(X[:, 2], 2)  # ties
    X.setflags(write=False)
    names = [f"x{j}" for j in range(6)]
    for case in range(3):
        y = (X[:, case] > 0.7) & (X[:, 3 - case] < 0.5)
        kept = find_box(X, y, names)
        assert id(X) in prim._SORTED and prim._SORTED[id(X)][0] is X
        assert _trajectory(kept) == _trajectory(find_box(X.copy(), y, names))


def test_writable_inputs_are_not_kept_so_a_change_in_place_is_seen():
    from foedus.exploration import prim

    rng = np.random.default_rng(12)
    X = rng.random((2000, 4))
    names = ["a", "b", "c", "d"]
    y = X[:, 0] > 0.8
    first = find_box(X, y, names)
    assert id(X) not in prim._SORTED
    X[:, 0] = 1.0 - X[:, 0]  # the same object, other values
    again = find_box(X, y, names)
    assert _trajectory(again) == _trajectory(find_box(X.copy(), y, names)) != _trajectory(first)


def test_kept_sorts_stay_within_their_byte_bound(monkeypatch):
    from foedus.exploration import prim

    monkeypatch.setattr(prim, "SORTED_KEPT_BYTES", 2 * 16 * 1000 * 3)  # room for about two of these
    monkeypatch.setattr(prim, "_SORTED", {})
    rng = np.random.default_rng(13)
    for _ in range(4):
        X = rng.random((1000, 3))
        X.setflags(write=False)
        find_box(X, X[:, 0] > 0.9, ["a", "b", "c"])
        assert sum(a.nbytes for e in prim._SORTED.values() for a in e[1:]) <= prim.SORTED_KEPT_BYTES
    assert 1 <= len(prim._SORTED) <= 2
