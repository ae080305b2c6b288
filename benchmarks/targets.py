"""The speed targets of issue 18 ("Speed") in one place. Each benchmark
prints the targets it measures with :func:`report`, one line each:
what, the target, the figure measured, met or NOT met.

Which benchmark measures which target:

==============  ==========================  =====================================
target          benchmark                   figure
==============  ==========================  =====================================
model           bench_assess.py             model only, package-futures/s
explore         bench_explore.py            end to end, one process
store           bench_explore.py            bytes on disk per package-future
sampler         bench_sampling.py           the default sampler (lhs), 50 inputs
slider          bench_web.py                all requests of one slider move
compare_bytes   bench_web.py                the compare response, shipped packages
closed_loop     bench_serve_load.py         compare p99, 50 clients, no pause
cold_start      bench_cli.py                ``foedus --help``, median
==============  ==========================  =====================================
"""

from __future__ import annotations

#: key -> (what, comparison, target, unit, scale for printing)
TARGETS = {
    "model": ("the full assessment on one core", ">=", 10e6, "M package-futures/s", 1e6),
    "explore": ("foedus explore end to end, with storage", ">=", 5e6, "M package-futures/s", 1e6),
    "store": ("the default store", "<=", 60.0, "bytes per package-future", 1.0),
    "sampler": ("the default sampler, transforms included, 50 inputs", ">=", 5e6, "M futures/s", 1e6),
    "slider": ("one slider move, all its requests, 10,000 futures x 8 packages", "<", 100.0, "ms of server time", 1.0),
    "compare_bytes": ("the compare response for the shipped packages", "<", 150 * 1024, "KB", 1024.0),
    "closed_loop": ("compare p99 under 50 closed-loop clients", "<", 1000.0, "ms", 1.0),
    "cold_start": ("CLI cold start (foedus --help)", "<", 1.0, "s", 1.0),
}


def met(key: str, value: float) -> bool:
    """Whether ``value`` meets target ``key``."""
    _, op, target, _, _ = TARGETS[key]
    return {">=": value >= target, "<=": value <= target, "<": value < target}[op]


def report(key: str, value: float, note: str = "") -> bool:
    """Print one line: the target ``key``, ``value`` measured, met or NOT met."""
    what, op, target, unit, scale = TARGETS[key]
    ok = met(key, value)
    print(f"target (issue 18): {what} {op} {target / scale:,.4g} {unit}; measured {value / scale:,.4g} {unit}"
          f"{' (' + note + ')' if note else ''}: {'met' if ok else 'NOT met'}")
    return ok
