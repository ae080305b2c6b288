"""The time axis (issue 16): yearly results from the start year to the
horizon. Cumulative totals are sums of the years; a package that does not
change by year, with no lapse, no early hazard and nothing to build,
reproduces the steady model's yearly cost and attack probability; a
commitment that ends in year t raises every later year's hazard and leaves
the earlier years unchanged; a build-up and enablers are priced with
dates, by hand; ``compare --by-year --json`` gives the record."""

from __future__ import annotations

import functools
import json
import math
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import ROOT, SCENARIOS, cli_env, foedus_command
from model_helpers import COUNTRIES, central, commitment, commitments, package, parameter_set, scenarios
from foedus.domain.vocabulary import Kind
from foedus.exploration.assess import evaluate
from foedus.exploration.futures import Design
from foedus.exploration.years import evaluate_years
from foedus.models.inputs import Inputs
from foedus.models.levers import FORMS, compile_packages
from foedus.models.timeline import Timeline, lapse_table, survival

START = 2026


def _inputs(**overrides) -> Inputs:
    vals = central()
    vals.update(overrides)
    return Inputs(vals, 1)


def _no_time(**more) -> Inputs:
    """No lapse, no early hazard, any shortfall raised at once."""
    o = {f"approval.revocation_per_year.{f}": 0.0 for f in FORMS}
    o.update({"time.early_hazard_ratio": 1.0, "forces.recruit_growth_max": 1e6, "forces.training_years": 0.0})
    o.update(more)
    return _inputs(**o)


def test_steady_packages_reproduce_the_steady_model():
    """Every seed: each year's cost equals the steady model's yearly cost
    and the attack probability by the horizon equals the steady model's,
    when nothing lapses, the hazard has no early excess and shortfalls are
    raised at once."""
    pkgs = [p for p in scenarios() if p.is_steady]
    x = _no_time()
    yp = evaluate_years(pkgs, COUNTRIES, x, 10.0)
    ev = evaluate(compile_packages(pkgs, COUNTRIES), x, 10.0)
    np.testing.assert_allclose(yp.packages["attack_probability"][:, -1, 0], ev.packages["attack_probability"][:, 0], rtol=1e-9, atol=1e-12)
    cost = ev.packages["total_cost_usd_per_year"][:, 0]
    for t in range(yp.years.size):
        for m in ("aid_usd_per_year", "guarantee_cost_usd_per_year"):
            np.testing.assert_allclose(yp.packages[m][:, t, 0], ev.packages[m][:, 0], rtol=1e-9, err_msg=m)
        np.testing.assert_allclose(yp.packages["total_cost_usd_per_year"][:, t, 0], cost, rtol=1e-9)
        np.testing.assert_allclose(yp.packages["annual_attack_probability"][:, t, 0], ev.packages["annual_attack_probability"][:, 0], rtol=1e-9)


def test_lapse_and_the_early_hazard_each_move_the_path():
    """The check above is not true by construction: lapse alone raises the
    yearly path above the steady model for packages whose promises may
    lapse, and the early hazard alone makes the first year the most
    dangerous."""
    pkgs = [p for p in scenarios() if p.id in ("treaty", "us-guarantee")]
    lapse = _inputs(**{"time.early_hazard_ratio": 1.0})
    yp = evaluate_years(pkgs, COUNTRIES, lapse, 10.0)
    ev = evaluate(compile_packages(pkgs, COUNTRIES), lapse, 10.0)
    assert (yp.packages["attack_probability"][:, -1, 0] > ev.packages["attack_probability"][:, 0] + 1e-4).all()
    h = yp.packages["annual_attack_probability"][:, :, 0]
    assert (np.diff(h, axis=1) > 0).all()  # promises lapse: each year riskier than the last
    early = _no_time(**{"time.early_hazard_ratio": 2.0})
    h = evaluate_years(pkgs, COUNTRIES, early, 10.0).packages["annual_attack_probability"][:, :, 0]
    assert (np.diff(h, axis=1) < 0).all()


def test_the_early_hazard_moves_risk_forward_without_adding_to_it():
    """m(t) by hand: its mean over the calibration window is 1, the first
    year is the highest, and it falls every year."""
    from foedus.models.timeline import hazard_shape

    x = _inputs(**{"time.early_hazard_ratio": 3.0, "time.early_hazard_halflife_years": 2.0})
    W = int(x["assessment.horizon_years"][0])
    s = 1 + 2 * 2.0 ** (-np.arange(W) / 2.0)
    m = np.array([hazard_shape(x, t)[0] for t in range(W)])
    np.testing.assert_allclose(m, s / s.mean(), rtol=1e-12)
    assert m.mean() == pytest.approx(1.0) and (np.diff(m) < 0).all()
    assert hazard_shape(_inputs(**{"time.early_hazard_ratio": 1.0}), 0)[0] == 1.0


@pytest.mark.parametrize("horizon", [10.0, 7.5, 1.0])
def test_cumulative_is_the_sum_of_the_years(horizon):
    pkgs = scenarios()[:4]
    x = _inputs()
    yp = evaluate_years(pkgs, COUNTRIES, x, horizon)
    e = Timeline(START, horizon).exposure
    assert yp.years.size == math.ceil(horizon) and e[-1] == pytest.approx(horizon - (math.ceil(horizon) - 1))
    yearly = yp.packages["total_cost_usd_per_year"][:, :, 0]
    np.testing.assert_allclose(yp.packages["cumulative_cost_usd"][:, -1, 0], (yearly * e).sum(axis=1), rtol=1e-12)
    rate = float(x["time.discount_rate"][0])
    np.testing.assert_allclose(yp.packages["discounted_cost_usd"][:, -1, 0], (yearly * e / (1 + rate) ** np.arange(e.size)).sum(axis=1), rtol=1e-12)
    # attack by the horizon from the yearly hazards
    h = yp.packages["annual_attack_probability"][:, :, 0]
    np.testing.assert_allclose(yp.packages["attack_probability"][:, -1, 0], 1 - np.prod((1 - h) ** e, axis=1), rtol=1e-12)
    # % of GDP on each country's growth path from the year of its GDP figure
    for r, (_, iso) in enumerate(yp.row_keys):
        c = COUNTRIES[iso]
        gdp = c.gdp_usd.value * (1 + c.gdp_growth.value) ** (yp.years - c.gdp_usd.year)
        np.testing.assert_allclose(yp.rows["cost_pct_gdp"][r, :, 0], yp.rows["cost_usd_per_year"][r, :, 0] / gdp, rtol=1e-12)
    # per guarantor too, and the rows add up to the package
    rows = yp.rows["cost_usd_per_year"][:, :, 0]
    owner = np.array([p for p, _ in yp.row_keys])
    for i in range(len(pkgs)):
        np.testing.assert_allclose(rows[owner == i].sum(axis=0), yearly[i], rtol=1e-9)


US_PACT = commitment("USA", "mutual_defence", "ratified_treaty", "automatic")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(START, START + 8), st.lists(commitments(allow_groups=False), min_size=0, max_size=3))
def test_a_lapse_in_year_t_raises_later_hazards_only(end, others):
    """A US treaty that ends after year ``end`` (``until: end``): the hazard
    of every year up to ``end`` is unchanged, every later year's is higher."""
    kept = package([US_PACT, *others], id="kept")
    ends = package([{**US_PACT, "until": end}, *others], id="ends")
    yp = evaluate_years([kept, ends], COUNTRIES, _inputs(), 10.0)
    h = yp.packages["annual_attack_probability"][:, :, 0]
    t = end - START
    np.testing.assert_allclose(h[1, : t + 1], h[0, : t + 1], rtol=1e-12)
    assert (h[1, t + 1:] > h[0, t + 1:]).all()


def test_lapse_is_higher_in_a_year_of_government_change():
    """The yearly lapse of a promise is higher in a year a new government
    takes office, the same on average over the cycle, and survival never
    rises."""
    x = _inputs(**{"time.lapse_share_at_government_change": 0.5})
    years = np.arange(2027, 2035)
    table = lapse_table([(2029, 2033), ()], x, years)[:, :, :, 0]
    r = x.table("approval.revocation_per_year", FORMS)[:, 0]
    change = np.isin(years, (2029, 2033))
    assert (table[0][:, change] > table[0][:, ~change][:, :1]).all()
    np.testing.assert_allclose(table[0][:, 2:6].mean(axis=1), r, rtol=1e-12)  # one four-year cycle, 2029-2032
    np.testing.assert_allclose(table[1], np.broadcast_to(r[:, None], table[1].shape), rtol=1e-12)
    s = np.stack([survival([(2029, 2033)], x, START, t)[0, :, 0] for t in range(10)])
    assert (np.diff(s, axis=0) <= 0).all() and (s[0] == 1).all()


def test_a_build_up_is_priced_with_dates():
    """A force larger than a guarantor can sustain: soldiers are recruited
    at the sourced rate, deployable after training, paid from recruitment;
    the force is complete in the year worked out by hand."""
    force = commitment("NLD", "deployed_ground_force", "executive_agreement", "after_consultation", troops=8_000,
                       posture="western_ukraine", rules_of_engagement="self_defence")
    pk = package([force], id="build")
    x = _inputs()
    yp = evaluate_years([pk], COUNTRIES, x, 10.0)
    v = {k: float(x[k][0]) for k in ("forces.rotation_ratio", "forces.capacity_share", "forces.recruit_growth_max", "forces.training_years",
                                     "costs.raise_soldier_year")}
    active = COUNTRIES["NLD"].active_personnel.value
    need = 8_000 * v["forces.rotation_ratio"] - active * v["forces.capacity_share"]
    intake = active * v["forces.recruit_growth_max"]
    assert need > 0
    t = np.arange(10)
    recruited = np.minimum(need, intake * (t + 1))
    trained = np.minimum(need, intake * np.maximum(t + 1 - v["forces.training_years"], 0))
    np.testing.assert_allclose(yp.rows["recruits"][0, :, 0], recruited, rtol=1e-9)
    np.testing.assert_allclose(yp.rows["raise_cost_usd_per_year"][0, :, 0], recruited * v["costs.raise_soldier_year"], rtol=1e-9)
    np.testing.assert_allclose(yp.rows["troops_short"][0, :, 0], need - trained, rtol=1e-9, atol=1e-6)
    ready = START + int(np.argmax(trained >= need - 1e-9))
    assert yp.ready[0] == ready > START
    deployed = yp.packages["troops_deployed"][0, :, 0]
    assert deployed[0] < deployed[ready - START] == pytest.approx(8_000)
    assert (np.diff(deployed) >= -1e-9).all()


def test_commitments_that_change_by_year():
    """10,000 from 2027, 25,000 from 2029, a US promise until 2028: each year
    deploys what is in force, and the US promise stops counting after 2028."""
    force = commitment("GBR", "deployed_ground_force", "executive_agreement", "after_consultation", troops={2027: 10_000, 2029: 25_000},
                       posture="western_ukraine", rules_of_engagement="self_defence")
    pk = package([force, {**US_PACT, "until": 2028}], id="steps")
    x = _no_time()
    yp = evaluate_years([pk], COUNTRIES, x, 10.0)
    dep = yp.packages["troops_deployed"][0, :, 0]
    assert dep[0] == 0 and dep[1] == pytest.approx(10_000) and dep[2] == pytest.approx(10_000) and dep[3:] == pytest.approx(25_000)
    cost = yp.packages["total_cost_usd_per_year"][0, :, 0]
    # 2026: nothing deployed yet; only the soldiers recruited for 2029's force are paid
    assert cost[0] == pytest.approx(yp.rows["raise_cost_usd_per_year"][0, 0, 0]) and cost[0] > 0 and cost[1] < cost[3]
    # each year equals the steady model of the package as it stands that year
    for year in (2026, 2027, 2028, 2029, 2031):
        ev = evaluate(compile_packages([pk.at(year)], COUNTRIES), x, 1.0)
        assert yp.packages["annual_attack_probability"][0, year - START, 0] == pytest.approx(ev.packages["annual_attack_probability"][0, 0], rel=1e-9)


def test_enablers_are_bought_before_service_and_operated_after():
    """Four air-defence batteries planned in service from 2028: they enter
    service when delivery allows, their acquisition is paid evenly over the
    delivery lag before that, and they cost their operation once in service."""
    build = commitment("DEU", "enabler_build", "executive_agreement", "after_consultation", enabler="air_missile_defence", units={2028: 4})
    pk = package([build], id="enablers")
    x = _inputs()
    yp = evaluate_years([pk], COUNTRIES, x, 10.0)
    acq = float(x["costs.enabler.air_missile_defence.acquisition"][0])
    op = float(x["costs.enabler.air_missile_defence.operating_year"][0])
    d = math.ceil(float(x["costs.enabler.air_missile_defence.delivery_years"][0]) - 1e-9)
    enter = max(2028 - START, d)
    first = max(0, enter - d)
    service = np.where(np.arange(10) >= enter, 4.0, 0.0)
    paid = np.zeros(10)
    paid[first:enter if enter > first else first + 1] = 4 * acq / max(enter - first, 1)
    np.testing.assert_allclose(yp.enablers[0]["air_missile_defence"], service)
    np.testing.assert_allclose(yp.packages["enabler_cost_usd_per_year"][0, :, 0], paid + service * op, rtol=1e-9)
    assert yp.packages["cumulative_cost_usd"][0, -1, 0] == pytest.approx(4 * acq + service.sum() * op, rel=1e-9)
    # the steady model spreads the same purchase over the horizon
    ev = evaluate(compile_packages([pk], COUNTRIES), x, 10.0)
    assert ev.packages["total_cost_usd_per_year"][0, 0] == pytest.approx(4 * (op + acq / 10.0), rel=1e-9)


def test_compare_by_year_json():
    files = [SCENARIOS / "treaty.yaml", SCENARIOS / "coalition-100k.yaml"]
    r = subprocess.run([*foedus_command(), "compare", *map(str, files), "--by-year", "--json", "--futures", "50"], cwd=ROOT,
                       capture_output=True, text=True, env=cli_env(), timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["years"] == list(range(START, START + 10))
    for p in out["packages"]:
        a = p["metrics"]["attack_probability"]
        assert all(b >= c for b, c in zip(a[1:], a)) and p["totals"]["attack_probability"] == a[-1]
        assert p["totals"]["cumulative_cost_usd"] == pytest.approx(sum(p["metrics"]["total_cost_usd_per_year"]), rel=1e-9)
        assert p["totals"]["peak_cost_year"] in out["years"]
        assert all(lo <= hi for lo, hi in zip(p["ranges"]["attack_probability"]["p5"], p["ranges"]["attack_probability"]["p95"]))
        assert {g["iso3"] for g in p["guarantors"]}


def test_compare_by_year_fits_the_terminal():
    files = [SCENARIOS / "treaty.yaml", SCENARIOS / "coalition-100k.yaml"]
    r = subprocess.run([*foedus_command(), "compare", *map(str, files), "--by-year", "--futures", "20", "--guarantors"], cwd=ROOT,
                       capture_output=True, text=True, env=cli_env(COLUMNS="80"), timeout=300)
    assert r.returncode == 0, r.stderr
    assert max(len(line) for line in r.stdout.splitlines()) <= 80
    assert "2035" in r.stdout and "coalition-100k" in r.stdout and "ready" in r.stdout


def _cli(*args, **env):
    r = subprocess.run([*foedus_command(), *map(str, args)], cwd=ROOT, capture_output=True, text=True, env=cli_env(**env), timeout=300)
    assert "Traceback" not in r.stderr
    return r


def test_explore_stores_a_yearly_metric_and_discover_takes_it(tmp_path):
    """explore --yearly keeps attack by 2029 per future beside the steady
    metrics; a threshold on it drives robustness and PRIM; each stored value
    is the time axis's value in that future (recomputed for one)."""
    db = tmp_path / "runs.duckdb"
    r = _cli("explore", SCENARIOS / "treaty.yaml", "-n", "512", "--yearly", "total_cost_usd_per_year@2027", "-t", "attack_probability@2029<=0.05",
             "--db", db, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["stored_metrics"][-2:] == ["total_cost_usd_per_year@2027", "attack_probability@2029"]
    share = out["robustness"][0]["per_threshold"]["attack_probability@2029<=0.05"]
    assert 0 < share < 1
    d = _cli("discover", out["run_id"], "-p", "treaty", "--db", db, "--json")
    assert d.returncode == 0, d.stderr
    box = json.loads(d.stdout)
    assert box["failures"] == round((1 - share) * 512)
    bad = _cli("explore", SCENARIOS / "treaty.yaml", "-n", "64", "--yearly", "attack_probability@2050", "--db", db)
    assert bad.returncode == 2 and "2026 to 2035" in bad.stderr


def test_sensitivity_of_a_yearly_metric():
    r = _cli("sensitivity", SCENARIOS / "us-guarantee.yaml", "-m", "attack_probability@2029", "--n", "16", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    idx = {x["input"]: x["ST"] for x in out["indices"] if x["output"] == "attack_probability@2029"}
    # the early hazard moves attack by 2029; the steady model does not read it, so its analysis leaves it out
    assert idx["time.early_hazard_ratio"] > 0
    steady = _cli("sensitivity", SCENARIOS / "us-guarantee.yaml", "-m", "attack_probability", "--n", "16", "--json")
    names = {x["name"] for x in json.loads(steady.stdout)["inputs"]}
    assert "time.early_hazard_ratio" not in names and "deterrence.pact_effect" in names


class _Recording(Inputs):
    """Inputs that remember every parameter read."""

    def __init__(self, values, n):
        super().__init__(values, n)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


def test_the_steady_model_reads_no_time_axis_parameter():
    """What the futures of the steady model leave out (time_axis_only)
    it never reads: every seed, every metric, with detail."""
    from foedus.exploration.assess import central_weights
    from foedus.models.timeline import time_axis_only

    pkgs = scenarios()
    lv = compile_packages(pkgs, COUNTRIES)
    x = _Recording(central(), 1)
    evaluate(lv, x, 10.0, weights=central_weights(lv, Inputs(central(), 1)), detail=True, internals=True)
    assert x.read and not [k for k in x.read if time_axis_only(k)]
    y = _Recording(central(), 1)
    evaluate_years(pkgs, COUNTRIES, y, 10.0, central=Inputs(central(), 1))
    assert {k for k in y.read if time_axis_only(k)} >= {"time.early_hazard_ratio", "time.discount_rate", "forces.recruit_growth_max"}


# ------------------------------------------------ one package, one path of sums


@functools.lru_cache(maxsize=None)
def _seeds() -> tuple:
    return tuple(scenarios())


@functools.lru_cache(maxsize=None)
def _futures(n: int, seed: int) -> Inputs:
    """``n`` LHS futures of the default design with the time axis's inputs."""
    ps = parameter_set()
    design = Design.from_parameters(ps, sampler="lhs", seed=seed, block=n, time_axis=True)
    return Inputs({**ps.values(), **design.as_dict(design.block_values(0, n))}, n)


def _window(x: Inputs, lo: int, hi: int) -> Inputs:
    """Futures ``lo .. hi - 1`` of ``x``."""
    return Inputs({k: v[lo:hi] if v.size == x.n else v for k, v in x.items()}, hi - lo)


def _same_years(a, ia: int, b, ib: int, what: str, kind: str = "packages", cols=slice(None)) -> None:
    """Bit for bit: row ``ia`` of ``a`` and row ``ib`` of ``b`` (futures ``cols`` of ``a``)."""
    for m, arr in getattr(a, kind).items():
        got, want = np.broadcast_to(getattr(b, kind)[m][ib], arr[ia, :, cols].shape), arr[ia, :, cols]
        assert got.tobytes() == want.tobytes(), f"{what}: {kind} {m} differs by up to {np.max(np.abs(got - want)):.3g}"


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_package_s_years_do_not_depend_on_the_packages_evaluated_with_it(data):
    """Every yearly figure of a package and of its guarantor rows is the
    same to the last bit alone and beside any other seeds in any order
    (package totals are row sums in a fixed order, not matrix products
    whose rounding depends on how many rows there are). The seed that
    changes by year and builds enablers is always among them."""
    seeds = _seeds()
    moving = [i for i, p in enumerate(seeds) if not p.is_steady]
    assert moving and any(any(c.kind is Kind.ENABLER_BUILD for c in seeds[i].commitments) for i in moving)
    others = data.draw(st.lists(st.sampled_from([i for i in range(len(seeds)) if i not in moving]), min_size=1, max_size=6, unique=True))
    chosen = data.draw(st.permutations(others + moving))
    x, c = _futures(37, 11), _inputs()
    together = evaluate_years([seeds[i] for i in chosen], COUNTRIES, x, 10.0, central=c)
    for j, i in enumerate(chosen):
        alone = _alone(i)
        _same_years(together, j, alone, 0, seeds[i].id)
        for r, (p, iso) in enumerate(together.row_keys):
            if p == j:
                _same_years(together, r, alone, alone.row_keys.index((0, iso)), f"{seeds[i].id} {iso}", kind="rows")


@functools.lru_cache(maxsize=None)
def _alone(i: int):
    return evaluate_years([_seeds()[i]], COUNTRIES, _futures(37, 11), 10.0, central=_inputs())


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(1, 59), max_size=4, unique=True))
@example([1, 2])
@example([59])
def test_a_future_s_years_do_not_depend_on_the_chunk_it_is_evaluated_in(cuts):
    """Futures cut into chunks at ``cuts`` (a chunk of one future
    included) give every yearly package and guarantor figure of the
    whole to the last bit, so an exploration needs no padding of its
    chunks: sums over the years run year after year, whatever the number
    of futures."""
    pkgs = [p for p in _seeds() if not p.is_steady or p.id in ("treaty", "coalition-100k")]
    x, c = _futures(60, 4), _inputs()
    whole = evaluate_years(pkgs, COUNTRIES, x, 10.0, central=c)
    bounds = [0, *sorted(cuts), 60]
    for lo, hi in zip(bounds, bounds[1:]):
        part = evaluate_years(pkgs, COUNTRIES, _window(x, lo, hi), 10.0, central=c)
        for kind, count in (("packages", len(pkgs)), ("rows", len(whole.row_keys))):
            for r in range(count):
                _same_years(whole, r, part, r, f"futures {lo}..{hi - 1}", kind=kind, cols=slice(lo, hi))


@pytest.mark.parametrize("n", [1, 37])
def test_years_evaluated_side_by_side_equal_each_year_alone(monkeypatch, n):
    """The years whose levers differ only by GDP are one evaluation, their
    futures side by side (``years._steady_by_year``): every yearly figure
    is, to the last bit, what evaluating each year on its own gives
    (``STACKED_FUTURES`` = 1), for the central future alone and for many,
    the seed that changes by year and builds enablers included."""
    from foedus.exploration import years

    pkgs = _seeds()
    x, c = (_inputs(), None) if n == 1 else (_futures(n, 5), _inputs())
    side_by_side = evaluate_years(pkgs, COUNTRIES, x, 10.0, central=c)
    monkeypatch.setattr(years, "STACKED_FUTURES", 1)
    one_by_one = evaluate_years(pkgs, COUNTRIES, x, 10.0, central=c)
    for kind, count in (("packages", len(pkgs)), ("rows", len(side_by_side.row_keys))):
        for r in range(count):
            _same_years(side_by_side, r, one_by_one, r, f"{n} futures", kind=kind, cols=slice(0, n))


def test_survival_is_computed_for_the_pairs_the_classes_read():
    """The time axis computes a commitment's chance of being in force only
    for the (government-change pattern, legal form) pairs its classes read
    (sums.pairs_in_force), NaN elsewhere: every shipped package's year
    levers read no NaN pair, and the pairs asked hold the full table's
    values bit for bit."""
    from foedus.exploration.years import _states, _year_levers
    from foedus.models.sums import Probabilities, pairs_in_force
    from foedus.models.timeline import survivals

    x = Inputs(central(), 1)
    tl = Timeline.of(x, 10.0)
    for pkg in scenarios():
        _, states = _states([pkg], COUNTRIES, tl)
        lv0, rws = states[0]
        lv = _year_levers(lv0, rws, np.ones(len(rws) and int(rws.max()) + 1))
        need = pairs_in_force(lv, x)
        full, part = survivals(lv.patterns, x, tl.start, tl.n), survivals(lv.patterns, x, tl.start, tl.n, need)
        assert np.isnan(part[:, ~need]).all() and np.array_equal(part[:, need], full[:, need]), pkg.id
        for t in (0, tl.n - 1):
            pr = Probabilities(lv, x, 1.0, alive=part[t])
            assert np.isfinite(pr.cred).all() and np.isfinite(pr.delivery).all(), pkg.id
            full_pr = Probabilities(lv, x, 1.0, alive=full[t])
            assert np.array_equal(pr.cred, full_pr.cred) and np.array_equal(pr.delivery, full_pr.delivery), pkg.id


def test_planned_defence_spending_takes_each_plan_value_from_its_year_on():
    """years._plan_shares, hand-worked: today's share until the first plan
    year, each plan value from its own year on, never below a value in force."""
    from types import SimpleNamespace

    from foedus.exploration.years import _plan_shares

    country = SimpleNamespace(defence_pct_gdp=SimpleNamespace(value=0.02), defence_plan={2028: 0.025, 2027: 0.015, 2030: 0.035})
    assert _plan_shares(country, range(2026, 2032)) == [0.02, 0.02, 0.025, 0.025, 0.035, 0.035]
    assert _plan_shares(SimpleNamespace(defence_pct_gdp=SimpleNamespace(value=0.03)), [2026, 2040]) == [0.03, 0.03]
