"""One design search, for every interface: the front a reader sees, the
package files written for it, the stored run and the command that
reproduces it.

A :class:`DesignSearch` holds a design file, its base, the parameters and
the search settings; :meth:`DesignSearch.result` runs the search once
(:func:`foedus.exploration.optimise.search`); :meth:`DesignSearch.record`
gives the ``optimise --json`` contract (the base and every front member
with its choices, objective and constraint values and central summary)
that the CLI table, the web trade-off chart and the report all render;
:meth:`DesignSearch.members` are the front's packages, each with a
rationale saying how it was generated and what it achieves, validated as
package files; :meth:`DesignSearch.write` writes them to a directory and
:meth:`DesignSearch.store` keeps them, evaluated over the search's futures,
in the run store.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

#: Designs written at most (evenly spread along the front by its first
#: objective, both ends kept) unless asked otherwise.
MAX_DESIGNS = 20


@dataclass
class DesignSearch:
    path: Path
    parameters: object  # ParameterSet
    countries: object  # CountryTable
    futures: int = 1000
    seed: int = 0
    population: int = 100
    generations: int = 50
    #: objective and constraint texts; None: those of the design file
    objectives: list[str] | None = None
    constraints: list[str] | None = None
    thresholds: list[str] | None = None
    horizon: float | None = None
    max_designs: int = MAX_DESIGNS
    #: evaluate candidates on a local Dask cluster of this many worker
    #: processes (None: in this process); the front is the same either way
    workers: int | None = None
    progress: object = field(default=None, repr=False)

    @cached_property
    def loaded(self):
        """(design, base package, base path) of the design file."""
        from foedus.data.loaders import load_design

        return load_design(self.path, self.countries)

    @property
    def space(self):
        return self.loaded[0]

    @property
    def base(self):
        return self.loaded[1]

    @cached_property
    def variables(self):
        from foedus.exploration.design_space import DesignVariables

        return DesignVariables(self.space, self.base, self.countries)

    @cached_property
    def goals(self) -> tuple[list, list, list]:
        """Parsed (objectives, constraints, thresholds): the command's, else
        the design file's (whose errors name the file)."""
        from foedus.exploration.optimise import DEFAULT_OBJECTIVES, parse_constraint, parse_objective
        from foedus.exploration.robustness import DEFAULT_THRESHOLDS, parse_threshold

        f = str(self.path)
        objs = [parse_objective(t) for t in self.objectives] if self.objectives else [
            parse_objective(t, f"{f}: objectives") for t in (self.space.objectives or DEFAULT_OBJECTIVES)]
        cons = [parse_constraint(t) for t in self.constraints] if self.constraints is not None else [
            parse_constraint(t, f"{f}: constraints") for t in self.space.constraints]
        ths = [parse_threshold(t) for t in self.thresholds] if self.thresholds else [
            parse_threshold(t, source=f"{f}: thresholds") for t in (self.space.thresholds or DEFAULT_THRESHOLDS)]
        if len({str(o) for o in objs}) != len(objs):
            from foedus.domain.errors import InputError, Problem

            where = "--objective" if self.objectives else f"{f}: objectives"
            raise InputError(where, [Problem(", ".join(map(str, objs)), "each objective once")])
        return objs, cons, ths

    @cached_property
    def evaluator(self):
        from foedus.exploration.optimise import CandidateEvaluator

        objs, cons, ths = self.goals
        return CandidateEvaluator(self.parameters, self.countries, self.horizon, self.futures, self.seed, objs, cons, ths)

    @cached_property
    def result(self):
        from foedus.exploration.optimise import search

        def run():
            return search(self.variables, self.evaluator, population=self.population, generations=self.generations, seed=self.seed,
                          progress=self.progress)

        if not self.workers:
            return run()
        from foedus.exploration.cluster import dask_client

        with dask_client(workers=self.workers) as client:
            self.evaluator.client = client
            try:
                return run()
            finally:
                self.evaluator.client = self.evaluator._remote = None

    @cached_property
    def base_evaluated(self):
        """The base package's numbers on the same futures (the reference
        point of every table and chart)."""
        from foedus.exploration.optimise import Evaluated

        ev = self.evaluator
        v = ev.evaluate([self.base])[0]
        F, G = ev.scores(v)
        from foedus.exploration.optimise import SUMMARY

        return Evaluated(self.variables.base_key() or (), {str(t): v[str(t)] for t in ev.terms}, {m: v[f"summary.{m}"] for m in SUMMARY}, F, G)

    @cached_property
    def chosen(self) -> list:
        """The front members written and shown (at most ``max_designs``)."""
        from foedus.exploration.optimise import spread

        return spread(self.result.front, self.max_designs)

    def member_id(self, i: int) -> str:
        return f"{self.space.id}-{i + 1:02d}"

    @cached_property
    def members(self) -> list:
        """The chosen designs as validated packages, each with a rationale
        saying how it was generated and what it achieves; the base's
        sources are kept."""
        from foedus.data.loaders import package_text, reparse_package

        out = []
        for i, e in enumerate(self.chosen):
            pkg = self.variables.package(e.key, self.member_id(i))
            pkg = pkg.model_copy(update={"title": f"{self.space.title}: design {i + 1} of {len(self.chosen)}",
                                         "rationale": self.rationale(e)})
            # validated as a file is: what is written is what loads
            out.append(reparse_package(package_text(pkg), f"{self.member_id(i)}.yaml", self.countries))
        return out

    def rationale(self, e) -> str:
        objs, cons, _ = self.goals
        changes = self.changes(e.key)
        said = self.describe(e.key) if changes else "no change from the base"
        got = "; ".join(f"{o.term.label} {show_term(o.term, e.terms[str(o.term)])}" for o in objs)
        met = "; ".join(str(c) for c in cons) or "none"
        return (f"Found by foedus optimise ({self.command()}) from the design file {Path(self.path).name} "
                f"('{self.space.title}'), starting from the base package {self.base.id}: NSGA-II/III over {self.futures} futures "
                f"(seed {self.seed}), population {self.population}, {self.result.generations} generations. "
                f"Its choices: {said}. It achieves: {got}. It meets every constraint of the search ({met}) and no other "
                f"design found is better on every objective. Everything else, and every source, is the base package's; "
                f"commitments noted 'Set by the design search' or 'Added by the design search' were sized or added by it, "
                f"not taken from a published source.")

    def changes(self, key) -> dict[str, str]:
        """What a design chose, decision by decision (``GBR.troops``:
        ``14,000``), where it differs from the base."""
        base = self.variables.base_choices()
        return {x.name: _show(x.name, x.options[int(i)]) for x, i, b in zip(self.variables.variables, key, base) if b != int(i)}

    def describe(self, key) -> str:
        """The changes in one line, guarantor by guarantor: "GBR 14,000
        troops, ratified treaty, automatic; DEU joins, 10,000 troops;
        + monitoring; - buffer zone"."""
        by: dict[str, list[str]] = {}
        for name, v in self.changes(key).items():
            who, _, field = name.partition(".")
            if field == "takes_part":
                by.setdefault(who, []).insert(0, "joins" if v == "yes" else "stays out")
            elif field in ("troops", "aircraft", "ships", "trainers"):
                by.setdefault(who, []).append(f"{v} {field}")
            elif field == "aid":
                by.setdefault(who, []).append(f"aid {v}")
            elif field == "mutual_defence":
                by.setdefault(who, []).append("mutual defence" if v == "yes" else "no mutual defence")
            elif who == "terms" and v in ("yes", "no"):
                by.setdefault("terms", []).append(("+ " if v == "yes" else "- ") + field.replace("_", " "))
            elif who == "terms":
                by.setdefault("terms", []).append(f"{field.replace('_', ' ')} {v}")
            else:
                by.setdefault(who, []).append(v)
        by = {k: (v[:1] if v and v[0] == "stays out" else v) for k, v in by.items()}  # its sizes do not matter then
        parts = [("; ".join(v) if k == "terms" else f"{k} {', '.join(v)}") for k, v in by.items()]
        return "; ".join(parts) or "as the base"

    # -- the contract -----------------------------------------------------------------
    @cached_property
    def record(self) -> dict:
        """Everything every interface shows (the ``optimise --json`` contract)."""
        objs, cons, ths = self.goals
        r = self.result
        b = self.base_evaluated

        def one(e, pid, title):
            return {"id": pid, "title": title, "choices": {x.name: _json(x.options[int(i)]) for x, i in zip(self.variables.variables, e.key)} if e.key else {},
                    "changes": self.changes(e.key) if e.key else {}, "described": self.describe(e.key) if e.key else "as written",
                    "objectives": {str(o): e.terms[str(o.term)] for o in objs},
                    "constraints": {str(c): {"value": e.terms[str(c.term)], "met": bool(c.violation(e.terms[str(c.term)]) <= 0)} for c in cons},
                    "summary": dict(e.summary)}

        front = [one(e, p.id, p.title) for e, p in zip(self.chosen, self.members)]
        return {
            "design": {"id": self.space.id, "title": self.space.title, "question": self.space.question, "file": str(self.path),
                       "base": self.base.id, "variables": [{"name": x.name, "options": [_json(o) for o in x.options]} for x in self.variables.variables]},
            "objectives": [{"term": str(o), "label": o.term.label, "sense": "maximise" if o.sense > 0 else "minimise", "kind": o.term.kind} for o in objs],
            "constraints": [{"text": str(c), "label": c.term.label, "op": c.op, "value": c.value, "kind": c.term.kind} for c in cons],
            "thresholds": [str(t) for t in ths],
            "settings": {"futures": self.futures, "seed": self.seed, "population": self.population, "generations": self.generations,
                         "horizon_years": self.evaluator.horizon},
            "search": {"generations_run": r.generations, "stopped": r.stopped, "candidates": r.candidates, "evaluations": r.evaluations,
                       "feasible": r.feasible, "front_size": len(r.front), "shown": len(front), "seconds": r.seconds,
                       "evaluation_seconds": self.evaluator.seconds},
            "base": {**one(b, self.base.id, self.base.title), "feasible": b.feasible},
            "front": front,
            "closest": one(r.closest, "closest", "closest infeasible design") if r.closest is not None and not r.closest.empty else None,
            "reproduce": self.command(),
        }

    def command(self, out_dir: str | None = None) -> str:
        parts = ["foedus", "optimise", str(self.path), "--futures", str(self.futures), "--seed", str(self.seed),
                 "--population", str(self.population), "--generations", str(self.generations)]
        if self.horizon is not None:
            parts += ["--horizon", f"{self.horizon:g}"]
        if self.max_designs != MAX_DESIGNS:
            parts += ["--max-designs", str(self.max_designs)]
        for o in self.objectives or ():
            parts += ["--objective", o]
        for c in self.constraints or ():
            parts += ["--constraint", c]
        for t in self.thresholds or ():
            parts += ["--threshold", t]
        for k, v in getattr(self.parameters, "overrides", {}).items():
            parts += ["--set", f"{k}={v:g}"]
        if out_dir:
            parts += ["-o", out_dir]
        return shlex.join(parts)

    # -- files and the store -------------------------------------------------------------
    def texts(self) -> list[tuple[str, str]]:
        """``(id, text)`` of each chosen design's package file, as
        :meth:`write` writes it and the web app offers it."""
        from foedus.data.loaders import package_text

        head = (f"foedus design found by: {self.command()}\n"
                f"Design file: {Path(self.path).name}; base package: {self.base.id}. Sizes set and commitments added by the\n"
                "search are noted as such in each commitment; they are not from a published source.")
        return [(p.id, package_text(p, head)) for p in self.members]

    def write(self, directory: Path) -> list[Path]:
        """Each chosen design as a package file ``<id>.yaml`` in
        ``directory`` (created if needed); the same seed writes the same files."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for pid, text in self.texts():
            path = directory / f"{pid}.yaml"
            path.write_text(text, encoding="utf-8")
            paths.append(path)
        return paths

    def store(self, store, files: list[Path] | None = None) -> str:
        """Keep the front in ``store`` (a RunStore): each chosen design
        evaluated over the search's futures (every stored metric), with the
        search's settings and the front's record in the run's metadata.
        Returns the run id."""
        from foedus import __version__
        from foedus.data.provenance import run_provenance
        from foedus.exploration.assess import central_weights, evaluate
        from foedus.exploration.explore import STORED_METRICS
        from foedus.models.levers import compile_packages

        ev = self.evaluator
        pkgs = self.members
        lv = compile_packages(pkgs, self.countries)
        central, futures = ev.sets[None]
        res = evaluate(lv, futures, ev.horizon, weights=central_weights(lv, central)).packages
        stack = np.stack([np.asarray(res[m], dtype=np.float64) for m in STORED_METRICS], axis=-1)
        hashes = {}
        for f in files or ():
            import hashlib

            hashes[Path(f).stem] = hashlib.sha256(Path(f).read_bytes()).hexdigest()
        meta = {
            "packages": [{"id": p.id, "sha256": hashes.get(p.id, ""), "title": p.title} for p in pkgs],
            "overrides": dict(self.parameters.overrides),
            "seed": self.seed, "sampler": ev.design.sampler, "n_futures": self.futures, "chunk_size": ev.design.block,
            "horizon_years": ev.horizon, "thresholds": self.record["thresholds"],
            "extra": {"foedus_version": __version__, "kind": "optimise", "design": ev.design.to_json(), "optimise": self.record,
                      "provenance": run_provenance(self.parameters)},
        }
        with store.begin_run(meta, list(ev.design.names), list(STORED_METRICS), [p.id for p in pkgs]) as w:
            w.write_chunk(np.arange(self.futures, dtype=np.int64), ev.X, stack)
            return w.commit({"optimise": {"front": [m["id"] for m in self.record["front"]]}})


def show_term(term, value: float | None) -> str:
    """A term's value as people read it: a share of futures for ``meets``,
    else as its metric is shown everywhere."""
    from foedus.study.formatting import fmt

    if term.metric == "meets":
        return "–" if value is None else f"{100 * value:.0f}% of futures"
    return fmt(term.metric, value)


def _json(v):
    return getattr(v, "value", v)


def _show(name: str, v) -> str:
    """A decision's value as a reader reads it."""
    v = _json(v)
    if isinstance(v, bool):
        return "yes" if v else "no"
    if v is None:
        return "none"
    if name.endswith(".aid"):
        return f"${v / 1e9:.1f} bn a year"
    if isinstance(v, (int, float)):
        return f"{v:,.0f}"
    return str(v).replace("_", " ")
