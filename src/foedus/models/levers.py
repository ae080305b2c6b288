"""Compile guarantee packages into arrays (the levers).

Two levels of rows, both sorted by package:

* **Elements** ``e``: one per (package, guarantor, legal form, trigger). A
  guarantor's commitments made in the same legal instrument (same form and
  trigger) merge into one element and share one credibility; commitments in
  different instruments stay apart, so a political-declaration umbrella never
  borrows the credibility of the same guarantor's treaty. A group's measure
  whose effect is whether it happens at all (sanctions snap-back,
  consultation, intelligence sharing, ceasefire monitoring, a joint
  commission) is one element of its own, with the group's will: counted
  member by member, "any of them" would make a 34-member measure all but
  certain whatever each member's share.
* **Guarantor rows** ``q``: one per (package, guarantor), for what belongs to
  a country rather than to one instrument: forces and capacity, hand-tying
  (its troops in Ukraine), costs in % of GDP, and the per-guarantor detail.

A group commitment (``NATO``, ``EU``, ``COALITION``) is expanded to its
members less those listed in ``except``; its sizes and money are split among
them by GDP share. Excluded members pay nothing, hold no veto and are not
bound. NATO and the EU decide as one body (EU unanimity, NATO consent).
The Coalition of the Willing has no collective decision: each member's share
is its own commitment, with the approvals its own rules imply and no
group-wide veto. This is the only
module that walks package objects in Python; it runs once per set of
packages, never per future.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from foedus.domain.country import CountryTable
from foedus.domain.package import Package
from foedus.domain.vocabulary import (
    ARMED_KINDS,
    Enabler,
    COLLECTIVE_KINDS,
    DECIDING_GROUPS,
    GROUPS,
    IN_UKRAINE,
    PROMISE_KINDS,
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
KYIV = [k.value for k in KyivPosition]
ENABLERS = [k.value for k in Enabler]
#: Approvals with one probability each; NATO unanimity is a product over members instead.
VETOES = [a.value for a in Approval if a is not Approval.NATO_UNANIMITY]
#: Boolean mask over POSTURES: on Ukrainian territory.
IN_UKRAINE_MASK = np.array([Posture(p) in IN_UKRAINE for p in POSTURES])


def implied_approvals(c, country, deploys_in_ukraine: bool) -> set[str]:
    """Approvals the rules require for commitment ``c`` by ``country``.

    US: a ratified treaty needs two thirds of the Senate; a congressional-
    executive agreement simple majorities of both Houses (Art. II s.2; CRS).
    UK: Commons vote on deploying forces to Ukraine (2003 convention; 2026
    pledge) and on ratifying a treaty (CRaG Act 2010, Part 2). Germany:
    Bundestag mandate for any armed deployment (BVerfG 1994). France: Art. 35
    authorisation beyond four months. Others: their parliament where the
    regime is prior or ex-post approval (Bundestag WD 2 2012), and for
    ratifying any treaty.
    """
    out: set[str] = set()
    iso = country.iso3  # the member, when ``c`` is a COALITION commitment
    armed = c.kind in ARMED_KINDS and (c.troops > 0 or c.aircraft > 0 or c.ships > 0)
    treaty = c.legal_form is LegalForm.RATIFIED_TREATY
    if iso == "USA":
        if treaty:
            out.add(Approval.US_SENATE_TWO_THIRDS.value)
        elif c.legal_form is LegalForm.CONGRESSIONAL_EXECUTIVE_AGREEMENT:
            out.add(Approval.US_CONGRESS_MAJORITIES.value)
    elif iso == "GBR":
        if (armed and deploys_in_ukraine) or treaty:
            out.add(Approval.UK_COMMONS_VOTE.value)
    elif iso == "DEU":
        if armed or treaty:
            out.add(Approval.BUNDESTAG_MANDATE.value)
    elif iso == "FRA":
        if armed or treaty:
            out.add(Approval.FRANCE_ARTICLE_35.value)
    elif treaty or (armed and country.deployment_approval.value in (DeploymentApproval.PRIOR, DeploymentApproval.EX_POST)):
        out.add(Approval.NATIONAL_PARLIAMENT.value)
    return out


@dataclass
class Levers:
    """Packages as arrays: ``E`` elements, ``Q`` guarantor rows, ``P``
    packages, ``G`` distinct guarantors."""

    package_ids: list[str]
    guarantors: list[str]  # ISO3, one per distinct guarantor
    # -- elements (E,) -----------------------------------------------------
    el_package: np.ndarray  # int
    el_guarantor: np.ndarray  # int into guarantors (a group's lead for a collective element)
    el_q: np.ndarray  # int into guarantor rows
    form: np.ndarray  # int into FORMS
    trigger: np.ndarray  # int into TRIGGERS
    collective: np.ndarray  # bool: a group's collective measure (decided by the group)
    group: list[str]  # "" or the group of a collective element
    kinds: list[tuple[str, ...]]  # the kinds of commitment merged into each element
    promise: np.ndarray  # bool: promises to act (fight, or apply sanctions) when Ukraine is attacked
    fight_promise: np.ndarray  # bool: promises to fight when Ukraine is attacked
    fighting: np.ndarray  # bool: a promise to fight, or fighting personnel/aircraft/ships present
    ground: np.ndarray  # (E, 5) ground-force and air-defence personnel by posture
    trainers: np.ndarray  # (E, 5)
    monitors: np.ndarray  # (E, 5) ceasefire monitors
    aircraft: np.ndarray  # (E, 5)
    ships: np.ndarray  # (E, 5)
    air_defence: np.ndarray  # (E, 5) air-defence personnel (also counted in ground)
    mutual_defence: np.ndarray  # bool
    umbrella: np.ndarray  # bool
    snapback: np.ndarray  # bool
    intel: np.ndarray  # bool
    monitoring: np.ndarray  # bool: ceasefire monitoring and verification
    joint_commission: np.ndarray  # bool
    treaty_defence: np.ndarray  # bool: ratified automatic mutual defence (not via the NATO group)
    aid_usd: np.ndarray  # military aid per year
    humanitarian_usd: np.ndarray
    reconstruction_usd: np.ndarray
    missions: np.ndarray  # (E,) share of a ceasefire-monitoring mission the element pays for
    el_vetoes: np.ndarray  # (E, V) the element's own veto players
    el_gdp_weight: np.ndarray  # (E,) its guarantor's GDP share in the package, split over its elements
    # -- guarantor rows (Q,) -------------------------------------------------
    q_package: np.ndarray
    q_guarantor: np.ndarray
    # -- per guarantor (G,) ----------------------------------------------------
    gdp: np.ndarray
    defence_pct_gdp: np.ndarray
    defence_usd: np.ndarray
    active: np.ndarray
    nuclear: np.ndarray  # bool
    aid_baseline: np.ndarray  # military aid to Ukraine already in its defence spending (USD a year)
    # -- per package (P,) ------------------------------------------------------
    kyiv: np.ndarray  # int into KYIV
    needs_kyiv: np.ndarray  # bool: the package asks something of Ukraine (an agreement, forces on its soil, terms)
    nato_membership: np.ndarray  # bool
    nato_consent: np.ndarray  # bool: needs every NATO member's consent
    vetoes: np.ndarray  # (P, V) package-wide veto players (EU unanimity, approvals listed on groups)
    force_cap: np.ndarray  # (P,) cap on Ukraine's forces (inf: none)
    buffer_zone: np.ndarray  # (P,) bool
    nato_members: list[str] = field(default_factory=list)
    approvals_by_package: list[list[tuple[str, str]]] = field(default_factory=list)
    # -- enablers and the time axis ------------------------------------------------
    enabler_units: np.ndarray | None = None  # (E, K) enabler fleet built, K = ENABLERS
    el_pattern: np.ndarray | None = None  # (E,) int into patterns: its guarantor's years of government change
    patterns: list[tuple[int, ...]] = field(default_factory=lambda: [()])
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
    def n_elements(self) -> int:
        return int(self.el_package.size)

    @property
    def n_rows(self) -> int:
        """Guarantor rows (package, guarantor)."""
        return int(self.q_package.size)

    @property
    def n_packages(self) -> int:
        return len(self.package_ids)

    # -- sums over packages, for lever-only arrays -----------------------------
    def sum_packages(self, a: np.ndarray, level: str = "q") -> np.ndarray:
        """Per-package sums of a row array ``(Q|E, ...)`` -> ``(P, ...)``."""
        return sum_into(self.q_package if level == "q" else self.el_package, a, self.n_packages)

    def sum_rows(self, a: np.ndarray) -> np.ndarray:
        """Per-guarantor-row sums of an element array ``(E, ...)`` -> ``(Q, ...)``."""
        return sum_into(self.el_q, a, self.n_rows)

    def row_values(self, per_guarantor: np.ndarray) -> np.ndarray:
        """Gather a ``(G, ...)`` array to guarantor rows ``(Q, ...)``."""
        return per_guarantor[self.q_guarantor]

    def el_values(self, per_guarantor: np.ndarray) -> np.ndarray:
        """Gather a ``(G, ...)`` array to elements ``(E, ...)``."""
        return per_guarantor[self.el_guarantor]

    def row_iso3(self) -> list[str]:
        return [self.guarantors[g] for g in self.q_guarantor]

    def troops_in_ukraine(self) -> np.ndarray:
        """``(Q,)`` personnel on Ukrainian soil per guarantor row (ground,
        air defence, trainers, monitors; not air or naval crews): what ties a
        guarantor's hands."""
        return self.memo("troops_in_ukraine", lambda: self.sum_rows((self.ground + self.trainers + self.monitors)[:, IN_UKRAINE_MASK].sum(axis=1)))

    def will_codes(self, present) -> tuple[tuple[str, ...], list[str], np.ndarray]:
        """Which will parameter each element uses: ``will.<ISO3>`` if
        present, else ``will.default``; a group's collective element uses
        the group's will, ``will.default``. Returns the named wills present
        (what the rest depends on, a key for caches), the wills used, sorted,
        and each element's index among them ``(E,)``. Worked out per
        guarantor, then gathered (once per set of will parameters present)."""
        own = tuple(k for k in (f"will.{g}" for g in self.guarantors) if k in present)

        def build():
            named = set(own)
            # option g: guarantor g's will; option G: the group's (collective elements)
            options = [k if k in named else "will.default" for k in (f"will.{g}" for g in self.guarantors)] + ["will.default"]
            option = np.where(self.collective, len(self.guarantors), self.el_guarantor)
            used = np.unique(option)
            wills = sorted({options[o] for o in used.tolist()})
            code = np.zeros(len(options), dtype=np.int64)
            code[used] = [wills.index(options[o]) for o in used.tolist()]
            return wills, code[option]

        return (own, *self.memo(("will_codes", own), build))


def sum_into(index: np.ndarray, a, n: int) -> np.ndarray:
    """``out[index[i]] += a[i]`` for every row ``i`` in order, ``(n, ...)``:
    ``np.add.at``'s sums, from one ``np.bincount`` per column (several times
    faster; both add each row's terms one by one, in row order)."""
    a = np.asarray(a, dtype=np.float64)
    flat = a.reshape(a.shape[0], int(np.prod(a.shape[1:], dtype=np.int64)))
    out = np.empty((n, flat.shape[1]))
    for j in range(flat.shape[1]):
        out[:, j] = np.bincount(index, weights=flat[:, j], minlength=n)
    return out.reshape((n,) + a.shape[1:])


def compile_packages(packages: list[Package], countries: CountryTable, like: Levers | None = None) -> Levers:
    """Compile validated packages into :class:`Levers`: the deal as agreed,
    each commitment at its peak and in force throughout (a package that
    changes by year is followed year by year in :mod:`foedus.exploration.years`).

    The walk over packages records, for each commitment and each element it
    reaches, one *contribution* (element, commitment, share, whether it
    brings sizes and effects); :meth:`_Walk.merge` then adds them up with NumPy,
    contribution by contribution in the order walked. (A comparison compiles
    every package without each of its guarantors: tens of thousands of
    elements, which as Python objects took seconds.)

    ``like``: levers compiled before from packages that may differ from
    these only in the sizes of their commitments (a slider moved troops or
    money). :func:`_resized` checks that, and then walks only the sizes
    again; otherwise the packages are compiled afresh. The levers are the
    same either way, bit for bit."""
    if not packages:
        raise ValueError("at least one package is needed")
    if like is not None:
        resized = _resized(like, packages, countries)
        if resized is not None:
            return resized
    nato = countries.members("NATO")
    members_of = {g: countries.members(g) for g in GROUPS}
    walk = _Walk()
    kyiv, needs_kyiv, nato_membership, nato_consent, vetoes, approvals_by_package, caps, buffers = ([] for _ in range(8))

    def _split(group: str, left_out: tuple) -> tuple[list[str], list[float], str]:
        """A group's bound members, their GDP shares and the largest (once
        per country table, group and ``except``: kept with the table)."""

        def build():
            members = [m for m in members_of[group] if m not in left_out]
            gdp = np.array([countries[m].gdp_usd.value for m in members])
            shares = gdp / gdp.sum()
            return members, shares.tolist(), members[int(np.argmax(shares))]

        return countries.derived(("levers.split", group, left_out), build)

    def approvals_of(c, members: list[str], in_ukr: bool, armed: bool, listed: frozenset) -> tuple[list[int], list[int], frozenset]:
        """What the members of commitment ``c`` that decide for themselves
        must approve (the approvals the rules imply, :func:`implied_approvals`,
        and those listed): the member and veto player of each (those with a
        probability of their own), and the package's (approval, member)
        pairs. Once per country table, set of members (guarantor and
        ``except``), form, kind of deployment and listed approvals (kept
        with the table: a comparison after each lever move asks the same
        again)."""

        def build():
            at, vetoes_at, pairs = [], [], set()
            for i, iso in enumerate(members):
                need = implied_approvals(c, countries[iso], in_ukr) | listed
                for a in sorted(need):
                    pairs.add((a, iso))
                    if a in VETOES:
                        at.append(i)
                        vetoes_at.append(VETOES.index(a))
            return at, vetoes_at, frozenset(pairs)

        return countries.derived(("levers.approvals", c.guarantor, tuple(c.except_), c.legal_form, armed, in_ukr, listed), build)

    def route(c, ci: int) -> _Route:
        """Where commitment ``c`` (record ``ci``) goes in any package that
        holds it: its members and their shares, the elements it reaches
        (as keys within the package), the approvals it needs."""
        f, t, in_ukr, armed, asks = walk.meta[ci]
        group = c.guarantor in GROUPS
        if group:
            members, shares, lead = _split(c.guarantor, tuple(c.except_))
        else:
            members, shares, lead = [c.guarantor], [1.0], c.guarantor
        members_at = countries.derived(("levers.member_keys", c.guarantor, tuple(c.except_), f, t), lambda: [(iso, f, t, "") for iso in members])
        # a country, or a member of a group without a collective decision
        # (the Coalition): its share is its own, with its own approvals
        own = c.guarantor not in DECIDING_GROUPS
        # one measure of the group: an element of its own (carried by its
        # largest member for bookkeeping) holds what it does; the members
        # hold their shares of its personnel and, in a group without a
        # collective decision, their own approvals
        collective_measure = group and c.kind in COLLECTIVE_KINDS
        listed = frozenset(a.value for a in c.approvals)
        if own:  # each member's approvals: its element's veto players and the package's
            at, vetoes_at, pairs = approvals_of(c, members, in_ukr, armed, listed)
        else:
            at, vetoes_at, pairs = [], [], frozenset((a, c.guarantor) for a in listed)
        return _Route(
            asks=asks,
            nato_member=c.guarantor == "NATO" and c.kind is Kind.MUTUAL_DEFENCE,
            # EU instruments need unanimity, unless some members stay out
            # (enhanced cooperation, as for the 2026-27 loan)
            eu_unanimity=c.guarantor == "EU" and not c.except_,
            measure=[(lead, f, t, c.guarantor)] if collective_measure else [],
            members=members_at,
            shares=shares,
            veto_members=at,
            veto_players=vetoes_at,
            pairs=pairs,
        )

    routes: list[_Route] = []  # per commitment record
    records: list[int] = []  # the record of every (package, commitment), in walking order
    index, held, pe, ps, calls = walk.index, walk.held, walk.pe, walk.ps, walk.calls
    # elements in order of first appearance (each package's made while it
    # is walked): their keys within the package (guarantor, form, trigger,
    # group) and how many each package has
    keys: list[tuple] = []
    per_package: list[int] = []
    for p_i, pkg in enumerate(packages):
        cis = []
        for c in pkg.commitments:
            ci = index.get(id(c))
            if ci is None or held[ci] is not c:
                ci = walk.commitment(c)
                routes.append(route(walk.peaks[ci], ci))
            cis.append(ci)
        records += cis
        rs = [routes[ci] for ci in cis]
        made: dict[tuple, int] = {}  # (guarantor, form, trigger, group) -> element
        base = len(keys)
        # each commitment's contributions (:class:`_Walk`): a group's measure
        # brings what it does to its own element, the members their shares
        # of its sizes and money; otherwise the members' elements get both
        for ci, r in zip(cis, rs):
            if r.measure:
                pe += [made.setdefault(k, base + len(made)) for k in r.measure]
                ps.append(1.0)
                calls.append((ci, False, True, 1))
            mine = [made.setdefault(k, base + len(made)) for k in r.members]
            pe += mine
            ps += r.shares
            calls.append((ci, True, not r.measure, len(mine)))
            if r.veto_members:
                walk.ve += [mine[i] for i in r.veto_members]
                walk.vv += r.veto_players
        keys += made
        per_package.append(len(made))
        needs = not pkg.terms.empty or any(r.asks for r in rs)
        member_of_nato = any(r.nato_member for r in rs)
        veto_pairs = set().union(*(r.pairs for r in rs))
        if any(r.eu_unanimity for r in rs):
            veto_pairs.add((_EU_UNANIMITY, "EU"))
        if member_of_nato:
            veto_pairs.add((_NATO_UNANIMITY, "NATO"))
        kyiv.append(KYIV.index(pkg.kyiv_position.value))
        needs_kyiv.append(bool(needs))
        nato_membership.append(member_of_nato)
        nato_consent.append(any(a == _NATO_UNANIMITY for a, _ in veto_pairs))
        counts = np.zeros(len(VETOES))
        for a, by in veto_pairs:
            if by in DECIDING_GROUPS and a in VETOES:
                counts[VETOES.index(a)] += 1
        vetoes.append(counts)
        approvals_by_package.append(sorted(veto_pairs))
        caps.append(float(pkg.terms.ukraine_force_cap) if pkg.terms.ukraine_force_cap else np.inf)
        buffers.append(bool(pkg.terms.buffer_zone))

    E = len(keys)
    el_package = np.repeat(np.arange(len(packages), dtype=np.int64), per_package)
    isos, el_forms, el_triggers, groups = ([*col] for col in zip(*keys)) if keys else ([] for _ in range(4))
    # guarantor rows in order of each package's first element of the guarantor
    q_keys = list(dict.fromkeys(zip(el_package.tolist(), isos)))
    guarantors: list[str] = list(dict.fromkeys(iso for _, iso in q_keys))
    gi = {g: i for i, g in enumerate(guarantors)}
    qi = {k: i for i, k in enumerate(q_keys)}
    contributions = walk.contributions()
    el = walk.merge(E, contributions)

    el_guarantor = np.array([gi[iso] for iso in isos], dtype=np.int64)
    el_q = np.array([qi[k] for k in zip(el_package.tolist(), isos)], dtype=np.int64)
    collective = np.array([bool(g) for g in groups], dtype=bool)
    gdp = np.array([countries[g].gdp_usd.value for g in guarantors])
    q_package = np.array([p for p, _ in q_keys], dtype=np.int64)
    q_guarantor = np.array([gi[g] for _, g in q_keys], dtype=np.int64)
    # GDP share of each guarantor in its package, split equally over its
    # non-collective elements (collective elements weigh nothing)
    pkg_gdp = np.zeros(len(packages))
    np.add.at(pkg_gdp, q_package, gdp[q_guarantor])
    n_el = np.zeros(len(q_keys))
    np.add.at(n_el, el_q[~collective], 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        el_gdp_weight = np.where(collective, 0.0, gdp[el_guarantor] / pkg_gdp[el_package] / np.maximum(n_el[el_q], 1.0))
    ground, aircraft, ships = el["ground"], el["aircraft"], el["ships"]
    fight_promise = el["fight_promise"]
    promise = fight_promise | el["snapback"]
    # government-change patterns, numbered in the order of the guarantors'
    # first own (not collective) elements; a collective element has none
    patterns: dict[tuple[int, ...], int] = {(): 0}
    own_g, first = np.unique(el_guarantor[~collective], return_index=True)
    g_pattern = np.zeros(len(guarantors), dtype=np.int64)
    for g in own_g[np.argsort(first, kind="stable")].tolist():
        g_pattern[g] = patterns.setdefault(tuple(getattr(countries[guarantors[g]], "government_changes", ()) or ()), len(patterns))
    el_pattern = np.where(collective, 0, g_pattern[el_guarantor])
    lv = Levers(
        package_ids=[p.id for p in packages],
        guarantors=guarantors,
        el_package=el_package,
        el_guarantor=el_guarantor,
        el_q=el_q,
        form=np.array(el_forms, dtype=np.int64),
        trigger=np.array(el_triggers, dtype=np.int64),
        collective=collective,
        group=groups,
        promise=promise,
        fighting=_fighting(fight_promise, ground, aircraft, ships),
        **el,  # per element: sizes by posture, money, missions, enablers, effects, veto players, kinds
        el_gdp_weight=el_gdp_weight,
        q_package=q_package,
        q_guarantor=q_guarantor,
        gdp=gdp,
        defence_pct_gdp=np.array([countries[g].defence_pct_gdp.value for g in guarantors]),
        defence_usd=np.array([countries[g].defence_usd.value for g in guarantors]),
        active=np.array([countries[g].active_personnel.value for g in guarantors]),
        nuclear=np.array([countries[g].is_nuclear for g in guarantors], dtype=bool),
        aid_baseline=np.array([countries[g].ukraine_military_aid_usd.value if countries[g].ukraine_military_aid_usd else 0.0 for g in guarantors]),
        kyiv=np.array(kyiv, dtype=np.int64),
        needs_kyiv=np.array(needs_kyiv, dtype=bool),
        nato_membership=np.array(nato_membership, dtype=bool),
        nato_consent=np.array(nato_consent, dtype=bool),
        vetoes=np.array(vetoes, dtype=float).reshape(len(packages), len(VETOES)),
        force_cap=np.array(caps, dtype=float),
        buffer_zone=np.array(buffers, dtype=bool),
        nato_members=nato,
        approvals_by_package=approvals_by_package,
        el_pattern=el_pattern,
        patterns=list(patterns),
    )
    lv._memo[_SHAPE] = _Shape(countries, [_package_shape(p) for p in packages], contributions, [walk.structure(ci) for ci in range(len(walk.c))],
                              records)
    return lv


def _fighting(fight_promise: np.ndarray, ground: np.ndarray, aircraft: np.ndarray, ships: np.ndarray) -> np.ndarray:
    """Elements that may fight: a promise to fight, or fighting personnel,
    aircraft or ships present."""
    return fight_promise | ((ground + aircraft + ships).sum(axis=1) > 0)


#: The key under which compiled levers keep their :class:`_Shape`.
_SHAPE = "compile_shape"


@dataclass
class _Shape:
    """What compiled levers came from, but for the commitments' sizes: the
    country table, each package's id, Kyiv position and terms, the
    contributions (:meth:`_Walk.contributions`), each commitment record's
    structure (:meth:`_Walk.structure`) and the record of every (package,
    commitment) in walking order."""

    countries: CountryTable
    packages: list[tuple]
    contributions: tuple | None
    structure: list[tuple]
    records: list[int]


def _package_shape(pkg: Package) -> tuple:
    return pkg.id, pkg.kyiv_position, pkg.terms


def _resized(like: Levers, packages: list[Package], countries: CountryTable) -> Levers | None:
    """``like`` with the sizes of ``packages``' commitments, or None when
    the packages differ from those ``like`` was compiled from in anything
    else: a package's id, Kyiv position or terms, the commitments and the
    order in which they are met (and which are the same object), or any
    commitment's guarantor, ``except``, approvals, kind, posture, form,
    trigger, effects, or whether each size is zero (whether it is armed and
    asks something of Ukraine, see :meth:`_Walk.commitment`). Everything
    compiled from these is then as before; the sizes are merged again in
    the same order (:func:`_sizes`), so the levers are those
    :func:`compile_packages` gives, bit for bit."""
    shape = like._memo.get(_SHAPE)
    if shape is None or shape.countries is not countries or len(packages) != len(shape.packages):
        return None
    walk, records = _Walk(), shape.records
    k = 0
    for pkg, was in zip(packages, shape.packages):
        if _package_shape(pkg) != was:
            return None
        for c in pkg.commitments:
            if k == len(records) or walk.commitment(c) != records[k]:
                return None
            k += 1
    # the same records in the same order: as many distinct commitments as before
    if k != len(records) or any(walk.structure(ci) != st for ci, st in enumerate(shape.structure)):
        return None
    sized = _sizes(like.n_elements, shape.contributions, walk.c)
    lv = replace(like, **sized, fighting=_fighting(like.fight_promise, sized["ground"], sized["aircraft"], sized["ships"]), _memo={})
    lv._memo[_SHAPE] = shape
    return lv


#: The approvals a package-wide veto names (enum values read once: an
#: enum member's ``.value`` is a descriptor call).
_EU_UNANIMITY, _NATO_UNANIMITY = Approval.EU_UNANIMITY.value, Approval.NATO_UNANIMITY.value


#: What a commitment does to the elements it reaches (``effects``), by flag:
#: the kinds that set it. A ground force under self-defence rules defends
#: itself, not Ukraine, so it is no promise to fight; a treaty's automatic
#: mutual defence counts as such only when not made through NATO.
_EFFECTS = ("fight_promise", "mutual_defence", "umbrella", "snapback", "intel", "monitoring", "joint_commission", "treaty_defence")
_KIND_LIST = list(Kind)
#: The places of the sizes' values in a commitment record (:meth:`_Walk.commitment`):
#: troops, aircraft, ships, money and enabler units.
_SIZE_AT = frozenset((2, 4, 5, 8, 10))
#: Where a commitment's personnel go, by kind (the rest is ground).
_PERSONNEL_SLOT = {Kind.TRAINING: "trainers", Kind.CEASEFIRE_MONITORING: "monitors"}
_MONEY_SLOT = {Kind.MILITARY_AID: "aid_usd", Kind.HUMANITARIAN_AID: "humanitarian_usd", Kind.RECONSTRUCTION_AID: "reconstruction_usd"}


@dataclass(frozen=True, slots=True)
class _Route:
    """Where one commitment goes in a package that holds it (worked out once
    per commitment object and compilation: a comparison's variants share
    most of theirs): the element keys within the package of its group's
    collective measure (``measure``, at most one) and of its members, each
    member's share, the members with a veto of their own (index into
    ``members``) and their veto players, the package's (approval, by)
    pairs, and whether it makes Ukraine a NATO member, needs EU unanimity
    or asks something of Ukraine."""

    asks: bool
    nato_member: bool
    eu_unanimity: bool
    measure: list[tuple]
    members: list[tuple]
    shares: list[float]
    veto_members: list[int]
    veto_players: list[int]
    pairs: frozenset


class _Walk:
    """The commitments met while walking the packages (what each brings),
    the contributions of each to the elements it reaches, and the veto
    players of each element; :meth:`merge` adds them up per element."""

    def __init__(self):
        self.c: list[tuple] = []
        # contributions (one per element a commitment reaches): the element
        # and its share, and per run of them (one commitment's, in order):
        # the commitment, whether they bring sizes and money, whether they
        # bring its effects, how many there are
        self.pe: list[int] = []
        self.ps: list[float] = []
        self.calls: list[tuple] = []
        self.ve: list[int] = []
        self.vv: list[int] = []
        self.index: dict[int, int] = {}  # id of a commitment -> its record
        self.held: list = []  # the commitments recorded (kept alive: their ids stay theirs)
        self.peaks: list = []  # and each at its peak
        self.meta: list[tuple] = []  # per commitment: form, trigger, in Ukraine, armed, asks something of Ukraine

    def commitment(self, c) -> int:
        """Record commitment ``c`` at its peak (``peaks``: every size at its
        peak year, in force throughout): its posture, personnel, platforms,
        money, enabler fleet, kind and effects. Once per object: a package
        without one guarantor keeps the others' commitments."""
        seen = self.index.get(id(c))
        if seen is not None and self.held[seen] is c:
            return seen
        self.index[id(c)] = len(self.c)
        self.held.append(c)
        c = c.peak()
        self.peaks.append(c)
        k = c.kind
        in_ukr = c.posture is not None and Posture(c.posture.value) in IN_UKRAINE
        self.meta.append((
            FORMS.index(c.legal_form.value),
            TRIGGERS.index(c.trigger.value),
            in_ukr,
            k in ARMED_KINDS and (c.troops > 0 or c.aircraft > 0 or c.ships > 0),
            # it asks something of Ukraine: more than a declaration, or forces on its soil
            c.legal_form is not LegalForm.POLITICAL_DECLARATION or bool(in_ukr and (c.troops or c.aircraft or c.ships)),
        ))
        self_defence_only = k is Kind.DEPLOYED_GROUND_FORCE and c.rules_of_engagement is RulesOfEngagement.SELF_DEFENCE
        effects = (
            k in PROMISE_KINDS and not self_defence_only,
            k is Kind.MUTUAL_DEFENCE,
            k is Kind.NUCLEAR_UMBRELLA,
            k is Kind.SANCTIONS_SNAPBACK,
            k is Kind.INTELLIGENCE_SHARING,
            k is Kind.CEASEFIRE_MONITORING,
            k is Kind.JOINT_COMMISSION,
            k is Kind.MUTUAL_DEFENCE and c.legal_form is LegalForm.RATIFIED_TREATY and c.trigger is Trigger.AUTOMATIC and c.guarantor != "NATO",
        )
        self.c.append((
            POSTURES.index(c.posture.value) if c.posture is not None else -1,
            _PERSONNEL_SLOT.get(k, "ground"),
            float(c.troops),
            k is Kind.AIR_DEFENCE,
            float(c.aircraft),
            float(c.ships),
            k is Kind.CEASEFIRE_MONITORING,
            _MONEY_SLOT.get(k),
            float(c.usd_per_year) if k in _MONEY_SLOT else 0.0,
            ENABLERS.index(c.enabler.value) if k is Kind.ENABLER_BUILD else -1,
            float(c.units) if k is Kind.ENABLER_BUILD else 0.0,
            _KIND_LIST.index(k),
            effects,
        ))
        return len(self.c) - 1

    def structure(self, ci: int) -> tuple:
        """All that compiling reads of commitment record ``ci`` but its
        sizes' values (whether each is zero is in ``meta``): what must be
        the same for levers to be resized rather than compiled afresh
        (:func:`_resized`)."""
        c = self.peaks[ci]
        rest = tuple(v for i, v in enumerate(self.c[ci]) if i not in _SIZE_AT)
        return rest, self.meta[ci], c.guarantor, tuple(c.except_), tuple(c.approvals)

    def contributions(self) -> tuple[np.ndarray, ...] | None:
        """The contributions as arrays ``(element, share, commitment record,
        brings sizes, brings effects)``, one entry each, in the order walked
        (None if there is none)."""
        if not self.pe:
            return None
        calls = np.array(self.calls, dtype=np.int64)  # commitment, sizes, effects, count
        pc, sizes, effects = (np.repeat(calls[:, i], calls[:, 3]) for i in range(3))
        return np.array(self.pe, dtype=np.int64), np.array(self.ps, dtype=np.float64), pc, sizes.astype(bool), effects.astype(bool)

    def merge(self, E: int, contributions: tuple[np.ndarray, ...] | None) -> dict:
        """Per element ``(E, ...)``: personnel, aircraft and ships by posture,
        money, missions, enabler fleet (:func:`_sizes`), effect flags, veto
        players and kinds (``contributions``: :meth:`contributions`)."""
        out = _sizes(E, contributions, self.c)
        out["el_vetoes"] = np.zeros((E, len(VETOES)))
        out["el_vetoes"][np.array(self.ve, dtype=np.int64), np.array(self.vv, dtype=np.int64)] = 1.0
        if contributions is None:  # nothing committed (a package left with no commitments)
            out.update({name: np.zeros(E, dtype=bool) for name in _EFFECTS})
            out["kinds"] = [()] * E
            return out
        pe, _, pc, _, effects = contributions
        cols = list(zip(*self.c))
        kind = np.array(cols[11])
        flags = np.array(cols[12], dtype=bool)  # (C, len(_EFFECTS))
        # effects: any contribution that brings one sets it
        for i, name in enumerate(_EFFECTS):
            flag = np.zeros(E, dtype=bool)
            flag[pe[effects & flags[pc, i]]] = True
            out[name] = flag
        # the kinds merged into each element, every contribution counted
        mask = np.zeros(E, dtype=np.int64)
        np.bitwise_or.at(mask, pe, np.left_shift(1, kind[pc]))
        names = {b: tuple(sorted(k.value for i, k in enumerate(_KIND_LIST) if b >> i & 1)) for b in set(mask.tolist())}
        out["kinds"] = [names[b] for b in mask.tolist()]
        return out


def _sizes(E: int, contributions: tuple[np.ndarray, ...] | None, records: list[tuple]) -> dict:
    """Per element ``(E, ...)``: personnel, aircraft and ships by posture,
    money, missions and enabler fleet, added contribution by contribution
    in the order walked (``contributions``: :meth:`_Walk.contributions`;
    ``records``: the commitments', :meth:`_Walk.commitment`)."""
    P, K = len(POSTURES), len(ENABLERS)
    out = {name: np.zeros((E, P)) for name in ("ground", "trainers", "monitors", "aircraft", "ships", "air_defence")}
    out.update({name: np.zeros(E) for name in ("aid_usd", "humanitarian_usd", "reconstruction_usd", "missions")})
    out["enabler_units"] = np.zeros((E, K))
    if contributions is None:
        return out
    pe, share, pc, sizes, _ = contributions
    cols = list(zip(*records))
    post, slot, troops, air_def, aircraft, ships, mission, money, usd, enabler, units = (np.array(col) for col in cols[:11])
    # sizes, in the order walked (ufunc.at adds repeated indices one by one)
    s = sizes & (post[pc] >= 0)
    e, c, sh = pe[s], pc[s], share[s]
    j = post[c]
    people = troops[c] * sh
    for name in ("ground", "trainers", "monitors"):
        m = slot[c] == name
        np.add.at(out[name], (e[m], j[m]), people[m])
    m = air_def[c]
    np.add.at(out["air_defence"], (e[m], j[m]), people[m])
    np.add.at(out["aircraft"], (e, j), aircraft[c] * sh)
    np.add.at(out["ships"], (e, j), ships[c] * sh)
    e, c, sh = pe[sizes], pc[sizes], share[sizes]
    m = mission[c]
    np.add.at(out["missions"], e[m], sh[m])
    for name in _MONEY_SLOT.values():
        m = money[c] == name
        np.add.at(out[name], e[m], usd[c][m] * sh[m])
    m = enabler[c] >= 0
    np.add.at(out["enabler_units"], (e[m], enabler[c][m]), units[c][m] * sh[m])
    return out
