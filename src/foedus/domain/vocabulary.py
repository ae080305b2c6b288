"""Closed vocabularies of the domain: commitment kinds, legal forms, postures,
triggers, approvals, units and confidence grades.

Each vocabulary is a ``str`` enum so that YAML files and JSON output use the
plain lower-case value (``deployed_ground_force``), and validation can list the
allowed values in its error messages.
"""

from __future__ import annotations

from enum import Enum


class _Vocab(str, Enum):
    @classmethod
    def values(cls) -> list[str]:
        return [m.value for m in cls]

    def __str__(self) -> str:  # pragma: no cover - cosmetic
        return self.value


class Kind(_Vocab):
    """What a guarantor promises (ATOP obligation types, widened to the
    instruments discussed for Ukraine)."""

    MUTUAL_DEFENCE = "mutual_defence"
    CONSULTATION = "consultation"
    MILITARY_AID = "military_aid"
    TRAINING = "training"
    INTELLIGENCE_SHARING = "intelligence_sharing"
    AIR_POWER = "air_power"
    AIR_DEFENCE = "air_defence"
    DEPLOYED_GROUND_FORCE = "deployed_ground_force"
    NAVAL_PRESENCE = "naval_presence"
    NUCLEAR_UMBRELLA = "nuclear_umbrella"
    SANCTIONS_SNAPBACK = "sanctions_snapback"
    HUMANITARIAN_AID = "humanitarian_aid"
    RECONSTRUCTION_AID = "reconstruction_aid"
    CEASEFIRE_MONITORING = "ceasefire_monitoring"
    JOINT_COMMISSION = "joint_commission"
    ENABLER_BUILD = "enabler_build"


class Enabler(_Vocab):
    """Enablers a guarantor can build (order, wait for delivery, operate):
    the capabilities the United States provides to European defence today
    (IISS, *Defending Europe without the United States*, 2025)."""

    ISR = "isr"
    AIR_MISSILE_DEFENCE = "air_missile_defence"
    STRATEGIC_AIRLIFT = "strategic_airlift"
    AIR_REFUELLING = "air_refuelling"
    COMMAND = "command"


class LegalForm(_Vocab):
    """How binding the commitment is, from most to least binding."""

    RATIFIED_TREATY = "ratified_treaty"
    CONGRESSIONAL_EXECUTIVE_AGREEMENT = "congressional_executive_agreement"
    EXECUTIVE_AGREEMENT = "executive_agreement"
    POLITICAL_DECLARATION = "political_declaration"


class Posture(_Vocab):
    """Where forces stand, from farthest from to nearest the contact line."""

    NEIGHBOURING_TERRITORY = "neighbouring_territory"
    OFFSHORE = "offshore"
    WESTERN_UKRAINE = "western_ukraine"
    BEHIND_DNIPRO = "behind_dnipro"
    CONTACT_LINE = "contact_line"


class RulesOfEngagement(_Vocab):
    """What a deployed force may do, from least to most escalatory."""

    SELF_DEFENCE = "self_defence"
    PROTECTION = "protection"
    COMBAT = "combat"


class Trigger(_Vocab):
    """How the obligation is set off when Ukraine is attacked."""

    AUTOMATIC = "automatic"
    AFTER_CONSULTATION = "after_consultation"
    DISCRETIONARY = "discretionary"


class Approval(_Vocab):
    """Domestic or collective approvals a commitment may need."""

    US_SENATE_TWO_THIRDS = "us_senate_two_thirds"
    US_CONGRESS_MAJORITIES = "us_congress_majorities"
    UK_COMMONS_VOTE = "uk_commons_vote"
    BUNDESTAG_MANDATE = "bundestag_mandate"
    FRANCE_ARTICLE_35 = "france_article_35"
    NATIONAL_PARLIAMENT = "national_parliament"
    NATO_UNANIMITY = "nato_unanimity"
    EU_UNANIMITY = "eu_unanimity"


class KyivPosition(_Vocab):
    """Ukraine's stated position on a package (a package Kyiv does not accept
    is unstable)."""

    DEMANDED = "demanded"
    ACCEPTED = "accepted"
    RELUCTANT = "reluctant"
    REJECTED = "rejected"


class DeploymentApproval(_Vocab):
    """National parliamentary control of deployments abroad (Bundestag WD 2 -
    3010 - 163/12, 2012 typology)."""

    PRIOR = "prior"
    EX_POST = "ex_post"
    LIMITED = "limited"
    NONE = "none"


class Basis(_Vocab):
    """Where a parameter's value comes from."""

    EVIDENCE = "evidence"  # the source gives the number (or arithmetic on numbers it gives)
    CALIBRATED = "calibrated"  # fitted to named published targets (data/calibration.yaml), and moved by the fit
    ANCHORED = "anchored"  # judgement (anchored): a value chosen by convention inside a band that named sources give
    JUDGEMENT = "judgement"  # a modelling judgement; the sources inform it but give no number

    @property
    def label(self) -> str:
        """How a reader sees it: 'judgement (anchored)' for ``anchored``."""
        return "judgement (anchored)" if self is Basis.ANCHORED else self.value


#: Every basis, from the firmest to the softest (the order of tables and counts).
BASES = tuple(b.value for b in Basis)


class Grade(_Vocab):
    """Confidence grade of a figure."""

    VERIFIED = "verified"
    SECONDARY = "secondary"
    DERIVED = "derived"
    UNVERIFIED = "unverified"


class Unit(_Vocab):
    """The fixed unit vocabulary. Rates are fractions (0.02, never 2 %)."""

    FRACTION = "fraction"
    PROBABILITY = "probability"
    RATIO = "ratio"
    PERSONS = "persons"
    COUNT = "count"
    USD = "usd"
    USD_PER_YEAR = "usd_per_year"
    USD_PER_PERSON_YEAR = "usd_per_person_year"
    USD_PER_AIRCRAFT_YEAR = "usd_per_aircraft_year"
    TROOP_EQUIVALENTS = "troop_equivalents"
    TROOP_EQUIVALENTS_PER_AIRCRAFT = "troop_equivalents_per_aircraft"
    TROOP_EQUIVALENTS_PER_SHIP = "troop_equivalents_per_ship"
    TROOP_EQUIVALENTS_PER_PERSON = "troop_equivalents_per_person"
    TROOP_EQUIVALENTS_PER_USD_BN = "troop_equivalents_per_usd_bn"
    PERSONS_PER_AIRCRAFT = "persons_per_aircraft"
    PERSONS_PER_SHIP = "persons_per_ship"
    USD_PER_SHIP_YEAR = "usd_per_ship_year"
    PER_DAY = "per_day"
    YEARS = "years"
    YEAR = "year"  # a calendar year
    DAYS = "days"
    PER_YEAR = "per_year"
    UTILITY = "utility"
    DIMENSIONLESS = "dimensionless"


#: Kinds that promise to fight (or to respond, for sanctions) when Ukraine is
#: attacked. A ground force under self-defence rules promises to defend
#: itself, not Ukraine: it counts only through its hand-tying presence.
PROMISE_KINDS = frozenset(
    {Kind.MUTUAL_DEFENCE, Kind.NUCLEAR_UMBRELLA, Kind.AIR_POWER, Kind.AIR_DEFENCE, Kind.NAVAL_PRESENCE, Kind.DEPLOYED_GROUND_FORCE}
)
#: Kinds whose effect is whether the measure happens at all: a group's
#: commitment of such a kind is one measure of the group (one element, with
#: the group's will), whose personnel the members share. NATO and the EU
#: decide it as one body; in the Coalition each member keeps its own approvals.
COLLECTIVE_KINDS = frozenset(
    {Kind.SANCTIONS_SNAPBACK, Kind.CONSULTATION, Kind.INTELLIGENCE_SHARING, Kind.CEASEFIRE_MONITORING, Kind.JOINT_COMMISSION}
)
#: Money a guarantor gives (its "aid", as against its promises and forces).
MONEY_KINDS = frozenset({Kind.MILITARY_AID, Kind.HUMANITARIAN_AID, Kind.RECONSTRUCTION_AID})
#: Kinds that put armed personnel, aircraft or ships somewhere (they need
#: parliamentary approval where the deployment regime asks for it).
ARMED_KINDS = frozenset({Kind.DEPLOYED_GROUND_FORCE, Kind.AIR_POWER, Kind.AIR_DEFENCE, Kind.NAVAL_PRESENCE, Kind.TRAINING})
#: Postures on Ukrainian territory (forces there tie the guarantor's hands
#: and need Kyiv's consent).
IN_UKRAINE = frozenset({Posture.WESTERN_UKRAINE, Posture.BEHIND_DNIPRO, Posture.CONTACT_LINE})

#: Groups a commitment may name instead of one country: NATO, the EU (all
#: 27 member states) and the Coalition of the Willing for Ukraine.
GROUPS = ("NATO", "EU", "COALITION")
#: Groups that decide as one body (NATO's North Atlantic Council, the EU's
#: Council): their collective measures are one decision, and their
#: instruments may need the group's own vote. The Coalition of the Willing
#: is an ad-hoc grouping without one: each member decides, and needs its
#: own approvals.
DECIDING_GROUPS = ("NATO", "EU")
