"""Guarantee packages and their commitments (the levers users design).

A package is what a set of guarantors promise Ukraine. Ukraine's own forces
and the adversary are *context* (parameters), never commitments. Checks that
need country data (is the guarantor known, is it a nuclear-weapon state) read
it from the pydantic validation context ``{"countries": {...}}`` so the types
stay free of I/O.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from foedus.domain.reference import Reference
from foedus.domain.vocabulary import (
    GROUPS,
    MONEY_KINDS,
    Approval,
    Enabler,
    Kind,
    KyivPosition,
    LegalForm,
    Posture,
    RulesOfEngagement,
    Trigger,
)

CONTEXT_ONLY = ("UKR", "RUS")
#: Words left out of a country's initials ("United States of America" -> USA).
_MINOR_WORDS = frozenset({"of", "and", "the"})
#: Country codes suggested at most for one misspelling.
SUGGESTIONS = 3


def _fold(text: str) -> str:
    """Text as compared: one line, case and accents ignored ("Türkiye" -> "turkiye")."""
    text = unicodedata.normalize("NFKD", " ".join(text.split())).casefold()
    return "".join(c for c in text if not unicodedata.combining(c))


def _initials(name: str) -> str:
    return "".join(w[0] for w in _fold(name).replace("-", " ").split() if w not in _MINOR_WORDS)


def suggest_countries(text: str, names: dict[str, str]) -> list[str]:
    """ISO3 codes among ``names`` (ISO3 -> country name) that ``text`` (a
    misspelt code or a country's name) may mean, best first: a code or name
    written differently ("deu", "Germany"), a name's initials ("UK"), the
    start of a name ("GER"), then the closest names and codes by
    :func:`difflib.get_close_matches`. Ukraine and Russia are never
    suggested (they are context, not guarantors)."""
    t = _fold(text)
    if not t:
        return []
    names = {k: v for k, v in names.items() if k not in CONTEXT_ONLY}
    codes = {_fold(k): k for k in names}
    by_name = {_fold(v): k for k, v in names.items()}
    strong = [codes.get(t), by_name.get(t), by_name.get(t.removeprefix("the "))]
    strong += [k for k, v in names.items() if _initials(v) == t or (len(t) >= 3 and _fold(v).startswith(t))]
    strong = [k for k in dict.fromkeys(strong) if k]
    if strong:
        return strong[:SUGGESTIONS]
    close = [by_name[m] for m in difflib.get_close_matches(t, by_name, SUGGESTIONS, 0.6)]
    close += [codes[m] for m in difflib.get_close_matches(t, codes, SUGGESTIONS, 0.6)]
    return list(dict.fromkeys(close))[:SUGGESTIONS]


def country_hint(text: str, names: dict[str, str]) -> str:
    """": did you mean DEU (Germany)?" for a misspelt country code or name
    (see :func:`suggest_countries`); empty when nothing is close."""
    near = suggest_countries(text, names)
    if not near:
        return ""
    shown = [f"{k} ({names[k]})" for k in near]
    return ": did you mean " + (shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]) + "?"

#: Years a package may name (the assessment runs from its start year,
#: ``assessment.start_year``, to the horizon).
FIRST_YEAR, LAST_YEAR = 2000, 2100
#: Fields that may be given per year: ``{2027: 10000, 2029: 25000}``.
SIZE_FIELDS = ("troops", "aircraft", "ships", "usd_per_year", "units")


def _size_field(kind: type, high: float):
    """A size (``kind`` between 0 and ``high``), or the same by year: a
    mapping ``{year: value}`` read as steps (each value holds from its year
    until the next one; before the first year, nothing). Errors read as
    pydantic's own for a plain value, and name the year for a mapping."""
    scalar = TypeAdapter(Annotated[kind, Field(ge=0, le=high)])

    def one(v: object) -> object:
        # YAML reads yes/no/on/off/true/false as booleans; pydantic would take True as 1.
        if isinstance(v, bool):
            raise ValueError(f"a number, got {str(v).lower()} (YAML reads yes/no/on/off as true/false)")
        try:
            return scalar.validate_python(v)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise PydanticCustomError(err["type"], err["msg"].replace("{", "(").replace("}", ")")) from None

    def parse(v: object) -> object:
        if not isinstance(v, Mapping):
            return one(v)
        if not v:
            raise ValueError("a number, or a mapping of years to numbers such as {2027: 10000, 2029: 25000}; got an empty mapping")
        out = {}
        for y, val in v.items():
            # JSON keys are strings: "2027" is the year 2027
            year = y if isinstance(y, int) and not isinstance(y, bool) else int(y) if isinstance(y, str) and y.strip().isdigit() else str(y)
            if not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
                raise ValueError(f"a mapping of years ({FIRST_YEAR}-{LAST_YEAR}) to numbers, such as {{2027: 10000}}; {y!r} is not a year")
            try:
                out[year] = one(val)
            except (ValueError, PydanticCustomError) as exc:
                text = str(exc).split(" [type=")[0].removeprefix("Input should be ")
                got = "" if ", got " in text else f", got {val!r}"  # one "got", whichever message says it
                raise ValueError(f"a number for year {year}: {text}{got}") from None
        return dict(sorted(out.items()))

    return BeforeValidator(parse)


def size_at(value, year: int):
    """A size in ``year``: a plain value is the same every year; a mapping
    gives the value of the latest year listed up to ``year`` (0 before the
    first)."""
    if not _by_year(value):
        return value
    held = [v for y, v in value.items() if y <= year]
    return held[-1] if held else type(next(iter(value.values())))(0)


def size_scaled(value, factor: float):
    """A size (plain or by year) times ``factor``."""
    if _by_year(value):
        return {y: v * factor for y, v in value.items()}
    return value * factor


def size_peak(value):
    """The largest value a size takes in any year."""
    return max(value.values()) if _by_year(value) else value


def _by_year(value) -> bool:
    """Whether a size is given by year (a mapping) rather than as one number
    (numbers tested first: an ABC's ``isinstance`` is slow, and compiling a
    comparison asks this thousands of times)."""
    return not isinstance(value, (int, float)) and isinstance(value, Mapping)


#: Kinds that must state how many troops they involve.
NEEDS_TROOPS = frozenset({Kind.DEPLOYED_GROUND_FORCE, Kind.TRAINING})
#: Kinds that must state how many aircraft they involve.
NEEDS_AIRCRAFT = frozenset({Kind.AIR_POWER})
#: Kinds that must state money per year.
NEEDS_USD = frozenset({Kind.MILITARY_AID, Kind.HUMANITARIAN_AID, Kind.RECONSTRUCTION_AID})
#: Kinds that must state where they stand.
NEEDS_POSTURE = frozenset(
    {Kind.DEPLOYED_GROUND_FORCE, Kind.AIR_POWER, Kind.AIR_DEFENCE, Kind.NAVAL_PRESENCE, Kind.TRAINING}
)
#: Kinds that may carry personnel (and then must state where they stand).
MAY_HAVE_PERSONNEL = frozenset({Kind.CEASEFIRE_MONITORING})
#: The size each kind must state (> 0), by field.
_NEEDS = {"troops": NEEDS_TROOPS, "aircraft": NEEDS_AIRCRAFT, "usd_per_year": NEEDS_USD, "units": frozenset({Kind.ENABLER_BUILD})}


def _lacks_size(kind: Kind, sizes: dict) -> bool:
    """Whether a commitment of ``kind`` with these (plain) sizes has none of
    the size its kind needs (then it is not in force in that year)."""
    return any(kind in kinds and sizes[field] <= 0 for field, kinds in _NEEDS.items())


class Commitment(BaseModel):
    """One guarantor's promise of one kind."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    guarantor: str = Field(description="ISO3 code of a country, or a group: NATO, EU, COALITION")
    kind: Kind
    legal_form: LegalForm
    trigger: Trigger
    posture: Posture | None = None
    troops: Annotated[int | dict[int, int], _size_field(int, 5_000_000)] = Field(
        default=0, description="Personnel deployed (ground, or air/naval crews); a number, or {year: number}")
    aircraft: Annotated[int | dict[int, int], _size_field(int, 10_000)] = Field(default=0, description="Combat aircraft committed")
    ships: Annotated[int | dict[int, int], _size_field(int, 1_000)] = Field(default=0, description="Surface combatants committed")
    usd_per_year: Annotated[float | dict[int, float], _size_field(float, 1e13)] = Field(
        default=0.0, description="Money committed per year (aid)")
    enabler: Enabler | None = Field(default=None, description="for an enabler_build: which enabler is built")
    units: Annotated[int | dict[int, int], _size_field(int, 10_000)] = Field(
        default=0, description="for an enabler_build: units on order or in service (the fleet), a number or {year: number}")
    from_: int | None = Field(default=None, alias="from", ge=FIRST_YEAR, le=LAST_YEAR, description="first year in force (default: the start year)")
    until: int | None = Field(default=None, ge=FIRST_YEAR, le=LAST_YEAR, description="last year in force (default: open-ended)")
    rules_of_engagement: RulesOfEngagement = RulesOfEngagement.SELF_DEFENCE
    approvals: list[Approval] = Field(default_factory=list, description="approvals beyond those the rules imply")
    except_: list[str] = Field(
        default_factory=list,
        alias="except",
        description="for a group guarantor: members that are not bound (they pay nothing and hold no veto)",
    )
    sources: list[Reference] = Field(default_factory=list)
    note: str | None = None

    @field_validator("guarantor")
    @classmethod
    def _known_guarantor(cls, v: str, info: ValidationInfo) -> str:
        if v in CONTEXT_ONLY:
            raise ValueError(
                f"a guarantor other than UKR or RUS; {v} is context, not a guarantor"
                " (Ukraine's forces and the adversary are parameters)"
            )
        countries = (info.context or {}).get("countries")
        if v in GROUPS:
            return v
        if countries is not None and v not in countries:
            hint = country_hint(v, {k: c.name for k, c in countries.items()})
            raise ValueError(f"a known ISO3 country code or group ({', '.join(GROUPS)}); '{v}' is not one{hint}")
        return v

    @field_validator("from_", "until", mode="before")
    @classmethod
    def _year_not_bool(cls, v: object) -> object:
        if isinstance(v, bool):
            raise ValueError(f"a year, got {str(v).lower()}")
        return v

    @model_validator(mode="after")
    def _years(self) -> "Commitment":
        if self.from_ is not None and self.until is not None and self.until < self.from_:
            raise ValueError(f"'until' ({self.until}) on or after 'from' ({self.from_})")
        for name in SIZE_FIELDS:
            v = getattr(self, name)
            if not isinstance(v, Mapping):
                continue
            if self.from_ is not None and min(v) < self.from_:
                raise ValueError(f"the years of {name} from 'from' ({self.from_}) on; {min(v)} is before it")
            if self.until is not None and max(v) > self.until:
                raise ValueError(f"the years of {name} up to 'until' ({self.until}); {max(v)} is after it")
        return self

    @property
    def is_steady(self) -> bool:
        """The same in every year: no yearly sizes, no first or last year."""
        # validated sizes are numbers or dicts (isinstance of an ABC is slow: compiling a comparison asks this 10,000 times)
        return self.from_ is None and self.until is None and not any(isinstance(getattr(self, f), dict) for f in SIZE_FIELDS)

    def years(self) -> set[int]:
        """The years this commitment names (where it may change)."""
        out = {y for y in (self.from_, self.until + 1 if self.until is not None else None) if y is not None}
        for f in SIZE_FIELDS:
            v = getattr(self, f)
            if isinstance(v, Mapping):
                out |= set(v)
        return out

    def at(self, year: int) -> "Commitment | None":
        """This commitment as it stands in ``year`` (plain sizes), or None
        when it is not in force: before ``from``, after ``until``, or before
        the first year of a size its kind needs (a force not yet there)."""
        if self.is_steady:
            return self
        if (self.from_ is not None and year < self.from_) or (self.until is not None and year > self.until):
            return None
        sizes = {f: size_at(getattr(self, f), year) for f in SIZE_FIELDS}
        if _lacks_size(self.kind, sizes):
            return None
        return self.model_copy(update={**sizes, "from_": None, "until": None})

    def peak(self) -> "Commitment":
        """The commitment at its largest, every size at its peak year and in
        force throughout: what is agreed (and approved) as a whole."""
        if self.is_steady:
            return self
        return self.model_copy(update={**{f: size_peak(getattr(self, f)) for f in SIZE_FIELDS}, "from_": None, "until": None})

    @field_validator("approvals")
    @classmethod
    def _unique(cls, v: list[Approval]) -> list[Approval]:
        if len(set(v)) != len(v):
            raise ValueError("each approval listed once")
        return v

    @model_validator(mode="after")
    def _except(self, info: ValidationInfo) -> "Commitment":
        if not self.except_:
            return self
        if self.guarantor not in GROUPS:
            raise ValueError(f"'except' only for a group guarantor ({', '.join(GROUPS)}); {self.guarantor} is a country")
        if len(set(self.except_)) != len(self.except_):
            raise ValueError("each member listed once in 'except'")
        countries = (info.context or {}).get("countries")
        if countries is not None:
            members = [k for k, c in countries.items() if c.in_group(self.guarantor)]
            bad = [m for m in self.except_ if m not in members]
            if bad:
                raise ValueError(f"'except' lists members of {self.guarantor}; {', '.join(bad)} is not one")
            if len(self.except_) >= len(members):
                raise ValueError(f"at least one member of {self.guarantor} left bound after 'except'")
        return self

    @model_validator(mode="after")
    def _sizes(self, info: ValidationInfo) -> "Commitment":
        k = self.kind
        peak = {f: size_peak(getattr(self, f)) for f in SIZE_FIELDS}
        for field, kinds in _NEEDS.items():
            if k in kinds and peak[field] <= 0:
                raise ValueError(f"{field} > 0 for a commitment of kind {k.value}")
        if (k is Kind.ENABLER_BUILD) != (self.enabler is not None):
            raise ValueError(
                f"an enabler ({', '.join(Enabler.values())}) for a commitment of kind enabler_build"
                if k is Kind.ENABLER_BUILD else f"no enabler for a commitment of kind {k.value} (only for enabler_build)")
        if k is Kind.ENABLER_BUILD and self.guarantor in GROUPS:
            raise ValueError(f"a country for an enabler_build (each member builds its own); {self.guarantor} is a group")
        if k is not Kind.ENABLER_BUILD and peak["units"] > 0:
            raise ValueError(f"no units for a commitment of kind {k.value} (only for enabler_build)")
        if (k in NEEDS_POSTURE or (k in MAY_HAVE_PERSONNEL and peak["troops"] > 0)) and self.posture is None:
            raise ValueError(f"a posture ({', '.join(p.value for p in Posture)}) for kind {k.value}")
        if k is Kind.NUCLEAR_UMBRELLA:
            countries = (info.context or {}).get("countries")
            if self.guarantor in GROUPS:
                raise ValueError("a single nuclear-weapon state as guarantor of a nuclear umbrella, not a group")
            if countries is not None:
                c = countries.get(self.guarantor)
                if c is not None and not c.is_nuclear:
                    raise ValueError(
                        f"a nuclear-weapon state as guarantor of a nuclear umbrella; {self.guarantor} is not one"
                    )
        return self


class Terms(BaseModel):
    """Terms of the ceasefire agreement itself that the package includes
    (Fortna 2003: agreement strength), as opposed to guarantors' promises."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    buffer_zone: bool = Field(default=False, description="a demilitarised (buffer) zone along the line of contact")
    ukraine_force_cap: int | None = Field(
        default=None, ge=1, le=5_000_000, description="cap on Ukraine's armed forces in peacetime, persons (600,000 or 800,000 in the 2025 drafts)"
    )

    @field_validator("ukraine_force_cap", mode="before")
    @classmethod
    def _not_bool(cls, v: object) -> object:
        if isinstance(v, bool):
            raise ValueError(f"a number of persons, got {str(v).lower()}")
        return v

    @property
    def empty(self) -> bool:
        return not self.buffer_zone and self.ukraine_force_cap is None


class Package(BaseModel):
    """A guarantee package: the unit foedus compares."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="lower-case slug")
    title: str = Field(min_length=3)
    rationale: str = Field(min_length=40, description="One paragraph: what it is and why")
    kyiv_position: KyivPosition = Field(description="Ukraine's stated position on such a package")
    sources: list[Reference] = Field(min_length=1)
    terms: Terms = Field(default_factory=Terms)
    commitments: list[Commitment] = Field(min_length=1)

    @property
    def is_steady(self) -> bool:
        """The same in every year (no commitment states years)."""
        return all(c.is_steady for c in self.commitments)

    def years(self) -> list[int]:
        """The years in which some commitment changes, sorted."""
        return sorted(set().union(*(c.years() for c in self.commitments)))

    def at(self, year: int) -> "Package":
        """The package as it stands in ``year``: the commitments in force,
        with their sizes of that year (itself when it is steady). May hold
        no commitment; built without validation, for evaluation only."""
        if self.is_steady:
            return self
        kept = [a for a in (c.at(year) for c in self.commitments) if a is not None]
        return self.model_copy(update={"commitments": kept})

    def peak(self) -> "Package":
        """The whole deal: every commitment at its peak and in force
        throughout (what is approved; itself when it is steady)."""
        if self.is_steady:
            return self
        return self.model_copy(update={"commitments": [c.peak() for c in self.commitments]})

    def guarantors(self) -> list[str]:
        seen: dict[str, None] = {}
        for c in self.commitments:
            seen.setdefault(c.guarantor, None)
        return list(seen)

    def without(self, iso3: str, countries, part: str = "all") -> "Package":
        """The package with ``iso3``'s commitments removed: its own
        commitments dropped, and its share taken out of every group
        commitment it would be bound by (it joins ``except``, and the group's
        sizes and money shrink by its GDP share, so every other member keeps
        exactly what it had; an EU instrument that needed unanimity still
        does). ``part`` says which of them: ``"all"``, ``"aid"`` (its money:
        military, humanitarian and reconstruction aid) or ``"promises"``
        (everything else: promises, forces, training, intelligence,
        monitoring). May leave a package with no commitments
        ("Ukraine alone"); built without validation, for evaluation only.
        ``countries`` is the :class:`~foedus.domain.country.CountryTable`."""
        if part not in ("all", "aid", "promises"):
            raise ValueError(f"part is 'all', 'aid' or 'promises', got {part!r}")
        kept: list[Commitment] = []
        for c in self.commitments:
            if part != "all" and (c.kind in MONEY_KINDS) != (part == "aid"):
                kept.append(c)
                continue
            if c.guarantor == iso3:
                continue
            if c.guarantor in GROUPS:
                bound, gdp = countries.bound(c.guarantor, tuple(c.except_))
                if iso3 in bound:
                    if len(bound) == 1:
                        continue
                    share = countries[iso3].gdp_usd.value / gdp
                    scaled = {k: size_scaled(getattr(c, k), 1.0 - share) for k in SIZE_FIELDS}
                    # an EU instrument that needed a unanimous vote still
                    # does: the member's money is gone, its vote is not (an
                    # ``except`` written in the package means enhanced
                    # cooperation, an exception added here does not)
                    if c.guarantor == "EU" and not c.except_ and Approval.EU_UNANIMITY not in c.approvals:
                        scaled["approvals"] = [*c.approvals, Approval.EU_UNANIMITY]
                    c = c.model_copy(update={"except_": [*c.except_, iso3], **scaled})
            kept.append(c)
        suffix = "" if part == "all" else f"-{part}"
        return self.model_copy(update={"id": f"{self.id}-without-{iso3.lower()}{suffix}", "commitments": kept})
