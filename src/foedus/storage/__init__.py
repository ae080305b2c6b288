"""Persistent storage of explorations ("runs").

``foedus.storage.store`` owns the run store: one embedded DuckDB file
(default ``foedus-runs.duckdb`` in the working directory) holding every run's
metadata, its sampled futures and the metrics of every package in every
future. A run becomes visible only when it is complete; a crash mid-run
leaves nothing visible and damages no earlier run. See the module docstring
of :mod:`foedus.storage.store` for the design and the schema.

Importing this package does no work: DuckDB, NumPy, pyarrow and pandas are
imported inside the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["DEFAULT_PATH", "RunNotFoundError", "RunStore", "RunWriter", "StoreError"]

if TYPE_CHECKING:  # pragma: no cover
    from foedus.storage.store import DEFAULT_PATH, RunNotFoundError, RunStore, RunWriter, StoreError


def __getattr__(name: str) -> Any:
    if name in __all__:
        from foedus.storage import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
