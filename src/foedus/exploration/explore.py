"""Exploration: every package in every future of a sampled design, streamed
in blocks through the sub-models into the run store, in one process or on a
Dask cluster.

Blocks are the unit of work everywhere: block ``b`` is regenerated from
(seed, sampler, block size, b) by :class:`~foedus.exploration.futures.Design`,
so a Dask worker receives only the run specification (once) and a block
number, computes inputs and results, and either returns them or writes
them into the run's directory itself and returns the block's robustness
(:func:`write_block`); results are therefore identical bit for bit
whatever the number of workers, and so is the robustness, added up in
block order (:class:`_InBlockOrder`). Memory is bounded by the number of
blocks in flight, not by the number of futures.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from foedus.domain.metrics import STORED_METRICS  # noqa: F401 (stored per package and future in a run)
from foedus.exploration.assess import evaluate
from foedus.exploration.futures import DEFAULT_BLOCK, Design
from foedus.exploration.levers_cache import compiled
from foedus.exploration.robustness import PERCENTILES, RobustnessAccumulator, Threshold, stacked_percentiles
from foedus.models.inputs import Inputs
from foedus.models.levers import Levers

if TYPE_CHECKING:  # pragma: no cover
    from foedus.storage.store import ChunkTarget


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
    #: yearly metrics stored besides (``attack_probability@2029``), and what
    #: the time axis needs to compute them (the packages and countries)
    yearly: tuple[str, ...] = ()
    packages: tuple = ()
    countries: object = None

    @property
    def n_blocks(self) -> int:
        return self.design.n_blocks(self.n)


#: Futures per model evaluation inside a block, about: small enough that
#: the temporaries stay in cache (this machine is slow to touch fresh
#: memory). A block is cut into ``round(m / INNER)`` equal chunks, not into
#: chunks of ``INNER`` and a remainder: the web app's 10,000 futures are
#: two evaluations of 5,000, not three (4,096, 4,096 and 1,808), 2 ms less
#: for eight packages. A future's figures do not depend on its chunk.
INNER = 4096


def chunks(m: int) -> list[tuple[int, int]]:
    """``(lo, hi)`` of each model evaluation of a block of ``m`` futures."""
    k = max(1, round(m / INNER))
    step = -(-m // k)
    return [(lo, min(lo + step, m)) for lo in range(0, m, step)]


@dataclass
class Scratch:
    """The two buffers a run's blocks are written into, one after the
    other, when they are evaluated in this process (:func:`_blocks`).

    Why: a block's inputs (65,536 futures x 70 inputs, 37 MB) and results
    (13 metrics x 12 packages x 65,536 futures, 82 MB) are larger than
    the largest array glibc takes from its heap (32 MiB, see
    :mod:`foedus.models.allocator`), so each fresh array is mapped from the
    system and every page of it faulted in and zeroed again, block after
    block: 1.9 s of a 1,000,000-future exploration of the twelve seed
    packages went to that."""

    inputs: np.ndarray
    results: np.ndarray

    @staticmethod
    def sizes(spec: RunSpec) -> tuple[int, int]:
        """Values of the two buffers the blocks of ``spec`` need."""
        m = min(spec.design.block, spec.n)
        return spec.design.d * m, len(spec.metrics) * spec.levers.n_packages * m

    @classmethod
    def for_spec(cls, spec: RunSpec) -> Scratch:
        inputs, results = cls.sizes(spec)
        return cls(np.empty(inputs), np.empty(results))


def evaluate_block(spec: RunSpec, b: int, scratch: Scratch | None = None) -> tuple[int, np.ndarray, np.ndarray]:
    """Inputs ``(m, d)`` and results ``(P, m, M)`` of block ``b``. Both are
    views of buffers laid out as the store and the robustness read them,
    one input's or one metric's values contiguous (``(d, m)``, ``(M, P,
    m)``): the model writes each metric once, contiguously, and nothing is
    transposed afterwards. With ``scratch`` the buffers are its own, and
    the next block evaluated with it overwrites them."""
    start, stop = spec.design.block_bounds(b, spec.n)
    vals = spec.design.block_values(b, spec.n, None if scratch is None else scratch.inputs)
    m = stop - start
    shape = (len(spec.metrics), spec.levers.n_packages, m)
    by_metric = np.empty(shape) if scratch is None else scratch.results[: np.prod(shape)].reshape(shape)
    cols = spec.design.as_dict(vals)
    for lo, hi in chunks(m):
        x = Inputs({**spec.values, **{name: v[lo:hi] for name, v in cols.items()}}, hi - lo)
        ev = evaluate(spec.levers, x, spec.horizon, weights=spec.weights)
        got = ev.packages
        if spec.yearly:
            from foedus.exploration.years import yearly_values

            got = {**got, **yearly_values(list(spec.packages), spec.countries, x, spec.horizon, Inputs(spec.values, 1), list(spec.yearly))}
        for j, name in enumerate(spec.metrics):
            by_metric[j, :, lo:hi] = got[name]
    return start, vals, by_metric.transpose(1, 2, 0)


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


def make_spec(packages, ps, countries, n: int, seed: int, sampler: str = "lhs", horizon: float | None = None, block: int = DEFAULT_BLOCK,
              time_axis: bool = False) -> RunSpec:
    """The run's specification; ``time_axis``: also sample the inputs only
    the time axis reads (for yearly metrics, :func:`with_yearly`)."""
    from foedus.exploration.assess import central_weights

    vals = ps.values()
    h = float(horizon if horizon is not None else vals["assessment.horizon_years"])
    design = Design.from_parameters(ps, sampler=sampler, seed=seed, block=block, time_axis=time_axis)
    lv = compiled(packages, countries)
    return RunSpec(lv, vals, design, int(n), h, central_weights(lv, Inputs(vals, 1)))


def _blocks(spec: RunSpec, scheduler: str | None, workers: int | None):
    """Yield ``(b, (start, inputs, results))`` for every block ``b``,
    locally (in block order) or on Dask (as workers finish them). Locally a
    block's arrays are overwritten by the next one's (:class:`Scratch`):
    what is kept must be copied before the next."""
    if scheduler is None and not workers:
        scratch = Scratch.for_spec(spec)
        for b in range(spec.n_blocks):
            yield b, evaluate_block(spec, b, scratch)
        return
    yield from _on_dask(spec, evaluate_block, (), scheduler, workers, "foedus-block")


def _on_dask(spec: RunSpec, task: Callable, args: tuple, scheduler: str | None, workers: int | None, prefix: str):
    """Yield ``(b, task(spec, b, *args))`` for every block ``b`` as Dask
    workers finish them, at most two blocks per worker in flight; the
    specification is sent to each worker once."""
    from dask.distributed import as_completed

    from foedus.exploration.cluster import dask_client

    with dask_client(scheduler, workers) as client:
        remote = client.scatter(spec, broadcast=True)
        window = max(2, 2 * len(client.scheduler_info().get("workers", {})) or 2)
        pending = iter(range(spec.n_blocks))
        ac = as_completed()
        block_of: dict[str, int] = {}  # task key -> block

        def submit(b: int) -> None:
            key = f"{prefix}-{b}-{id(spec)}"
            block_of[key] = b
            ac.add(client.submit(task, remote, b, *args, key=key, pure=False))

        for b in pending:
            submit(b)
            if ac.count() >= window:
                break
        for fut in ac:
            out = fut.result()
            fut.release()
            nxt = next(pending, None)
            if nxt is not None:
                submit(nxt)
            yield block_of.pop(fut.key), out


def _block_accumulator(spec: RunSpec, package_ids: Sequence[str], thresholds: Sequence[Threshold], res: np.ndarray) -> RobustnessAccumulator:
    """The robustness of one block's results ``(P, m, M)``."""
    acc = RobustnessAccumulator(list(package_ids), list(thresholds))
    acc.update({name: res[:, :, j] for j, name in enumerate(spec.metrics)})
    return acc


class _InBlockOrder:
    """A run's robustness, added up block by block in block order whatever
    order the blocks arrive in: each block's own accumulator is merged once
    every block before it has been. Counts are exact in any order; the
    regret sums are floating-point, so on one process and on a cluster
    they add the same blocks in the same order, and agree bit for bit.
    Holds the accumulators of blocks that arrived early (a few numbers
    each)."""

    def __init__(self, acc: RobustnessAccumulator) -> None:
        self.acc, self.next, self.early = acc, 0, {}

    def add(self, b: int, block: RobustnessAccumulator) -> None:
        self.early[b] = block
        while self.next in self.early:
            self.acc.merge(self.early.pop(self.next))
            self.next += 1


_worker = threading.local()


def _worker_scratch(spec: RunSpec) -> Scratch:
    """This thread's :class:`Scratch` for ``spec``'s blocks (a Dask worker
    that writes what it computes keeps one between blocks, for the reason
    Scratch gives)."""
    s, fresh = getattr(_worker, "scratch", None), Scratch.sizes(spec)
    if s is None or s.inputs.size < fresh[0] or s.results.size < fresh[1]:
        s = _worker.scratch = Scratch.for_spec(spec)
    return s


def write_block(spec: RunSpec, b: int, target: ChunkTarget, package_ids: Sequence[str], thresholds: Sequence[Threshold]):
    """Evaluate block ``b`` and write it where ``target`` says (a Dask
    worker that sees the run's directory); return ``(start, m, robustness
    of the block)``: all that travels back."""
    start, vals, res = evaluate_block(spec, b, _worker_scratch(spec))
    m = vals.shape[0]
    target.write(b, np.arange(start, start + m, dtype=np.int64), vals, res)
    return start, m, _block_accumulator(spec, package_ids, thresholds, res)


def run_exploration(
    spec: RunSpec,
    package_ids: Sequence[str],
    thresholds: Sequence[Threshold] = (),
    *,
    writer=None,
    keep: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    write_on_workers: bool | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExploreResult:
    """Evaluate all blocks; stream them to ``writer`` (a store RunWriter) and
    the robustness accumulator; keep everything in memory if ``keep``.

    On Dask (``scheduler`` or ``workers``), ``write_on_workers`` has each
    worker write the blocks it computes into the run's directory itself
    (it must see it at the same path: a local cluster, or a file system the
    machines share), so that only each block's robustness travels back;
    otherwise workers send their results here to be written. Default: on
    a local cluster (``workers``), off on a ``scheduler``."""
    t0 = time.perf_counter()
    distributed = scheduler is not None or bool(workers)
    if write_on_workers and not (distributed and writer is not None and not keep):
        raise ValueError("write_on_workers needs a Dask cluster (scheduler or workers) and a writer, and cannot keep the results in memory")
    if write_on_workers is None:
        write_on_workers = distributed and scheduler is None and writer is not None and not keep
    acc = RobustnessAccumulator(list(package_ids), list(thresholds))
    in_order = _InBlockOrder(acc)
    P, M, d = spec.levers.n_packages, len(spec.metrics), spec.design.d
    inputs = np.empty((spec.n, d)) if keep and spec.n_blocks != 1 else None
    kept = np.empty((M, P, spec.n)) if keep and spec.n_blocks != 1 else None  # metric by metric, as evaluate_block
    if write_on_workers:
        args = (writer.target(), list(package_ids), list(thresholds))
        # closing(): an exception here (Ctrl-C, SIGTERM) shuts a Dask cluster
        # down at once, not whenever the generator is collected
        with closing(_on_dask(spec, write_block, args, scheduler, workers, "foedus-block-written")) as done:
            for b, (start, m, block_acc) in done:
                writer.written(start, m)
                in_order.add(b, block_acc)
                if progress is not None:
                    progress(m)
    else:
        with closing(_blocks(spec, scheduler, workers)) as blocks:
            for b, (start, vals, res) in blocks:
                m = vals.shape[0]
                in_order.add(b, _block_accumulator(spec, package_ids, thresholds, res))
                if writer is not None:
                    writer.write_chunk(np.arange(start, start + m, dtype=np.int64), vals, res)
                if keep and m == spec.n:  # one block: its buffers are the run's (no copy)
                    inputs, kept = vals, res.transpose(2, 0, 1)
                elif keep:
                    inputs[start : start + m] = vals
                    kept[:, :, start : start + m] = res.transpose(2, 0, 1)
                if progress is not None:
                    progress(m)
    if in_order.next != spec.n_blocks:
        raise RuntimeError(f"blocks {sorted(in_order.early)} arrived, but not block {in_order.next}")
    metrics = {name: kept[j] for j, name in enumerate(spec.metrics)} if keep else None
    pct = stacked_percentiles(kept.reshape(M * P, spec.n), list(spec.metrics), list(package_ids)) if keep else None
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


def with_metrics(spec: RunSpec, names: Sequence[str]) -> RunSpec:
    """The run restricted to the stored metrics ``names`` (kept in the order
    of STORED_METRICS): blocks then carry, and the store keeps, only these."""
    unknown = [n for n in names if n not in STORED_METRICS]
    if unknown:
        raise ValueError(f"not stored metrics: {', '.join(unknown)}")
    return replace(spec, metrics=tuple(m for m in STORED_METRICS if m in set(names)) + spec.yearly)


def with_yearly(spec: RunSpec, names: Sequence[str], packages, countries) -> RunSpec:
    """The run also storing the yearly metrics ``names``
    (``<metric>@<year>``, checked against the time axis), after the others."""
    from foedus.exploration.years import check_yearly

    start = int(spec.values["assessment.start_year"])
    yearly = tuple(dict.fromkeys(names))
    for name in yearly:
        check_yearly(name, start, spec.horizon)
    base = tuple(m for m in spec.metrics if m not in spec.yearly)
    return replace(spec, metrics=base + yearly, yearly=yearly, packages=tuple(packages), countries=countries)


#: Bytes of each metric column in the sample whose files are written in
#: memory to measure the bytes per value of a run before it starts: one
#: Parquet data page (1 MB), as in the run's own files, i.e. 2**18
#: package-futures at float32, 2**17 at float64. Smaller samples compress
#: differently: at float64, 4,096 futures of the eleven seed packages
#: underestimated a 100,000-future run by 2.7%, 8,192 were within 0.1%; at
#: float32, half a page (2**17 values) underestimated it by 1.6%, a page
#: was within 0.2%. About 0.4 s.
SIZE_SAMPLE_BYTES = 1 << 20
#: ... and at least this many futures, whatever the number of packages.
SIZE_SAMPLE_FUTURES = 8192
#: Safe ceilings per value for :func:`stored_size_bound`: a float of the
#: run's precision that does not compress at all (its own bytes), plus this
#: much codec and page overhead, and the two key columns of a result row
#: (int16 + int64) uncompressed; bytes per file for footers.
_BOUND_OVERHEAD_PER_VALUE = 1.0
_BOUND_KEYS = 12.0
_BOUND_PER_FILE = 65536


def stored_size_bound(spec: RunSpec, precision: str | None = None) -> int:
    """An upper bound of the bytes a run's files take, without sampling."""
    from foedus.storage.store import DEFAULT_PRECISION

    per_value = np.dtype(precision or DEFAULT_PRECISION).itemsize + _BOUND_OVERHEAD_PER_VALUE
    P, M, d = spec.levers.n_packages, len(spec.metrics), spec.design.d
    return round(spec.n * ((d + 1) * per_value + P * (_BOUND_KEYS + M * per_value))
                 + 2 * spec.n_blocks * _BOUND_PER_FILE)


def stored_size(spec: RunSpec, compression: str | None = None, precision: str | None = None):
    """Estimated bytes of a run's files, and the measured
    :class:`~foedus.storage.store.FileCost` behind it: the first
    futures of the same design (see SIZE_SAMPLE_BYTES) are evaluated and written as the
    store writes them (in memory); their bytes per value times futures x
    packages x metrics (and futures x inputs) give the estimate."""
    from foedus.storage.store import DEFAULT_COMPRESSION, DEFAULT_PRECISION, measure_file_cost

    precision = precision or DEFAULT_PRECISION
    values = SIZE_SAMPLE_BYTES // np.dtype(precision).itemsize
    m = min(spec.n, max(SIZE_SAMPLE_FUTURES, -(-values // spec.levers.n_packages)))
    sample = replace(spec, n=m, design=replace(spec.design, block=m))
    start, vals, res = evaluate_block(sample, 0)
    cost = measure_file_cost(
        list(spec.design.names), list(spec.metrics), np.arange(start, start + m, dtype=np.int64), vals, res,
        compression or DEFAULT_COMPRESSION, precision,
    )
    return cost.estimate(spec.n, spec.levers.n_packages, spec.n_blocks), cost


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
