"""Sobol' sensitivity of one package's metric to every uncertain input: the
design is sampled on the unit cube (SALib), mapped to each input's own
distribution by :class:`~foedus.exploration.futures.Design`, evaluated by the
same vectorised assessment as everything else, and analysed by
:mod:`foedus.exploration.sensitivity`."""

from __future__ import annotations

import numpy as np

from foedus.exploration.assess import central_weights, evaluate
from foedus.exploration.futures import Design
from foedus.exploration.sensitivity import SobolIndices, SobolProblem, sobol
from foedus.models.inputs import Inputs


def package_sobol(package, ps, countries, metrics: list[str], n: int, seed: int = 0, horizon: float | None = None) -> SobolIndices:
    from foedus.models.levers import compile_packages

    vals = ps.values()
    h = float(horizon if horizon is not None else vals["assessment.horizon_years"])
    yearly = [m for m in metrics if "@" in m]  # one year of the time axis (foedus.exploration.years)
    design = Design.from_parameters(ps, sampler="sobol", seed=seed, time_axis=bool(yearly))
    if design.d == 0:
        raise ValueError("no uncertain inputs to analyse (all parameters are fixed)")
    lv = compile_packages([package], countries)
    central = Inputs(vals, 1)
    w = central_weights(lv, central)
    problem = SobolProblem(tuple(design.names), tuple((0.0, 1.0) for _ in design.names))
    if yearly:
        from foedus.exploration.years import check_yearly, yearly_values

        for m in yearly:
            check_yearly(m, int(vals["assessment.start_year"]), h)

    def model(U: np.ndarray) -> np.ndarray:
        values = design.to_values(U)
        x = Inputs({**vals, **design.as_dict(values)}, U.shape[0])
        got = evaluate(lv, x, h, weights=w).packages
        if yearly:
            got = {**got, **yearly_values([package], countries, x, h, central, yearly)}
        return np.stack([np.broadcast_to(got[m][0], (U.shape[0],)) for m in metrics], axis=1)

    return sobol(problem, model, n, seed=seed, outputs=list(metrics), chunk=4096)
