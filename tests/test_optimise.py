"""The robust design search (``foedus optimise``): hand-worked cases for
its pieces (constraint violations, terms, the non-dominated filter, the
decoding of the unit hypercube), property tests for the decoding (any
choice builds a valid package, and the package is what the choice says),
common random numbers, the search against the true front of a design
space small enough to evaluate whole (tests/fixtures/designs/tiny.yaml,
72 designs), reproducibility bit for bit, and the command end to end (files
written, run stored, JSON, an empty front, a stop that keeps the front)."""

from __future__ import annotations

import functools
import itertools
import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, ROOT, cli_env, foedus_command, run_foedus
from foedus.data.loaders import load_countries, load_design, load_package, load_will_scenarios, package_text, parse_package
from foedus.data.parameter_set import ParameterSet
from foedus.domain.design import ELEMENT_KINDS
from foedus.domain.errors import InputError
from foedus.domain.vocabulary import MONEY_KINDS, Kind
from foedus.exploration.design_space import DesignVariables, _grid
from foedus.exploration.optimise import (
    PENALTY,
    Constraint,
    Evaluated,
    Term,
    non_dominated,
    parse_constraint,
    parse_objective,
    parse_term,
    spread,
)
from foedus.study.design_search import DesignSearch

TINY = FIXTURES / "designs" / "tiny.yaml"
SMALL = FIXTURES / "designs" / "small.yaml"
FUTURES = 200


@pytest.fixture(scope="module")
def countries():
    return load_countries()


@pytest.fixture(scope="module")
def params():
    return ParameterSet.default()


@functools.cache
def _small() -> DesignVariables:
    """small.yaml's decisions (a plain cached function, not a fixture: a
    hypothesis failure then prints the drawn key, not the country table)."""
    c = load_countries()
    space, base, _ = load_design(SMALL, c)
    return DesignVariables(space, base, c)


@pytest.fixture(scope="module")
def small():
    return _small()


def _ev(key, *F, G=(0.0,)):
    return Evaluated(tuple(key), {}, {}, np.array(F, dtype=np.float64), np.array(G, dtype=np.float64))


# -- hand-worked pieces ---------------------------------------------------------------------
def test_violation_is_the_distance_to_the_bound():
    c = Constraint(Term("attack_probability", "p80"), "<=", 0.1)
    v = c.violation(np.array([0.05, 0.1, 0.15, np.nan]))
    assert v[:3] == pytest.approx([0.0, 0.0, 0.05])
    assert v[3] == np.inf  # an undefined value never meets a constraint
    ge = Constraint(Term("approval_probability"), ">=", 0.25)
    assert ge.violation(np.array([0.2, 0.25, 0.9])) == pytest.approx([0.05, 0.0, 0.0])
    strict = Constraint(Term("approval_probability"), ">", 0.25)
    assert strict.violation(np.array([0.25]))[0] > 0  # equal does not meet a strict bound
    assert strict.violation(np.array([0.26]))[0] == 0


def test_terms_and_constraints_parse_as_documented():
    t = parse_term("attack:p80 in us-walks-away", "--objective")
    assert (t.metric, t.stat, t.scenario) == ("attack_probability", "p80", "us-walks-away")
    assert str(t) == "attack_probability:p80 in us-walks-away"
    assert parse_term("cost", "x") == Term("total_cost_usd_per_year", "central")
    c = parse_constraint("attack_probability:p80 <= 10%")
    assert (c.term, c.op, c.value) == (Term("attack_probability", "p80"), "<=", pytest.approx(0.1))
    assert parse_constraint("no-shortfall") == Constraint(Term("guarantors_short"), "<=", 0.0)
    assert parse_objective("approval").sense == 1 and parse_objective("cost").sense == -1
    assert parse_term("meets", "x").over_futures and not parse_term("cost", "x").over_futures


@pytest.mark.parametrize("text, fragment", [
    ("attack_probability:p100 <= 0.1", "pNN"),
    ("attack_probability:p80 in us-walks-awya <= 0.1", "did you mean us-walks-away"),
    ("atack <= 0.1", "did you mean attack"),
    ("attack_probability:p80 = 0.1", "TERM <= VALUE"),
    ("meets:p80 >= 0.5", "'meets' alone"),
])
def test_bad_constraints_say_what_is_expected(text, fragment):
    with pytest.raises(InputError) as ei:
        parse_constraint(text)
    assert ei.value.file == "--constraint"
    assert fragment in str(ei.value)


def test_non_dominated_keeps_the_front_once_per_point():
    items = [_ev((0,), 1, 3), _ev((1,), 2, 2), _ev((2,), 3, 1), _ev((3,), 2, 3), _ev((4,), 2, 2), _ev((5,), 4, 4)]
    front = non_dominated(items)
    # (2, 3) is beaten by (2, 2), (4, 4) by everything; (2, 2) twice is kept once, the first by key
    assert [e.key for e in front] == [(0,), (1,), (2,)]
    assert non_dominated([]) == []


def test_spread_keeps_both_ends():
    front = [_ev((i,), i, -i) for i in range(10)]
    assert [e.key[0] for e in spread(front, 3)] == [0, 4, 9] or [e.key[0] for e in spread(front, 3)] == [0, 5, 9]
    assert spread(front, 20) == front
    assert len(spread(front, 4)) == 4


def test_grid_ends_at_the_upper_bound():
    assert _grid(0, 25000, 10000) == (0, 10000, 20000, 25000)
    assert _grid(0, 20000, 10000) == (0, 10000, 20000)
    assert _grid(5, 5, 1) == (5,)


def test_decoding_is_floor_of_u_times_k(small):
    n, k = small.n, np.array([x.k for x in small.variables])
    assert small.keys(np.zeros((1, n))).tolist() == [[0] * n]
    assert small.keys(np.ones((1, n))).tolist() == [list(k - 1)]  # u = 1 is the last option, not past it
    u = np.full((1, n), 0.5)
    assert small.keys(u).tolist() == [list(np.floor(0.5 * k).astype(int))]
    assert (small.keys(small.centre(k - 1)[None]) == k - 1).all()


# -- the decoding, as properties --------------------------------------------------------------
def _keys(v: DesignVariables):
    return st.tuples(*[st.integers(0, x.k - 1) for x in v.variables])


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_point_decodes_to_a_key_in_range(data):
    small = _small()
    u = np.array(data.draw(st.lists(st.floats(-0.5, 1.5, allow_nan=False), min_size=small.n, max_size=small.n)))[None]
    key = small.keys(u)[0]
    assert ((key >= 0) & (key < [x.k for x in small.variables])).all()


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_any_choice_builds_the_package_it_describes(data):
    small, countries = _small(), _small().countries
    key = data.draw(_keys(small))
    ch = small.choices(key)
    pkg = small.package(key, "drawn")
    if pkg is None:
        return
    # what is written loads as a valid package file, with the same commitments
    again = parse_package(package_text(pkg), "drawn.yaml", countries)
    assert len(again.commitments) == len(pkg.commitments)
    own = lambda g: [c for c in pkg.commitments if c.guarantor == g]  # noqa: E731
    ground = lambda g: sum(c.troops for c in own(g) if c.kind is Kind.DEPLOYED_GROUND_FORCE)  # noqa: E731
    assert ground("GBR") == ch["GBR.troops"]
    assert ground("FRA") == ch["FRA.troops"]
    assert all(c.legal_form is ch["GBR.legal_forms"] and c.trigger is ch["GBR.triggers"]
               for c in own("GBR") if c.kind not in MONEY_KINDS)
    if not ch["POL.takes_part"]:
        assert own("POL") == []
    else:
        assert ground("POL") == ch["POL.troops"]
        assert all(c.posture is ch["POL.postures"] for c in own("POL") if c.kind is Kind.DEPLOYED_GROUND_FORCE)
    assert any(c.kind.value == ELEMENT_KINDS["monitoring"] for c in pkg.commitments) == ch["terms.monitoring"]


def test_sizes_set_by_the_search_are_marked(small):
    key = [0] * small.n
    names = [x.name for x in small.variables]
    key[names.index("GBR.troops")] = small.variables[names.index("GBR.troops")].options.index(15000)
    pkg = small.package(tuple(key))
    gbr = [c for c in pkg.commitments if c.guarantor == "GBR" and c.kind is Kind.DEPLOYED_GROUND_FORCE]
    assert gbr and all("Set by the design search (small-search)." in (c.note or "") for c in gbr)


def test_the_base_key_rebuilds_the_base(countries):
    space, base, _ = load_design(TINY, countries)
    v = DesignVariables(space, base, countries)
    key = v.base_key()
    assert key is not None
    pkg = v.package(key, base.id)
    strip = lambda p: sorted((c.guarantor, c.kind.value, c.troops, c.legal_form.value) for c in p.commitments)  # noqa: E731
    assert strip(pkg) == strip(base)


# -- common random numbers ------------------------------------------------------------------------
def test_a_scenario_changes_only_the_will_columns_of_the_same_sample(params, countries):
    goals = [parse_objective("attack:p80"), parse_objective("attack:p80 in us-walks-away")]
    from foedus.exploration.optimise import CandidateEvaluator

    ev = CandidateEvaluator(params, countries, None, 64, 3, goals, [], [])
    fixed = load_will_scenarios().get("us-walks-away").set
    base, scen = ev.sets[None][1], ev.sets["us-walks-away"][1]
    assert set(base) == set(scen)
    for name in base:
        if name in fixed:
            assert np.all(scen[name] == fixed[name])
        else:
            assert np.array_equal(base[name], scen[name]), name
    assert any(not np.array_equal(base[n], scen[n]) for n in fixed)


# -- the search against the true front --------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(params, countries):
    s = DesignSearch(TINY, params, countries, futures=FUTURES, seed=5, population=12, generations=8)
    s.result  # noqa: B018
    return s


@pytest.fixture(scope="module")
def true_front(params, countries, tiny):
    """Every design of tiny.yaml evaluated (on the search's futures): the
    feasible ones and their non-dominated set."""
    v = tiny.variables
    assert np.prod([x.k for x in v.variables]) == 72
    from foedus.exploration.optimise import CandidateEvaluator

    ev = CandidateEvaluator(params, countries, None, FUTURES, 5, *tiny.goals)
    every = ev.evaluate_keys(list(itertools.product(*[range(x.k) for x in v.variables])), v)
    return every, non_dominated([e for e in every if e.feasible])


def test_front_is_the_true_front(tiny, true_front):
    every, truth = true_front
    found = tiny.result.front
    assert found, "the tiny design space has feasible designs"
    assert all(e.feasible for e in found)
    # nothing among all 72 beats a member found on every objective
    for e in found:
        assert not any(np.all(o.F <= e.F) and np.any(o.F < e.F) for o in every if o.feasible), e.key
    # and the search found every point of the true front (72 designs, 12 x 8 candidates drawn)
    assert {tuple(e.F) for e in found} == {tuple(e.F) for e in truth}


def test_front_members_are_mutually_non_dominated_and_meet_every_constraint(tiny):
    objs, cons, _ = tiny.goals
    F = np.array([e.F for e in tiny.result.front])
    for i, j in itertools.permutations(range(len(F)), 2):
        assert not (np.all(F[i] <= F[j]) and np.any(F[i] < F[j]))
    for m in tiny.record["front"]:
        assert all(v["met"] for v in m["constraints"].values())
        for c in cons:
            assert c.violation(m["constraints"][str(c)]["value"]) == 0


def test_same_seed_same_files_and_record(params, countries, tiny, tmp_path):
    again = DesignSearch(TINY, params, countries, futures=FUTURES, seed=5, population=12, generations=8)
    a, b = tiny.write(tmp_path / "a"), again.write(tmp_path / "b")
    assert [p.name for p in a] == [p.name for p in b] and a
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b))

    def timeless(r):
        return {**r, "search": {k: v for k, v in r["search"].items() if "seconds" not in k}}

    assert timeless(tiny.record) == timeless(again.record)
    # a file written is a package file, and it says what made it
    for p in a:
        pkg = load_package(p, countries)
        assert pkg.id == p.stem
        assert tiny.command() in p.read_text(encoding="utf-8")
        assert "Found by foedus optimise" in pkg.rationale


def test_another_seed_draws_other_futures(params, countries, tiny):
    other = DesignSearch(TINY, params, countries, futures=FUTURES, seed=6, population=12, generations=8)
    assert not np.array_equal(other.evaluator.X, tiny.evaluator.X)


def test_an_impossible_constraint_gives_an_empty_front_and_the_closest(params, countries):
    s = DesignSearch(TINY, params, countries, futures=FUTURES, seed=1, population=8, generations=3,
                     constraints=["attack_probability:p80 <= 0.01%"])
    assert s.result.front == [] and s.members == []
    rec = s.record
    assert rec["front"] == [] and rec["search"]["feasible"] == 0
    closest = rec["closest"]
    assert closest is not None and not closest["constraints"]["attack_probability:p80 <= 0.0001"]["met"]
    # the closest is the least violating design seen
    assert s.result.closest.G[0] == min(e.G[0] for e in s.evaluator.cache.values())


def test_a_design_with_nothing_left_is_never_feasible(params, countries, tmp_path):
    """A base with one guarantor that may stay out: staying out leaves no
    commitment at all, which is no package and never on the front."""
    from foedus.exploration.optimise import CandidateEvaluator

    (tmp_path / "one.yaml").write_text(
        "id: one\ntitle: One guarantor\nrationale: A test base with one commitment, which a design may drop.\nkyiv_position: accepted\nsources:\n"
        "- {publisher: foedus tests, title: a package built by a test, year: 2025}\ncommitments:\n"
        "- {guarantor: GBR, kind: military_aid, legal_form: executive_agreement, trigger: discretionary, usd_per_year: 1.0e+9}\n",
        encoding="utf-8")
    (tmp_path / "d.yaml").write_text("id: d\ntitle: Optional GBR\nbase: one.yaml\nguarantors:\n  GBR: {}\n", encoding="utf-8")
    space, base, _ = load_design(tmp_path / "d.yaml", countries)
    v = DesignVariables(space, base, countries)
    assert [x.name for x in v.variables] == ["GBR.takes_part"]
    ev = CandidateEvaluator(params, countries, None, 16, 0, [parse_objective("cost")], [parse_constraint("cost <= 1e15")], [])
    out = ev.evaluate_keys([(0,), (1,)], v)
    assert out[0].empty and not out[0].feasible and out[0].F[0] == PENALTY
    assert not out[1].empty and out[1].feasible


def test_the_command_reproduces_its_settings(params, countries):
    s = DesignSearch(TINY, params, countries, futures=FUTURES, seed=2, population=8, generations=2, horizon=3,
                     max_designs=4, constraints=["no-shortfall"])
    cmd = s.command()
    for part in ("--futures 200", "--seed 2", "--population 8", "--generations 2", "--horizon 3", "--max-designs 4",
                 "--constraint no-shortfall"):
        assert part in cmd, part


# -- the command, end to end ----------------------------------------------------------------------------
def test_optimise_writes_stores_and_reports(tmp_path):
    out, db = tmp_path / "designs", tmp_path / "runs.duckdb"
    args = ["optimise", str(TINY), "--futures", str(FUTURES), "--seed", "5", "--population", "12", "--generations", "8",
            "-o", str(out), "--db", str(db)]
    r = run_foedus(*args, "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    ids = [m["id"] for m in rec["front"]]
    assert ids and sorted(p.stem for p in out.glob("*.yaml")) == sorted(ids)
    assert [Path(f).stem for f in rec["files"]] == ids
    assert rec["run_id"]
    runs = run_foedus("runs", "list", "--db", str(db), "--json")
    assert runs.returncode == 0, runs.stderr
    assert rec["run_id"] in runs.stdout
    # the designs written are packages every command reads
    a = run_foedus("validate", *[str(out / f"{i}.yaml") for i in ids])
    assert a.returncode == 0, a.stderr
    # the table names the designs and says how to reproduce them
    t = run_foedus(*args[:-4], "--no-store", timeout=300)
    assert t.returncode == 0, t.stderr
    assert all(i in t.stdout for i in ids) and "reproduce: foedus optimise" in t.stdout


def test_optimise_with_no_feasible_design_writes_nothing(tmp_path):
    out = tmp_path / "designs"
    r = run_foedus("optimise", str(TINY), "--futures", "100", "--population", "8", "--generations", "2", "-o", str(out), "--no-store",
                   "--constraint", "attack_probability:p80 <= 0.01%", timeout=300)
    assert r.returncode == 0, r.stderr
    assert "No design meets every constraint." in r.stdout and "Closest:" in r.stdout
    assert not out.exists() or not any(out.iterdir())


def test_a_stop_keeps_the_front_so_far(tmp_path):
    out = tmp_path / "designs"
    cmd = [*foedus_command(), "optimise", str(ROOT / "designs" / "european-force-us-air.yaml"), "--futures", "200",
           "--population", "16", "--generations", "10000", "--constraint", "attack_probability:p80 <= 50%",
           "-o", str(out), "--no-store", "--json"]
    p = subprocess.Popen(cmd, cwd=ROOT, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(12)  # past the start (imports, checks) and into the search
    p.send_signal(signal.SIGTERM)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 0, stderr
    rec = json.loads(stdout)
    assert rec["search"]["stopped"] is True
    assert 0 < rec["search"]["generations_run"] < 10000
    assert rec["front"] and len(list(out.glob("*.yaml"))) == len(rec["front"])
    assert "Traceback" not in stderr


def test_workers_give_the_same_front(params, countries, tiny):
    """On a real local Dask cluster (two worker processes) the chunks are
    the same, so the numbers and the front are the same bit for bit."""
    on_dask = DesignSearch(TINY, params, countries, futures=FUTURES, seed=5, population=12, generations=8, workers=2)
    assert [e.key for e in on_dask.result.front] == [e.key for e in tiny.result.front]
    assert {k: e.terms for k, e in on_dask.evaluator.cache.items()} == {k: e.terms for k, e in tiny.evaluator.cache.items()}
    assert on_dask.evaluator.client is None  # the cluster is gone after the search
