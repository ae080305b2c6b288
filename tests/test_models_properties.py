"""Properties the sub-models promise in their docstrings, checked with
hypothesis over parameter values drawn from their uncertainty ranges
(``ParameterSet.default().uncertain()``) and over levers (guarantor, kind,
legal form, trigger, posture, troops, aircraft, ships, money).

Each property compares packages evaluated together at the same future, so a
failure names the lever change that broke it.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from numba import njit

from model_helpers import (
    credibility,
    delivery,
    guarantor_fights,
    COUNTRIES,
    FORMS,
    GUARANTORS,
    IN_UKRAINE,
    NUCLEAR,
    PROBABILITY_METRICS,
    SCENARIOS,
    TRIGGERS,
    alone,
    approvals,
    commitment,
    commitments,
    compile_,
    element_of,
    kyiv_positions,
    package,
    package_commitments,
    packages,
    parameter_set,
    parameter_values,
    row_of,
    run,
    troops,
    usd,
)

from foedus.data.loaders import load_package
from foedus.exploration.assess import GUARANTOR_METRICS, PACKAGE_METRICS
from foedus.exploration.compare import worth_of_guarantors
from foedus.models.combat import combat
from foedus.models.compiled import log
from foedus.models.deterrence import win_probability
from foedus.models.inputs import Inputs, stack_rows

PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

single_guarantor = st.sampled_from(GUARANTORS)
forms = st.sampled_from(FORMS)
triggers = st.sampled_from(TRIGGERS)
FIGHT_KINDS = ("mutual_defence", "air_power", "air_defence", "naval_presence")


def _le(a, b, rel=1e-12):
    """a <= b up to rounding, elementwise."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.all(a <= b + rel * np.maximum(np.abs(b), 1e-300) + 1e-15)


def _sized(kind: str, g: str, form: str, trigger: str, n: int = 1000) -> dict:
    extra = {"mutual_defence": {}, "air_power": {"posture": "offshore", "aircraft": 10}, "air_defence": {"posture": "western_ukraine", "troops": n},
             "naval_presence": {"posture": "offshore", "ships": 2}}[kind]
    return commitment(g, kind, form, trigger, **extra)


# --------------------------------------------------------------- credibility


@PROPERTY
@given(vals=parameter_values(), g=single_guarantor, kind=st.sampled_from(FIGHT_KINDS), trigger=triggers, others=package_commitments(min_size=0, max_size=3, allow_groups=False))
def test_treaty_at_least_executive_agreement_at_least_declaration(vals, g, kind, trigger, others):
    """The same promise in a stronger legal form is at least as credible, and
    never raises the attack probability."""
    others = [c for c in others if c["guarantor"] != g]
    pk = [package([_sized(kind, g, f, trigger), *others], id=f"p{i}") for i, f in enumerate(FORMS)]
    lv, ev = run(pk, vals)
    cred = credibility(lv, Inputs(vals, 1))[:, 0]
    c = [cred[element_of(lv, i, g, f, trigger)] for i, f in enumerate(FORMS)]
    assert all(_le(b, a) for a, b in zip(c, c[1:]))
    attack = ev.packages["attack_probability"][:, 0]
    assert all(_le(a, b) for a, b in zip(attack, attack[1:]))


@PROPERTY
@given(vals=parameter_values(), g=single_guarantor, kind=st.sampled_from(FIGHT_KINDS), trigger=triggers, will=st.floats(0.0, 1.0))
def test_a_ratified_automatic_treaty_is_never_less_credible_than_a_declaration_at_any_will(vals, g, kind, trigger, will):
    """Will moves every promise of a guarantor by the same odds factor, so at
    any will, 1 included, the legal forms keep their order; and at will 1 no
    declaration is certain entry into war (v2: comb(p, 1) = 1 erased the
    legal form)."""
    vals = {**vals, f"will.{g}": will}
    pk = [package([_sized(kind, g, f, trigger)], id=f"p{i}") for i, f in enumerate(FORMS)]
    lv, _ = run(pk, vals)
    cred = credibility(lv, Inputs(vals, 1))[:, 0]
    c = [cred[element_of(lv, i, g, f, trigger)] for i, f in enumerate(FORMS)]
    assert all(_le(b, a) for a, b in zip(c, c[1:]))
    assert c[-1] < 1.0


@PROPERTY
@given(vals=parameter_values(), comms=package_commitments(min_size=1, max_size=6), will=st.floats(0.0, 1.0))
def test_no_package_falls_below_the_floor(vals, comms, will):
    """Whatever the promises, terms, aid and will, the yearly hazard never
    falls below the floor no guarantee removes."""
    vals = {**vals, "will.USA": will, "will.default": will}
    _, ev = run([package(comms)], vals)
    assert ev.packages["annual_attack_probability"][0, 0] >= vals["deterrence.floor_hazard"] * (1 - 1e-12)


@PROPERTY
@given(vals=parameter_values(), gs=st.lists(single_guarantor, min_size=1, max_size=8, unique=True), will=st.floats(0.0, 1.0))
def test_pacts_saturate_as_documented(vals, gs, will):
    """n ratified, automatic pacts (no forces, no aid, no terms): the factor
    they put on the hazard above the floor is at least (1 - pact_effect)^n,
    at least 1 - pact_effect for one pact, and the hazard never goes below
    the floor, however many pacts."""
    vals = {**vals, "will.USA": will, "will.default": will}
    pacts = [commitment(g, "mutual_defence", "ratified_treaty", "automatic") for g in gs]
    alone_, with_ = alone(), package(pacts, id="pacts")
    lv, ev = run([alone_, with_], vals, internals=True)
    hr = ev.internals["guarantee_hazard_ratio"][1, 0]
    e = vals["deterrence.pact_effect"]
    assert hr >= (1 - e) ** len(gs) * (1 - 1e-12)
    # the forces of the pacts also count in the local balance: the base hazard is no higher
    assert ev.internals["base_hazard"][1, 0] <= ev.internals["base_hazard"][0, 0] * (1 + 1e-12)
    assert ev.packages["annual_attack_probability"][1, 0] >= vals["deterrence.floor_hazard"] * (1 - 1e-12)


@PROPERTY
@given(vals=parameter_values(), g=single_guarantor, kind=st.sampled_from(FIGHT_KINDS), form=forms)
def test_automatic_at_least_after_consultation_at_least_discretionary(vals, g, kind, form):
    pk = [package([_sized(kind, g, form, t)], id=f"p{i}") for i, t in enumerate(TRIGGERS)]
    lv, _ = run(pk, vals)
    cred = credibility(lv, Inputs(vals, 1))[:, 0]
    c = [cred[element_of(lv, i, g, form, t)] for i, t in enumerate(TRIGGERS)]
    assert all(_le(b, a) for a, b in zip(c, c[1:]))


@PROPERTY
@given(vals=parameter_values(), comms=package_commitments(min_size=1, max_size=5))
def test_zero_will_gives_zero_credibility_and_delivery(vals, comms):
    vals = {**vals, "will.USA": 0.0, "will.default": 0.0}
    lv, _ = run([package(comms)], vals)
    x = Inputs(vals, 1)
    assert np.all(credibility(lv, x) == 0.0)
    assert np.all(delivery(lv, x, vals["assessment.horizon_years"]) == 0.0)
    assert np.all(guarantor_fights(lv, x) == 0.0)


@PROPERTY
@given(vals=parameter_values(), comms=package_commitments(min_size=1, max_size=5))
def test_no_will_anywhere_is_ukraine_alone(vals, comms):
    """With every will at 0 a package deters as much as no package (unless
    its ceasefire terms do something)."""
    vals = {**vals, "will.USA": 0.0, "will.default": 0.0}
    lv, ev = run([package(comms), alone()], vals)
    a = ev.packages["attack_probability"][:, 0]
    assert abs(a[0] - a[1]) <= 1e-12
    assert ev.packages["humanitarian_coverage"][0, 0] == 0.0


@PROPERTY
@given(vals=parameter_values(), others=package_commitments(min_size=0, max_size=3, allow_groups=False), g=single_guarantor,
       kind=st.sampled_from(["deployed_ground_force", "training", "air_defence"]), posture=st.sampled_from(IN_UKRAINE), t=troops,
       more=st.integers(1, 50_000), form=forms, trigger=triggers)
def test_more_troops_in_ukraine_never_lower_credibility(vals, others, g, kind, posture, t, more, form, trigger):
    """Hand-tying: more of a guarantor's troops on Ukrainian soil never lower
    the credibility of its elements, its probability of fighting, or raise
    the attack probability."""
    promise = commitment(g, "mutual_defence", form, trigger)
    base = [promise, commitment(g, kind, form, trigger, posture=posture, troops=t), *others]
    plus = [promise, commitment(g, kind, form, trigger, posture=posture, troops=t + more), *others]
    lv, ev = run([package(base, id="a"), package(plus, id="b")], vals)
    x = Inputs(vals, 1)
    cred = credibility(lv, x)[:, 0]
    e0, e1 = element_of(lv, 0, g, form, trigger), element_of(lv, 1, g, form, trigger)
    assert _le(cred[e0], cred[e1])
    fights = guarantor_fights(lv, x)[:, 0]
    assert _le(fights[row_of(lv, 0, g)], fights[row_of(lv, 1, g)])
    assert _le(ev.packages["attack_probability"][1, 0], ev.packages["attack_probability"][0, 0])


# ------------------------------------------------------------------- deterrence


@PROPERTY
@given(vals=parameter_values(), base=package_commitments(min_size=0, max_size=4), extra=commitments())
def test_adding_a_commitment_never_raises_attack_probability(vals, base, extra):
    """Adding any commitment never raises the attack probability, nor lowers
    the defender's strength."""
    a = package(base, id="a") if base else alone("a")
    b = package([*base, extra], id="b")
    _, ev = run([a, b], vals)
    assert _le(ev.packages["attack_probability"][1, 0], ev.packages["attack_probability"][0, 0])
    assert _le(ev.packages["annual_attack_probability"][1, 0], ev.packages["annual_attack_probability"][0, 0])
    assert _le(ev.packages["defender_strength"][0, 0], ev.packages["defender_strength"][1, 0])


@FEW
@given(vals=parameter_values(), comms=package_commitments(min_size=1, max_size=6))
def test_removing_a_guarantor_never_lowers_attack_probability(vals, comms):
    pk = package(comms)
    ps = parameter_set().with_overrides({k: v for k, v in vals.items() if k in parameter_set().uncertain()})
    lv, ev = run([pk], ps.values())
    worth = worth_of_guarantors([pk], ps, COUNTRIES, ps.values()["assessment.horizon_years"])
    for (_, iso, part), w in worth.items():
        # all of it, only its aid, only its promises: never less likely to be
        # attacked (compiled and evaluated apart, so equal up to rounding)
        assert _le(ev.packages["attack_probability"][0, 0], w["attack_probability"], rel=1e-9), (iso, part)


@FEW
@given(vals=parameter_values(), comms=package_commitments(min_size=2, max_size=6, allow_groups=False), on_cost=st.sampled_from([0.0, 1.0]))
def test_removing_a_guarantor_lowers_approval_only_if_it_held_the_average_up(vals, comms, on_cost):
    """With approval weights from one share only (cost, or GDP), removing a
    guarantor lowers approval only if its own instruments were approved and
    kept in force more often than the package's weighted average."""
    from foedus.exploration.assess import central_weights

    vals = {**vals, "approval.weight_on_cost": on_cost}
    pk = package(comms)
    ps = parameter_set().with_overrides({k: v for k, v in vals.items() if k in parameter_set().parameters or k.startswith("will.")})
    x = Inputs(ps.values(), 1)
    lv, ev = run([pk], ps.values(), detail=True)
    w = central_weights(lv, x)
    v = ev.elements["approval"][:, 0] * ev.elements["survival"][:, 0]  # each element's own approval, kept in force
    national = float(np.sum(w * v))
    worth = worth_of_guarantors([pk], ps, COUNTRIES, ps.values()["assessment.horizon_years"])
    for (_, iso, part), got in worth.items():
        if part != "all":
            continue
        mine = lv.el_guarantor == lv.guarantors.index(iso)
        share = float(np.sum(w[mine]))
        own = float(np.sum(w[mine] * v[mine]) / share) if share > 0 else 0.0
        if got["approval_probability"] < ev.packages["approval_probability"][0, 0] * (1 - 1e-9) - 1e-15:
            assert own > national * (1 - 1e-9), iso


@PROPERTY
@given(vals=parameter_values(), comms=package_commitments(min_size=1, max_size=4),
       ukraine=st.floats(1.0, 1.3), resolve=st.floats(1.0, 1.3), adversary=st.floats(1.0, 1.3), cap=st.integers(100_000, 900_000))
def test_context_moves_attack_probability_the_documented_way(vals, comms, ukraine, resolve, adversary, cap):
    """More Ukrainian forces never raise the attack probability; a more
    resolute or stronger adversary never lowers it; a tighter cap on
    Ukraine's forces never lowers it."""
    pk = package(comms)
    lv, base = run([pk], vals)
    a = base.packages["attack_probability"][0, 0]
    for name, factor, up in (("deterrence.ukraine_forces", ukraine, False), ("deterrence.resolve", resolve, True), ("deterrence.adversary_forces", adversary, True)):
        _, ev = run(lv, {**vals, name: vals[name] * factor})
        b = ev.packages["attack_probability"][0, 0]
        assert _le(a, b) if up else _le(b, a), name
    capped = pk.model_copy(update={"terms": pk.terms.model_copy(update={"ukraine_force_cap": cap})})
    _, ev = run([capped], vals)
    assert _le(a, ev.packages["attack_probability"][0, 0])


@njit(error_model="numpy")  # as models/compiled.kernel
def _win_probability(D, R, k, decisiveness):
    """The adversary's chance of winning, read as deterrence's kernel reads it."""
    return win_probability(log(D / R), log(k), decisiveness)


@PROPERTY
# k exactly 1 (no advantage) or clearly above it: 1 + 2e-16 is an advantage
# below float resolution and gives 0.5 exactly
@given(R=st.floats(100_000, 1_500_000), k=st.one_of(st.just(1.0), st.floats(1.0 + 1e-9, 3.0)), decisiveness=st.floats(0.5, 3.0), attack=st.floats(0.0, 1.0))
def test_symmetric_forces_favour_the_defender(R, k, decisiveness, attack):
    x = Inputs({"deterrence.defender_advantage": k, "deterrence.adversary_forces": R, "deterrence.decisiveness": decisiveness,
                "combat.attacker_loss_rate": 0.001, "combat.campaign_days": 180}, 1)
    D = np.array([[R]])
    p = np.array([[_win_probability(R, R, k, decisiveness)]])
    if k > 1:
        assert p[0, 0] < 0.5
    else:
        assert abs(p[0, 0] - 0.5) < 1e-12
    out = combat(D, p, np.array([[attack]]), x)
    assert out["defence_holds_probability"][0, 0] == 1 - p[0, 0]
    # under the square law the defender loses fewer per day whenever it is worth more
    if k > 1:
        assert out["defender_casualties_per_day"][0, 0] < out["attacker_casualties_per_day"][0, 0]


# ------------------------------------------------------------ forces and costs


@PROPERTY
@given(vals=parameter_values(), comms=package_commitments(min_size=1, max_size=5))
def test_pool_at_least_deployed_and_linear(vals, comms):
    double = [{**c, **{k: 2 * c[k] for k in ("troops", "aircraft", "ships") if k in c}} for c in comms]
    lv, ev = run([package(comms, id="a"), package(double, id="b")], vals, detail=True)
    dep, pool = ev.packages["troops_deployed"][:, 0], ev.packages["troops_required_pool"][:, 0]
    assert np.all(pool >= dep)
    assert np.allclose(dep[1], 2 * dep[0], rtol=1e-12) and np.allclose(pool[1], 2 * pool[0], rtol=1e-12)
    assert np.all(ev.rows["troops_required_pool"][:, 0] >= ev.rows["troops_deployed"][:, 0])


@PROPERTY
@given(vals=parameter_values(), comms=package_commitments(min_size=1, max_size=5), extra=commitments(kind="military_aid"))
def test_cost_shares_and_percent_of_gdp(vals, comms, extra):
    lv, ev = run([package([*comms, extra])], vals, detail=True)
    cost, gdp = ev.rows["cost_usd_per_year"][:, 0], lv.row_values(lv.gdp)
    assert np.all(cost >= 0)
    assert np.allclose(ev.rows["cost_pct_gdp"][:, 0], cost / gdp, rtol=1e-12)
    assert abs(ev.rows["burden_share"][:, 0].sum() - 1) < 1e-9
    assert abs(ev.rows["gdp_share"][:, 0].sum() - 1) < 1e-9
    assert abs(cost.sum() - ev.packages["total_cost_usd_per_year"][0, 0]) <= 1e-6 * cost.sum()


@PROPERTY
@given(vals=parameter_values(), g=single_guarantor, kind=st.sampled_from(["deployed_ground_force", "training", "air_defence", "ceasefire_monitoring"]),
       posture=st.sampled_from(["neighbouring_territory", "offshore", *IN_UKRAINE]), t=troops, more=st.integers(1, 30_000))
def test_cost_grows_with_troops(vals, g, kind, posture, t, more):
    a = package([commitment(g, kind, posture=posture, troops=t)], id="a")
    b = package([commitment(g, kind, posture=posture, troops=t + more)], id="b")
    _, ev = run([a, b], vals)
    assert ev.packages["total_cost_usd_per_year"][1, 0] > ev.packages["total_cost_usd_per_year"][0, 0]
    assert _le(ev.packages["max_cost_pct_gdp"][0, 0], ev.packages["max_cost_pct_gdp"][1, 0])


# --------------------------------------------------------------------- approval


@PROPERTY
@given(vals=parameter_values(), comms=package_commitments(min_size=1, max_size=4, allow_groups=False), data=st.data())
def test_listing_more_approvals_never_raises_approval(vals, comms, data):
    i = data.draw(st.integers(0, len(comms) - 1))
    a = data.draw(approvals)
    more = [dict(c) for c in comms]
    if a in more[i].get("approvals", []):
        return
    more[i]["approvals"] = [*more[i].get("approvals", []), a]
    lv, ev = run([package(comms, id="a"), package(more, id="b")], vals)
    for m in ("approval_probability", "ratification_probability"):
        assert _le(ev.packages[m][1, 0], ev.packages[m][0, 0]), m
    assert abs(ev.packages["in_force_share"][1, 0] - ev.packages["in_force_share"][0, 0]) < 1e-12


@PROPERTY
@given(vals=parameter_values())
def test_nato_membership_needs_every_member(vals):
    nato = load_package(next(p for p in SCENARIOS if p.stem == "nato"), COUNTRIES)
    lv, ev = run([nato], vals)
    x = Inputs(vals, 1)
    consent = x.per_guarantor("approval.nato_consent", COUNTRIES.members("NATO")).prod(axis=0)[0]
    assert abs(ev.packages["ratification_probability"][0, 0] - consent) < 1e-12
    surv = (1 - vals["approval.revocation_per_year.ratified_treaty"]) ** vals["assessment.horizon_years"]
    kyiv = vals["approval.kyiv.demanded"]
    assert abs(ev.packages["approval_probability"][0, 0] - kyiv * consent * surv) < 1e-12


# ------------------------------------------------------------------- escalation


@PROPERTY
@given(vals=parameter_values(), g=single_guarantor, t=troops, form=forms, trigger=triggers, roe=st.sampled_from(["self_defence", "protection", "combat"]))
def test_contact_line_is_riskier_than_western_ukraine(vals, g, t, form, trigger, roe):
    """The same troops at the contact line instead of western Ukraine lower
    acceptance, and for a nuclear-weapon state raise the chance of a clash;
    a non-nuclear state causes no clash."""
    west = package([commitment(g, "deployed_ground_force", form, trigger, posture="western_ukraine", troops=t, rules_of_engagement=roe)], id="west")
    line = package([commitment(g, "deployed_ground_force", form, trigger, posture="contact_line", troops=t, rules_of_engagement=roe)], id="line")
    _, ev = run([west, line], vals)
    acc, inc = ev.packages["adversary_acceptance"][:, 0], ev.packages["incident_probability"][:, 0]
    assert acc[1] < acc[0]
    if g in NUCLEAR:
        assert inc[1] > inc[0]
    else:
        assert inc[0] == inc[1] == 0.0


@PROPERTY
@given(vals=parameter_values(), g=st.sampled_from(NUCLEAR), t=troops, more=st.integers(1, 50_000))
def test_a_contingent_clashes_at_a_rate_not_per_head(vals, g, t, more):
    a = package([commitment(g, "deployed_ground_force", posture="behind_dnipro", troops=t)], id="a")
    b = package([commitment(g, "deployed_ground_force", posture="behind_dnipro", troops=t + more)], id="b")
    _, ev = run([a, b], vals)
    assert ev.packages["incident_probability"][0, 0] == ev.packages["incident_probability"][1, 0]


# ----------------------------------------------------------------- humanitarian


@PROPERTY
@given(vals=parameter_values(), others=package_commitments(min_size=0, max_size=3), g=single_guarantor,
       kind=st.sampled_from(["humanitarian_aid", "reconstruction_aid"]), money=usd, more=usd, form=forms, trigger=triggers)
def test_more_funding_never_lowers_humanitarian_coverage(vals, others, g, kind, money, more, form, trigger):
    a = package([*others, commitment(g, kind, form, trigger, usd_per_year=money)], id="a")
    b = package([*others, commitment(g, kind, form, trigger, usd_per_year=money + more)], id="b")
    _, ev = run([a, b], vals)
    assert _le(ev.packages["humanitarian_coverage"][0, 0], ev.packages["humanitarian_coverage"][1, 0])


@PROPERTY
@given(vals=parameter_values(), others=package_commitments(min_size=0, max_size=3), g=single_guarantor, money=usd, more=usd)
def test_more_aid_never_raises_attack_probability(vals, others, g, money, more):
    a = package([*others, commitment(g, "military_aid", "executive_agreement", "discretionary", usd_per_year=money)], id="a")
    b = package([*others, commitment(g, "military_aid", "executive_agreement", "discretionary", usd_per_year=money + more)], id="b")
    _, ev = run([a, b], vals)
    assert _le(ev.packages["attack_probability"][1, 0], ev.packages["attack_probability"][0, 0])


# --------------------------------------------------------------------- general


@PROPERTY
@given(vals=parameter_values(), pkgs=st.lists(package_commitments(min_size=1, max_size=4), min_size=1, max_size=3), zero=st.booleans())
def test_probabilities_are_probabilities(vals, pkgs, zero):
    if zero:
        vals = {**vals, "approval.us_senate_two_thirds": 0.0, "approval.nato_consent.USA": 0.0, "will.USA": 0.0}
    lv, ev = run(packages(*pkgs), vals, detail=True)
    for m in PROBABILITY_METRICS:
        a = ev.packages[m]
        assert np.all(np.isfinite(a)) and np.all((a >= 0) & (a <= 1)), m
    for m in ("credibility", "delivery", "approval"):
        a = ev.rows[m]
        assert np.all((a[np.isfinite(a)] >= 0) & (a[np.isfinite(a)] <= 1)), m
    for m in ("credibility", "delivery", "approval", "survival"):
        assert np.all((ev.elements[m] >= 0) & (ev.elements[m] <= 1)), m


@FEW
@given(vals=parameter_values(), a=package_commitments(min_size=1, max_size=4), b=package_commitments(min_size=1, max_size=4))
def test_a_package_does_not_depend_on_what_it_is_compared_with(vals, a, b):
    pa, pb = package(a, id="a"), package(b, id="b")
    _, alone_ = run([pa], vals, detail=True)
    _, first = run([pa, pb], vals, detail=True)
    _, second = run([pb, pa], vals, detail=True)
    for m in PACKAGE_METRICS:
        assert np.allclose(alone_.packages[m][0], first.packages[m][0], rtol=1e-9, atol=1e-12, equal_nan=True), m
        assert np.allclose(alone_.packages[m][0], second.packages[m][1], rtol=1e-9, atol=1e-12, equal_nan=True), m
    for m in GUARANTOR_METRICS:
        q = alone_.rows[m].shape[0]
        assert np.allclose(alone_.rows[m], first.rows[m][:q], rtol=1e-9, atol=1e-12, equal_nan=True), m


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 6), wide=st.lists(st.booleans(), min_size=1, max_size=6), data=st.data())
def test_stack_rows_repeats_fixed_rows_across_futures(n, wide, data):
    """Rows of one value (numbers or arrays) repeated beside rows of ``n``:
    what ``np.stack`` of broadcast rows gives, as a new float64 array."""
    floats = st.floats(-1e300, 1e300, allow_nan=False)
    rows = [np.array(data.draw(st.lists(floats, min_size=n, max_size=n))) if w else data.draw(st.one_of(floats, floats.map(lambda v: np.array([v]))))
            for w in wide]
    width = n if any(wide) else 1
    out = stack_rows(rows)
    assert out.dtype == np.float64 and out.shape == (len(rows), width)
    assert np.array_equal(out, np.stack([np.broadcast_to(np.asarray(r, dtype=np.float64).reshape(-1), (width,)) for r in rows]))
    assert not any(np.shares_memory(out, r) for r in rows if isinstance(r, np.ndarray))
