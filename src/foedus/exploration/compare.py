"""Side-by-side comparison of packages: the central values, their ranges
over a default sample of futures, and what each guarantor's promise is worth
(the package without it). The JSON contract of ``foedus compare`` and of the
web API; the report renders it too.

Contract (documented in docs/cli.md)::

    {"packages": [{"id", "title", "kyiv_position",
                   "metrics": {<PACKAGE_METRICS> at the central values},
                   "ranges": {metric: {"p5", "p50", "p95"}},
                   "guarantors": [{"iso3", "credibility", "delivery", "cost_usd_per_year", ...,
                                   "attack_probability_without", "approval_probability_without",
                                   "attack_probability_without_promises", "attack_probability_without_aid",
                                   "elements": [{"legal_form", "trigger", "kinds", "credibility",
                                                 "delivery", "approval", "survival", "weight",
                                                 "cost_usd_per_year"}]}],
                   "collective": [{"group", "legal_form", "trigger", "kinds", "credibility",
                                   "delivery", "approval", "survival", "weight", "cost_usd_per_year"}],
                   "approvals": [{"approval", "by"}]}],
     "ranges": {"futures": N, "seed": S, "sampler": "lhs", "percentiles": [5, 50, 95]},
     "scenarios": [{"id", "title", "description", "set",
                    "packages": {id: {metric: {"value", "p5", "p50", "p95"}}}}],   (with by_scenario)
     "horizon_years": H, "parameters": {name: value used}, "overrides": {...},
     "data": {"latest", "parameters", "parameter", "countries", "packages", "calibrated", "judgement", "detail", "text"}}

Numbers are plain floats; a value that does not exist (capacity ratio with
nothing deployed) is ``null``. ``attack_probability_without`` is the
package's attack probability at the central values with that guarantor's
commitments removed (its own commitments dropped, and it is excluded from
any group commitment, as with ``except``, though an EU instrument that
needed a unanimous vote still needs it); ``..._without_promises`` removes
only its promises and forces (training, intelligence and monitoring
included) and ``..._without_aid`` only its money (military, humanitarian
and reconstruction aid), so that what a guarantor's money buys and what its
promise buys are told apart. ``collective`` lists the decisions a group
takes as one (EU sanctions snap-back, NATO's Article 5). ``scenarios``
gives each package's result in every named will scenario
(data/will_scenarios.yaml: will fixed, every other input sampled as in the
ranges), beside the pooled ranges in which will is sampled.
"""

from __future__ import annotations

import math

import numpy as np

from foedus.data.vintage import vintage
from foedus.exploration.assess import ELEMENT_METRICS, GUARANTOR_METRICS, PACKAGE_METRICS, attack_and_approval, central_weights, evaluate, make_inputs
from foedus.exploration.levers_cache import cached_per_packages, compiled, remember
from foedus.exploration.robustness import row_percentiles_each

#: Futures in the default sample behind the ranges of ``compare`` (LHS,
#: seeded): enough for stable 5th-95th percentiles, fast enough for the web page.
RANGE_FUTURES = 1000
#: Percentiles reported beside every central value.
RANGE_PERCENTILES = (5, 50, 95)
#: Metrics reported with and without each guarantor.
WITHOUT_METRICS = ("attack_probability", "approval_probability")
#: Which of a guarantor's commitments are removed: all, only its money, only its promises and forces.
WITHOUT_PARTS = ("all", "aid", "promises")
#: Metrics reported per named will scenario.
SCENARIO_METRICS = ("attack_probability",)


def _num(v: float) -> float | None:
    v = float(v)
    return None if math.isnan(v) or math.isinf(v) else v


def comparison(packages, parameters, countries, horizon: float | None = None, *, futures: int = RANGE_FUTURES, seed: int = 0,
               by_scenario: bool = False) -> dict:
    """Evaluate ``packages`` (validated :class:`Package` objects) at the
    values in force in ``parameters`` (central values, ranges over
    ``futures`` sampled futures, and each guarantor's worth) and return the
    JSON-ready contract. ``futures=0`` skips the ranges; ``by_scenario``
    adds the results per named will scenario."""
    vals = parameters.values()
    h = float(horizon if horizon is not None else vals["assessment.horizon_years"])
    lv = compiled(packages, countries)
    x = make_inputs(parameters)
    w = central_weights(lv, x)
    ev = evaluate(lv, x, h, weights=w, detail=True, internals=True)
    ranges = package_ranges(lv, parameters, h, futures, seed, weights=w) if futures else None
    without = worth_of_guarantors(packages, parameters, countries, h, base=ev)
    rows = {m: _nums(ev.rows[m][:, 0]) for m in GUARANTOR_METRICS}
    short = (ev.rows["shortfall"][:, 0] > 0).tolist()
    elements = _element_records(lv, ev)
    rows_of = _indices_by(lv.q_package, lv.n_packages)
    els_of = _indices_by(lv.el_q, lv.n_rows)
    out = []
    for p_i, pkg in enumerate(packages):
        guarantors = []
        for q in rows_of[p_i]:
            iso = lv.guarantors[lv.q_guarantor[q]]
            g = {"iso3": iso}
            g.update({m: rows[m][q] for m in GUARANTOR_METRICS})
            g["capacity_shortfall"] = short[q]
            for m in WITHOUT_METRICS:
                g[f"{m}_without"] = _num(without[(p_i, iso, "all")][m])
            for part in WITHOUT_PARTS[1:]:
                g[f"attack_probability_without_{part}"] = _num(without[(p_i, iso, part)]["attack_probability"])
            g["elements"] = [elements[e] for e in els_of[q] if not lv.collective[e]]
            guarantors.append(g)
        entry = {
            "id": pkg.id,
            "title": pkg.title,
            "kyiv_position": pkg.kyiv_position.value,
            "metrics": {m: _num(ev.packages[m][p_i, 0]) for m in PACKAGE_METRICS},
            "hazard": hazard_terms(ev.internals, x, p_i),
        }
        if ranges is not None:
            entry["ranges"] = {m: {f"p{q}": _num(ranges[m][p_i, j]) for j, q in enumerate(RANGE_PERCENTILES)} for m in PACKAGE_METRICS}
        entry["guarantors"] = guarantors
        entry["collective"] = [elements[e] | {"group": lv.group[e]} for e in np.nonzero((lv.el_package == p_i) & lv.collective)[0]]
        entry["approvals"] = [{"approval": a, "by": by} for a, by in lv.approvals_by_package[p_i]]
        out.append(entry)
    used = {k: v for k, v in sorted(vals.items())}
    used["assessment.horizon_years"] = h
    result = {"packages": out, "horizon_years": h, "parameters": used, "overrides": dict(parameters.overrides),
              "data": vintage(parameters, countries, packages).record()}
    if ranges is not None:
        result["ranges"] = {"futures": int(futures), "seed": int(seed), "sampler": "lhs", "percentiles": list(RANGE_PERCENTILES)}
    if by_scenario:
        result["scenarios"] = scenario_results(lv, parameters, h, futures, seed)
    return result


def scenario_results(lv, parameters, horizon: float, futures: int, seed: int) -> list[dict]:
    """Every package in every named will scenario: the central value and,
    over ``futures`` futures (will fixed, every other input sampled), the
    5th, 50th and 95th percentiles of :data:`SCENARIO_METRICS`."""
    from foedus.data.loaders import load_will_scenarios

    out = []
    for sid, sc in load_will_scenarios().scenarios.items():
        ps = parameters.with_overrides(sc.set, "--scenario")
        ev = evaluate(lv, make_inputs(ps), horizon)
        rng = package_ranges(lv, ps, horizon, futures, seed) if futures else None
        pk = {}
        for p_i, pid in enumerate(lv.package_ids):
            pk[pid] = {m: {"value": _num(ev.packages[m][p_i, 0]),
                           **({f"p{q}": _num(rng[m][p_i, j]) for j, q in enumerate(RANGE_PERCENTILES)} if rng is not None else {})}
                       for m in SCENARIO_METRICS}
        out.append({"id": sid, "title": sc.title, "description": " ".join(sc.description.split()), "set": dict(sc.set), "packages": pk})
    return out


def hazard_terms(internals: dict, x, p_i: int) -> dict:
    """What makes up a package's yearly hazard at the central values
    (models/deterrence.py): the floor; the base hazard at its local balance
    and Ukraine's alone at the reference balance; the local balance over the
    reference; the factor of its guarantees and of each term (1: none)."""
    from foedus.models.deterrence import HAZARD_RATIOS

    def v(name):
        return float(np.broadcast_to(internals[name], (internals[name].shape[0], 1))[p_i, 0])

    ratio = v("defender_strength") / float(x["deterrence.adversary_forces"][0]) / float(x["deterrence.reference_force_ratio"][0])
    return {
        "yearly": v("annual_attack_probability"),
        "floor": float(x["deterrence.floor_hazard"][0]),
        "base": v("base_hazard"),
        "reference": float(x["deterrence.base_hazard"][0]),
        "local_balance": ratio,
        "guarantees": v("guarantee_hazard_ratio"),
        "terms": {k: float(x[param][0]) ** v(f"phi_{k}") for k, param in HAZARD_RATIOS.items()},
    }


def _element_records(lv, ev) -> list[dict]:
    """Each element's record (legal form, trigger, kinds and
    ``ELEMENT_METRICS`` at the central values), read column by column."""
    from foedus.models.levers import FORMS, TRIGGERS

    cols = {m: _nums(ev.elements[m][:, 0]) for m in ELEMENT_METRICS}
    out = []
    for e, (f, t, kinds) in enumerate(zip(lv.form.tolist(), lv.trigger.tolist(), lv.kinds)):
        rec = {"legal_form": FORMS[f], "trigger": TRIGGERS[t], "kinds": list(kinds)}
        rec.update({m: col[e] for m, col in cols.items()})
        out.append(rec)
    return out


def _nums(a: np.ndarray) -> list[float | None]:
    """:func:`_num` of every value of a 1-D array."""
    return [v if math.isfinite(v) else None for v in np.asarray(a, dtype=np.float64).tolist()]


def _indices_by(index: np.ndarray, n: int) -> list[list[int]]:
    """``[i for i where index[i] == k]`` for each ``k < n``, in order."""
    order = np.argsort(index, kind="stable")
    return [part.tolist() for part in np.split(order, np.cumsum(np.bincount(index, minlength=n))[:-1])]


def package_ranges(lv, parameters, horizon: float, futures: int, seed: int, *, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Percentiles ``(P, len(RANGE_PERCENTILES))`` of every package metric
    over ``futures`` futures of the default design (LHS, ``seed``);
    ``weights``: the approval weights at the central values, when the
    caller has them already."""
    from foedus.exploration.futures import Design

    design = Design.from_parameters(parameters, sampler="lhs", seed=seed, block=max(int(futures), 1))
    cols = design.as_dict(design.block_values(0, int(futures)))
    x = make_inputs(parameters, cols) if cols else make_inputs(parameters)
    ev = evaluate(lv, x, horizon, weights=central_weights(lv, make_inputs(parameters)) if weights is None else weights)
    q = row_percentiles_each([np.broadcast_to(ev.packages[m], (lv.n_packages, x.n)) for m in PACKAGE_METRICS], RANGE_PERCENTILES)
    return {m: qm.T for m, qm in zip(PACKAGE_METRICS, q)}


def worth_of_guarantors(packages, parameters, countries, horizon: float, base=None) -> dict[tuple[int, str, str], dict[str, float]]:
    """``{(package index, ISO3, part): {metric: value}}``: each package at the
    central values with one guarantor's commitments removed (``part``: all,
    only its aid, only its promises), for every guarantor of every package
    (one compilation, one evaluation). Where a guarantor gives only money
    (or only promises) one of the partial removals is the whole removal and
    the other changes nothing; only the distinct variants are evaluated.
    The variants depend only on the packages, so their compilation is
    cached; ``base``, the packages' own evaluation at the central values
    when the caller has it, is what a removal that changes nothing gives."""
    keys, lw, same = _variants(packages, countries)
    if not keys:
        return {}
    got = attack_and_approval(lw, make_inputs(parameters), horizon)
    out = {k: {m: float(got[m][i, 0]) for m in WITHOUT_METRICS} for i, k in enumerate(keys)}
    if same:
        if base is None:
            base = evaluate(compiled(packages, countries), make_inputs(parameters), horizon)
        for k, ref in same.items():
            out[k] = dict(out[ref]) if ref is not None else {m: float(base.packages[m][k[0], 0]) for m in WITHOUT_METRICS}
    return out


_VARIANTS: dict = {}
#: Sets of packages whose variants without each guarantor are kept.
KEEP_VARIANTS = 32
#: The variants compiled last for each list of variant ids (the ids name
#: the package and the guarantor left out), whatever their sizes: the
#: levers the next compilation of variants with the same ids resizes when
#: only sizes changed (a slider moved troops or money; 17 -> 8 ms for the
#: Coalition package's 90 variants).
_LAST_VARIANTS: dict = {}


def _variants(packages, countries):
    """Every package without each of its guarantors (all, aid, promises),
    compiled once per set of packages: the evaluated keys, their levers, and
    ``{key: same key or None}`` for the partial removals equal to the whole
    removal (the key it equals) or to the package itself (None)."""
    return cached_per_packages(_VARIANTS, packages, countries, lambda: _build_variants(packages, countries), KEEP_VARIANTS)


def _build_variants(packages, countries):
    from foedus.domain.vocabulary import MONEY_KINDS
    from foedus.models.levers import compile_packages

    lv = compiled(packages, countries)
    keys, variants, same = [], [], {}
    for p_i, pkg in enumerate(packages):
        for iso in dict.fromkeys(lv.guarantors[g] for g in lv.q_guarantor[lv.q_package == p_i]):
            keys.append((p_i, iso, "all"))
            variants.append(pkg.without(iso, countries))
            mine = [c for c in pkg.commitments if c.guarantor == iso or _binds(c, iso, countries)]
            money = {c.kind in MONEY_KINDS for c in mine}
            for part in ("aid", "promises"):
                if money == {True, False}:
                    keys.append((p_i, iso, part))
                    variants.append(pkg.without(iso, countries, part))
                else:
                    only_money = money == {True}
                    same[(p_i, iso, part)] = (p_i, iso, "all") if only_money == (part == "aid") else None
    if not variants:
        return keys, None, same
    # after a slider moved sizes only, the variants are those compiled last
    # but for their sizes: resized, not compiled afresh (compile_packages)
    ids = tuple(v.id for v in variants)
    lw = compile_packages(variants, countries, like=_LAST_VARIANTS.get(ids))
    remember(_LAST_VARIANTS, ids, lw, KEEP_VARIANTS)
    return keys, lw, same


def _binds(c, iso: str, countries) -> bool:
    """Whether group commitment ``c`` binds ``iso`` (a member not excepted)."""
    from foedus.domain.vocabulary import GROUPS

    return c.guarantor in GROUPS and iso in countries.bound(c.guarantor, tuple(c.except_))[0]

