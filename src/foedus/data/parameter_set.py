"""A set of parameter values in force for one assessment: the shipped
defaults plus a user's overrides (``--set will.USA=0.2``) and range edits
(``--range will.USA=0.1:0.5``, ``--fix deterrence.resolve``).

Override names are checked (unknown names get the closest matches), values
are checked against their unit (probabilities and fractions in [0, 1],
nothing negative) and against the orderings the models rely on (a treaty is
at least as binding as an executive agreement, hazards grow towards the
contact line, ...). Per-country parameters (``will.<ISO3>``,
``approval.nato_consent.<ISO3>``) may be set for any known country.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from foedus.domain.errors import InputError, Problem
from foedus.domain.parameter import UNIT_INTERVAL, Parameter

#: Chains that must be non-increasing in the order given.
ORDERINGS: tuple[tuple[str, ...], ...] = (
    tuple(f"escalation.clash_rate.{p}" for p in ("contact_line", "behind_dnipro", "western_ukraine", "neighbouring_territory")),
    tuple(f"approval.revocation_per_year.{f}" for f in ("political_declaration", "executive_agreement", "congressional_executive_agreement", "ratified_treaty")),
    tuple(f"approval.kyiv.{k}" for k in ("demanded", "accepted", "reluctant", "rejected")),
)
#: Parameters (or name prefixes) that must lie in (0, 1]: factors that can
#: only lower the odds of attack, or of fulfilment per legal step.
FACTORS = ("deterrence.hazard_ratio.", "credibility.step_odds")
#: Parameters that must be above 0: the local balance of forces divides by
#: them (``B = D / adversary_forces``, compared with ``reference_force_ratio``).
POSITIVE = ("deterrence.adversary_forces", "deterrence.reference_force_ratio")
#: Prefixes that accept any known ISO3 code, falling back to ``<prefix>.default``.
PER_COUNTRY = ("will", "approval.nato_consent")


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    distribution: str = "uniform"


@dataclass
class ParameterSet:
    """Parameters with overrides. ``values`` are the central values in force."""

    parameters: dict[str, Parameter]
    overrides: dict[str, float] = field(default_factory=dict)
    ranges: dict[str, Range] = field(default_factory=dict)
    fixed: set[str] = field(default_factory=set)
    countries: frozenset[str] = frozenset()
    #: the named will scenario applied (its will values are among the overrides), or None
    scenario: str | None = None

    @classmethod
    def default(cls) -> "ParameterSet":
        from foedus.data.loaders import load_countries, load_parameters

        return cls(load_parameters(), countries=frozenset(load_countries().countries))

    # -- names ---------------------------------------------------------------
    def _template(self, name: str) -> Parameter | None:
        if name in self.parameters:
            return self.parameters[name]
        for prefix in PER_COUNTRY:
            head, _, iso = name.rpartition(".")
            if head == prefix and iso in self.countries:
                return self.parameters.get(f"{prefix}.default")
        return None

    def check_name(self, name: str, source: str = "--set") -> Parameter:
        p = self._template(name)
        if p is None:
            near = difflib.get_close_matches(name, list(self.parameters), n=3, cutoff=0.5)
            if near:
                hint = f"; did you mean {', '.join(near)}?"
            else:  # nothing close: name the groups, so the user knows where to look
                groups = sorted({n.split(".", 1)[0] for n in self.parameters})
                hint = f"; names start with a group ({', '.join(groups)}); see `foedus params`"
            raise InputError(source, [Problem(name, f"a known parameter name{hint}")])
        return p

    def _check_value(self, name: str, value: float, source: str) -> None:
        p = self.check_name(name, source)
        if value != value or value in (float("inf"), float("-inf")):
            raise InputError(source, [Problem(name, "a finite number")])
        if isinstance(value, Percent) and p.unit not in UNIT_INTERVAL:
            raise InputError(source, [Problem(name, f"a plain number (unit {p.unit.value}); a percentage is only for probabilities and fractions")])
        if p.unit in UNIT_INTERVAL and not 0.0 <= value <= 1.0:
            raise InputError(source, [Problem(name, f"a value in [0, 1] (unit {p.unit.value}; rates are fractions), got {value}")])
        if value < 0:
            raise InputError(source, [Problem(name, f"a value >= 0, got {value}")])
        if name in POSITIVE and not value > 0:
            raise InputError(source, [Problem(name, f"a value > 0 (the balance of forces divides by it), got {value}")])
        if name.startswith(FACTORS) and not 0.0 < value <= 1.0:
            raise InputError(source, [Problem(name, f"a factor in (0, 1] (it can only lower the odds), got {value}")])

    # -- building ------------------------------------------------------------
    def with_overrides(self, values: Mapping[str, float], source: str = "--set") -> "ParameterSet":
        for k, v in values.items():
            self._check_value(k, v if isinstance(v, Percent) else float(v), source)
        new = replace(self, overrides={**self.overrides, **{k: float(v) for k, v in values.items()}}, ranges=dict(self.ranges), fixed=set(self.fixed))
        new.check_orderings(source)
        return new

    def with_scenario(self, sid: str | None) -> "ParameterSet":
        """The named will scenario ``sid`` (data/will_scenarios.yaml) applied:
        its will values fixed, as ``--set`` would; ``None`` leaves the set as
        it is. A later ``--set`` of the same name wins."""
        if sid is None:
            return self
        from foedus.data.loaders import load_will_scenarios

        sc = load_will_scenarios().get(sid)
        new = ParameterSet(self.parameters, {}, dict(self.ranges), set(self.fixed), self.countries, scenario=sid).with_overrides(sc.set, "--scenario")
        return replace(new, overrides={**new.overrides, **self.overrides})

    def with_ranges(self, ranges: Mapping[str, tuple[float, float]], source: str = "--range") -> "ParameterSet":
        out = dict(self.ranges)
        for k, (lo, hi) in ranges.items():
            self._check_value(k, lo, source)
            self._check_value(k, hi, source)
            if not lo < hi:
                raise InputError(source, [Problem(k, f"low < high, got {lo}:{hi}")])
            base = self.spec(k)
            out[k] = Range(lo, hi, base.distribution if base and (base.distribution != "loguniform" or lo > 0) else "uniform")
        return replace(self, overrides=dict(self.overrides), ranges=out, fixed=set(self.fixed))

    def with_fixed(self, names: Iterable[str], source: str = "--fix") -> "ParameterSet":
        names = set(names)
        for n in names:
            self.check_name(n, source)
        return replace(self, overrides=dict(self.overrides), ranges=dict(self.ranges), fixed=self.fixed | names)

    def check_orderings(self, source: str = "parameters") -> None:
        vals = self.values()
        for chain in ORDERINGS:
            seq = [vals[n] for n in chain if n in vals]
            for a, b, na, nb in zip(seq, seq[1:], chain, chain[1:]):
                if a < b:
                    raise InputError(source, [Problem(nb, f"at most {na} ({a}); the models rely on this ordering, got {b}")])

    # -- reading ---------------------------------------------------------------
    def values(self) -> dict[str, float]:
        """Central values in force, overrides applied (incl. per-country ones)."""
        out = {n: p.value for n, p in self.parameters.items()}
        out.update(self.overrides)
        return out

    def spec(self, name: str) -> Range | None:
        """The range a parameter is sampled from, or None if it is fixed."""
        if name in self.fixed or (name in self.overrides and name not in self.ranges):
            return None
        if name in self.ranges:
            return self.ranges[name]
        p = self._template(name)
        if name not in self.parameters or p is None or p.uncertainty is None:
            return None
        return Range(p.uncertainty.low, p.uncertainty.high, p.uncertainty.distribution)

    def uncertain(self) -> dict[str, Range]:
        """Uncertain inputs of an exploration, in a stable (sorted) order."""
        names = set(self.parameters) | set(self.ranges)
        out = {n: r for n in sorted(names) if (r := self.spec(n)) is not None}
        return out

    def describe(self, name: str) -> Parameter | None:
        return self._template(name)


class Percent(float):
    """A value the user wrote as a percentage (``20%`` is 0.2): allowed only
    for probabilities and fractions."""


def parse_number(text: str) -> float:
    """``0.2`` or ``20%`` (a :class:`Percent` of 0.2); raises ValueError."""
    t = text.strip()
    if t.endswith("%"):
        return Percent(float(t[:-1]) / 100.0)
    return float(t)


def parse_assignments(items: Iterable[str], source: str = "--set") -> dict[str, float]:
    """Parse ``NAME=VALUE`` strings (VALUE a number, or a percentage such as
    ``20%`` for a probability or fraction)."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InputError(source, [Problem(item, "NAME=VALUE, e.g. will.USA=0.2 or will.USA=20%")])
        try:
            out[name] = parse_number(value)
        except ValueError:
            raise InputError(source, [Problem(name, f"a number (0.2) or a percentage (20%) after '=', got '{value}'")]) from None
    return out


def parse_ranges(items: Iterable[str], source: str = "--range") -> dict[str, tuple[float, float]]:
    """Parse ``NAME=LOW:HIGH`` strings."""
    out: dict[str, tuple[float, float]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        lo, sep2, hi = value.partition(":")
        if not sep or not sep2 or not name.strip():
            raise InputError(source, [Problem(item, "NAME=LOW:HIGH, e.g. will.USA=0.1:0.6")])
        try:
            out[name.strip()] = (parse_number(lo), parse_number(hi))
        except ValueError:
            raise InputError(source, [Problem(name.strip(), f"two numbers LOW:HIGH (or percentages, 10%:60%), got '{value}'")]) from None
    return out
