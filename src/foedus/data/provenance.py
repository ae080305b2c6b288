"""What a stored run was computed from, and whether today's data still
match it.

:func:`run_provenance` is kept in every stored run's metadata (``explore``
and ``optimise``): every parameter value in force (defaults and overrides,
so a run can be recomputed even after the defaults change), the text of
each package file it evaluated (``explore``; a few kilobytes each, so that
editing a file later does not lose the run) and a SHA-256 digest of each
shipped data file the model reads (the parameter files, the country table,
the calibration file and the named will scenarios).
``foedus runs reproduce`` (:mod:`foedus.exploration.reproduce`) rebuilds a
run from this record.
:func:`changed_since` compares a run's digests with today's files, so that
``foedus runs show`` can say a run is stale.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def data_files() -> dict[str, Path]:
    """The shipped data files the model reads, by a stable name
    (``parameters/deterrence.yaml``, ``countries.yaml``, ...)."""
    from foedus.data.loaders import _data_path, calibration_path, parameter_files

    out = {f"parameters/{p.name}": p for p in parameter_files()}
    out["countries.yaml"] = _data_path("countries.yaml")
    out["calibration.yaml"] = calibration_path()
    out["will_scenarios.yaml"] = _data_path("will_scenarios.yaml")
    return out


def data_digests() -> dict[str, str]:
    """SHA-256 of each of :func:`data_files`, by name (as a package file's
    digest is taken)."""
    from foedus.data.loaders import package_hash

    return {name: package_hash(p) for name, p in sorted(data_files().items())}


def run_provenance(parameters, package_files: Mapping[str, str | Path] | None = None) -> dict:
    """What a run records of its inputs: ``parameter_values`` (every value
    in force, ``parameters`` being the run's ParameterSet), ``data_sha256``
    (:func:`data_digests`) and, given ``package_files`` (package id ->
    path), ``package_texts`` (package id -> the file's text)."""
    values = {k: float(v) for k, v in sorted(parameters.values().items())}
    out = {"parameter_values": values, "data_sha256": data_digests()}
    if package_files is not None:
        out["package_texts"] = {pid: Path(path).read_text(encoding="utf-8") for pid, path in package_files.items()}
    return out


def changed_since(provenance: Mapping | None) -> list[str] | None:
    """The data files that differ from those a run recorded (added, removed
    or edited), sorted; None when the run recorded none (made before
    runs recorded their data)."""
    if not provenance or not isinstance(provenance.get("data_sha256"), Mapping):
        return None
    then, now = dict(provenance["data_sha256"]), data_digests()
    return sorted(name for name in set(then) | set(now) if then.get(name) != now.get(name))
