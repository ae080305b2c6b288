"""The web app's workspace: packages on offer (shipped and uploaded), the
parameter set in force, and cached evaluations.

No model here: every number comes from :func:`foedus.exploration.compare.comparison`
(central values, their ranges over the default sample of futures, and each
guarantor's worth: without all its commitments, only its promises, only
its money), :attr:`foedus.study.study.Study.by_year` (the yearly path from
the start year to the horizon), :func:`foedus.exploration.compare.scenario_results` (each
package in every named will scenario), :func:`foedus.exploration.explore.explore_memory`
(futures), robustness from :mod:`foedus.exploration.robustness`, failure
boxes from PRIM and the calibration targets from
:class:`foedus.exploration.calibration.Calibration`. This module only
selects, edits (lever edits are data changes to a package, see
:mod:`foedus.interfaces.web.edits`), caches and shapes results for the page:
:meth:`Workspace.compare` cuts each package's entry of the comparison to
what the page shows at once, :meth:`Workspace.compare_detail` gives one
package's whole entry (guarantors, commitments) on demand, both from the
same cached comparison.

Caches: a comparison per *package* by (package after edits, overrides,
horizon); the yearly path per *package* by the same key; the results per will scenario per *package* by (package after
edits, overrides without will, horizon); an exploration per *package* by
(package after edits, overrides, futures, seed, sampler, horizon), so moving a lever of one package
re-evaluates that package only, and the other packages come from the cache
(a package's numbers, and future ``i``, do not depend on which packages
are evaluated with it; they agree with an evaluation of all the packages
together to within floating-point rounding).
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from foedus.data.loaders import load_countries, load_package, parse_package
from foedus.data.parameter_set import ParameterSet
from foedus.domain.errors import InputError, Problem
from foedus.domain.package import Package
from foedus.domain.metrics import CATALOGUE, ELEMENT, PACKAGE, TABLE_METRICS, YEAR, metric
from foedus.exploration.futures import KeptBlocks, keeping_blocks
from foedus.study.formatting import fmt, fmt_range, label, number
from foedus.study.study import bottom_line
from foedus.interfaces.web.edits import apply_edit, is_empty, lever_summary
from foedus.interfaces.web.uploads import UploadStore

#: Bounds on one request (memory and time).
MAX_PACKAGES = 16
MAX_FUTURES = 20_000
MAX_UPLOADS = 64
MAX_PACKAGE_TEXT = 512 * 1024
MAX_THRESHOLDS = 8
#: Sobol' sensitivity from the page: base samples offered (n x (inputs + 2)
#: evaluations; 1,024 x 52 takes about half a second on one core, 2,048 about
#: 1.5 s) and the default metrics. One runs at a time per server.
SENSITIVITY_SIZES = (256, 512, 1024, 2048)
SENSITIVITY_N = 1024
SENSITIVITY_METRICS = ("attack_probability", "approval_probability", "escalation_risk", "total_cost_usd_per_year")
MAX_SENSITIVITY_METRICS = 6

#: Design search from the page (``POST /api/optimise``, a
#: :class:`foedus.study.design_search.DesignSearch`): defaults and hard
#: bounds, so that one request stays within seconds to about 30 s on a
#: 2-core machine (1,000 futures x population 48 x 24 generations, about
#: 1,000 candidates, takes about 17 s on one idle core). At most
#: ``OPTIMISE_MAX_DESIGNS`` front members are offered (added as uploads).
OPTIMISE_DEFAULTS = {"futures": 300, "population": 24, "generations": 12, "seed": 0}
OPTIMISE_BOUNDS = {"futures": (50, 1000), "population": (4, 48), "generations": (1, 24)}
OPTIMISE_MAX_DESIGNS = 12

#: Assumptions about the world shown as sliders, kept apart from the levers:
#: (parameter, title saying exactly what it moves, group). A per-country will
#: (will.GBR) falls back on will.default until it is set.
ASSUMPTIONS: tuple[tuple[str, str, str], ...] = (
    ("will.USA", "Political will of the United States (its own commitments)", "will"),
    ("will.GBR", "Political will of the United Kingdom", "will-eu"),
    ("will.FRA", "Political will of France", "will-eu"),
    ("will.DEU", "Political will of Germany", "will-eu"),
    ("will.POL", "Political will of Poland", "will-eu"),
    ("will.default", "Political will of every other guarantor (each one not set on its own)", "will-eu"),
    ("deterrence.resolve", "Adversary resolve (odds multiplier on renewing the war, 1 = as the ceasefire record)", "adversary"),
    ("deterrence.adversary_forces", "Russian forces available for a renewed offensive", "adversary"),
    ("deterrence.floor_hazard", "Yearly risk no guarantee deters", "deterrence"),
    ("deterrence.decisive_window_days", "Days in which reinforcements must arrive", "deterrence"),
    ("credibility.reliability_prior", "Defence pacts the average ally honours (ratified, automatic)", "reliability"),
    ("forces.rotation_ratio", "Personnel needed per soldier deployed (rotation and support)", "forces"),
    ("costs.soldier_year.expeditionary", "Cost per soldier-year under fire (contested deployment; a share of it by posture)", "costs"),
    ("costs.soldier_year.stationing", "Cost per soldier-year stationed in peacetime (the floor of every posture)", "costs"),
)
#: The European will sliders moved together by the "European political will" control.
EUROPEAN_WILL = tuple(n for n, _, g in ASSUMPTIONS if g == "will-eu")
#: Parameters of political will (the scale of data/will_scenarios.yaml: 0 never
#: acts, 0.5 the average ally, 1 the most willing ally on record). Their sliders
#: span the whole scale, wider than the range they are sampled over, so that a
#: named scenario (the US walks away: 0) can be shown on them.
WILL_PREFIX = "will."
WILL_SCALE = (0.0, 1.0)

#: The cost per year, then what it is made of: the guarantee itself and the aid.
COST_SPLIT = ("total_cost_usd_per_year", "guarantee_cost_usd_per_year", "aid_usd_per_year")
#: The yearly charts, baseline against current (Study.by_year): cost per
#: year, forces deployed and the attack by the end of each year.
YEAR_CHARTS = ("total_cost_usd_per_year", "troops_deployed", "attack_probability")
#: The totals over the years shown under them: (key in the record's totals, the metric that formats it).
YEAR_TOTALS = (("cumulative_cost_usd", "cumulative_cost_usd"), ("discounted_cost_usd", "discounted_cost_usd"),
               ("attack_probability", "attack_probability"), ("peak_cost_usd_per_year", "total_cost_usd_per_year"))
#: Per-guarantor figures shown with "whose promise counts" (from the comparison).
WORTH_DETAIL = ("credibility", "delivery", "cost_usd_per_year", "cost_pct_gdp")
#: Guarantors per package that ``/api/compare`` lists under "whose promise
#: counts" (those the page shows at once, whose absence raises the attack
#: probability most); every guarantor comes with ``/api/compare/detail``.
WORTH_SHOWN = 5
#: What ``/api/compare`` carries of each package's entry in the comparison
#: record: what the page shows at once (title, central values and their
#: ranges over futures; the baseline without its ranges, which the bottom
#: line carries). The rest of the entry (per guarantor and per commitment:
#: credibility, delivery, cost, forces, what the package is worth without
#: it, each commitment's legal form and figures; the decisions groups take
#: as one, the approvals, the terms of the hazard) is ``/api/compare/detail``,
#: one package at a time, from the same cached comparison.
COMPARE_KEYS = ("id", "title", "kyiv_position", "metrics", "ranges")
BASELINE_KEYS = ("id", "title", "kyiv_position", "metrics")
#: Each commitment's figures shown in the detail (``ELEMENT_METRICS`` but the weight in approval).
ELEMENT_SHOWN = ("credibility", "delivery", "approval", "survival", "cost_usd_per_year")
#: Seed of the default sample of futures behind the ranges of the table
#: (that of ``foedus compare``; its size is ``compare.RANGE_FUTURES``).
COMPARE_SEED = 0
#: What each parameter basis means (shown beside a parameter's value).
#: Keys in the order of ``foedus.domain.vocabulary.BASES`` (firmest first).
BASIS_TEXT = {
    "evidence": "evidence: the source gives the number (or arithmetic on numbers it gives)",
    "calibrated": "calibrated: fitted to published targets (data/calibration.yaml, foedus calibrate)",
    "anchored": "judgement (anchored): a value chosen by convention inside a band that named sources give",
    "judgement": "judgement: a modelling judgement; the sources inform it but give no number",
}
#: What "whose promise counts" shows per guarantor: the package's attack
#: probability without all its commitments, without only its promises and
#: forces, and without only its money (from the comparison).
WITHOUT_PARTS = ("attack_probability_without", "attack_probability_without_promises", "attack_probability_without_aid")


def table_metrics() -> list[str]:
    """The side-by-side table's rows: the catalogue's table metrics, with the
    guarantee's own cost and the aid under the cost per year."""
    out = []
    for m in TABLE_METRICS:
        if m in COST_SPLIT[1:]:
            continue
        out.append(m)
        if m == COST_SPLIT[0]:
            out.extend(COST_SPLIT[1:])
    return out


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class Entry:
    package: Package
    origin: str  # "shipped" | "upload"
    path: Path | None
    text: str
    digest: str


@dataclass
class DesignEntry:
    """A design file on offer (``designs/``): what a design search may vary."""

    path: Path
    space: Any  # foedus.domain.design.DesignSpace
    base: Package
    base_path: Path
    digest: str  # of the design file and its base package file


def default_designs(scenarios: Path | str | None) -> Path | None:
    """The design files offered: the ``designs`` folder beside the
    scenarios folder (``./designs`` beside ``./scenarios``, or the
    repository's in a source checkout)."""
    if scenarios is None:
        return None
    d = Path(scenarios).resolve().parent / "designs"
    return d if d.is_dir() else None


class _Stacked(Mapping):
    """Metric -> ``(P, n)``: the packages' cached rows, stacked when a metric
    is first read (a request reads two or three of some twenty)."""

    def __init__(self, per_package: list[dict[str, np.ndarray]]):
        self._rows, self._done = per_package, {}

    def __getitem__(self, m: str) -> np.ndarray:
        if m not in self._done:
            self._done[m] = np.stack([r[m] for r in self._rows])
        return self._done[m]

    def __iter__(self):
        return iter(self._rows[0])

    def __len__(self) -> int:
        return len(self._rows[0])


@dataclass
class _LRU:
    size: int
    data: OrderedDict = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        return None

    def put(self, key, value) -> None:
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)


def reference_record(r) -> dict:
    return r.model_dump(exclude_none=True, mode="json") | {"short": r.short()}


def parameter_record(p, value: float | None = None, name: str | None = None) -> dict:
    """A parameter as the page shows it: its record, the value in force and,
    for a per-country parameter (``will.ESP``), the template it falls back on."""
    rec = p.record()
    rec.pop("values", None)
    return rec | {
        "name": name or p.name,
        "template": p.name if name and name != p.name else None,
        "value": p.value if value is None else value,
        "default": p.value,
    }


class Workspace:
    """Packages, parameters and caches behind the web app (thread-safe)."""

    def __init__(self, scenarios: Path | str | None = None, *, max_uploads: int = MAX_UPLOADS, uploads_dir: Path | str | None = None,
                 designs: Path | str | None = None):
        """``uploads_dir``: folder where uploads are saved and loaded from at
        start (None: uploads live in memory only); ``designs``: folder of
        design files for the design search (None: the ``designs`` folder
        beside ``scenarios``, if there is one)."""
        self.countries = load_countries()
        self.defaults = ParameterSet.default()
        self.scenarios = Path(scenarios) if scenarios else None
        self.max_uploads = max_uploads
        self.shipped: dict[str, Entry] = {}
        self.uploads: OrderedDict[str, Entry] = OrderedDict()
        self.problems: list[str] = []
        self.upload_problems: list[str] = []
        self.store = UploadStore(uploads_dir) if uploads_dir is not None else None
        self._lock = threading.Lock()
        self._compare_cache = _LRU(512)  # per package
        self._year_cache = _LRU(256)  # per package: its yearly path (Study.by_year)
        self._scenario_cache = _LRU(512)  # per package: {scenario id: {metric: {value, p5, p50, p95}}}
        self._explore_cache = _LRU(64)  # per package: (metrics (n,), percentiles)
        self._inputs_cache = _LRU(8)  # per run: (input names, inputs (n, d))
        self._futures_cache = _LRU(8)  # per design and number of futures: the inputs, read-only (shared by runs)
        self._blocks = KeptBlocks()  # the blocks of futures drawn last, drawn once (futures.keeping_blocks)
        self._baseline_cache = _LRU(32)
        self._baseline_view_cache = _LRU(32)  # per set of shipped packages: the baseline's part of /api/compare
        self._prim_cache = _LRU(64)
        self._edited_cache = _LRU(64)  # per package fingerprint with its edit: the edited package
        self._explore_slots = threading.BoundedSemaphore(2)
        self._sensitivity_slot = threading.BoundedSemaphore(1)
        self._calibration_lock = threading.Lock()
        self._calibration: tuple | None = None  # (Calibration, records)
        self.designs_dir = Path(designs) if designs is not None else default_designs(self.scenarios)
        self.designs: dict[str, DesignEntry] = {}
        self.design_problems: list[str] = []
        self._optimise_slot = threading.BoundedSemaphore(1)
        self.optimise_wait = 30.0  # seconds a second design search waits for the first before a 503
        if self.scenarios is not None:
            self._load_shipped()
        if self.store is not None:
            self._load_uploads()
        if self.designs_dir is not None:
            self._load_designs()

    def warm(self) -> None:
        """Import and run the exploration path once (tiny), compare the
        shipped packages at the default values (the first page) and evaluate
        the calibration targets, so the first request from a user does not
        pay for imports (~2 s) and first evaluations."""
        entries = self.all_entries()
        if entries:
            try:
                self._comparison([e.package for e in entries], [f"{e.package.id}:{e.digest}" for e in entries], self.defaults, None)
            except Exception:  # pragma: no cover - warming is best effort; the request reports the error
                pass
        try:
            self.calibration()
        except Exception:  # pragma: no cover
            pass
        if not entries:
            return
        try:
            self._explore([entries[0].package], [f"{entries[0].package.id}:{entries[0].digest}"], self.defaults, 64, 0, "lhs", None)
            from foedus.exploration import discover, prim  # noqa: F401
        except Exception:  # pragma: no cover - warming is best effort
            pass

    # -- packages ------------------------------------------------------------
    def _load_shipped(self) -> None:
        for f in sorted(self.scenarios.glob("*.yaml")) + sorted(self.scenarios.glob("*.yml")):
            try:
                pkg = load_package(f, self.countries)
            except InputError as exc:  # a broken file is reported, the rest still served
                self.problems.append(str(exc))
                continue
            if pkg.id in self.shipped:
                self.problems.append(f"{f}: id: '{pkg.id}' is used twice; second file skipped")
                continue
            text = f.read_text(encoding="utf-8")
            self.shipped[pkg.id] = Entry(pkg, "shipped", f, text, hashlib.sha256(text.encode()).hexdigest()[:16])

    def entry(self, pid: str, where: str = "packages") -> Entry:
        with self._lock:
            e = self.shipped.get(pid) or self.uploads.get(pid)
        if e is None:
            known = ", ".join(list(self.shipped) + list(self.uploads)) or "none loaded"
            raise InputError(where, [Problem(pid, f"the id of a loaded package ({known}); upload it first if it is yours")])
        return e

    def all_entries(self) -> list[Entry]:
        with self._lock:
            return list(self.shipped.values()) + list(self.uploads.values())

    def _load_uploads(self) -> None:
        """Uploads saved by an earlier run. A file that cannot be read or is
        not a valid package is reported (``upload_problems``, /api/health)
        and left where it is."""
        for f in self.store.read_all(MAX_PACKAGE_TEXT):
            where = f"{f.path}"
            if f.text is None:
                self.upload_problems.append(f"{where}: {f.problem}; not loaded, file kept")
                continue
            try:
                pkg = parse_package(f.text, str(f.path), self.countries)
            except InputError as exc:
                first = str(exc).splitlines()
                more = f" (and {len(first) - 1} more problems)" if len(first) > 1 else ""
                self.upload_problems.append(f"{first[0] if first else where}{more}; not loaded, file kept")
                continue
            if pkg.id in self.shipped:
                self.upload_problems.append(f"{where}: id: '{pkg.id}' is also a shipped package; not loaded, file kept")
                continue
            if pkg.id in self.uploads:
                self.upload_problems.append(f"{where}: id: '{pkg.id}' is also in {self.uploads[pkg.id].path}; not loaded, file kept")
                continue
            if len(self.uploads) >= self.max_uploads:
                self.upload_problems.append(f"{where}: more than {self.max_uploads} uploaded packages; not loaded, file kept")
                continue
            self.uploads[pkg.id] = Entry(pkg, "upload", f.path, f.text, hashlib.sha256(f.text.encode()).hexdigest()[:16])

    def add_upload(self, text: str, name: str = "upload.yaml") -> Entry:
        """Validate an uploaded package and offer it (saved to the workspace
        folder first, if there is one). An upload with the id of an earlier
        one replaces it; a new one beyond ``max_uploads`` is refused."""
        if len(text.encode("utf-8")) > MAX_PACKAGE_TEXT:
            raise InputError(name, [Problem("(document)", f"a package file of at most {MAX_PACKAGE_TEXT // 1024} KB")])
        pkg = parse_package(text, name, self.countries)
        if pkg.id in self.shipped:
            raise InputError(name, [Problem("id", f"an id not used by a shipped package; '{pkg.id}' is one (edit a copy under a new id, e.g. '{pkg.id}-edited')", 1)])
        with self._lock:
            old = self.uploads.get(pkg.id)
            if old is None and len(self.uploads) >= self.max_uploads:
                raise Refused(409, f"this server already holds {self.max_uploads} uploaded packages, the most it keeps; "
                                   "delete one (DELETE /api/packages/<id>, or the page's delete button) or upload under the id of one of yours")
            path = None
            if self.store is not None:
                in_use = {e.path for e in self.uploads.values() if e.path is not None and e is not old}
                try:
                    path = self.store.save(pkg.id, text, keep=old.path if old else None, in_use=in_use)
                except OSError as exc:
                    raise Refused(507 if exc.errno == errno.ENOSPC else 500,
                                  f"could not save the upload in {self.store.folder}: {exc.strerror or exc}; nothing was changed") from None
            entry = Entry(pkg, "upload", path, text, hashlib.sha256(text.encode()).hexdigest()[:16])
            self.uploads[pkg.id] = entry
            self.uploads.move_to_end(pkg.id)
        return entry

    def delete_upload(self, pid: str) -> Entry:
        """Remove an uploaded package (and its file). Shipped packages are
        files in the scenarios folder and are not deleted here."""
        with self._lock:
            if pid in self.shipped:
                raise Refused(403, f"'{pid}' is a shipped package (a file in the scenarios folder); only uploaded packages can be deleted here")
            entry = self.uploads.get(pid)
            if entry is None:
                known = ", ".join(self.uploads) or "none"
                raise Refused(404, f"no uploaded package with id '{pid}' (uploaded: {known})")
            if self.store is not None and entry.path is not None:
                try:
                    self.store.delete(entry.path)
                except OSError as exc:
                    raise Refused(500, f"could not delete {entry.path}: {exc.strerror or exc}; the package is kept") from None
            del self.uploads[pid]
        return entry

    def summary(self, e: Entry) -> dict:
        p = e.package
        return {
            "id": p.id,
            "title": p.title,
            "origin": e.origin,
            "file": e.path.name if e.path else f"{p.id}.yaml",
            "digest": e.digest,
            "kyiv_position": p.kyiv_position.value,
            "rationale": " ".join(p.rationale.split()),
            "guarantors": p.guarantors(),
            "n_commitments": len(p.commitments),
            "levers": lever_summary(p),
            "sources": [reference_record(s) for s in p.sources],
        }

    def detail(self, pid: str) -> dict:
        e = self.entry(pid)
        out = self.summary(e)
        out["package"] = e.package.model_dump(mode="json", exclude_none=True)
        out["text"] = e.text
        return out

    def resolve(self, ids: list[str], edits: dict[str, dict] | None) -> tuple[list[Package], list[Package]]:
        """Original and edited packages for ``ids`` (edits validated)."""
        orig, edited, _, _ = self.resolve_fp(ids, edits)
        return orig, edited

    def resolve_fp(self, ids: list[str], edits: dict[str, dict] | None):
        """Original and edited packages and their fingerprints (cache keys:
        the file's digest, plus the edit when there is one)."""
        if not ids:
            raise InputError("packages", [Problem("packages", "at least one package id")])
        if len(ids) > MAX_PACKAGES:
            raise InputError("packages", [Problem("packages", f"at most {MAX_PACKAGES} packages per request, got {len(ids)}")])
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise InputError("packages", [Problem(dup, "each package id once")])
        entries = [self.entry(i) for i in ids]
        edits = edits or {}
        extra = sorted(set(edits) - set(ids))
        if extra:
            raise InputError("edits", [Problem(extra[0], f"the id of a selected package ({', '.join(ids)})")])
        orig = [e.package for e in entries]
        fp_orig = [f"{e.package.id}:{e.digest}" for e in entries]
        fp_edited = [fp if is_empty(edits.get(p.id)) else f"{fp}:{_hash(edits[p.id])}" for fp, p in zip(fp_orig, orig)]
        edited = [p if fe == fo else self._edited(p, edits[p.id], fe) for p, fo, fe in zip(orig, fp_orig, fp_edited)]
        return orig, edited, fp_orig, fp_edited

    def _edited(self, package: Package, edit: dict, fp: str) -> Package:
        """``package`` with the lever ``edit`` applied (validated), kept per
        fingerprint: the requests of one slider move (comparison, detail,
        exploration, failure box) share one edited package, validated once."""
        out = self._edited_cache.get(fp)
        if out is None:
            out = apply_edit(package, edit, self.countries, file=f"edits.{package.id}")
            self._edited_cache.put(fp, out)
        return out

    # -- design search ---------------------------------------------------------
    def _load_designs(self) -> None:
        """The design files of ``designs_dir`` (each validated against its
        base package); a broken one is reported (/api/designs) and skipped."""
        from foedus.data.loaders import load_design

        if not self.designs_dir.is_dir():
            self.design_problems.append(f"{self.designs_dir}: not a folder")
            return
        for f in sorted(self.designs_dir.glob("*.yaml")) + sorted(self.designs_dir.glob("*.yml")):
            try:
                space, base, base_path = load_design(f, self.countries)
                text = f.read_bytes() + b"\0" + base_path.read_bytes()
            except InputError as exc:
                self.design_problems.append(str(exc))
                continue
            except OSError as exc:
                self.design_problems.append(f"{f}: cannot be read ({exc.strerror or exc})")
                continue
            if space.id in self.designs:
                self.design_problems.append(f"{f}: id: '{space.id}' is used twice; second file skipped")
                continue
            self.designs[space.id] = DesignEntry(f, space, base, base_path, hashlib.sha256(text).hexdigest()[:16])

    def design_list(self) -> list[dict]:
        """The design files on offer: id, title, question, base package and
        what the search optimises."""
        out = []
        for d in self.designs.values():
            sp = d.space
            out.append({"id": sp.id, "title": sp.title, "question": " ".join((sp.question or "").split()) or None,
                        "base": d.base.id, "base_title": d.base.title, "file": d.path.name, "digest": d.digest,
                        "objectives": list(sp.objectives or ()), "constraints": list(sp.constraints), "guarantors": list(sp.guarantors)})
        return out

    def design(self, did: str) -> DesignEntry:
        d = self.designs.get(did)
        if d is None:
            known = ", ".join(self.designs) or "none loaded"
            raise InputError("design", [Problem(did, f"the id of a design file in the designs folder ({known})")])
        return d

    @contextmanager
    def one_optimise(self, timeout: float | None = None):
        """Hold the server's one design-search slot (a second search waits
        up to ``timeout`` seconds, by default ``optimise_wait``, then gets
        :class:`Busy`)."""
        if not self._optimise_slot.acquire(timeout=self.optimise_wait if timeout is None else timeout):
            raise Busy("the server is busy with another design search; try again")
        try:
            yield
        finally:
            self._optimise_slot.release()

    def optimise(self, did: str, futures: int = OPTIMISE_DEFAULTS["futures"], population: int = OPTIMISE_DEFAULTS["population"],
                 generations: int = OPTIMISE_DEFAULTS["generations"], seed: int = 0, overrides: dict | None = None) -> dict:
        """Run the design search of design file ``did``
        (:class:`foedus.study.design_search.DesignSearch`, nothing computed
        here): its record (the ``foedus optimise --json`` contract), the
        package file of each front member shown (what ``foedus optimise -o``
        writes) and the base package's file. Bounded (``OPTIMISE_BOUNDS``);
        the caller bounds concurrency (:meth:`one_optimise`)."""
        from foedus.study.design_search import DesignSearch

        d = self.design(did)
        for name, v in (("futures", futures), ("population", population), ("generations", generations)):
            lo, hi = OPTIMISE_BOUNDS[name]
            if not lo <= v <= hi:
                raise InputError("optimise", [Problem(name, f"between {lo} and {hi}, got {v}")])
        t0 = time.perf_counter()
        search = DesignSearch(self._display_path(d.path), self.parameters(overrides), self.countries, futures=futures, seed=seed,
                              population=population, generations=generations, max_designs=OPTIMISE_MAX_DESIGNS)
        record = search.record
        members = [{"id": pid, "text": text} for pid, text in search.texts()]
        return {"record": record, "members": members,
                "base": {"id": d.base.id, "file": d.base_path.name, "text": d.base_path.read_text(encoding="utf-8")},
                "elapsed_ms": round(1000 * (time.perf_counter() - t0), 2)}

    # -- parameters ----------------------------------------------------------
    def parameters(self, overrides: dict[str, float] | None = None) -> ParameterSet:
        if not overrides:
            return self.defaults
        if len(overrides) > 1000:
            raise InputError("overrides", [Problem("overrides", "at most 1000 overrides")])
        return self.defaults.with_overrides(overrides, source="overrides")

    def parameter(self, name: str, ps: ParameterSet | None = None) -> dict:
        ps = ps or self.defaults
        p = ps.check_name(name, source="parameters")
        return parameter_record(p, ps.values().get(name, p.value), name)

    def parameter_list(self) -> list[dict]:
        return [parameter_record(p) for p in self.defaults.parameters.values()]

    def basis_counts(self) -> dict[str, int]:
        """Parameters per basis (evidence, calibrated, judgement)."""
        counts = {b: 0 for b in BASIS_TEXT}
        for p in self.defaults.parameters.values():
            counts[p.basis.value] = counts.get(p.basis.value, 0) + 1
        return counts

    # -- calibration -----------------------------------------------------------
    def calibration_model(self):
        """The :class:`Calibration` of the shipped parameters (built once)."""
        return self._calibration_state()[0]

    def calibration(self) -> dict:
        """The published targets against foedus (``foedus calibrate --json``),
        with display strings; evaluated once per server."""
        return self._calibration_state()[1]

    def _calibration_state(self) -> tuple:
        with self._calibration_lock:
            if self._calibration is None:
                from foedus.exploration.calibration import Calibration

                cal = Calibration(countries=self.countries)
                targets = []
                for r in cal.results():
                    rec = r.record()
                    rec["display"] = {"published": number(r.value, r.unit), "band": f"{number(r.band[0], r.unit)}–{number(r.band[1], r.unit)}",
                                      "foedus": number(r.model, r.unit)}
                    rec["source_refs"] = [reference_record(cal.data.sources[s]) for s in r.sources if s in cal.data.sources]
                    targets.append(rec)
                by_parameter: dict[str, list[str]] = {}
                for t in targets:
                    for name in t["fits"]:
                        by_parameter.setdefault(name, []).append(t["id"])
                s = cal.data.sample
                self._calibration = (cal, {
                    "model_estimates_not_predictions": True,
                    "as_of": cal.data.as_of.isoformat(),
                    "sample": s.model_dump(),
                    "targets": targets,
                    "by_parameter": by_parameter,
                    "passed": {role: [sum(t["pass"] for t in targets if t["role"] == role), sum(t["role"] == role for t in targets)] for role in ("fit", "check")},
                })
            return self._calibration

    def assumptions(self) -> list[dict]:
        """The assumption sliders: each parameter's value, the slider's span
        (its sampled range, ``sampled``; a will spans the whole will scale) and
        its source."""
        out = []
        for name, title, group in ASSUMPTIONS:
            p = self.defaults.describe(name)
            if p is None:
                continue
            u = p.uncertainty
            lo, hi = (u.low, u.high) if u else (0.0, 1.0 if p.unit.value in ("probability", "fraction") else 2 * p.value)
            if name.startswith(WILL_PREFIX):
                lo, hi = min(lo, WILL_SCALE[0]), max(hi, WILL_SCALE[1])
            lo, hi = min(lo, p.value), max(hi, p.value)
            out.append({"name": name, "title": title, "group": group, "value": p.value, "low": lo, "high": hi,
                        "sampled": [u.low, u.high] if u else None,
                        "step": _nice_step(lo, hi), "unit": p.unit.value, "source": p.references[0].short()})
        return out

    # -- named will scenarios ----------------------------------------------------
    def will_scenarios(self) -> list[dict]:
        """The named will scenarios (data/will_scenarios.yaml), in the file's
        order: id, title, description, the will values they fix, references."""
        from foedus.data.loaders import load_will_scenarios

        return [{"id": sid, "title": sc.title, "description": " ".join(sc.description.split()), "set": dict(sc.set),
                 "option": f"--scenario {sid}", "references": [reference_record(r) for r in sc.references]}
                for sid, sc in load_will_scenarios().scenarios.items()]

    def will_scenario_of(self, overrides: dict | None) -> str | None:
        """The named will scenario that ``overrides`` set, if any: every will
        value it fixes is overridden to that value, and any other will
        override (a per-country will) equals its will.default. Other
        parameters do not matter; a will left to be sampled is no scenario."""
        from foedus.data.loaders import load_will_scenarios

        will = {k: float(v) for k, v in (overrides or {}).items() if k.startswith(WILL_PREFIX)}
        if not will:
            return None
        for sid, sc in load_will_scenarios().scenarios.items():
            if all(k in will and abs(will[k] - v) <= 1e-9 for k, v in sc.set.items()):
                default = sc.set.get("will.default")
                if all(default is not None and self._falls_back_on_default(k) and abs(v - default) <= 1e-9
                       for k, v in will.items() if k not in sc.set):
                    return sid
        return None

    def _falls_back_on_default(self, name: str) -> bool:
        """Whether ``name`` is a per-country will that takes will.default's value until set (will.GBR)."""
        p = self.defaults.describe(name)
        return p is not None and p.name == "will.default" and name != "will.default"

    # -- central values ------------------------------------------------------
    def _comparison(self, packages: list[Package], fps: list[str], ps: ParameterSet, horizon: float | None) -> dict:
        """The comparison contract for ``packages``, with the ranges over the
        default sample of futures. Cached per package (a package's entry
        does not depend on the others: the same sampled futures, the same
        central values, and the model sums each package's terms in its own
        order, ``tests/test_models_sums.py``), so moving a lever of one
        package re-evaluates that package only, and the packages not in the
        cache (all of them after an assumption moves) are evaluated together
        in one comparison; the entries are then put together in the order
        asked, with the data vintage of the packages shown."""
        from foedus.data.vintage import vintage
        from foedus.exploration.compare import RANGE_FUTURES, comparison

        out = self._per_package(self._compare_cache, packages, fps, ps, horizon,
                                lambda pkgs: self._kept(comparison, pkgs, ps, self.countries, horizon, futures=RANGE_FUTURES, seed=COMPARE_SEED),
                                together=True)
        return out | {"data": vintage(ps, self.countries, packages).record()}

    def _kept(self, compute, *args, **kwargs):
        """``compute(*args, **kwargs)`` handed the blocks of futures this
        workspace keeps (:class:`~foedus.exploration.futures.KeptBlocks`)."""
        with keeping_blocks(self._blocks):
            return compute(*args, **kwargs)

    @staticmethod
    def _per_package(cache, packages: list[Package], fps: list[str], ps: ParameterSet, horizon: float | None, compute, *,
                     together: bool = False) -> dict:
        """A record with one entry per package, computed by
        ``compute(packages)`` (a record whose ``packages`` are their entries,
        in order) and cached per (package, overrides, horizon), put together
        in the order asked. The packages not in the cache are computed
        together if ``together``, else one by one."""
        overrides = tuple(sorted(ps.overrides.items()))
        keys = [(fp, overrides, horizon) for fp in fps]
        found = {k: cache.get(k) for k in keys}
        missing = list({k: pkg for pkg, k in zip(packages, keys) if found[k] is None}.items())
        for group in ([missing] if together and missing else [[m] for m in missing]):
            record = compute([pkg for _, pkg in group])
            for (k, _), entry in zip(group, record["packages"]):
                found[k] = {f: v for f, v in record.items() if f != "packages"} | {"packages": [entry]}
                cache.put(k, found[k])
        parts = [found[k] for k in keys]
        return {k: v for k, v in parts[0].items() if k != "packages"} | {"packages": [r["packages"][0] for r in parts]}

    def compare(self, ids: list[str], overrides: dict[str, float] | None = None, edits: dict | None = None, horizon: float | None = None) -> dict:
        """Baseline and current at the central values: what the page shows
        at once (each package's entry cut to ``COMPARE_KEYS``, the
        baseline's to ``BASELINE_KEYS``; the top ``WORTH_SHOWN`` guarantors
        of "whose promise counts"). The rest of each entry is
        :meth:`compare_detail`, from the same cached comparison."""
        t0 = time.perf_counter()
        orig, edited, fpo, fpe = self.resolve_fp(ids, edits)
        ps = self.parameters(overrides)
        base = self._baseline_view(orig, fpo)
        current = self._comparison(edited, fpe, ps, horizon)
        worth = self._worth(current, WORTH_SHOWN)
        metrics = {p["id"]: p["metrics"] for p in current["packages"]}
        out = {
            "model_estimates_not_predictions": True,
            "packages": ids,
            "horizon_years": current["horizon_years"],
            "baseline": base["baseline"],
            "current": _lean(current, COMPARE_KEYS),
            "display": _display(current),
            "baseline_display": base["baseline_display"],
            "range_display": {p["id"]: {m: fmt_range(m, r) for m, r in (p.get("ranges") or {}).items()} for p in current["packages"]},
            "worth": {pid: rows[:WORTH_SHOWN] for pid, rows in worth.items()},
            "worth_all": {pid: _worth_all(rows, metrics[pid]) for pid, rows in worth.items()},
            "baseline_guarantors": base["baseline_guarantors"],
            "bottom_line": {"current": bottom_line(current, {p.id: p.title for p in edited}, self._names()),
                            "baseline": base["bottom_line"]},
            "levers": {p.id: lever_summary(p) for p, o in zip(edited, orig) if not is_empty((edits or {}).get(o.id))},
            "edited": [p.id for p in orig if not is_empty((edits or {}).get(p.id))],
            "will_scenario": self.will_scenario_of(overrides),
            "reproduce": self.reproduce(ids, overrides or {}, edits or {}, horizon),
        }
        if out["will_scenario"]:
            out["reproduce"]["scenario"] = self._scenario_reproduce(out["will_scenario"], ids, overrides or {}, edits or {}, horizon)
        out["elapsed_ms"] = round(1000 * (time.perf_counter() - t0), 2)
        return out

    def _baseline_view(self, orig: list[Package], fpo: list[str]) -> dict:
        """The baseline's part of :meth:`compare` (shipped packages at the
        default values: its lean record, display strings, guarantors and
        bottom line), built once per set of packages: it is the same after
        every move."""
        key = tuple(fpo)
        view = self._baseline_view_cache.get(key)
        if view is None:
            baseline = self._comparison(orig, fpo, self.defaults, None)
            view = {
                "baseline": _lean(baseline, BASELINE_KEYS),
                "baseline_display": _display(baseline),
                "baseline_guarantors": {p["id"]: [g["iso3"] for g in p["guarantors"]] for p in baseline["packages"]},
                "bottom_line": bottom_line(baseline, {p.id: p.title for p in orig}, self._names()),
            }
            self._baseline_view_cache.put(key, view)
        return view

    def compare_detail(self, pid: str, overrides: dict[str, float] | None = None, edit: dict | None = None, horizon: float | None = None) -> dict:
        """One package's whole entry in the comparison record (the ``foedus
        compare --json`` contract: every guarantor with its figures and its
        commitments, the decisions groups take as one, the approvals, the
        terms of the hazard), baseline and current, from the comparison
        :meth:`compare` used (the same per-package cache: nothing is
        computed twice); with every guarantor of "whose promise counts",
        display strings for each commitment and the guarantors' defence
        spending before the package."""
        t0 = time.perf_counter()
        if self.shipped.get(pid) is None and self.uploads.get(pid) is None:
            known = ", ".join(e.package.id for e in self.all_entries()) or "none loaded"
            raise InputError("compare/detail", [Problem("package", f"the id of a loaded package ({known}), got '{pid}'")])
        orig, edited, fpo, fpe = self.resolve_fp([pid], {pid: edit} if not is_empty(edit) else None)
        ps = self.parameters(overrides)
        baseline = self._comparison(orig, fpo, self.defaults, None)
        current = self._comparison(edited, fpe, ps, horizon)
        cur, base = current["packages"][0], baseline["packages"][0]
        return {
            "model_estimates_not_predictions": True,
            "package": pid,
            "edited": not is_empty(edit),
            "horizon_years": current["horizon_years"],
            "current": cur,
            "baseline": base,
            "worth": self._worth(current)[pid],
            "element_display": {"current": _element_display(cur), "baseline": _element_display(base)},
            "element_labels": {m: metric(m, ELEMENT).label for m in ELEMENT_SHOWN},
            "defence_pct_gdp": self._defence_shares(current, baseline),
            "elapsed_ms": round(1000 * (time.perf_counter() - t0), 2),
        }

    # -- year by year ----------------------------------------------------------
    def _years(self, packages: list[Package], fps: list[str], ps: ParameterSet, horizon: float | None) -> dict:
        """The yearly path of ``packages`` (:attr:`Study.by_year`, over the
        comparison's sample of futures), cached per package like the
        comparison: the packages not in the cache are evaluated together (a
        package's path does not depend on the others, bit for bit:
        ``tests/test_years.py``), then put together in the order asked."""
        from foedus.exploration.compare import RANGE_FUTURES
        from foedus.study.study import Study

        return self._per_package(self._year_cache, packages, fps, ps, horizon,
                                 lambda pkgs: self._kept(lambda: Study(pkgs, ps, self.countries, horizon, range_futures=RANGE_FUTURES,
                                                                       range_seed=COMPARE_SEED).by_year),
                                 together=True)

    def by_year(self, ids: list[str], overrides: dict[str, float] | None = None, edits: dict | None = None,
                horizon: float | None = None) -> dict:
        """Baseline and current year by year, from the start year to the
        horizon (the ``compare --by-year --json`` record of each), with the
        charted metrics' yearly labels (the catalogue's) and display strings."""
        t0 = time.perf_counter()
        orig, edited, fpo, fpe = self.resolve_fp(ids, edits)
        ps = self.parameters(overrides)
        baseline = self._years(orig, fpo, self.defaults, None)
        current = self._years(edited, fpe, ps, horizon)

        def display(rec: dict) -> dict:
            return {p["id"]: {m: [fmt(m, v) for v in p["metrics"][m]] for m in YEAR_CHARTS} for p in rec["packages"]}

        def totals(rec: dict) -> dict:
            return {p["id"]: {k: fmt(m, p["totals"][k]) for k, m in YEAR_TOTALS} | {"steady_attack_probability": fmt("attack_probability", p["steady_attack_probability"])}
                    for p in rec["packages"]}

        return {
            "model_estimates_not_predictions": True,
            "packages": ids,
            "charts": list(YEAR_CHARTS),
            "labels": {m: metric(m, YEAR).label for m in YEAR_CHARTS},
            "kinds": {m: metric(m, YEAR).kind for m in YEAR_CHARTS},
            "baseline": baseline,
            "current": current,
            "display": display(current),
            "baseline_display": display(baseline),
            "totals_display": totals(current),
            "baseline_totals_display": totals(baseline),
            "edited": [p.id for p in orig if not is_empty((edits or {}).get(p.id))],
            "elapsed_ms": round(1000 * (time.perf_counter() - t0), 2),
        }

    def _scenario_reproduce(self, sid: str, ids: list[str], overrides: dict, edits: dict, horizon: float | None) -> dict:
        """The named will scenario that the overrides set, and the same
        command with ``--scenario ID`` in place of its ``--set`` values."""
        sc = next(x for x in self.will_scenarios() if x["id"] == sid)
        rest = {k: v for k, v in overrides.items() if not (k in sc["set"] or (k.startswith(WILL_PREFIX) and self._falls_back_on_default(k)))}
        cli = self.reproduce(ids, rest, edits, horizon, scenario=sid)["cli"]
        return {"id": sid, "title": sc["title"], "option": sc["option"], "cli": cli,
                "note": f"The --set will values are those of the named will scenario \u201c{sc['title']}\u201d: --scenario {sid} sets the same."}

    # -- results per named will scenario ---------------------------------------
    def by_will_scenario(self, ids: list[str], overrides: dict[str, float] | None = None, edits: dict | None = None,
                         horizon: float | None = None) -> dict:
        """Each package (after its lever edits) in every named will scenario:
        the attack probability at the central values and its 5th, 50th and
        95th percentiles over the default 1,000 futures with will fixed
        (:func:`foedus.exploration.compare.scenario_results`), beside the
        pooled result, in which will is sampled (the comparison's central
        value and range). Your will overrides are set aside here, since
        each column fixes will (``set_aside``); every other override holds.
        Cached per package by (package after edits, overrides without will,
        horizon); the packages not in the cache are evaluated together.
        Counts as an exploration for the concurrency bound."""
        from foedus.exploration.compare import RANGE_FUTURES, SCENARIO_METRICS, scenario_results
        from foedus.models.levers import compile_packages

        t0 = time.perf_counter()
        _, edited, _, fpe = self.resolve_fp(ids, edits)
        overrides = dict(overrides or {})
        self.parameters(overrides)  # every override is checked, also those set aside
        kept = {k: v for k, v in overrides.items() if not k.startswith(WILL_PREFIX)}
        ps = self.parameters(kept)
        if not self._explore_slots.acquire(timeout=30):
            raise Busy("the server is busy with other explorations; try again")
        try:
            pooled = self._comparison(edited, fpe, ps, horizon)
            h = pooled["horizon_years"]
            run = (tuple(sorted(ps.overrides.items())), horizon)
            keys = [(fp,) + run for fp in fpe]
            found = {k: self._scenario_cache.get(k) for k in keys}
            missing = [(p, k) for p, k in zip(edited, keys) if found[k] is None]
            if missing:
                lv = compile_packages([p for p, _ in missing], self.countries)
                res = scenario_results(lv, ps, h, RANGE_FUTURES, COMPARE_SEED)
                for p, k in missing:
                    found[k] = {sc["id"]: sc["packages"][p.id] for sc in res}
                    self._scenario_cache.put(k, found[k])
        finally:
            self._explore_slots.release()
        metrics = list(SCENARIO_METRICS)
        pool = {p["id"]: {m: {"value": p["metrics"][m], **(p.get("ranges") or {}).get(m, {})} for m in metrics} for p in pooled["packages"]}
        named = self.will_scenarios()
        per = [{f: sc[f] for f in ("id", "title", "description", "set", "option")}
               | {"packages": {pid: found[key][sc["id"]] for pid, key in zip(ids, keys)}} for sc in named]

        def show(cell: dict) -> dict:
            return {m: {"value": fmt(m, cell[m]["value"]), "range": fmt_range(m, cell[m])} for m in metrics}

        display = {pid: {"pooled": show(pool[pid]), **{sc["id"]: show(sc["packages"][pid]) for sc in per}} for pid in ids}
        rep = self.reproduce(ids, kept, edits or {}, horizon)
        rep["python"] = rep["python"].replace(f"horizon={horizon!r})", f"horizon={horizon!r}, by_scenario=True)")
        out = {
            "model_estimates_not_predictions": True,
            "packages": ids,
            "titles": {p.id: p.title for p in edited},
            "edited": [pid for pid in ids if not is_empty((edits or {}).get(pid))],
            "metrics": metrics,
            "horizon_years": h,
            "ranges": pooled.get("ranges"),
            "overrides": kept,
            "set_aside": sorted(k for k in overrides if k.startswith(WILL_PREFIX)),
            "will_scenario": self.will_scenario_of(overrides),
            "pooled": pool,
            "scenarios": per,
            "display": display,
            "reproduce": rep,
        }
        out["elapsed_ms"] = round(1000 * (time.perf_counter() - t0), 2)
        return out

    def _names(self) -> dict[str, str]:
        return {c.iso3: c.name for c in self.countries.countries.values()}

    # -- sensitivity -----------------------------------------------------------
    @contextmanager
    def one_sensitivity(self, timeout: float = 30):
        """Hold the server's one sensitivity slot (a second waits up to
        ``timeout`` seconds, then gets :class:`Busy`)."""
        if not self._sensitivity_slot.acquire(timeout=timeout):
            raise Busy("the server is busy with another sensitivity analysis; try again")
        try:
            yield
        finally:
            self._sensitivity_slot.release()

    def sensitivity(self, pid: str, overrides: dict | None = None, edit: dict | None = None, horizon: float | None = None,
                    metrics: list[str] | None = None, n: int = SENSITIVITY_N, seed: int = 0) -> dict:
        """Sobol' first- and total-order indices of ``metrics`` of one
        package (after its lever edit) to every uncertain input that the
        overrides leave free (:meth:`foedus.study.study.Study.sensitivity`),
        each input with its basis; bounded in size (``SENSITIVITY_SIZES``).
        The caller bounds concurrency (:meth:`one_sensitivity`)."""
        from foedus.study.study import Study, reproduce_sensitivity

        t0 = time.perf_counter()
        metrics = list(metrics or SENSITIVITY_METRICS)
        if n not in SENSITIVITY_SIZES:
            raise InputError("sensitivity", [Problem("n", f"one of {', '.join(map(str, SENSITIVITY_SIZES))}, got {n}")])
        if len(metrics) > MAX_SENSITIVITY_METRICS:
            raise InputError("sensitivity", [Problem("metrics", f"at most {MAX_SENSITIVITY_METRICS} metrics")])
        _, edited = self.resolve([pid], {pid: edit} if not is_empty(edit) else None)
        ps = self.parameters(overrides)
        out = Study(edited, ps, self.countries, horizon).sensitivity(pid, metrics, n, seed)
        for i in out["inputs"]:
            i["title"] = _assumption_title(i["name"])
        e = self.entry(pid)
        edited_here = not is_empty(edit)
        file = f"{pid}-edited.yaml" if edited_here else str(self._display_path(e.path)) if e.origin == "shipped" and e.path else f"{pid}.yaml"
        out |= {
            "model_estimates_not_predictions": True,
            "title": edited[0].title,
            "edited": edited_here,
            "fixed_by_overrides": sorted(k for k in ps.overrides if self.defaults.spec(k) is not None),
            "reproduce": reproduce_sensitivity(file, metrics, n, seed, overrides, horizon),
            "elapsed_ms": round(1000 * (time.perf_counter() - t0), 2),
        }
        return out

    def _worth(self, result: dict, shown: int | None = None) -> dict[str, list[dict]]:
        """Whose promise counts: per package, every guarantor with the
        package's attack probability without all its commitments, without
        only its promises and forces, and without only its money, and its
        approval without it (from the comparison); its credibility, delivery
        and cost; the guarantors whose absence raises the attack probability
        most first. Display strings for the first ``shown`` (all if None):
        a comparison of the seeds has some 270 guarantors to sort, and the
        page shows five of each package's."""
        out = {}
        for p in result["packages"]:
            m = p["metrics"]
            rows = []
            for g in p["guarantors"]:
                if "attack_probability_without" not in g:
                    continue
                c = self.countries.get(g["iso3"])
                rows.append({
                    "iso3": g["iso3"],
                    "name": c.name if c is not None else g["iso3"],
                    **{k: g.get(k) for k in WITHOUT_PARTS},
                    "approval_probability_without": g.get("approval_probability_without"),
                    **{k: g.get(k) for k in WORTH_DETAIL},
                })
            rows.sort(key=lambda r: (-(r["attack_probability_without"] if r["attack_probability_without"] is not None else -1.0), r["iso3"]))
            for r in rows[:shown]:
                r["display"] = {
                    **{k: fmt(k, r[k]) for k in WORTH_DETAIL},
                    "attack_probability": fmt("attack_probability", m.get("attack_probability")),
                    **{k: fmt("attack_probability", r[k]) for k in WITHOUT_PARTS},
                    "approval_probability": fmt("approval_probability", m.get("approval_probability")),
                    "approval_probability_without": fmt("approval_probability", r["approval_probability_without"]),
                }
            out[p["id"]] = rows
        return out

    def _defence_shares(self, *results: dict) -> dict[str, float]:
        """Each shown guarantor's defence spending before the package
        (country data, for the % GDP chart)."""
        out = {}
        for r in results:
            for p in r["packages"]:
                for g in p["guarantors"]:
                    c = self.countries.get(g["iso3"])
                    if c is not None:
                        out[g["iso3"]] = c.defence_pct_gdp.value
        return out

    # -- futures -------------------------------------------------------------
    def _run_key(self, ps: ParameterSet, n: int, seed: int, sampler: str, horizon: float | None) -> tuple:
        return (tuple(sorted(ps.overrides.items())), n, seed, sampler, horizon)

    def _explore(self, packages: list[Package], fps: list[str], ps: ParameterSet, n: int, seed: int, sampler: str, horizon: float | None):
        """Input names, inputs ``(n, d)``, metrics ``name -> (P, n)`` and
        percentiles per package. Cached per package: the packages not in
        the cache are evaluated together in one exploration (the futures
        do not depend on which packages are evaluated)."""
        from foedus.exploration.explore import explore_memory

        run = self._run_key(ps, n, seed, sampler, horizon)
        keys = [(fp,) + run for fp in fps]
        found = {k: self._explore_cache.get(k) for k in keys}
        design = self._inputs_cache.get(run)
        missing = [(p, k) for p, k in zip(packages, keys) if found[k] is None]
        if missing or design is None:
            todo = [p for p, _ in missing] or packages[:1]
            res = self._kept(explore_memory, todo, ps, self.countries, n, seed, sampler=sampler, horizon=horizon, thresholds=[])
            design = (list(res.input_names), self._shared_inputs(res.design, n, res.inputs))
            self._inputs_cache.put(run, design)
            pct = {r["id"]: r["percentiles"] for r in res.robustness}
            for j, (p, k) in enumerate(missing):
                entry = ({m: a[j] for m, a in res.metrics.items()}, pct[p.id])
                self._explore_cache.put(k, entry)
                found[k] = entry
        names, inputs = design
        metrics = _Stacked([found[k][0] for k in keys])
        pcts = [found[k][1] for k in keys]
        return names, inputs, metrics, pcts

    def _robustness(self, ids, metrics, pcts, ths) -> list[dict]:
        from foedus.exploration.robustness import RobustnessAccumulator

        acc = RobustnessAccumulator(list(ids), ths)
        first = next(iter(metrics))
        acc.update({t.metric: metrics[t.metric] for t in ths} if ths else {first: metrics[first]})
        return acc.records({pid: pc for pid, pc in zip(ids, pcts)})

    def _explore_request(self, ids, overrides, edits, n_futures, thresholds, focus):
        from foedus.exploration.explore import STORED_METRICS
        from foedus.exploration.robustness import DEFAULT_THRESHOLDS, parse_threshold

        if not 1 <= n_futures <= MAX_FUTURES:
            raise InputError("explore", [Problem("n_futures", f"between 1 and {MAX_FUTURES}, got {n_futures}")])
        texts = list(thresholds) if thresholds is not None else list(DEFAULT_THRESHOLDS)
        if len(texts) > MAX_THRESHOLDS:
            raise InputError("explore", [Problem("thresholds", f"at most {MAX_THRESHOLDS} thresholds")])
        ths = [parse_threshold(t, STORED_METRICS, source="thresholds") for t in texts]
        orig, edited, fpo, fpe = self.resolve_fp(ids, edits)
        if focus is not None and focus not in ids:
            raise InputError("explore", [Problem("focus", f"one of the selected packages ({', '.join(ids)})")])
        return ths, (orig, fpo), (edited, fpe), self.parameters(overrides)

    def explore(self, ids: list[str], overrides: dict | None = None, edits: dict | None = None, horizon: float | None = None,
                n_futures: int = 2000, seed: int = 0, sampler: str = "lhs", thresholds: list[str] | None = None,
                focus: str | None = None, baseline: bool = True) -> dict:
        """Robustness of the current (and baseline) packages across futures;
        with ``focus``, also the PRIM box where that package fails."""
        t0 = time.perf_counter()
        ths, (orig, fpo), (edited, fpe), ps = self._explore_request(ids, overrides, edits, n_futures, thresholds, focus)
        if not self._explore_slots.acquire(timeout=30):
            raise Busy("the server is busy with other explorations; try again")
        try:
            names, inputs, metrics, pcts = self._explore(edited, fpe, ps, n_futures, seed, sampler, horizon)
            t_eval = time.perf_counter()
            current = self._robustness(ids, metrics, pcts, ths)
            base = None
            if baseline:
                bkey = (tuple(fpo), n_futures, seed, sampler, tuple(str(t) for t in ths))
                base = self._baseline_cache.get(bkey)
                if base is None:
                    _, _, bm, bp = self._explore(orig, fpo, self.defaults, n_futures, seed, sampler, None)
                    base = self._robustness(ids, bm, bp, ths)
                    self._baseline_cache.put(bkey, base)
            box = self._box_for(focus, ids, fpe, ps, inputs, names, metrics, ths, (n_futures, seed, sampler, horizon)) if focus else None
        finally:
            self._explore_slots.release()
        out = {
            "model_estimates_not_predictions": True,
            "packages": ids,
            "n_futures": n_futures,
            "seed": seed,
            "sampler": sampler,
            "thresholds": [str(t) for t in ths],
            "threshold_labels": [f"{label(t.metric)} {t.op} {fmt(t.metric, t.value)}" for t in ths],
            "input_names": list(names),
            "fixed_by_overrides": sorted(k for k in ps.overrides if self.defaults.spec(k) is not None),
            "robustness": current,
            "baseline_robustness": base,
            "failure_box": box,
            "reproduce": self.reproduce(ids, overrides or {}, edits or {}, horizon, n_futures=n_futures, seed=seed, sampler=sampler, thresholds=[str(t) for t in ths]),
        }
        out["elapsed_ms"] = round(1000 * (time.perf_counter() - t0), 2)
        out["evaluate_ms"] = round(1000 * (t_eval - t0), 2)
        return out

    def _shared_inputs(self, design, n: int, inputs: np.ndarray) -> np.ndarray:
        """``inputs``, or the equal array already kept for the same design
        and number of futures (an assumption that is fixed, not sampled,
        leaves the futures as they were), read-only: the failure boxes over
        the same futures then sort them once (``prim._sorted_inputs``)."""
        key = (design, n)
        kept = self._futures_cache.get(key)
        if kept is None:
            inputs.setflags(write=False)
            self._futures_cache.put(key, inputs)
            return inputs
        return kept

    def discover(self, ids: list[str], focus: str, overrides: dict | None = None, edits: dict | None = None, horizon: float | None = None,
                 n_futures: int = 2000, seed: int = 0, sampler: str = "lhs", thresholds: list[str] | None = None) -> dict:
        """Only the PRIM box of ``focus`` (the futures come from the cache
        when /api/explore ran with the same settings)."""
        t0 = time.perf_counter()
        ths, _, (edited, fpe), ps = self._explore_request(ids, overrides, edits, n_futures, thresholds, focus)
        if not self._explore_slots.acquire(timeout=30):
            raise Busy("the server is busy with other explorations; try again")
        try:
            i = ids.index(focus)
            names, inputs, metrics, _ = self._explore([edited[i]], [fpe[i]], ps, n_futures, seed, sampler, horizon)
            box = self._box_for(focus, [focus], [fpe[i]], ps, inputs, names, metrics, ths, (n_futures, seed, sampler, horizon))
        finally:
            self._explore_slots.release()
        return {"model_estimates_not_predictions": True, "failure_box": box, "n_futures": n_futures, "thresholds": [str(t) for t in ths],
                "elapsed_ms": round(1000 * (time.perf_counter() - t0), 2)}

    def report(self, ids: list[str], overrides: dict | None, edits: dict | None, horizon: float | None, n_futures: int = 0,
               seed: int = 0, thresholds: list[str] | None = None) -> str:
        """A self-contained HTML report of this view (counts as an exploration
        for the concurrency bound)."""
        from foedus.interfaces.report.build import build_report

        orig, edited = self.resolve(ids, edits)
        ps = self.parameters(overrides)
        try:
            cal = self.calibration_model()
        except InputError:  # the report says so in its calibration section
            cal = None
        if not 0 <= n_futures <= MAX_FUTURES:
            raise InputError("report", [Problem("n_futures", f"between 0 and {MAX_FUTURES}, got {n_futures}")])
        if not self._explore_slots.acquire(timeout=30):
            raise Busy("the server is busy with other explorations; try again")
        try:
            files = []
            for i in ids:
                e = self.entry(i)
                edited_here = not is_empty((edits or {}).get(i))
                files.append(f"{i}-edited.yaml" if edited_here else str(self._display_path(e.path)) if e.origin == "shipped" and e.path else f"{i}.yaml")
            return build_report(edited, ps, self.countries, horizon=horizon, n_futures=n_futures, seed=seed, thresholds=thresholds,
                                baseline_packages=orig, title="foedus report (from the web app)", files=files,
                                calibration=cal)
        finally:
            self._explore_slots.release()

    def _box_for(self, focus, ids, fps, ps, inputs, names, metrics, ths, run_key) -> dict:
        from foedus.exploration.discover import failures

        i = ids.index(focus)
        fails = failures({t.metric: metrics[t.metric][i] for t in ths}, ths) if ths else np.zeros(inputs.shape[0], dtype=bool)
        return self._failure_box(focus, fps[i], ps, inputs, names, fails, ths, run_key)

    def _failure_box(self, pid, fp, ps, inputs, names, fails, ths, run_key) -> dict:
        from foedus.exploration.discover import explain
        from foedus.study.study import failure_record

        key = (fp, tuple(sorted(ps.overrides.items())), run_key, tuple(str(t) for t in ths))
        hit = self._prim_cache.get(key)
        if hit is not None:
            return hit
        out = failure_record(pid, inputs, names, fails, self.defaults, explain) | {"thresholds": [str(t) for t in ths]}
        for box in [out, *out.get("trajectory", [])]:
            for r in box.get("restricted", []):
                r["title"] = _assumption_title(r["name"])
        self._prim_cache.put(key, out)
        return out

    # -- reproduce -------------------------------------------------------------
    def reproduce(self, ids: list[str], overrides: dict, edits: dict, horizon: float | None, *, n_futures: int | None = None,
                  seed: int = 0, sampler: str = "lhs", thresholds: list[str] | None = None, scenario: str | None = None) -> dict:
        """The commands that reproduce this view (:func:`foedus.study.study.reproduce`),
        with the files to save first: edited and uploaded packages."""
        from foedus.study.study import Design, reproduce

        files, downloads = [], []
        for i in ids:
            e = self.entry(i)
            if not is_empty(edits.get(i)):
                files.append(f"{i}-edited.yaml")
                downloads.append({"id": i, "file": f"{i}-edited.yaml"})
            elif e.origin == "shipped" and e.path is not None:
                files.append(str(self._display_path(e.path)))
            else:
                files.append(f"{i}.yaml")
                downloads.append({"id": i, "file": f"{i}.yaml"})
        design = Design(n_futures, seed, sampler) if n_futures is not None else None
        real_edits = {k: v for k, v in edits.items() if not is_empty(v)}
        out = reproduce(ids, files, overrides, horizon, design, thresholds, edits=real_edits, downloads=downloads, scenario=scenario)
        if real_edits:  # the Python recipe starts from the files as shipped, then applies the levers
            shipped = [str(self._display_path(self.entry(i).path)) if self.entry(i).origin == "shipped" else f"{i}.yaml" for i in ids]
            out["python"] = out["python"].replace(f"load_packages({json.dumps(files)}", f"load_packages({json.dumps(shipped)}")
        return out

    @staticmethod
    def _display_path(path: Path) -> Path:
        """``path`` relative to the working directory where it lies under it
        (as the commands to reproduce name it)."""
        return _relative_to(path, os.getcwd())

    def export(self, pid: str, edit: dict | None) -> str:
        """The package (after the lever edit) as a YAML package file."""
        from foedus.data.loaders import package_text

        e = self.entry(pid)
        if is_empty(edit):
            return e.text
        pkg = apply_edit(e.package, edit, self.countries, file=f"edits.{pid}")
        return package_text(pkg, f"{pid} edited with the foedus web app levers: {json.dumps(edit, sort_keys=True)}\n"
                                 "Commitments marked 'Added with the foedus web app levers' are not from a published source.")


@functools.lru_cache(maxsize=1024)
def _relative_to(path: Path, cwd: str) -> Path:
    """``path`` relative to ``cwd`` if under it, else as given; kept (resolving
    a path asks the file system, and every comparison and exploration names
    each shipped package's file)."""
    try:
        return path.resolve().relative_to(Path(cwd).resolve())
    except ValueError:
        return path


class Busy(Exception):
    pass


class Refused(Exception):
    """A request the workspace cannot carry out, with its HTTP status and a
    readable reason (upload limit reached, shipped package, disk full)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status

    def __reduce__(self):  # crosses the compute pool's process boundary intact
        return (Refused, (self.status, str(self)))


def _assumption_title(name: str) -> str:
    for n, title, _ in ASSUMPTIONS:
        if n == name:
            return title
    return name


def _display(result: dict) -> dict[str, dict[str, str]]:
    """Display strings of each package's metrics in a comparison record."""
    return {p["id"]: {m: fmt(m, p["metrics"].get(m)) for m in p["metrics"]} for p in result["packages"]}


def _lean(result: dict, keys: tuple[str, ...]) -> dict:
    """A comparison record as /api/compare carries it: without the values of
    every parameter, each package's entry cut to ``keys``."""
    return {k: v for k, v in result.items() if k not in ("parameters", "packages")} | {
        "packages": [{k: p[k] for k in keys if k in p} for p in result["packages"]]}


def _worth_all(rows: list[dict], metrics: dict) -> dict:
    """What the page says of all of a package's guarantors while it shows the
    first ``WORTH_SHOWN``: how many there are, and whether the absence of any
    one of them changes the attack probability at the precision shown."""
    shown = fmt("attack_probability", metrics.get("attack_probability"))
    return {"count": len(rows), "moves": any(fmt("attack_probability", r["attack_probability_without"]) != shown for r in rows)}


def _element_display(entry: dict) -> dict[str, list[dict]]:
    """Per guarantor (ISO3), then ``collective``: each of its commitments'
    ``ELEMENT_SHOWN`` figures as the page shows them, in the entry's order."""
    def show(e: dict) -> dict:
        return {m: fmt(m, e.get(m), ELEMENT) for m in ELEMENT_SHOWN}

    out = {g["iso3"]: [show(e) for e in g.get("elements", [])] for g in entry.get("guarantors", [])}
    out["collective"] = [show(e) for e in entry.get("collective", [])]
    return out


def _nice_step(lo: float, hi: float) -> float:
    span = hi - lo
    if span <= 0:
        return 0.01
    raw = span / 100
    mag = 10 ** np.floor(np.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return float(m * mag)
    return float(raw)


def metric_info() -> dict:
    """Label, kind, direction and description of every metric, from the
    catalogue (a package metric wins over a guarantor metric of the same key)."""
    out: dict[str, dict] = {}
    for m in sorted(CATALOGUE, key=lambda m: m.level != PACKAGE):
        out.setdefault(m.key, {"label": m.label, "kind": m.kind, "direction": m.direction, "description": m.description})
    return out
