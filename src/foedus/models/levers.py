"""Compile guarantee packages into arrays of commitment rows (the levers).

One row per (package, guarantor) after expanding groups (NATO, EU) to their
members; a group's sizes are split among members by GDP share. A guarantor's
several commitments in one package merge into its row: the strongest legal
form and the most automatic trigger count for its credibility; sizes add up.
Rows are sorted by package, so per-package sums are ``np.add.reduceat`` over
``starts``. This is the only place that walks package objects in Python; it
runs once per set of packages, never per future.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from foedus.domain.country import CountryTable
from foedus.domain.package import CONTEXT_ONLY, Package
from foedus.domain.vocabulary import (
    GROUPS,
    Approval,
    DeploymentApproval,
    Kind,
    KyivPosition,
    LegalForm,
    Posture,
    RulesOfEngagement,
    Trigger,
)

POSTURES = [p.value for p in Posture]
FORMS = [f.value for f in LegalForm]  # most to least binding
TRIGGERS = [t.value for t in Trigger]  # most to least automatic
ROES = [r.value for r in RulesOfEngagement]
KYIV = [k.value for k in KyivPosition]
#: Approvals with one probability each; NATO unanimity is a product over members instead.
VETOES = [a.value for a in Approval if a is not Approval.NATO_UNANIMITY]
#: Postures inside Ukraine (troops there tie the guarantor's hands).
IN_UKRAINE = np.array([p in ("western_ukraine", "behind_dnipro", "contact_line") for p in POSTURES])

#: Kinds a group (NATO, EU) decides as one actor rather than member by member.
COLLECTIVE_KINDS = frozenset({Kind.SANCTIONS_SNAPBACK, Kind.CONSULTATION, Kind.INTELLIGENCE_SHARING})

_ARMED = frozenset({Kind.DEPLOYED_GROUND_FORCE, Kind.AIR_POWER, Kind.AIR_DEFENCE, Kind.NAVAL_PRESENCE, Kind.TRAINING})
_COMBAT = frozenset({Kind.MUTUAL_DEFENCE, Kind.AIR_POWER, Kind.AIR_DEFENCE, Kind.DEPLOYED_GROUND_FORCE, Kind.NAVAL_PRESENCE, Kind.NUCLEAR_UMBRELLA})


def implied_approvals(c, country, deploys_in_ukraine: bool) -> set[str]:
    """Approvals the rules require for commitment ``c`` by ``country``.

    US: a ratified treaty needs two thirds of the Senate; a congressional-
    executive agreement simple majorities of both Houses (Art. II s.2; CRS).
    UK: Commons vote on deploying forces to Ukraine (2003 convention; 2026
    pledge) and on ratifying a treaty (CRaG Act 2010, Part 2). Germany: Bundestag mandate for any armed deployment (BVerfG
    1994). France: Art. 35 authorisation beyond four months. Others: their
    parliament where the regime is prior or ex-post approval (Bundestag WD 2
    2012), and for ratifying any treaty.
    """
    out: set[str] = set()
    iso = c.guarantor
    armed = c.kind in _ARMED and (c.troops > 0 or c.aircraft > 0 or c.ships > 0)
    if iso == "USA":
        if c.legal_form is LegalForm.RATIFIED_TREATY:
            out.add(Approval.US_SENATE_TWO_THIRDS.value)
        elif c.legal_form is LegalForm.CONGRESSIONAL_EXECUTIVE_AGREEMENT:
            out.add(Approval.US_CONGRESS_MAJORITIES.value)
        return out
    if iso == "GBR":
        if (armed and deploys_in_ukraine) or c.legal_form is LegalForm.RATIFIED_TREATY:
            out.add(Approval.UK_COMMONS_VOTE.value)
        return out
    if iso == "DEU":
        if armed or c.legal_form is LegalForm.RATIFIED_TREATY:
            out.add(Approval.BUNDESTAG_MANDATE.value)
        return out
    if iso == "FRA":
        if armed or c.legal_form is LegalForm.RATIFIED_TREATY:
            out.add(Approval.FRANCE_ARTICLE_35.value)
        return out
    regime = country.deployment_approval.value
    if c.legal_form is LegalForm.RATIFIED_TREATY or (
        armed and regime in (DeploymentApproval.PRIOR, DeploymentApproval.EX_POST)
    ):
        out.add(Approval.NATIONAL_PARLIAMENT.value)
    return out


@dataclass
class Levers:
    """Packages as arrays. ``K`` rows, ``P`` packages, ``G`` guarantors."""

    package_ids: list[str]
    guarantors: list[str]  # ISO3, one per distinct guarantor
    row_package: np.ndarray  # (K,) int
    row_guarantor: np.ndarray  # (K,) int into guarantors
    starts: np.ndarray  # (P,) first row of each package
    form: np.ndarray  # (K,) int into FORMS (strongest)
    trigger: np.ndarray  # (K,) int into TRIGGERS (most automatic)
    ground: np.ndarray  # (K, 5) ground/air-defence personnel by posture
    trainers: np.ndarray  # (K, 5)
    aircraft: np.ndarray  # (K, 5)
    ships: np.ndarray  # (K, 5)
    personnel_roe: np.ndarray  # (K, 5, 3) ground + trainers by posture and rules of engagement
    mutual_defence: np.ndarray  # (K,) bool
    umbrella: np.ndarray  # (K,) bool
    combat: np.ndarray  # (K,) bool: promises to fight in some form
    snapback: np.ndarray  # (K,) bool
    intel: np.ndarray  # (K,) bool
    air_over_ukraine: np.ndarray  # (K,) bool: air power / air defence
    treaty_defence: np.ndarray  # (K,) bool: ratified automatic mutual defence (not the NATO group)
    aid_usd: np.ndarray  # (K,) military aid per year
    humanitarian_usd: np.ndarray  # (K,)
    reconstruction_usd: np.ndarray  # (K,)
    ad_personnel: np.ndarray  # (K,) air-defence personnel
    ad_aircraft: np.ndarray  # (K,) aircraft on air-defence missions
    gdp_weight: np.ndarray  # (K,) guarantor's GDP share within its package
    # per guarantor (G,)
    gdp: np.ndarray
    defence_pct_gdp: np.ndarray
    defence_usd: np.ndarray
    active: np.ndarray
    nuclear: np.ndarray  # bool
    frontline: np.ndarray  # bool
    # per package (P,)
    kyiv: np.ndarray  # int into KYIV
    nato_membership: np.ndarray  # bool
    nato_consent: np.ndarray  # bool: needs every NATO member's consent (membership, or listed nato_unanimity)
    vetoes: np.ndarray  # (P, len(VETOES)) counts of package-wide veto players (EU unanimity, extra approvals of groups)
    row_vetoes: np.ndarray  # (K, len(VETOES)) counts of each guarantor's own veto players
    nato_members: list[str] = field(default_factory=list)
    approvals_by_package: list[list[tuple[str, str]]] = field(default_factory=list)
    #: defence spending per active soldier for a guarantor with no forces: the
    #: median over all possible guarantors in the country table (not only this set)
    budget_per_soldier_fallback: float = float("nan")
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    def memo(self, key, build):
        """Lever-only intermediate results, built once per key and reused
        for every chunk of futures (the levers never change)."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = build()
            return value

    def __getstate__(self):  # do not ship caches to Dask workers
        state = dict(self.__dict__)
        state["_memo"] = {}
        return state

    @property
    def n_rows(self) -> int:
        return int(self.row_package.size)

    @property
    def n_packages(self) -> int:
        return len(self.package_ids)

    def sum_rows(self, a: np.ndarray) -> np.ndarray:
        """Per-package sums of a row array ``(K, ...)`` -> ``(P, ...)``."""
        return np.add.reduceat(a, self.starts, axis=0)

    def max_rows(self, a: np.ndarray) -> np.ndarray:
        return np.maximum.reduceat(a, self.starts, axis=0)

    def prod_rows(self, a: np.ndarray) -> np.ndarray:
        return np.multiply.reduceat(a, self.starts, axis=0)

    def row_values(self, per_guarantor: np.ndarray) -> np.ndarray:
        """Gather a ``(G, ...)`` array to rows ``(K, ...)``."""
        return per_guarantor[self.row_guarantor]

    def row_guarantor_iso3(self) -> list[str]:
        return [self.guarantors[g] for g in self.row_guarantor]


def compile_packages(packages: list[Package], countries: CountryTable) -> Levers:
    """Compile validated packages into :class:`Levers`."""
    if not packages:
        raise ValueError("at least one package is needed")
    nato = countries.members("NATO")
    rows: dict[tuple[int, str], dict] = {}
    order: list[tuple[int, str]] = []
    kyiv, nato_membership, nato_consent, vetoes, approvals_by_package = [], [], [], [], []
    row_veto_pairs: dict[tuple[int, str], set[str]] = {}
    for p_i, pkg in enumerate(packages):
        veto_pairs: set[tuple[str, str]] = set()
        member_of_nato = False
        for c in pkg.commitments:
            if c.guarantor in GROUPS:
                members = countries.members(c.guarantor)
                gdp = np.array([countries[m].gdp_usd.value for m in members])
                shares = gdp / gdp.sum()
                if c.guarantor == "NATO" and c.kind is Kind.MUTUAL_DEFENCE:
                    member_of_nato = True
                if c.guarantor == "EU":
                    veto_pairs.add((Approval.EU_UNANIMITY.value, "EU"))
            else:
                members, shares = [c.guarantor], np.array([1.0])
            lead = members[int(np.argmax(shares))]
            for iso, share in zip(members, shares):
                key = (p_i, iso)
                if key not in rows:
                    rows[key] = _empty_row()
                    order.append(key)
                # A group decides collective measures (sanctions, consultation,
                # intelligence) once: the flag goes to its largest member, whose credibility
                # stands for the group's; money and forces are split by GDP.
                collective = c.guarantor in GROUPS and c.kind in COLLECTIVE_KINDS
                if collective and iso != lead:
                    # still a party: bound in the group's legal form and trigger
                    # (their rows weigh in approval and survival)
                    rows[key]["form"] = min(rows[key]["form"], FORMS.index(c.legal_form.value))
                    rows[key]["trigger"] = min(rows[key]["trigger"], TRIGGERS.index(c.trigger.value))
                    continue
                _add(rows[key], c, float(share), c.guarantor == "NATO", counts_as_actor=iso == lead)
                in_ukr = c.posture is not None and IN_UKRAINE[POSTURES.index(c.posture.value)]
                if c.guarantor not in GROUPS:
                    for a in implied_approvals(c, countries[iso], bool(in_ukr)):
                        veto_pairs.add((a, iso))
                        row_veto_pairs.setdefault(key, set()).add(a)
            for a in c.approvals:
                veto_pairs.add((a.value, c.guarantor))
                if c.guarantor not in GROUPS:
                    row_veto_pairs.setdefault((p_i, c.guarantor), set()).add(a.value)
        if member_of_nato:
            veto_pairs.add((Approval.NATO_UNANIMITY.value, "NATO"))
        kyiv.append(KYIV.index(pkg.kyiv_position.value))
        nato_membership.append(member_of_nato)
        nato_consent.append(any(a == Approval.NATO_UNANIMITY.value for a, _ in veto_pairs))
        counts = np.zeros(len(VETOES))
        for a, by in veto_pairs:
            if a in VETOES and by in GROUPS:
                counts[VETOES.index(a)] += 1
        vetoes.append(counts)
        approvals_by_package.append(sorted(veto_pairs))

    guarantors: list[str] = []
    for _, iso in order:
        if iso not in guarantors:
            guarantors.append(iso)
    gi = {g: i for i, g in enumerate(guarantors)}
    K = len(order)
    rp = np.array([p for p, _ in order], dtype=np.int64)
    if not np.all(np.diff(rp) >= 0):  # pragma: no cover - order is by construction
        raise RuntimeError("rows must be sorted by package")
    starts = np.searchsorted(rp, np.arange(len(packages)))
    R = [rows[k] for k in order]
    row_vetoes = np.zeros((K, len(VETOES)))
    for i, key in enumerate(order):
        for a in row_veto_pairs.get(key, ()):
            if a in VETOES:
                row_vetoes[i, VETOES.index(a)] += 1

    def col(name, dtype=float):
        return np.array([r[name] for r in R], dtype=dtype)

    gdp = np.array([countries[g].gdp_usd.value for g in guarantors])
    row_g = np.array([gi[g] for _, g in order], dtype=np.int64)
    row_gdp = gdp[row_g]
    pkg_gdp = np.add.reduceat(row_gdp, starts)
    return Levers(
        package_ids=[p.id for p in packages],
        guarantors=guarantors,
        row_package=rp,
        row_guarantor=row_g,
        starts=starts,
        form=col("form", np.int64),
        trigger=col("trigger", np.int64),
        ground=np.array([r["ground"] for r in R]).reshape(K, len(POSTURES)),
        trainers=np.array([r["trainers"] for r in R]).reshape(K, len(POSTURES)),
        aircraft=np.array([r["aircraft"] for r in R]).reshape(K, len(POSTURES)),
        ships=np.array([r["ships"] for r in R]).reshape(K, len(POSTURES)),
        personnel_roe=np.array([r["personnel_roe"] for r in R]).reshape(K, len(POSTURES), len(ROES)),
        mutual_defence=col("mutual_defence", bool),
        umbrella=col("umbrella", bool),
        combat=col("combat", bool),
        snapback=col("snapback", bool),
        intel=col("intel", bool),
        air_over_ukraine=col("air", bool),
        treaty_defence=col("treaty_defence", bool),
        aid_usd=col("aid"),
        humanitarian_usd=col("humanitarian"),
        reconstruction_usd=col("reconstruction"),
        ad_personnel=col("ad_personnel"),
        ad_aircraft=col("ad_aircraft"),
        gdp_weight=row_gdp / pkg_gdp[rp],
        gdp=gdp,
        defence_pct_gdp=np.array([countries[g].defence_pct_gdp.value for g in guarantors]),
        defence_usd=np.array([countries[g].defence_usd.value for g in guarantors]),
        active=np.array([countries[g].active_personnel.value for g in guarantors]),
        nuclear=np.array([countries[g].is_nuclear for g in guarantors], dtype=bool),
        frontline=np.array([bool(countries[g].frontline.value) for g in guarantors], dtype=bool),
        kyiv=np.array(kyiv, dtype=np.int64),
        nato_membership=np.array(nato_membership, dtype=bool),
        nato_consent=np.array(nato_consent, dtype=bool),
        vetoes=np.array(vetoes, dtype=float).reshape(len(packages), len(VETOES)),
        row_vetoes=row_vetoes,
        nato_members=nato,
        approvals_by_package=approvals_by_package,
        budget_per_soldier_fallback=_budget_per_soldier_median(countries),
    )


def _budget_per_soldier_median(countries: CountryTable) -> float:
    v = [c.defence_usd.value / c.active_personnel.value for k, c in countries.countries.items()
         if k not in CONTEXT_ONLY and c.active_personnel.value > 0]
    return float(np.median(v)) if v else 0.0


def _empty_row() -> dict:
    n = len(POSTURES)
    return {
        "form": len(FORMS) - 1,
        "trigger": len(TRIGGERS) - 1,
        "ground": np.zeros(n),
        "trainers": np.zeros(n),
        "aircraft": np.zeros(n),
        "ships": np.zeros(n),
        "personnel_roe": np.zeros((n, len(ROES))),
        "mutual_defence": False,
        "umbrella": False,
        "combat": False,
        "snapback": False,
        "intel": False,
        "air": False,
        "treaty_defence": False,
        "aid": 0.0,
        "humanitarian": 0.0,
        "reconstruction": 0.0,
        "ad_personnel": 0.0,
        "ad_aircraft": 0.0,
    }


def _add(row: dict, c, share: float, via_nato: bool, counts_as_actor: bool = True) -> None:
    """Merge commitment ``c`` (its ``share`` of it) into ``row``. For a group's
    air commitment only the group's lead member counts as an air guarantor
    (the adversary faces one air coalition, not 32)."""
    row["form"] = min(row["form"], FORMS.index(c.legal_form.value))
    row["trigger"] = min(row["trigger"], TRIGGERS.index(c.trigger.value))
    k = c.kind
    if c.posture is not None:
        j = POSTURES.index(c.posture.value)
        r = ROES.index(c.rules_of_engagement.value)
        troops = c.troops * share
        if k is Kind.TRAINING:
            row["trainers"][j] += troops
        else:
            row["ground"][j] += troops
        row["personnel_roe"][j, r] += troops
        row["aircraft"][j] += c.aircraft * share
        row["ships"][j] += c.ships * share
    row["mutual_defence"] |= k is Kind.MUTUAL_DEFENCE
    row["umbrella"] |= k is Kind.NUCLEAR_UMBRELLA
    row["combat"] |= k in _COMBAT
    row["snapback"] |= k is Kind.SANCTIONS_SNAPBACK
    row["intel"] |= k is Kind.INTELLIGENCE_SHARING
    row["air"] |= k in (Kind.AIR_POWER, Kind.AIR_DEFENCE) and counts_as_actor
    row["treaty_defence"] |= (
        k is Kind.MUTUAL_DEFENCE
        and c.legal_form is LegalForm.RATIFIED_TREATY
        and c.trigger is Trigger.AUTOMATIC
        and not via_nato
    )
    if k is Kind.MILITARY_AID:
        row["aid"] += c.usd_per_year * share
    elif k is Kind.HUMANITARIAN_AID:
        row["humanitarian"] += c.usd_per_year * share
    elif k is Kind.RECONSTRUCTION_AID:
        row["reconstruction"] += c.usd_per_year * share
    if k is Kind.AIR_DEFENCE:
        row["ad_personnel"] += c.troops * share
        row["ad_aircraft"] += c.aircraft * share
