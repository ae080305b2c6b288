"""Properties the sub-models promise in their docstrings, checked with
hypothesis over parameter values drawn from their uncertainty ranges
(``ParameterSet.default().uncertain()``) and over levers (guarantor, kind,
legal form, trigger, posture, troops, aircraft, ships, money).

Each property compares packages evaluated together at the same future, so a
failure names the lever change that broke it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from model_helpers import (
    COUNTRIES,
    FORMS,
    GUARANTORS,
    IN_UKRAINE,
    NUCLEAR,
    OUTSIDE_UKRAINE,
    PROBABILITY_METRICS,
    SCENARIOS,
    TRIGGERS,
    approvals,
    commitment,
    commitments,
    compile_,
    kyiv_positions,
    package,
    package_commitments,
    packages,
    parameter_values,
    row_of,
    run,
    troops,
    usd,
)

from foedus.data.loaders import load_package
from foedus.exploration.assess import GUARANTOR_METRICS, PACKAGE_METRICS
from foedus.models.combat import combat
from foedus.models.deterrence import win_probability
from foedus.models.inputs import Inputs
from foedus.models.levers import VETOES

PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

single_guarantor = st.sampled_from(GUARANTORS)
forms = st.sampled_from(FORMS)
triggers = st.sampled_from(TRIGGERS)


def _le(a, b, rel=1e-12):
    """a <= b up to rounding, elementwise."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.all(a <= b + rel * np.maximum(np.abs(b), 1e-300) + 1e-15)


# --------------------------------------------------------------- credibility


@PROPERTY
@given(vals=parameter_values(), data=st.data(), others=package_commitments(min_size=0, max_size=3))
def test_treaty_at_least_executive_agreement_at_least_declaration(vals, data, others):
    c = data.draw(commitments(allow_groups=False))
    g = c["guarantor"]
    versions = [[*others, {**c, "legal_form": f}] for f in FORMS]  # treaty, CEA, executive, declaration
    lv, ev = run(packages(*versions), vals, detail=True)
    cred = ev.rows["credibility"][:, 0]
    chain = [cred[row_of(lv, i, g)] for i in range(len(FORMS))]
    assert chain[0] >= chain[1] >= chain[2] >= chain[3], chain
    attack = ev.packages["attack_probability"][:, 0]
    assert all(_le(attack[i], attack[i + 1]) for i in range(len(FORMS) - 1)), attack


@PROPERTY
@given(vals=parameter_values(), comms=package_commitments(allow_groups=False), data=st.data())
def test_zero_will_gives_zero_credibility(vals, comms, data):
    guarantors = sorted({c["guarantor"] for c in comms})
    g = data.draw(st.sampled_from(guarantors))
    vals[f"will.{g}"] = 0.0  # also for a country that otherwise falls back on will.default
    lv, ev = run([package(comms)], vals, detail=True)
    assert ev.rows["credibility"][row_of(lv, 0, g), 0] == 0.0


@PROPERTY
@given(vals=parameter_values(), comms=package_commitments())
def test_no_will_anywhere_is_ukraine_alone(vals, comms):
    """With every guarantor's will at 0 a package deters exactly as much as
    consultations that promise nothing: Ukraine alone."""
    for k in list(vals):
        if k.startswith("will."):
            vals[k] = 0.0
    alone = [commitment("USA", "consultation", "political_declaration", "discretionary")]
    _, ev = run(packages(comms, alone), vals, detail=True)
    assert np.all(ev.rows["credibility"] == 0.0)
    for m in ("attack_probability", "defender_strength", "defence_holds_probability"):
        np.testing.assert_allclose(ev.packages[m][0], ev.packages[m][1], rtol=1e-12, err_msg=m)
    np.testing.assert_array_equal(ev.packages["humanitarian_coverage"][0], 0.0)


@PROPERTY
@given(
    vals=parameter_values(),
    others=package_commitments(min_size=0, max_size=3),
    g=single_guarantor,
    kind=st.sampled_from(["deployed_ground_force", "training"]),
    posture=st.sampled_from(IN_UKRAINE + OUTSIDE_UKRAINE),
    t=troops,
    more=st.integers(1, 60_000),
    form=forms,
    trigger=triggers,
)
def test_more_tripwire_troops_never_lower_credibility(vals, others, g, kind, posture, t, more, form, trigger):
    few = commitment(g, kind, form, trigger, posture=posture, troops=t)
    many = {**few, "troops": t + more}
    lv, ev = run(packages([*others, few], [*others, many]), vals, detail=True)
    cred = ev.rows["credibility"][:, 0]
    c_few, c_many = cred[row_of(lv, 0, g)], cred[row_of(lv, 1, g)]
    assert c_many >= c_few
    if posture in OUTSIDE_UKRAINE and not any(o["guarantor"] == g and o.get("posture") in IN_UKRAINE for o in others):
        assert c_many == c_few  # troops outside Ukraine tie no hands
    attack = ev.packages["attack_probability"][:, 0]
    assert _le(attack[1], attack[0])


# ---------------------------------------------------------------- deterrence


@PROPERTY
@given(vals=parameter_values(), base=package_commitments(), extra=commitments())
def test_adding_a_guarantor_never_raises_attack_probability(vals, base, extra):
    _, ev = run(packages(base, [*base, extra]), vals)
    p = ev.packages
    assert _le(p["attack_probability"][1], p["attack_probability"][0])
    assert _le(p["annual_attack_probability"][1], p["annual_attack_probability"][0])
    assert _le(p["defender_strength"][0], p["defender_strength"][1])
    assert _le(p["defence_holds_probability"][0], p["defence_holds_probability"][1])


def _two_sorted(lo, hi):
    return st.tuples(st.floats(lo, hi), st.floats(lo, hi)).map(sorted)


@PROPERTY
@given(
    vals=parameter_values(),
    comms=package_commitments(),
    ukraine=_two_sorted(500_000, 900_000),
    resolve=_two_sorted(0.5, 3.0),
    adversary=_two_sorted(500_000, 900_000),
)
def test_context_moves_attack_probability_the_documented_way(vals, comms, ukraine, resolve, adversary):
    pk = [package(comms)]
    lv = compile_(pk)
    for name, pair, direction in (
        ("deterrence.ukraine_forces", ukraine, -1),  # more Ukrainian forces never raise it
        ("deterrence.resolve", resolve, +1),  # a more resolute adversary never lowers it
        ("deterrence.adversary_forces", adversary, +1),  # nor a larger adversary army
    ):
        v = dict(vals)
        v[name] = np.array(pair)
        _, ev = run(lv, v, n=2)
        a = ev.packages["attack_probability"][0]
        if direction < 0:
            assert _le(a[1], a[0]), (name, pair, a)
        else:
            assert _le(a[0], a[1]), (name, pair, a)


@PROPERTY
@given(
    R=st.floats(500_000, 900_000),
    k=st.floats(1.01, 3.0),
    decisiveness=st.floats(1.0, 2.0),
    attack=st.floats(0.0, 1.0),
)
def test_symmetric_forces_favour_the_defender(R, k, decisiveness, attack):
    x = Inputs(
        {
            "deterrence.adversary_forces": R,
            "deterrence.defender_advantage": k,
            "deterrence.decisiveness": decisiveness,
            "combat.attacker_loss_rate": 0.00086,
            "combat.campaign_days": 180,
        },
        1,
    )
    D = np.array([[R]])  # the defender as strong as the adversary
    p_win = win_probability(D, x)
    assert p_win[0, 0] < 0.5
    holds = combat(D, p_win, np.array([[attack]]), x)["defence_holds_probability"]
    assert holds[0, 0] > 0.5
    # and with no defender's advantage the contest is even
    even = Inputs({**{k_: x[k_] for k_ in x}, "deterrence.defender_advantage": 1.0}, 1)
    assert win_probability(D, even)[0, 0] == pytest.approx(0.5, abs=1e-15)


# --------------------------------------------------------------------- forces


def _doubled(c: dict) -> dict:
    out = dict(c)
    for k in ("troops", "aircraft", "ships"):
        if k in out:
            out[k] = 2 * out[k]
    return out


@PROPERTY
@given(vals=parameter_values(), comms=package_commitments())
def test_pool_at_least_deployed_and_linear(vals, comms):
    lv, ev = run(packages(comms, [_doubled(c) for c in comms]), vals, detail=True)
    rows = ev.rows
    assert np.all(rows["troops_required_pool"] >= rows["troops_deployed"])
    pool = ev.packages["troops_required_pool"][:, 0]
    dep = ev.packages["troops_deployed"][:, 0]
    assert np.all(pool >= dep)
    np.testing.assert_allclose(pool[1], 2.0 * pool[0], rtol=1e-12)
    np.testing.assert_allclose(dep[1], 2.0 * dep[0], rtol=1e-12)


# ---------------------------------------------------------------------- costs


@PROPERTY
@given(vals=parameter_values(), comms=package_commitments(), extra=package_commitments(min_size=1, max_size=2))
def test_cost_shares_and_percent_of_gdp(vals, comms, extra):
    lv, ev = run(packages(comms, extra), vals, detail=True)
    r = ev.rows
    gdp = np.array([COUNTRIES[g].gdp_usd.value for g in lv.row_guarantor_iso3()])
    np.testing.assert_allclose(r["cost_pct_gdp"][:, 0], r["cost_usd_per_year"][:, 0] / gdp, rtol=1e-12)
    np.testing.assert_allclose(
        r["total_defence_pct_gdp"][:, 0],
        np.array([COUNTRIES[g].defence_pct_gdp.value for g in lv.row_guarantor_iso3()]) + r["cost_pct_gdp"][:, 0],
        rtol=1e-12,
    )
    for p in range(lv.n_packages):
        rows = lv.row_package == p
        cost = r["cost_usd_per_year"][rows, 0]
        assert np.all(cost >= 0)
        if cost.sum() > 0:
            assert math.isclose(r["burden_share"][rows, 0].sum(), 1.0, rel_tol=1e-12)
        assert math.isclose(r["gdp_share"][rows, 0].sum(), 1.0, rel_tol=1e-12)


@PROPERTY
@given(
    vals=parameter_values(),
    others=package_commitments(min_size=0, max_size=3),
    g=single_guarantor,
    kind=st.sampled_from(["deployed_ground_force", "training", "air_defence"]),
    posture=st.sampled_from(IN_UKRAINE + OUTSIDE_UKRAINE),
    t=troops,
    more=st.integers(1, 60_000),
)
def test_cost_grows_with_troops(vals, others, g, kind, posture, t, more):
    few = commitment(g, kind, posture=posture, troops=t)
    many = {**few, "troops": t + more}
    lv, ev = run(packages([*others, few], [*others, many]), vals, detail=True)
    total = ev.packages["total_cost_usd_per_year"][:, 0]
    assert total[1] > total[0]
    cost = ev.rows["cost_usd_per_year"][:, 0]
    assert cost[row_of(lv, 1, g)] > cost[row_of(lv, 0, g)]
    assert _le(ev.packages["max_cost_pct_gdp"][0, 0], ev.packages["max_cost_pct_gdp"][1, 0])


# ------------------------------------------------------------------- approval


@PROPERTY
@given(vals=parameter_values(), comms=package_commitments(), data=st.data())
def test_listing_more_approvals_never_raises_approval(vals, comms, data):
    i = data.draw(st.integers(0, len(comms) - 1))
    added = data.draw(st.lists(approvals, min_size=1, max_size=4, unique=True))
    more = [dict(c) for c in comms]
    more[i]["approvals"] = sorted(set(more[i].get("approvals", [])) | set(added))
    _, ev = run(packages(comms, more), vals)
    p = ev.packages
    assert _le(p["approval_probability"][1], p["approval_probability"][0])
    assert _le(p["ratification_probability"][1], p["ratification_probability"][0])
    np.testing.assert_allclose(p["in_force_share"][1], p["in_force_share"][0], rtol=1e-12)


@PROPERTY
@given(
    vals=parameter_values(),
    g=single_guarantor,
    form=forms,
    base_kind=st.sampled_from(["consultation", "military_aid", "mutual_defence", "sanctions_snapback"]),
    money=usd,
    kind=st.sampled_from(["deployed_ground_force", "training", "air_defence"]),
    posture=st.sampled_from(IN_UKRAINE + OUTSIDE_UKRAINE),
    t=troops,
    kyiv=kyiv_positions,
)
def test_a_commitment_that_adds_a_veto_never_raises_approval(vals, g, form, base_kind, money, kind, posture, t, kyiv):
    """One guarantor, so its row carries the whole package whatever it costs;
    the added armed commitment has the same legal form, so only the veto
    players change (Bundestag, Art. 35, Commons, national parliaments).
    (With several guarantors an added commitment also shifts the approval
    weights, which blend cost and GDP shares, towards its guarantor, and can
    raise approval if that guarantor's share is more durable.)"""
    base = commitment(g, base_kind, form, "discretionary", **({"usd_per_year": money} if base_kind == "military_aid" else {}))
    armed = commitment(g, kind, form, "discretionary", posture=posture, troops=t)
    pk = [package([base], id="base", kyiv=kyiv), package([base, armed], id="armed", kyiv=kyiv)]
    lv, ev = run(pk, vals)
    a = ev.packages["approval_probability"][:, 0]
    r = ev.packages["ratification_probability"][:, 0]
    assert _le(a[1], a[0]) and _le(r[1], r[0])
    new = set(lv.approvals_by_package[1]) - set(lv.approvals_by_package[0])
    if new:  # a new veto player with a probability below 1 lowers it strictly
        assert {v for v, _ in new} <= set(VETOES)
        assert a[1] < a[0] and r[1] < r[0]
    else:
        assert a[1] == pytest.approx(a[0], rel=1e-12)


@PROPERTY
@given(
    vals=parameter_values(),
    form=forms,
    others=package_commitments(min_size=0, max_size=3),
    group=st.sampled_from(["NATO", "EU"]),
    collective=st.sampled_from(["consultation", "sanctions_snapback"]),
)
def test_a_package_in_one_legal_form_stays_in_force_as_that_form(vals, form, others, group, collective):
    """in_force_share averages (1 - revocation[form])**horizon over rows with
    weights summing to 1: one form throughout gives exactly its survival,
    also for groups (every member of NATO or the EU is bound in that form,
    even where the group acts as one, as for sanctions and consultation)."""
    comms = [{**c, "legal_form": form} for c in [commitment(group, collective), *others]]
    _, ev = run([package(comms)], vals)
    survive = (1.0 - vals[f"approval.revocation_per_year.{form}"]) ** vals["assessment.horizon_years"]
    assert ev.packages["in_force_share"][0, 0] == pytest.approx(survive, rel=1e-12)


def _nato_members() -> list[str]:
    return [k for k, c in COUNTRIES.countries.items() if c.nato_member.value]


@FEW
@given(vals=parameter_values())
def test_nato_membership_needs_every_member(vals):
    """Ratification of NATO membership is the product of all members'
    consent; approval adds Kyiv's acceptance and treaty survival."""
    seed = load_package(next(p for p in SCENARIOS if p.name == "nato.yaml"), COUNTRIES)
    built = package([commitment("NATO", "mutual_defence", "ratified_treaty", "automatic")], id="built", kyiv="demanded")
    _, ev = run([seed, built], vals)
    consent = math.prod(vals.get(f"approval.nato_consent.{m}", vals["approval.nato_consent.default"]) for m in _nato_members())
    assert len(_nato_members()) == 32
    survive = (1.0 - vals["approval.revocation_per_year.ratified_treaty"]) ** vals["assessment.horizon_years"]
    for p in range(2):
        assert ev.packages["ratification_probability"][p, 0] == pytest.approx(consent, rel=1e-12)
        assert ev.packages["approval_probability"][p, 0] == pytest.approx(vals["approval.kyiv.demanded"] * consent * survive, rel=1e-12)


# ----------------------------------------------------------------- escalation


@PROPERTY
@given(
    vals=parameter_values(),
    g=st.sampled_from(NUCLEAR + ["DEU", "POL", "NLD"]),
    t=troops,
    form=forms,
    trigger=triggers,
    roe=st.sampled_from(["self_defence", "protection", "combat"]),
)
def test_contact_line_is_riskier_than_western_ukraine(vals, g, t, form, trigger, roe):
    """The same troops carry more incident risk, and less acceptance, at the
    contact line. (escalation_risk also holds the war path, attack x nuclear
    guarantor fights, and forward troops deter more: in corners of the ranges
    - short decisive window, resolve near 3, large forces - the total can be
    lower at the contact line, so the test bounds it by the incident path.)"""
    west = commitment(g, "deployed_ground_force", form, trigger, posture="western_ukraine", troops=t, rules_of_engagement=roe)
    front = {**west, "posture": "contact_line"}
    _, ev = run(packages([west], [front]), vals)
    p = ev.packages
    assert p["adversary_acceptance"][1, 0] < p["adversary_acceptance"][0, 0]
    if g in NUCLEAR:  # incidents between nuclear powers
        assert p["incident_probability"][1, 0] > p["incident_probability"][0, 0]
        assert np.all(p["escalation_risk"][:, 0] >= p["incident_probability"][:, 0])
    else:
        assert p["incident_probability"][0, 0] == p["incident_probability"][1, 0] == 0.0


@pytest.mark.parametrize("g", ["GBR", "FRA"])
@pytest.mark.parametrize("t", [500, 5_000, 20_000, 60_000])
def test_contact_line_raises_escalation_risk_at_the_central_values(g, t):
    west = commitment(g, "deployed_ground_force", posture="western_ukraine", troops=t)
    front = {**west, "posture": "contact_line"}
    _, ev = run(packages([west], [front]))
    risk = ev.packages["escalation_risk"][:, 0]
    assert risk[1] > risk[0]


# --------------------------------------------------------------- humanitarian


@PROPERTY
@given(
    vals=parameter_values(),
    others=package_commitments(min_size=0, max_size=3),
    g=single_guarantor,
    kind=st.sampled_from(["humanitarian_aid", "reconstruction_aid"]),
    money=usd,
    more=usd,
    form=forms,
    trigger=triggers,
)
def test_more_funding_never_lowers_humanitarian_coverage(vals, others, g, kind, money, more, form, trigger):
    others = others or [commitment("USA", "consultation")]
    c = commitment(g, kind, form, trigger, usd_per_year=money)
    _, ev = run(packages(others, [*others, c], [*others, {**c, "usd_per_year": money + more}]), vals)
    cov = ev.packages["humanitarian_coverage"][:, 0]
    assert _le(cov[0], cov[1]) and _le(cov[1], cov[2])


# -------------------------------------------------------- ranges and leakage


@PROPERTY
@given(
    vals=parameter_values(),
    pkgs=st.lists(package_commitments(), min_size=1, max_size=3),
    zero=st.sampled_from([None] + [f"approval.{v}" for v in VETOES] + ["approval.nato_consent.USA"]),
)
def test_probabilities_are_probabilities(vals, pkgs, zero):
    if zero is not None:  # a veto player that never approves is a legitimate input
        vals[zero] = 0.0
    lv, ev = run(packages(*pkgs), vals, detail=True)
    for m in PACKAGE_METRICS:
        assert np.all(np.isfinite(ev.packages[m])), m
        assert np.all(ev.packages[m] >= 0), m
    for m in PROBABILITY_METRICS:
        assert np.all(ev.packages[m] <= 1.0), m
    for m in ("credibility", "approval", "burden_share", "gdp_share"):
        v = ev.rows[m]
        v = v[np.isfinite(v)] if m == "burden_share" else v  # no share of a package that costs nothing
        assert np.all((v >= 0) & (v <= 1.0 + 1e-12)), m
    for m in GUARANTOR_METRICS:
        if m not in ("capacity_ratio", "burden_share") and not m.startswith("headroom"):
            assert np.all(np.isfinite(ev.rows[m])), m


@FEW
@given(vals=parameter_values(), a=package_commitments(), b=package_commitments())
def test_a_package_does_not_depend_on_what_it_is_compared_with(vals, a, b):
    _, alone = run([package(a, id="a")], vals, detail=True)
    _, first = run([package(a, id="a"), package(b, id="b")], vals)
    _, second = run([package(b, id="b"), package(a, id="a")], vals)
    for m in PACKAGE_METRICS:
        ref = alone.packages[m][0]
        np.testing.assert_allclose(first.packages[m][0], ref, rtol=1e-9, atol=1e-12, err_msg=m)
        np.testing.assert_allclose(second.packages[m][1], ref, rtol=1e-9, atol=1e-12, err_msg=m)
