"""Parameter values as arrays over futures.

:class:`Inputs` maps each parameter name to a NumPy array of shape ``(n,)``
(uncertain, sampled) or ``(1,)`` (fixed), so sub-models broadcast without
caring which is which. A single deterministic run at the central values is
simply ``n = 1``. Per-guarantor parameters (``will.<ISO3>``,
``approval.nato_consent.<ISO3>``) fall back to their ``.default`` entry.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class Inputs(Mapping):
    """Read-only mapping ``name -> array`` plus the number of futures."""

    def __init__(self, values: Mapping[str, np.ndarray | float], n: int):
        self.n = int(n)
        self._v: dict[str, np.ndarray] = {}
        for k, v in values.items():
            a = np.asarray(v, dtype=np.float64).reshape(-1)
            if a.size not in (1, self.n):
                raise ValueError(f"parameter {k}: expected 1 or {self.n} values, got {a.size}")
            self._v[k] = a

    def __getitem__(self, key: str) -> np.ndarray:
        try:
            return self._v[key]
        except KeyError:
            raise KeyError(f"no parameter named '{key}'") from None

    def __contains__(self, key: object) -> bool:  # Mapping's default goes through a KeyError
        return key in self._v

    def __iter__(self):
        return iter(self._v)

    def __len__(self) -> int:
        return len(self._v)

    def per_guarantor(self, prefix: str, iso3: list[str]) -> np.ndarray:
        """Stack ``prefix.<ISO3>`` (or ``prefix.default``) into ``(G, n|1)``."""
        rows = [self._v.get(f"{prefix}.{g}", self._v.get(f"{prefix}.default")) for g in iso3]
        if any(r is None for r in rows):
            raise KeyError(f"no parameter {prefix}.default to fall back on")
        return stack_rows(rows) if rows else np.zeros((0, 1))

    def table(self, prefix: str, keys: list[str]) -> np.ndarray:
        """Stack ``prefix.<key>`` for each key into ``(len(keys), n|1)``."""
        return stack_rows([self[f"{prefix}.{k}"] for k in keys])


def stack_rows(rows: list) -> np.ndarray:
    """Rows of ``n`` or 1 values (arrays or numbers) stacked into a new
    float64 ``(len(rows), n|1)``, a row of 1 value repeated across futures
    when another has ``n`` (filled row by row: ``np.stack`` of broadcast
    views cost three times as long per call, and the model stacks rows
    dozens of times per chunk)."""
    rows = [np.asarray(r, dtype=np.float64).reshape(-1) for r in rows]
    out = np.empty((len(rows), max(r.size for r in rows)))
    for i, r in enumerate(rows):
        out[i] = r
    return out


def widen(a, n: int) -> np.ndarray:
    """``a`` ``(..., n|1)`` as a C-contiguous float64 ``(..., n)`` array: a
    value fixed across futures repeated for each, as the compiled loops read
    it."""
    a = np.asarray(a, dtype=np.float64)
    if a.shape[-1:] == (n,) and a.flags.c_contiguous:
        return a
    return np.ascontiguousarray(np.broadcast_to(a, a.shape[:-1] + (n,)))
