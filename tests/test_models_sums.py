"""Probabilities (foedus.models.sums) computes per-package sums and products
of credibility- and delivery-weighted element quantities by small matrix
products over classes, from compiled class tables. Checked here against the
plain NumPy element-by-element and row-by-row reference (reference_model.py)
on the seed scenarios and random packages, at the central values and in random futures; and the
package-level totals of ``evaluate`` against the sums of its per-guarantor
detail.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model_helpers import COUNTRIES, central, compile_, package_commitments, packages, parameter_set, sample_values, scenarios
import reference_model as ref
from reference_model import credibility, delivery, guarantee_reach, guarantor_fights

from foedus.exploration.assess import central_weights, evaluate
from foedus.models.costs import row_costs
from foedus.models.deterrence import power_terms
from foedus.models.forces import shortfall_rows
from foedus.models.inputs import Inputs
from foedus.models.sums import CRED, DELIVERY, Probabilities

N = 64
REL = 1e-9
H = 10.0


@pytest.fixture(scope="module")
def seeds():
    return compile_(scenarios())


def _futures(seed: int = 7) -> Inputs:
    return Inputs(sample_values(parameter_set(), N, seed), N)


def _inputs():
    return [("central", Inputs(central(), 1)), ("random", _futures())]


def _close(actual, expected, what=""):
    expected = np.broadcast_to(expected, actual.shape)
    scale = max(float(np.max(np.abs(expected))) if expected.size else 0.0, 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=REL, atol=REL * scale, err_msg=what)


def _element_quantities(lv, rng):
    return {
        "ones": np.ones(lv.n_elements),
        "aid": lv.aid_usd,
        "trainers": lv.trainers.sum(axis=1),
        "ground_contact_line": lv.ground[:, -1],
        "mutual_defence_active": lv.mutual_defence * lv.el_values(lv.active),
        "random": rng.normal(size=lv.n_elements),
    }


def _flags(lv, rng):
    return {
        "intel": lv.intel,
        "snapback": lv.snapback,
        "monitoring": lv.monitoring,
        "fighting": lv.fighting,
        "none": np.zeros(lv.n_elements, dtype=bool),
        "random": rng.random(lv.n_elements) < 0.3,
    }


def _explicit_sum(lv, prob, v):
    return lv.sum_packages(prob * v[:, None], level="e")


def _explicit_any_of(lv, prob, flag):
    out = np.zeros((lv.n_packages, prob.shape[1]))
    for p in range(lv.n_packages):
        prod = np.ones(prob.shape[1])
        for e in np.nonzero((lv.el_package == p) & flag)[0]:
            prod = prod * (1.0 - prob[e])
        out[p] = 1.0 - prod
    return out


def _explicit_guarantees(lv, x):
    """S = 1 - prod over guarantor rows of (1 - pact_effect * fights * k);
    phi = 1 - prod over nuclear rows of (1 - fights), from the row-by-row
    equations (reference_model.guarantor_fights and guarantee_reach)."""
    fights = np.broadcast_to(guarantor_fights(lv, x), (lv.n_rows, x.n))
    reach = np.broadcast_to(guarantee_reach(lv, x), (lv.n_rows, x.n))
    e = x["deterrence.pact_effect"]
    nuclear = lv.row_values(lv.nuclear)
    S, phi = np.zeros((lv.n_packages, x.n)), np.zeros((lv.n_packages, x.n))
    for p in range(lv.n_packages):
        keep, none = np.ones(x.n), np.ones(x.n)
        for q in np.nonzero(lv.q_package == p)[0]:
            keep = keep * (1.0 - e * fights[q] * reach[q])
            if nuclear[q]:
                none = none * (1.0 - fights[q])
        S[p], phi[p] = 1.0 - keep, 1.0 - none
    return S, phi


def _check_all(lv, x, rng):
    pr = Probabilities(lv, x, H)
    cred = np.broadcast_to(credibility(lv, x), (lv.n_elements, x.n))
    deliv = np.broadcast_to(delivery(lv, x, H), (lv.n_elements, x.n))
    _close(pr.rows(kind=CRED), cred, "credibility")
    _close(pr.rows(kind=DELIVERY), deliv, "delivery")
    _close(pr.row_fights(), np.broadcast_to(guarantor_fights(lv, x), (lv.n_rows, x.n)), "each row's probability of fighting")
    for name, v in _element_quantities(lv, rng).items():
        _close(pr.sum(v, kind=CRED), _explicit_sum(lv, cred, v), f"cred sum {name}")
        _close(pr.sum(v, kind=DELIVERY), _explicit_sum(lv, deliv, v), f"delivery sum {name}")
    for name, flag in _flags(lv, rng).items():
        _close(pr.any_of(flag, kind=CRED), _explicit_any_of(lv, cred, flag), f"cred any_of {name}")
        _close(pr.any_of(flag, kind=DELIVERY), _explicit_any_of(lv, deliv, flag), f"delivery any_of {name}")
    forces = shortfall_rows(lv, x)
    for name, got, want in zip(("deployed", "pool", "available", "shortfall"), forces, ref.shortfall_rows(lv, x)):
        _close(got, want, f"forces: {name}")
    rows = np.arange(lv.n_rows)
    for name, got, want in zip(("cost", "raise"), row_costs(lv, x, rows, forces[3]), ref.row_costs(lv, x, forces[3])):
        _close(got, want, f"row {name}")
    V, F = power_terms(lv, x)
    S, phi = pr.guarantees(V, F, x["deterrence.decisive_force"], x["deterrence.pact_effect"])
    eS, ephi = _explicit_guarantees(lv, x)
    _close(S, eS, "S")
    _close(phi, ephi, "phi_nuclear")


@pytest.mark.parametrize("which", ["central", "random"])
def test_class_form_equals_element_by_element_on_the_seeds(seeds, which):
    _check_all(seeds, dict(_inputs())[which], np.random.default_rng(3))


def _check_totals(lv, x, weights=None):
    ev = evaluate(lv, x, H, weights=weights, detail=True)
    r = ev.rows
    _close(ev.packages["total_cost_usd_per_year"], lv.sum_packages(r["cost_usd_per_year"]), "cost")
    _close(ev.packages["troops_deployed"], lv.sum_packages(r["troops_deployed"]), "deployed")
    _close(ev.packages["troops_required_pool"], lv.sum_packages(r["troops_required_pool"]), "pool")
    _close(ev.packages["guarantors_short"], lv.sum_packages((r["shortfall"] > 0).astype(float)), "guarantors short")
    worst = np.zeros((lv.n_packages, x.n))
    np.maximum.at(worst, lv.q_package, np.broadcast_to(r["cost_pct_gdp"], (lv.n_rows, x.n)))
    _close(ev.packages["max_cost_pct_gdp"], worst, "max % GDP")
    # element costs add up to the guarantors' costs
    _close(lv.sum_rows(ev.elements["cost_usd_per_year"]), r["cost_usd_per_year"], "element costs")


def test_package_totals_equal_row_detail_at_the_central_values(seeds):
    _check_totals(seeds, Inputs(central(), 1))


def test_package_totals_equal_row_detail_in_random_futures(seeds):
    lv = seeds
    _check_totals(lv, _futures(11), weights=central_weights(lv, Inputs(central(), 1)))


def test_evaluating_levers_again_with_other_will_parameters(seeds):
    """Cached class matrices must follow the will.<ISO3> parameters present:
    evaluating the same levers after adding will.NLD gives what freshly
    compiled levers give."""
    lv = seeds
    evaluate(lv, Inputs(central(), 1), H)  # fills the caches
    vals = dict(central(), **{"will.NLD": 0.1, "will.GBR": 0.9})
    again = evaluate(lv, Inputs(vals, 1), H)
    fresh = evaluate(compile_(scenarios()), Inputs(vals, 1), H)
    for m, a in fresh.packages.items():
        np.testing.assert_array_equal(again.packages[m], a, err_msg=m)
    for x in (Inputs(central(), 1), Inputs(vals, 1), Inputs(central(), 1)):  # same keys, other classes
        _check_all(lv, x, np.random.default_rng(5))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(pkgs=st.lists(package_commitments(), min_size=1, max_size=4), seed=st.integers(0, 2**32 - 1))
def test_class_form_equals_element_by_element_on_random_packages(pkgs, seed):
    lv = compile_(packages(*pkgs))
    _check_all(lv, Inputs(sample_values(parameter_set(), 8, seed), 8), np.random.default_rng(seed))
    _check_totals(lv, Inputs(central(), 1))  # n = 1, as in compare


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(0, 30), n=st.integers(1, 9), P=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_sums_by_package_equal_numpy(rows, n, P, seed):
    """foedus.models.by_package.sum_by (compiled) against np.add.at, rows
    in any package order, negative values included."""
    from foedus.models.by_package import sum_by

    rng = np.random.default_rng(seed)
    owner = rng.integers(0, P, rows)
    X = np.round(rng.normal(size=(rows, n)), 1)
    want = np.zeros((P, n))
    np.add.at(want, owner, X)
    np.testing.assert_allclose(sum_by(owner, X, P), want, rtol=1e-12, atol=1e-12)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_packages_figures_do_not_depend_on_the_others_evaluated_with_it(data):
    """Every package figure, bit for bit, whether the package is evaluated
    alone, with some of the seeds or with all of them, in any order (so that
    the web app can evaluate together the packages it lacks and cache them
    one by one). BLAS products summed a package's terms in an order that
    depended on how many packages there were."""
    pkgs = scenarios()
    chosen = data.draw(st.lists(st.integers(0, len(pkgs) - 1), min_size=1, max_size=4, unique=True))
    x = Inputs(sample_values(parameter_set(), 16, data.draw(st.integers(0, 2**32 - 1))), 16)
    whole = compile_(pkgs)
    part = compile_([pkgs[i] for i in chosen])
    c = Inputs(central(), 1)
    rows = np.concatenate([np.nonzero(whole.q_package == p)[0] for p in chosen])
    elements = np.concatenate([np.nonzero(whole.el_package == p)[0] for p in chosen])
    for inputs in (c, x):
        a = evaluate(whole, inputs, H, weights=central_weights(whole, c), detail=True, internals=True)
        b = evaluate(part, inputs, H, weights=central_weights(part, c), detail=True, internals=True)
        for m, got in b.packages.items():
            np.testing.assert_array_equal(got, a.packages[m][chosen], err_msg=m)
        for m, got in b.internals.items():
            np.testing.assert_array_equal(got, a.internals[m][chosen], err_msg=m)
        for m, got in b.rows.items():
            np.testing.assert_array_equal(got, a.rows[m][rows], err_msg=f"guarantor {m}")
        for m, got in b.elements.items():
            np.testing.assert_array_equal(got, a.elements[m][elements], err_msg=f"element {m}")


_ELEMENT_FIELDS = ("form", "trigger", "collective", "promise", "fight_promise", "fighting", "ground", "trainers", "monitors", "aircraft",
                   "ships", "air_defence", "mutual_defence", "umbrella", "snapback", "intel", "monitoring", "joint_commission",
                   "treaty_defence", "aid_usd", "humanitarian_usd", "reconstruction_usd", "missions", "el_vetoes", "el_gdp_weight",
                   "enabler_units")


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_packages_levers_do_not_depend_on_the_packages_compiled_with_it(data):
    """compile_packages adds up contributions recorded once per commitment
    object: the variants of a comparison (a package without each of its
    guarantors) share most commitments, and the one that differs by a
    guarantor's share must not borrow another's record. Each variant's
    elements, bit for bit, equal those it gets compiled alone."""
    pkgs = scenarios()
    pkg = pkgs[data.draw(st.integers(0, len(pkgs) - 1))]
    variants = [pkg] + [pkg.without(iso, COUNTRIES, part) for iso in pkg.guarantors() for part in ("all", "aid", "promises")]
    together = compile_(variants)
    for i in data.draw(st.lists(st.integers(0, len(variants) - 1), min_size=1, max_size=3, unique=True)):
        alone = compile_([variants[i]])
        mine = together.el_package == i
        assert [together.guarantors[g] for g in together.el_guarantor[mine]] == [alone.guarantors[g] for g in alone.el_guarantor]
        assert [k for k, m in zip(together.kinds, mine) if m] == alone.kinds
        assert [k for k, m in zip(together.group, mine) if m] == alone.group
        assert [together.patterns[k] for k in together.el_pattern[mine]] == [alone.patterns[k] for k in alone.el_pattern]
        for f in _ELEMENT_FIELDS:
            np.testing.assert_array_equal(getattr(together, f)[mine], getattr(alone, f), err_msg=f"{variants[i].id}: {f}")


@settings(max_examples=150, deadline=None)
@given(n=st.integers(0, 40), d=st.integers(0, 7), top=st.integers(0, 5), seed=st.integers(0, 2**32 - 1),
       kind=st.sampled_from(["counts", "fractions", "negative", "huge", "reals"]))
def test_unique_rows_are_numpys(n, d, top, seed, kind):
    """The classes of lever rows (approval's veto players and form) as
    np.unique(axis=0) finds them, in the same order: rows of small counts
    coded as integers, anything else through NumPy."""
    from foedus.models.by_package import unique_rows

    rng = np.random.default_rng(seed)
    a = rng.integers(0, top + 1, (n, d)).astype(np.float64)
    if kind == "fractions" and a.size:
        a[rng.integers(n), rng.integers(d)] = 0.5
    elif kind == "negative" and a.size:
        a[rng.integers(n), rng.integers(d)] = -1.0
    elif kind == "huge" and a.size:
        a[rng.integers(n), rng.integers(d)] = 2.0**40
    elif kind == "reals" and a.size:  # forces in troop-equivalents: fractions, repeated rows, a negative zero
        a = np.round(rng.normal(size=(n, d)) * 3, 1)[rng.integers(0, max(n // 2, 1), n)]
        a[rng.integers(n), rng.integers(d)] = -0.0
    uniq, inverse = unique_rows(a)
    np.testing.assert_array_equal(uniq[inverse], a)
    if n and d:
        want, want_inv = np.unique(a, axis=0, return_inverse=True)
        np.testing.assert_array_equal(uniq, want)
        np.testing.assert_array_equal(inverse, want_inv.reshape(-1))
    assert len({tuple(r) for r in uniq}) == uniq.shape[0]


@settings(max_examples=100, deadline=None)
@given(n=st.integers(0, 40), d=st.integers(1, 5), top=st.integers(0, 4), seed=st.integers(0, 2**32 - 1))
def test_classes_are_numbered_in_order_of_first_occurrence(n, d, top, seed):
    """by_package.classes_in_order against a dictionary filled row by row
    (how the credibility plan numbered its classes before it used NumPy)."""
    from foedus.models.by_package import classes_in_order

    a = np.random.default_rng(seed).integers(0, top + 1, (n, d))
    seen: dict[tuple, int] = {}
    want = [seen.setdefault(tuple(r), len(seen)) for r in a.tolist()]
    cls, first = classes_in_order(a)
    assert cls.tolist() == want
    assert [tuple(a[i]) for i in first] == list(seen)


@settings(max_examples=100, deadline=None)
@given(rows=st.integers(0, 40), width=st.sampled_from([(), (1,), (5,), (2, 3)]), n=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_lever_sums_are_add_at_bit_for_bit(rows, width, n, seed):
    """Levers.sum_rows / sum_packages (one bincount per column) against
    np.add.at, which they replaced: the same sums, to the last bit."""
    from foedus.models.levers import sum_into

    rng = np.random.default_rng(seed)
    index = rng.integers(0, n, rows)
    a = rng.normal(size=(rows,) + width) * 10.0 ** rng.integers(-8, 12, size=(rows,) + width)
    want = np.zeros((n,) + width)
    np.add.at(want, index, a)
    got = sum_into(index, a, n)
    assert got.shape == want.shape and got.tobytes() == want.tobytes()
