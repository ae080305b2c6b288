"""How recent the data behind an assessment is: the latest dated evidence
parameter, the latest year of the country figures and of the packages'
sources, when judgements were last revised and when the calibrated
parameters were last fitted. The CLI, the web page and the report all state
it from here.

Judgement and calibrated parameters carry the date of the judgement or of
the fit, not of any fact, so they are reported apart and left out of "data
as of".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from foedus.domain.vocabulary import Basis


@dataclass(frozen=True)
class Vintage:
    """The dates a reader needs to judge how current a figure is."""

    #: Latest date on which an evidence parameter value took effect.
    parameters: dt.date
    #: The parameter that carries it.
    parameter: str
    #: Latest year of any country figure (GDP, defence spending, personnel, aid).
    countries: int
    #: Latest year of any source a package cites (None without packages).
    packages: int | None
    #: Latest calibration fit (None if nothing is calibrated).
    calibrated: dt.date | None
    #: Latest revision of a judgement parameter (None if there is none).
    judgement: dt.date | None = None

    @property
    def latest(self) -> str:
        """The latest of the above, as a date or a year (ISO text)."""
        year = max(self.countries, self.packages or 0)
        return str(year) if year > self.parameters.year else self.parameters.isoformat()

    def detail(self) -> str:
        """What "data as of" is made of, and the dates of judgements and fits."""
        text = f"evidence parameters to {self.parameters.isoformat()}, country figures to {self.countries}"
        if self.packages is not None:
            text += f", package sources to {self.packages}"
        if self.judgement is not None:
            text += f"; judgements revised {self.judgement.isoformat()}"
        if self.calibrated is not None:
            text += f"; calibrated {self.calibrated.isoformat()}"
        return text

    def describe(self) -> str:
        return f"data as of {self.latest} ({self.detail()})"

    def record(self) -> dict:
        return {
            "latest": self.latest,
            "parameters": self.parameters.isoformat(),
            "parameter": self.parameter,
            "countries": self.countries,
            "packages": self.packages,
            "calibrated": self.calibrated.isoformat() if self.calibrated else None,
            "judgement": self.judgement.isoformat() if self.judgement else None,
            "detail": self.detail(),
            "text": self.describe(),
        }


def vintage(parameters, countries, packages=()) -> Vintage:
    """The :class:`Vintage` of a :class:`~foedus.data.parameter_set.ParameterSet`,
    a country table and (optionally) packages."""
    dated = [(p.date, name) for name, p in parameters.parameters.items() if p.basis is Basis.EVIDENCE]
    if not dated:
        raise ValueError("no evidence parameter to date the data by")
    when, name = max(dated)
    judged = [p.date for p in parameters.parameters.values() if p.basis is Basis.JUDGEMENT]
    fits = [p.calibration.fitted for p in parameters.parameters.values() if p.calibration is not None and p.calibration.fitted]
    years = [f.year for c in countries.countries.values() for f in c.figures().values()]
    cited = [s.year for pkg in packages for s in [*pkg.sources, *(r for c in pkg.commitments for r in c.sources)] if s.year]
    return Vintage(parameters=when, parameter=name, countries=max(years), packages=max(cited) if cited else None,
                   calibrated=max(fits) if fits else None, judgement=max(judged) if judged else None)
