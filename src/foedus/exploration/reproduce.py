"""Rebuilding a stored exploration from what it recorded (``foedus runs
reproduce``).

An ``explore`` run records (:func:`foedus.data.provenance.run_provenance`)
every parameter value in force and the text of each package it evaluated;
``extra.design`` holds the sampled design (names, ranges, marginals,
sampler, seed, block size) and the run's row its horizon, thresholds and
stored metrics. :func:`rebuilt_spec` turns that record back into the
:class:`~foedus.exploration.explore.RunSpec` of the run without reading
today's parameter or package files, so a run made before the defaults (or a
package file) changed is rebuilt as it was. Same machine and foedus
version, same numbers: the caller stores the rebuilt run and compares the
two runs' ``results_hash``.

Refused, with the reason: a run that recorded no parameter values or no
package texts (made by an earlier foedus), a run of another kind (an
``optimise`` run is reproduced by its command), and a run whose country
table has changed since (the compiled packages read it and the run did not
record it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from foedus.domain.errors import InputError, Problem
from foedus.exploration.robustness import Threshold


@dataclass(frozen=True)
class Rebuilt:
    """A stored run's specification rebuilt from its record."""

    spec: object  # RunSpec
    packages: list
    package_ids: list[str]
    thresholds: list[Threshold]


def _refuse(run_id: str, field: str, why: str) -> InputError:
    return InputError(f"run {run_id}", [Problem(field, why)])


def rebuilt_spec(meta: Mapping) -> Rebuilt:
    """The :class:`Rebuilt` run of the stored run ``meta`` (``RunStore.get_run``)."""
    from foedus.data.loaders import load_countries, parse_package
    from foedus.data.provenance import changed_since
    from foedus.exploration.assess import central_weights
    from foedus.exploration.explore import RunSpec, with_yearly
    from foedus.exploration.levers_cache import compiled
    from foedus.exploration.futures import Design
    from foedus.exploration.robustness import parse_threshold
    from foedus.models.inputs import Inputs

    rid = str(meta.get("run_id"))
    extra = meta.get("extra") or {}
    if (extra.get("kind") or "explore") != "explore":
        raise _refuse(rid, "kind", f"an exploration (explore) run; this is a {extra.get('kind')} run, reproduced by the command in runs show")
    prov = extra.get("provenance") or {}
    values = prov.get("parameter_values")
    texts = prov.get("package_texts")
    if not values or not texts:
        missing = "its parameter values" if not values else "its package texts"
        raise _refuse(rid, "extra.provenance", f"a run that recorded {missing}; runs made by foedus {extra.get('foedus_version', 'before 0.x')} did not: rerun it with foedus explore")
    if "design" not in extra:
        raise _refuse(rid, "extra.design", "a run that recorded its design")
    changed = changed_since(prov) or []
    if "countries.yaml" in changed:
        raise _refuse(rid, "countries.yaml", "the country table the run was computed with; it has changed since, and runs do not record it (changed since the run: " + ", ".join(changed) + ")")
    ids = [p["id"] for p in meta["packages"]]
    absent = [pid for pid in ids if pid not in texts]
    if absent:
        raise _refuse(rid, "extra.provenance.package_texts", f"the text of every package; missing: {', '.join(absent)}")
    countries = load_countries()
    packages = [parse_package(texts[pid], f"{pid} (as recorded by run {rid})", countries) for pid in ids]
    design = Design.from_json(extra["design"])
    vals = {k: float(v) for k, v in values.items()}
    lv = compiled(packages, countries)
    metrics = tuple(meta["metric_names"])
    yearly = [m for m in metrics if "@" in m]  # after the others, as with_yearly puts them
    spec = RunSpec(lv, vals, design, int(meta["n_futures"]), float(meta["horizon_years"]), central_weights(lv, Inputs(vals, 1)),
                   metrics=tuple(m for m in metrics if m not in yearly))
    if yearly:
        spec = with_yearly(spec, yearly, packages, countries)
    ths = [parse_threshold(t, metrics) for t in meta.get("thresholds") or []]
    return Rebuilt(spec, packages, ids, ths)
