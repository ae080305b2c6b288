"""Scenario discovery: the boxes of uncertain inputs in which a package fails
(misses at least one threshold), found with PRIM (:mod:`foedus.exploration.prim`)
on an exploration held in memory or stored in the run store.

With dozens of uncertain inputs, PRIM's last box above the density threshold
restricts many inputs by a sliver each and reads badly. For people we pick
the *earliest* box on the peeling trajectory that reaches the density
threshold (the one with most coverage), then drop, one at a time, every
restriction whose removal costs less than ``tolerance`` of density
(Bryant & Lempert 2010, doi:10.1016/j.techfore.2009.08.002, recommend
trading a little density for interpretability). The result replaces that
box in the returned trajectory and is what ``describe()`` reads out, e.g.
"fails when will.USA <= 0.35 and forces.force_generation <= 0.7"."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dataclasses import replace

from foedus.exploration.prim import Box, PrimResult, find_box
from foedus.exploration.robustness import Threshold


def failures(metrics: dict[str, np.ndarray], thresholds: Sequence[Threshold]) -> np.ndarray:
    """Boolean ``(n,)``: futures where at least one threshold is missed."""
    if not thresholds:
        raise ValueError("scenario discovery needs at least one threshold (e.g. attack_probability<=0.1)")
    ok = np.ones(next(iter(metrics.values())).shape, dtype=bool)
    for t in thresholds:
        ok &= t.met(metrics[t.metric])
    return ~ok


#: Share of failing futures a box must hold to count as explaining them.
DENSITY = 0.8


def explain(X: np.ndarray, y: np.ndarray, names: Sequence[str], density: float = DENSITY) -> PrimResult:
    """The one PRIM set-up and read-out every interface uses: PRIM's
    trajectory, with the earliest box reaching ``density`` chosen and pruned
    for people (see the module docstring)."""
    return readable(X, y, names, find_box(X, y, names, threshold=density), density)


def failure_box(res, package_id: str, thresholds: Sequence[Threshold] | None = None, *, density: float = DENSITY) -> PrimResult:
    """PRIM box of an in-memory :class:`~foedus.exploration.explore.ExploreResult`."""
    if package_id not in res.package_ids:
        raise KeyError(f"no package '{package_id}' in this exploration ({', '.join(res.package_ids)})")
    i = res.package_ids.index(package_id)
    th = list(thresholds) if thresholds is not None else res.thresholds
    y = failures({m: a[i] for m, a in res.metrics.items()}, th)
    return explain(res.inputs, y, res.input_names, density)


def stored_failure_box(store, run_id: str, package_id: str, thresholds: Sequence[Threshold], *, density: float = DENSITY) -> tuple[PrimResult | None, int, int]:
    """PRIM box from a stored run: ``(result or None if it never fails, failures, futures)``."""
    meta = store.get_run(run_id)
    fut = store.futures(run_id).sort_values("future_id")
    res = store.results(run_id, package_id).sort_values("future_id")
    names = list(meta["input_names"])
    X = fut[names].to_numpy(dtype=np.float64)
    y = failures({t.metric: res[t.metric].to_numpy() for t in thresholds}, thresholds)
    n_fail = int(y.sum())
    if n_fail == 0:
        return None, 0, len(y)
    return explain(X, y, names, density), n_fail, len(y)


def readable(X: np.ndarray, y: np.ndarray, names: Sequence[str], res: PrimResult, density: float, tolerance: float = 0.01) -> PrimResult:
    """Pick the earliest box reaching ``density`` and prune its restrictions
    (see the module docstring). Returns a new :class:`PrimResult`."""
    traj = res.trajectory
    meets = [i for i, b in enumerate(traj) if b.density >= density]
    chosen = meets[0] if meets else res.chosen
    box = prune(X, y, names, traj[chosen], tolerance)
    new = list(traj)
    new[chosen] = box
    return PrimResult(trajectory=new, chosen=chosen, names=res.names)


def prune(X: np.ndarray, y: np.ndarray, names: Sequence[str], box: Box, tolerance: float = 0.01) -> Box:
    """Drop restrictions of ``box`` whose removal lowers density by less than
    ``tolerance`` (absolute), greedily, least costly first."""
    names = list(names)
    keep = list(box.restricted)
    if len(keep) <= 1:
        return box
    cols = [names.index(k) for k in keep]
    lo = np.array([box.limits[k][0] for k in keep])
    hi = np.array([box.limits[k][1] for k in keep])
    out = (X[:, cols] < lo) | (X[:, cols] > hi)  # (n, r): point violates restriction j
    active = np.ones(len(keep), dtype=bool)
    y = np.asarray(y, dtype=bool)
    while active.sum() > 1:
        v = out[:, active].sum(axis=1)
        inside = v == 0
        dens = y[inside].mean() if inside.any() else 0.0
        idx = np.nonzero(active)[0]
        # inside the box without restriction j: violates nothing else
        cand = (v[:, None] - out[:, idx]) == 0  # (n, a)
        cnt = cand.sum(axis=0)
        hit = (cand & y[:, None]).sum(axis=0)
        d_without = np.where(cnt > 0, hit / np.maximum(cnt, 1), 0.0)
        loss = dens - d_without
        j = int(np.argmin(loss))
        if loss[j] > tolerance:
            break
        active[idx[j]] = False
    if active.all():
        return box
    limits = dict(box.limits)
    data = box.data_limits or {}
    for k, a in zip(keep, active):
        if not a and k in data:
            limits[k] = data[k]
    kept = tuple(k for k, a in zip(keep, active) if a)
    inside = ~out[:, active].any(axis=1)
    n_in = int(inside.sum())
    return replace(
        box,
        limits=limits,
        restricted=kept,
        coverage=float((inside & y).sum() / max(y.sum(), 1)),
        density=float((inside & y).sum() / max(n_in, 1)),
        mass=float(n_in / len(y)),
        n_points=n_in,
    )
