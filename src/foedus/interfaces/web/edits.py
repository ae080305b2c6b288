"""Lever edits: the changes a user makes to a package with the web app's
controls (troops, aircraft and air-defence personnel per guarantor, legal
form and posture for the package or per guarantor, aid, guarantors taken
out), applied to a validated :class:`~foedus.domain.package.Package`.

An edit is plain data (the JSON the page sends, also what the "reproduce
this" snippet passes), so the same numbers come out of the web app, a
notebook and ``foedus compare`` on the exported package file::

    {"troops": {"GBR": 12000, "DEU": 5000},   # deployed ground troops per guarantor
     "legal_form": "ratified_treaty",         # every commitment of the package
     "posture": "western_ukraine",            # every deployed ground force
     "aid_scale": 1.5,                        # x military, humanitarian and reconstruction aid
     "aid_usd": {"USA": 2.0e10},              # military aid per year per guarantor
     "legal_form_of": {"USA": "ratified_treaty"},   # every commitment of one guarantor
     "posture_of": {"GBR": "behind_dnipro"},  # every force of one guarantor that states a posture
     "aircraft": {"USA": 24},                 # combat aircraft (air power) per guarantor
     "air_defence": {"USA": 600},             # air-defence personnel per guarantor
     "remove": ["FRA"]}                       # guarantors taken out (Package.without)

Rules (documented in docs/web.md):

* ``troops[G] = N`` sets guarantor G's deployed ground troops to N. Several
  ground-force commitments of G are scaled together (their shares kept);
  ``N = 0`` removes them; a guarantor without one gets a new commitment
  whose legal form and trigger are G's strongest existing ones in the
  package (else the package's most common), posture the package's most
  common ground posture (else western Ukraine).
* ``legal_form`` replaces the legal form of every commitment.
* ``posture`` replaces the posture of every deployed ground force.
* ``aid_scale`` multiplies every aid commitment (0 removes them).
* ``aid_usd[G] = X`` sets G's military aid per year (0 removes it).
* ``legal_form_of[G]`` replaces the legal form of every commitment of G
  (after ``legal_form``); ``posture_of[G]`` the posture of every commitment
  of G that states one (ground, air, air defence, naval, training,
  monitors).
* ``aircraft[G] = N`` sets G's combat aircraft on air-power commitments and
  ``air_defence[G] = N`` G's air-defence personnel, as ``troops`` does for
  the ground force (scaled together, 0 removes them, a new commitment
  otherwise: G's strongest legal form and trigger, the posture the package
  most often gives that kind, else neighbouring territory).
* ``remove = [G, ...]`` takes each guarantor out last, exactly as
  :meth:`Package.without` does for "whose promise counts" (its own
  commitments dropped, its share taken out of any group commitment), so
  the package without G has the attack probability the comparison reports
  as ``attack_probability_without`` for G. Removing every guarantor is
  refused (compare the status quo instead).

The result is validated like a package file, so an edit that leaves a
package invalid (for example no commitment left) raises
:class:`~foedus.domain.errors.InputError` naming the field.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from foedus.data.validation import validate
from foedus.domain.errors import InputError, Problem
from foedus.domain.package import Package
from foedus.domain.vocabulary import GROUPS, Kind, LegalForm, Posture, Trigger
from foedus.models.levers import FORMS

AID_KINDS = (Kind.MILITARY_AID.value, Kind.HUMANITARIAN_AID.value, Kind.RECONSTRUCTION_AID.value)
GROUND = Kind.DEPLOYED_GROUND_FORCE.value
AIR = Kind.AIR_POWER.value
AIR_DEFENCE = Kind.AIR_DEFENCE.value
EDIT_KEYS = ("troops", "legal_form", "posture", "aid_scale", "aid_usd", "legal_form_of", "posture_of", "aircraft", "air_defence", "remove")
ADDED_NOTE = "Added with the foedus web app levers (not from a published source)."

_TRIGGERS = [t.value for t in Trigger]


def is_empty(edit: Mapping[str, Any] | None) -> bool:
    """True when ``edit`` changes nothing."""
    if not edit:
        return True
    return not any(edit.get(k) not in (None, {}, []) for k in EDIT_KEYS)


def _strongest(values: list[str], order: list[str], default: str) -> str:
    return min(values, key=order.index) if values else default


def _most_common(values: list[str], default: str) -> str:
    return Counter(values).most_common(1)[0][0] if values else default


def _peak(v) -> float:
    """A size's largest value (a size by year: its peak year's)."""
    return max(v.values(), default=0) if isinstance(v, Mapping) else v


def _times(v, factor: float, integer: bool):
    """A size (plain or by year) times ``factor``; by year, every year's value."""
    if isinstance(v, Mapping):
        return {y: int(round(x * factor)) if integer else x * factor for y, x in v.items()}
    return int(round(v * factor)) if integer else v * factor


def _whole(v):
    """A whole float as an int (a size by year, each year's), else ``v`` itself."""
    if isinstance(v, Mapping):
        out = {y: _whole(x) for y, x in v.items()}
        return v if all(out[y] is v[y] for y in v) else out
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _scale_rows(rows: list[dict], field: str, target: float, integer: bool) -> list[dict]:
    """Scale ``field`` of ``rows`` so they sum to ``target`` (shares kept).
    A size that changes by year is scaled in every year, so that its peak
    takes its share of ``target`` (the build-up keeps its shape)."""
    total = sum(_peak(r[field]) for r in rows)
    if total <= 0:
        rows[0][field] = int(target) if integer else float(target)
        for r in rows[1:]:
            r[field] = 0
        return rows
    if integer and not any(isinstance(r[field], Mapping) for r in rows):
        vals = [int(round(r[field] * target / total)) for r in rows]
        vals[0] += int(target) - sum(vals)
    else:
        vals = [_times(r[field], target / total, integer) for r in rows]
    for r, v in zip(rows, vals):
        r[field] = v
    return rows


def _vocab(enum, value, name: str, where: str) -> str | None:
    if value is None:
        return None
    try:
        return enum(value).value
    except ValueError:
        raise InputError(where, [Problem(name, f"one of {', '.join(enum.values())}, got {value!r}")]) from None


def _mapping(value, name: str, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(where, [Problem(name, f"a mapping of guarantor (ISO3) to a number, got {value!r}")])
    return dict(value)


def _number(value, name: str, where: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(where, [Problem(name, f"a number, got {value!r}")]) from None
    if v != v or v in (float("inf"), float("-inf")):
        raise InputError(where, [Problem(name, "a finite number")])
    return v


def apply_edit(package: Package, edit: Mapping[str, Any] | None, countries=None, *, file: str | None = None) -> Package:
    """Return ``package`` with the lever ``edit`` applied (validated)."""
    if is_empty(edit):
        return package
    edit = dict(edit or {})
    unknown = sorted(set(edit) - set(EDIT_KEYS))
    where = file or f"edits.{package.id}"
    if unknown:
        raise InputError(where, [Problem(unknown[0], f"a lever edit key ({', '.join(EDIT_KEYS)})")])
    data = package.model_dump(mode="json", exclude_none=True)
    rows: list[dict] = data["commitments"]
    table = countries.countries if countries is not None else None

    form = _vocab(LegalForm, edit.get("legal_form"), "legal_form", where)
    if form is not None:
        for r in rows:
            r["legal_form"] = form
    posture = _vocab(Posture, edit.get("posture"), "posture", where)
    if posture is not None:
        for r in rows:
            if r["kind"] == GROUND:
                r["posture"] = posture

    for key, kind, field in (("troops", GROUND, "troops"), ("aircraft", AIR, "aircraft"), ("air_defence", AIR_DEFENCE, "troops")):
        for iso, n in _mapping(edit.get(key), key, where).items():
            _set_force(rows, iso, int(_number(n, f"{key}.{iso}", where)), kind, field, key, form, posture, table, where)

    scale = edit.get("aid_scale")
    if scale is not None:
        scale = _number(scale, "aid_scale", where)
        if not 0 <= scale:
            raise InputError(where, [Problem("aid_scale", f"a factor >= 0, got {scale}")])
        if scale == 0:
            rows[:] = [r for r in rows if r["kind"] not in AID_KINDS]
        else:
            for r in rows:
                if r["kind"] in AID_KINDS:
                    r["usd_per_year"] = _times(r["usd_per_year"], scale, integer=False)

    for iso, usd in _mapping(edit.get("aid_usd"), "aid_usd", where).items():
        usd = _number(usd, f"aid_usd.{iso}", where)
        if not 0 <= usd:
            raise InputError(where, [Problem(f"aid_usd.{iso}", f"US dollars per year >= 0, got {usd}")])
        if iso not in GROUPS and table is not None and iso not in table:
            raise InputError(where, [Problem(f"aid_usd.{iso}", "a known ISO3 country code or EU/NATO")])
        mine = [r for r in rows if r["guarantor"] == iso and r["kind"] == Kind.MILITARY_AID.value]
        if mine:
            if usd == 0:
                rows[:] = [r for r in rows if not (r["guarantor"] == iso and r["kind"] == Kind.MILITARY_AID.value)]
            else:
                _scale_rows(mine, "usd_per_year", usd, integer=False)
        elif usd > 0:
            own = [r for r in rows if r["guarantor"] == iso]
            rows.append(
                {
                    "guarantor": iso,
                    "kind": Kind.MILITARY_AID.value,
                    "legal_form": form or _strongest([r["legal_form"] for r in own], FORMS, LegalForm.EXECUTIVE_AGREEMENT.value),
                    "trigger": Trigger.DISCRETIONARY.value,
                    "usd_per_year": usd,
                    "note": ADDED_NOTE,
                }
            )

    for iso, f in _mapping(edit.get("legal_form_of"), "legal_form_of", where).items():
        f = _vocab(LegalForm, f, f"legal_form_of.{iso}", where)
        _guarantor_of(rows, iso, "legal_form_of", where)
        for r in rows:
            if r["guarantor"] == iso:
                r["legal_form"] = f
    for iso, po in _mapping(edit.get("posture_of"), "posture_of", where).items():
        po = _vocab(Posture, po, f"posture_of.{iso}", where)
        _guarantor_of(rows, iso, "posture_of", where)
        for r in rows:
            if r["guarantor"] == iso and r.get("posture"):
                r["posture"] = po

    ctx = {"countries": table} if table is not None else None
    pkg = validate(Package, data, file=where, context=ctx)
    return _remove(pkg, edit.get("remove"), countries, where)


def _set_force(rows: list[dict], iso: str, n: int, kind: str, field: str, key: str, form, posture, table, where: str) -> None:
    """Set guarantor ``iso``'s ``field`` (troops or aircraft) on its
    commitments of ``kind`` to ``n``: scaled together, removed at 0, or a
    new commitment (see the module's rules)."""
    if n < 0:
        raise InputError(where, [Problem(f"{key}.{iso}", f"a number >= 0, got {n}")])
    if iso not in GROUPS and table is not None and iso not in table:
        raise InputError(where, [Problem(f"{key}.{iso}", "a known ISO3 country code")])
    mine = [r for r in rows if r["guarantor"] == iso and r["kind"] == kind]
    if mine:
        if n == 0:
            rows[:] = [r for r in rows if not (r["guarantor"] == iso and r["kind"] == kind)]
        else:
            _scale_rows(mine, field, n, integer=True)
            rows[:] = [r for r in rows if not (r["kind"] == kind and r["guarantor"] == iso and _peak(r[field]) <= 0)]
    elif n > 0:
        own = [r for r in rows if r["guarantor"] == iso]
        if kind == GROUND:
            where_to = posture or _most_common([r["posture"] for r in rows if r["kind"] == GROUND and r.get("posture")], Posture.WESTERN_UKRAINE.value)
        else:
            where_to = _most_common([r["posture"] for r in rows if r["kind"] == kind and r.get("posture")], Posture.NEIGHBOURING_TERRITORY.value)
        rows.append(
            {
                "guarantor": iso,
                "kind": kind,
                "legal_form": form or _strongest([r["legal_form"] for r in own], FORMS, _most_common([r["legal_form"] for r in rows], LegalForm.EXECUTIVE_AGREEMENT.value)),
                "trigger": _strongest([r["trigger"] for r in own], _TRIGGERS, _most_common([r["trigger"] for r in rows], Trigger.AFTER_CONSULTATION.value)),
                "posture": where_to,
                field: n,
                "note": ADDED_NOTE,
            }
        )


def _guarantor_of(rows: list[dict], iso: str, key: str, where: str) -> None:
    if not any(r["guarantor"] == iso for r in rows):
        have = ", ".join(dict.fromkeys(r["guarantor"] for r in rows))
        raise InputError(where, [Problem(f"{key}.{iso}", f"a guarantor with commitments in the package ({have})")])


def _remove(pkg: Package, remove, countries, where: str) -> Package:
    """``pkg`` without each guarantor in ``remove`` (:meth:`Package.without`,
    the id kept)."""
    if not remove:
        return pkg
    if isinstance(remove, (str, bytes)) or not isinstance(remove, (list, tuple)):
        raise InputError(where, [Problem("remove", f"a list of guarantors (ISO3) to take out, got {remove!r}")])
    if countries is None:
        raise InputError(where, [Problem("remove", "the country table (a guarantor's share of a group commitment depends on it)")])
    bound = _bound(pkg, countries)
    out = pkg
    for iso in dict.fromkeys(remove):
        if not isinstance(iso, str) or iso not in bound:
            raise InputError(where, [Problem(f"remove.{iso}", f"a guarantor bound by the package ({', '.join(bound)})")])
        out = out.without(iso, countries)
    if not out.commitments:
        raise InputError(where, [Problem("remove", "at least one commitment left; without all its guarantors a package is the status quo (compare that package)")])
    # Package.without scales a group's sizes by the members left (floats);
    # a whole number stays an int, as the field says (the value is unchanged)
    kept = [c.model_copy(update={k: _whole(v) for k in ("troops", "aircraft", "ships", "units") if _whole(v := getattr(c, k)) is not v})
            for c in out.commitments]
    return out.model_copy(update={"id": pkg.id, "commitments": kept})


def _bound(pkg: Package, countries) -> list[str]:
    """The guarantors a package binds: its own guarantors, with a group's
    members (those not excepted) in place of the group, in order."""
    seen: dict[str, None] = {}
    for c in pkg.commitments:
        if c.guarantor in GROUPS:
            seen.setdefault(c.guarantor, None)
            for m in countries.members(c.guarantor):
                if m not in c.except_:
                    seen.setdefault(m, None)
        else:
            seen.setdefault(c.guarantor, None)
    return list(seen)


def apply_edits(packages: list[Package], edits: Mapping[str, Mapping[str, Any]] | None, countries=None) -> list[Package]:
    """Apply ``edits`` (package id -> lever edit) to ``packages``; ids not in
    the list raise :class:`InputError`."""
    edits = dict(edits or {})
    ids = {p.id for p in packages}
    missing = sorted(set(edits) - ids)
    if missing:
        raise InputError("edits", [Problem(missing[0], f"the id of a selected package ({', '.join(sorted(ids))})")])
    return [apply_edit(p, edits.get(p.id), countries) for p in packages]


def lever_summary(package: Package) -> dict:
    """What the lever controls show for ``package``: ground troops, combat
    aircraft, air-defence personnel and military aid per guarantor, the
    dominant legal form and posture, each guarantor's legal forms and
    postures, and the total aid. A commitment whose size changes by year
    shows its peak (what is agreed as a whole)."""
    package = package.peak()
    troops: dict[str, int] = {}
    aircraft: dict[str, int] = {}
    air_defence: dict[str, int] = {}
    aid: dict[str, float] = {}
    forms, postures = [], []
    by: dict[str, dict[str, list[str]]] = {}
    total_aid = 0.0
    for c in package.commitments:
        forms.append(c.legal_form.value)
        mine = by.setdefault(c.guarantor, {"legal_forms": [], "postures": []})
        mine["legal_forms"].append(c.legal_form.value)
        if c.posture is not None:
            mine["postures"].append(c.posture.value)
        if c.kind is Kind.DEPLOYED_GROUND_FORCE:
            troops[c.guarantor] = troops.get(c.guarantor, 0) + c.troops
            if c.posture is not None:
                postures.append(c.posture.value)
        if c.kind is Kind.AIR_POWER:
            aircraft[c.guarantor] = aircraft.get(c.guarantor, 0) + c.aircraft
        if c.kind is Kind.AIR_DEFENCE:
            air_defence[c.guarantor] = air_defence.get(c.guarantor, 0) + c.troops
        if c.kind is Kind.MILITARY_AID:
            aid[c.guarantor] = aid.get(c.guarantor, 0.0) + c.usd_per_year
        if c.kind.value in AID_KINDS:
            total_aid += c.usd_per_year
    order = [p.value for p in Posture]
    return {
        "troops": troops,
        "aircraft": aircraft,
        "air_defence": air_defence,
        "aid_usd": aid,
        "legal_form": _most_common(forms, LegalForm.EXECUTIVE_AGREEMENT.value),
        "legal_forms": sorted(set(forms), key=FORMS.index),
        "posture": _most_common(postures, "") or None,
        "postures": sorted(set(postures), key=order.index),
        "by_guarantor": {g: {"legal_forms": sorted(set(v["legal_forms"]), key=FORMS.index), "postures": sorted(set(v["postures"]), key=order.index)}
                         for g, v in by.items()},
        "total_aid_usd_per_year": total_aid,
        "guarantors": package.guarantors(),
    }
