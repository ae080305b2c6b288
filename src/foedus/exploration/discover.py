"""Scenario discovery: the boxes of uncertain inputs in which a package fails
(misses at least one threshold), found with PRIM (:mod:`foedus.exploration.prim`)
on an exploration held in memory or stored in the run store."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from foedus.exploration.prim import PrimResult, find_box
from foedus.exploration.robustness import Threshold


def failures(metrics: dict[str, np.ndarray], thresholds: Sequence[Threshold]) -> np.ndarray:
    """Boolean ``(n,)``: futures where at least one threshold is missed."""
    if not thresholds:
        raise ValueError("scenario discovery needs at least one threshold (e.g. attack_probability<=0.1)")
    ok = np.ones(next(iter(metrics.values())).shape, dtype=bool)
    for t in thresholds:
        ok &= t.met(metrics[t.metric])
    return ~ok


def failure_box(res, package_id: str, thresholds: Sequence[Threshold] | None = None, *, density: float = 0.8) -> PrimResult:
    """PRIM box of an in-memory :class:`~foedus.exploration.explore.ExploreResult`."""
    if package_id not in res.package_ids:
        raise KeyError(f"no package '{package_id}' in this exploration ({', '.join(res.package_ids)})")
    i = res.package_ids.index(package_id)
    th = list(thresholds) if thresholds is not None else res.thresholds
    y = failures({m: a[i] for m, a in res.metrics.items()}, th)
    return find_box(res.inputs, y, res.input_names, threshold=density)


def stored_failure_box(store, run_id: str, package_id: str, thresholds: Sequence[Threshold], *, density: float = 0.8) -> tuple[PrimResult | None, int, int]:
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
    return find_box(X, y, names, threshold=density), n_fail, len(y)
