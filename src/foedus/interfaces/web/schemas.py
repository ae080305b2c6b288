"""Request bodies of the JSON API, with their bounds (one request cannot
exhaust memory: at most 16 packages, 20,000 futures, 8 thresholds, and
bounded maps of overrides and lever edits)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from foedus.domain.vocabulary import LegalForm, Posture
from foedus.interfaces.web.service import (
    MAX_FUTURES,
    MAX_PACKAGE_TEXT,
    MAX_PACKAGES,
    MAX_SENSITIVITY_METRICS,
    MAX_THRESHOLDS,
    OPTIMISE_BOUNDS,
    OPTIMISE_DEFAULTS,
    SENSITIVITY_METRICS,
    SENSITIVITY_N,
    SENSITIVITY_SIZES,
)

PackageId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Guarantor = Annotated[str, StringConstraints(pattern=r"^([A-Z]{3}|NATO|EU)$")]
ParamName = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class PackageEdit(BaseModel):
    """Lever edits of one package (see docs/web.md)."""

    model_config = ConfigDict(extra="forbid")

    troops: dict[Guarantor, Annotated[int, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=dict, max_length=64, description="deployed ground troops per guarantor (0 removes the force)")
    legal_form: LegalForm | None = Field(default=None, description="legal form of every commitment")
    posture: Posture | None = Field(default=None, description="posture of every deployed ground force")
    aid_scale: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)] | None = Field(
        default=None, description="factor on every aid commitment (military, humanitarian, reconstruction)")
    aid_usd: dict[Guarantor, Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]] = Field(
        default_factory=dict, max_length=64, description="military aid per year per guarantor, US dollars")
    legal_form_of: dict[Guarantor, LegalForm] = Field(
        default_factory=dict, max_length=64, description="legal form of every commitment of one guarantor (after legal_form)")
    posture_of: dict[Guarantor, Posture] = Field(
        default_factory=dict, max_length=64, description="posture of every force of one guarantor that states a posture")
    aircraft: dict[Guarantor, Annotated[int, Field(ge=0, le=10_000)]] = Field(
        default_factory=dict, max_length=64, description="combat aircraft on air-power commitments per guarantor (0 removes them)")
    air_defence: dict[Guarantor, Annotated[int, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=dict, max_length=64, description="air-defence personnel per guarantor (0 removes them)")
    remove: list[Guarantor] = Field(
        default_factory=list, max_length=64, description="guarantors taken out of the package, as 'whose promise counts' does (applied last)")


class Scenario(BaseModel):
    """Which packages, with which lever edits, under which assumptions."""

    model_config = ConfigDict(extra="forbid")

    packages: list[PackageId] = Field(min_length=1, max_length=MAX_PACKAGES, description="package ids (shipped or uploaded)")
    overrides: dict[ParamName, Finite] = Field(default_factory=dict, max_length=500, description="parameter name -> value")
    edits: dict[PackageId, PackageEdit] = Field(default_factory=dict, max_length=MAX_PACKAGES, description="package id -> lever edits")
    horizon: Annotated[float, Field(ge=0.1, le=100, allow_inf_nan=False)] | None = Field(default=None, description="years over which risks accumulate")

    def edit_dicts(self) -> dict[str, dict]:
        return {k: v.model_dump(exclude_none=True, exclude_defaults=True, mode="json") for k, v in self.edits.items()}


class ExploreRequest(Scenario):
    n_futures: Annotated[int, Field(ge=1, le=MAX_FUTURES)] = Field(default=2000, description=f"futures sampled (at most {MAX_FUTURES:,})")
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    sampler: Literal["lhs", "sobol", "mc"] = "lhs"
    thresholds: list[Annotated[str, StringConstraints(min_length=3, max_length=80)]] | None = Field(
        default=None, max_length=MAX_THRESHOLDS, description="e.g. attack_probability<=0.1 (default: the CLI's defaults)")
    focus: PackageId | None = Field(default=None, description="package whose failure box (PRIM) to find")
    baseline: bool = Field(default=True, description="also return robustness of the unedited packages at the default parameters")


class SensitivityRequest(BaseModel):
    """Sobol' indices of one package's metrics (with its lever edit, under
    the overrides)."""

    model_config = ConfigDict(extra="forbid")

    package: PackageId = Field(description="the package to analyse (shipped or uploaded)")
    edit: PackageEdit = Field(default_factory=PackageEdit, description="its lever edits")
    overrides: dict[ParamName, Finite] = Field(default_factory=dict, max_length=500, description="parameter name -> value (fixed, so not analysed)")
    horizon: Annotated[float, Field(ge=0.1, le=100, allow_inf_nan=False)] | None = None
    metrics: list[Annotated[str, StringConstraints(min_length=1, max_length=60)]] = Field(
        default_factory=lambda: list(SENSITIVITY_METRICS), min_length=1, max_length=MAX_SENSITIVITY_METRICS, description="package metrics to analyse")
    n: Literal[*SENSITIVITY_SIZES] = Field(default=SENSITIVITY_N, description=f"base sample (a power of two, at most {max(SENSITIVITY_SIZES)}); n x (inputs + 2) evaluations")
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0

    @property
    def packages(self) -> list[str]:  # what the response cache and the compute pool look up
        return [self.package]

    def edit_dict(self) -> dict:
        return self.edit.model_dump(exclude_none=True, exclude_defaults=True, mode="json")


class DetailRequest(BaseModel):
    """One package's whole entry of the comparison (with its lever edit,
    under the overrides): ``POST /api/compare/detail``."""

    model_config = ConfigDict(extra="forbid")

    package: PackageId = Field(description="the package whose detail to give (shipped or uploaded)")
    edit: PackageEdit = Field(default_factory=PackageEdit, description="its lever edits")
    overrides: dict[ParamName, Finite] = Field(default_factory=dict, max_length=500, description="parameter name -> value")
    horizon: Annotated[float, Field(ge=0.1, le=100, allow_inf_nan=False)] | None = Field(default=None, description="years over which risks accumulate")

    @property
    def packages(self) -> list[str]:  # what the response cache and the compute pool look up
        return [self.package]

    def edit_dict(self) -> dict:
        return self.edit.model_dump(exclude_none=True, exclude_defaults=True, mode="json")


class Upload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_PACKAGE_TEXT, description="the package file (YAML or JSON)")
    name: Annotated[str, StringConstraints(max_length=200)] = Field(default="upload.yaml", description="file name, for error messages")


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    edit: PackageEdit = Field(default_factory=PackageEdit)


class ReportRequest(Scenario):
    n_futures: Annotated[int, Field(ge=0, le=MAX_FUTURES)] = Field(default=0, description="0: no robustness section")
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    thresholds: list[Annotated[str, StringConstraints(min_length=3, max_length=80)]] | None = Field(default=None, max_length=MAX_THRESHOLDS)


class OptimiseRequest(BaseModel):
    """A design search (``foedus optimise``) of one design file on offer,
    bounded so that one request takes seconds, not minutes."""

    model_config = ConfigDict(extra="forbid")

    design: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] = Field(description="the id of a design file (GET /api/designs)")
    futures: Annotated[int, Field(ge=OPTIMISE_BOUNDS["futures"][0], le=OPTIMISE_BOUNDS["futures"][1])] = Field(
        default=OPTIMISE_DEFAULTS["futures"], description="futures every candidate is evaluated on (the same for all)")
    population: Annotated[int, Field(ge=OPTIMISE_BOUNDS["population"][0], le=OPTIMISE_BOUNDS["population"][1])] = Field(
        default=OPTIMISE_DEFAULTS["population"], description="candidates per generation")
    generations: Annotated[int, Field(ge=OPTIMISE_BOUNDS["generations"][0], le=OPTIMISE_BOUNDS["generations"][1])] = Field(
        default=OPTIMISE_DEFAULTS["generations"], description="generations")
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = OPTIMISE_DEFAULTS["seed"]
    overrides: dict[ParamName, Finite] = Field(default_factory=dict, max_length=500, description="parameter name -> value (as --set)")
