"""The assessment: every package in every future, through all eight
sub-models, on one code path.

``evaluate(levers, inputs, horizon)`` is the vectorised core used by
``compare`` (one future: the central values), ``explore`` (chunks of many
futures, single process or Dask) and the web app. :func:`assess` wraps it for
notebooks and returns labelled :class:`xarray.Dataset` results (package x
future, and package x future x guarantor), convertible to pandas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from foedus.domain.metrics import ELEMENT_METRICS, GUARANTOR_METRICS, PACKAGE_METRICS
from foedus.models.allocator import keep_freed_memory
from foedus.models.approval import approval, survival, weights as approval_weights
from foedus.models.combat import combat
from foedus.models.costs import costs, element_costs
from foedus.models.deterrence import deterrence
from foedus.models.escalation import escalation
from foedus.models.forces import coalition_stretch, forces, shortfall_rows
from foedus.models.humanitarian import humanitarian
from foedus.models.inputs import Inputs
from foedus.models.levers import Levers
from foedus.models.package_totals import forces_and_costs
from foedus.models.sums import CRED, DELIVERY, Probabilities


@dataclass
class Evaluation:
    """Raw arrays of one evaluation: ``packages[m]`` is ``(P, n)``,
    ``rows[m]`` is ``(Q, n)`` per guarantor row and ``elements[m]`` is
    ``(E, n)`` per element (only when ``detail`` was asked);
    ``internals`` holds intermediate package arrays (channels, combat
    rates, coalition stretch) when asked."""

    packages: dict[str, np.ndarray]
    rows: dict[str, np.ndarray] | None
    n: int
    elements: dict[str, np.ndarray] | None = None
    internals: dict[str, np.ndarray] | None = None


def central_weights(lv: Levers, central: Inputs) -> np.ndarray:
    """Approval weights per element, from the costs at the central values."""
    if central.n != 1:
        raise ValueError("central weights need the one-future (central) inputs")
    _, _, _, short = shortfall_rows(lv, central)
    return approval_weights(lv, element_costs(lv, central, short)[:, 0], float(central["approval.weight_on_cost"][0]))


def _row_detail(lv: Levers, x: Inputs, pr: Probabilities, apr: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-guarantor forces, costs, credibility, delivery and own approval
    (``apr``: the approval sub-model's results with their detail)."""
    f = forces(lv, x)
    c = costs(lv, x, f["shortfall"])
    money = (lv.aid_usd + lv.humanitarian_usd + lv.reconstruction_usd)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_delivery = lv.sum_rows(pr.rows(kind=DELIVERY) * money) / lv.sum_rows(money)
    return {**f, **c, "credibility": pr.row_fights(), "delivery": mean_delivery, "approval": apr["guarantor_approval"]}


def _deterrence_and_approval(lv: Levers, x: Inputs, horizon: float, weights: np.ndarray | None, detail: bool = False):
    """The credibility tables, deterrence and approval of :func:`evaluate`
    (what the attack and approval probabilities need; the other sub-models
    do not feed them), and the approval weights used. ``weights``: as in
    :func:`evaluate`."""
    keep_freed_memory()
    if weights is None:
        if x.n != 1:
            raise ValueError("approval weights are needed when evaluating more than the central future")
        weights = central_weights(lv, x)
    pr = Probabilities(lv, x, horizon)
    return pr, deterrence(lv, x, pr, horizon), approval(lv, x, horizon, weights, detail=detail), weights


def attack_and_approval(lv: Levers, central: Inputs, horizon: float) -> dict[str, np.ndarray]:
    """``attack_probability`` and ``approval_probability`` ``(P, 1)`` at the
    central values, as :func:`evaluate` gives them, without the sub-models
    they do not need (forces, costs, combat, escalation, humanitarian): what
    a comparison asks of each package without each of its guarantors (the
    Coalition package's 90 variants: 9 ms instead of 14)."""
    _, det, apr, _ = _deterrence_and_approval(lv, central, horizon, None)
    return {m: np.broadcast_to(v, (lv.n_packages, central.n)) for m, v in
            (("attack_probability", det["attack_probability"]), ("approval_probability", apr["approval_probability"]))}


def evaluate(lv: Levers, x: Inputs, horizon: float, *, weights: np.ndarray | None = None, detail: bool = False,
             internals: bool = False) -> Evaluation:
    """Evaluate all packages in ``lv`` over the futures in ``x``.

    ``weights`` (approval weights per element) come from the central values;
    they are computed from ``x`` itself when ``x`` is the one-future central
    case."""
    n = x.n
    pr, det, apr, weights = _deterrence_and_approval(lv, x, horizon, weights, detail)
    fc = forces_and_costs(lv, x)
    cmb = combat(det["defender_strength"], det["adversary_win_probability"], det["attack_probability"], x)
    esc = escalation(lv, x, det["attack_probability"], det["nuclear_guarantor_fights"], horizon)
    hum = humanitarian(lv, x, pr)
    pkg = {
        **{k: det[k] for k in ("attack_probability", "annual_attack_probability", "defender_strength")},
        **{k: cmb[k] for k in ("defence_holds_probability", "casualties_if_war", "expected_casualties")},
        **apr,
        **esc,
        **hum,
        **fc,
    }
    P = lv.n_packages
    out = {m: np.broadcast_to(pkg[m], (P, n)) for m in PACKAGE_METRICS}
    rows = elements = None
    if detail:
        Q, E = lv.n_rows, lv.n_elements
        merged = _row_detail(lv, x, pr, apr)
        rows = {m: np.broadcast_to(merged[m], (Q, n)) for m in GUARANTOR_METRICS}
        el = {
            "credibility": pr.rows(kind=CRED),
            "delivery": pr.rows(kind=DELIVERY),
            "approval": apr["element_approval"],
            "survival": survival(lv, x, horizon),
            "cost_usd_per_year": element_costs(lv, x, merged["shortfall"]),
            "weight": np.asarray(weights, dtype=np.float64)[:, None],
        }
        elements = {m: np.broadcast_to(el[m], (E, n)) for m in ELEMENT_METRICS}
    extra = None
    if internals:
        extra = {**{k: np.broadcast_to(v, (P, n)) for k, v in det.items()}, **{k: np.broadcast_to(v, (P, n)) for k, v in cmb.items()},
                 "annual_hazard": np.broadcast_to(-np.log1p(-det["annual_attack_probability"]), (P, n)),
                 "coalition_stretch": np.broadcast_to(coalition_stretch(lv, x), (P, n))}
    return Evaluation(out, rows, n, elements, extra)


def assess(packages, futures=None, *, parameters=None, countries=None, horizon: float | None = None, detail: bool = True):
    """Evaluate packages over futures and return an :class:`xarray.Dataset`.

    ``packages``: list of :class:`~foedus.domain.package.Package` or paths.
    ``futures``: ``None`` for the central values (one future), or a mapping
    ``name -> array`` of sampled values (e.g. from
    :func:`foedus.exploration.futures.sample_futures`).
    ``parameters``: a :class:`~foedus.data.parameter_set.ParameterSet`
    (defaults plus overrides); shipped defaults when omitted.
    """
    import xarray as xr

    from foedus.data.loaders import load_countries, load_packages
    from foedus.data.parameter_set import ParameterSet
    from foedus.models.levers import compile_packages

    countries = countries or load_countries()
    pkgs = [p if not isinstance(p, (str, bytes)) and hasattr(p, "commitments") else None for p in packages]
    paths = [p for p, q in zip(packages, pkgs) if q is None]
    loaded = iter(load_packages(paths, countries)) if paths else iter(())
    pkgs = [q if q is not None else next(loaded) for q in pkgs]
    ps = parameters or ParameterSet.default()
    h = float(horizon if horizon is not None else ps.values()["assessment.horizon_years"])
    lv = compile_packages(pkgs, countries)
    x = make_inputs(ps, futures)
    ev = evaluate(lv, x, h, weights=central_weights(lv, make_inputs(ps)), detail=detail)
    coords = {"package": lv.package_ids, "future": np.arange(x.n)}
    data = {m: (("package", "future"), np.array(a)) for m, a in ev.packages.items()}
    ds = xr.Dataset(data, coords=coords, attrs={"horizon_years": h})
    if detail and ev.rows is not None:
        G = len(lv.guarantors)
        for m, a in ev.rows.items():
            full = np.full((lv.n_packages, G, x.n), np.nan)
            full[lv.q_package, lv.q_guarantor] = a
            ds[m if m not in ds else f"{m}_by_guarantor"] = (("package", "guarantor", "future"), full)
        ds = ds.assign_coords(guarantor=lv.guarantors)
    return ds


def make_inputs(ps, futures=None) -> Inputs:
    """Inputs at the central values, with sampled futures laid over them."""
    vals = ps.values()
    if futures is None:
        return Inputs(vals, 1)
    sizes = {np.asarray(v).size for v in futures.values()}
    n = max(sizes) if sizes else 1
    return Inputs({**vals, **{k: np.asarray(v, dtype=np.float64) for k, v in futures.items()}}, n)
