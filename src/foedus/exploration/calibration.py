"""Calibration: evaluate the published targets of ``data/calibration.yaml``
over the default futures, and fit the calibrated parameters to them.

Every target is measured as a user sees the model: the median (or mean)
over the default uncertainty sample (the file's ``sample``: size, seed,
sampler), not at one central point. The fit starts every calibrated
parameter from its recorded ``calibration.start`` and searches its
``calibration.bounds``, so a refit is reproducible and a reader can see
whether the fit moved a parameter at all: a parameter is *calibrated* only
if the fitted value moves off its start and off the edges of its bounds
(:meth:`FitResult.unmoved`). A calibrated parameter is itself sampled over its
range, so the fit moves its whole distribution: during the fit the sampled
values are the file's draws scaled by (new centre / file centre), or, for a
fraction (whose centre may be 0), shifted by (new centre - file centre),
and kept within [0, 1] for probabilities, fractions and hazard ratios (and
above 0 otherwise). The residual of each fit target is its distance
from the published value in units of its half band. ``scipy.optimize.least_squares`` minimises the sum of
squares over all fit targets at once. The range written back for each
calibrated parameter is the interval of values (held fixed in every
future, the other inputs sampled as fitted) over which every target it is
fitted to stays in its band; the fit is then repeated with those ranges. ``write_fit`` records
value, range, targets and residuals in the parameter files
(``ruamel.yaml`` round trip, so comments and layout survive).

Check targets take no part in the fit; they are reported pass or fail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from foedus.domain.vocabulary import Basis, KyivPosition

#: Metrics computed from the inputs rather than by the sub-models.
DERIVED = {
    # the share of the resources behind Ukraine's forces that is its own
    "ukraine_own_share": lambda x: x["deterrence.ukraine_own_defence_usd"] / (x["deterrence.ukraine_own_defence_usd"] + x["deterrence.ukraine_aid_baseline_usd"]),
}
#: Bounds of fitted centres by unit: probabilities, fractions and hazard
#: ratios stay in (0, 1], everything else positive.
_UNIT_CAP = {"probability", "fraction"}


@dataclass
class TargetResult:
    id: str
    role: str
    title: str
    value: float
    value_basis: str
    band: tuple[float, float]
    unit: str
    model: float
    passes: bool
    residual: float
    sources: list[str]
    grade: str
    setup: str
    statistic: str
    fits: list[str] = field(default_factory=list)
    note: str | None = None

    def record(self) -> dict:
        return {
            "id": self.id,
            "role": self.role,
            "title": self.title,
            "published": self.value,
            "value_basis": self.value_basis,
            "band": list(self.band),
            "unit": self.unit,
            "foedus": self.model,
            "pass": self.passes,
            "residual": self.residual,
            "statistic": self.statistic,
            "setup": self.setup,
            "sources": self.sources,
            "grade": self.grade,
            "fits": self.fits,
            "note": " ".join(self.note.split()) if self.note else None,
        }


class Calibration:
    """The targets, their set-ups compiled once, and the default sample."""

    def __init__(self, data=None, parameters=None, countries=None):
        from foedus.data.loaders import load_calibration, load_countries
        from foedus.data.parameter_set import ParameterSet

        self.countries = countries or load_countries()
        self.data = data or load_calibration(countries=self.countries)
        self.ps = parameters or ParameterSet.default()
        self._check_names()
        self._groups = _compile_groups(self.data, self.countries)
        self._sample(self.ps)

    def _check_names(self) -> None:
        from foedus.domain.errors import InputError, Problem

        problems = []
        for tid, t in self.data.targets.items():
            for name in t.fits:
                if name not in self.ps.parameters:
                    problems.append(Problem(f"targets.{tid}.fits", f"a known parameter name; '{name}' is not one"))
                elif self.ps.parameters[name].basis is not Basis.CALIBRATED:
                    problems.append(Problem(f"targets.{tid}.fits", f"a parameter with basis calibrated; '{name}' is {self.ps.parameters[name].basis.value}"))
        for name in self.data.settings:
            if self.ps._template(name) is None:
                problems.append(Problem("settings", f"a known parameter name; '{name}' is not one"))
        for sid, s in self.data.setups.items():
            for name in s.set:
                if self.ps._template(name) is None:
                    problems.append(Problem(f"setups.{sid}.set", f"a known parameter name; '{name}' is not one"))
        if problems:
            raise InputError("calibration.yaml", problems)

    def _sample(self, ps) -> None:
        from foedus.exploration.futures import Design

        s = self.data.sample
        design = Design.from_parameters(ps, sampler=s.sampler, seed=s.seed, block=max(s.futures, 1))
        vals = design.block_values(0, s.futures)
        self.n = s.futures
        self.columns = design.as_dict(vals)
        self.central = dict(ps.values())

    # -- measuring ---------------------------------------------------------------
    def measure_all(self, central: dict[str, float] | None = None, columns: dict[str, np.ndarray] | None = None) -> dict[str, float]:
        """Every target's foedus value for the given central values and
        sampled columns (default: the shipped parameters)."""
        central = self.central if central is None else central
        columns = self.columns if columns is None else columns
        per_setup = self._evaluate(central, columns)
        out = {}
        for tid, t in self.all_targets().items():
            m = t.measure
            num = per_setup[m.setup](m.metric)
            if m.over is not None:
                num = _ratio(num, per_setup[m.over](m.metric))
            elif m.over_metric is not None:
                num = _ratio(num, per_setup[m.setup](m.over_metric))
            finite = num[np.isfinite(num)]
            out[tid] = float(np.mean(finite) if m.statistic == "mean" else np.median(finite)) if finite.size else float("nan")
        return out

    def _evaluate(self, central, columns) -> dict:
        from foedus.exploration.assess import central_weights, evaluate
        from foedus.models.inputs import Inputs
        from foedus.models.sums import Probabilities

        h = float(central["assessment.horizon_years"])
        getters = {}
        for overrides, (lv, index) in self._groups.items():
            fixed = dict(overrides)
            vals = {**central, **{k: v for k, v in columns.items() if k not in fixed}, **fixed}
            x = Inputs(vals, self.n)
            w = central_weights(lv, Inputs({**central, **fixed}, 1))
            ev = evaluate(lv, x, h, weights=w, internals=True)
            fights = _lazy(lambda lv=lv, x=x: Probabilities(lv, x, h).row_fights())
            for sid, p in index.items():
                getters[sid] = _getter(lv, ev, x, p, fights)
        return getters

    def all_targets(self) -> dict:
        """Fit targets, checks and identities, in the file's order."""
        return {**self.data.targets, **self.data.identities}

    def results(self, central=None, columns=None) -> list[TargetResult]:
        values = self.measure_all(central, columns)
        out = []
        for tid, t in self.all_targets().items():
            v = values[tid]
            out.append(
                TargetResult(
                    id=tid, role=t.role, title=t.title, value=t.value, value_basis=t.value_basis, band=t.band,
                    unit=t.unit.value, model=v, passes=bool(np.isfinite(v) and t.passes(v)),
                    residual=t.residual(v) if np.isfinite(v) else float("nan"), sources=list(t.sources), grade=t.grade,
                    setup=t.measure.setup, statistic=t.measure.statistic, fits=list(t.fits), note=t.note,
                )
            )
        return out

    # -- fitting -------------------------------------------------------------------
    def fit(self, rounds: int = 2, progress=None) -> "FitResult":
        """Fit every calibrated parameter's centre and range (see module
        docstring): fit the centres with the current ranges moved along with
        them; then take each parameter's range from the profile of its
        targets and fit the centres again with those ranges."""
        targets_of = self.data.fitted_parameters()
        names = sorted(targets_of)
        fit_ids = [tid for tid, t in self.data.targets.items() if t.role == "fit"]
        ps = self.ps
        for r in range(rounds):
            ps = self._fit_centres(ps, names, fit_ids)
            if r < rounds - 1:
                self._sample(ps)
                ps = _with_ranges(ps, self._profile_ranges(ps, names, targets_of))
            if progress is not None:
                progress(r + 1, rounds)
        self.ps = ps
        self._sample(ps)
        got = self.measure_all()
        residuals = {t: self.data.targets[t].residual(got[t]) for t in fit_ids}
        centres = {n: float(ps.values()[n]) for n in names}
        ranges = {n: (ps.spec(n).low, ps.spec(n).high) if ps.spec(n) else (centres[n], centres[n]) for n in names}
        cal = {n: ps.parameters[n].calibration for n in names}
        return FitResult(centres, ranges, residuals, targets_of, self.data.as_of,
                         starts={n: cal[n].start for n in names}, bounds={n: tuple(cal[n].bounds) for n in names})

    def _fit_centres(self, ps, names, fit_ids):
        """Least squares over the centres, from each parameter's recorded
        start within its recorded bounds; each parameter's sampled values
        move with its centre (scaled, or shifted for fractions). Returns the
        parameters with the fitted centres and the moved ranges."""
        from scipy.optimize import least_squares

        self._sample(ps)
        base_cols = dict(self.columns)
        c0 = np.array([float(ps.values()[n]) for n in names])
        cal = [ps.parameters[n].calibration for n in names]
        linear = np.array([_linear(ps.parameters[n]) for n in names])
        caps = np.array([1.0 if _capped(ps.parameters[n]) else np.inf for n in names])

        def to_theta(v):
            return np.where(linear, v, np.log(np.maximum(v, 1e-300)))

        def centres_of(theta):
            return np.where(linear, theta, np.exp(np.where(linear, 0.0, theta)))

        def moved(i, c, col):
            if c0[i] == 0 or linear[i]:
                out = col + (c - c0[i])
            else:
                out = col * (c / c0[i])
            return np.clip(out, 0.0, caps[i])

        def trial(theta):
            c = centres_of(theta)
            cols = {k: (moved(names.index(k), c[names.index(k)], v) if k in names else v) for k, v in base_cols.items()}
            return {**self.central, **dict(zip(names, c))}, cols

        def residuals(theta):
            got = self.measure_all(*trial(theta))
            return np.array([self.data.targets[t].residual(got[t]) for t in fit_ids])

        lo = to_theta(np.array([c.bounds[0] for c in cal]))
        hi = to_theta(np.array([c.bounds[1] for c in cal]))
        x0 = to_theta(np.array([c.start for c in cal]))
        sol = least_squares(residuals, x0, bounds=(lo, hi), method="trf", diff_step=1e-3, xtol=1e-8, ftol=1e-10, max_nfev=400)
        c = centres_of(sol.x)
        moves = {}
        for i, n in enumerate(names):
            spec = ps.spec(n)
            if spec is None:
                moves[n] = (float(c[i]), None)
            else:
                a, b = moved(i, c[i], np.array([spec.low, spec.high]))
                moves[n] = (float(c[i]), (float(a), float(b)))
        return _with_centres(ps, moves)

    def _profile_ranges(self, ps, names, targets_of) -> dict[str, tuple[float, float]]:
        """Per parameter: the interval of fixed values over which every target
        it is fitted to stays in its band (the others sampled as fitted)."""
        out = {}
        for n in names:
            tids = targets_of[n]
            cap = 1.0 if _capped(ps.parameters[n]) else np.inf

            def ok(v, n=n, tids=tids):
                got = self.measure_all({**self.central, n: v}, {**self.columns, n: np.full(self.n, v)})
                return all(self.data.targets[t].passes(got[t]) for t in tids)

            c = float(self.central[n])
            if c <= 0:
                out[n] = (0.0, _edge(ok, 1e-6, 16.0, ceil=cap) if ok(0.0) else 0.0)
                continue
            out[n] = (_edge(ok, c, 1.0 / 16.0, floor=1e-4), _edge(ok, c, 16.0, ceil=cap))
        return out


@dataclass
class FitResult:
    centres: dict[str, float]
    ranges: dict[str, tuple[float, float]]
    residuals: dict[str, float]
    targets_of: dict[str, list[str]]
    as_of: dt.date
    starts: dict[str, float] = field(default_factory=dict)
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)

    def unmoved(self) -> dict[str, str]:
        """Calibrated parameters the fit did not really move: ``{name:
        why}`` for a fitted value within 1% of its start, or within 1% of
        an edge of its bounds (of the bounds' width, on the scale the fit
        searches)."""
        return {n: why for n in self.centres if (why := moved_off(self.centres[n], self.starts[n], self.bounds[n])) is not None}


def moved_off(value: float, start: float, bounds: tuple[float, float], tol: float = 0.01) -> str | None:
    """None if ``value`` moved off ``start`` and off the edges of ``bounds``
    (by ``tol`` of the bounds' width, on a log scale when the bounds are
    positive); else why not."""
    lo, hi = bounds
    log = lo > 0
    f = (lambda v: np.log(v)) if log else (lambda v: v)  # noqa: E731
    width = f(hi) - f(lo)
    if abs(f(value) - f(start)) < tol * width:
        return f"stays at its start ({start:g})"
    if f(value) - f(lo) < tol * width or f(hi) - f(value) < tol * width:
        return f"sits on an edge of its bounds [{lo:g}, {hi:g}]"
    return None


def _edge(ok, c: float, factor: float, floor: float = 0.0, ceil: float = np.inf) -> float:
    """Furthest value from ``c`` towards ``c * factor`` (within bounds) for
    which ``ok`` holds, by a scan and bisection in log space; ``c`` if even
    ``c`` fails."""
    if not ok(c):
        return c
    far = min(max(c * factor, floor), ceil)
    if ok(far):
        return far
    a, b = np.log(c), np.log(far)
    for _ in range(10):
        m = 0.5 * (a + b)
        if ok(np.exp(m)):
            a = m
        else:
            b = m
    return float(np.exp(a))


def _capped(p) -> bool:
    return p.unit.value in _UNIT_CAP or p.name.startswith("deterrence.hazard_ratio.")


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)


def _lazy(build):
    """``build()`` once, on first call."""
    cache = []

    def get():
        if not cache:
            cache.append(build())
        return cache[0]

    return get


def _getter(lv, ev, x, p: int, fights):
    def get(metric: str) -> np.ndarray:
        if metric.startswith("credibility."):
            iso = metric.split(".", 1)[1]
            rows = np.nonzero((lv.q_package == p) & (np.array(lv.guarantors)[lv.q_guarantor] == iso))[0]
            if rows.size != 1:
                raise KeyError(f"{iso} is not a guarantor of the set-up")
            return np.broadcast_to(fights(), (lv.n_rows, x.n))[rows[0]]
        if metric in DERIVED:
            return np.broadcast_to(DERIVED[metric](x), (x.n,))
        if metric in ev.packages:
            return ev.packages[metric][p]
        if ev.internals is not None and metric in ev.internals:
            return ev.internals[metric][p]
        raise KeyError(f"no metric named '{metric}'")

    return get


def _compile_groups(data, countries) -> dict:
    """Set-ups grouped by their parameter settings, each group compiled once:
    ``{overrides (sorted tuple): (levers, {setup id: package index})}``."""
    from foedus.domain.package import Package
    from foedus.domain.reference import Reference
    from foedus.models.levers import compile_packages

    ref = Reference(publisher="foedus", title="calibration set-up (data/calibration.yaml)", year=data.as_of.year)
    groups: dict[tuple, list[tuple[str, Package]]] = {}
    for sid, s in data.setups.items():
        pkg = Package.model_construct(
            id=sid, title=sid, rationale=s.description, kyiv_position=KyivPosition.ACCEPTED, sources=[ref],
            terms=s.terms, commitments=list(s.commitments),
        )
        fixed = {**(data.settings if s.use_settings else {}), **s.set}
        groups.setdefault(tuple(sorted(fixed.items())), []).append((sid, pkg))
    out = {}
    for key, items in groups.items():
        lv = compile_packages([p for _, p in items], countries)
        out[key] = (lv, {sid: i for i, (sid, _) in enumerate(items)})
    return out


def _linear(p) -> bool:
    """Fractions are fitted on their own scale (they may reach 0), the rest on a log scale."""
    return p.unit.value == "fraction"


def _with_centres(ps, moves: dict[str, tuple[float, tuple[float, float] | None]]):
    """Parameters with new centres and (where sampled, and a range is given)
    new ranges."""
    from foedus.data.parameter_set import ParameterSet

    params = dict(ps.parameters)
    for n, (c, rng) in moves.items():
        p = params[n]
        unc = p.uncertainty
        if unc is not None and rng is not None and rng[1] > rng[0]:
            lo, hi = min(rng[0], c), max(rng[1], c)
            dist = unc.distribution if (unc.distribution != "loguniform" or lo > 0) else "uniform"
            unc = unc.model_copy(update={"low": lo, "high": hi, "distribution": dist})
        params[n] = p.model_copy(update={"values": {max(p.values): c}, "uncertainty": unc})
    return ParameterSet(params, dict(ps.overrides), dict(ps.ranges), set(ps.fixed), ps.countries)


def _with_ranges(ps, ranges: dict[str, tuple[float, float]]):
    """Parameters whose ranges come from the profiles, made symmetric about
    the fitted centre (on a log scale, or a linear one for fractions) with
    the smaller of the two half-widths, so that both ends keep every target
    in its band and the sampled values centre on the fitted value. A
    fraction fitted to 0 keeps its one-sided profile; a profile that found
    nothing (the fixed centre itself outside a band) keeps the old range."""
    values = ps.values()
    moves = {}
    for n, (lo, hi) in ranges.items():
        c = float(values[n])
        if _linear(ps.parameters[n]):
            d = min(hi - c, c - lo)
            rng = (c - d, c + d) if d > 0 else ((0.0, hi) if c <= 0 < hi else None)
        else:
            k = min(hi / c, c / lo) if c > 0 and lo > 0 else 1.0
            rng = (c / k, c * k) if k > 1.0 + 1e-9 else None
        moves[n] = (c, rng)
    return _with_centres(ps, moves)


def write_fit(fit: FitResult, directory=None) -> list[str]:
    """Write fitted centres, ranges, targets and residuals into the parameter
    files (round trip: comments and layout are kept). The fitted centre is
    added under the fit's date, so earlier values stay on record (a refit on
    the same day replaces that day's value). Returns the files written."""
    import io
    from pathlib import Path

    from ruamel.yaml import YAML

    from foedus.data.loaders import parameter_files

    y = YAML()
    y.preserve_quotes = True
    y.width = 4096
    y.representer.ignore_aliases = lambda *_: True  # one date written many times stays plain
    written = []
    for path in parameter_files(directory):
        doc = y.load(Path(path).read_text(encoding="utf-8"))
        stem = Path(path).stem
        changed = False
        for key, body in (doc.get("parameters") or {}).items():
            name = f"{stem}.{key}"
            if name not in fit.centres:
                continue
            c = _round(fit.centres[name])
            # a new fit adds a dated value; earlier fits stay on record
            body["values"][fit.as_of] = c
            cal = body.get("calibration")
            cal["targets"] = list(fit.targets_of[name])
            cal["residuals"] = {t: round(float(fit.residuals[t]), 3) + 0.0 for t in fit.targets_of[name]}
            cal["fitted"] = fit.as_of
            lo, hi = fit.ranges.get(name, (c, c))
            unc = body.get("uncertainty")
            if unc is not None and _round(hi) > _round(lo):
                unc["low"] = min(_round(lo), c)
                unc["high"] = max(_round(hi), c)
            changed = True
        if changed:
            buf = io.StringIO()
            y.dump(doc, buf)
            Path(path).write_text(buf.getvalue(), encoding="utf-8")
            written.append(str(path))
    return written


def _round(v: float) -> float:
    """Four significant digits (enough for every target's band); a value
    within rounding of zero is zero."""
    return 0.0 if abs(v) < 1e-12 else float(f"{v:.4g}")
