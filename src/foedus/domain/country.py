"""Countries: the members of NATO, the EU and the Coalition of the Willing,
Ukraine and Russia, each figure sourced."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from foedus.domain.reference import Reference
from foedus.domain.vocabulary import DeploymentApproval, Grade, Unit

#: Calendar years a country's time data (elections, national plans) may name.
FIRST_YEAR, LAST_YEAR = 1990, 2100
#: Bounds of a real growth rate a year (a fraction): wider than any
#: medium-term projection, narrow enough to catch a percentage (1.8 for 1.8 %).
GROWTH_LOW, GROWTH_HIGH = -0.1, 0.2


class Figure(BaseModel):
    """A number with unit, year, source id and confidence grade."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float = Field(ge=0)
    unit: Unit
    year: int = Field(ge=1990, le=2100)
    source: str = Field(min_length=1, description="key into the file's sources")
    grade: Grade
    note: str | None = None


class GrowthFigure(Figure):
    """A rate a year that may be negative (real GDP growth)."""

    value: float

    @field_validator("unit")
    @classmethod
    def _per_year(cls, u: Unit) -> Unit:
        if u is not Unit.PER_YEAR:
            raise ValueError(f"unit per_year for a growth rate a year, got {u.value}")
        return u

    @field_validator("value")
    @classmethod
    def _a_rate(cls, v: float) -> float:
        if not GROWTH_LOW <= v <= GROWTH_HIGH:
            raise ValueError(f"real growth a year as a fraction (1.8 % is 0.018, not 1.8), between {GROWTH_LOW} and {GROWTH_HIGH}; got {v}")
        return v


class YearList(BaseModel):
    """Calendar years with their source: ``{years: [2029, 2033], source: ...,
    grade: ..., note: ...}`` (sorted, each once)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    years: tuple[int, ...] = Field(min_length=1)
    source: str = Field(min_length=1, description="key into the file's sources")
    grade: Grade
    note: str | None = None

    @field_validator("years", mode="before")
    @classmethod
    def _plain_years(cls, v: object) -> object:
        if isinstance(v, (list, tuple)):
            for y in v:
                if isinstance(y, bool) or not isinstance(y, int):
                    raise ValueError(f"a list of calendar years such as [2029, 2033]; {y!r} is not a year")
        return v

    @field_validator("years")
    @classmethod
    def _sorted(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        bad = [y for y in v if not FIRST_YEAR <= y <= LAST_YEAR]
        if bad:
            raise ValueError(f"years from {FIRST_YEAR} to {LAST_YEAR}; {bad[0]} is not one")
        if list(v) != sorted(set(v)):
            raise ValueError(f"years in increasing order, each once; got {list(v)}")
        return v


class YearValues(BaseModel):
    """Fractions of GDP by calendar year with their source: ``{values: {2029:
    0.035}, source: ..., grade: ..., note: ...}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    values: dict[int, float] = Field(min_length=1)
    source: str = Field(min_length=1, description="key into the file's sources")
    grade: Grade
    note: str | None = None

    @field_validator("values", mode="before")
    @classmethod
    def _plain(cls, v: object) -> object:
        if isinstance(v, dict):
            for y, x in v.items():
                if isinstance(y, bool) or not isinstance(y, int):
                    raise ValueError(f"a mapping of calendar years to fractions such as {{2029: 0.035}}; {y!r} is not a year")
                if isinstance(x, bool):
                    raise ValueError(f"a fraction for year {y}, got {str(x).lower()}")
        return v

    @field_validator("values")
    @classmethod
    def _fractions(cls, v: dict[int, float]) -> dict[int, float]:
        for y, x in v.items():
            if not FIRST_YEAR <= y <= LAST_YEAR:
                raise ValueError(f"years from {FIRST_YEAR} to {LAST_YEAR}; {y} is not one")
            if not 0.0 < x < 1.0:
                raise ValueError(f"a fraction of GDP for year {y} (3.5 % is 0.035, not 3.5), got {x}")
        return dict(sorted(v.items()))


class Fact(BaseModel):
    """A categorical fact (membership, nuclear status, approval regime) with its source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: bool | DeploymentApproval
    source: str = Field(min_length=1)
    grade: Grade = Grade.VERIFIED
    note: str | None = None


class YesNoFact(Fact):
    """A fact that is true or false (a membership, nuclear status, a border)."""

    value: bool


class ApprovalFact(Fact):
    """A country's parliamentary control of deployments abroad."""

    value: DeploymentApproval


class Country(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    iso3: str = Field(pattern=r"^[A-Z]{3}$")
    name: str = Field(min_length=2)
    nato_member: YesNoFact
    eu_member: YesNoFact
    coalition_member: YesNoFact = Field(description="member of the Coalition of the Willing for Ukraine (as dated in its source)")
    nuclear_weapon_state: YesNoFact
    frontline: YesNoFact = Field(description="borders Russia, Belarus or Ukraine (by land or territorial sea)")
    deployment_approval: ApprovalFact
    gdp_usd: Figure
    defence_pct_gdp: Figure
    defence_usd: Figure
    active_personnel: Figure
    ukraine_military_aid_usd: Figure | None = Field(
        default=None,
        description="military aid to Ukraine a year, already inside defence spending under NATO's definition (absent: none counted)",
    )
    gdp_growth: GrowthFigure | None = Field(
        default=None,
        description="real GDP growth a year, a fraction, over the medium term (absent: time.gdp_growth.default)",
    )
    government_changes_data: YearList | None = Field(
        default=None,
        alias="government_changes",
        description="years in which a new government (head of the executive) takes office after a scheduled national election",
    )
    defence_plan_data: YearValues | None = Field(
        default=None,
        alias="defence_plan",
        description="the country's own national plan for defence spending, fraction of GDP by year (only where sourced)",
    )

    @model_validator(mode="after")
    def _types(self) -> "Country":
        for name in ("nato_member", "eu_member", "coalition_member", "nuclear_weapon_state", "frontline"):
            if not isinstance(getattr(self, name).value, bool):
                raise ValueError(f"{name}.value must be true or false")
        if not isinstance(self.deployment_approval.value, DeploymentApproval):
            raise ValueError("deployment_approval.value must be one of " + ", ".join(DeploymentApproval.values()))
        if self.defence_pct_gdp.unit is not Unit.FRACTION or self.defence_pct_gdp.value > 1:
            raise ValueError("defence_pct_gdp is a fraction of GDP (0.021, not 2.1)")
        return self

    @property
    def government_changes(self) -> tuple[int, ...]:
        """Years in which a new government takes office after a scheduled
        election (empty when not sourced)."""
        return self.government_changes_data.years if self.government_changes_data is not None else ()

    @property
    def defence_plan(self) -> dict[int, float]:
        """The national defence-spending plan, fraction of GDP by year
        (empty when not sourced)."""
        return dict(self.defence_plan_data.values) if self.defence_plan_data is not None else {}

    def time_data(self) -> dict[str, "YearList | YearValues"]:
        """The sourced time data this country has (government changes, defence plan)."""
        out: dict[str, YearList | YearValues] = {}
        if self.government_changes_data is not None:
            out["government_changes"] = self.government_changes_data
        if self.defence_plan_data is not None:
            out["defence_plan"] = self.defence_plan_data
        return out

    # Convenience accessors used by models and interfaces.
    @property
    def is_nato(self) -> bool:
        return bool(self.nato_member.value)

    @property
    def is_eu(self) -> bool:
        return bool(self.eu_member.value)

    @property
    def is_coalition(self) -> bool:
        return bool(self.coalition_member.value)

    def in_group(self, group: str) -> bool:
        """Membership of a group a commitment may name (``GROUPS``)."""
        try:
            return _GROUP_FACT[group](self)
        except KeyError:
            raise KeyError(group) from None

    @property
    def is_nuclear(self) -> bool:
        return bool(self.nuclear_weapon_state.value)

    def figures(self) -> dict[str, Figure]:
        out = {
            "gdp_usd": self.gdp_usd,
            "defence_pct_gdp": self.defence_pct_gdp,
            "defence_usd": self.defence_usd,
            "active_personnel": self.active_personnel,
        }
        if self.ukraine_military_aid_usd is not None:
            out["ukraine_military_aid_usd"] = self.ukraine_military_aid_usd
        if self.gdp_growth is not None:
            out["gdp_growth"] = self.gdp_growth
        return out

    def facts(self) -> dict[str, Fact]:
        return {
            "nato_member": self.nato_member,
            "eu_member": self.eu_member,
            "coalition_member": self.coalition_member,
            "nuclear_weapon_state": self.nuclear_weapon_state,
            "frontline": self.frontline,
            "deployment_approval": self.deployment_approval,
        }


class CountryTable(BaseModel):
    """The whole country file: countries keyed by ISO3 plus the sources they cite."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: dict[str, Reference] = Field(min_length=1)
    countries: dict[str, Country] = Field(min_length=1)
    _members: dict[str, tuple[str, ...]] = PrivateAttr(default_factory=dict)
    _bound: dict[tuple, tuple] = PrivateAttr(default_factory=dict)
    _derived: dict[tuple, object] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> "CountryTable":
        for key, c in self.countries.items():
            if key != c.iso3:
                raise ValueError(f"countries.{key}: key must equal iso3 ({c.iso3})")
            for fname, f in {**c.figures(), **c.facts(), **c.time_data()}.items():
                if f.source not in self.sources:
                    raise ValueError(f"countries.{key}.{fname}.source: '{f.source}' is not a key of sources")
        return self

    def __getitem__(self, iso3: str) -> Country:
        return self.countries[iso3]

    def __contains__(self, iso3: object) -> bool:
        return iso3 in self.countries

    def get(self, iso3: str) -> Country | None:
        return self.countries.get(iso3)

    def members(self, group: str) -> list[str]:
        """ISO3 codes of a group's members (NATO, EU, COALITION), in file order."""
        if group not in _GROUP_FACT:
            raise KeyError(group)
        # the table is frozen, so each group's members are found once; the
        # private dict is read from its slot (pydantic's attribute lookup of
        # ``self._members`` took 10 µs, a tenth of compiling a comparison)
        found = self.__pydantic_private__["_members"]
        if group not in found:
            found[group] = tuple(k for k, c in self.countries.items() if c.in_group(group))
        return list(found[group])

    def derived(self, key: tuple, build):
        """``build()``, kept under ``key``: a value worked out from this
        (frozen) table alone, once. Compiling packages keeps here what it
        asks of the table for every group commitment of every variant of a
        comparison: a group's members less those it leaves out, their
        shares and the approvals each needs (``models/levers.py``)."""
        found = self.__pydantic_private__["_derived"]
        if key not in found:
            found[key] = build()
        return found[key]

    def bound(self, group: str, left_out: tuple[str, ...] = ()) -> tuple[frozenset[str], float]:
        """The members a group commitment binds (the group's less those it
        leaves out) and their GDP in all, summed in file order; once per
        group and ``left_out`` (a comparison asks it for every group
        commitment of every package without each of its guarantors)."""
        found = self.__pydantic_private__["_bound"]
        key = (group, left_out)
        if key not in found:
            bound = [m for m in self.members(group) if m not in left_out]
            found[key] = (frozenset(bound), sum(self.countries[m].gdp_usd.value for m in bound))
        return found[key]


#: How each group of ``GROUPS`` is read from a country's facts.
_GROUP_FACT = {
    "NATO": lambda c: c.is_nato,
    "EU": lambda c: c.is_eu,
    "COALITION": lambda c: c.is_coalition,
}
