"""A design file's decision variables, and the package each choice of them makes.

:class:`DesignVariables` lists the decisions a design file leaves open (take
part or not, a size on its grid, a legal form, trigger, posture or rule of
engagement, an optional element) and decodes a point of the unit hypercube
into one choice per decision (a tuple of ints, the candidate's *key*); then
:meth:`DesignVariables.package` builds the package that key describes from
the base package. Every decision is a coordinate in [0, 1] so that pymoo's
real-coded operators (simulated binary crossover, polynomial mutation) work
on all of them alike: a yes/no is ``u >= 0.5``, a choice among ``k`` is
``floor(u k)``, a size is the nearest point of its grid. Two points with the
same key are the same package (evaluated once, see
:mod:`foedus.exploration.optimise`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from foedus.domain.design import ELEMENT_KINDS, SIZE_KINDS, STEPS, Choice, DesignSpace, form_source
from foedus.domain.package import Commitment, Package, Terms
from foedus.domain.vocabulary import MONEY_KINDS, Kind

_POSTURE_FIELD = {"aircraft": "air_posture", "ships": "naval_posture", "trainers": "training_posture"}


@dataclass(frozen=True)
class Variable:
    """One decision: ``name`` (``GBR.troops``), and the values it may take
    (``options``, in order; a yes/no is ``(False, True)``)."""

    name: str
    options: tuple

    @property
    def k(self) -> int:
        return len(self.options)


def _grid(low: float, high: float, step: float) -> tuple[float, ...]:
    n = int(np.floor((high - low) / step + 1e-9))
    pts = [low + i * step for i in range(n + 1)]
    if pts[-1] < high:
        pts.append(high)
    return tuple(pts)


class DesignVariables:
    """The decisions of ``space`` over ``base`` (``countries``: the country table)."""

    def __init__(self, space: DesignSpace, base: Package, countries):
        self.space, self.base, self.countries = space, base, countries
        v: list[Variable] = []
        for g, gs in space.guarantors.items():
            if not gs.required:
                v.append(Variable(f"{g}.takes_part", (False, True)))
            for name, rng in gs.sizes().items():
                grid = _grid(rng.low, rng.high, rng.step or STEPS[name])
                if name != "aid":
                    grid = tuple(dict.fromkeys(int(round(x)) for x in grid))
                if len(grid) > 1:
                    v.append(Variable(f"{g}.{name}", grid))
            for field in ("legal_forms", "triggers", "postures", "rules_of_engagement"):
                opts = getattr(gs, field)
                if opts is not None and len(opts) > 1:
                    v.append(Variable(f"{g}.{field}", tuple(opts)))
            if gs.mutual_defence is Choice.OPTIONAL:
                v.append(Variable(f"{g}.mutual_defence", (False, True)))
        t = space.terms
        for name in ELEMENT_KINDS:
            opt = getattr(t, name)
            if opt is not None and opt.choice is Choice.OPTIONAL:
                v.append(Variable(f"terms.{name}", (False, True)))
        if t.buffer_zone is Choice.OPTIONAL:
            v.append(Variable("terms.buffer_zone", (False, True)))
        if t.force_cap is not None and len(t.force_cap) > 1:
            v.append(Variable("terms.force_cap", tuple(t.force_cap)))
        self.variables = v
        self._index = {x.name: i for i, x in enumerate(v)}

    @property
    def n(self) -> int:
        return len(self.variables)

    def keys(self, u: np.ndarray) -> np.ndarray:
        """Keys ``(N, n)`` (int) of unit points ``u`` ``(N, n)``: the option
        chosen for each decision."""
        u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
        k = np.array([x.k for x in self.variables], dtype=np.int64)
        return np.minimum(np.floor(u * k).astype(np.int64), k - 1)

    def centre(self, key) -> np.ndarray:
        """The unit point at the middle of ``key``'s cell (its canonical point)."""
        k = np.array([x.k for x in self.variables], dtype=np.float64)
        return (np.asarray(key, dtype=np.float64) + 0.5) / k

    def choices(self, key) -> dict[str, object]:
        """``{decision name: value}`` of ``key``."""
        return {x.name: x.options[int(i)] for x, i in zip(self.variables, key)}

    def base_key(self) -> tuple[int, ...] | None:
        """The key of the base package itself, when the grid holds it
        (every guarantor taking part, every size and choice as in the base)."""
        key = self.base_choices()
        return None if any(i is None for i in key) else tuple(key)

    def base_choices(self) -> list[int | None]:
        """Per decision, the option the base package takes (None where the
        base takes none of the options: a size off the grid, a guarantor
        with several legal forms)."""
        out: list[int | None] = []
        for x in self.variables:
            g, _, field = x.name.partition(".")
            own = [c for c in self.base.commitments if c.guarantor == g]
            if field == "takes_part":
                val = bool(own)
            elif field in SIZE_KINDS:
                kind, attr = SIZE_KINDS[field]
                val = sum(_peak(getattr(c, attr)) for c in own if c.kind.value == kind)
                val = val if field == "aid" else int(round(val))
            elif field in ("legal_forms", "triggers", "postures", "rules_of_engagement"):
                attr = {"legal_forms": "legal_form", "triggers": "trigger", "postures": "posture", "rules_of_engagement": "rules_of_engagement"}[field]
                pool = [c for c in own if c.kind not in MONEY_KINDS and (field in ("legal_forms", "triggers") or c.kind is Kind.DEPLOYED_GROUND_FORCE)]
                vals = {getattr(c, attr) for c in pool}
                val = vals.pop() if len(vals) == 1 else object()
            elif field == "mutual_defence":
                val = any(c.kind is Kind.MUTUAL_DEFENCE for c in own)
            elif x.name == "terms.buffer_zone":
                val = self.base.terms.buffer_zone
            elif x.name == "terms.force_cap":
                val = self.base.terms.ukraine_force_cap
            else:
                val = any(c.kind.value == ELEMENT_KINDS[field] for c in self.base.commitments)
            out.append(x.options.index(val) if val in x.options else None)
        return out

    # -- the package a key describes ---------------------------------------------------
    def package(self, key, pid: str = "candidate") -> Package | None:
        """The package ``key`` describes (built without validation, for
        evaluation; :func:`foedus.exploration.optimise` validates the designs
        it writes); None when it holds no commitment at all."""
        ch = self.choices(key)
        pkg = self.base
        for g, gs in self.space.guarantors.items():
            if not ch.get(f"{g}.takes_part", True):
                pkg = pkg.without(g, self.countries) if g not in ("NATO", "EU", "COALITION") else pkg.model_copy(
                    update={"commitments": [c for c in pkg.commitments if c.guarantor != g]})
                continue
            pkg = self._guarantor(pkg, g, gs, ch)
        pkg = self._terms(pkg, ch)
        if not pkg.commitments:
            return None
        return pkg.model_copy(update={"id": pid})

    def _pick(self, ch, g, field, given, default):
        """The decision's value, the only value given, or ``default``."""
        if f"{g}.{field}" in ch:
            return ch[f"{g}.{field}"]
        return given[0] if given else default

    def _guarantor(self, pkg: Package, g: str, gs, ch) -> Package:
        src = form_source(self.base, g)
        form = self._pick(ch, g, "legal_forms", gs.legal_forms, src.legal_form if src else None)
        trigger = self._pick(ch, g, "triggers", gs.triggers, src.trigger if src else None)
        posture = self._pick(ch, g, "postures", gs.postures, None)
        rules = self._pick(ch, g, "rules_of_engagement", gs.rules_of_engagement, None)
        note = f"Set by the design search ({self.space.id})."
        cms = list(pkg.commitments)
        for field, rng in gs.sizes().items():
            kind, attr = SIZE_KINDS[field]
            target = ch.get(f"{g}.{field}", rng.low if field == "aid" else int(round(rng.low)))
            mine = [i for i, c in enumerate(cms) if c.guarantor == g and c.kind.value == kind]
            total = sum(_peak(getattr(cms[i], attr)) for i in mine)
            if target <= 0:
                cms = [c for i, c in enumerate(cms) if i not in set(mine)]
            elif mine and total > 0:
                if target != total:
                    for i in mine:
                        cms[i] = cms[i].model_copy(update={attr: _scaled(getattr(cms[i], attr), target / total, field != "aid"),
                                                           "note": _noted(cms[i].note, note)})
            elif mine:
                cms[mine[0]] = cms[mine[0]].model_copy(update={attr: target, "note": _noted(cms[mine[0]].note, note)})
            else:
                body = {"guarantor": g, "kind": kind, attr: target, "note": note}
                if field == "aid":
                    body.update(legal_form=gs.aid_legal_form.value, trigger=gs.aid_trigger.value)
                else:
                    body.update(legal_form=_value(form), trigger=_value(trigger),
                                posture=_value(posture) if field == "troops" else getattr(gs, _POSTURE_FIELD[field]).value)
                cms.append(Commitment.model_validate(body))
        md = gs.mutual_defence
        want_md = ch.get(f"{g}.mutual_defence", md is Choice.INCLUDE) if md is not None else None
        if want_md is False:
            cms = [c for c in cms if not (c.guarantor == g and c.kind is Kind.MUTUAL_DEFENCE)]
        elif want_md and not any(c.guarantor == g and c.kind is Kind.MUTUAL_DEFENCE for c in cms):
            cms.append(Commitment.model_validate({"guarantor": g, "kind": "mutual_defence", "legal_form": _value(form),
                                                  "trigger": _value(trigger), "note": note}))
        out = []
        for c in cms:
            if c.guarantor == g and c.kind not in MONEY_KINDS:
                upd = {}
                if form is not None and gs.legal_forms:
                    upd["legal_form"] = form
                if trigger is not None and gs.triggers:
                    upd["trigger"] = trigger
                if c.kind is Kind.DEPLOYED_GROUND_FORCE:
                    if posture is not None:
                        upd["posture"] = posture
                    if rules is not None:
                        upd["rules_of_engagement"] = rules
                c = c.model_copy(update=upd) if upd else c
            out.append(c)
        return pkg.model_copy(update={"commitments": out})

    def _terms(self, pkg: Package, ch) -> Package:
        t = self.space.terms
        cms = list(pkg.commitments)
        for name, kind in ELEMENT_KINDS.items():
            opt = getattr(t, name)
            if opt is None:
                continue
            want = ch.get(f"terms.{name}", opt.choice is Choice.INCLUDE)
            if want and not ch.get(f"{opt.by}.takes_part", True):
                want = False  # its provider stays out, so no one provides it
            if not want:
                cms = [c for c in cms if c.kind.value != kind]
            elif not any(c.kind.value == kind for c in cms):
                cms.append(Commitment.model_validate({"guarantor": opt.by, "kind": kind, "legal_form": opt.legal_form.value,
                                                      "trigger": opt.trigger.value, "note": f"Added by the design search ({self.space.id})."}))
        terms = pkg.terms
        if t.buffer_zone is not None:
            terms = terms.model_copy(update={"buffer_zone": ch.get("terms.buffer_zone", t.buffer_zone is Choice.INCLUDE)})
        if t.force_cap is not None:
            terms = terms.model_copy(update={"ukraine_force_cap": ch.get("terms.force_cap", t.force_cap[0])})
        return pkg.model_copy(update={"commitments": cms, "terms": terms if isinstance(terms, Terms) else Terms()})


def _peak(v) -> float:
    return max(v.values()) if isinstance(v, Mapping) else v


def _scaled(v, factor: float, whole: bool):
    """A size (plain or by year) times ``factor``; whole numbers for counts."""
    if isinstance(v, Mapping):
        return {y: (int(round(x * factor)) if whole else x * factor) for y, x in v.items()}
    return int(round(v * factor)) if whole else v * factor


def _noted(old: str | None, note: str) -> str:
    """A commitment's note with the design search's mark added (once)."""
    if not old:
        return note
    return old if note in old else f"{old} {note}"


def _value(v):
    return getattr(v, "value", v)
