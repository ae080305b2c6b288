"""Lever edits: the changes a user makes to a package with the web app's
controls (troops per guarantor, legal form, posture of the ground force,
aid), applied to a validated :class:`~foedus.domain.package.Package`.

An edit is plain data (the JSON the page sends, also what the "reproduce
this" snippet passes), so the same numbers come out of the web app, a
notebook and ``foedus compare`` on the exported package file::

    {"troops": {"GBR": 12000, "DEU": 5000},   # deployed ground troops per guarantor
     "legal_form": "ratified_treaty",         # every commitment of the package
     "posture": "western_ukraine",            # every deployed ground force
     "aid_scale": 1.5,                        # x military, humanitarian and reconstruction aid
     "aid_usd": {"USA": 2.0e10}}              # military aid per year per guarantor

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
EDIT_KEYS = ("troops", "legal_form", "posture", "aid_scale", "aid_usd")
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


def _scale_rows(rows: list[dict], field: str, target: float, integer: bool) -> list[dict]:
    """Scale ``field`` of ``rows`` so they sum to ``target`` (shares kept)."""
    total = sum(r[field] for r in rows)
    if total <= 0:
        rows[0][field] = int(target) if integer else float(target)
        for r in rows[1:]:
            r[field] = 0
        return rows
    if integer:
        vals = [int(round(r[field] * target / total)) for r in rows]
        vals[0] += int(target) - sum(vals)
    else:
        vals = [r[field] * target / total for r in rows]
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

    for iso, n in _mapping(edit.get("troops"), "troops", where).items():
        n = int(_number(n, f"troops.{iso}", where))
        if n < 0:
            raise InputError(where, [Problem(f"troops.{iso}", f"a number of troops >= 0, got {n}")])
        if iso not in GROUPS and table is not None and iso not in table:
            raise InputError(where, [Problem(f"troops.{iso}", "a known ISO3 country code")])
        mine = [r for r in rows if r["guarantor"] == iso and r["kind"] == GROUND]
        if mine:
            if n == 0:
                rows[:] = [r for r in rows if not (r["guarantor"] == iso and r["kind"] == GROUND)]
            else:
                _scale_rows(mine, "troops", n, integer=True)
                rows[:] = [r for r in rows if not (r["kind"] == GROUND and r["guarantor"] == iso and r["troops"] <= 0)]
        elif n > 0:
            own = [r for r in rows if r["guarantor"] == iso]
            rows.append(
                {
                    "guarantor": iso,
                    "kind": GROUND,
                    "legal_form": form or _strongest([r["legal_form"] for r in own], FORMS, _most_common([r["legal_form"] for r in rows], LegalForm.EXECUTIVE_AGREEMENT.value)),
                    "trigger": _strongest([r["trigger"] for r in own], _TRIGGERS, _most_common([r["trigger"] for r in rows], Trigger.AFTER_CONSULTATION.value)),
                    "posture": posture or _most_common([r["posture"] for r in rows if r["kind"] == GROUND and r.get("posture")], Posture.WESTERN_UKRAINE.value),
                    "troops": n,
                    "note": ADDED_NOTE,
                }
            )

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
                    r["usd_per_year"] = r["usd_per_year"] * scale

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

    ctx = {"countries": table} if table is not None else None
    return validate(Package, data, file=where, context=ctx)


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
    """What the lever controls show for ``package``: ground troops and
    military aid per guarantor, the dominant legal form and posture, and
    the total aid."""
    troops: dict[str, int] = {}
    aid: dict[str, float] = {}
    forms, postures = [], []
    total_aid = 0.0
    for c in package.commitments:
        forms.append(c.legal_form.value)
        if c.kind is Kind.DEPLOYED_GROUND_FORCE:
            troops[c.guarantor] = troops.get(c.guarantor, 0) + c.troops
            if c.posture is not None:
                postures.append(c.posture.value)
        if c.kind is Kind.MILITARY_AID:
            aid[c.guarantor] = aid.get(c.guarantor, 0.0) + c.usd_per_year
        if c.kind.value in AID_KINDS:
            total_aid += c.usd_per_year
    return {
        "troops": troops,
        "aid_usd": aid,
        "legal_form": _most_common(forms, LegalForm.EXECUTIVE_AGREEMENT.value),
        "legal_forms": sorted(set(forms), key=FORMS.index),
        "posture": _most_common(postures, "") or None,
        "postures": sorted(set(postures), key=[p.value for p in Posture].index),
        "total_aid_usd_per_year": total_aid,
        "guarantors": package.guarantors(),
    }
