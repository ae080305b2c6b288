"""The assessment year by year: from the start year to the horizon, what
each package costs, deploys and deters in each year, with commitments that
change by year, forces and enablers that take time to build, promises that
lapse and a hazard highest right after the ceasefire.

Each year ``t`` (calendar year ``y_t``) evaluates the steady sub-models on
the package *as it stands in that year* (:meth:`Package.at`), with
(equations in :mod:`foedus.models.timeline` and ``docs/model.md`` §20)::

    forces       deployed_{q,t} = planned_{q,t} * cover_{q,t}
                 cover_{q,t} = min(1, (available_q + trained_{q,t}) / pool_{q,t})
                 need_q      = max_t max(0, pool_{q,t} - available_q)       soldiers to raise
                 recruited_{q,t} = min(need_q, g * active_q * (t + 1))          on the payroll in year t
                 trained_{q,t}   = min(need_q, g * active_q * max(0, t + 1 - tau))   deployable by the end of year t
                 g = forces.recruit_growth_max, tau = forces.training_years
    cost         cost_{q,t} = steady cost of the forces deployed, platforms and money
                              + recruited_{q,t} * raise_soldier_year + enablers_{q,t}
    enablers     a unit planned in service in year y enters service in e = max(y, start + d),
                 d = delivery_years; its acquisition is paid evenly over [max(start, e - d), e);
                 in service it costs operating_year a year
    % of GDP     cost_{q,t} / (GDP_g * (1 + growth_g) ** (y_t - year of GDP_g))
    spending     plan_{g,t}  = the national plan where sourced (steps), else today's share
                 total_{g,t} = plan_{g,t} + (cost_{q,t} - min(aid_q, aid_baseline_g)) / GDP_{g,t}
                 hague_{g,t} = today's share + (total_2035 mark - today's share) * (y_t - year) / (2035 - year)
    hazard       h_t = the steady hazard of the year's package, with every promise and
                 delivery times its chance of being in force (lapse) and the base
                 hazard shaped by m(t)
    over years   attack by y_t = 1 - prod_{tau <= t} (1 - h_tau) ** e_tau
    cumulative   sum_{tau <= t} e_tau * cost_tau ; discounted: times (1 + r) ** -tau

The build-up plan (who deploys how much when) and the enablers' delivery
dates are set at the central values, as a planner would; costs, hazards and
recruitment vary with every future. Costs are the plan's (what is paid if
the package is carried out), not weighted by the chance of a lapse.

No loop per future: one evaluation per year over all futures at once.
Package totals of the guarantor rows and each row's enabler cost are
fixed-order row sums (:mod:`foedus.models.by_package`), as in the steady
model, so a package's yearly figures do not depend on the other packages
evaluated with it nor a future's on the chunk of futures it is in.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from foedus.domain.metrics import YEARLY_METRICS, split_yearly
from foedus.domain.package import Package, size_at
from foedus.domain.vocabulary import Kind
from foedus.exploration.levers_cache import compiled, package_text
from foedus.models.by_package import product, sum_by
from foedus.models.costs import row_costs, row_levers, total_defence_pct_gdp, varying_rows
from foedus.models.deterrence import deterrence
from foedus.models.forces import deployed_parts, shortfall_rows
from foedus.models.inputs import Inputs, widen
from foedus.models.levers import ENABLERS, Levers
from foedus.models.sums import Probabilities, pairs_in_force
from foedus.models.timeline import Timeline, discount, hazard_shapes, over_years, survivals

#: Per-package yearly metrics, ``(P, T, n)``.
PACKAGE_YEAR_METRICS = (
    "annual_attack_probability",
    "attack_probability",
    "total_cost_usd_per_year",
    "aid_usd_per_year",
    "guarantee_cost_usd_per_year",
    "enabler_cost_usd_per_year",
    "max_cost_pct_gdp",
    "cumulative_cost_usd",
    "discounted_cost_usd",
    "troops_deployed",
    "troops_required_pool",
    "troops_short",
    "guarantors_short",
    "defender_strength",
)
#: Per-guarantor yearly metrics, ``(R, T, n)``.
ROW_YEAR_METRICS = (
    "cost_usd_per_year",
    "aid_usd_per_year",
    "cost_pct_gdp",
    "cumulative_cost_usd",
    "discounted_cost_usd",
    "enabler_cost_usd_per_year",
    "raise_cost_usd_per_year",
    "troops_deployed",
    "troops_required_pool",
    "troops_available",
    "troops_short",
    "recruits",
    "defence_plan_pct_gdp",
    "total_defence_pct_gdp",
    "hague_path_pct_gdp",
)


@dataclass
class YearPath:
    """Yearly results: ``packages[m]`` ``(P, T, n)``, ``rows[m]`` ``(R, T, n)``
    for the guarantor rows ``row_keys`` (package index, ISO3); ``ready``
    ``(R,)`` the year each row's build-up is complete at the central values
    (its start year when nothing is short; ``nan`` if not within the axis);
    ``enablers`` per row, ``{enabler: (T,) units in service}``."""

    years: np.ndarray
    exposure: np.ndarray
    package_ids: list[str]
    packages: dict[str, np.ndarray]
    row_keys: list[tuple[int, str]]
    rows: dict[str, np.ndarray]
    ready: np.ndarray
    enablers: list[dict[str, np.ndarray]]
    n: int


def evaluate_years(packages: list[Package], countries, x: Inputs, horizon: float, central: Inputs | None = None, *,
                   rows: bool = True) -> YearPath:
    """Evaluate ``packages`` year by year over the futures in ``x``
    (``central``: the one-future central inputs that set the build-up plan
    and the delivery dates; ``x`` itself when it is the central case).
    ``rows``: also keep the per-guarantor results (``YearPath.rows``; an
    exploration needs the package results only)."""
    central = central if central is not None else x
    if central.n != 1:
        raise ValueError("the build-up plan needs the one-future central inputs")
    tl = Timeline.of(central, horizon)
    T, n = tl.n, x.n
    deal, states = _states(packages, countries, tl)
    keys = [(int(p), deal.guarantors[g]) for p, g in zip(deal.q_package, deal.q_guarantor)]
    at = {k: i for i, k in enumerate(keys)}
    R, P = len(keys), deal.n_packages
    growth = np.array([_growth(countries[iso], central) for _, iso in keys])
    gdp_year = np.array([countries[iso].gdp_usd.year for _, iso in keys])
    gdp = deal.row_values(deal.gdp)
    active = deal.row_values(deal.active)
    q = deal.q_package  # (R,) the package of each deal row
    starts = np.searchsorted(deal.q_package, np.arange(P))
    has_rows = np.isin(np.arange(P), deal.q_package)

    # pass 1: the year's package, its forces as planned (only the rows that ever deploy)
    D = np.unique(np.concatenate([rws[deployed_parts(lv).sum(axis=1) > 0] for lv, rws in states] + [np.zeros(0, dtype=np.int64)]))
    pos = np.full(R, -1, dtype=np.int64)
    pos[D] = np.arange(D.size)
    planned = {m: np.zeros((D.size, T, n)) for m in ("deployed", "pool", "available")}
    planned_c = {m: np.zeros((D.size, T, 1)) for m in ("pool", "available")}
    for t, (lv, rws) in enumerate(states):
        mine = np.nonzero(pos[rws] >= 0)[0]
        if not mine.size:
            continue
        dep, pool, avail, _ = shortfall_rows(lv, x, mine)
        for name, a in (("deployed", dep), ("pool", pool), ("available", avail)):
            planned[name][pos[rws[mine]], t] = a
        _, pool_c, avail_c, _ = shortfall_rows(lv, central, mine)
        planned_c["pool"][pos[rws[mine]], t] = pool_c
        planned_c["available"][pos[rws[mine]], t] = avail_c
    build = _buildup(planned, active[D], x, T)
    cover_c = np.ones((R, T))
    cover_c[D] = _buildup(planned_c, active[D], central, T)["cover"][:, :, 0]
    ok = cover_c >= 1.0 - 1e-9
    ready = np.where(ok.any(axis=1), tl.start + np.argmax(ok, axis=1), np.nan)

    ench = _enabler_schedules(packages, keys, at, tl, central)
    B = np.nonzero(ench["units"].any(axis=(1, 2)) | ench["buying"].any(axis=(1, 2)))[0]  # rows that build enablers
    enabler_cost = np.zeros((B.size, T, n))
    if B.size:
        # per row and year: units in service . operating cost + units paid for . acquisition,
        # each a fixed-order sum over the enablers (lever-only (B*T, K) times futures (K, n|1))
        op = x.table("costs.enabler", [f"{k}.operating_year" for k in ENABLERS])  # (K, n|1)
        acq = x.table("costs.enabler", [f"{k}.acquisition" for k in ENABLERS])
        units = ench["units"][B].transpose(0, 2, 1).reshape(B.size * T, len(ENABLERS))  # row b, year t -> b * T + t
        buying = ench["buying"][B].transpose(0, 2, 1).reshape(B.size * T, len(ENABLERS))
        enabler_cost[:] = (product(units, op) + product(buying, acq)).reshape(B.size, T, -1)

    out_p = {m: np.zeros((P, T, n)) for m in PACKAGE_YEAR_METRICS}
    out_r = {m: np.zeros((R, T, n)) for m in ROW_YEAR_METRICS} if rows else {}
    base = deal.row_values(deal.defence_pct_gdp)
    base_year = np.array([countries[iso].defence_pct_gdp.year for _, iso in keys])
    capacity = shortfall_rows(deal, x)[2] if rows else None  # (R, n) active * capacity share, before any recruit (forces model)
    # every year at once, (rows, years, futures): the steady sub-models' results of the year's levers,
    # then the build-up's raise cost and the enablers, in that order for each row
    row_cost = np.zeros((R, T, n))
    money, aid = np.zeros((R, T)), np.zeros((R, T))
    for t, (cost, (lv0, rws)) in enumerate(zip(_steady_by_year(states, cover_c, x, tl), states)):
        out_p["annual_attack_probability"][:, t], out_p["defender_strength"][:, t], row_cost[rws, t] = cost
        money[rws, t], aid[rws, t] = _money(lv0)  # the year's levers scale forces, not money
    raise_ = build["recruited"] * x["costs.raise_soldier_year"][None, None, :]
    row_cost[D] += raise_
    row_cost[B] += enabler_cost
    deployed = build["cover"] * planned["deployed"]
    available = planned["available"] + build["trained"]
    short = np.maximum(planned["pool"] - available, 0.0)
    gdp_t = gdp[:, None] * (1.0 + growth[:, None]) ** (tl.years[None, :] - gdp_year[:, None])  # (R, T)
    pct = row_cost / gdp_t[:, :, None]

    def by_package(rows_of: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Package totals of row quantities ``(rows, T, n|1)``: row sums in
        row order (a package's figures depend on its rows alone)."""
        a = np.broadcast_to(a, a.shape[:2] + (n,))
        return sum_by(rows_of, a.reshape(a.shape[0], T * n), P).reshape(P, T, n)

    out_p["total_cost_usd_per_year"][:] = by_package(q, row_cost)
    out_p["aid_usd_per_year"][:] = by_package(q, money[:, :, None])  # military, humanitarian, reconstruction
    out_p["guarantee_cost_usd_per_year"][:] = by_package(q, row_cost - money[:, :, None])  # per row first: money alone costs exactly 0
    out_p["enabler_cost_usd_per_year"][:] = by_package(q[B], enabler_cost)
    if R:
        out_p["max_cost_pct_gdp"][has_rows] = np.maximum.reduceat(pct, starts[has_rows], axis=0)
    out_p["troops_deployed"][:] = by_package(q[D], deployed)
    out_p["troops_required_pool"][:] = by_package(q[D], planned["pool"])
    out_p["troops_short"][:] = by_package(q[D], short)
    out_p["guarantors_short"][:] = by_package(q[D], (short > 0).astype(np.float64))
    if rows:
        shares = {iso: _plan_shares(countries[iso], tl.years) for iso in dict.fromkeys(iso for _, iso in keys)}
        plan = np.array([shares[iso] for _, iso in keys]).reshape(R, T)
        out_r["cost_usd_per_year"][:] = row_cost
        out_r["aid_usd_per_year"][:] = money[:, :, None]
        out_r["cost_pct_gdp"][:] = pct
        out_r["enabler_cost_usd_per_year"][B] = enabler_cost
        out_r["raise_cost_usd_per_year"][D] = raise_
        out_r["troops_deployed"][D] = deployed
        out_r["troops_required_pool"][D] = planned["pool"]
        out_r["troops_available"][:] = capacity[:, None, :]
        out_r["troops_available"][D] = available
        out_r["troops_short"][D] = short
        out_r["recruits"][D] = build["recruited"]
        out_r["defence_plan_pct_gdp"][:] = plan[:, :, None]
        out_r["total_defence_pct_gdp"][:] = total_defence_pct_gdp(plan[:, :, None], row_cost, aid[:, :, None],
                                                                   deal.row_values(deal.aid_baseline)[:, None, None], gdp_t[:, :, None])
        for t, y in enumerate(tl.years):
            out_r["hague_path_pct_gdp"][:, t] = _hague(base, base_year, int(y), x)
    e = tl.exposure
    disc = np.stack([np.broadcast_to(discount(x, t), (n,)) for t in range(T)])  # (T, n)
    for out, cost_key in ((out_p, "total_cost_usd_per_year"), (out_r, "cost_usd_per_year")):
        if out:
            out["cumulative_cost_usd"][:] = np.cumsum(out[cost_key] * e[None, :, None], axis=1)
            out["discounted_cost_usd"][:] = np.cumsum(out[cost_key] * (e[:, None] * disc)[None], axis=1)
    out_p["attack_probability"][:] = over_years(out_p["annual_attack_probability"], e)
    enablers = [{k: ench["units"][r, j] for j, k in enumerate(ENABLERS) if ench["units"][r, j].any()} for r in range(R)]
    return YearPath(tl.years, e, deal.package_ids, out_p, keys, out_r, ready, enablers, n)


#: At most this many futures (years times futures) in one evaluation of
#: stacked years (:func:`_steady_by_year`).
STACKED_FUTURES = 16384


def _steady_by_year(states: list[tuple[Levers, np.ndarray]], cover: np.ndarray, x: Inputs, tl: Timeline) -> list[tuple[np.ndarray, ...]]:
    """Per year ``t``: the yearly hazard and the defender's strength of each
    package ``(P, n)`` and the cost of each of the year's guarantor rows
    ``(R_t, n)``, from the steady sub-models on the year's levers, with
    every promise weighed by its chance of being in force in ``t`` and the
    base hazard shaped by ``m(t)``.

    Years whose levers differ only by GDP (the same state of the packages,
    forces kept at the same share) are one evaluation, their futures side
    by side (``STACKED_FUTURES`` at most): hazard, strength and costs do not
    read GDP, and a future's values do not depend on the others evaluated
    with it, so each year's figures are those of its own evaluation, bit
    for bit (``tests/test_years.py``); ten evaluations of a thousand
    futures took about twice one of ten thousand."""
    T, n = tl.n, x.n
    groups: dict[tuple, list[int]] = {}
    for t, (lv0, rws) in enumerate(states):
        groups.setdefault((id(lv0), cover[rws, t].tobytes()), []).append(t)
    alive: dict[tuple, np.ndarray] = {}  # every year's survival at once, per set of government-change patterns
    shapes = hazard_shapes(x, T)
    out: list = [None] * T
    step = max(1, STACKED_FUTURES // n)
    for years in groups.values():
        for i in range(0, len(years), step):
            part = years[i : i + step]
            lv0, rws = states[part[0]]
            lv = _year_levers(lv0, rws, cover[:, part[0]])
            need = pairs_in_force(lv, x)
            kept = alive.get((tuple(lv.patterns), need.tobytes()))
            if kept is None:
                kept = alive[tuple(lv.patterns), need.tobytes()] = survivals(lv.patterns, x, tl.start, T, need)
            k = len(part)
            xs = _Repeated(x, k) if k > 1 else x
            pr = Probabilities(lv, xs, 1.0, alive=np.concatenate([widen(kept[t], n) for t in part], axis=-1))
            det = deterrence(lv, xs, pr, 1.0, shape=np.concatenate([widen(shapes[t], n) for t in part]))
            cost = _row_costs_unshort(lv, xs)
            got = [np.broadcast_to(a, a.shape[:-1] + (k * n,)) for a in (det["annual_attack_probability"], det["defender_strength"], cost)]
            for j, t in enumerate(part):
                out[t] = tuple(a[..., j * n : (j + 1) * n] for a in got)
    return out


def _row_costs_unshort(lv: Levers, x: Inputs) -> np.ndarray:
    """``(R, n)`` cost of every guarantor row of the year's levers before the
    build-up (no shortfall): the rows whose cost varies by future priced
    (:func:`foedus.models.costs.row_costs`), the others their money, with
    the same operations (``money + 0 + 0``)."""
    varying = varying_rows(lv)
    out = np.empty((lv.n_rows, x.n))
    out[:] = (row_levers(lv)[1] + 0.0 + 0.0)[:, None]
    if varying.size:
        out[varying] = row_costs(lv, x, varying, np.zeros((varying.size, 1)))[0]
    return out


class _Repeated(Inputs):
    """The futures of ``x`` ``k`` times over, side by side: an input that
    varies by future is repeated when first read (most are never read by
    the sub-models of :func:`_steady_by_year`)."""

    def __init__(self, x: Inputs, k: int):  # Inputs reads only ``n`` and ``_v``
        self.n = x.n * k
        self._v = _RepeatedValues(x, k)


class _RepeatedValues(dict):
    """``name -> array`` of :class:`_Repeated`, filled as the names are read."""

    def __init__(self, x: Inputs, k: int):
        super().__init__()
        self._x, self._k = x, k

    def __missing__(self, key: str) -> np.ndarray:
        v = self._x[key]
        out = self[key] = np.tile(v, self._k) if v.size == self._x.n else v
        return out

    def get(self, key: str, default=None):
        return self[key] if key in self._x else default

    def __contains__(self, key: object) -> bool:
        return key in self._x

    def __iter__(self):
        return iter(self._x)

    def __len__(self) -> int:
        return len(self._x)


def _growth(country, central: Inputs) -> float:
    """Real GDP growth a year: the country's own figure, else the default."""
    g = getattr(country, "gdp_growth", None)
    return float(g.value) if g is not None else float(central["time.gdp_growth.default"][0])


def _plan_shares(country, years) -> list[float]:
    """Defence spending in % of GDP without the package in each of
    ``years`` (ascending): the national plan where sourced (each value from
    its year on), else the latest share."""
    plan = sorted((getattr(country, "defence_plan", None) or {}).items())
    share, out, i = float(country.defence_pct_gdp.value), [], 0
    for year in years:
        while i < len(plan) and plan[i][0] <= year:
            share = max(share, float(plan[i][1]))
            i += 1
        out.append(share)
    return out


def _hague(base: np.ndarray, base_year: np.ndarray, year: int, x: Inputs) -> np.ndarray:
    """``(R, n|1)`` the straight path from each ally's latest share to the
    Hague pledge's 5 % (3.5 % core + 1.5 %) in 2035, held after."""
    mark = x["costs.nato_mark.total_2035"][None, :]
    share = np.clip((year - base_year) / np.maximum(2035 - base_year, 1), 0.0, 1.0)[:, None]
    return base[:, None] + np.maximum(mark - base[:, None], 0.0) * share


def _buildup(planned: dict, active: np.ndarray, x: Inputs, T: int) -> dict:
    """Soldiers raised for the mission: ``recruited``, ``trained`` and the
    share of the planned force that can be kept deployed (``cover``), each
    ``(R, T, n)``."""
    pool, avail = planned["pool"], planned["available"]
    need = np.maximum(pool - avail, 0.0).max(axis=1)  # (R, n)
    intake = active[:, None] * x["forces.recruit_growth_max"][None, :]  # (R, n|1)
    t = np.arange(T, dtype=np.float64)[None, :, None]
    recruited = np.minimum(need[:, None, :], intake[:, None, :] * (t + 1.0))
    trained = np.minimum(need[:, None, :], intake[:, None, :] * np.maximum(t + 1.0 - x["forces.training_years"][None, None, :], 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(pool > 0, np.minimum(1.0, (avail + trained) / np.where(pool > 0, pool, 1.0)), 1.0)
    return {"recruited": recruited, "trained": trained, "cover": cover}


_STATES: dict = {}


def _states(packages: list[Package], countries, tl: Timeline) -> tuple[Levers, list[tuple[Levers, np.ndarray]]]:
    """The deal's levers (every commitment at its peak) and, per year, the
    levers of the packages as they stand (enabler builds left out: the time
    axis prices them itself) with the deal row of each of their guarantor
    rows. Compiled once per distinct state, and kept for the same packages
    (an exploration evaluates them chunk after chunk)."""
    key = (id(countries), tl, tuple(package_text(p) for p in packages))
    if key not in _STATES:
        if len(_STATES) >= 16:
            _STATES.pop(next(iter(_STATES)))
        _STATES[key] = _compile_states(packages, countries, tl)
    return _STATES[key]


def _compile_states(packages: list[Package], countries, tl: Timeline) -> tuple[Levers, list[tuple[Levers, np.ndarray]]]:
    """(The kept compiled levers serve: a steady package without enabler
    builds is its own deal and its own state in every year.)"""
    deal = compiled(packages, countries)
    deal_keys = {(int(p), deal.guarantors[g]): i for i, (p, g) in enumerate(zip(deal.q_package, deal.q_guarantor))}
    cache: dict[tuple, tuple[Levers, np.ndarray]] = {}
    out = []
    change = [p.years() for p in packages]
    for y in tl.years:
        key = tuple(bisect.bisect_right(c, int(y)) for c in change)
        if key not in cache:
            pk = [_no_enablers(p.at(int(y))) for p in packages]
            lv = compiled(pk, countries)
            rows = np.array([deal_keys[(int(p), lv.guarantors[g])] for p, g in zip(lv.q_package, lv.q_guarantor)], dtype=np.int64)
            cache[key] = (lv, rows)
        out.append(cache[key])
    return deal, out


def _money(lv: Levers) -> tuple[np.ndarray, np.ndarray]:
    """``(Q,)`` each: the money of each guarantor row (military,
    humanitarian and reconstruction aid, as the costs count it) and its
    military aid alone."""
    return row_levers(lv)[1], lv.memo("military_aid_rows", lambda: lv.sum_rows(lv.aid_usd))


def _no_enablers(p: Package) -> Package:
    kept = [c for c in p.commitments if c.kind is not Kind.ENABLER_BUILD]
    return p if len(kept) == len(p.commitments) else p.model_copy(update={"commitments": kept})


_YEAR_LEVERS: dict = {}


def _year_levers(lv: Levers, rows: np.ndarray, cover: np.ndarray) -> Levers:
    """The year's levers: forces scaled to what can be kept deployed
    (``cover`` per deal row; the costs' share of GDP is taken with each
    year's GDP by :func:`evaluate_years`). Kept for the same inputs (set at
    the central values, so the same for every chunk of futures), with their
    lever-only intermediate results."""
    key = (id(lv), rows.tobytes(), cover.tobytes())
    hit = _YEAR_LEVERS.get(key)
    if hit is not None and hit[0] is lv:
        return hit[1]
    if len(_YEAR_LEVERS) >= 256:
        _YEAR_LEVERS.pop(next(iter(_YEAR_LEVERS)))
    c = cover[rows][lv.el_q][:, None]
    out = dataclasses.replace(lv, **{f: getattr(lv, f) * c for f in ("ground", "trainers", "monitors", "aircraft", "ships", "air_defence")}, _memo={})
    _YEAR_LEVERS[key] = (lv, out)
    return out


def _enabler_schedules(packages: list[Package], keys, at: dict, tl: Timeline, central: Inputs) -> dict[str, np.ndarray]:
    """``units`` and ``buying``, ``(R, K, T)``: enablers in service, and
    units paid for, each year, per deal row."""
    R, K, T = len(keys), len(ENABLERS), tl.n
    units, buying = np.zeros((R, K, T)), np.zeros((R, K, T))
    years = tl.years
    for p_i, pkg in enumerate(packages):
        for c in pkg.commitments:
            if c.kind is not Kind.ENABLER_BUILD:
                continue
            r, k = at[(p_i, c.guarantor)], ENABLERS.index(c.enabler.value)
            d = max(0, math.ceil(float(central[f"costs.enabler.{c.enabler.value}.delivery_years"][0]) - 1e-9))
            plan = np.array([size_at(c.units, int(y)) if c.at(int(y)) is not None else 0 for y in years], dtype=np.float64)
            arrived = np.zeros(T)
            prev = 0.0
            for t, want in enumerate(plan):  # increments of the planned fleet: over years, not futures
                if want > prev:
                    enter = max(t, d)
                    first = max(0, enter - d)
                    if enter < T:
                        arrived[enter:] += want - prev
                    span = max(enter - first, 1)
                    buying[r, k, first:min(first + span, T)] += (want - prev) / span
                prev = max(prev, want)
            units[r, k] += np.minimum(plan, arrived)
    return {"units": units, "buying": buying}


#: The yearly package metrics ``compare --by-year`` gives, in reading order.
BY_YEAR_METRICS = YEARLY_METRICS
#: The yearly guarantor metrics it gives.
GUARANTOR_BY_YEAR = (
    "cost_usd_per_year", "cost_pct_gdp", "total_defence_pct_gdp", "defence_plan_pct_gdp", "hague_path_pct_gdp", "troops_deployed",
    "troops_short", "recruits", "enabler_cost_usd_per_year",
)


def yearly_values(packages: list[Package], countries, x: Inputs, horizon: float, central: Inputs, names: list[str]) -> dict[str, np.ndarray]:
    """``{name: (P, n)}`` for yearly metric names ``<metric>@<year>`` (an
    exploration's or a sensitivity analysis's extra outputs)."""
    yp = evaluate_years(packages, countries, x, horizon, central=central, rows=False)
    out = {}
    for name in names:
        base, year = check_yearly(name, int(yp.years[0]), horizon)
        out[name] = yp.packages[base][:, year - int(yp.years[0])]
    return out


def check_yearly(name: str, start: int, horizon: float) -> tuple[str, int]:
    """``(metric, year)`` of a yearly metric name, or a ValueError saying
    what is expected."""
    try:
        parts = split_yearly(name)
    except KeyError as exc:
        raise ValueError(str(exc).strip("'\"")) from None
    last = start + math.ceil(horizon - 1e-9) - 1
    if parts is None or not start <= parts[1] <= last:
        raise ValueError(f"'{name}': METRIC@YEAR with a year from {start} to {last} (the time axis)")
    return parts


def by_year(packages: list[Package], parameters, countries, horizon: float | None = None, *, futures: int = 1000, seed: int = 0) -> dict:
    """The ``compare --by-year --json`` record: per package and year the
    central value of :data:`BY_YEAR_METRICS` and their 5th-95th percentiles
    over ``futures`` futures of the default design (LHS, ``seed``), the
    steady model's attack probability over the horizon beside the yearly
    path's, the totals, the year of peak cost, and per guarantor its yearly
    cost, spending against its plan and the Hague path, forces, build-up
    date and enablers in service."""
    from foedus.exploration.assess import attack_and_approval, make_inputs
    from foedus.exploration.futures import Design
    from foedus.exploration.robustness import row_percentiles_each

    central = make_inputs(parameters)
    h = float(horizon if horizon is not None else central["assessment.horizon_years"][0])
    yp = evaluate_years(packages, countries, central, h)
    lv = compiled(packages, countries)
    steady = attack_and_approval(lv, central, h)["attack_probability"][:, 0]  # the steady model's (deterrence and approval alone)
    pct = None
    if futures:
        design = Design.from_parameters(parameters, sampler="lhs", seed=seed, block=max(int(futures), 1), time_axis=True)
        cols = design.as_dict(design.block_values(0, int(futures)))
        x = make_inputs(parameters, cols) if cols else central
        spread = evaluate_years(packages, countries, x, h, central=central, rows=False)
        P, T = len(packages), len(yp.years)
        q = row_percentiles_each([spread.packages[m].reshape(P * T, -1) for m in BY_YEAR_METRICS], (5, 95))
        pct = {m: qm.reshape(2, P, T) for m, qm in zip(BY_YEAR_METRICS, q)}
    years = [int(y) for y in yp.years]
    out = []
    for i, pkg in enumerate(packages):
        metrics = {m: _list(yp.packages[m][i, :, 0]) for m in BY_YEAR_METRICS}
        cost = yp.packages["total_cost_usd_per_year"][i, :, 0]
        peak = int(np.argmax(cost))
        rec = {
            "id": pkg.id,
            "title": pkg.title,
            "steady_attack_probability": float(steady[i]),
            "metrics": metrics,
            "totals": {
                "attack_probability": float(yp.packages["attack_probability"][i, -1, 0]),
                "cumulative_cost_usd": float(yp.packages["cumulative_cost_usd"][i, -1, 0]),
                "discounted_cost_usd": float(yp.packages["discounted_cost_usd"][i, -1, 0]),
                "peak_cost_year": years[peak],
                "peak_cost_usd_per_year": float(cost[peak]),
            },
            "guarantors": [],
        }
        if pct is not None:
            rec["ranges"] = {m: {"p5": _list(pct[m][0, i]), "p95": _list(pct[m][1, i])} for m in BY_YEAR_METRICS}
        for r, (p_i, iso) in enumerate(yp.row_keys):
            if p_i != i:
                continue
            rc = yp.rows["cost_usd_per_year"][r, :, 0]
            rec["guarantors"].append({
                "iso3": iso,
                "metrics": {m: _list(yp.rows[m][r, :, 0]) for m in GUARANTOR_BY_YEAR},
                "cumulative_cost_usd": float(yp.rows["cumulative_cost_usd"][r, -1, 0]),
                "peak_cost_year": years[int(np.argmax(rc))],
                "ready_year": None if np.isnan(yp.ready[r]) else int(yp.ready[r]),
                "enablers_in_service": {k: _list(v) for k, v in yp.enablers[r].items()},
            })
        out.append(rec)
    return {
        "start_year": years[0],
        "horizon_years": h,
        "years": years,
        "exposure": _list(yp.exposure),
        "ranges": {"futures": int(futures), "seed": int(seed), "sampler": "lhs", "percentiles": [5, 95]} if pct is not None else None,
        "packages": out,
    }


def _list(a) -> list[float]:
    """``a``'s values as Python floats (``tolist``: one call, not one
    ``float`` per value; 3,000 of these lists per record)."""
    return np.asarray(a, dtype=np.float64).reshape(-1).tolist()
