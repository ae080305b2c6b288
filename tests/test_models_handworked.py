"""Hand-worked cases: for each sub-model, a small package whose result is
computed here, step by step, from the equation in the module docstring with
explicit numbers, and compared with foedus to 1e-12.

The parameter values are set explicitly (``V``), so the numbers in each test
are the numbers the model sees; country figures (GDP, active personnel,
defence budget) are read from the country table, which is input data.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from model_helpers import COUNTRIES, SCENARIOS, commitment, package, packages, row_of, run, values

from foedus.data.loaders import load_package
from foedus.models.credibility import credibility
from foedus.models.inputs import Inputs
from foedus.models.sums import CredSums

REL = 1e-12

#: Explicit parameter values for every hand-worked case (most equal the
#: shipped central values; the tests do not rely on that).
V = values(
    {
        "assessment.horizon_years": 10,
        # credibility
        "credibility.reliability_prior": 0.41,
        "credibility.legal_form.ratified_treaty": 1.0,
        "credibility.legal_form.congressional_executive_agreement": 0.85,
        "credibility.legal_form.executive_agreement": 0.65,
        "credibility.legal_form.political_declaration": 0.25,
        "credibility.trigger.automatic": 1.0,
        "credibility.trigger.after_consultation": 0.8,
        "credibility.trigger.discretionary": 0.5,
        "credibility.interest.frontline": 1.0,
        "credibility.interest.other": 0.8,
        "credibility.handtying_max": 0.6,
        "credibility.handtying_scale": 20000,
        "will.USA": 0.5,
        "will.GBR": 0.8,
        "will.FRA": 0.85,
        "will.DEU": 0.7,
        "will.POL": 0.9,
        "will.default": 0.75,
        # forces
        "forces.rotation_ratio": 3.0,
        "forces.enabler_share": 0.3,
        "forces.air_personnel_per_aircraft": 25,
        "forces.naval_personnel_per_ship": 185,
        "forces.deployable_share": 0.4,
        "forces.committed_share": 0.3,
        "forces.force_generation": 0.8,
        # costs
        "costs.soldier_year.stationing": 75_000,
        "costs.soldier_year.expeditionary": 670_000,
        "costs.contested_share.neighbouring_territory": 0.0,
        "costs.contested_share.offshore": 0.25,
        "costs.contested_share.western_ukraine": 0.25,
        "costs.contested_share.behind_dnipro": 0.5,
        "costs.contested_share.contact_line": 1.0,
        "costs.aircraft_year": 10_000_000,
        "costs.ship_year": 60_000_000,
        "costs.raise_cost_factor": 1.0,
        "costs.nato_mark.core_2014": 0.02,
        "costs.nato_mark.core_2035": 0.035,
        "costs.nato_mark.total_2035": 0.05,
        # deterrence
        "deterrence.ukraine_forces": 800_000,
        "deterrence.adversary_forces": 700_000,
        "deterrence.defender_advantage": 2.0,
        "deterrence.decisiveness": 1.5,
        "deterrence.aircraft_troop_equivalents": 150,
        "deterrence.ship_troop_equivalents": 100,
        "deterrence.surge_share": 0.2,
        "deterrence.arrival_days.contact_line": 0,
        "deterrence.arrival_days.behind_dnipro": 1,
        "deterrence.arrival_days.offshore": 2,
        "deterrence.arrival_days.western_ukraine": 3,
        "deterrence.arrival_days.neighbouring_territory": 5,
        "deterrence.arrival_days.surge": 30,
        "deterrence.decisive_window_days": 30,
        "deterrence.aid_troop_equivalents_per_usd_bn": 13_600,
        "deterrence.intelligence_multiplier": 0.1,
        "deterrence.training_troop_equivalents_per_trainer": 5,
        "deterrence.resolve": 1.0,
        "deterrence.payoff_dispersion": 0.19775,
        "deterrence.nuclear_escalation_cost": 3.0,
        "deterrence.nuclear_shadow": 0.3,
        "deterrence.sanctions_cost": 0.3,
        # combat
        "combat.attacker_loss_rate": 0.00086,
        "combat.campaign_days": 180,
        # approval
        "approval.us_senate_two_thirds": 0.15,
        "approval.us_congress_majorities": 0.4,
        "approval.uk_commons_vote": 0.85,
        "approval.bundestag_mandate": 0.65,
        "approval.france_article_35": 0.7,
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
        # escalation
        "escalation.incident_hazard.contact_line": 0.03,
        "escalation.incident_hazard.behind_dnipro": 0.01,
        "escalation.incident_hazard.western_ukraine": 0.004,
        "escalation.incident_hazard.offshore": 0.002,
        "escalation.incident_hazard.neighbouring_territory": 0.0005,
        "escalation.roe.self_defence": 1.0,
        "escalation.roe.protection": 1.5,
        "escalation.roe.combat": 3.0,
        "escalation.acceptance_base": 0.6,
        "escalation.rejection.troops_per_10k": 0.15,
        "escalation.rejection.nato_membership": 0.9,
        "escalation.rejection.mutual_defence_treaty": 0.3,
        "escalation.rejection.nuclear_umbrella": 0.4,
        "escalation.rejection.air_power": 0.1,
        # humanitarian
        "humanitarian.reconstruction_needs_usd": 524e9,
        "humanitarian.reconstruction_period_years": 10,
        "humanitarian.humanitarian_needs_usd_per_year": 2.63e9,
        "humanitarian.air_defence_full_cover_personnel": 10_000,
    }
)
H = 10.0


def h_of(troops: float) -> float:
    """Hand-tying: 0.6 * (1 - exp(-troops / 20000))."""
    return 0.6 * (1.0 - math.exp(-troops / 20000.0))


def approx(v):
    return pytest.approx(v, rel=REL, abs=1e-300)


# ---------------------------------------------------------------- credibility


def test_credibility_of_one_row_by_hand():
    """will 0.5, prior 0.41, treaty 1.0, automatic 1.0, interest 0.8 (the UK
    does not border Russia, Belarus or Ukraine), 10,000 troops in western
    Ukraine, hand-tying ceiling 0.6 and scale 20,000."""
    v = dict(V, **{"will.GBR": 0.5})
    pk = package([commitment("GBR", "deployed_ground_force", "ratified_treaty", "automatic", posture="western_ukraine", troops=10_000)])
    h = 0.6 * (1.0 - math.exp(-0.5))
    cred = 0.5 * (h + (1.0 - h) * 0.41 * 1.0 * 1.0 * 0.8)
    lv, ev = run([pk], v, detail=True)
    assert ev.rows["credibility"][0, 0] == approx(cred)
    x = Inputs(v, 1)
    assert credibility(lv, x)[0, 0] == approx(cred)
    assert CredSums(lv, x).sum(np.ones(1))[0, 0] == approx(cred)


def test_credibility_without_troops_frontline_and_default_will():
    """Poland borders Russia and Belarus (interest 1.0), no troops in Ukraine:
    cred = will * prior * form * trigger. The Netherlands has no will of its
    own (will.default 0.75) and trains 2,000 soldiers at the contact line."""
    pol = commitment("POL", "mutual_defence", "executive_agreement", "after_consultation")
    nld = commitment("NLD", "training", "political_declaration", "discretionary", posture="contact_line", troops=2000)
    lv, ev = run(packages([pol, nld]), V, detail=True)
    cred = ev.rows["credibility"][:, 0]
    assert cred[row_of(lv, 0, "POL")] == approx(0.9 * 0.41 * 0.65 * 0.8 * 1.0)
    h = 0.6 * (1.0 - math.exp(-2000 / 20000))
    assert cred[row_of(lv, 0, "NLD")] == approx(0.75 * (h + (1 - h) * 0.41 * 0.25 * 0.5 * 0.8))


def test_strongest_form_and_most_automatic_trigger_count():
    """Two commitments of one guarantor merge: treaty (strongest form) and
    automatic (most automatic trigger) although they come from different
    commitments."""
    a = commitment("FRA", "mutual_defence", "ratified_treaty", "discretionary")
    b = commitment("FRA", "consultation", "political_declaration", "automatic")
    _, ev = run(packages([a, b]), V, detail=True)
    assert ev.rows["credibility"][0, 0] == approx(0.85 * 0.41 * 1.0 * 1.0 * 0.8)


# --------------------------------------------------------------------- forces


def test_forces_pool_by_hand():
    """deployed = people + aircraft * 25 + ships * 185; pool = deployed * 3 *
    (1 + 0.3); available = active * 0.4 * (1 - 0.3) * 0.8."""
    fra = [
        commitment("FRA", "deployed_ground_force", posture="behind_dnipro", troops=2000),
        commitment("FRA", "air_power", posture="neighbouring_territory", aircraft=12),
        commitment("FRA", "naval_presence", posture="offshore", ships=2),
    ]
    est = [commitment("EST", "deployed_ground_force", posture="western_ukraine", troops=5000)]
    lv, ev = run(packages(fra, est), V, detail=True)
    r = ev.rows
    deployed = 2000 + 12 * 25 + 2 * 185
    pool = deployed * 3.0 * (1 + 0.3)
    available = COUNTRIES["FRA"].active_personnel.value * 0.4 * (1 - 0.3) * 0.8
    k = row_of(lv, 0, "FRA")
    assert r["troops_deployed"][k, 0] == approx(deployed)
    assert r["troops_required_pool"][k, 0] == approx(pool)
    assert r["troops_available"][k, 0] == approx(available)
    assert r["capacity_ratio"][k, 0] == approx(available / pool)
    assert r["shortfall"][k, 0] == 0.0
    assert ev.packages["troops_required_pool"][0, 0] == approx(pool)
    # Estonia cannot sustain 5,000 in Ukraine: 19,500 needed, 7,700 * 0.224 available
    k = row_of(lv, 1, "EST")
    pool_est = 5000 * 3.0 * 1.3
    avail_est = COUNTRIES["EST"].active_personnel.value * 0.4 * 0.7 * 0.8
    assert r["shortfall"][k, 0] == approx(pool_est - avail_est)
    assert ev.packages["guarantors_short"][1, 0] == 1.0
    assert ev.packages["guarantors_short"][0, 0] == 0.0


# ---------------------------------------------------------------------- costs


def test_costs_by_posture_blend_by_hand():
    """unit[post] = 75,000 + share[post] * (670,000 - 75,000); aircraft 10 m,
    ships 60 m a year; money counts in full."""
    fra = [
        commitment("FRA", "deployed_ground_force", posture="contact_line", troops=1000),
        commitment("FRA", "training", posture="western_ukraine", troops=2000),
        commitment("FRA", "air_defence", posture="behind_dnipro", troops=1500),
        commitment("FRA", "air_power", posture="neighbouring_territory", aircraft=12),
        commitment("FRA", "naval_presence", posture="offshore", ships=2),
        commitment("FRA", "military_aid", usd_per_year=1e9),
    ]
    lv, ev = run([package(fra)], V, detail=True)
    unit = {s: 75_000 + s * (670_000 - 75_000) for s in (0.0, 0.25, 0.5, 1.0)}
    cost = 1000 * unit[1.0] + 2000 * unit[0.25] + 1500 * unit[0.5] + 12 * 10e6 + 2 * 60e6 + 1e9
    r = ev.rows
    assert r["cost_raise_usd_per_year"][0, 0] == 0.0  # 20,163 needed, 46,077 available
    assert r["cost_usd_per_year"][0, 0] == approx(cost)
    gdp = COUNTRIES["FRA"].gdp_usd.value
    assert r["cost_pct_gdp"][0, 0] == approx(cost / gdp)
    total = COUNTRIES["FRA"].defence_pct_gdp.value + cost / gdp
    assert r["total_defence_pct_gdp"][0, 0] == approx(total)
    assert r["headroom_core_2035"][0, 0] == approx(0.035 - total)
    assert r["burden_share"][0, 0] == approx(1.0)
    assert ev.packages["total_cost_usd_per_year"][0, 0] == approx(cost)


def test_raising_missing_soldiers_and_burden_shares_by_hand():
    """Estonia's 5,000 in western Ukraine need a pool of 19,500; the shortfall
    is raised at Estonia's defence budget per active soldier."""
    est = commitment("EST", "deployed_ground_force", posture="western_ukraine", troops=5000)
    gbr = commitment("GBR", "military_aid", usd_per_year=3e9)
    lv, ev = run([package([est, gbr])], V, detail=True)
    e = COUNTRIES["EST"]
    short = 5000 * 3.0 * 1.3 - e.active_personnel.value * 0.4 * 0.7 * 0.8
    raise_ = short * 1.0 * e.defence_usd.value / e.active_personnel.value
    cost_est = 5000 * (75_000 + 0.25 * (670_000 - 75_000)) + raise_
    r = ev.rows
    k_est, k_gbr = row_of(lv, 0, "EST"), row_of(lv, 0, "GBR")
    assert r["cost_raise_usd_per_year"][k_est, 0] == approx(raise_)
    assert r["cost_usd_per_year"][k_est, 0] == approx(cost_est)
    assert r["burden_share"][k_est, 0] == approx(cost_est / (cost_est + 3e9))
    assert r["burden_share"][k_gbr, 0] == approx(3e9 / (cost_est + 3e9))
    gdp_e, gdp_g = e.gdp_usd.value, COUNTRIES["GBR"].gdp_usd.value
    assert r["gdp_share"][k_est, 0] == approx(gdp_e / (gdp_e + gdp_g))
    assert ev.packages["total_cost_usd_per_year"][0, 0] == approx(cost_est + 3e9)
    assert ev.packages["max_cost_pct_gdp"][0, 0] == approx(max(cost_est / gdp_e, 3e9 / gdp_g))


def test_a_guarantor_without_forces_raises_soldiers_at_the_median_budget():
    """Iceland has no armed forces: every soldier it deploys must be raised,
    at the median budget per soldier of the countries that could guarantee."""
    isl = commitment("ISL", "deployed_ground_force", posture="western_ukraine", troops=1000)
    _, ev = run([package([isl])], V, detail=True)
    per_soldier = [c.defence_usd.value / c.active_personnel.value for k, c in COUNTRIES.countries.items() if k not in ("UKR", "RUS") and c.active_personnel.value > 0]
    raise_ = 1000 * 3.0 * 1.3 * 1.0 * float(np.median(per_soldier))
    assert ev.rows["cost_raise_usd_per_year"][0, 0] == approx(raise_)
    assert ev.packages["total_cost_usd_per_year"][0, 0] == approx(1000 * (75_000 + 0.25 * 595_000) + raise_)


# ---------------------------------------------------------- deterrence, combat


def _deterrence_case():
    pk = package(
        [
            commitment("GBR", "deployed_ground_force", "executive_agreement", "after_consultation", posture="western_ukraine", troops=10_000),
            commitment("USA", "intelligence_sharing", "executive_agreement", "discretionary"),
            commitment("DEU", "military_aid", "executive_agreement", "discretionary", usd_per_year=2e9),
            commitment("DEU", "training", "executive_agreement", "after_consultation", posture="western_ukraine", troops=1000),
            commitment("POL", "sanctions_snapback", "executive_agreement", "after_consultation"),
        ]
    )
    cred_gbr = 0.8 * (h_of(10_000) + (1 - h_of(10_000)) * 0.41 * 0.65 * 0.8 * 0.8)
    cred_usa = 0.5 * 0.41 * 0.65 * 0.5 * 0.8
    cred_deu = 0.7 * (h_of(1000) + (1 - h_of(1000)) * 0.41 * 0.65 * 0.8 * 0.8)
    cred_pol = 0.9 * 0.41 * 0.65 * 0.8 * 1.0
    arrive = math.exp(-3 / 30)
    D = (800_000 + cred_deu * 2.0 * 13_600 + cred_deu * 1000 * 5) * (1 + 0.1 * cred_usa) + cred_gbr * 10_000 * arrive
    p_win = 1 / (1 + (2.0 * D / 700_000) ** 1.5)
    E = 3.0 * (1 - (1 - cred_gbr * 0.3))  # the UK is nuclear and its troops fight; US intelligence is not combat
    S = 0.3 * (1 - (1 - cred_pol))
    delta = 1.0 * p_win - (1 - p_win) - E - S
    annual = 1 / (1 + math.exp(-delta / 0.19775))
    attack = 1 - (1 - annual) ** 10
    return pk, D, p_win, annual, attack


def test_deterrence_by_hand():
    pk, D, p_win, annual, attack = _deterrence_case()
    _, ev = run([pk], V)
    p = ev.packages
    assert p["defender_strength"][0, 0] == approx(D)
    assert p["defence_holds_probability"][0, 0] == approx(1 - p_win)
    assert p["annual_attack_probability"][0, 0] == approx(annual)
    assert p["attack_probability"][0, 0] == approx(attack)


def test_combat_casualties_by_hand():
    """Lanchester: attacker loses 0.00086 * D a day, defender 0.00086 / 2**2 * R."""
    pk, D, _, _, attack = _deterrence_case()
    _, ev = run([pk], V)
    casualties = 180 * (0.00086 * D + 0.00086 / 2.0**2 * 700_000)
    assert ev.packages["casualties_if_war"][0, 0] == approx(casualties)
    assert ev.packages["expected_casualties"][0, 0] == approx(attack * casualties)


def test_mutual_defence_surge_and_nuclear_umbrella_by_hand():
    """France promises mutual defence (a surge of its deployable forces,
    arriving in 30 of a 30-day window) and the UK a nuclear umbrella (e = 1,
    political declaration after consultation)."""
    pk = package(
        [
            commitment("FRA", "mutual_defence", "executive_agreement", "after_consultation"),
            commitment("GBR", "nuclear_umbrella", "political_declaration", "after_consultation"),
        ]
    )
    cred_fra = 0.85 * 0.41 * 0.65 * 0.8 * 0.8
    cred_gbr = 0.8 * 0.41 * 0.25 * 0.8 * 0.8
    surge = COUNTRIES["FRA"].active_personnel.value * 0.4 * (1 - 0.3) * 0.8 * 0.2 * math.exp(-30 / 30)
    D = 800_000 + cred_fra * surge
    p_win = 1 / (1 + (2.0 * D / 700_000) ** 1.5)
    E = 3.0 * (1 - (1 - cred_gbr * 1.0) * (1 - cred_fra * 0.3))  # umbrella e = 1; France's pact in the nuclear shadow
    delta = p_win - (1 - p_win) - E
    attack = 1 - (1 - 1 / (1 + math.exp(-delta / 0.19775))) ** 10
    _, ev = run([pk], V)
    assert ev.packages["defender_strength"][0, 0] == approx(D)
    assert ev.packages["attack_probability"][0, 0] == approx(attack)


def test_calibration_status_quo_meets_fortnas_base_rate():
    """With the shipped defaults, political-declaration consultations (the
    status quo) leave a 0.45 chance of renewed war in 10 years (Fortna): this
    guards the derived deterrence.payoff_dispersion."""
    seed = load_package(next(p for p in SCENARIOS if p.name == "status-quo.yaml"), COUNTRIES)
    built = package([commitment(g, "consultation", "political_declaration", "discretionary") for g in ("USA", "GBR", "FRA", "DEU")])
    _, ev = run([seed, built])  # shipped central values
    for p in range(2):
        assert abs(ev.packages["attack_probability"][p, 0] - 0.45) <= 0.005


# ------------------------------------------------------------------- approval


def test_approval_with_two_vetoes_and_revocation_by_hand():
    """France's training mission needs Art. 35 (0.7), the US congressional-
    executive agreement both Houses (0.4). Weights blend, half and half, the
    shares of the cost at these values and of GDP; each share survives
    (1 - revocation)**10."""
    fra = commitment("FRA", "training", "executive_agreement", "after_consultation", posture="western_ukraine", troops=1000)
    usa = commitment("USA", "military_aid", "congressional_executive_agreement", "discretionary", usd_per_year=2e9)
    lv, ev = run([package([fra, usa], kyiv="accepted")], V, detail=True)
    c_fra, c_usa = 1000 * (75_000 + 0.25 * (670_000 - 75_000)), 2e9
    g_fra, g_usa = COUNTRIES["FRA"].gdp_usd.value, COUNTRIES["USA"].gdp_usd.value
    w_fra = 0.5 * c_fra / (c_fra + c_usa) + 0.5 * g_fra / (g_fra + g_usa)
    w_usa = 0.5 * c_usa / (c_fra + c_usa) + 0.5 * g_usa / (g_fra + g_usa)
    s_exec, s_cea = (1 - 0.04) ** 10, (1 - 0.015) ** 10
    national = w_fra * 0.7 * s_exec + w_usa * 0.4 * s_cea
    p = ev.packages
    assert p["approval_probability"][0, 0] == approx(0.9 * national)
    assert p["ratification_probability"][0, 0] == approx(w_fra * 0.7 + w_usa * 0.4)
    assert p["in_force_share"][0, 0] == approx(w_fra * s_exec + w_usa * s_cea)
    assert p["kyiv_acceptance"][0, 0] == approx(0.9)
    assert ev.rows["approval"][row_of(lv, 0, "FRA"), 0] == approx(0.7)
    assert ev.rows["approval"][row_of(lv, 0, "USA"), 0] == approx(0.4)
    # a Congress that never passes it removes the US share, nothing more
    _, ev0 = run([package([fra, usa], kyiv="accepted")], dict(V, **{"approval.us_congress_majorities": 0.0}))
    assert ev0.packages["approval_probability"][0, 0] == approx(0.9 * w_fra * 0.7 * s_exec)


def test_two_vetoes_on_one_row_and_eu_unanimity_by_hand():
    """Germany's treaty needs the Bundestag (0.65) and, as listed, a
    parliament vote (0.85); an EU commitment needs unanimity (0.6)."""
    deu = commitment("DEU", "mutual_defence", "ratified_treaty", "automatic", approvals=["national_parliament"])
    eu = commitment("EU", "humanitarian_aid", "executive_agreement", "discretionary", usd_per_year=1e9)
    pk = [package([deu], id="deu", kyiv="demanded"), package([eu], id="eu", kyiv="reluctant")]
    _, ev = run(pk, V)
    p = ev.packages["approval_probability"][:, 0]
    assert p[0] == approx(0.98 * 0.65 * 0.85 * (1 - 0.005) ** 10)
    assert p[1] == approx(0.6 * 0.6 * (1 - 0.04) ** 10)
    assert ev.packages["ratification_probability"][1, 0] == approx(0.6)


# ----------------------------------------------------------------- escalation


def test_escalation_incident_and_acceptance_by_hand():
    """UK troops at the contact line under combat rules, French aircraft
    offshore, Polish troops in western Ukraine (not a nuclear state)."""
    pk = package(
        [
            commitment("GBR", "deployed_ground_force", posture="contact_line", troops=10_000, rules_of_engagement="combat"),
            commitment("FRA", "air_power", posture="offshore", aircraft=8),
            commitment("POL", "deployed_ground_force", posture="western_ukraine", troops=2000),
        ]
    )
    _, ev = run([pk], V)
    exposure = (0.03 * 10_000 * 3.0 + 0.002 * 8 * 25) / 1e4
    incident = 1 - math.exp(-10 * exposure)
    cred_gbr = 0.8 * (h_of(10_000) + (1 - h_of(10_000)) * 0.41 * 0.65 * 0.8 * 0.8)
    cred_fra = 0.85 * 0.41 * 0.65 * 0.8 * 0.8
    fight = 1 - (1 - cred_gbr) * (1 - cred_fra)
    attack = ev.packages["attack_probability"][0, 0]  # checked by hand in the deterrence tests
    p = ev.packages
    assert p["incident_probability"][0, 0] == approx(incident)
    assert p["escalation_risk"][0, 0] == approx(1 - (1 - attack * fight) * (1 - incident))
    weighted = (10_000 * 0.03 / 0.004 + 8 * 25 * 0.002 / 0.004 + 2000 * 0.004 / 0.004) / 1e4
    assert p["adversary_acceptance"][0, 0] == approx(0.6 * math.exp(-0.15 * weighted) * (1 - 0.1) ** 1)


def test_acceptance_of_membership_treaty_and_umbrella_by_hand():
    nato = package([commitment("NATO", "mutual_defence", "ratified_treaty", "automatic")], id="nato")
    pact = package(
        [
            commitment("USA", "mutual_defence", "ratified_treaty", "automatic"),
            commitment("GBR", "nuclear_umbrella", "ratified_treaty", "automatic"),
        ],
        id="pact",
    )
    _, ev = run([nato, pact], V)
    acc = ev.packages["adversary_acceptance"][:, 0]
    assert acc[0] == approx(0.6 * (1 - 0.9))  # NATO's own treaty counts as membership, not as a separate pact
    assert acc[1] == approx(0.6 * (1 - 0.3) * (1 - 0.4))
    assert ev.packages["incident_probability"][1, 0] == 0.0


# --------------------------------------------------------------- humanitarian


def test_humanitarian_coverage_by_hand():
    pk = package(
        [
            commitment("DEU", "humanitarian_aid", "executive_agreement", "discretionary", usd_per_year=1e9),
            commitment("DEU", "reconstruction_aid", "executive_agreement", "discretionary", usd_per_year=4e9),
            commitment("NLD", "air_defence", posture="western_ukraine", troops=600, aircraft=4),
        ]
    )
    huge = package([commitment("GBR", "reconstruction_aid", "ratified_treaty", "automatic", usd_per_year=1e13)], id="huge")
    _, ev = run([pk, huge], V)
    need = 2.63e9 + 524e9 / 10
    cred_deu = 0.7 * 0.41 * 0.65 * 0.5 * 0.8
    cred_nld = 0.75 * (h_of(600) + (1 - h_of(600)) * 0.41 * 0.65 * 0.8 * 0.8)
    assert ev.packages["humanitarian_coverage"][0, 0] == approx(cred_deu * 5e9 / need)
    assert ev.packages["air_defence_coverage"][0, 0] == approx(cred_nld * (600 + 4 * 25) / 10_000)
    assert ev.packages["humanitarian_coverage"][1, 0] == 1.0  # capped at the whole need
