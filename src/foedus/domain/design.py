"""A design space: what a design search may vary, starting from a base package.

A design file (docs/design.md) names a base package and, per guarantor,
whether it must take part, ranges for its troops, aircraft, ships, trainers
and military aid, and the legal forms, triggers, postures and rules of
engagement it may choose; then ceasefire terms and package elements the
search may add or drop (monitoring, joint commission, sanctions snap-back,
buffer zone, a cap on Ukraine's forces). The objectives and constraints of
the search may be stated here too (``foedus optimise`` flags override them).

The types here are data only; :mod:`foedus.exploration.design_space` turns a
design into decision variables and a vector of them into a package.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from foedus.domain.vocabulary import LegalForm, Posture, RulesOfEngagement, Trigger


class Choice(str, Enum):
    """Whether an element is in every design, in none, or left to the search."""

    OPTIONAL = "optional"
    INCLUDE = "include"
    EXCLUDE = "exclude"


def _range(v: object) -> object:
    """``[LOW, HIGH]`` is shorthand for ``{low: LOW, high: HIGH}``."""
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise ValueError(f"[LOW, HIGH] (two numbers) or {{low, high, step}}, got {len(v)} values")
        return {"low": v[0], "high": v[1]}
    if not isinstance(v, (dict, SizeRange)):
        # a lone number or a word: say what a range looks like, not "an instance of SizeRange"
        raise ValueError(f"[LOW, HIGH] (two numbers, e.g. [0, 20000]; [N, N] for a fixed size) or {{low, high, step}}, got {v!r}")
    return v


def _not_bool(v: object) -> object:
    if isinstance(v, bool):
        raise ValueError(f"a number, got {str(v).lower()} (YAML reads yes/no/on/off as true/false)")
    return v


Number = Annotated[float, BeforeValidator(_not_bool)]


class SizeRange(BaseModel):
    """A size the search may set, between ``low`` and ``high`` in steps of
    ``step`` (the default step is the field's, see :class:`GuarantorSpace`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low: Number = Field(ge=0)
    high: Number = Field(ge=0)
    step: Number | None = Field(default=None, gt=0, description="values are low + k*step (default: the field's step)")

    @model_validator(mode="after")
    def _ordered(self) -> "SizeRange":
        if self.high < self.low:
            raise ValueError(f"low <= high, got low {self.low:g} and high {self.high:g}")
        return self


Size = Annotated[SizeRange, BeforeValidator(_range)]


def _text(v: object) -> object:
    """An objective, constraint or threshold is one string; YAML reads
    ``- attack_probability: p80 <= 10%`` (a colon and a space) as a mapping."""
    if isinstance(v, dict):
        said = ", ".join(f"{k}: {x}" for k, x in v.items())
        raise ValueError(f"a string, got the mapping {{{said}}} (YAML reads 'KEY: VALUE' as a mapping: write METRIC:STAT without a space after ':', or quote the line)")
    if not isinstance(v, str):
        raise ValueError(f"a string such as 'attack_probability:p80', got {str(v).lower() if isinstance(v, bool) else repr(v)}")
    return v


Text = Annotated[str, BeforeValidator(_text)]

#: Default steps of each size field: whole units a planner would state
#: (a company of 500, one aircraft, one ship, 100 trainers, $100 million).
STEPS = {"troops": 500.0, "aircraft": 1.0, "ships": 1.0, "trainers": 100.0, "aid": 1e8}
#: Upper bounds of each size field (those of a package file).
LIMITS = {"troops": 5_000_000, "aircraft": 10_000, "ships": 1_000, "trainers": 5_000_000, "aid": 1e13}


def _choice(v: object) -> object:
    return {"choice": v} if isinstance(v, str) else v


class ElementOption(BaseModel):
    """A package element the search may add or drop. ``by`` names the
    guarantor that provides it when the base has none (an added element is
    made in ``legal_form`` with ``trigger``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    choice: Choice = Choice.OPTIONAL
    by: str | None = Field(default=None, description="ISO3 code or group providing it if the base has none")
    legal_form: LegalForm = LegalForm.EXECUTIVE_AGREEMENT
    trigger: Trigger = Trigger.AFTER_CONSULTATION


Element = Annotated[ElementOption, BeforeValidator(_choice)]


class GuarantorSpace(BaseModel):
    """What the search may change for one guarantor. Sizes set the
    guarantor's own commitments of that kind (scaled when the base has
    several, added when it has none); choices apply to its promises and
    forces (not to its aid)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    required: bool = Field(default=False, description="must take part (otherwise the search may leave it out)")
    troops: Size | None = Field(default=None, description="personnel of its deployed ground force")
    aircraft: Size | None = Field(default=None, description="combat aircraft of its air power")
    ships: Size | None = Field(default=None, description="surface combatants of its naval presence")
    trainers: Size | None = Field(default=None, description="personnel of its training mission")
    aid: Size | None = Field(default=None, description="military aid, US dollars a year")
    legal_forms: list[LegalForm] | None = Field(default=None, min_length=1, description="legal forms its promises and forces may take")
    triggers: list[Trigger] | None = Field(default=None, min_length=1)
    postures: list[Posture] | None = Field(default=None, min_length=1, description="where its ground force may stand")
    rules_of_engagement: list[RulesOfEngagement] | None = Field(default=None, min_length=1, description="for its ground force")
    mutual_defence: Choice | None = Field(default=None, description="a mutual-defence promise: optional, include or exclude")
    # where forces of a kind the base lacks stand when the search adds them
    air_posture: Posture = Field(default=Posture.NEIGHBOURING_TERRITORY, description="posture of added air power")
    naval_posture: Posture = Field(default=Posture.OFFSHORE, description="posture of an added naval presence")
    training_posture: Posture = Field(default=Posture.WESTERN_UKRAINE, description="posture of an added training mission")
    aid_legal_form: LegalForm = Field(default=LegalForm.EXECUTIVE_AGREEMENT, description="legal form of added military aid")
    aid_trigger: Trigger = Field(default=Trigger.DISCRETIONARY, description="trigger of added military aid")

    @field_validator("legal_forms", "triggers", "postures", "rules_of_engagement")
    @classmethod
    def _unique(cls, v):
        if v is not None and len(set(v)) != len(v):
            raise ValueError("each value listed once")
        return v

    @field_validator(*STEPS)
    @classmethod
    def _limit(cls, r, info):
        if r is not None and r.high > LIMITS[info.field_name]:
            raise ValueError(f"high at most {LIMITS[info.field_name]:,.0f}, got {r.high:,.0f}")
        return r

    def sizes(self) -> dict[str, SizeRange]:
        return {k: getattr(self, k) for k in STEPS if getattr(self, k) is not None}


def _guarantor(v: object) -> object:
    if v is None or isinstance(v, (str, int, float, list)):
        got = "nothing" if v is None else repr(v)
        raise ValueError(f"a mapping of what may vary for this guarantor, got {got} (write {{}} for one the search may "
                         "leave out or keep as it is in the base)")
    return v


class DesignTerms(BaseModel):
    """Ceasefire terms and package elements the search may vary (absent:
    as in the base)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    monitoring: Element | None = Field(default=None, description="ceasefire monitoring and verification")
    joint_commission: Element | None = None
    snapback: Element | None = Field(default=None, description="sanctions snap-back")
    buffer_zone: Choice | None = None
    force_cap: list[Annotated[int, Field(ge=1, le=5_000_000), BeforeValidator(_not_bool)] | None] | None = Field(
        default=None, min_length=1, description="caps on Ukraine's forces to choose from; null: no cap")


class DesignSpace(BaseModel):
    """The whole design file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,50}$", description="lower-case slug; designs found are <id>-01, <id>-02, ...")
    title: str = Field(min_length=3)
    question: str | None = Field(default=None, description="the question the search answers, in words")
    base: str = Field(min_length=1, description="the base package file, relative to this file")
    guarantors: dict[str, Annotated[GuarantorSpace, BeforeValidator(_guarantor)]] = Field(default_factory=dict)
    terms: DesignTerms = Field(default_factory=DesignTerms)
    objectives: list[Text] | None = Field(default=None, min_length=1, description="e.g. total_cost_usd_per_year, attack_probability:p80")
    constraints: list[Text] = Field(default_factory=list, description="e.g. 'attack_probability:p80 <= 0.10', no-shortfall")
    thresholds: list[Text] | None = Field(default=None, min_length=1, description="what 'meets' counts (as explore --threshold)")

    @model_validator(mode="after")
    def _something_varies(self) -> "DesignSpace":
        t = self.terms
        def several(v) -> bool:
            return v is not None and len(v) > 1

        varies = any(not g.required or any(r.high > r.low for r in g.sizes().values()) or several(g.legal_forms) or several(g.triggers)
                     or several(g.postures) or several(g.rules_of_engagement) or g.mutual_defence is Choice.OPTIONAL
                     for g in self.guarantors.values())
        varies = varies or any(getattr(t, k) is not None and getattr(t, k).choice is Choice.OPTIONAL
                               for k in ("monitoring", "joint_commission", "snapback"))
        varies = varies or t.buffer_zone is Choice.OPTIONAL or (t.force_cap is not None and len(t.force_cap) > 1)
        if not varies:
            raise ValueError("something the search may vary: a guarantor that is not required, a size range with low < high, "
                             "two or more legal forms, triggers or postures, or an optional element")
        return self


#: The kind of commitment each size field sets, and the field that holds the size.
SIZE_KINDS = {"troops": ("deployed_ground_force", "troops"), "aircraft": ("air_power", "aircraft"), "ships": ("naval_presence", "ships"),
              "trainers": ("training", "troops"), "aid": ("military_aid", "usd_per_year")}
#: The kind of commitment each optional element of ``terms`` adds or drops.
ELEMENT_KINDS = {"monitoring": "ceasefire_monitoring", "joint_commission": "joint_commission", "snapback": "sanctions_snapback"}


def form_source(base, iso3: str):
    """The base commitment of ``iso3`` whose legal form and trigger an added
    promise or force takes when the design gives no choice: its first
    commitment that is not money; None when it has none."""
    from foedus.domain.vocabulary import MONEY_KINDS

    return next((c for c in base.commitments if c.guarantor == iso3 and c.kind not in MONEY_KINDS), None)


def check_against(space: DesignSpace, base, countries) -> list[tuple[tuple, str]]:
    """What the design asks that the base and the country table cannot
    give, as ``(location, expectation)`` pairs (empty when it is coherent):
    unknown guarantors, forces to add without a posture or a legal form,
    elements to add without a guarantor, required guarantors with nothing
    to bring."""
    from foedus.domain.package import CONTEXT_ONLY, country_hint
    from foedus.domain.vocabulary import GROUPS

    out: list[tuple[tuple, str]] = []
    names = {k: c.name for k, c in countries.countries.items()}

    def known(code: str, loc: tuple) -> bool:
        if code in CONTEXT_ONLY:
            out.append((loc, f"a guarantor other than UKR or RUS; {code} is context, not a guarantor"))
            return False
        if code not in GROUPS and code not in names:
            out.append((loc, f"a known ISO3 country code or group ({', '.join(GROUPS)}); '{code}' is not one{country_hint(code, names)}"))
            return False
        return True

    in_base = set(base.guarantors())
    for g, gs in space.guarantors.items():
        loc = ("guarantors", g)
        if not known(g, loc):
            continue
        own = [c for c in base.commitments if c.guarantor == g]
        kinds = {c.kind.value for c in own}
        has_form = bool(gs.legal_forms and gs.triggers) or form_source(base, g) is not None
        for name, rng in gs.sizes().items():
            kind, _ = SIZE_KINDS[name]
            if kind in kinds or rng.high == 0:
                continue
            if name == "troops" and not gs.postures:
                out.append(((*loc, "postures"), f"where an added ground force of {g} stands: the base has no deployed_ground_force of {g}"))
            if name != "aid" and not has_form:
                out.append(((*loc, "legal_forms"), f"legal_forms and triggers for the {kind} the search may add: the base has no promise or force of {g} to copy them from"))
        if gs.mutual_defence in (Choice.OPTIONAL, Choice.INCLUDE) and "mutual_defence" not in kinds and not has_form:
            out.append(((*loc, "legal_forms"), f"legal_forms and triggers for the mutual-defence promise the search may add: the base has no promise or force of {g} to copy them from"))
        adds = any(r.high > 0 for r in gs.sizes().values()) or gs.mutual_defence in (Choice.OPTIONAL, Choice.INCLUDE)
        if gs.required and g not in in_base and not adds:
            out.append(((*loc, "required"), f"something {g} brings: it is required, but the base has no commitment of {g} and the design adds none"))
        if g in GROUPS and (gs.sizes() or gs.mutual_defence is not None):
            out.append((loc, f"a country for sizes and promises ({g} is a group: its members' shares follow its commitments in the base)"))
    for name, kind in ELEMENT_KINDS.items():
        opt = getattr(space.terms, name)
        if opt is None:
            continue
        loc = ("terms", name)
        providers = sorted({c.guarantor for c in base.commitments if c.kind.value == kind})
        may_leave = {g for g, gs in space.guarantors.items() if not gs.required}
        if opt.by is not None:
            known(opt.by, (*loc, "by"))
        elif opt.choice is Choice.EXCLUDE:
            pass
        elif not providers:
            out.append(((*loc, "by"), f"the guarantor that provides it ('by'): the base has no {kind} to keep"))
        elif set(providers) <= may_leave:
            # without 'by', a design that leaves them all out would have no one to provide it
            who = ", ".join(providers)
            out.append(((*loc, "by"), f"the guarantor that provides it ('by') in designs that leave out {who}, the only "
                                      f"provider{'s' if len(providers) > 1 else ''} of the base's {kind} (or make {who} required)"))
    caps = space.terms.force_cap
    if caps is not None and len(set(caps)) != len(caps):
        out.append((("terms", "force_cap"), "each cap listed once"))
    return out
