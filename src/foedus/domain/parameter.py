"""Parameters: every default a model uses, as data (value or values by date,
unit, description, references) plus, for uncertain ones, a range or
distribution with its own source. Modelled on OpenFisca/PolicyEngine
parameters, made stricter: no parameter without a reference, rates are
fractions, and the central value must lie inside its uncertainty range."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from foedus.domain.reference import Reference
from foedus.domain.vocabulary import Basis, Unit

#: Units whose values must lie in [0, 1].
UNIT_INTERVAL = frozenset({Unit.FRACTION, Unit.PROBABILITY})


class Uncertainty(BaseModel):
    """How a parameter may vary across futures."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    distribution: Literal["uniform", "triangular", "loguniform"] = "uniform"
    low: float
    high: float
    rationale: str = Field(min_length=10, description="why this range")
    references: list[Reference] = Field(min_length=1)

    @model_validator(mode="after")
    def _order(self) -> "Uncertainty":
        if not self.low < self.high:
            raise ValueError(f"low < high (got low={self.low}, high={self.high})")
        if self.distribution == "loguniform" and self.low <= 0:
            raise ValueError("low > 0 for a loguniform distribution")
        return self


class Calibration(BaseModel):
    """How a calibrated parameter was fitted: the targets it was fitted to
    (ids in ``data/calibration.yaml``) and each target's residual after the
    fit, in units of the target's half band (0 = at the target's value,
    +-1 = at the edge of its band)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: list[str] = Field(min_length=1)
    residuals: dict[str, float] = Field(default_factory=dict)
    fitted: dt.date | None = None
    start: float = Field(description="the value the fit starts from (a fitted value must move off it)")
    bounds: tuple[float, float] = Field(description="the interval the fit searches (a fitted value must not sit on an edge)")

    @model_validator(mode="after")
    def _known(self) -> "Calibration":
        extra = set(self.residuals) - set(self.targets)
        if extra:
            raise ValueError(f"residuals only for the listed targets; {', '.join(sorted(extra))} is not listed")
        lo, hi = self.bounds
        if not lo < self.start < hi:
            raise ValueError(f"bounds [low, high] with low < start < high, got start {self.start} and bounds [{lo}, {hi}]")
        return self


class Parameter(BaseModel):
    """One named parameter. ``name`` is ``<file stem>.<key>`` (``will.USA``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = Field(min_length=10)
    unit: Unit
    values: dict[dt.date, float] = Field(min_length=1, description="value by the date it took effect")
    references: list[Reference] = Field(min_length=1)
    basis: Basis = Field(description="evidence (the source gives the number), calibrated (fitted to named targets), anchored (judgement inside a band named sources give) or judgement")
    calibration: Calibration | None = None
    uncertainty: Uncertainty | None = None
    group: str | None = Field(default=None, description="sub-model that owns it")

    @field_validator("values")
    @classmethod
    def _in_unit(cls, values: dict[dt.date, float], info: ValidationInfo) -> dict[dt.date, float]:
        # A field validator (not the model one) so the error points at the `values` line.
        unit = info.data.get("unit")
        for d, v in values.items():
            if unit in UNIT_INTERVAL and not 0.0 <= v <= 1.0:
                raise ValueError(
                    f"a value in [0, 1] for unit '{unit.value}' (rates are fractions: 2.5 % is 0.025), got {v} on {d}"
                )
        return values

    @model_validator(mode="after")
    def _check(self) -> "Parameter":
        if (self.basis is Basis.CALIBRATED) != (self.calibration is not None):
            raise ValueError("a 'calibration' entry (targets, residuals) exactly when basis is calibrated")
        if self.basis is Basis.ANCHORED and self.uncertainty is None:
            raise ValueError("an uncertainty range when basis is anchored (the band its sources give)")
        u = self.uncertainty
        if u is not None:
            if self.unit in UNIT_INTERVAL and (u.low < 0 or u.high > 1):
                raise ValueError(f"an uncertainty range inside [0, 1] for unit '{self.unit.value}', got [{u.low}, {u.high}]")
            v = self.value
            if not u.low <= v <= u.high:
                raise ValueError(f"a central value inside its uncertainty range [{u.low}, {u.high}], got {v}")
        return self

    @property
    def date(self) -> dt.date:
        return max(self.values)

    @property
    def value(self) -> float:
        """The value in force at the latest date."""
        return self.values[self.date]

    @property
    def year(self) -> int:
        return self.date.year

    @property
    def uncertain(self) -> bool:
        return self.uncertainty is not None

    def record(self) -> dict:
        """JSON-ready description: value, unit, dates, description, sources
        and range (the ``foedus params --json`` record)."""
        u = self.uncertainty

        def ref(r: Reference) -> dict:
            return r.model_dump(exclude_none=True, mode="json") | {"short": r.short()}

        return {
            "name": self.name,
            "group": self.group,
            "value": self.value,
            "unit": self.unit.value,
            "year": self.year,
            "date": self.date.isoformat(),
            "values": {d.isoformat(): v for d, v in sorted(self.values.items())},
            "description": " ".join(self.description.split()),
            "basis": self.basis.value,
            "calibration": None if self.calibration is None else self.calibration.model_dump(mode="json"),
            "source": self.references[0].short(),
            "references": [ref(r) for r in self.references],
            "uncertainty": None
            if u is None
            else {
                "distribution": u.distribution,
                "low": u.low,
                "high": u.high,
                "rationale": " ".join(u.rationale.split()),
                "references": [ref(r) for r in u.references],
            },
        }
