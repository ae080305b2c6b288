"""Futures: samples of the uncertain parameters.

Designs: Latin hypercube (the default; compiled, ``futures_kernel``),
scrambled Sobol' (``scipy.stats.qmc``) and plain Monte Carlo. Futures are
generated in fixed-size *blocks*; block ``b`` is drawn from
``SeedSequence(seed, spawn_key=(b,))`` (LHS, MC) or by fast-forwarding one
scrambled Sobol' sequence to ``b * block``. So future
``i`` depends only on (seed, sampler, block size, i): any chunking, worker
count or order of evaluation reproduces the same bits. (A Latin hypercube is
stratified within each block, not across the whole run: the price of
streaming runs larger than memory.)

Marginals: uniform, log-uniform, or triangular with its mode at the
parameter's central value, all by inverse CDF from the unit design
(``futures_kernel``). Blocks come out as ``(m, d)`` views of
``(d, m)`` arrays, so that each input's column is contiguous.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np

SAMPLERS = ("lhs", "sobol", "mc")
#: The marginals, in the order of their codes in ``futures_kernel``.
DISTRIBUTIONS = ("uniform", "loguniform", "triangular")
DEFAULT_BLOCK = 65536
#: How words and marginals are made (``futures_kernel``): 2, SplitMix64 words
#: and the vectorised ``exp`` (new runs); 1, NumPy's PCG64 words and libm's
#: ``exp`` (runs stored before 2, rebuilt bit for bit from their record).
SCHEMES = (1, 2)
SCHEME = 2


@dataclass(frozen=True)
class Design:
    """Everything needed to regenerate any future of a run."""

    names: tuple[str, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    distributions: tuple[str, ...]
    modes: tuple[float, ...]
    sampler: str = "lhs"
    seed: int = 0
    block: int = DEFAULT_BLOCK
    scheme: int = SCHEME

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(map(str, SCHEMES))}, got {self.scheme!r}")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got '{self.sampler}'")
        if self.block < 1:
            raise ValueError("block size must be >= 1")
        if self.seed < 0:
            raise ValueError("seed must be >= 0")
        unknown = sorted(set(self.distributions) - set(DISTRIBUTIONS))
        if unknown:
            raise ValueError(f"distribution must be one of {', '.join(DISTRIBUTIONS)}, got {', '.join(unknown)}")

    @classmethod
    def from_parameters(cls, ps, *, sampler: str = "lhs", seed: int = 0, block: int = DEFAULT_BLOCK, time_axis: bool = False) -> "Design":
        """Every uncertain parameter, less those only the time axis reads
        unless ``time_axis`` (yearly results are asked for)."""
        from foedus.models.timeline import time_axis_only

        unc = ps.uncertain()
        vals = ps.values()
        names = tuple(n for n in unc if time_axis or not time_axis_only(n))
        return cls(
            names=names,
            low=tuple(float(unc[n].low) for n in names),
            high=tuple(float(unc[n].high) for n in names),
            distributions=tuple(unc[n].distribution for n in names),
            modes=tuple(float(min(max(vals.get(n, unc[n].low), unc[n].low), unc[n].high)) for n in names),
            sampler=sampler,
            seed=int(seed),
            block=int(block),
        )

    @property
    def d(self) -> int:
        return len(self.names)

    def n_blocks(self, n: int) -> int:
        return -(-n // self.block)

    def block_bounds(self, b: int, n: int) -> tuple[int, int]:
        start = b * self.block
        return start, min(start + self.block, n)

    def _marginal_arrays(self, identity: bool = False) -> tuple[np.ndarray, ...]:
        """Codes, lows, highs and modes of the marginals, as the kernels take
        them; ``identity`` maps every input to its unit point."""
        d = self.d
        if identity:
            return np.zeros(d, np.int64), np.zeros(d), np.ones(d), np.zeros(d)
        kinds = np.array([DISTRIBUTIONS.index(x) for x in self.distributions], np.int64)
        return kinds, np.asarray(self.low, float), np.asarray(self.high, float), np.asarray(self.modes, float)

    def _block(self, b: int, n: int, identity: bool, scratch: np.ndarray | None = None) -> np.ndarray:
        """Block ``b`` as ``(m, d)`` (a transposed view of ``(d, m)``: each
        input's column contiguous, as the model reads it), written into the
        flat float64 buffer ``scratch`` when given (:meth:`block_values`)."""
        from foedus.exploration import futures_kernel as fk

        start, stop = self.block_bounds(b, n)
        m = max(stop - start, 0)
        if m == 0 or self.d == 0:
            return np.empty((m, self.d))
        marg = self._marginal_arrays(identity)
        if scratch is not None and scratch.size < self.d * m:
            raise ValueError(f"scratch holds {scratch.size} values, block {b} needs {self.d * m}")
        # NumPy's, not the kernel's (futures_kernel.marginals)
        out = np.empty((self.d, m)) if scratch is None else scratch[: self.d * m].reshape(self.d, m)
        if self.sampler == "sobol":
            from scipy.stats import qmc

            eng = qmc.Sobol(self.d, scramble=True, seed=np.random.default_rng(np.random.SeedSequence(self.seed)))
            if start:
                eng.fast_forward(start)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # balance warning for non powers of 2
                u = eng.random(m)
            return fk.marginals(u, *marg, out, self.scheme).T
        seeds = np.random.SeedSequence(self.seed, spawn_key=(b,))
        if self.sampler == "lhs":
            if self.scheme == 1:  # the words given, NumPy's PCG64 stream
                key, raw = np.uint64(0), np.random.default_rng(seeds).bit_generator.random_raw(self.d * m).reshape(self.d, m)
            else:  # the kernel makes the words from the block's key
                key, raw = seeds.generate_state(1, np.uint64)[0], np.empty((0, m), np.uint64)
            return fk.latin_hypercube(key, raw, *marg, out, self.scheme).T
        u = np.random.default_rng(seeds).random((m, self.d))  # future by future: a partial block is a prefix of a full one
        return fk.marginals(u, *marg, out, self.scheme).T

    def unit_block(self, b: int, n: int) -> np.ndarray:
        """Unit-hypercube points of block ``b`` of an ``n``-future run, ``(m, d)``."""
        return self._block(b, n, identity=True)

    def to_values(self, u: np.ndarray) -> np.ndarray:
        """Map unit points ``(m, d)`` to parameter values by inverse CDF, ``(m, d)``."""
        from foedus.exploration.futures_kernel import marginals

        u = np.asarray(u, dtype=np.float64)
        if u.ndim != 2 or u.shape[1] != self.d:
            raise ValueError(f"unit points must be (m, {self.d}), got {u.shape}")
        return marginals(np.ascontiguousarray(u), *self._marginal_arrays(), np.empty((self.d, u.shape[0])), self.scheme).T

    def block_values(self, b: int, n: int, scratch: np.ndarray | None = None) -> np.ndarray:
        """Parameter values of block ``b`` of an ``n``-future run, ``(m, d)``:
        ``to_values(unit_block(b, n))`` bit for bit, in one pass (or, within
        :func:`keeping_blocks`, the same bits kept from an earlier call,
        read-only).

        ``scratch``: a flat float64 buffer of at least ``d * m`` values to
        write the block into (a view of it is returned), so that a run's
        blocks reuse one buffer (:class:`foedus.exploration.explore.Scratch`);
        ignored within :func:`keeping_blocks`, whose blocks are kept."""
        if scratch is not None and (scratch.dtype != np.float64 or scratch.ndim != 1):
            raise ValueError(f"scratch must be a flat float64 buffer, got {scratch.dtype} of shape {scratch.shape}")
        kept = _keeper.get()
        if kept is None:
            return self._block(b, n, identity=False, scratch=scratch)
        return kept.get((self, int(b), int(n)), lambda: self._block(b, n, identity=False))

    def as_dict(self, values: np.ndarray) -> dict[str, np.ndarray]:
        return {name: values[:, j] for j, name in enumerate(self.names)}

    def sample(self, n: int) -> np.ndarray:
        """All ``n`` futures at once (small runs, tests), ``(n, d)``."""
        return np.concatenate([self.block_values(b, n) for b in range(self.n_blocks(n))]) if n else np.empty((0, self.d))

    @classmethod
    def from_json(cls, record: dict) -> "Design":
        """The design of :meth:`to_json`'s record (as a run stores it); a
        record without a scheme was made by scheme 1."""
        return cls(**{"scheme": 1, **{k: tuple(v) if isinstance(v, list) else v for k, v in record.items()}})

    def to_json(self) -> dict:
        return {
            "names": list(self.names), "low": list(self.low), "high": list(self.high),
            "distributions": list(self.distributions), "modes": list(self.modes),
            "sampler": self.sampler, "seed": self.seed, "block": self.block, "scheme": self.scheme,
        }


class KeptBlocks:
    """The last blocks of futures drawn, handed out again while
    :func:`keeping_blocks` is in force: a block depends on its design,
    number and run length alone, so it is the same bits. What the web app
    keeps per workspace: after a slider move that leaves the design as it
    was (a lever, or an assumption that is fixed, not sampled) it explores
    the same futures and asks the same ranges (10,000 futures x 70 inputs
    took 1.8 ms to draw again). At most ``blocks`` blocks of at most
    ``max_bytes`` each; kept blocks are read-only."""

    def __init__(self, blocks: int = 6, max_bytes: int = 16 * 1024 * 1024):
        self.blocks, self.max_bytes = blocks, max_bytes
        self._kept: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, draw: Callable[[], np.ndarray]) -> np.ndarray:
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
                return kept
        values = draw()
        if values.nbytes <= self.max_bytes:
            values.flags.writeable = False
            with self._lock:
                self._kept[key] = values
                while len(self._kept) > self.blocks:
                    self._kept.popitem(last=False)
        return values


_keeper: ContextVar[KeptBlocks | None] = ContextVar("foedus_kept_blocks", default=None)


@contextmanager
def keeping_blocks(kept: KeptBlocks) -> Iterator[None]:
    """Within this ``with`` statement (this thread or task only), :meth:`Design.block_values`
    hands out the blocks ``kept`` holds and keeps those it draws."""
    token = _keeper.set(kept)
    try:
        yield
    finally:
        _keeper.reset(token)
