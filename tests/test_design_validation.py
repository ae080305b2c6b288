"""Design file validation: one broken design per failure mode (OpenFisca
style, as tests/test_validation.py does for packages), each mapped to the
place and message it must produce, in process (``load_design``, and
``DesignSearch(...).goals`` for objectives, constraints and thresholds) and
through the real ``foedus optimise`` command (exit status 2, ``error:``
lines, no traceback, in bounded time).

Every fixture is the valid design ``VALID`` with one fault; ``fix`` undoes
it, and a test checks that the fixed file is valid again (so no fixture
fails for a second, unintended reason)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, SCENARIOS, run_foedus
from foedus.data.loaders import load_countries, load_design
from foedus.domain.errors import InputError

BROKEN = FIXTURES / "broken_designs"

#: The valid design every fixture departs from (after its comment line).
VALID = """id: fixture-design
title: Broken design fixture
base: ../../../scenarios/coalition-backstop.yaml
guarantors:
  GBR:
    required: true
    troops: [0, 20000]
    legal_forms: [executive_agreement, ratified_treaty]
  POL:
    troops: [0, 10000]
    postures: [western_ukraine]
    legal_forms: [executive_agreement]
    triggers: [after_consultation]
terms:
  monitoring: optional
objectives:
  - total_cost_usd_per_year
  - attack_probability:p80
constraints:
  - attack_probability:p80 <= 15%
  - no-shortfall
"""

# fixture -> (line, field, fragment of the expectation, fix: (fault, what VALID has)).
# Problems found when the file is loaded name FILE:LINE: FIELD. Objectives,
# constraints and thresholds are parsed when the search states its goals
# (DesignSearch.goals): their errors name "FILE: objectives" and the text,
# without a line (see the note at test_duplicate_objectives_name_the_file).
BROKEN_DESIGNS = {
    # keys and values
    "unknown_key.yaml": (8, "guarantors.GBR.troop", "unknown key (did you mean troops? check spelling; see docs/design.md",
                         ("troop:", "troops:")),
    "duplicate_key.yaml": (10, "guarantors.GBR", "duplicate key 'GBR' (first given on line 6)", ("  GBR:\n    troops: [0, 10000]", "  POL:\n    troops: [0, 10000]")),
    "empty.yaml": (1, "(document)", "expected a mapping of keys to values, got empty file", None),
    "bad_syntax.yaml": (9, "(syntax)", "not valid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence that starts on line 8)",
                        ("[0, 20000\n", "[0, 20000]\n")),
    # guarantors
    "unknown_guarantor.yaml": (10, "guarantors.GER", "expected a known ISO3 country code or group (NATO, EU, COALITION); 'GER' is not one: did you mean DEU (Germany)?",
                               ("  GER:", "  POL:")),
    "guarantor_ukr.yaml": (10, "guarantors.UKR", "expected a guarantor other than UKR or RUS; UKR is context, not a guarantor", ("  UKR:", "  POL:")),
    "guarantor_rus.yaml": (10, "guarantors.RUS", "expected a guarantor other than UKR or RUS; RUS is context, not a guarantor", ("  RUS:", "  POL:")),
    "guarantor_null.yaml": (10, "guarantors.POL", "expected a mapping of what may vary for this guarantor, got nothing (write {} for one",
                            ("  POL:\n", "  POL:\n    troops: [0, 10000]\n    postures: [western_ukraine]\n    legal_forms: [executive_agreement]\n    triggers: [after_consultation]\n")),
    "group_sizes.yaml": (10, "guarantors.NATO", "expected a country for sizes and promises (NATO is a group", ("  NATO:", "  POL:")),
    "required_brings_nothing.yaml": (16, "guarantors.ITA.required", "expected something ITA brings: it is required, but the base has no commitment of ITA and the design adds none",
                                     ("  ITA:\n    required: true\n", "")),
    "troops_without_posture.yaml": (10, "guarantors.POL.postures", "expected where an added ground force of POL stands: the base has no deployed_ground_force of POL",
                                    ("    troops: [0, 10000]\n", "    troops: [0, 10000]\n    postures: [western_ukraine]\n")),
    # sizes
    "range_reversed.yaml": (8, "guarantors.GBR.troops", "expected low <= high, got low 20000 and high 0", ("[20000, 0]", "[0, 20000]")),
    "range_three_values.yaml": (8, "guarantors.GBR.troops", "expected [LOW, HIGH] (two numbers) or {low, high, step}, got 3 values",
                                ("[0, 10000, 20000]", "[0, 20000]")),
    "range_not_numbers.yaml": (8, "guarantors.GBR.troops", "expected [LOW, HIGH] (two numbers, e.g. [0, 20000]; [N, N] for a fixed size) or {low, high, step}, got 'lots'",
                               ("troops: lots", "troops: [0, 20000]")),
    "range_single_number.yaml": (8, "guarantors.GBR.troops", "expected [LOW, HIGH] (two numbers, e.g. [0, 20000]; [N, N] for a fixed size) or {low, high, step}, got 20000",
                                 ("troops: 20000", "troops: [0, 20000]")),
    "boolean_size.yaml": (11, "guarantors.POL.troops.high", "expected a number, got true (YAML reads yes/no/on/off as true/false)", ("[0, yes]", "[0, 10000]")),
    "size_over_limit.yaml": (8, "guarantors.GBR.troops", "expected high at most 5,000,000, got 20,000,000", ("[0, 20000000]", "[0, 20000]")),
    # choices
    "unknown_legal_form.yaml": (9, "guarantors.GBR.legal_forms[1]", "expected 'ratified_treaty', 'congressional_executive_agreement', 'executive_agreement' or 'political_declaration', got 'treaty'",
                                ("[executive_agreement, treaty]", "[executive_agreement, ratified_treaty]")),
    "unknown_posture.yaml": (12, "guarantors.POL.postures[0]", "got 'eastern_ukraine' (did you mean 'western_ukraine'?)", ("eastern_ukraine", "western_ukraine")),
    "nothing_varies.yaml": (2, "(document)", "expected something the search may vary: a guarantor that is not required, a size range with low < high",
                            ("troops: [10000, 10000]", "troops: [0, 10000]")),
    # base
    "missing_base.yaml": (4, "base", "scenarios/no-such-package.yaml does not exist",
                          ("no-such-package.yaml", "coalition-backstop.yaml")),
    "base_directory.yaml": (4, "base", "scenarios is a directory, not a file",
                            ("scenarios\n", "scenarios/coalition-backstop.yaml\n")),
    # terms
    "element_without_by.yaml": (17, "terms.joint_commission.by", "expected the guarantor that provides it ('by'): the base has no joint_commission to keep",
                                ("  joint_commission: optional\n", "")),
    "unknown_by.yaml": (17, "terms.joint_commission.by", "expected a known ISO3 country code or group (NATO, EU, COALITION); 'XYZ' is not one",
                        ("  joint_commission: {choice: optional, by: XYZ}\n", "")),
    # the base's monitoring is the USA's alone: a design without the USA would have no one to provide it
    "element_provider_may_leave.yaml": (17, "terms.monitoring.by", "expected the guarantor that provides it ('by') in designs that leave out USA, the only provider of the base's ceasefire_monitoring (or make USA required)",
                                        ("  USA: {}\n", "")),
    "unknown_choice.yaml": (16, "terms.monitoring.choice", "expected 'optional', 'include' or 'exclude', got 'maybe'", ("monitoring: maybe", "monitoring: optional")),
    "duplicate_force_cap.yaml": (17, "terms.force_cap", "expected each cap listed once", ("  force_cap: [600000, 800000, 600000]\n", "")),
    # objectives, constraints and thresholds
    "objective_boolean.yaml": (18, "objectives[0]", "expected a string such as 'attack_probability:p80', got true", ("  - yes\n", "  - total_cost_usd_per_year\n")),
    "constraint_mapping.yaml": (21, "constraints[0]", "expected a string, got the mapping {attack_probability: p80 <= 15%} (YAML reads 'KEY: VALUE' as a mapping",
                                ("attack_probability: p80", "attack_probability:p80")),
    "objective_unknown_metric.yaml": (None, "objectives: costs", "a package metric by key, label or short name; did you mean cost?", ("  - costs\n", "  - total_cost_usd_per_year\n")),
    "objective_bad_statistic.yaml": (None, "objectives: attack_probability:p800", "a statistic after ':': central, mean or pNN (a percentile, p1 to p99); got 'p800'",
                                     ("p800", "p80")),
    "objective_unknown_scenario.yaml": (None, "objectives: attack_probability:p80 in us-walks", "a named will scenario after 'in' (average-ally, us-as-in-2025, us-walks-away, us-reliable, europe-hesitant); did you mean us-walks-away",
                                        (" in us-walks\n", "\n")),
    "objective_no_direction.yaml": (None, "objectives: troops_deployed", "a metric that is better higher or lower; 'Personnel deployed' is neither",
                                    ("  - troops_deployed\n", "  - attack_probability:p80\n")),
    "constraint_malformed.yaml": (None, "constraints: attack_probability:p80 below 15%", "TERM <= VALUE or TERM >= VALUE (e.g. 'attack_probability:p80 <= 10%'), or no-shortfall",
                                  ("below", "<=")),
    "threshold_malformed.yaml": (None, "thresholds: attack_probability<<0.1", "METRIC<=VALUE or METRIC>=VALUE", ("thresholds: [attack_probability<<0.1]\n", "")),
}

#: Fixtures whose fix gives a valid design other than VALID (their fault is
#: that nothing else varies, so VALID's other ranges had to go).
OTHER_VALID = {"nothing_varies.yaml"}


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.fixture(scope="module")
def countries():
    return load_countries()


def _load(path: Path, countries) -> None:
    """What ``foedus optimise`` reads before it searches: the design, its
    base, and its goals."""
    from foedus.study.design_search import DesignSearch

    load_design(path, countries)
    DesignSearch(path, None, countries).goals  # noqa: B018


def _where(rel: str, line: int | None, field: str) -> str:
    return f"{rel}:{line}: {field}: " if line is not None else f"{rel}: {field}: "


def test_every_broken_design_is_mapped():
    assert sorted(p.name for p in BROKEN.iterdir()) == sorted(BROKEN_DESIGNS)


def test_valid_design_is_valid(tmp_path, countries):
    p = tmp_path / "valid.yaml"
    p.write_text(VALID.replace("../../../scenarios/", f"{SCENARIOS}/"), encoding="utf-8")
    _load(p, countries)


@pytest.mark.parametrize("name", sorted(n for n, v in BROKEN_DESIGNS.items() if v[3] is not None))
def test_broken_design_has_one_fault(name, tmp_path, countries):
    """Undoing the fixture's fault gives a valid design (VALID itself, bar
    the comment line, for all but OTHER_VALID)."""
    bad, good = BROKEN_DESIGNS[name][3]
    comment, body = (BROKEN / name).read_text(encoding="utf-8").split("\n", 1)
    assert comment.startswith("# Broken design fixture: ")
    assert body.count(bad) == 1, f"{name}: the fault {bad!r} should occur once"
    fixed = body.replace(bad, good)
    if name not in OTHER_VALID:
        assert fixed == VALID
    p = tmp_path / name
    p.write_text(fixed.replace("../../../scenarios/", f"{SCENARIOS}/"), encoding="utf-8")
    _load(p, countries)


@pytest.mark.parametrize("name", sorted(BROKEN_DESIGNS))
def test_broken_design_in_process(name, countries):
    line, field, fragment, _ = BROKEN_DESIGNS[name]
    path = BROKEN / name
    with pytest.raises(InputError) as ei:
        _load(path, countries)
    err = ei.value
    assert err.file is not None and err.file.startswith(str(path))
    (prob,) = err.problems
    assert prob.line == line
    assert str(err).startswith(_where(str(path), line, field)), str(err)
    assert fragment in prob.expected


@pytest.mark.parametrize("name", sorted(BROKEN_DESIGNS))
def test_broken_design_cli(name):
    line, field, fragment, _ = BROKEN_DESIGNS[name]
    rel = _rel(BROKEN / name)
    t0 = time.perf_counter()
    # a small search, should a fixture ever pass: the test stays bounded either way
    r = run_foedus("optimise", rel, "--no-store", "--futures", "10", "--population", "4", "--generations", "1", timeout=60)
    assert time.perf_counter() - t0 < 60
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr  # one problem, on one (unwrapped) line
    assert all(x.startswith("error: ") for x in lines)
    assert lines[0].startswith("error: " + _where(rel, line, field)), lines[0]
    assert fragment in lines[0]
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stdout == ""


def test_duplicate_objectives_name_the_file(tmp_path, countries):
    p = tmp_path / "twice.yaml"
    p.write_text(VALID.replace("../../../scenarios/", f"{SCENARIOS}/").replace("  - attack_probability:p80\n", "  - cost\n"), encoding="utf-8")
    with pytest.raises(InputError) as ei:
        _load(p, countries)
    assert ei.value.file.startswith(str(p))
