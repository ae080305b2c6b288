"""Issue 16, sourced data for the time axis: each country's medium-term GDP
growth, the years in which a new government takes office, its own national
defence plan, and the unit costs and lead times of the enablers a package
can build. The shipped data must be plausible, and a broken file must be
refused with an error that names the field."""

from __future__ import annotations

import re

import pytest

from foedus.data.loaders import _data_path, load_countries, load_parameters
from foedus.domain.errors import InputError
from foedus.domain.vocabulary import Enabler, Unit

#: The guarantors the brief names: every one must carry growth and an election calendar.
REQUIRED = ("USA", "GBR", "FRA", "DEU", "POL", "ITA", "CAN", "NLD", "ESP", "SWE", "NOR", "DNK", "FIN", "BEL", "TUR",
            "JPN", "AUS", "EST", "LVA", "LTU")
FIRST, LAST = 2026, 2040


@pytest.fixture(scope="module")
def countries():
    return load_countries()


@pytest.fixture(scope="module")
def params():
    return load_parameters()


# ---------------------------------------------------------------------------
# shipped data
# ---------------------------------------------------------------------------


def test_every_country_has_imf_growth_as_a_fraction(countries):
    for iso, c in countries.countries.items():
        g = c.gdp_growth
        assert g is not None, iso
        assert g.unit is Unit.PER_YEAR and g.source == "imf-weo-2025-10", iso
        assert -0.05 < g.value < 0.1, f"{iso}: {g.value} is not a growth rate a year as a fraction"
    # the IMF's October 2025 means for 2026-2030, as the note of time.gdp_growth.default quotes
    assert countries["JPN"].gdp_growth.value == pytest.approx(0.0057, abs=5e-5)
    assert countries["ITA"].gdp_growth.value == pytest.approx(0.0069, abs=5e-5)
    assert countries["POL"].gdp_growth.value == pytest.approx(0.0280, abs=5e-5)
    assert countries["TUR"].gdp_growth.value == pytest.approx(0.0377, abs=5e-5)


def test_growth_note_gives_the_five_years_it_averages(countries):
    for iso, c in countries.countries.items():
        years = [float(x) for x in re.findall(r"-?\d+\.\d+", c.gdp_growth.note.split("(")[-1])]
        assert len(years) == 5, iso
        assert c.gdp_growth.value == pytest.approx(sum(years) / 500, abs=1e-5), iso


def test_required_guarantors_have_an_election_calendar(countries):
    for iso in REQUIRED:
        years = countries[iso].government_changes
        assert years, iso
        assert list(years) == sorted(set(years)), iso
        assert all(FIRST <= y <= LAST for y in years), (iso, years)
        gaps = {b - a for a, b in zip(years, years[1:])}
        assert gaps <= {3, 4, 5}, (iso, years)  # terms of three to five years
        assert countries[iso].government_changes_data.source in countries.sources, iso
    assert countries["USA"].government_changes == (2029, 2033, 2037)
    assert countries["FRA"].government_changes == (2027, 2032, 2037)
    assert countries["DEU"].government_changes[0] == 2029
    assert countries["GBR"].government_changes[0] == 2029


def test_a_country_without_data_has_empty_time_fields(countries):
    c = countries["ISL"]
    assert c.government_changes == () and c.defence_plan == {}


def test_national_defence_plans_are_fractions(countries):
    plans = {iso: c.defence_plan for iso, c in countries.countries.items() if c.defence_plan}
    assert {"DEU", "POL", "GBR"} <= set(plans)
    for iso, plan in plans.items():
        assert all(2020 <= y <= LAST for y in plan), iso
        assert all(0.01 < v < 0.1 for v in plan.values()), (iso, plan)
        assert countries[iso].defence_plan_data.source in countries.sources, iso
    assert plans["DEU"][2029] == pytest.approx(0.035)
    assert plans["POL"][2026] == pytest.approx(0.048)
    assert plans["GBR"][2027] == pytest.approx(0.025)


def test_time_data_sources_are_complete(countries):
    for iso, c in countries.countries.items():
        for name, d in c.time_data().items():
            ref = countries.sources[d.source]
            assert ref.publisher.strip() and ref.title.strip(), (iso, name)


# ---------------------------------------------------------------------------
# broken files: one failure mode each, the error names the field
# ---------------------------------------------------------------------------

USA_GROWTH = 'gdp_growth: {value: 0.01977, unit: per_year'
USA_CHANGES = "government_changes: {years: [2029, 2033, 2037], source: us-const-art2-amend20"
DEU_PLAN = "defence_plan: {values: {2025: 0.024, 2029: 0.035}"


@pytest.mark.parametrize(
    "old, new, fields",
    [
        (USA_GROWTH, 'gdp_growth: {value: 1.977, unit: per_year', ["countries.USA.gdp_growth.value", "1.8 % is 0.018"]),
        (USA_GROWTH, 'gdp_growth: {value: 0.01977, unit: fraction', ["countries.USA.gdp_growth.unit", "per_year for a growth rate a year, got fraction"]),
        (USA_CHANGES, "government_changes: {years: [2033, 2029, 2037], source: us-const-art2-amend20",
         ["countries.USA.government_changes.years", "increasing order"]),
        (USA_CHANGES, "government_changes: {years: [2029, 2033, 2029], source: us-const-art2-amend20",
         ["countries.USA.government_changes.years", "each once"]),
        (USA_CHANGES, "government_changes: {years: [2029, '2033'], source: us-const-art2-amend20",
         ["countries.USA.government_changes.years", "'2033' is not a year"]),
        (USA_CHANGES, "government_changes: {years: [2029, 3033], source: us-const-art2-amend20",
         ["countries.USA.government_changes.years", "3033 is not one"]),
        (USA_CHANGES, "government_changes: {years: [], source: us-const-art2-amend20",
         ["countries.USA.government_changes.years"]),
        (USA_CHANGES, "government_changes: {years: [2029, 2033, 2037], source: no-such-law",
         ["countries.USA.government_changes.source", "'no-such-law' is not one"]),
        (DEU_PLAN, "defence_plan: {values: {2025: 2.4, 2029: 3.5}", ["countries.DEU.defence_plan.values", "3.5 % is 0.035"]),
        (DEU_PLAN, "defence_plan: {values: {2025: 0.024, 2029: yes}", ["countries.DEU.defence_plan.values", "a fraction for year 2029"]),
        (DEU_PLAN, "defence_plan: {values: {}", ["countries.DEU.defence_plan.values"]),
        (DEU_PLAN, "defence_plan: {values: {2025: 0.024, 2029: 0.035}, colour: red", ["countries.DEU.defence_plan.colour"]),
    ],
)
def test_a_broken_time_field_gets_a_clear_error(tmp_path, old, new, fields):
    text = _data_path("countries.yaml").read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    f = tmp_path / "countries.yaml"
    f.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as ei:
        load_countries(str(f))
    msg = str(ei.value)
    assert msg.startswith(str(f)), msg
    for frag in fields:
        assert frag in msg, msg


# ---------------------------------------------------------------------------
# enabler costs
# ---------------------------------------------------------------------------

ENABLER_FIELDS = {"acquisition": Unit.USD, "operating_year": Unit.USD_PER_YEAR, "delivery_years": Unit.YEARS}


@pytest.mark.parametrize("enabler", list(Enabler), ids=lambda e: e.value)
def test_every_enabler_has_its_price_running_cost_and_lead_time(params, enabler):
    got = {}
    for field, unit in ENABLER_FIELDS.items():
        name = f"costs.enabler.{enabler.value}.{field}"
        assert name in params, f"missing parameter {name}"
        p = params[name]
        assert p.unit is unit, name
        assert p.uncertainty is not None and p.uncertainty.low <= p.value <= p.uncertainty.high, name
        assert p.references, name
        got[field] = p.value
    # one unit costs between USD 50 m and USD 5 bn; running it a year between 1 % and 50 % of that
    assert 5e7 <= got["acquisition"] <= 5e9, enabler
    assert 0.01 <= got["operating_year"] / got["acquisition"] <= 0.5, enabler
    assert 1 <= got["delivery_years"] <= 10, enabler


def test_no_enabler_parameter_for_an_unknown_enabler(params):
    known = {e.value for e in Enabler}
    used = {n.split(".")[2] for n in params if n.startswith("costs.enabler.")}
    assert used == known
