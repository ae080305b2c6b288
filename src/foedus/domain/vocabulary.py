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
    DAYS = "days"
    PER_YEAR = "per_year"
    UTILITY = "utility"
    DIMENSIONLESS = "dimensionless"


#: Kinds that put the guarantor's own forces at risk or in the fight.
COMBAT_KINDS = frozenset(
    {Kind.MUTUAL_DEFENCE, Kind.AIR_POWER, Kind.AIR_DEFENCE, Kind.DEPLOYED_GROUND_FORCE, Kind.NAVAL_PRESENCE}
)

#: Groups a commitment may name instead of one country.
GROUPS = ("NATO", "EU")
