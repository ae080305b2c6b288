"""Calibration targets: published results the model must reproduce, the
set-ups (small packages) that reproduce them, and what is measured.

A target is ``fit`` (the fit adjusts the parameters it names) or ``check``
(kept out of the fit and reported pass or fail). A check must be able to
fail: it has its own (set-up, metric, statistic), never a fit's, and a band
with a lower edge above 0 (two-sided), so it can see over-deterrence as well
as under-deterrence. Published results that hold by construction are
``identities``: measured and shown, not counted as checks. Its ``measure`` is a
statistic (mean or median over the default futures) of a metric in a set-up,
optionally divided future by future by the same metric in another set-up
(``over``: a ratio of attack probabilities, a hazard ratio) or by another
metric of the same set-up (``over_metric``: cost per soldier, pool per soldier).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from foedus.domain.package import Commitment, Terms
from foedus.domain.reference import Reference
from foedus.domain.vocabulary import Unit


class Measure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    statistic: Literal["mean", "median"]
    metric: str = Field(min_length=1, description="a package metric, an internal one, or credibility.<ISO3>")
    setup: str
    over: str | None = Field(default=None, description="divide by the same metric in this set-up, future by future")
    over_metric: str | None = Field(default=None, description="divide by this metric of the same set-up, future by future")

    @model_validator(mode="after")
    def _one_denominator(self) -> "Measure":
        if self.over is not None and self.over_metric is not None:
            raise ValueError("at most one of 'over' and 'over_metric'")
        return self


class Setup(BaseModel):
    """A package built for a target, with parameter settings of its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(min_length=10)
    commitments: list[Commitment] = Field(default_factory=list)
    terms: Terms = Field(default_factory=Terms)
    set: dict[str, float] = Field(default_factory=dict, description="parameter values fixed in this set-up")
    use_settings: bool = Field(default=True, description="apply the file-wide settings (false: the shipped values)")


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["fit", "check", "identity"]
    title: str = Field(min_length=5)
    measure: Measure
    value: float
    value_basis: str = Field(min_length=5, description="where the value comes from: published, or the middle of the band")
    band: tuple[float, float]
    unit: Unit
    sources: list[str] = Field(min_length=1)
    grade: str = Field(min_length=3)
    fits: list[str] = Field(default_factory=list, description="parameters this target calibrates (fit targets)")
    note: str | None = None

    @model_validator(mode="after")
    def _check(self) -> "Target":
        lo, hi = self.band
        if not lo <= self.value <= hi:
            raise ValueError(f"a value inside its band [{lo}, {hi}], got {self.value}")
        if self.role == "fit" and not self.fits:
            raise ValueError("a fit target names the parameters it fits ('fits')")
        if self.role != "fit" and self.fits:
            raise ValueError(f"a {self.role} fits nothing; remove 'fits' or make it a fit target")
        if self.role == "check" and not lo > 0:
            raise ValueError(f"a check with a two-sided band (low > 0), so that it can fail both ways; got [{lo}, {hi}]")
        return self

    @property
    def key(self) -> tuple:
        """What is measured: (set-up, metric, statistic, denominator)."""
        m = self.measure
        return (m.setup, m.metric, m.statistic, m.over, m.over_metric)

    def passes(self, v: float) -> bool:
        lo, hi = self.band
        return bool(lo <= v <= hi)

    def residual(self, v: float) -> float:
        """Distance from the value in units of the half band on that side
        (0 at the value, +-1 at the band's edges)."""
        lo, hi = self.band
        side = (hi - self.value) if v >= self.value else (self.value - lo)
        return (v - self.value) / side if side > 0 else (0.0 if v == self.value else float("inf"))


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    futures: int = Field(ge=64, le=1_000_000)
    seed: int = Field(ge=0)
    sampler: Literal["lhs", "sobol", "mc"] = "lhs"


class CalibrationData(BaseModel):
    """The whole calibration file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    as_of: dt.date
    sample: Sample
    settings: dict[str, float] = Field(default_factory=dict, description="parameter values fixed in every set-up (a set-up's own 'set' wins)")
    sources: dict[str, Reference] = Field(min_length=1)
    setups: dict[str, Setup] = Field(min_length=1)
    targets: dict[str, Target] = Field(min_length=1)
    identities: dict[str, Target] = Field(default_factory=dict, description="published results that hold by construction: shown, not checks")
    not_used: list[str] = Field(default_factory=list, description="published results that could not be checked")

    @model_validator(mode="after")
    def _refs(self) -> "CalibrationData":
        for tid, t in self.identities.items():
            if t.role != "identity":
                raise ValueError(f"identities.{tid}: role identity, got {t.role}")
        for tid, t in self.targets.items():
            if t.role == "identity":
                raise ValueError(f"targets.{tid}: an identity belongs under identities")
        fits = {t.key: tid for tid, t in self.targets.items() if t.role == "fit"}
        for tid, t in self.targets.items():
            if t.role == "check" and t.key in fits:
                raise ValueError(f"targets.{tid}: a check with its own set-up, metric or statistic; it measures exactly what the fit target '{fits[t.key]}' measures")
        for tid, t in {**self.targets, **self.identities}.items():
            for s in (t.measure.setup, t.measure.over):
                if s is not None and s not in self.setups:
                    raise ValueError(f"{'identities' if t.role == 'identity' else 'targets'}.{tid}.measure: set-up '{s}' is not one of setups")
            for s in t.sources:
                if s not in self.sources:
                    raise ValueError(f"{'identities' if t.role == 'identity' else 'targets'}.{tid}.sources: '{s}' is not a key of sources")
        return self

    def fitted_parameters(self) -> dict[str, list[str]]:
        """Parameter -> the fit targets that calibrate it."""
        out: dict[str, list[str]] = {}
        for tid, t in self.targets.items():
            for p in t.fits:
                out.setdefault(p, []).append(tid)
        return out
