"""Robust design search: the packages of a design space that no other beats
on every objective, among those meeting every constraint, over one fixed
sample of futures.

Objectives and constraints are *terms*: a package metric, a statistic and
optionally a named will scenario, ``attack_probability:p80 in
us-walks-away``. Statistics: ``central`` (the central values), ``mean`` and
``pNN`` (the NN-th percentile over the sample of futures); ``meets`` is the
share of the futures in which a package meets every threshold (as
``explore`` counts it). A constraint is a term, an operator and a bound
(``attack_probability:p80 <= 10%``); ``no-shortfall`` means no guarantor
short of troops at the central values.

Common random numbers: every candidate is evaluated on the same futures (one
Latin hypercube drawn from the seed), and a will scenario replaces the will
columns of that same sample, so differences between candidates are never
sampling noise and a rerun with the same seed is identical bit for bit.

Search: pymoo's NSGA-II (Deb et al. 2002, doi:10.1109/4235.996017), NSGA-III
above three objectives (Deb & Jain 2014, doi:10.1109/TEVC.2013.2281535),
driven by ask and tell so that a stop (Ctrl-C) keeps the front so far.
Decisions are coded in [0, 1] (:mod:`foedus.exploration.design_space`); a
generation's candidates are decoded, the packages not seen before compiled
together and evaluated in one vectorised call per set of inputs (no Python
loop over futures), and every evaluated candidate kept: the front returned
is the non-dominated set of all feasible candidates seen (an elitist
archive), not only of the last population.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from foedus.domain.errors import InputError, Problem
from foedus.domain.metrics import PACKAGE_METRICS, find, metric

#: Short names for the metrics a design search most often uses.
ALIASES = {
    "cost": "total_cost_usd_per_year", "guarantee-cost": "guarantee_cost_usd_per_year", "attack": "attack_probability",
    "approval": "approval_probability", "escalation": "escalation_risk", "shortfall": "guarantors_short",
    "pct-gdp": "max_cost_pct_gdp", "kyiv": "kyiv_acceptance",
}
MEETS = "meets"
#: Objectives when neither the design file nor the command names any: what
#: the package costs a year, and the attack probability that 80% of
#: futures stay below.
DEFAULT_OBJECTIVES = ("total_cost_usd_per_year", "attack_probability:p80")
_STAT = re.compile(r"^(central|mean|p([1-9][0-9]?))$")
_CONSTRAINT = re.compile(r"^\s*(.+?)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*(%?)\s*$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
#: New candidates are compiled and evaluated in chunks of this many (the
#: arrays of a few dozen packages stay in the processor's cache: measured
#: fastest at 25-50 on the seed design, about 15 % faster than 100 at once).
CHUNK = 25
#: What a candidate that is no package, or has an undefined value, scores
#: (a finite number: pymoo's crowding distances cannot take infinities).
PENALTY = 1e30


@dataclass(frozen=True)
class Term:
    """A number per package: ``stat`` of ``metric`` (in will ``scenario``)."""

    metric: str
    stat: str = "central"
    scenario: str | None = None

    def __str__(self) -> str:
        s = self.metric if self.metric == MEETS else f"{self.metric}:{self.stat}"
        return s + (f" in {self.scenario}" if self.scenario else "")

    @property
    def direction(self) -> int:
        return 1 if self.metric == MEETS else metric(self.metric).direction

    @property
    def kind(self) -> str:
        return "prob" if self.metric == MEETS else metric(self.metric).kind

    @property
    def label(self) -> str:
        if self.metric == MEETS:
            base = "Futures meeting every threshold"
        else:
            m = metric(self.metric)
            stat = {"central": "central", "mean": "mean over futures"}.get(self.stat, f"{self.stat[1:]}th percentile of futures")
            base = f"{m.label} ({stat})"
        return base + (f", {self.scenario}" if self.scenario else "")

    @property
    def over_futures(self) -> bool:
        return self.metric == MEETS or self.stat != "central"


@dataclass(frozen=True)
class Objective:
    term: Term

    @property
    def sense(self) -> int:
        """+1 maximise, -1 minimise."""
        return self.term.direction

    def __str__(self) -> str:
        return str(self.term)


@dataclass(frozen=True)
class Constraint:
    term: Term
    op: str
    value: float

    def violation(self, v: np.ndarray) -> np.ndarray:
        """How far ``v`` is from meeting the constraint (0 when it does;
        a NaN value is a violation)."""
        v = np.asarray(v, dtype=np.float64)
        gap = v - self.value if self.op in ("<=", "<") else self.value - v
        if self.op in ("<", ">"):  # strict: equal is a (tiny) violation
            gap = np.where(gap == 0, np.finfo(np.float64).tiny, gap)
        return np.where(np.isnan(gap), np.inf, np.maximum(gap, 0.0))

    def __str__(self) -> str:
        return f"{self.term} {self.op} {self.value:g}"


def parse_term(text: str, source: str, scenarios=None) -> Term:
    """``METRIC[:STAT][ in SCENARIO]``, the metric by key, label or alias."""
    raw = " ".join(str(text).split())
    body, scenario = raw, None
    if " in " in raw:
        head, _, tail = raw.rpartition(" in ")
        if _SLUG.match(tail):
            body, scenario = head, tail
    name, _, stat = body.partition(":")
    name, stat = name.strip(), stat.strip().lower()
    if scenario is not None:
        known = scenarios if scenarios is not None else _scenario_ids()
        if scenario not in known:
            import difflib

            near = difflib.get_close_matches(scenario, list(known), n=2, cutoff=0.4)
            raise InputError(source, [Problem(raw, f"a named will scenario after 'in' ({', '.join(known)})" + (f"; did you mean {', '.join(near)}?" if near else ""))])
    if name.lower() == MEETS:
        if stat:
            raise InputError(source, [Problem(raw, "'meets' alone (the share of futures meeting every threshold), without a statistic")])
        return Term(MEETS, "share", scenario)
    key = ALIASES.get(name.lower()) or find(name, PACKAGE_METRICS)
    if key is None:
        import difflib

        near = difflib.get_close_matches(name.lower(), list(ALIASES) + list(PACKAGE_METRICS), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(near)}?" if near else f" ({', '.join(ALIASES)}, meets, or a package metric)"
        raise InputError(source, [Problem(raw, "a package metric by key, label or short name" + hint)])
    stat = stat or "central"
    if not _STAT.match(stat):
        raise InputError(source, [Problem(raw, f"a statistic after ':': central, mean or pNN (a percentile, p1 to p99); got '{stat}'")])
    return Term(key, stat, scenario)


def parse_objective(text: str, source: str = "--objective", scenarios=None) -> Objective:
    term = parse_term(text, source, scenarios)
    if term.direction == 0:
        raise InputError(source, [Problem(str(text), f"a metric that is better higher or lower; '{metric(term.metric).label}' is neither")])
    return Objective(term)


def parse_constraint(text: str, source: str = "--constraint", scenarios=None) -> Constraint:
    """``TERM <= VALUE`` (or >=, <, >; ``10%`` means 0.1), or ``no-shortfall``."""
    raw = " ".join(str(text).split())
    if raw.lower() == "no-shortfall":
        return Constraint(Term("guarantors_short"), "<=", 0.0)
    m = _CONSTRAINT.match(raw)
    if not m:
        raise InputError(source, [Problem(raw, "TERM <= VALUE or TERM >= VALUE (e.g. 'attack_probability:p80 <= 10%'), or no-shortfall")])
    name, op, value, pct = m.groups()
    try:
        v = float(value)
    except ValueError:
        raise InputError(source, [Problem(raw, f"a number after {op}, got '{value}'")]) from None
    return Constraint(parse_term(name, source, scenarios), op, v / 100 if pct else v)


def _scenario_ids() -> list[str]:
    from foedus.data.loaders import load_will_scenarios

    return list(load_will_scenarios().scenarios)


# -- evaluating candidates ---------------------------------------------------------------
@dataclass
class Evaluated:
    """One candidate's numbers: every term asked for, and a summary at the
    central values (what the front table and the chart show)."""

    key: tuple
    terms: dict[str, float]
    summary: dict[str, float]
    F: np.ndarray  # objectives to minimise
    G: np.ndarray  # constraint violations (0: met)
    empty: bool = False  # the choices left no commitment at all

    @property
    def feasible(self) -> bool:
        """Meets every constraint (and is a package at all)."""
        return not self.empty and bool(np.all(self.G <= 0))


#: The central values every front member reports besides its terms.
SUMMARY = ("attack_probability", "total_cost_usd_per_year", "approval_probability", "escalation_risk", "max_cost_pct_gdp",
           "guarantors_short", "kyiv_acceptance", "troops_deployed")


class CandidateEvaluator:
    """Evaluates packages on one fixed sample of ``n_futures`` futures
    (seed ``seed``) and the central values, in the base set and in every
    will scenario a term names, and caches the result per key."""

    def __init__(self, parameters, countries, horizon: float | None, n_futures: int, seed: int,
                 objectives: list[Objective], constraints: list[Constraint], thresholds):
        from foedus.data.loaders import load_will_scenarios
        from foedus.exploration.futures import Design
        from foedus.models.inputs import Inputs

        self.parameters, self.countries = parameters, countries
        vals = parameters.values()
        self.horizon = float(horizon if horizon is not None else vals["assessment.horizon_years"])
        self.objectives, self.constraints = list(objectives), list(constraints)
        self.thresholds = list(thresholds)
        self.n_futures, self.seed = int(n_futures), int(seed)
        self.design = Design.from_parameters(parameters, seed=self.seed, block=max(self.n_futures, 1))
        self.X = self.design.sample(self.n_futures)
        cols = self.design.as_dict(self.X)
        terms = [o.term for o in self.objectives] + [c.term for c in self.constraints]
        scen = load_will_scenarios()
        self.sets: dict[str | None, tuple] = {}
        for sid in [None, *sorted({t.scenario for t in terms if t.scenario})]:
            fixed = dict(scen.get(sid).set) if sid else {}
            central = Inputs({**vals, **fixed}, 1)
            futures = Inputs({**vals, **cols, **fixed}, self.n_futures) if self.n_futures else None
            self.sets[sid] = (central, futures)
        self.terms = list(dict.fromkeys(terms))
        if any(t.over_futures for t in self.terms) and not self.n_futures:
            raise InputError("--futures", [Problem("futures", "at least 1 future for a statistic over futures (mean, pNN, meets)")])
        self.cache: dict[tuple, Evaluated] = {}
        self.n_evaluated = 0
        self.seconds = 0.0
        #: a dask.distributed Client to evaluate chunks on (None: here)
        self.client = None
        self._remote = None

    def evaluate(self, packages: list) -> list[dict]:
        """Every term and the summary of each package (a list of dicts)."""
        from foedus.exploration.assess import central_weights, evaluate
        from foedus.models.levers import compile_packages

        lv = compile_packages(packages, self.countries)
        out = [dict() for _ in packages]
        for sid, (central, futures) in self.sets.items():
            mine = [t for t in self.terms if t.scenario == sid]
            if sid is not None and not mine:
                continue
            w = central_weights(lv, central)
            # the central values: for the summary, and for central terms
            need_central = sid is None or any(not t.over_futures for t in mine)
            c = evaluate(lv, central, self.horizon, weights=w).packages if need_central else None
            if sid is None:
                for i, d in enumerate(out):
                    d.update({f"summary.{m}": float(c[m][i, 0]) for m in SUMMARY})
            wide = None
            if any(t.over_futures for t in mine):
                wide = evaluate(lv, futures, self.horizon, weights=w).packages
            for t in mine:
                v = self._term(t, c, wide)
                for i, d in enumerate(out):
                    d[str(t)] = float(v[i])
        return out

    def _term(self, t: Term, central: dict, wide: dict | None) -> np.ndarray:
        if t.metric == MEETS:
            ok = np.ones(wide[self.thresholds[0].metric].shape, dtype=bool)
            for th in self.thresholds:
                ok &= th.met(wide[th.metric])
            return ok.mean(axis=1)
        if t.stat == "central":
            return central[t.metric][:, 0]
        a = wide[t.metric]
        if t.stat == "mean":
            return a.mean(axis=1)
        return np.percentile(a, float(t.stat[1:]), axis=1)

    def scores(self, values: dict) -> tuple[np.ndarray, np.ndarray]:
        """Objectives to minimise and constraint violations of one candidate."""
        F = np.array([-values[str(o.term)] if o.sense > 0 else values[str(o.term)] for o in self.objectives], dtype=np.float64)
        G = np.array([float(c.violation(values[str(c.term)])) for c in self.constraints], dtype=np.float64)
        return np.where(np.isfinite(F), F, PENALTY), np.where(np.isfinite(G), G, PENALTY)

    def evaluate_keys(self, keys: list[tuple], variables) -> list[Evaluated]:
        """Evaluate the keys not seen before, in chunks of :data:`CHUNK`
        (on the Dask workers of :attr:`client` when it is set, else here),
        then return every key's result from the cache. A chunk's numbers do
        not depend on where it runs, so the front is the same with any
        number of workers."""
        t0 = time.perf_counter()
        new = [k for k in dict.fromkeys(keys) if k not in self.cache]
        chunks = [new[lo:lo + CHUNK] for lo in range(0, len(new), CHUNK)]
        if self.client is None or not chunks:
            results = [evaluate_chunk(self, variables, c) for c in chunks]
        else:
            if self._remote is None:
                self._remote = self.client.scatter(_Remote(self, variables), broadcast=True)
            tasks = [self.client.submit(_remote_chunk, self._remote, c, key=f"foedus-designs-{id(self)}-{len(self.cache)}-{i}", pure=False)
                     for i, c in enumerate(chunks)]
            results = self.client.gather(tasks)
        for chunk, values in zip(chunks, results):
            for k, v in zip(chunk, values):
                if v is None:  # nothing left of the package: never feasible
                    self.cache[k] = Evaluated(k, {}, {}, np.full(len(self.objectives), PENALTY), np.full(len(self.constraints), PENALTY), empty=True)
                    continue
                F, G = self.scores(v)
                self.cache[k] = Evaluated(k, {t: v[t] for t in map(str, self.terms)}, {m: v[f"summary.{m}"] for m in SUMMARY}, F, G)
                self.n_evaluated += 1
        self.seconds += time.perf_counter() - t0
        return [self.cache[k] for k in keys]

    def __getstate__(self):  # what a Dask worker receives: no cache, no client
        state = dict(self.__dict__)
        state.update(cache={}, client=None, _remote=None)
        return state


def evaluate_chunk(evaluator: CandidateEvaluator, variables, keys: list[tuple]) -> list[dict | None]:
    """Every term and the summary of the package each key describes (None
    for a key that leaves no commitment), evaluated together."""
    pkgs = [variables.package(k, f"c{i}") for i, k in enumerate(keys)]
    real = [p for p in pkgs if p is not None]
    values = iter(evaluator.evaluate(real) if real else [])
    return [None if p is None else next(values) for p in pkgs]


@dataclass
class _Remote:
    """What every Dask worker holds for a search (sent once)."""

    evaluator: CandidateEvaluator
    variables: object


def _remote_chunk(remote: _Remote, keys: list[tuple]) -> list[dict | None]:
    return evaluate_chunk(remote.evaluator, remote.variables, keys)


# -- the search ----------------------------------------------------------------------------
@dataclass
class SearchResult:
    """The front (non-dominated feasible candidates, by the first
    objective), how far the search went, and what it cost."""

    front: list[Evaluated]
    generations: int
    generations_asked: int
    evaluations: int
    candidates: int
    seconds: float
    stopped: bool = False
    feasible: int = 0
    closest: Evaluated | None = None
    history: list[dict] = field(default_factory=list)


def non_dominated(items: list[Evaluated]) -> list[Evaluated]:
    """The items no other item dominates, one per point in objective space
    (the first by key when several share it), by the first objective."""
    if not items:
        return []
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    items = sorted(items, key=lambda e: e.key)
    F = np.array([e.F for e in items])
    first = NonDominatedSorting().do(F, only_non_dominated_front=True)
    seen, out = set(), []
    for i in sorted(first):
        pt = tuple(F[i])
        if pt not in seen:
            seen.add(pt)
            out.append(items[i])
    return sorted(out, key=lambda e: (tuple(e.F), e.key))


def spread(front: list[Evaluated], k: int) -> list[Evaluated]:
    """At most ``k`` members of a front sorted by its first objective:
    both ends and evenly spaced ones between."""
    if len(front) <= k:
        return front
    idx = sorted({int(round(i)) for i in np.linspace(0, len(front) - 1, k)})
    return [front[i] for i in idx]


def search(variables, evaluator: CandidateEvaluator, *, population: int, generations: int, seed: int,
           progress: Callable[[int, int], None] | None = None) -> SearchResult:
    """Run NSGA-II (NSGA-III above three objectives) for ``generations``
    generations of ``population`` candidates; Ctrl-C (or SIGTERM turned
    into KeyboardInterrupt) stops it with the front so far."""
    from pymoo.core.problem import Problem as PymooProblem

    n_obj, n_con = len(evaluator.objectives), len(evaluator.constraints)
    t0 = time.perf_counter()
    history: list[dict] = []

    class _Problem(PymooProblem):
        def _evaluate(self, X, out, *args, **kwargs):
            keys = [tuple(int(i) for i in row) for row in variables.keys(X)]
            res = evaluator.evaluate_keys(keys, variables)
            out["F"] = np.array([r.F for r in res])
            if n_con:
                out["G"] = np.array([r.G for r in res])

    problem = _Problem(n_var=variables.n, n_obj=n_obj, n_ieq_constr=n_con, xl=0.0, xu=1.0)
    algorithm = _algorithm(n_obj, population, _same_design(variables))
    algorithm.setup(problem, termination=("n_gen", generations), seed=int(seed), verbose=False)
    stopped = False
    try:
        while algorithm.has_next():
            pop = algorithm.ask()
            if pop is None or len(pop) == 0:  # no new design left to try: the space is exhausted
                break
            algorithm.evaluator.eval(problem, pop)
            algorithm.tell(infills=pop)
            feas = [e for e in evaluator.cache.values() if e.feasible]
            history.append({"generation": int(algorithm.n_gen) - 1, "candidates": len(evaluator.cache), "feasible": len(feas)})
            if progress is not None:
                progress(int(algorithm.n_gen) - 1, generations)
    except KeyboardInterrupt:
        stopped = True
    everything = list(evaluator.cache.values())
    feasible = [e for e in everything if e.feasible]
    closest = None
    if not feasible and everything:
        closest = min(everything, key=lambda e: (float(np.sum(e.G)), e.key))
    return SearchResult(non_dominated(feasible), len(history), generations, evaluator.n_evaluated, len(everything),
                        time.perf_counter() - t0, stopped, len(feasible), closest, history)


def _same_design(variables):
    """pymoo's duplicate elimination on the decoded keys: two points in the
    same cell are the same design, so a population never holds one design
    twice (pymoo's default compares the raw points, and a population then
    fills up with copies of a few designs)."""
    from pymoo.core.duplicate import DefaultDuplicateElimination

    return DefaultDuplicateElimination(epsilon=0.0, func=lambda pop: variables.keys(pop.get("X")).astype(np.float64))


def _algorithm(n_obj: int, population: int, duplicates):
    if n_obj <= 3:
        from pymoo.algorithms.moo.nsga2 import NSGA2

        return NSGA2(pop_size=population, eliminate_duplicates=duplicates)
    from pymoo.algorithms.moo.nsga3 import NSGA3
    from pymoo.util.ref_dirs import get_reference_directions

    parts = 1
    while _n_dirs(n_obj, parts + 1) <= population:
        parts += 1
    return NSGA3(ref_dirs=get_reference_directions("das-dennis", n_obj, n_partitions=parts), pop_size=population, eliminate_duplicates=duplicates)


def _n_dirs(m: int, p: int) -> int:
    from math import comb

    return comb(m + p - 1, p)
