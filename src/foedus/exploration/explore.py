"""Exploration: every package in every future of a sampled design, streamed
in blocks through the sub-models into the run store, in one process or on a
Dask cluster.

Blocks are the unit of work everywhere: block ``b`` is regenerated from
(seed, sampler, block size, b) by :class:`~foedus.exploration.futures.Design`,
so a Dask worker receives only the run specification (once) and a block
number, computes inputs and results, and returns arrays; results are
therefore identical bit for bit whatever the number of workers. Memory is
bounded by the number of blocks in flight, not by the number of futures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from foedus.exploration.assess import CONTRACT_METRICS, evaluate
from foedus.exploration.futures import DEFAULT_BLOCK, Design
from foedus.exploration.robustness import PERCENTILES, RobustnessAccumulator, Threshold, percentiles
from foedus.models.inputs import Inputs
from foedus.models.levers import Levers

#: Metrics stored per (package, future) in a run.
STORED_METRICS = CONTRACT_METRICS + (
    "max_cost_pct_gdp",
    "expected_casualties",
    "troops_required_pool",
    "guarantors_short",
    "air_defence_coverage",
    "annual_attack_probability",
)


@dataclass
class RunSpec:
    """What a worker needs to evaluate any block of a run (picklable)."""

    levers: Levers
    values: dict[str, float]
    design: Design
    n: int
    horizon: float
    weights: np.ndarray
    metrics: tuple[str, ...] = STORED_METRICS

    @property
    def n_blocks(self) -> int:
        return self.design.n_blocks(self.n)


#: Futures per model evaluation inside a block: small enough that the
#: temporaries stay in cache (this machine is slow to touch fresh memory).
INNER = 4096

#: Every sub-chunk handed to the models is padded (by repeating its last
#: future) to a multiple of PAD futures. BLAS (OpenBLAS) computes the
#: remainder rows/columns of a matrix product with other kernels, whose
#: rounding differs in the last bit; without padding a future's results
#: would depend on where INNER and the block size cut the run.
PAD = 64


def evaluate_block(spec: RunSpec, b: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Inputs ``(m, d)`` and results ``(P, m, M)`` of block ``b``."""
    start, stop = spec.design.block_bounds(b, spec.n)
    vals = spec.design.block_values(b, spec.n)
    m = stop - start
    res = np.empty((spec.levers.n_packages, m, len(spec.metrics)))
    cols = spec.design.as_dict(vals)
    for lo in range(0, m, INNER):
        hi = min(lo + INNER, m)
        k = -(-(hi - lo) // PAD) * PAD
        rows = slice(lo, hi) if k == hi - lo else np.minimum(np.arange(lo, lo + k), hi - 1)
        x = Inputs({**spec.values, **{name: v[rows] for name, v in cols.items()}}, k)
        ev = evaluate(spec.levers, x, spec.horizon, weights=spec.weights)
        for j, name in enumerate(spec.metrics):
            res[:, lo:hi, j] = ev.packages[name][:, : hi - lo]
    return start, vals, res


@dataclass
class ExploreResult:
    package_ids: list[str]
    input_names: list[str]
    n: int
    thresholds: list[Threshold]
    robustness: list[dict]
    design: Design
    run_id: str | None = None
    seconds: float = 0.0
    inputs: np.ndarray | None = None  # (n, d) when kept in memory
    metrics: dict[str, np.ndarray] | None = None  # name -> (P, n) when kept
    extra: dict = field(default_factory=dict)


_COMPILED: dict = {}


def compiled(packages, countries) -> Levers:
    """Compile packages, reusing the result for the same packages (the web
    app re-explores the same packages with other assumptions)."""
    from foedus.models.levers import compile_packages

    key = (id(countries), tuple(p.model_dump_json() for p in packages))
    lv = _COMPILED.get(key)
    if lv is None:
        if len(_COMPILED) >= 64:
            _COMPILED.pop(next(iter(_COMPILED)))
        lv = _COMPILED[key] = compile_packages(packages, countries)
    return lv


def make_spec(packages, ps, countries, n: int, seed: int, sampler: str = "lhs", horizon: float | None = None, block: int = DEFAULT_BLOCK) -> RunSpec:
    from foedus.exploration.assess import central_weights

    vals = ps.values()
    h = float(horizon if horizon is not None else vals["assessment.horizon_years"])
    design = Design.from_parameters(ps, sampler=sampler, seed=seed, block=block)
    lv = compiled(packages, countries)
    return RunSpec(lv, vals, design, int(n), h, central_weights(lv, Inputs(vals, 1)))


def _blocks(spec: RunSpec, scheduler: str | None, workers: int | None):
    """Yield ``(start, inputs, results)`` for every block, locally or on Dask."""
    if scheduler is None and not workers:
        for b in range(spec.n_blocks):
            yield evaluate_block(spec, b)
        return
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler, timeout="20s")
    else:
        cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        remote = client.scatter(spec, broadcast=True)
        window = max(2, 2 * len(client.scheduler_info().get("workers", {})) or 2)
        pending = iter(range(spec.n_blocks))
        ac = as_completed()
        for b in pending:
            ac.add(client.submit(evaluate_block, remote, b, key=f"foedus-block-{b}-{id(spec)}", pure=False))
            if ac.count() >= window:
                break
        for fut in ac:
            out = fut.result()
            fut.release()
            nxt = next(pending, None)
            if nxt is not None:
                ac.add(client.submit(evaluate_block, remote, nxt, key=f"foedus-block-{nxt}-{id(spec)}", pure=False))
            yield out
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_exploration(
    spec: RunSpec,
    package_ids: Sequence[str],
    thresholds: Sequence[Threshold] = (),
    *,
    writer=None,
    keep: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExploreResult:
    """Evaluate all blocks; stream them to ``writer`` (a store RunWriter) and
    the robustness accumulator; keep everything in memory if ``keep``."""
    t0 = time.perf_counter()
    acc = RobustnessAccumulator(list(package_ids), list(thresholds))
    P, M, d = spec.levers.n_packages, len(spec.metrics), spec.design.d
    inputs = np.empty((spec.n, d)) if keep else None
    kept = np.empty((P, spec.n, M)) if keep else None
    for start, vals, res in _blocks(spec, scheduler, workers):
        m = vals.shape[0]
        block = {name: res[:, :, j] for j, name in enumerate(spec.metrics)}
        acc.update(block)
        if writer is not None:
            writer.write_chunk(np.arange(start, start + m, dtype=np.int64), vals, res)
        if keep:
            inputs[start : start + m] = vals
            kept[:, start : start + m] = res
        if progress is not None:
            progress(m)
    metrics = {name: kept[:, :, j] for j, name in enumerate(spec.metrics)} if keep else None
    pct = percentiles(metrics, list(package_ids)) if keep else None
    return ExploreResult(
        package_ids=list(package_ids),
        input_names=list(spec.design.names),
        n=spec.n,
        thresholds=list(thresholds),
        robustness=acc.records(pct),
        design=spec.design,
        seconds=time.perf_counter() - t0,
        inputs=inputs,
        metrics=metrics,
    )


def explore_memory(packages, ps, countries, n_futures: int, seed: int, sampler: str = "lhs", horizon: float | None = None, thresholds: Sequence[Threshold] | None = None, block: int = DEFAULT_BLOCK) -> ExploreResult:
    """A small exploration held in memory (web app, notebooks, tests)."""
    from foedus.exploration.robustness import DEFAULT_THRESHOLDS, parse_threshold

    if thresholds is None:
        thresholds = [parse_threshold(t) for t in DEFAULT_THRESHOLDS]
    spec = make_spec(packages, ps, countries, n_futures, seed, sampler, horizon, block)
    return run_exploration(spec, [p.id for p in packages], thresholds, keep=True)


def store_percentiles(store, run_id: str, metrics: Sequence[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Percentiles per package of stored metrics, computed by DuckDB."""
    qs = [p / 100 for p in PERCENTILES]
    return store.quantiles(run_id, list(metrics), qs)
