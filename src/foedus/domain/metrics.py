"""The metric catalogue: every metric foedus reports, once.

Each metric has a key, a label for people, a kind (how its values are
shown: probability, US dollars, share of GDP, persons, count, ratio), a
direction (+1 higher is better, -1 lower is better, 0 neither), the level
it belongs to (package, guarantor or element), whether explorations store
it, and a one-sentence description. Every list of metrics in the code comes
from here: the model's outputs, the comparison contract, the summary table,
the charts, what a run stores, what robustness ranks, how the CLI, the web
app and the report label and format them. Adding a metric means adding it
to its sub-model and to this table.
"""

from __future__ import annotations

from dataclasses import dataclass

PACKAGE, GUARANTOR, ELEMENT, YEAR = "package", "guarantor", "element", "year"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    kind: str  # prob | usd | pct_gdp | pct_gdp_signed | persons | count | ratio
    direction: int  # +1 higher is better, -1 lower is better, 0 neither
    level: str
    description: str
    #: part of the comparison contract (``compare --json``), in contract order
    contract: bool = False
    #: kept by ``foedus explore`` in the run store
    stored: bool = False


def _p(key, label, kind, direction, description, *, contract=False, stored=False) -> Metric:
    return Metric(key, label, kind, direction, PACKAGE, description, contract, stored)


def _g(key, label, kind, direction, description) -> Metric:
    return Metric(key, label, kind, direction, GUARANTOR, description)


def _e(key, label, kind, direction, description) -> Metric:
    return Metric(key, label, kind, direction, ELEMENT, description)


def _y(key, label, kind, direction, description) -> Metric:
    return Metric(key, label, kind, direction, YEAR, description)


CATALOGUE: tuple[Metric, ...] = (
    # -- package metrics: the comparison contract first, in its order
    _p("attack_probability", "Attack within horizon", "prob", -1,
       "Probability that the adversary renews the war within the horizon (deterrence sub-model: a yearly hazard, the ceasefire "
       "base rate at the local balance of forces, times the bounded effects of the guarantees and the ceasefire terms, plus a "
       "floor no guarantee removes).", contract=True, stored=True),
    _p("defence_holds_probability", "Defence holds if attacked", "prob", 1,
       "If war resumes, the probability that Ukraine and the guarantors who fight hold the line (combat sub-model, force ratios "
       "with a defender advantage).", contract=True, stored=True),
    _p("approval_probability", "Approved and in force", "prob", 1,
       "Kyiv's acceptance x collective vetoes (EU, NATO unanimity) x the expected share of the package, by what each guarantor "
       "brings, approved by its veto players (Senate, parliaments) and still in force at the horizon.", contract=True, stored=True),
    _p("escalation_risk", "Nuclear-power confrontation", "prob", -1,
       "Probability of a direct confrontation between nuclear powers over the horizon (posture, rules of engagement, "
       "nuclear-state forces in theatre).", contract=True, stored=True),
    _p("adversary_acceptance", "Adversary accepts the deal", "prob", 1,
       "Probability that the adversary accepts a deal with this package rather than rejecting it.", contract=True, stored=True),
    _p("humanitarian_coverage", "Aid needs covered", "prob", 1,
       "Share of humanitarian and reconstruction financing needs the package credibly covers (funding weighted by each "
       "guarantor's delivery).", contract=True, stored=True),
    _p("total_cost_usd_per_year", "Cost per year", "usd", -1,
       "Annual cost to all guarantors, on top of current defence spending: deployed forces, aircraft, ships, aid, and raising "
       "forces a guarantor lacks.", contract=True, stored=True),
    # -- the other package metrics
    _p("guarantee_cost_usd_per_year", "Guarantee's own cost per year", "usd", -1,
       "Cost per year of the guarantee itself: forces, aircraft, ships, monitoring missions and raising forces a guarantor "
       "lacks, without the aid money."),
    _p("aid_usd_per_year", "Aid per year", "usd", 0,
       "Military, humanitarian and reconstruction aid the package budgets per year (as pledged, before delivery)."),
    _p("max_cost_pct_gdp", "Highest guarantor cost", "pct_gdp", -1,
       "The highest annual cost borne by one guarantor, as a share of its GDP.", stored=True),
    _p("troops_deployed", "Personnel deployed", "persons", 0,
       "Personnel the guarantors keep deployed (ground, air and naval crews)."),
    _p("troops_required_pool", "Pool needed (rotation, enablers)", "persons", -1,
       "Personnel that must exist to keep that many deployed: rotation and enablers.", stored=True),
    _p("guarantors_short", "Guarantors short of troops", "count", -1,
       "Guarantors whose deployable capacity is below the pool their share needs.", stored=True),
    _p("expected_casualties", "Expected casualties (risk-weighted)", "persons", -1,
       "Casualties if war resumes, weighted by the probability that it does.", stored=True),
    _p("casualties_if_war", "Casualties if war resumes", "persons", -1, "Casualties over the campaign if war resumes."),
    _p("air_defence_coverage", "Air-defence needs covered", "prob", 1,
       "Share of civilian air-defence needs covered by air-defence batteries delivered in Ukraine.", stored=True),
    _p("annual_attack_probability", "Attack per year", "prob", -1, "The same risk expressed per year.", stored=True),
    _p("defender_strength", "Defending troop-equivalents", "persons", 1,
       "Troop-equivalents defending Ukraine in the decisive window, credibility-weighted."),
    _p("ratification_probability", "All veto players approve", "prob", 1, "Probability that every veto player approves the package."),
    _p("kyiv_acceptance", "Kyiv accepts", "prob", 1,
       "Probability that Ukraine accepts the package (an agreement Kyiv does not accept is unstable)."),
    _p("in_force_share", "Share still in force at horizon", "prob", 1,
       "Share of the horizon the commitments are expected to remain in force (revocation hazard by legal form)."),
    _p("incident_probability", "Direct clash in peacetime", "prob", -1,
       "Probability of a direct clash between guarantor and adversary forces in peacetime."),
    # -- per guarantor
    _g("credibility", "Credibility", "prob", 1, "Probability that the guarantor fights if Ukraine is attacked (its strongest promise)."),
    _g("delivery", "Delivery", "prob", 1, "Share of the guarantor's money and training expected to be delivered over the horizon."),
    _g("approval", "Own approvals pass", "prob", 1, "Probability that every veto player the guarantor's instruments need approves."),
    _g("cost_usd_per_year", "Cost per year", "usd", -1, "The guarantor's annual cost."),
    _g("cost_pct_gdp", "Cost, % GDP", "pct_gdp", -1, "The guarantor's annual cost as a share of its GDP."),
    _g("total_defence_pct_gdp", "Defence spending incl. package", "pct_gdp", 0,
       "Current defence spending plus the package, less the aid it already gave, as a share of GDP."),
    _g("headroom_core_2014", "Headroom to 2% mark", "pct_gdp_signed", 0, "2 % of GDP less the total (negative: above the mark)."),
    _g("headroom_core_2035", "Headroom to 3.5% mark", "pct_gdp_signed", 0, "3.5 % of GDP less the total."),
    _g("headroom_total_2035", "Headroom to 5% mark", "pct_gdp_signed", 0, "5 % of GDP less the total."),
    _g("burden_share", "Share of package cost", "prob", 0, "The guarantor's share of the package's cost."),
    _g("gdp_share", "Share of package GDP", "prob", 0, "The guarantor's share of the package guarantors' GDP."),
    _g("troops_deployed", "Personnel deployed", "persons", 0, "Personnel the guarantor keeps deployed."),
    _g("troops_required_pool", "Pool needed (rotation, enablers)", "persons", -1, "Personnel it needs to sustain them."),
    _g("troops_available", "Deployable capacity", "persons", 1, "Personnel it can deploy."),
    _g("capacity_ratio", "Capacity / pool needed", "ratio", 1, "Deployable capacity over the pool needed."),
    _g("shortfall", "Shortfall", "persons", -1, "Pool needed beyond deployable capacity."),
    _g("cost_raise_usd_per_year", "Cost of raising new forces", "usd", -1, "The part of the cost spent raising the shortfall."),
    # -- per element (one legal instrument of one guarantor)
    _e("credibility", "Credibility", "prob", 1, "Probability that the instrument is honoured."),
    _e("delivery", "Delivery", "prob", 1, "Probability that what it delivers in peacetime is delivered."),
    _e("approval", "Own approvals pass", "prob", 1, "Probability that its veto players approve."),
    _e("survival", "Still in force at horizon", "prob", 1, "Probability that it is still in force at the horizon."),
    _e("cost_usd_per_year", "Cost per year", "usd", -1, "Its annual cost."),
    _e("weight", "Weight in approval", "prob", 0, "Its weight in the package's approval average."),
    # -- on the time axis only (foedus.exploration.years): a value per year; a
    # package metric of the same key is that year's value
    _y("attack_probability", "Attack by this year", "prob", -1,
       "Probability that the adversary has renewed the war by the end of the year: 1 - prod (1 - yearly hazard) over the "
       "years so far, with lapse, build-up and the early post-ceasefire hazard."),
    _y("cumulative_cost_usd", "Cumulative cost", "usd", -1, "Cost to all guarantors summed over the years so far."),
    _y("discounted_cost_usd", "Cumulative cost, discounted", "usd", -1,
       "The cumulative cost with each year's spending discounted to the start year at time.discount_rate."),
    _y("enabler_cost_usd_per_year", "Enablers: cost per year", "usd", -1,
       "Buying (spread over the delivery lag before service) and operating the enablers the package builds."),
    _y("troops_short", "Personnel still to raise", "persons", -1,
       "Pool needed beyond deployable capacity and the soldiers trained so far for the mission."),
    _y("recruits", "Soldiers raised for the mission", "persons", 0,
       "Soldiers recruited so far for the mission (on the payroll), capped at what is needed."),
    _y("raise_cost_usd_per_year", "Cost of raising forces", "usd", -1, "Recruited soldiers times the yearly cost of a soldier."),
    _y("defence_plan_pct_gdp", "Defence spending, national plan", "pct_gdp", 0,
       "Defence spending without the package: the national plan where sourced, else today's share."),
    _y("hague_path_pct_gdp", "Hague path (5% by 2035)", "pct_gdp", 0,
       "A straight path from today's share to the Hague pledge of 5 % of GDP (3.5 % core + 1.5 %) in 2035."),
)


def _keys(level: str, **where) -> tuple[str, ...]:
    return tuple(m.key for m in CATALOGUE if m.level == level and all(getattr(m, k) == v for k, v in where.items()))


#: Package metrics in the order the model returns them (the contract first).
PACKAGE_METRICS = _keys(PACKAGE)
#: The comparison contract's package metrics, in contract order.
CONTRACT_METRICS = _keys(PACKAGE, contract=True)
#: Package metrics an exploration stores, in the run store's column order
#: (fixed: stored runs and their hashes depend on it; the ``stored`` flags
#: above say the same, which a test checks).
STORED_METRICS = CONTRACT_METRICS + (
    "max_cost_pct_gdp", "expected_casualties", "troops_required_pool", "guarantors_short", "air_defence_coverage",
    "annual_attack_probability",
)
GUARANTOR_METRICS = _keys(GUARANTOR)
ELEMENT_METRICS = _keys(ELEMENT)
#: The rows of a summary table, in reading order (deter, hold, human cost,
#: approve, risks, humanitarian, cost, forces).
SUMMARY_METRICS = (
    "attack_probability", "defence_holds_probability", "expected_casualties", "approval_probability", "escalation_risk",
    "adversary_acceptance", "humanitarian_coverage", "air_defence_coverage", "total_cost_usd_per_year", "max_cost_pct_gdp",
    "troops_deployed", "troops_required_pool", "guarantors_short",
)
#: The web page's side-by-side table: the summary with Kyiv's acceptance.
TABLE_METRICS = SUMMARY_METRICS[:4] + ("kyiv_acceptance",) + SUMMARY_METRICS[4:]
#: Metrics charted baseline against current.
CHART_METRICS = (
    "attack_probability", "approval_probability", "escalation_risk", "defence_holds_probability", "total_cost_usd_per_year",
    "troops_required_pool",
)
#: The bottom line: deterrence against cost, with approval.
BOTTOM_LINE = ("attack_probability", "total_cost_usd_per_year", "approval_probability")

_BY_LEVEL = {(m.level, m.key): m for m in CATALOGUE}
#: Package metrics where lower is better (robustness and regret).
LOWER_IS_BETTER = frozenset(m.key for m in CATALOGUE if m.level == PACKAGE and m.direction < 0)
HIGHER_IS_BETTER = frozenset(m.key for m in CATALOGUE if m.level == PACKAGE and m.direction > 0)


#: Package metrics with a value per year on the time axis, which an
#: exploration or a sensitivity analysis can take for one year as
#: ``<metric>@<year>`` (``attack_probability@2029``: attack by 2029).
YEARLY_METRICS = (
    "attack_probability", "annual_attack_probability", "total_cost_usd_per_year", "guarantee_cost_usd_per_year", "aid_usd_per_year",
    "enabler_cost_usd_per_year", "max_cost_pct_gdp", "cumulative_cost_usd", "discounted_cost_usd", "troops_deployed",
    "troops_required_pool", "troops_short", "guarantors_short",
)


def split_yearly(key: str) -> tuple[str, int] | None:
    """``("attack_probability", 2029)`` for ``attack_probability@2029``;
    None for a key without a year. Raises for a malformed yearly key."""
    if "@" not in key:
        return None
    base, _, year = key.partition("@")
    if base not in YEARLY_METRICS or not year.strip().isdigit():
        raise KeyError(f"unknown yearly metric '{key}': METRIC@YEAR with METRIC one of {', '.join(YEARLY_METRICS)}")
    return base, int(year)


def metric(key: str, level: str = PACKAGE) -> Metric:
    """The catalogue entry of ``key`` (package level unless ``level``
    says otherwise; a guarantor or element key falls back to the package
    entry of the same name; ``<metric>@<year>`` is that metric in one year
    of the time axis)."""
    yearly = split_yearly(key)
    if yearly is not None:
        m = metric(yearly[0], YEAR)
        label = f"Attack by {yearly[1]}" if yearly[0] == "attack_probability" else f"{m.label}, {yearly[1]}"
        return Metric(key, label, m.kind, m.direction, YEAR, m.description)
    m = _BY_LEVEL.get((level, key)) or _BY_LEVEL.get((PACKAGE, key)) or _BY_LEVEL.get((GUARANTOR, key)) or _BY_LEVEL.get((YEAR, key))
    if m is None:
        raise KeyError(f"unknown metric '{key}'")
    return m


def find(text: str, keys: tuple[str, ...] = STORED_METRICS) -> str | None:
    """The key among ``keys`` that ``text`` names, by key or by label
    (case and spacing ignored); None if it names none."""
    t = " ".join(text.strip().lower().replace("_", " ").split())
    for k in keys:
        m = metric(k)
        if t in (k.replace("_", " "), " ".join(m.label.lower().split())):
            return k
    return None
