"""Side-by-side comparison of packages: the central values, their ranges
over a default sample of futures, and what each guarantor's promise is worth
(the package without it). The JSON contract of ``foedus compare`` and of the
web API; the report renders it too.

Contract (documented in docs/cli.md)::

    {"packages": [{"id", "title", "kyiv_position",
                   "metrics": {<PACKAGE_METRICS> at the central values},
                   "ranges": {metric: {"p5", "p50", "p95"}},
                   "guarantors": [{"iso3", "credibility", "delivery", "cost_usd_per_year", ...,
                                   "attack_probability_without", "approval_probability_without",
                                   "elements": [{"legal_form", "trigger", "kinds", "credibility",
                                                 "delivery", "approval", "survival", "weight",
                                                 "cost_usd_per_year"}]}],
                   "collective": [{"group", "legal_form", "trigger", "kinds", "credibility",
                                   "delivery", "approval", "survival", "weight", "cost_usd_per_year"}],
                   "approvals": [{"approval", "by"}]}],
     "ranges": {"futures": N, "seed": S, "sampler": "lhs", "percentiles": [5, 50, 95]},
     "horizon_years": H, "parameters": {name: value used}, "overrides": {...},
     "data": {"latest", "parameters", "parameter", "countries", "packages", "calibrated", "judgement", "detail", "text"}}

Numbers are plain floats; a value that does not exist (capacity ratio with
nothing deployed) is ``null``. ``attack_probability_without`` is the
package's attack probability at the central values with that guarantor's
commitments removed (its own commitments dropped, and it is excluded from
any group commitment, as with ``except``, though an EU instrument that
needed a unanimous vote still needs it). ``collective`` lists the decisions a
group takes as one (EU sanctions snap-back, NATO's Article 5).
"""

from __future__ import annotations

import math

import numpy as np

from foedus.data.vintage import vintage
from foedus.exploration.assess import ELEMENT_METRICS, GUARANTOR_METRICS, PACKAGE_METRICS, central_weights, evaluate, make_inputs

#: Futures in the default sample behind the ranges of ``compare`` (LHS,
#: seeded): enough for stable 5th-95th percentiles, fast enough for the web page.
RANGE_FUTURES = 1000
#: Percentiles reported beside every central value.
RANGE_PERCENTILES = (5, 50, 95)
#: Metrics reported with and without each guarantor.
WITHOUT_METRICS = ("attack_probability", "approval_probability")


def _num(v: float) -> float | None:
    v = float(v)
    return None if math.isnan(v) or math.isinf(v) else v


def comparison(packages, parameters, countries, horizon: float | None = None, *, futures: int = RANGE_FUTURES, seed: int = 0) -> dict:
    """Evaluate ``packages`` (validated :class:`Package` objects) at the
    values in force in ``parameters`` (central values, ranges over
    ``futures`` sampled futures, and each guarantor's worth) and return the
    JSON-ready contract. ``futures=0`` skips the ranges."""
    from foedus.models.levers import compile_packages

    vals = parameters.values()
    h = float(horizon if horizon is not None else vals["assessment.horizon_years"])
    lv = compile_packages(packages, countries)
    x = make_inputs(parameters)
    ev = evaluate(lv, x, h, detail=True)
    ranges = package_ranges(lv, parameters, h, futures, seed) if futures else None
    without = worth_of_guarantors(packages, parameters, countries, h)
    out = []
    for p_i, pkg in enumerate(packages):
        guarantors = []
        for q in np.nonzero(lv.q_package == p_i)[0]:
            iso = lv.guarantors[lv.q_guarantor[q]]
            g = {"iso3": iso}
            g.update({m: _num(ev.rows[m][q, 0]) for m in GUARANTOR_METRICS})
            g["capacity_shortfall"] = bool(ev.rows["shortfall"][q, 0] > 0)
            for m in WITHOUT_METRICS:
                g[f"{m}_without"] = _num(without[(p_i, iso)][m])
            g["elements"] = [_element(lv, ev, e) for e in np.nonzero(lv.el_q == q)[0] if not lv.collective[e]]
            guarantors.append(g)
        entry = {
            "id": pkg.id,
            "title": pkg.title,
            "kyiv_position": pkg.kyiv_position.value,
            "metrics": {m: _num(ev.packages[m][p_i, 0]) for m in PACKAGE_METRICS},
        }
        if ranges is not None:
            entry["ranges"] = {m: {f"p{q}": _num(ranges[m][p_i, j]) for j, q in enumerate(RANGE_PERCENTILES)} for m in PACKAGE_METRICS}
        entry["guarantors"] = guarantors
        entry["collective"] = [_element(lv, ev, e) | {"group": lv.group[e]} for e in np.nonzero((lv.el_package == p_i) & lv.collective)[0]]
        entry["approvals"] = [{"approval": a, "by": by} for a, by in lv.approvals_by_package[p_i]]
        out.append(entry)
    used = {k: v for k, v in sorted(vals.items())}
    used["assessment.horizon_years"] = h
    result = {"packages": out, "horizon_years": h, "parameters": used, "overrides": dict(parameters.overrides),
              "data": vintage(parameters, countries, packages).record()}
    if ranges is not None:
        result["ranges"] = {"futures": int(futures), "seed": int(seed), "sampler": "lhs", "percentiles": list(RANGE_PERCENTILES)}
    return result


def _element(lv, ev, e: int) -> dict:
    from foedus.models.levers import FORMS, TRIGGERS

    rec = {"legal_form": FORMS[lv.form[e]], "trigger": TRIGGERS[lv.trigger[e]], "kinds": list(lv.kinds[e])}
    rec.update({m: _num(ev.elements[m][e, 0]) for m in ELEMENT_METRICS})
    return rec


def package_ranges(lv, parameters, horizon: float, futures: int, seed: int) -> dict[str, np.ndarray]:
    """Percentiles ``(P, len(RANGE_PERCENTILES))`` of every package metric
    over ``futures`` futures of the default design (LHS, ``seed``)."""
    from foedus.exploration.futures import Design

    design = Design.from_parameters(parameters, sampler="lhs", seed=seed, block=max(int(futures), 1))
    cols = design.as_dict(design.block_values(0, int(futures)))
    x = make_inputs(parameters, cols) if cols else make_inputs(parameters)
    ev = evaluate(lv, x, horizon, weights=central_weights(lv, make_inputs(parameters)))
    return {m: np.percentile(np.broadcast_to(ev.packages[m], (lv.n_packages, x.n)), RANGE_PERCENTILES, axis=1).T for m in PACKAGE_METRICS}


def worth_of_guarantors(packages, parameters, countries, horizon: float, lv=None) -> dict[tuple[int, str], dict[str, float]]:
    """``{(package index, ISO3): {metric: value}}``: each package at the
    central values with one guarantor's commitments removed, for every
    guarantor of every package (one compilation, one evaluation). The
    variants depend only on the packages, so their compilation is cached."""
    keys, lw = _variants(packages, countries)
    if not keys:
        return {}
    ev = evaluate(lw, make_inputs(parameters), horizon)
    return {k: {m: float(ev.packages[m][i, 0]) for m in WITHOUT_METRICS} for i, k in enumerate(keys)}


_VARIANTS: dict = {}


def _variants(packages, countries):
    """Every package without each of its guarantors, compiled once per set of packages."""
    from foedus.models.levers import compile_packages

    cache_key = (id(countries), tuple(p.model_dump_json() for p in packages))
    hit = _VARIANTS.get(cache_key)
    if hit is not None:
        return hit
    lv = compile_packages(packages, countries)
    keys, variants = [], []
    for p_i, pkg in enumerate(packages):
        for iso in dict.fromkeys(lv.guarantors[g] for g in lv.q_guarantor[lv.q_package == p_i]):
            keys.append((p_i, iso))
            variants.append(pkg.without(iso, countries))
    out = (keys, compile_packages(variants, countries) if variants else None)
    if len(_VARIANTS) >= 32:
        _VARIANTS.pop(next(iter(_VARIANTS)))
    _VARIANTS[cache_key] = out
    return out
