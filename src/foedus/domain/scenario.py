"""Named will scenarios: fixed values of the guarantors' political will
that a reader asks for by name (``--scenario us-walks-away``), shown beside
the pooled range in which will is sampled (data/will_scenarios.yaml)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from foedus.domain.reference import Reference


class WillScenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=5)
    description: str = Field(min_length=10)
    set: dict[str, float] = Field(min_length=1, description="will parameters fixed in this scenario")
    references: list[Reference] = Field(min_length=1)

    @field_validator("set")
    @classmethod
    def _wills(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not k.startswith("will."):
                raise ValueError(f"only will parameters (will.USA, will.default, will.<ISO3>); '{k}' is not one")
            if not 0.0 <= x <= 1.0:
                raise ValueError(f"a will in [0, 1] for {k}, got {x}")
        return v


class WillScenarios(BaseModel):
    """The whole file: ``{id: WillScenario}`` in the order given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scenarios: dict[str, WillScenario] = Field(min_length=1)

    def get(self, sid: str) -> WillScenario:
        from foedus.domain.errors import InputError, Problem
        import difflib

        if sid not in self.scenarios:
            near = difflib.get_close_matches(sid, list(self.scenarios), n=2, cutoff=0.4)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise InputError("--scenario", [Problem(sid, f"a named will scenario ({', '.join(self.scenarios)}){hint}")])
        return self.scenarios[sid]
