"""Robustness across futures: satisficing against user thresholds, regret
against the best package in each future, and percentiles.

Accumulators work chunk by chunk (``update``), so a run of any length needs
memory for one chunk only; percentiles of long runs come from the store.

- satisficing share: futures in which a package meets *every* threshold
  (Simon's satisficing; the "domain criterion" of Lempert et al. 2006,
  doi:10.1287/mnsc.1050.0472), and the share per threshold;
- regret (Savage 1951): for each threshold metric, the distance to the best
  package in the same future; mean and maximum (minimax regret).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from foedus.domain.errors import InputError, Problem

_RE = re.compile(r"^\s*([^<>=]+?)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*(%?)\s*$")

#: Defaults when the user gives none: renewed war no likelier than 10% over
#: the horizon, no guarantor paying more than 1% of its GDP a year, and at
#: least a one-in-four chance that the package is approved and stays in force.
#: They are a starting point for discussion, not a recommendation.
DEFAULT_THRESHOLDS = ("attack_probability<=0.1", "max_cost_pct_gdp<=0.01", "approval_probability>=0.25")


@dataclass(frozen=True)
class Threshold:
    metric: str
    op: str
    value: float

    def met(self, v: np.ndarray) -> np.ndarray:
        if self.op == "<=":
            return v <= self.value
        if self.op == "<":
            return v < self.value
        if self.op == ">=":
            return v >= self.value
        return v > self.value

    @property
    def lower_is_better(self) -> bool:
        return self.op in ("<=", "<")

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"


def parse_threshold(text: str, metrics=None, source: str = "--threshold") -> Threshold:
    """Parse ``attack_probability<=0.1`` (``10%`` is accepted and means 0.1).
    The metric may be named by its key or by the label people see ("Attack
    within horizon<=10%"). Suggestions for an unknown name come from the
    keys and labels of ``metrics`` (those a run stores, by default all)."""
    from foedus.domain.metrics import PACKAGE_METRICS, find, metric

    m = _RE.match(text)
    if not m:
        raise InputError(source, [Problem(text, "METRIC<=VALUE or METRIC>=VALUE, e.g. attack_probability<=0.1")])
    name, op, value, pct = m.groups()
    usable = tuple(metrics) if metrics is not None else PACKAGE_METRICS
    key = find(name, usable)
    if key is None:
        import difflib

        words = {k: k for k in usable} | {metric(k).label.lower(): k for k in usable}
        near = list(dict.fromkeys(words[w] for w in difflib.get_close_matches(name.strip().lower(), list(words), n=3, cutoff=0.5)))
        known = find(name, PACKAGE_METRICS)
        why = f"; '{metric(known).label}' ({known}) is not kept by explorations" if known else ""
        hint = f"; did you mean {', '.join(f'{k} ({metric(k).label})' for k in near)}?" if near else f" ({', '.join(usable)})"
        raise InputError(source, [Problem(name.strip(), "a package metric, by key or label" + why + hint)])
    name = key
    try:
        v = float(value)
    except ValueError:
        raise InputError(source, [Problem(name, f"a number, got '{value}'")]) from None
    return Threshold(name, op, v / 100 if pct else v)


@dataclass
class RobustnessAccumulator:
    """Streaming satisficing and regret over chunks of ``(P, m)`` metrics."""

    package_ids: list[str]
    thresholds: list[Threshold]
    n: int = 0
    meets_all: np.ndarray = field(init=False)
    meets: np.ndarray = field(init=False)
    regret_sum: np.ndarray = field(init=False)
    regret_max: np.ndarray = field(init=False)
    best_count: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        P, T = len(self.package_ids), len(self.thresholds)
        self.meets_all = np.zeros(P, dtype=np.int64)
        self.meets = np.zeros((P, T), dtype=np.int64)
        self.regret_sum = np.zeros((P, T))
        self.regret_max = np.zeros((P, T))
        self.best_count = np.zeros((P, T), dtype=np.int64)

    def update(self, metrics: dict[str, np.ndarray]) -> None:
        ok_all = None
        for j, t in enumerate(self.thresholds):
            v = metrics[t.metric]
            ok = t.met(v)
            self.meets[:, j] += ok.sum(axis=1)
            ok_all = ok if ok_all is None else ok_all & ok
            best = v.min(axis=0) if t.lower_is_better else v.max(axis=0)
            reg = np.abs(v - best[None, :])
            self.regret_sum[:, j] += reg.sum(axis=1)
            self.regret_max[:, j] = np.maximum(self.regret_max[:, j], reg.max(axis=1, initial=0.0))
            self.best_count[:, j] += (reg == 0).sum(axis=1)
        if ok_all is not None:
            self.meets_all += ok_all.sum(axis=1)
        self.n += next(iter(metrics.values())).shape[1]

    def merge(self, other: "RobustnessAccumulator") -> "RobustnessAccumulator":
        self.meets_all += other.meets_all
        self.meets += other.meets
        self.regret_sum += other.regret_sum
        self.regret_max = np.maximum(self.regret_max, other.regret_max)
        self.best_count += other.best_count
        self.n += other.n
        return self

    def records(self, percentiles: dict[str, dict[str, dict[str, float]]] | None = None) -> list[dict]:
        out = []
        n = max(self.n, 1)
        for i, pid in enumerate(self.package_ids):
            rec = {
                "id": pid,
                "satisficing": float(self.meets_all[i] / n) if self.thresholds else None,
                "per_threshold": {str(t): float(self.meets[i, j] / n) for j, t in enumerate(self.thresholds)},
                "regret": {
                    t.metric: {"mean": float(self.regret_sum[i, j] / n), "max": float(self.regret_max[i, j]), "best_share": float(self.best_count[i, j] / n)}
                    for j, t in enumerate(self.thresholds)
                },
            }
            if percentiles is not None:
                rec["percentiles"] = percentiles.get(pid, {})
            out.append(rec)
        return out


PERCENTILES = (5, 25, 50, 75, 95)


def percentiles(metrics: dict[str, np.ndarray], package_ids: list[str], names=None) -> dict[str, dict[str, dict[str, float]]]:
    """Percentiles of each metric per package from in-memory ``(P, n)`` arrays
    (one NumPy call over all metrics)."""
    names = list(names or metrics)
    if not names:
        return {pid: {} for pid in package_ids}
    return stacked_percentiles(np.concatenate([np.asarray(metrics[m]) for m in names], axis=0), names, package_ids)


def stacked_percentiles(stack: np.ndarray, names: list[str], package_ids: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """:func:`percentiles` of metrics already stacked metric by metric,
    ``(M * P, n)`` (an exploration's results are laid out so: no copy)."""
    out: dict[str, dict[str, dict[str, float]]] = {pid: {} for pid in package_ids}
    q = row_percentiles(stack, PERCENTILES).T.tolist()  # (M*P, 5)
    P = len(package_ids)
    keys = [f"p{p}" for p in PERCENTILES]
    for k, m in enumerate(names):
        for i, pid in enumerate(package_ids):
            out[pid][m] = dict(zip(keys, q[k * P + i]))
    return out


def row_percentiles_each(arrays: list[np.ndarray], pcts) -> list[np.ndarray]:
    """:func:`row_percentiles` of each 2-D array of ``arrays`` (all with the
    same number of columns), ``(len(pcts), rows)`` each, from one selection
    over all their rows (a call per array cost more than its selection)."""
    q = row_percentiles(np.concatenate(arrays), pcts)
    edges = np.cumsum([0] + [a.shape[0] for a in arrays])
    return [q[:, lo:hi] for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist())]


def row_percentiles(a: np.ndarray, pcts) -> np.ndarray:
    """``np.percentile(a, pcts, axis=-1)`` for a 2-D ``a`` (its default
    "linear" method), bit for bit (but for the sign of a zero where 0.0 and
    -0.0 tie), from the order statistics it needs (``order_stats``, compiled
    selection): ``(len(pcts), rows)``. NumPy's own partitions along the
    first axis after moving the row axis there, which reads each row with a
    stride (50-70 ms at 12 packages x 13 metrics x 10,000 futures), and a
    sort of each row took 31 ms for 156 rows. The interpolation is NumPy's
    (``_lerp``): ``a + (b - a) t``, or ``b - (b - a)(1 - t)`` when ``t >=
    0.5``; a row holding NaN gives NaN."""
    from foedus.exploration.order_stats import order_statistics

    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] == 0:
        raise ValueError(f"row_percentiles: a 2-D array with at least one column, got shape {a.shape}")
    n = a.shape[1]
    virtual = (n - 1) * np.true_divide(np.asarray(pcts, dtype=np.float64), 100)
    prev = np.floor(virtual)
    nxt = prev + 1
    top = virtual >= n - 1  # the largest value (NumPy's index -1)
    prev[top] = -1
    nxt[top] = -1
    lo, hi = prev.astype(np.intp), nxt.astype(np.intp)
    t = (virtual - lo)[:, None]
    ranks, where = np.unique(np.concatenate([lo, hi]) % n, return_inverse=True)
    stats = order_statistics(a, ranks.astype(np.int64))  # (rows, ranks)
    below, above = stats[:, where[: len(lo)]].T, stats[:, where[len(lo):]].T
    diff = above - below
    out = below + diff * t
    np.subtract(above, diff * (1 - t), out=out, where=t >= 0.5)
    return out
