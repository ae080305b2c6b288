"""The assessment on the twelve seed packages: orderings the defaults must
show, the effect of a US withdrawal, one code path for one and many futures,
the labelled xarray output of assess(), and bit-for-bit reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from model_helpers import SCENARIOS, central, compile_, parameter_set, row_of, sample_values, scenarios

from foedus.exploration.assess import GUARANTOR_METRICS, PACKAGE_METRICS, assess, central_weights, evaluate, make_inputs
from foedus.models.inputs import Inputs

#: Packages with a US commitment that adds combat power, aid, intelligence, training or monitoring.
WITH_US = ("coalition-backstop", "tailored", "treaty", "nato", "paris-declaration", "us-guarantee", "paris-plus-us",
           "europe-replaces-us")  # the last: US-led monitoring by declaration until 2028
#: Packages in which the US promises nothing that acts (no US row, or consultation only).
WITHOUT_US = ("coalition-100k", "european-nuclear", "regional", "status-quo")


@pytest.fixture(scope="module")
def seeds():
    return scenarios()


def _evaluate(pkgs, ps=None, detail=True):
    ps = ps or parameter_set()
    lv = compile_(pkgs)
    x = make_inputs(ps)
    return lv, evaluate(lv, x, float(ps.values()["assessment.horizon_years"]), detail=detail)


def test_the_seeds_are_the_expected_twelve(seeds):
    assert sorted(p.id for p in seeds) == sorted(WITH_US + WITHOUT_US)


def test_every_seed_deters_at_least_as_well_as_the_status_quo(seeds):
    lv, ev = _evaluate(seeds)
    attack = dict(zip(lv.package_ids, ev.packages["attack_probability"][:, 0]))
    for pid, a in attack.items():
        assert a <= attack["status-quo"], pid


def test_a_us_withdrawal(seeds):
    """will.USA = 0: US instruments lose all credibility and delivery;
    packages that rely on the US for power, aid or intelligence become more
    likely to be attacked; packages without it do not move."""
    ps = parameter_set()
    lv, base = _evaluate(seeds, ps)
    lv0, gone = _evaluate(seeds, ps.with_overrides({"will.USA": 0.0}))
    assert lv0.package_ids == lv.package_ids
    us = lv0.guarantors.index("USA")
    us_rows = lv0.q_guarantor == us
    us_elements = lv0.el_guarantor == us
    assert us_rows.any()
    for m in ("credibility", "delivery"):
        assert np.all(gone.elements[m][us_elements] == 0.0), m
        assert np.all(base.elements[m][us_elements & (lv0.promise if m == "credibility" else True)] > 0.0), m
    assert np.all(gone.rows["credibility"][us_rows] == 0.0)
    a0 = base.packages["attack_probability"][:, 0]
    a1 = gone.packages["attack_probability"][:, 0]
    for pid in WITH_US:
        i = lv.package_ids.index(pid)
        assert a1[i] > a0[i], pid
        row_of(lv, i, "USA")  # it has a US row
    for pid in WITHOUT_US:
        i = lv.package_ids.index(pid)
        assert a1[i] == pytest.approx(a0[i], rel=1e-12, abs=1e-15), pid
    # other guarantors keep their credibility
    np.testing.assert_array_equal(gone.rows["credibility"][~us_rows], base.rows["credibility"][~us_rows])


def test_ranges_are_ordered_seeded_and_around_the_sampled_futures(seeds):
    from foedus.data.loaders import load_countries
    from foedus.exploration.compare import RANGE_PERCENTILES, comparison

    ps = parameter_set()
    a = comparison(seeds, ps, load_countries(), futures=200, seed=4)
    b = comparison(seeds, ps, load_countries(), futures=200, seed=4)
    c = comparison(seeds, ps, load_countries(), futures=200, seed=5)
    assert a["ranges"] == {"futures": 200, "seed": 4, "sampler": "lhs", "percentiles": list(RANGE_PERCENTILES)}
    assert [p["ranges"] for p in a["packages"]] == [p["ranges"] for p in b["packages"]]
    assert [p["ranges"] for p in a["packages"]] != [p["ranges"] for p in c["packages"]]
    for p in a["packages"]:
        for m, r in p["ranges"].items():
            if r["p5"] is not None:
                assert r["p5"] <= r["p50"] <= r["p95"], (p["id"], m)


def test_a_guarantors_worth_is_the_package_evaluated_without_it(seeds):
    from foedus.data.loaders import load_countries
    from foedus.exploration.compare import comparison

    countries = load_countries()
    backstop = next(p for p in seeds if p.id == "coalition-backstop")
    res = comparison([backstop], parameter_set(), countries, futures=0)
    (us,) = [g for g in res["packages"][0]["guarantors"] if g["iso3"] == "USA"]
    no_us = backstop.model_copy(update={"commitments": [c for c in backstop.commitments if c.guarantor != "USA"]})
    lv, ev = _evaluate([no_us])
    assert us["attack_probability_without"] == pytest.approx(ev.packages["attack_probability"][0, 0], rel=1e-12)
    assert us["approval_probability_without"] == pytest.approx(ev.packages["approval_probability"][0, 0], rel=1e-12)


def test_one_future_is_future_zero_of_many_identical_futures(seeds):
    """The central case (n = 1) and a run whose futures all equal the central
    values take the same code path and give the same numbers."""
    ps = parameter_set()
    vals = ps.values()
    lv = compile_(seeds)
    h = float(vals["assessment.horizon_years"])
    one = evaluate(lv, Inputs(vals, 1), h, detail=True)
    n = 5
    many_vals = {**vals, **{k: np.full(n, vals[k]) for k in ps.uncertain()}}
    many = evaluate(lv, Inputs(many_vals, n), h, weights=central_weights(lv, Inputs(vals, 1)), detail=True)
    assert many.n == n
    for m in PACKAGE_METRICS:
        assert many.packages[m].shape == (lv.n_packages, n)
        np.testing.assert_allclose(many.packages[m][:, 0], one.packages[m][:, 0], rtol=1e-12, atol=1e-300, err_msg=m)
        np.testing.assert_allclose(many.packages[m], np.repeat(many.packages[m][:, :1], n, axis=1), rtol=1e-12, atol=1e-300, err_msg=m)
    for m in GUARANTOR_METRICS:
        np.testing.assert_allclose(many.rows[m][:, 0], one.rows[m][:, 0], rtol=1e-12, atol=1e-300, equal_nan=True, err_msg=m)


def test_assess_returns_a_labelled_dataset():
    n = 6
    ps = parameter_set()
    futures = {k: v for k, v in sample_values(ps, n, seed=3).items() if k in ps.uncertain()}
    ds = assess([str(p) for p in SCENARIOS], futures)
    P = len(SCENARIOS)
    assert dict(ds.sizes)["package"] == P and dict(ds.sizes)["future"] == n
    assert ds["attack_probability"].dims == ("package", "future")
    assert ds["credibility"].dims == ("package", "guarantor", "future")
    assert set(PACKAGE_METRICS) <= set(ds.data_vars)
    assert "USA" in list(ds["guarantor"].values)
    assert sorted(ds["package"].values) == sorted(p.stem for p in SCENARIOS)
    # the guarantor view is NaN where a guarantor is not in the package
    cred = ds["credibility"].sel(package="coalition-100k", guarantor="USA")
    assert np.all(np.isnan(cred.values))
    assert np.all(np.isfinite(ds["credibility"].sel(package="treaty", guarantor="USA").values))
    # same numbers as the vectorised core
    lv = compile_(scenarios())
    ev = evaluate(lv, make_inputs(ps, futures), ds.attrs["horizon_years"], weights=central_weights(lv, make_inputs(ps)))
    for m in ("attack_probability", "approval_probability", "total_cost_usd_per_year"):
        got = ds[m].sel(package=lv.package_ids).values
        np.testing.assert_allclose(got, ev.packages[m], rtol=1e-12, atol=1e-300, err_msg=m)
    # to pandas
    df = ds[list(PACKAGE_METRICS)].to_dataframe()
    assert list(df.index.names) == ["package", "future"]
    assert len(df) == P * n
    assert set(PACKAGE_METRICS) <= set(df.columns)
    gdf = ds[["credibility", "cost_usd_per_year"]].to_dataframe()
    assert list(gdf.index.names) == ["package", "guarantor", "future"]
    assert len(gdf) == P * ds.sizes["guarantor"] * n


def test_assess_at_the_central_values_is_compare(seeds):
    ds = assess(seeds)  # packages as objects, one future
    lv, ev = _evaluate(seeds)
    assert ds.sizes["future"] == 1
    for m in PACKAGE_METRICS:
        np.testing.assert_array_equal(ds[m].sel(package=lv.package_ids).values, ev.packages[m], err_msg=m)


def test_evaluate_is_reproducible_bit_for_bit(seeds):
    ps = parameter_set()
    vals = sample_values(ps, 32, seed=5)
    runs = []
    for _ in range(2):
        lv = compile_(scenarios())
        w = central_weights(lv, Inputs(central(), 1))
        runs.append(evaluate(lv, Inputs(vals, 32), 10.0, weights=w, detail=True))
    a, b = runs
    for m in PACKAGE_METRICS:
        assert a.packages[m].tobytes() == b.packages[m].tobytes(), m
    for m in GUARANTOR_METRICS:
        assert a.rows[m].tobytes() == b.rows[m].tobytes(), m
    # and evaluating the same levers twice (with warm caches) changes nothing
    lv = compile_(seeds)
    first = evaluate(lv, make_inputs(ps), 10.0)
    second = evaluate(lv, make_inputs(ps), 10.0)
    for m in PACKAGE_METRICS:
        assert first.packages[m].tobytes() == second.packages[m].tobytes(), m


# ------------------------------------------- bugs found while building v2


def test_removing_an_eu_member_keeps_the_unanimity_vote():
    """``Package.without`` put the removed member in ``except``, which the
    compiler reads as enhanced cooperation: the EU unanimity vote vanished
    and approval without Luxembourg rose by 1/eu_unanimity. The member's
    money goes; the unanimous vote the instrument needed stays."""
    from model_helpers import COUNTRIES, commitment, package

    from foedus.exploration.compare import worth_of_guarantors

    pk = package([commitment("EU", "reconstruction_aid", usd_per_year=1e9), commitment("GBR", "military_aid", usd_per_year=1e9)])
    ps = parameter_set().with_overrides({"approval.eu_unanimity": 0.01})
    lv, ev = _evaluate([pk], ps, detail=False)
    full = ev.packages["approval_probability"][0, 0]
    assert full <= 0.01
    worth = worth_of_guarantors([pk], ps, COUNTRIES, float(ps.values()["assessment.horizon_years"]))
    without_lux = worth[(0, "LUX", "all")]["approval_probability"]
    assert without_lux <= 0.01
    # an exception written in the package is still enhanced cooperation
    stays_out = package([commitment("EU", "reconstruction_aid", usd_per_year=1e9, **{"except": ["HUN"]}), commitment("GBR", "military_aid", usd_per_year=1e9)])
    _, ev2 = _evaluate([stays_out], ps, detail=False)
    assert ev2.packages["approval_probability"][0, 0] > 0.1


def test_a_guarantors_approval_counts_each_veto_player_once():
    """The per-guarantor approval multiplied over the guarantor's
    instruments, so a veto player two instruments need (the Bundestag for
    German troops and German air power) counted twice."""
    from model_helpers import commitment, package

    troops = commitment("DEU", "deployed_ground_force", "executive_agreement", "after_consultation", posture="western_ukraine", troops=5000, rules_of_engagement="protection")
    jets = commitment("DEU", "air_power", "ratified_treaty", "automatic", posture="western_ukraine", aircraft=12)
    ps = parameter_set()
    lv, ev = _evaluate([package([troops, jets]), package([troops])], ps)
    both, one = (ev.rows["approval"][row_of(lv, i, "DEU"), 0] for i in (0, 1))
    mandate = ps.values()["approval.bundestag_mandate"]
    assert mandate < 1
    assert one == pytest.approx(mandate)
    assert both == pytest.approx(one)


def test_attack_and_approval_are_evaluates_for_every_seed_without_each_guarantor(seeds):
    """What a comparison asks of the packages without each guarantor comes
    from deterrence and approval alone (assess.attack_and_approval): the
    same bits as the whole evaluation, for the variants of every seed, at
    the defaults and with the US's will moved."""
    from foedus.data.loaders import load_countries
    from foedus.exploration.assess import attack_and_approval
    from foedus.exploration.compare import _build_variants

    keys, lw, _ = _build_variants(seeds, load_countries())
    assert len(keys) > 100
    for ps in (parameter_set(), parameter_set().with_overrides({"will.USA": 0.2}, "test")):
        x = make_inputs(ps)
        full = evaluate(lw, x, 10.0)
        got = attack_and_approval(lw, x, 10.0)
        for m in ("attack_probability", "approval_probability"):
            assert np.array_equal(got[m], full.packages[m]), m
        assert len(np.unique(got["attack_probability"])) > 10  # the variants differ: the check compares something
