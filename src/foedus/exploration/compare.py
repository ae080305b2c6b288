"""Side-by-side comparison of packages at one set of parameter values (the
central values unless overridden): the JSON contract of ``foedus compare``
and of the web API.

Contract (documented in docs/cli.md)::

    {"packages": [{"id", "title", "metrics": {<CONTRACT_METRICS>, <extras>},
                   "guarantors": [{"iso3", "credibility", "cost_usd_per_year",
                                   "cost_pct_gdp", "troops_deployed",
                                   "troops_required_pool", "troops_available",
                                   "capacity_ratio", ...}],
                   "approvals": [{"approval", "by"}]}],
     "horizon_years": H, "parameters": {name: value used}}

Numbers are plain floats; a value that does not exist (capacity ratio with
nothing deployed) is ``null``.
"""

from __future__ import annotations

import math

import numpy as np

from foedus.exploration.assess import GUARANTOR_METRICS, PACKAGE_METRICS, evaluate, make_inputs


def _num(v: float) -> float | None:
    v = float(v)
    return None if math.isnan(v) or math.isinf(v) else v


def comparison(packages, parameters, countries, horizon: float | None = None) -> dict:
    """Evaluate ``packages`` (validated :class:`Package` objects) once at the
    values in force in ``parameters`` and return the JSON-ready contract."""
    from foedus.models.levers import compile_packages

    vals = parameters.values()
    h = float(horizon if horizon is not None else vals["assessment.horizon_years"])
    lv = compile_packages(packages, countries)
    x = make_inputs(parameters)
    ev = evaluate(lv, x, h, detail=True)
    out = []
    for p_i, pkg in enumerate(packages):
        rows = np.nonzero(lv.row_package == p_i)[0]
        guarantors = []
        for k in rows:
            g = {"iso3": lv.guarantors[lv.row_guarantor[k]]}
            g.update({m: _num(ev.rows[m][k, 0]) for m in GUARANTOR_METRICS})
            g["capacity_shortfall"] = bool(ev.rows["shortfall"][k, 0] > 0)
            guarantors.append(g)
        out.append(
            {
                "id": pkg.id,
                "title": pkg.title,
                "kyiv_position": pkg.kyiv_position.value,
                "metrics": {m: _num(ev.packages[m][p_i, 0]) for m in PACKAGE_METRICS},
                "guarantors": guarantors,
                "approvals": [{"approval": a, "by": by} for a, by in lv.approvals_by_package[p_i]],
            }
        )
    used = {k: v for k, v in sorted(vals.items())}
    used["assessment.horizon_years"] = h
    return {"packages": out, "horizon_years": h, "parameters": used, "overrides": dict(parameters.overrides)}
