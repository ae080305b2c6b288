"""A bibliographic reference: every figure and every package cites these."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from foedus.domain.vocabulary import Grade


class Reference(BaseModel):
    """Publisher, title, year and, where known, URL or DOI of a source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    publisher: str = Field(min_length=1, description="Author(s) or publishing body")
    title: str = Field(min_length=1)
    year: int = Field(ge=1600, le=2100)
    url: str | None = None
    doi: str | None = None
    grade: Grade = Grade.SECONDARY
    note: str | None = Field(default=None, description="What was taken from it, or how a figure was derived")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("a URL starting with http:// or https://")
        return v

    def short(self) -> str:
        return f"{self.publisher} ({self.year}), {self.title}"
