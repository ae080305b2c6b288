"""One assessment of a set of packages, for every interface.

A :class:`Study` holds what a reader asked for (packages, parameters, the
design of futures, thresholds) and gives everything the CLI, the web app
and the report show: the comparison (central values, ranges over futures,
each guarantor's worth), the exploration (robustness), the failure box of a
package (one PRIM set-up and read-out), the bottom line (deterrence
against cost and approval, the best value per row, one sentence per
package saying what drives its result), the Sobol' sensitivity of a
package's metrics to every uncertain input (with each input's basis) and
the commands that reproduce it. The interfaces render these and compute nothing another interface
needs; ``tests/test_interfaces_agree.py`` holds them to the same numbers.

Computations are done once per study (cached on the instance).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from foedus.domain.metrics import BOTTOM_LINE, STORED_METRICS, metric
from foedus.exploration.compare import RANGE_FUTURES


@dataclass(frozen=True)
class Design:
    """The sample of futures behind robustness and failure boxes."""

    n_futures: int = 0
    seed: int = 0
    sampler: str = "lhs"


@dataclass
class Study:
    packages: list
    parameters: object  # ParameterSet
    countries: object  # CountryTable
    horizon: float | None = None
    design: Design = field(default_factory=Design)
    #: threshold texts (``attack_probability<=0.1``, or a label); None: the defaults
    thresholds: list[str] | None = None
    #: the sample of futures behind the comparison's ranges (``compare --futures/--seed``); 0: central values only
    range_futures: int = RANGE_FUTURES
    range_seed: int = 0
    #: also give each package's results in every named will scenario
    by_scenario: bool = False

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.packages]

    @cached_property
    def parsed_thresholds(self) -> list:
        """The thresholds, checked against the stored metrics even when no
        futures are asked for (a typo is never silently ignored)."""
        from foedus.exploration.robustness import DEFAULT_THRESHOLDS, parse_threshold

        return [parse_threshold(t, STORED_METRICS) for t in (self.thresholds or DEFAULT_THRESHOLDS)]

    # -- central values -----------------------------------------------------------
    @cached_property
    def comparison(self) -> dict:
        """Central values, ranges over ``range_futures`` sampled futures
        (seed ``range_seed``; the default sample unless asked otherwise) and
        each guarantor's worth (the ``compare --json`` contract)."""
        from foedus.exploration.compare import comparison

        return comparison(self.packages, self.parameters, self.countries, self.horizon, futures=self.range_futures, seed=self.range_seed,
                          by_scenario=self.by_scenario)

    @cached_property
    def by_year(self) -> dict:
        """The yearly path from the start year to the horizon (the
        ``compare --by-year --json`` contract): per package and year attack by
        then, cost, forces and build-up, with 5th-95th percentiles over the
        same sample of futures as the comparison's ranges."""
        from foedus.exploration.years import by_year

        return by_year(self.packages, self.parameters, self.countries, self.horizon, futures=self.range_futures, seed=self.range_seed)

    # -- futures ------------------------------------------------------------------
    @cached_property
    def exploration(self):
        """The exploration of ``design`` held in memory (None without futures)."""
        from foedus.exploration.explore import explore_memory

        d = self.design
        if not d.n_futures:
            return None
        return explore_memory(self.packages, self.parameters, self.countries, d.n_futures, d.seed, sampler=d.sampler,
                              horizon=self.horizon, thresholds=self.parsed_thresholds)

    def failure(self, package_id: str) -> dict:
        """Where ``package_id`` fails in the sampled futures: a status and,
        when there is one, the PRIM box as :func:`box_record` gives it."""
        from foedus.exploration.discover import explain, failures

        res = self.exploration
        if res is None:
            raise ValueError("a failure box needs futures (Design(n_futures=...))")
        i = res.package_ids.index(package_id)
        fails = failures({m: a[i] for m, a in res.metrics.items()}, self.parsed_thresholds)
        return failure_record(package_id, res.inputs, res.input_names, fails, self.parameters, explain)

    # -- sensitivity --------------------------------------------------------------
    def sensitivity(self, package_id: str, metrics: list[str], n: int, seed: int = 0) -> dict:
        """Sobol' first- and total-order indices of ``metrics`` of one
        package to every uncertain input (``n`` base samples, a power of
        two; ``n * (d + 2)`` evaluations), each input with its basis
        (evidence, calibrated, judgement), as ``foedus sensitivity`` shows."""
        return sensitivity(self._package(package_id), self.parameters, self.countries, metrics, n, seed, self.horizon)

    def _package(self, package_id: str):
        for p in self.packages:
            if p.id == package_id:
                return p
        raise ValueError(f"{package_id!r} is not in this study ({', '.join(self.ids)})")

    # -- bottom line --------------------------------------------------------------
    def bottom_line(self) -> list[dict]:
        names = {c.iso3: c.name for c in self.countries.countries.values()}
        return bottom_line(self.comparison, {p.id: p.title for p in self.packages}, names, self.parsed_thresholds)

    def summary(self) -> list[dict]:
        """The executive summary: sentences generated from the numbers
        (:func:`foedus.study.summary.executive_summary`)."""
        from foedus.study.summary import executive_summary

        return executive_summary(self)

    # -- reproduce ----------------------------------------------------------------
    def reproduce(self, files: list[str], *, edits: dict | None = None) -> dict:
        ps = self.parameters
        overrides = dict(ps.overrides)
        if ps.scenario:  # the scenario's will values come from --scenario, unless a --set changed them
            from foedus.data.loaders import load_will_scenarios

            fixed = load_will_scenarios().get(ps.scenario).set
            overrides = {k: v for k, v in overrides.items() if not (k in fixed and fixed[k] == v)}
        return reproduce(self.ids, files, overrides, self.horizon, self.design if self.design.n_futures else None,
                         [str(t) for t in self.parsed_thresholds] if self.design.n_futures else None, edits=edits, scenario=ps.scenario)


# ---------------------------------------------------------------------------------
# shared pieces (the web app calls them for its per-package caches)
# ---------------------------------------------------------------------------------


def failure_record(package_id: str, inputs: np.ndarray, names, fails: np.ndarray, parameters, explain) -> dict:
    """A failure box for people: the share of futures that fail and, if
    some do and some do not, PRIM's box (rule, coverage, density) with its
    restricted inputs, the most restricted first."""
    n = int(fails.size)
    share = float(fails.mean()) if n else 0.0
    base = {"package": package_id, "fail_share": share, "n_futures": n}
    if not fails.any():
        return base | {"status": "never_fails", "message": f"{package_id} meets every threshold in all {n:,} futures"}
    if fails.all():
        return base | {"status": "always_fails", "message": f"{package_id} misses a threshold in every one of the {n:,} futures"}
    if inputs is None or inputs.shape[1] == 0:
        return base | {"status": "no_inputs", "message": "no uncertain inputs left to explain failures"}
    res = explain(inputs, fails.astype(bool), list(names))
    lows, highs = inputs.min(axis=0).tolist(), inputs.max(axis=0).tolist()  # a row at a time: a column of (n, d) is strided
    rng = {k: (lo, hi) for k, lo, hi in zip(names, lows, highs)}
    boxes = [box_record(b, rng, parameters) for b in res.trajectory]
    box = res.box
    return base | boxes[res.chosen] | {
        "status": "box",
        "trajectory": boxes,
        "chosen": res.chosen,
        "message": f"{package_id} fails in {100 * share:.0f}% of futures; the box holds {100 * box.coverage:.0f}% of failures, "
                   f"{100 * box.density:.0f}% of futures in it fail",
    }


def box_record(box, rng: dict, parameters) -> dict:
    """One PRIM box: its rule, coverage, density and mass, and its restricted
    inputs ordered by how much of their sampled range the box cuts away."""
    restricted = []
    for k in box.restricted:
        lo, hi = box.limits[k]
        dlo, dhi = rng[k]
        info = parameters.describe(k)
        kept = (hi - lo) / (dhi - dlo) if dhi > dlo else 1.0
        restricted.append({"name": k, "low": float(lo), "high": float(hi), "data_low": dlo, "data_high": dhi, "kept": float(kept),
                           "unit": info.unit.value if info else ""})
    restricted.sort(key=lambda r: r["kept"])
    return {"coverage": box.coverage, "density": box.density, "mass": box.mass, "n_restricted": len(restricted),
            "rule": box.describe(), "restricted": restricted}


def sensitivity(package, parameters, countries, metrics: list[str], n: int, seed: int = 0, horizon: float | None = None) -> dict:
    """Sobol' indices of ``metrics`` of ``package`` (see :meth:`Study.sensitivity`):
    ``{"package", "metrics", "n", "seed", "evaluations", "inputs": [{"name",
    "basis", "unit"}], "indices": [{"output", "input", "basis", "S1",
    "S1_conf", "ST", "ST_conf"}]}``. An index is NaN where a metric does not
    vary over the design (it is undefined, not zero)."""
    from foedus.domain.errors import InputError, Problem
    from foedus.exploration.assess import PACKAGE_METRICS
    from foedus.exploration.package_sensitivity import package_sobol

    bad = [m for m in metrics if m not in PACKAGE_METRICS and "@" not in m]
    if bad or not metrics or len(set(metrics)) != len(metrics):
        raise InputError("sensitivity", [Problem(bad[0] if bad else "metrics", f"package metrics, each once ({', '.join(PACKAGE_METRICS)}), "
                                                                              "or one year of the time axis, METRIC@YEAR")])
    if n < 2 or n & (n - 1):
        raise InputError("sensitivity", [Problem("n", f"a power of two (e.g. 512 or 1024), got {n}")])
    idx = package_sobol(package, parameters, countries, list(metrics), n, seed, horizon)
    inputs = []
    basis = {}
    for name in idx.names:
        info = parameters.describe(name)
        basis[name] = info.basis.value if info is not None else None
        inputs.append({"name": name, "basis": basis[name], "unit": info.unit.value if info is not None else ""})
    recs = [r | {"basis": basis[r["input"]]} for r in idx.to_records()]
    return {"package": package.id, "metrics": list(metrics), "n": n, "seed": seed, "evaluations": n * (len(idx.names) + 2),
            "inputs": inputs, "indices": recs}


def bottom_line(comparison: dict, titles: dict[str, str], names: dict[str, str] | None = None, thresholds=None) -> list[dict]:
    """Per package: deterrence against cost, with approval, each with its
    range over futures, whether the package meets every threshold at the
    central values, and a sentence saying what drives its result.

    ``best`` marks the best central value of a column only among the
    packages that meet every threshold (a ★ on the cost of a package that
    does not deter, or on the approval of one certain to fail, would read as
    a recommendation), and only where the difference can be measured: never
    on a value below what the evidence resolves ("<1.0%"), never on a lead
    over the next package smaller than that resolution, never on a tie at
    the precision shown."""
    from foedus.exploration.robustness import DEFAULT_THRESHOLDS, parse_threshold
    from foedus.study.formatting import below_resolution, fmt, resolution

    ths = list(thresholds) if thresholds is not None else [parse_threshold(t) for t in DEFAULT_THRESHOLDS]
    pk = comparison["packages"]
    meets = {p["id"]: all(p["metrics"].get(t.metric) is not None and bool(t.met(np.float64(p["metrics"][t.metric]))) for t in ths) for p in pk}
    best = {}
    for m in BOTTOM_LINE:
        vals = sorted((p["metrics"][m] for p in pk if p["metrics"][m] is not None and meets[p["id"]]), reverse=metric(m).direction > 0)
        if not vals:
            continue
        top = vals[0]
        tied = sum(fmt(m, v) == fmt(m, top) for v in vals)
        # a lead smaller than what the evidence resolves is no lead
        close = len(vals) > 1 and resolution(m) is not None and abs(vals[1] - top) < resolution(m)
        if tied == 1 and not close and not below_resolution(m, top):
            best[m] = top
    out = []
    for p in pk:
        row = {"id": p["id"], "title": titles.get(p["id"], p["id"]), "kyiv_position": p["kyiv_position"], "values": {},
               "meets_thresholds": meets[p["id"]], "sentence": sentence(p, comparison["horizon_years"], names)}
        for m in BOTTOM_LINE:
            v = p["metrics"][m]
            r = (p.get("ranges") or {}).get(m)
            row["values"][m] = {"value": v, "p5": r["p5"] if r else None, "p95": r["p95"] if r else None,
                                "best": v is not None and m in best and meets[p["id"]] and fmt(m, v) == fmt(m, best[m])}
        out.append(row)
    return out


#: Terms of the hazard, as a reader names them.
_TERMS = {"sanctions": "the sanctions snap-back", "monitoring": "ceasefire monitoring", "commission": "a joint commission",
          "buffer_zone": "a buffer zone"}


def sentence(entry: dict, horizon: float = 10.0, names: dict[str, str] | None = None) -> str:
    """One sentence, generated from the numbers (no language model), on what
    drives a package's result: its deterrence and its spread over futures;
    the local balance (Ukraine's forces with the aid and training delivered,
    against the balance at the ceasefire); how far its promises to fight cut
    the hazard and whose promise and whose aid matter most; its terms; the
    floor; what it costs (the guarantee itself and the aid); approval."""
    from foedus.study.formatting import country, fmt

    names = names or {}
    m, r = entry["metrics"], entry.get("ranges") or {}
    a = m["attack_probability"]
    text = f"Renewed war within {horizon:g} years: {fmt('attack_probability', a)}"
    ra = r.get("attack_probability")
    if ra and ra["p95"] is not None:
        text += f" ({fmt('attack_probability', ra['p5'])} to {fmt('attack_probability', ra['p95'])} over futures)"
    parts = [text]
    hz = entry.get("hazard")
    if hz:
        lb = hz["local_balance"]
        if lb < 0.97:
            parts.append(f"the local balance is {lb:.2f} of the balance at the ceasefire (less aid or fewer forces), so the yearly hazard "
                         f"starts at {fmt('annual_attack_probability', hz['base'])}")
        elif lb > 1.03:
            parts.append(f"Ukraine's forces, with the aid, training and forces delivered, stand at {lb:.2f} times the balance at the "
                         f"ceasefire (yearly hazard {fmt('annual_attack_probability', hz['base'])} before promises)")
        else:
            parts.append(f"the local balance is as at the ceasefire (yearly hazard {fmt('annual_attack_probability', hz['base'])} before promises)")
        g = hz["guarantees"]
        if g < 0.99:
            text = f"promises to fight cut the hazard to {g:.2f} of that"
            worth = sorted(((p["attack_probability_without_promises"] - a, p["iso3"], p["attack_probability_without_promises"]) for p in entry["guarantors"]
                            if p.get("attack_probability_without_promises") is not None), reverse=True)
            if worth and worth[0][0] > max(0.002, 0.1 * a):
                text += f" ({_possessive(country(worth[0][1], names))} count most: without them {fmt('attack_probability', worth[0][2])})"
            parts.append(text)
        else:
            parts.append("no promise to fight counts")
        aid = sorted(((p["attack_probability_without_aid"] - a, p["iso3"], p["attack_probability_without_aid"]) for p in entry["guarantors"]
                      if p.get("attack_probability_without_aid") is not None), reverse=True)
        if aid and aid[0][0] > max(0.002, 0.1 * a):
            parts.append(f"without {_possessive(country(aid[0][1], names))} aid {fmt('attack_probability', aid[0][2])}")
        terms = [f"{_TERMS[k]} ×{v:.2f}" for k, v in hz["terms"].items() if v < 0.99]
        if terms:
            parts.append("terms: " + ", ".join(terms))
        if hz["yearly"] < 2.0 * hz["floor"]:
            parts.append(f"it is near the floor no guarantee removes ({fmt('annual_attack_probability', hz['floor'])} a year)")
    cost = m["total_cost_usd_per_year"]
    if cost:
        split = ""
        if m.get("aid_usd_per_year") is not None:
            split = f" (the guarantee itself {fmt('total_cost_usd_per_year', m['guarantee_cost_usd_per_year'])}, aid {fmt('total_cost_usd_per_year', m['aid_usd_per_year'])})"
        text = f"it costs {fmt('total_cost_usd_per_year', cost)} a year{split}"
        if entry["guarantors"]:
            payer = max(entry["guarantors"], key=lambda g: g.get("cost_pct_gdp") or 0.0)
            text += f", {country(payer['iso3'], names)} paying most for its size ({fmt('max_cost_pct_gdp', payer.get('cost_pct_gdp'))})"
        parts.append(text)
    else:
        parts.append("it costs nothing")
    parts.append(f"approved and in force: {fmt('approval_probability', m['approval_probability'])}")
    return "; ".join(parts) + "."


def _possessive(name: str) -> str:
    """"France's", "the United States'"."""
    return name + ("'" if name.endswith("s") else "'s")


def reproduce(ids: list[str], files: list[str], overrides: dict, horizon: float | None, design: Design | None,
              thresholds: list[str] | None, *, edits: dict | None = None, downloads: list[dict] | None = None,
              scenario: str | None = None) -> dict:
    """The commands that reproduce a study: ``foedus compare`` (and
    ``foedus explore``, ``foedus report`` with futures) on ``files``, and the
    same in Python. ``scenario``: a named will scenario applied before the
    ``overrides`` (``--scenario ID``)."""
    sets = ([f"--scenario {scenario}"] if scenario else []) + [f"--set {k}={v:g}" for k, v in sorted(overrides.items())]
    hz = [f"--horizon {horizon:g}"] if horizon is not None else []
    quoted = list(map(shlex.quote, files))
    cli = " ".join(["foedus compare", *quoted, *sets, *hz, "--json"])
    lines = [
        "from foedus.data.loaders import load_countries, load_packages",
        "from foedus.data.parameter_set import ParameterSet",
        "from foedus.exploration.compare import comparison",
    ]
    body = ["", "countries = load_countries()", f"packages = load_packages({json.dumps(files)}, countries)"]
    real_edits = {k: v for k, v in (edits or {}).items() if v}
    if real_edits:
        lines.append("from foedus.interfaces.web.edits import apply_edits")
        body.append(f"packages = apply_edits(packages, {_py(real_edits)}, countries)  # the levers moved in the web app")
    body.append("parameters = ParameterSet.default()" + (f".with_scenario({scenario!r})" if scenario else "")
                + (f".with_overrides({_py(dict(sorted(overrides.items())))})" if overrides else ""))
    body.append(f"result = comparison(packages, parameters, countries, horizon={horizon!r})")
    explore_cli = None
    report_cli = " ".join(["foedus report", *quoted, *sets, *hz])
    if design is not None:
        ths = thresholds or []
        lines.append("from foedus.exploration.explore import explore_memory")
        lines.append("from foedus.exploration.robustness import parse_threshold")
        body.append(f"futures = explore_memory(packages, parameters, countries, {design.n_futures}, {design.seed}, sampler={design.sampler!r}, "
                    f"horizon={horizon!r}, thresholds=[parse_threshold(t) for t in {json.dumps(ths)}])")
        body.append("robustness = futures.robustness  # per package: satisficing, per_threshold, regret, percentiles")
        th_args = [f"--threshold {shlex.quote(t)}" for t in ths]
        explore_cli = " ".join(["foedus explore", *quoted, *sets, *hz, f"--futures {design.n_futures}", f"--seed {design.seed}",
                                f"--sampler {design.sampler}", *th_args])
        report_cli += " " + " ".join([f"--futures {design.n_futures}", f"--seed {design.seed}", *th_args])
    report_cli += " -o report.html"
    return {"cli": cli, "explore_cli": explore_cli, "report_cli": report_cli, "python": "\n".join(lines + body) + "\n",
            "downloads": downloads or [],
            "note": "Save the edited or uploaded packages listed under downloads next to the command first." if downloads else None}


def reproduce_sensitivity(file: str, metrics: list[str], n: int, seed: int, overrides: dict | None = None,
                          horizon: float | None = None) -> str:
    """The ``foedus sensitivity`` command that prints the indices of
    :func:`sensitivity` for the package in ``file``."""
    return " ".join(["foedus sensitivity", shlex.quote(file), *[f"--metric {m}" for m in metrics], f"--n {n}", f"--seed {seed}",
                     *[f"--set {k}={v:g}" for k, v in sorted((overrides or {}).items())],
                     *([f"--horizon {horizon:g}"] if horizon is not None else [])])


def _py(obj) -> str:
    """A Python literal for ``obj`` (JSON-compatible data)."""
    return repr(json.loads(json.dumps(obj)))
