"""Futures: samples of the uncertain parameters.

Designs: Latin hypercube and scrambled Sobol' (``scipy.stats.qmc``) and plain
Monte Carlo. Futures are generated in fixed-size *blocks*; block ``b`` is
drawn from ``SeedSequence(seed, spawn_key=(b,))`` (LHS, MC) or by
fast-forwarding one scrambled Sobol' sequence to ``b * block``. So future
``i`` depends only on (seed, sampler, block size, i): any chunking, worker
count or order of evaluation reproduces the same bits. (A Latin hypercube is
stratified within each block, not across the whole run: the price of
streaming runs larger than memory.)

Marginals: uniform, log-uniform, or triangular with its mode at the
parameter's central value, all by inverse CDF from the unit design.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

SAMPLERS = ("lhs", "sobol", "mc")
DEFAULT_BLOCK = 65536


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

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got '{self.sampler}'")
        if self.block < 1:
            raise ValueError("block size must be >= 1")
        if self.seed < 0:
            raise ValueError("seed must be >= 0")

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

    def unit_block(self, b: int, n: int) -> np.ndarray:
        """Unit-hypercube points of block ``b`` of an ``n``-future run, ``(m, d)``."""
        start, stop = self.block_bounds(b, n)
        m = stop - start
        if m <= 0:
            return np.empty((0, self.d))
        if self.d == 0:
            return np.empty((m, 0))
        if self.sampler == "sobol":
            from scipy.stats import qmc

            eng = qmc.Sobol(self.d, scramble=True, seed=np.random.default_rng(np.random.SeedSequence(self.seed)))
            if start:
                eng.fast_forward(start)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # balance warning for non powers of 2
                return eng.random(m)
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(b,)))
        if self.sampler == "lhs":
            from scipy.stats import qmc

            return qmc.LatinHypercube(self.d, seed=rng).random(m)
        return rng.random((m, self.d))

    def to_values(self, u: np.ndarray) -> np.ndarray:
        """Map unit points to parameter values by inverse CDF, ``(m, d)``."""
        lo = np.asarray(self.low)
        hi = np.asarray(self.high)
        out = lo + u * (hi - lo)
        dist = np.asarray(self.distributions)
        log = dist == "loguniform"
        if log.any():
            llo, lhi = np.log(lo[log]), np.log(hi[log])
            out[:, log] = np.exp(llo + u[:, log] * (lhi - llo))
        tri = dist == "triangular"
        if tri.any():
            a, b = lo[tri], hi[tri]
            c = (np.asarray(self.modes)[tri] - a) / (b - a)
            ut = u[:, tri]
            left = a + np.sqrt(ut * c * 1.0) * (b - a)
            right = b - np.sqrt((1 - ut) * (1 - c)) * (b - a)
            out[:, tri] = np.where(ut < c, left, right)
        return out

    def block_values(self, b: int, n: int) -> np.ndarray:
        return self.to_values(self.unit_block(b, n))

    def as_dict(self, values: np.ndarray) -> dict[str, np.ndarray]:
        return {name: values[:, j] for j, name in enumerate(self.names)}

    def sample(self, n: int) -> np.ndarray:
        """All ``n`` futures at once (small runs, tests), ``(n, d)``."""
        return np.concatenate([self.block_values(b, n) for b in range(self.n_blocks(n))]) if n else np.empty((0, self.d))

    def to_json(self) -> dict:
        return {
            "names": list(self.names), "low": list(self.low), "high": list(self.high),
            "distributions": list(self.distributions), "modes": list(self.modes),
            "sampler": self.sampler, "seed": self.seed, "block": self.block,
        }
