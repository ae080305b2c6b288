"""CredSums (foedus.models.sums) computes per-package sums and products of
credibility-weighted row quantities by small matrix products over
credibility classes. Checked here against the explicit row-by-row
evaluation on the eight seed scenarios and random packages, at the central
values and in random futures; and the package-level totals of ``evaluate``
against the sums of its per-row detail.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model_helpers import central, compile_, package_commitments, packages, parameter_set, sample_values, scenarios

from foedus.exploration.assess import evaluate
from foedus.models.credibility import credibility
from foedus.models.deterrence import escalation_cost, sanctions_cost
from foedus.models.inputs import Inputs
from foedus.models.sums import CredSums

N = 64
REL = 1e-9


@pytest.fixture(scope="module")
def seeds():
    return compile_(scenarios())


def _futures(seed: int = 7) -> Inputs:
    return Inputs(sample_values(parameter_set(), N, seed), N)


def _inputs():
    return [("central", Inputs(central(), 1)), ("random", _futures())]


def _close(actual, expected, what=""):
    expected = np.broadcast_to(expected, actual.shape)
    scale = max(float(np.max(np.abs(expected))), 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=REL, atol=REL * scale, err_msg=what)


def _row_quantities(lv, rng):
    return {
        "ones": np.ones(lv.n_rows),
        "aid_bn": lv.aid_usd / 1e9,
        "trainers": lv.trainers.sum(axis=1),
        "ground_contact_line": lv.ground[:, -1],
        "mutual_defence_active": lv.mutual_defence * lv.row_values(lv.active),
        "money": lv.humanitarian_usd + lv.reconstruction_usd,
        "random": rng.normal(size=lv.n_rows),
    }


def _explicit_any_of(lv, cred, flag, e=None):
    """1 - prod over flagged rows of (1 - cred * e), one package at a time."""
    e = np.ones(cred.shape) if e is None else np.broadcast_to(e, cred.shape)
    out = np.zeros((lv.n_packages, cred.shape[1]))
    for p in range(lv.n_packages):
        prod = np.ones(cred.shape[1])
        for k in np.nonzero((lv.row_package == p) & flag)[0]:
            prod = prod * (1.0 - np.minimum(cred[k] * e[k], 1.0))
        out[p] = 1.0 - prod
    return out


def _flags(lv, rng):
    nuclear = lv.row_values(lv.nuclear)
    return {
        "intel": lv.intel,
        "snapback": lv.snapback,
        "nuclear_combat": nuclear & lv.combat,
        "umbrella_or_nuclear_combat": lv.umbrella | (nuclear & lv.combat),
        "in_ukraine": (lv.ground + lv.trainers)[:, 2:].sum(axis=1) > 0,
        "none": np.zeros(lv.n_rows, dtype=bool),
        "random": rng.random(lv.n_rows) < 0.3,
    }


# ----------------------------------------------------------------- scenarios


@pytest.mark.parametrize("which", ["central", "random"])
def test_sum_equals_explicit_row_sum_on_the_seeds(seeds, which):
    lv = seeds
    x = dict(_inputs())[which]
    cs = CredSums(lv, x)
    cred = credibility(lv, x)
    rng = np.random.default_rng(1)
    qs = _row_quantities(lv, rng)
    for name, v in qs.items():
        _close(cs.sum(v), lv.sum_rows(cred * v[:, None]), name)
    V = np.stack(list(qs.values()), axis=1)
    S = cs.sums(V, key="test-stack")
    for j, (name, v) in enumerate(qs.items()):
        _close(S[j], lv.sum_rows(cred * v[:, None]), f"sums[{name}]")
    _close(cs.rows(np.arange(lv.n_rows)), cred, "rows")


@pytest.mark.parametrize("which", ["central", "random"])
def test_any_of_equals_explicit_product_on_the_seeds(seeds, which):
    lv = seeds
    x = dict(_inputs())[which]
    cs = CredSums(lv, x)
    cred = np.broadcast_to(credibility(lv, x), (lv.n_rows, x.n))
    for name, flag in _flags(lv, np.random.default_rng(2)).items():
        _close(cs.any_of(flag), _explicit_any_of(lv, cred, flag), name)


@pytest.mark.parametrize("which", ["central", "random"])
def test_escalation_and_sanctions_costs_are_the_documented_products(seeds, which):
    """E = cost * (1 - prod(1 - cred * e)), e = 1 for an umbrella and the
    nuclear shadow for a nuclear state's other combat commitments; S alike
    over sanctions snapbacks."""
    lv = seeds
    x = dict(_inputs())[which]
    cs = CredSums(lv, x)
    cred = np.broadcast_to(credibility(lv, x), (lv.n_rows, x.n))
    nuclear = lv.row_values(lv.nuclear)
    e = np.where(lv.umbrella[:, None], 1.0, np.broadcast_to(x["deterrence.nuclear_shadow"], (x.n,))[None, :])
    expected = x["deterrence.nuclear_escalation_cost"] * _explicit_any_of(lv, cred, lv.umbrella | (nuclear & lv.combat), e)
    _close(escalation_cost(lv, x, cs), expected, "E")
    _close(sanctions_cost(lv, x, cs), x["deterrence.sanctions_cost"] * _explicit_any_of(lv, cred, lv.snapback), "S")


def _check_totals(lv, x, weights=None):
    ev = evaluate(lv, x, 10.0, weights=weights, detail=True)
    r, p = ev.rows, ev.packages
    _close(p["total_cost_usd_per_year"], lv.sum_rows(r["cost_usd_per_year"]), "total cost")
    _close(p["troops_required_pool"], lv.sum_rows(r["troops_required_pool"]), "pool")
    _close(p["troops_deployed"], lv.sum_rows(r["troops_deployed"]), "deployed")
    _close(p["max_cost_pct_gdp"], lv.max_rows(r["cost_pct_gdp"]), "max % of GDP")
    np.testing.assert_array_equal(p["guarantors_short"], lv.sum_rows((r["shortfall"] > 0).astype(float)))


def test_package_totals_equal_row_detail_at_the_central_values(seeds):
    _check_totals(seeds, Inputs(central(), 1))


def test_package_totals_equal_row_detail_in_random_futures(seeds):
    from foedus.exploration.assess import central_weights

    lv = seeds
    _check_totals(lv, _futures(11), weights=central_weights(lv, Inputs(central(), 1)))


def test_evaluating_levers_again_with_other_will_parameters(seeds):
    """Cached class matrices must follow the will.<ISO3> parameters present:
    evaluating the same levers after adding will.NLD gives what freshly
    compiled levers give."""
    lv = seeds
    evaluate(lv, Inputs(central(), 1), 10.0)  # fills the caches
    vals = dict(central(), **{"will.NLD": 0.1, "will.TUR": 0.3})
    again = evaluate(lv, Inputs(vals, 1), 10.0)
    fresh = evaluate(compile_(scenarios()), Inputs(vals, 1), 10.0)
    for m, a in fresh.packages.items():
        np.testing.assert_array_equal(again.packages[m], a, err_msg=m)
    aid = lv.aid_usd / 1e9
    flag = lv.intel | lv.snapback
    for x in (Inputs(central(), 1), Inputs(vals, 1), Inputs(central(), 1)):  # same keys, other classes
        cs = CredSums(lv, x)
        cred = credibility(lv, x)
        _close(cs.sum(aid, key="test-aid"), lv.sum_rows(cred * aid[:, None]), "sum")
        _close(cs.any_of(flag, key="test-flag"), _explicit_any_of(lv, cred, flag), "any_of")


# -------------------------------------------------------------- random packages


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(pkgs=st.lists(package_commitments(), min_size=1, max_size=4), seed=st.integers(0, 2**32 - 1))
def test_sums_and_products_on_random_packages(pkgs, seed):
    lv = compile_(packages(*pkgs))
    x = Inputs(sample_values(parameter_set(), 8, seed), 8)
    cs = CredSums(lv, x)
    cred = np.broadcast_to(credibility(lv, x), (lv.n_rows, x.n))
    rng = np.random.default_rng(seed)
    for name, v in _row_quantities(lv, rng).items():
        _close(cs.sum(v), lv.sum_rows(cred * v[:, None]), name)
    for name, flag in _flags(lv, rng).items():
        _close(cs.any_of(flag), _explicit_any_of(lv, cred, flag), name)
    _check_totals(lv, Inputs(central(), 1))  # n = 1, as in compare
