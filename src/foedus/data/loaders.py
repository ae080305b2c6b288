"""Load the shipped data (countries, parameters) and users' package files.

Everything read from disk goes through :mod:`foedus.data.yamlio` (safe YAML,
duplicate keys rejected, line numbers kept) and pydantic validation, so a bad
file always becomes an :class:`~foedus.domain.errors.InputError`. The shipped
files are read once per process and cached.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from foedus.data.validation import validate
from foedus.data.yamlio import load, loads
from foedus.domain.country import CountryTable
from foedus.domain.errors import InputError, Problem
from foedus.domain.package import Package
from foedus.domain.parameter import Parameter
from foedus.domain.reference import Reference

DATA = "foedus.data"


def _data_path(*parts: str) -> Path:
    return Path(str(resources.files(DATA).joinpath(*parts)))


@lru_cache(maxsize=4)
def load_countries(path: str | None = None) -> CountryTable:
    """The country table (shipped file unless ``path`` is given)."""
    p = Path(path) if path else _data_path("countries.yaml")
    data, lines = load(p)
    _check_country_sources(data, lines, str(p))
    return validate(CountryTable, data, file=str(p), lines=lines)


def _check_country_sources(data: Any, lines: dict, file: str) -> None:
    """Every figure's and fact's ``source`` must be a key of ``sources``;
    checked here (not only in :class:`CountryTable`) to name the line."""
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict) or not isinstance(data.get("countries"), dict):
        return  # pydantic reports the shape
    sources = data["sources"]
    problems = []
    for iso, country in data["countries"].items():
        for fname, fig in (country.items() if isinstance(country, dict) else ()):
            src = fig.get("source") if isinstance(fig, dict) else None
            if isinstance(src, str) and src not in sources:
                loc = ("countries", iso, fname, "source")
                problems.append(Problem(f"countries.{iso}.{fname}.source", f"expected a key of sources; '{src}' is not one", lines.get(loc)))
    if problems:
        raise InputError(file, problems)


def parameter_files(directory: str | Path | None = None) -> list[Path]:
    d = Path(directory) if directory else _data_path("parameters")
    return sorted(d.glob("*.yaml"))


def _resolve_refs(raw: Any, sources: dict[str, Reference], where: str, file: str, line: int | None) -> list:
    if not isinstance(raw, list):
        return raw  # pydantic reports the type error
    out = []
    for i, r in enumerate(raw):
        if isinstance(r, str):
            if r not in sources:
                known = ", ".join(sources) or "none defined"
                raise InputError(file, [Problem(f"{where}[{i}]", f"expected a key of this file's sources ({known}); '{r}' is not one", line)])
            out.append(sources[r])
        else:
            out.append(r)
    return out


def _prefix(exc: InputError, prefix: str) -> None:
    for prob in exc.problems:
        object.__setattr__(prob, "field", f"{prefix}.{prob.field}" if prob.field not in ("", "(document)") else prefix)


def parse_parameter_file(path: Path, text: str | None = None) -> dict[str, Parameter]:
    """Parse one parameter file: ``sources`` (id -> reference) and
    ``parameters`` (key -> parameter). Names are ``<file stem>.<key>``."""
    file = str(path)
    data, lines = loads(text, file) if text is not None else load(path)
    if not isinstance(data, dict):
        raise InputError(file, [Problem("(document)", "expected a mapping with keys 'sources' and 'parameters'", 1)])
    unknown = set(data) - {"sources", "parameters"}
    if unknown:
        k = sorted(unknown)[0]
        raise InputError(file, [Problem(str(k), "unknown key; a parameter file has only 'sources' and 'parameters'", lines.get((k,)))])
    raw_sources = data.get("sources") or {}
    if not isinstance(raw_sources, dict):
        raise InputError(file, [Problem("sources", "a mapping of source id to reference", lines.get(("sources",)))])
    sources: dict[str, Reference] = {}
    for sid, ref in raw_sources.items():
        sub = {k[2:]: v for k, v in lines.items() if k[:2] == ("sources", sid)}
        try:
            sources[sid] = validate(Reference, ref, file=file, lines={(): lines.get(("sources", sid))} | sub)
        except InputError as exc:
            _prefix(exc, f"sources.{sid}")
            raise
    params = data.get("parameters")
    if not isinstance(params, dict) or not params:
        raise InputError(file, [Problem("parameters", "a non-empty mapping of parameter name to definition", lines.get(("parameters",)))])
    stem = path.stem
    out: dict[str, Parameter] = {}
    for key, body in params.items():
        base = ("parameters", key)
        sub = {k[2:]: v for k, v in lines.items() if k[:2] == base}
        if not isinstance(body, dict):
            raise InputError(file, [Problem(f"parameters.{key}", "a mapping with description, unit, values, references", lines.get(base))])
        body = dict(body)
        if "references" in body:  # a missing key stays missing: pydantic reports "required field is missing"
            body["references"] = _resolve_refs(body.get("references"), sources, f"parameters.{key}.references", file, lines.get(base + ("references",)))
        unc = body.get("uncertainty")
        if isinstance(unc, dict) and "references" in unc:
            unc = dict(unc)
            unc["references"] = _resolve_refs(unc.get("references"), sources, f"parameters.{key}.uncertainty.references", file, lines.get(base + ("uncertainty", "references"), lines.get(base + ("uncertainty",))))
            body["uncertainty"] = unc
        body["name"] = f"{stem}.{key}"
        body["group"] = stem
        try:
            p = validate(Parameter, body, file=file, lines=sub | {(): lines.get(base)})
        except InputError as exc:
            _prefix(exc, f"parameters.{key}")
            raise
        out[p.name] = p
    return out


@lru_cache(maxsize=4)
def _load_parameters_cached(directory: str | None, stamp: tuple) -> tuple[Parameter, ...]:
    # ``stamp`` (each file's name, size and modification time) is part of the
    # key, so a file rewritten in this process (a calibration fit) is read again
    out: dict[str, Parameter] = {}
    for f in parameter_files(directory):
        for name, p in parse_parameter_file(f).items():
            out[name] = p
    return tuple(out.values())


def load_parameters(directory: str | Path | None = None) -> dict[str, Parameter]:
    """All parameters, by full name, from the shipped files (or ``directory``)."""
    stamp = tuple((f.name, st.st_size, st.st_mtime_ns) for f in parameter_files(directory) for st in [f.stat()])
    return {p.name: p for p in _load_parameters_cached(str(directory) if directory else None, stamp)}


def package_hash(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_package(path: str | Path, countries: CountryTable | None = None) -> Package:
    """Read and validate a package file (raises :class:`InputError`)."""
    p = Path(path)
    data, lines = load(p)
    table = countries if countries is not None else load_countries()
    return validate(Package, data, file=str(p), lines=lines, context={"countries": table.countries})


def parse_package(text: str, name: str = "<upload>", countries: CountryTable | None = None) -> Package:
    """Validate a package given as YAML/JSON text (web uploads)."""
    data, lines = loads(text, name)
    table = countries if countries is not None else load_countries()
    return validate(Package, data, file=name, lines=lines, context={"countries": table.countries})


def reparse_package(text: str, name: str, countries: CountryTable) -> Package:
    """Validate a package file this program has just written (``package_text``)
    exactly as a package file is validated, read with libyaml: the text is
    its own, so the hostile-input limits and the line map of
    :func:`parse_package` (a tenth of a second per seed-sized package) are
    not needed; a problem is still reported with file and field."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return validate(Package, yaml.load(text, Loader=loader), file=name, context={"countries": countries.countries})


def load_packages(paths: list[str | Path], countries: CountryTable | None = None) -> list[Package]:
    """Load many packages; all problems from all files are reported together
    (the first file's error is raised with the others appended)."""
    errors: list[InputError] = []
    out: list[Package] = []
    for p in paths:
        try:
            out.append(load_package(p, countries))
        except InputError as exc:
            errors.append(exc)
    if errors:
        if len(errors) == 1:
            raise errors[0]
        raise MultiInputError(errors)
    ids = [p.id for p in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise InputError(str(paths[ids.index(dup[0])]), [Problem("id", f"package ids must be unique across files; '{dup[0]}' is used twice")])
    return out


class MultiInputError(InputError):
    """Several files, each with its problems."""

    def __init__(self, errors: list[InputError]):
        self.errors = errors
        super().__init__(None, [p for e in errors for p in e.problems])

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


def calibration_path() -> Path:
    """The shipped calibration file (targets, set-ups, sample)."""
    return _data_path("calibration.yaml")


def load_calibration(path: str | Path | None = None, countries: CountryTable | None = None):
    """The calibration targets and set-ups (shipped file unless ``path`` is given)."""
    from foedus.domain.calibration import CalibrationData

    p = Path(path) if path else calibration_path()
    data, lines = load(p)
    table = countries if countries is not None else load_countries()
    return validate(CalibrationData, data, file=str(p), lines=lines, context={"countries": table.countries})


@lru_cache(maxsize=2)
def load_will_scenarios(path: str | None = None):
    """The named will scenarios (shipped file unless ``path`` is given); their
    references name keys of the file's ``sources``."""
    from foedus.domain.scenario import WillScenarios

    p = Path(path) if path else _data_path("will_scenarios.yaml")
    data, lines = load(p)
    if isinstance(data, dict) and isinstance(data.get("sources"), dict) and isinstance(data.get("scenarios"), dict):
        sources = {k: validate(Reference, v, file=str(p), lines=lines) for k, v in data["sources"].items()}
        for sid, body in data["scenarios"].items():
            if isinstance(body, dict):
                body["references"] = _resolve_refs(body.get("references"), sources, f"scenarios.{sid}.references", str(p), lines.get(("scenarios", sid, "references")))
        data = {"scenarios": data["scenarios"]}
    return validate(WillScenarios, data, file=str(p), lines=lines)


def load_design(path: str | Path, countries: CountryTable | None = None):
    """Read and validate a design file and its base package (raises
    :class:`InputError` naming the file, line, field and expectation).
    Returns ``(design, base package, base path)``; the base path is read
    relative to the design file."""
    from foedus.domain.design import DesignSpace, check_against

    p = Path(path)
    data, lines = load(p)
    try:
        space = validate(DesignSpace, data, file=str(p), lines=lines)
    except InputError as exc:
        raise InputError(exc.file, [_design_problem(prob) for prob in exc.problems]) from None
    base_path = Path(space.base) if Path(space.base).is_absolute() else p.parent / space.base
    if not base_path.is_file():
        why = "is a directory, not a file" if base_path.is_dir() else "does not exist"
        shown = os.path.normpath(base_path)
        raise InputError(str(p), [Problem("base", f"expected a package file (relative to the design file); {shown} {why}", lines.get(("base",)))])
    table = countries if countries is not None else load_countries()
    base = load_package(base_path, table)
    problems = [Problem(".".join(map(str, loc)), f"expected {expected}", lines.get(loc) or lines.get(loc[:2]) or lines.get(loc[:1]))
                for loc, expected in check_against(space, base, table)]
    if problems:
        raise InputError(str(p), problems)
    return space, base, base_path


def _design_problem(prob: Problem) -> Problem:
    """A design file's problem as its reader needs it: an unknown key names
    the keys it may mean (also under a guarantor, which the generic
    validation cannot see through) and points to docs/design.md; a problem
    with the whole file is named ``(document)``."""
    import difflib

    from foedus.domain.design import DesignSpace, DesignTerms, ElementOption, GuarantorSpace, SizeRange

    if not prob.field:
        return Problem("(document)", prob.expected, prob.line)
    if not prob.expected.startswith("unknown key"):
        return prob
    parts = prob.field.split(".")
    where = tuple("*" if i == 1 and parts[0] in ("guarantors", "terms") or i == 2 and parts[0] == "guarantors" else x
                  for i, x in enumerate(parts[:-1]))
    model = {(): DesignSpace, ("guarantors", "*"): GuarantorSpace, ("guarantors", "*", "*"): SizeRange,
             ("terms",): DesignTerms, ("terms", "*"): ElementOption}.get(where)
    near = difflib.get_close_matches(parts[-1], list(model.model_fields), n=2, cutoff=0.6) if model else []
    hint = f"did you mean {' or '.join(near)}? " if near else ""
    return Problem(prob.field, f"unknown key ({hint}check spelling; see docs/design.md for the allowed keys)", prob.line)


def package_text(pkg: Package, header: str = "") -> str:
    """A package as the text of a package file (YAML), loadable by
    :func:`load_package`: counts that a group's share made fractional are
    rounded to whole persons, aircraft, ships and units (so pydantic's
    warnings about floats in integer fields are off: the rounding is here),
    and sizes of zero, the default, are left out. ``header`` lines become
    comments at the top."""
    import yaml

    data = pkg.model_dump(mode="json", exclude_none=True, by_alias=True, warnings=False)
    for c in data["commitments"]:
        for k in ("troops", "aircraft", "ships", "units"):
            v = c.get(k)
            if isinstance(v, dict):
                c[k] = {y: int(round(x)) for y, x in v.items()}
            elif v is not None:
                c[k] = int(round(v))
        for k in ("troops", "aircraft", "ships", "units", "usd_per_year"):
            if c.get(k) == 0:
                del c[k]
        for k in ("approvals", "except", "sources"):
            if c.get(k) == []:
                del c[k]
    head = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    # libyaml's emitter when PyYAML has it (six times faster, the same text)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return head + yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=110)
