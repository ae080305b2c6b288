"""Hand-worked cases: for each sub-model, a small package whose result is
computed here, step by step, from the equation in the module docstring with
explicit numbers, and compared with foedus to 1e-12.

The parameter values are set explicitly (``V``), so the numbers in each test
are the numbers the model sees; country figures (GDP, active personnel,
defence budget, the military aid already given) are read from the country
table, which is input data.
"""

from __future__ import annotations

import math

import pytest

from model_helpers import COUNTRIES, alone, commitment, credibility, delivery, element_of, guarantor_fights, package, packages, row_of, run, values

from foedus.models.inputs import Inputs

REL = 1e-12

#: Explicit parameter values for every hand-worked case.
V = values(
    {
        "assessment.horizon_years": 10,
        "credibility.reliability_prior": 0.4,
        "credibility.step_odds": 0.5,
        "credibility.handtying_scale": 20000,
        "credibility.will_ceiling": 0.8,
        "will.USA": 0.5,
        "will.default": 0.5,
        "forces.rotation_ratio": 2.5,
        "forces.capacity_share": 0.2,
        "forces.air_personnel_per_aircraft": 25,
        "forces.naval_personnel_per_ship": 185,
        "costs.soldier_year.stationing": 75_000,
        "costs.soldier_year.expeditionary": 675_000,
        "costs.contested_share.neighbouring_territory": 0.0,
        "costs.contested_share.offshore": 0.1,
        "costs.contested_share.western_ukraine": 0.0,
        "costs.contested_share.behind_dnipro": 0.5,
        "costs.contested_share.contact_line": 1.0,
        "costs.aircraft_year": 8_000_000,
        "costs.ship_year": 60_000_000,
        "costs.raise_soldier_year": 60_000,
        "costs.monitoring_mission_year": 100e6,
        "deterrence.ukraine_forces": 800_000,
        "deterrence.adversary_forces": 700_000,
        "deterrence.ukraine_own_defence_usd": 65e9,
        "deterrence.ukraine_aid_baseline_usd": 48e9,
        "deterrence.defender_advantage": 1.25,
        "deterrence.decisiveness": 1.5,
        "deterrence.aircraft_troop_equivalents": 150,
        "deterrence.ship_troop_equivalents": 100,
        "deterrence.surge_share": 0.1,
        "deterrence.arrival_days.contact_line": 0,
        "deterrence.arrival_days.behind_dnipro": 1,
        "deterrence.arrival_days.offshore": 2,
        "deterrence.arrival_days.western_ukraine": 3,
        "deterrence.arrival_days.neighbouring_territory": 5,
        "deterrence.arrival_days.surge": 15,
        "deterrence.decisive_window_days": 14,
        "deterrence.intelligence_multiplier": 0.1,
        "deterrence.training_troop_equivalents_per_trainer": 5,
        "deterrence.resolve": 1.2,
        "deterrence.base_hazard": 0.06,
        "deterrence.floor_hazard": 0.001,
        "deterrence.reference_force_ratio": 800_000 / 700_000,
        "deterrence.balance_elasticity": 0.6,
        "deterrence.pact_effect": 0.6,
        "deterrence.decisive_force": 1000,
        "deterrence.hazard_ratio.sanctions": 0.8,
        "deterrence.hazard_ratio.monitoring": 0.4,
        "deterrence.hazard_ratio.buffer_zone": 0.5,
        "deterrence.hazard_ratio.joint_commission": 0.6,
        "combat.attacker_loss_rate": 0.001,
        "combat.campaign_days": 180,
        "approval.us_senate_two_thirds": 0.15,
        "approval.us_congress_majorities": 0.4,
        "approval.uk_commons_vote": 0.7,
        "approval.bundestag_mandate": 0.99,
        "approval.france_article_35": 0.9,
        "approval.national_parliament": 0.85,
        "approval.eu_unanimity": 0.6,
        "approval.revocation_per_year.ratified_treaty": 0.005,
        "approval.revocation_per_year.congressional_executive_agreement": 0.015,
        "approval.revocation_per_year.executive_agreement": 0.04,
        "approval.revocation_per_year.political_declaration": 0.06,
        "approval.kyiv.demanded": 0.98,
        "approval.kyiv.accepted": 0.9,
        "approval.kyiv.reluctant": 0.6,
        "approval.kyiv.rejected": 0.2,
        "approval.weight_on_cost": 0.5,
        "escalation.clash_rate.contact_line": 0.25,
        "escalation.clash_rate.behind_dnipro": 0.1,
        "escalation.clash_rate.western_ukraine": 0.05,
        "escalation.clash_rate.offshore": 0.1,
        "escalation.clash_rate.neighbouring_territory": 0.02,
        "escalation.escalation_given_incident": 0.015,
        "escalation.acceptance_base": 0.6,
        "escalation.rejection.troops_per_10k": 0.15,
        "escalation.rejection.nato_membership": 0.9,
        "escalation.rejection.mutual_defence_treaty": 0.3,
        "escalation.rejection.nuclear_umbrella": 0.4,
        "humanitarian.reconstruction_needs_usd": 524e9,
        "humanitarian.reconstruction_period_years": 10,
        "humanitarian.humanitarian_needs_usd_per_year": 2.63e9,
        "humanitarian.personnel_per_battery": 150,
        "humanitarian.batteries_needed": 25,
    }
)
X = Inputs(V, 1)


def weff(w: float) -> float:
    """Effective will: the map a w / (1 + d w) through (0, 0), (0.5, 0.5) and
    (1, will_ceiling)."""
    c = V["credibility.will_ceiling"]
    d = 2 * (1 - c) / (2 * c - 1)
    return c * (1 + d) * w / (1 + d * w)


def comb(p: float, w: float) -> float:
    """Odds of ``p`` times odds of the effective will."""
    e = weff(w)
    return p * e / (p * e + (1 - p) * (1 - e)) if p * e + (1 - p) * (1 - e) > 0 else 0.0


def test_the_effective_will_fixes_zero_and_the_average_and_caps_the_top():
    assert weff(0.0) == 0.0 and weff(0.5) == pytest.approx(0.5, rel=REL) and weff(1.0) == pytest.approx(0.8, rel=REL)
    # at will 1 a discretionary declaration is not certain entry into war
    assert comb(promise(5), 1.0) < 0.5


def promise(steps: int) -> float:
    """c0: a promise ``steps`` rungs below a ratified automatic treaty."""
    o = V["credibility.reliability_prior"] / (1 - V["credibility.reliability_prior"]) * V["credibility.step_odds"] ** steps
    return o / (1 + o)


def persist(rate: float) -> float:
    """Mean share of the horizon in force at a yearly revocation rate."""
    lam, H = -math.log1p(-rate), V["assessment.horizon_years"]
    return (1 - math.exp(-lam * H)) / (lam * H)


def yearly(D: float, S: float, terms: float) -> float:
    """The hazard: floor + (1 - floor) * h_base(D) * (1 - S) * terms,
    with odds(h_base) = odds(base) * resolve * (D / R / B0) ** -elasticity."""
    o = V["deterrence.base_hazard"] / (1 - V["deterrence.base_hazard"]) * V["deterrence.resolve"]
    o *= (D / V["deterrence.adversary_forces"] / V["deterrence.reference_force_ratio"]) ** -V["deterrence.balance_elasticity"]
    floor = V["deterrence.floor_hazard"]
    return floor + (1 - floor) * o / (1 + o) * (1 - S) * terms


# --------------------------------------------------------------- credibility


def test_each_instrument_has_its_own_credibility_by_hand():
    treaty = commitment("GBR", "mutual_defence", "ratified_treaty", "automatic")
    umbrella = commitment("GBR", "nuclear_umbrella", "political_declaration", "discretionary")
    force = commitment("GBR", "deployed_ground_force", "executive_agreement", "after_consultation", posture="western_ukraine", troops=10000, rules_of_engagement="protection")
    vals = {**V, "will.GBR": 0.8}
    lv, _ = run([package([treaty, umbrella, force])], vals)
    cred = credibility(lv, Inputs(vals, 1))[:, 0]
    h = 1 - math.exp(-10000 / 20000)
    for form, trig, steps in (("ratified_treaty", "automatic", 0), ("political_declaration", "discretionary", 5), ("executive_agreement", "after_consultation", 3)):
        e = element_of(lv, 0, "GBR", form, trig)
        assert cred[e] == pytest.approx(comb(h + (1 - h) * promise(steps), 0.8), rel=REL)
    # the guarantor fights on its strongest promise and its hand-tying
    fights = guarantor_fights(lv, Inputs(vals, 1))[row_of(lv, 0, "GBR"), 0]
    assert fights == pytest.approx(comb(h + (1 - h) * promise(0), 0.8), rel=REL)


def test_a_treaty_at_average_will_is_honoured_at_the_prior():
    lv, _ = run([package([commitment("USA", "mutual_defence", "ratified_treaty", "automatic")])], V)
    assert credibility(lv, X)[0, 0] == pytest.approx(V["credibility.reliability_prior"], rel=REL)


def test_a_self_defence_tripwire_promises_nothing_but_ties_hands():
    lv, _ = run([package([commitment("FRA", "deployed_ground_force", posture="western_ukraine", troops=5000)])], V)
    h = 1 - math.exp(-5000 / 20000)
    assert credibility(lv, X)[0, 0] == pytest.approx(comb(h, 0.5), rel=REL)


def test_delivery_depends_on_legal_form_and_will_not_on_troops():
    aid = commitment("USA", "military_aid", "executive_agreement", "discretionary", usd_per_year=10e9)
    troops = commitment("USA", "deployed_ground_force", "executive_agreement", "discretionary", posture="western_ukraine", troops=30000, rules_of_engagement="protection")
    for will in (0.5, 0.8, 0.0):
        vals = {**V, "will.USA": will}
        lv, _ = run([package([aid, troops])], vals)
        d = delivery(lv, Inputs(vals, 1), 10)[0, 0]
        assert d == pytest.approx(comb(persist(0.04), will), rel=REL, abs=1e-15)


def test_a_collective_measure_is_the_groups_decision():
    snap = commitment("EU", "sanctions_snapback", "executive_agreement", "after_consultation", approvals=["eu_unanimity"])
    force = commitment("DEU", "deployed_ground_force", posture="western_ukraine", troops=20000)
    vals = {**V, "will.default": 0.6, "will.DEU": 0.9}
    lv, _ = run([package([snap, force])], vals)
    e = element_of(lv, 0, "DEU", "executive_agreement", "after_consultation", collective=True)
    # the group's will (will.default), no hand-tying from Germany's troops
    assert credibility(lv, Inputs(vals, 1))[e, 0] == pytest.approx(comb(promise(3), 0.6), rel=REL)


# ------------------------------------------------------------ forces and costs


def test_forces_and_costs_by_hand():
    fra = [
        commitment("FRA", "deployed_ground_force", posture="western_ukraine", troops=10000, rules_of_engagement="protection"),
        commitment("FRA", "air_power", posture="neighbouring_territory", aircraft=12),
        commitment("FRA", "military_aid", "executive_agreement", "discretionary", usd_per_year=3e9),
    ]
    est = [commitment("EST", "deployed_ground_force", posture="behind_dnipro", troops=3000)]
    lv, ev = run([package(fra + est)], V, detail=True)
    deployed = {"FRA": 10000 + 12 * 25, "EST": 3000}
    for iso, dep in deployed.items():
        q = row_of(lv, 0, iso)
        pool = dep * 2.5
        avail = COUNTRIES[iso].active_personnel.value * 0.2
        short = max(0.0, pool - avail)
        assert ev.rows["troops_deployed"][q, 0] == pytest.approx(dep, rel=REL)
        assert ev.rows["troops_required_pool"][q, 0] == pytest.approx(pool, rel=REL)
        assert ev.rows["troops_available"][q, 0] == pytest.approx(avail, rel=REL)
        assert ev.rows["shortfall"][q, 0] == pytest.approx(short, rel=REL, abs=1e-9)
    # unit costs: western Ukraine at the stationing cost, behind the Dnipro half-way to expeditionary
    q_fra, q_est = row_of(lv, 0, "FRA"), row_of(lv, 0, "EST")
    fra_cost = 10000 * 75_000 + 12 * 8e6 + 3e9
    est_short = max(0.0, 3000 * 2.5 - COUNTRIES["EST"].active_personnel.value * 0.2)
    est_cost = 3000 * (75_000 + 0.5 * (675_000 - 75_000)) + est_short * 60_000
    assert est_short > 0
    assert ev.rows["cost_usd_per_year"][q_fra, 0] == pytest.approx(fra_cost, rel=REL)
    assert ev.rows["cost_usd_per_year"][q_est, 0] == pytest.approx(est_cost, rel=REL)
    assert ev.rows["cost_raise_usd_per_year"][q_est, 0] == pytest.approx(est_short * 60_000, rel=REL)
    assert ev.packages["total_cost_usd_per_year"][0, 0] == pytest.approx(fra_cost + est_cost, rel=REL)
    # spending: France's 3 bn of aid is within what it gave in 2022-25, so only the rest adds
    fr = COUNTRIES["FRA"]
    already = min(3e9, fr.ukraine_military_aid_usd.value)
    assert ev.rows["total_defence_pct_gdp"][q_fra, 0] == pytest.approx(fr.defence_pct_gdp.value + (fra_cost - already) / fr.gdp_usd.value, rel=REL)
    assert ev.rows["headroom_core_2035"][q_fra, 0] == pytest.approx(0.035 - ev.rows["total_defence_pct_gdp"][q_fra, 0], rel=REL)
    # Estonia gave no aid in this package: its whole cost adds
    ee = COUNTRIES["EST"]
    assert ev.rows["total_defence_pct_gdp"][q_est, 0] == pytest.approx(ee.defence_pct_gdp.value + est_cost / ee.gdp_usd.value, rel=REL)
    assert ev.rows["burden_share"][q_fra, 0] == pytest.approx(fra_cost / (fra_cost + est_cost), rel=REL)


def test_a_monitoring_mission_is_paid_for_and_aid_is_told_apart_by_hand():
    """The US-led monitoring costs a mission a year (it cost nothing in v2);
    the package's aid and the guarantee's own cost add up to its cost."""
    mon = commitment("USA", "ceasefire_monitoring", "executive_agreement", "after_consultation")
    coal = commitment("COALITION", "ceasefire_monitoring", "executive_agreement", "after_consultation")
    aid = commitment("DEU", "military_aid", "executive_agreement", "discretionary", usd_per_year=5e9)
    lv, ev = run([package([mon, aid]), package([coal])], V, detail=True)
    assert ev.packages["guarantee_cost_usd_per_year"][0, 0] == pytest.approx(100e6, rel=REL)
    assert ev.packages["aid_usd_per_year"][0, 0] == pytest.approx(5e9, rel=REL)
    assert ev.packages["total_cost_usd_per_year"][0, 0] == pytest.approx(5e9 + 100e6, rel=REL)
    assert ev.rows["cost_usd_per_year"][row_of(lv, 0, "USA"), 0] == pytest.approx(100e6, rel=REL)
    # a group's mission is one mission, its cost shared by GDP
    members = COUNTRIES.members("COALITION")
    gdp = sum(COUNTRIES[m].gdp_usd.value for m in members)
    assert ev.packages["total_cost_usd_per_year"][1, 0] == pytest.approx(100e6, rel=REL)
    assert ev.rows["cost_usd_per_year"][row_of(lv, 1, "FRA"), 0] == pytest.approx(100e6 * COUNTRIES["FRA"].gdp_usd.value / gdp, rel=REL)
    assert ev.packages["max_cost_pct_gdp"][0, 0] == pytest.approx(max(100e6 / COUNTRIES["USA"].gdp_usd.value, 5e9 / COUNTRIES["DEU"].gdp_usd.value), rel=REL)


def test_a_group_commitment_with_exceptions_is_split_over_the_bound_members():
    loan = commitment("EU", "military_aid", "executive_agreement", "discretionary", usd_per_year=40e9, **{"except": ["HUN", "SVK"]})
    lv, ev = run([package([loan])], V, detail=True)
    bound = [m for m in COUNTRIES.members("EU") if m not in ("HUN", "SVK")]
    total = sum(COUNTRIES[m].gdp_usd.value for m in bound)
    assert sorted(lv.row_iso3()) == sorted(bound)
    for m in ("DEU", "FRA", "CZE"):
        assert ev.rows["cost_usd_per_year"][row_of(lv, 0, m), 0] == pytest.approx(40e9 * COUNTRIES[m].gdp_usd.value / total, rel=REL)
    assert not any(a == "eu_unanimity" for a, _ in lv.approvals_by_package[0])


# ------------------------------------------------------------------- deterrence


def _deterrence_case():
    comms = [
        commitment("GBR", "mutual_defence", "ratified_treaty", "automatic"),
        commitment("USA", "military_aid", "executive_agreement", "discretionary", usd_per_year=20e9),
        commitment("FRA", "deployed_ground_force", "executive_agreement", "after_consultation", posture="western_ukraine", troops=10000, rules_of_engagement="protection"),
        commitment("EU", "sanctions_snapback", "executive_agreement", "after_consultation", approvals=["eu_unanimity"]),
        commitment("GBR", "ceasefire_monitoring", "executive_agreement", "after_consultation"),
    ]
    return package(comms, terms={"buffer_zone": True, "ukraine_force_cap": 700_000})


def test_deterrence_by_hand():
    lv, ev = run([_deterrence_case()], V)
    w = lambda days: math.exp(-days / 14)  # noqa: E731
    h_fra = 1 - math.exp(-10000 / 20000)
    cred_fra = comb(h_fra + (1 - h_fra) * promise(3), 0.5)
    cred_gbr = comb(promise(0), 0.5)
    # Ukraine: capped at 700k, scaled by the resources behind it
    funds = (65e9 + comb(persist(0.04), 0.5) * 20e9) / (65e9 + 48e9)
    U = 700_000 * funds
    surge_gbr = COUNTRIES["GBR"].active_personnel.value * 0.1 * w(15)
    power = 10000 * w(3) * cred_fra + cred_gbr * surge_gbr
    D = U + power
    assert ev.packages["defender_strength"][0, 0] == pytest.approx(D, rel=REL)
    p = 1 / (1 + (1.25 * D / 700_000) ** 1.5)
    assert 1 - ev.packages["defence_holds_probability"][0, 0] == pytest.approx(p, rel=REL)
    # the guarantors that would fight: the UK on its treaty (its surge), France on its force
    k_gbr, k_fra = 1 - math.exp(-surge_gbr / 1000), 1 - math.exp(-10000 * w(3) / 1000)
    S = 1 - (1 - 0.6 * cred_gbr * k_gbr) * (1 - 0.6 * cred_fra * k_fra)
    snap = comb(promise(3), 0.5)
    monitored = comb(persist(0.04), 0.5)
    terms = 0.8**snap * 0.4**monitored * 0.5
    h = yearly(D, S, terms)
    assert ev.packages["annual_attack_probability"][0, 0] == pytest.approx(h, rel=REL)
    assert ev.packages["attack_probability"][0, 0] == pytest.approx(1 - (1 - h) ** 10, rel=REL)


def test_ukraine_alone_has_its_own_resources_only():
    lv, ev = run([alone()], V)
    D = 800_000 * 65e9 / (65e9 + 48e9)
    assert ev.packages["defender_strength"][0, 0] == pytest.approx(D, rel=REL)
    assert ev.packages["annual_attack_probability"][0, 0] == pytest.approx(yearly(D, 0.0, 1.0), rel=REL)
    assert ev.packages["approval_probability"][0, 0] == 1.0


def test_combat_by_hand():
    lv, ev = run([_deterrence_case()], V, detail=False)
    D = ev.packages["defender_strength"][0, 0]
    attacker, defender = 0.001 * D, 0.001 / 1.25**2 * 700_000
    assert ev.packages["casualties_if_war"][0, 0] == pytest.approx(180 * (attacker + defender), rel=REL)
    assert ev.packages["expected_casualties"][0, 0] == pytest.approx(ev.packages["attack_probability"][0, 0] * 180 * (attacker + defender), rel=REL)


# --------------------------------------------------------------------- approval


def test_approval_by_hand():
    us = commitment("USA", "mutual_defence", "ratified_treaty", "automatic")
    uk = commitment("GBR", "deployed_ground_force", "executive_agreement", "after_consultation", posture="western_ukraine", troops=5000)
    de = commitment("DEU", "military_aid", "executive_agreement", "discretionary", usd_per_year=5e9)
    lv, ev = run([package([us, uk, de], kyiv="accepted")], V, detail=True)
    surv = lambda r: (1 - r) ** 10  # noqa: E731
    cost_uk = 5000 * 75_000 + max(0.0, 5000 * 2.5 - COUNTRIES["GBR"].active_personnel.value * 0.2) * 60_000
    costs = {"USA": 0.0, "GBR": cost_uk, "DEU": 5e9}
    gdp = {i: COUNTRIES[i].gdp_usd.value for i in costs}
    weights = {i: 0.5 * costs[i] / sum(costs.values()) + 0.5 * gdp[i] / sum(gdp.values()) for i in costs}
    national = weights["USA"] * 0.15 * surv(0.005) + weights["GBR"] * 0.7 * surv(0.04) + weights["DEU"] * surv(0.04)
    assert ev.packages["approval_probability"][0, 0] == pytest.approx(0.9 * national, rel=REL)
    assert ev.packages["ratification_probability"][0, 0] == pytest.approx(weights["USA"] * 0.15 + weights["GBR"] * 0.7 + weights["DEU"], rel=REL)
    assert ev.packages["in_force_share"][0, 0] == pytest.approx(weights["USA"] * surv(0.005) + (weights["GBR"] + weights["DEU"]) * surv(0.04), rel=REL)


def test_declarations_alone_need_no_approval_and_no_kyiv():
    decl = [commitment(i, "consultation", "political_declaration", "discretionary") for i in ("USA", "GBR")]
    lv, ev = run([package(decl, kyiv="rejected")], V)
    assert ev.packages["kyiv_acceptance"][0, 0] == 1.0
    assert ev.packages["approval_probability"][0, 0] == pytest.approx((1 - 0.06) ** 10, rel=REL)


def test_eu_unanimity_applies_without_exceptions():
    whole = commitment("EU", "military_aid", "executive_agreement", "discretionary", usd_per_year=10e9)
    part = commitment("EU", "military_aid", "executive_agreement", "discretionary", usd_per_year=10e9, **{"except": ["HUN"]})
    lv, ev = run(packages([whole], [part]), V)
    surv = (1 - 0.04) ** 10
    assert ev.packages["approval_probability"][0, 0] == pytest.approx(0.9 * 0.6 * surv, rel=REL)
    assert ev.packages["approval_probability"][1, 0] == pytest.approx(0.9 * surv, rel=REL)


# ------------------------------------------------------------------- escalation


def test_escalation_by_hand():
    comms = [
        commitment("GBR", "deployed_ground_force", posture="contact_line", troops=5000),
        commitment("GBR", "air_power", posture="neighbouring_territory", aircraft=12),
        commitment("FRA", "naval_presence", posture="offshore", ships=2),
        commitment("POL", "deployed_ground_force", posture="western_ukraine", troops=4000),
    ]
    lv, ev = run([package(comms)], V)
    # contingents of nuclear-weapon states: the UK at the line and next door, France offshore (Poland is not nuclear)
    exposure = 0.25 + 0.02 + 0.1
    incident = 1 - math.exp(-10 * exposure)
    assert ev.packages["incident_probability"][0, 0] == pytest.approx(incident, rel=REL)
    # acceptance: personnel weighted by clash rate relative to western Ukraine, nothing for next door
    persons = 5000 * 0.25 / 0.05 + 2 * 185 * 0.1 / 0.05 + 4000 * 1.0
    assert ev.packages["adversary_acceptance"][0, 0] == pytest.approx(0.6 * math.exp(-0.15 * persons / 1e4), rel=REL)
    # risk: war in which a nuclear guarantor fights, or a clash that escalates
    attack = ev.packages["attack_probability"][0, 0]
    h = 1 - math.exp(-5000 / 20000)
    fights_gbr = comb(h + (1 - h) * promise(3), 0.5)  # its force (contact line) and aircraft promise in one instrument
    fights_fra = comb(promise(3), 0.5)
    fights = 1 - (1 - fights_gbr) * (1 - fights_fra)
    war = attack * fights
    assert ev.packages["escalation_risk"][0, 0] == pytest.approx(war + incident * 0.015 * (1 - war), rel=REL)


def test_acceptance_of_membership_treaty_and_umbrella_by_hand():
    nato = [commitment("NATO", "mutual_defence", "ratified_treaty", "automatic")]
    treaty = [commitment("GBR", "mutual_defence", "ratified_treaty", "automatic"), commitment("GBR", "nuclear_umbrella", "ratified_treaty", "automatic")]
    lv, ev = run(packages(nato, treaty), V)
    assert ev.packages["adversary_acceptance"][0, 0] == pytest.approx(0.6 * (1 - 0.9), rel=REL)
    assert ev.packages["adversary_acceptance"][1, 0] == pytest.approx(0.6 * (1 - 0.3) * (1 - 0.4), rel=REL)


# ----------------------------------------------------------------- humanitarian


def test_humanitarian_by_hand():
    comms = [
        commitment("DEU", "reconstruction_aid", "executive_agreement", "discretionary", usd_per_year=10e9),
        commitment("DEU", "air_defence", posture="western_ukraine", troops=1500),
        commitment("NLD", "air_defence", posture="neighbouring_territory", troops=1500),
    ]
    lv, ev = run([package(comms)], V)
    need = 2.63e9 + 524e9 / 10
    assert ev.packages["humanitarian_coverage"][0, 0] == pytest.approx(comb(persist(0.04), 0.5) * 10e9 / need, rel=REL)
    h = 1 - math.exp(-1500 / 20000)
    cred = comb(h + (1 - h) * promise(3), 0.5)
    # only the crews on Ukrainian soil count, in batteries of 150
    assert ev.packages["air_defence_coverage"][0, 0] == pytest.approx(cred * 1500 / 150 / 25, rel=REL)
