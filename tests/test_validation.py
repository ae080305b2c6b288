"""Input validation: one broken fixture per failure mode (OpenFisca style),
each mapped to the exact place and message it must produce, in process and
through the real ``foedus validate`` command (exit status 2, no traceback)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, run_foedus
from foedus.data.loaders import (
    MultiInputError,
    load_countries,
    load_package,
    load_packages,
    parse_package,
    parse_parameter_file,
)
from foedus.data.parameter_set import ParameterSet, parse_assignments, parse_ranges
from foedus.domain.errors import InputError

BROKEN = FIXTURES / "broken"
BROKEN_PARAMS = FIXTURES / "broken_params"
BROKEN_COUNTRIES = FIXTURES / "broken_countries"

# fixture -> (line, field, fragment of the expectation)
BROKEN_PACKAGES = {
    "unknown_key.yaml": (18, "commitments[0].troop", "unknown key (did you mean troops? check spelling"),
    "duplicate_key.yaml": (19, "commitments[0].troops", "duplicate key 'troops' (first given on line 18)"),
    "wrong_type.yaml": (18, "commitments[0].troops", "expected a valid integer, unable to parse string as an integer, got 'many'"),
    "unknown_country.yaml": (13, "commitments[0].guarantor", "expected a known ISO3 country code or group (NATO, EU, COALITION); 'XYZ' is not one"),
    # a misspelt code names the country it may mean
    "guarantor_ger.yaml": (13, "commitments[0].guarantor",
                           "expected a known ISO3 country code or group (NATO, EU, COALITION); 'GER' is not one: did you mean DEU (Germany)?"),
    "unknown_kind.yaml": (14, "commitments[0].kind", "expected 'mutual_defence', 'consultation',"),
    "negative_troops.yaml": (18, "commitments[0].troops", "expected greater than or equal to 0, got -5000"),
    "nuclear_umbrella_non_nuclear.yaml": (17, "commitments[1]", "expected a nuclear-weapon state as guarantor of a nuclear umbrella; DEU is not one"),
    "missing_source.yaml": (2, "sources", "required field is missing"),
    "bad_syntax.yaml": (9, "(syntax)", "not valid YAML: expected ',' or ']', but got '<scalar>' (while parsing a flow sequence that starts on line 8)"),
    "empty.yaml": (1, "(document)", "expected a mapping of keys to values, got empty file"),
    "guarantor_ukr.yaml": (13, "commitments[0].guarantor", "expected a guarantor other than UKR or RUS; UKR is context, not a guarantor"),
    "guarantor_rus.yaml": (17, "commitments[1].guarantor", "expected a guarantor other than UKR or RUS; RUS is context, not a guarantor"),
    "missing_posture.yaml": (13, "commitments[0]", "expected a posture (neighbouring_territory, offshore, western_ukraine, behind_dnipro, contact_line) for kind deployed_ground_force"),
    "python_object.yaml": (4, "title", "expected plain YAML data, not the tag '!!python/object/apply:os.system'"),
    # hostile input, refused in bounded time and memory (issue 10)
    "alias_bomb.yaml": (6, "f", "expected at most 200,000 values once aliases (*name) are expanded"),
    "deep_nesting.yaml": (2, "(document)", "expected nesting at most 64 levels deep"),
}

BROKEN_PARAMETER_FILES = {
    "percent_not_fraction.yaml": (11, "parameters.share.values", "expected a value in [0, 1] for unit 'fraction' (rates are fractions: 2.5 % is 0.025), got 2.5"),
    "unit_percent.yaml": (10, "parameters.share.unit", "got 'percent'"),
    "no_references.yaml": (8, "parameters.share.references", "required field is missing"),
    "central_outside_range.yaml": (8, "parameters.share", "expected a central value inside its uncertainty range [0.1, 0.4], got 0.6"),
    "unknown_reference.yaml": (12, "parameters.share.references[1]", "expected a key of this file's sources (test-source); 'no-such-source' is not one"),
    "no_basis.yaml": (8, "parameters.share.basis", "required field is missing"),
    "calibrated_without_targets.yaml": (8, "parameters.share", "a 'calibration' entry (targets, residuals) exactly when basis is calibrated"),
}


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_every_broken_fixture_is_mapped():
    assert sorted(p.name for p in BROKEN.glob("*.yaml")) == sorted(BROKEN_PACKAGES)
    assert sorted(p.name for p in BROKEN_PARAMS.glob("*.yaml")) == sorted(BROKEN_PARAMETER_FILES)


# ---------------------------------------------------------------------------
# packages
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BROKEN_PACKAGES))
def test_broken_package_in_process(name):
    line, field, fragment = BROKEN_PACKAGES[name]
    path = BROKEN / name
    with pytest.raises(InputError) as ei:
        load_package(path)
    assert ei.value.file == str(path)
    (prob,) = ei.value.problems
    assert (prob.line, prob.field) == (line, field)
    assert fragment in prob.expected


@pytest.mark.parametrize("name", sorted(BROKEN_PACKAGES))
def test_broken_package_cli(name):
    line, field, fragment = BROKEN_PACKAGES[name]
    rel = _rel(BROKEN / name)
    r = run_foedus("validate", rel)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr  # one problem, on one (unwrapped) line
    assert lines[0].startswith(f"error: {rel}:{line}: {field}: ")
    assert fragment in lines[0]
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    assert "pwned" not in r.stdout + r.stderr


def test_validate_reports_every_file_and_every_problem(tmp_path):
    """One run over all broken fixtures plus a valid one: every file is
    reported, the valid one is ok, the exit status is 2."""
    good = tmp_path / "good.yaml"
    good.write_text((BROKEN / "unknown_kind.yaml").read_text().replace("peacekeeping", "consultation"), encoding="utf-8")
    files = [_rel(BROKEN / n) for n in sorted(BROKEN_PACKAGES)]
    r = run_foedus("validate", good, *files)
    assert r.returncode == 2
    assert f"ok    {good}" in r.stdout
    errors = r.stderr.splitlines()
    assert len(errors) == len(files)
    for rel, err in zip(files, errors):
        line, field, _ = BROKEN_PACKAGES[Path(rel).name]
        assert err.startswith(f"error: {rel}:{line}: {field}: ")
    assert "Traceback" not in r.stderr + r.stdout


def test_python_object_fixture_never_runs_a_command(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "system", lambda *a, **k: calls.append(a) or 0)
    with pytest.raises(InputError):
        load_package(BROKEN / "python_object.yaml")
    assert calls == []


# Cheap in-process checks of further failure modes, on variants of one valid package.
VALID = (BROKEN / "unknown_kind.yaml").read_text(encoding="utf-8").replace("peacekeeping", "consultation")


def _problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(InputError) as ei:
        parse_package(text, "pkg.yaml")
    return [(p.line, p.field, p.expected) for p in ei.value.problems]


def test_valid_variant_is_valid():
    p = parse_package(VALID)
    assert (p.id, p.guarantors()) == ("fixture-broken", ["GBR"])


@pytest.mark.parametrize(
    "old, new, line, field, fragment",
    [
        ("title: Broken package fixture", "title: Broken package fixture\nsubtitle: x", 4, "subtitle", "unknown key (did you mean title? check spelling"),
        ("year: 2025", "year: twenty", 11, "sources[0].year", "expected a valid integer"),
        ("year: 2025", "year: 2025\n  url: www.example.org", 12, "sources[0].url", "expected a URL starting with http:// or https://"),
        ("id: fixture-broken", "id: Fixture Broken", 2, "id", "should match pattern"),
        ("guarantor: GBR", "guarantor: gbr", 13, "commitments[0].guarantor", "'gbr' is not one"),
        ("trigger: after_consultation", "trigger: after_consultation\n  troops: yes", 17, "commitments[0].troops", "expected a number, got true"),
        ("trigger: after_consultation", "trigger: after_consultation\n  usd_per_year: 5bn", 17, "commitments[0].usd_per_year", "got '5bn'"),
        ("trigger: after_consultation", "trigger: after_consultation\n  troops: 10.5", 17, "commitments[0].troops", "fractional part"),
        ("kind: consultation", "kind: air_power\n  posture: offshore", 13, "commitments[0]", "aircraft > 0 for a commitment of kind air_power"),
        ("kind: consultation", "kind: military_aid", 13, "commitments[0]", "usd_per_year > 0 for a commitment of kind military_aid"),
        ("kind: consultation", "kind: training\n  posture: western_ukraine", 13, "commitments[0]", "troops > 0 for a commitment of kind training"),
        ("guarantor: GBR\n  kind: consultation", "guarantor: NATO\n  kind: nuclear_umbrella", 13, "commitments[0]", "a single nuclear-weapon state"),
        ("trigger: after_consultation", "trigger: after_consultation\n  approvals: [nato_unanimity, nato_unanimity]", 17, "commitments[0].approvals", "each approval listed once"),
        ("kyiv_position: accepted", "kyiv_position: maybe", 7, "kyiv_position", "'demanded', 'accepted', 'reluctant' or 'rejected', got 'maybe'"),
        ("sources:\n- publisher: Test Publisher\n  title: A source for the fixture\n  year: 2025\n", "sources: []\n", 8, "sources", "at least 1 item"),
    ],
)
def test_package_variants(old, new, line, field, fragment):
    assert old in VALID
    probs = _problems(VALID.replace(old, new, 1))
    assert len(probs) == 1, probs
    got_line, got_field, expected = probs[0]
    assert (got_line, got_field) == (line, field)
    assert fragment in expected


@pytest.mark.parametrize("written, meant", [
    ("GER", "DEU"),        # the IOC and FIFA code
    ("Germany", "DEU"),    # the country's name
    ("germany", "DEU"),
    ("deu", "DEU"),        # the code in lower case
    ("UK", "GBR"),         # the initials of its name
    ("Grmany", "DEU"),     # a typing slip in the name (difflib)
    ("Turkey", "TUR"),     # accents ignored (Türkiye)
    ("NED", "NLD"),
])
def test_misspelt_country_suggests_its_iso3_code(written, meant):
    from model_helpers import COUNTRIES

    names = {k: c.name for k, c in COUNTRIES.countries.items()}
    ((line, field, expected),) = _problems(VALID.replace("guarantor: GBR", f"guarantor: {written}"))
    assert (line, field) == (13, "commitments[0].guarantor")
    assert expected.startswith(f"expected a known ISO3 country code or group (NATO, EU, COALITION); '{written}' is not one: did you mean {meant} ({names[meant]})")


def test_country_suggestions_hand_worked():
    from foedus.domain.package import country_hint, suggest_countries

    names = {"DEU": "Germany", "GBR": "United Kingdom", "GRC": "Greece", "USA": "United States", "UKR": "Ukraine", "SVK": "Slovakia", "SVN": "Slovenia"}
    assert suggest_countries("GER", names) == ["DEU"]          # the start of a name beats close codes (GBR, GRC)
    assert suggest_countries("UK", names) == ["GBR"]           # never Ukraine: it is context, not a guarantor
    assert suggest_countries("SLO", names) == ["SVK", "SVN"]   # both names start so
    assert suggest_countries("XYZ", names) == []
    assert country_hint("SLO", names) == ": did you mean SVK (Slovakia) or SVN (Slovenia)?"
    assert country_hint("XYZ", names) == ""


@pytest.mark.parametrize("guarantor", ["USA", "GBR", "FRA"])
def test_nuclear_umbrella_from_a_nuclear_weapon_state_is_valid(guarantor):
    p = parse_package(VALID.replace("guarantor: GBR\n  kind: consultation", f"guarantor: {guarantor}\n  kind: nuclear_umbrella"))
    assert p.commitments[0].kind.value == "nuclear_umbrella"


@pytest.mark.parametrize("group", ["NATO", "EU", "COALITION"])
def test_groups_are_guarantors(group):
    assert parse_package(VALID.replace("guarantor: GBR", f"guarantor: {group}")).guarantors() == [group]


@pytest.mark.parametrize(
    "guarantor, excluded, fragment",
    [
        ("COALITION", "[USA]", "'except' lists members of COALITION; USA is not one"),
        ("COALITION", "[HUN, SVK]", "'except' lists members of COALITION; HUN, SVK is not one"),
        ("EU", "[NOR]", "'except' lists members of EU; NOR is not one"),
        ("EU", "[JPN]", "'except' lists members of EU; JPN is not one"),
        ("NATO", "[AUT]", "'except' lists members of NATO; AUT is not one"),
        ("GBR", "[FRA]", "'except' only for a group guarantor (NATO, EU, COALITION); GBR is a country"),
        ("COALITION", "[FRA, FRA]", "each member listed once in 'except'"),
    ],
)
def test_except_lists_only_bound_members_of_the_group(guarantor, excluded, fragment):
    text = VALID.replace("guarantor: GBR", f"guarantor: {guarantor}\n  except: {excluded}")
    ((line, field, expected),) = _problems(text)
    assert (line, field) == (13, "commitments[0]")
    assert expected == f"expected {fragment}"


def test_except_cannot_leave_a_group_empty():
    from model_helpers import COUNTRIES

    everyone = ", ".join(COUNTRIES.members("COALITION"))
    ((_, field, expected),) = _problems(VALID.replace("guarantor: GBR", f"guarantor: COALITION\n  except: [{everyone}]"))
    assert field == "commitments[0]" and expected == "expected at least one member of COALITION left bound after 'except'"
    # one member left bound is enough
    one_left = ", ".join(COUNTRIES.members("COALITION")[1:])
    assert parse_package(VALID.replace("guarantor: GBR", f"guarantor: COALITION\n  except: [{one_left}]")).guarantors() == ["COALITION"]


@pytest.mark.parametrize("member", ["AUT", "IRL", "MLT", "CYP"])
def test_eu_members_outside_nato_can_be_left_out_of_an_eu_instrument(member):
    p = parse_package(VALID.replace("guarantor: GBR", f"guarantor: EU\n  except: [{member}]"))
    assert p.commitments[0].except_ == [member]


def test_misspelt_key_reports_unknown_and_missing():
    probs = _problems(VALID.replace("title: Broken", "titel: Broken"))
    assert probs == [
        (2, "title", "required field is missing"),
        (3, "titel", "unknown key (did you mean title? check spelling; see docs/packages.md for the allowed keys)"),
    ]


@pytest.mark.parametrize("text, what", [("- a\n- b\n", "got a list"), ("hello\n", "got a str"), ("", "got empty file")])
def test_document_must_be_a_mapping(text, what):
    assert _problems(text) == [(1, "(document)", f"expected a mapping of keys to values, {what}")]


def test_all_missing_fields_are_listed():
    fields = {f for _, f, e in _problems('{"id": "x", "title": "abc"}') if e == "required field is missing"}
    assert fields == {"rationale", "kyiv_position", "sources", "commitments"}


def test_package_ids_must_be_unique_across_files(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(VALID, encoding="utf-8")
    b.write_text(VALID, encoding="utf-8")
    with pytest.raises(InputError) as ei:
        load_packages([a, b])
    assert "package ids must be unique across files; 'fixture-broken' is used twice" in str(ei.value)


def test_load_packages_reports_all_broken_files():
    with pytest.raises(MultiInputError) as ei:
        load_packages([BROKEN / "empty.yaml", BROKEN / "negative_troops.yaml"])
    text = str(ei.value)
    assert f"{BROKEN / 'empty.yaml'}:1: (document)" in text
    assert f"{BROKEN / 'negative_troops.yaml'}:18: commitments[0].troops" in text


# ---------------------------------------------------------------------------
# parameter files and the country file
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BROKEN_PARAMETER_FILES))
def test_broken_parameter_file(name):
    line, field, fragment = BROKEN_PARAMETER_FILES[name]
    path = BROKEN_PARAMS / name
    with pytest.raises(InputError) as ei:
        parse_parameter_file(path)
    (prob,) = ei.value.problems
    assert ei.value.file == str(path)
    assert (prob.line, prob.field) == (line, field)
    assert fragment in prob.expected
    assert str(ei.value).startswith(f"{path}:{line}: {field}: ")


PARAM_OK = """\
sources:
  s1:
    publisher: P
    title: T
    year: 2025
parameters:
  share:
    description: A share of something, as a fraction.
    unit: fraction
    values: {2025-01-01: 0.25}
    references: [s1]
    uncertainty:
      low: 0.1
      high: 0.5
      rationale: plausible band from the source
      references: [s1]
    basis: evidence
"""


def _param_problems(text: str):
    with pytest.raises(InputError) as ei:
        parse_parameter_file(Path("demo.yaml"), text)
    return [(p.line, p.field, p.expected) for p in ei.value.problems]


def test_parameter_text_ok_and_named_by_file_stem():
    (p,) = parse_parameter_file(Path("demo.yaml"), PARAM_OK).values()
    assert (p.name, p.group, p.value, p.year) == ("demo.share", "demo", 0.25, 2025)
    assert p.references[0].publisher == "P"


@pytest.mark.parametrize(
    "old, new, line, field, fragment",
    [
        ("parameters:", "extras: 1\nparameters:", 6, "extras", "a parameter file has only 'sources' and 'parameters'"),
        ("    publisher: P\n", "", 2, "sources.s1.publisher", "required field is missing"),
        ("    year: 2025\n", "    year: 2025\n    url: ftp://x\n", 6, "sources.s1.url", "http:// or https://"),
        ("unit: fraction", "unit: probability", None, None, None),
        ("values: {2025-01-01: 0.25}", "values: {2025-01-01: -0.1}", 10, "parameters.share.values", "got -0.1"),
        ("      references: [s1]\n", "      references: [s2]\n", 16, "parameters.share.uncertainty.references[0]", "'s2' is not one"),
        ("      references: [s1]\n", "", 12, "parameters.share.uncertainty.references", "required field is missing"),
        ("      low: 0.1", "      low: 0.6", 12, "parameters.share.uncertainty", "low < high (got low=0.6, high=0.5)"),
        ("      high: 0.5", "      high: 1.5", 7, "parameters.share", "an uncertainty range inside [0, 1] for unit 'fraction', got [0.1, 1.5]"),
        ("    description: A share of something, as a fraction.\n", "", 7, "parameters.share.description", "required field is missing"),
        ("    values: {2025-01-01: 0.25}\n", "    values: {}\n", 10, "parameters.share.values", "at least 1 item"),
        ("    unit: fraction\n", "    unit: fraction\n    unti: fraction\n", 10, "parameters.share.unti", "unknown key"),
    ],
)
def test_parameter_variants(old, new, line, field, fragment):
    assert old in PARAM_OK
    text = PARAM_OK.replace(old, new, 1)
    if field is None:  # a legal edit, the control case
        parse_parameter_file(Path("demo.yaml"), text)
        return
    probs = _param_problems(text)
    assert len(probs) == 1, probs
    assert probs[0][:2] == (line, field)
    assert fragment in probs[0][2]


def test_country_file_with_unknown_figure_source():
    path = BROKEN_COUNTRIES / "unknown_figure_source.yaml"
    with pytest.raises(InputError) as ei:
        load_countries(str(path))
    assert str(ei.value) == f"{path}:17: countries.GBR.gdp_usd.source: expected a key of sources; 'imf-weo-2025' is not one"


def test_country_file_fixed_source_loads():
    """The broken country fixture differs from a valid file only by its source key."""
    text = (BROKEN_COUNTRIES / "unknown_figure_source.yaml").read_text(encoding="utf-8")
    from foedus.data.validation import validate
    from foedus.data.yamlio import loads
    from foedus.domain.country import CountryTable

    data, lines = loads(text.replace("imf-weo-2025", "test-source"))
    table = validate(CountryTable, data, file="c.yaml", lines=lines)
    assert table["GBR"].is_nuclear and table.members("NATO") == table.members("COALITION") == ["GBR"]
    assert table.members("EU") == []


@pytest.mark.parametrize(
    "name, message",
    [
        ("missing_coalition_member.yaml", ":8: countries.AUT.coalition_member: required field is missing"),
        ("unknown_coalition_member.yaml", ":13: countries.AUT.coalition_member.value: expected a valid boolean, unable to interpret input, got 'observer'"),
    ],
)
def test_country_file_without_a_valid_coalition_membership(name, message):
    """Every country states whether it is in the Coalition of the Willing,
    as true or false; the error names the file, line and field."""
    path = BROKEN_COUNTRIES / name
    with pytest.raises(InputError) as ei:
        load_countries(str(path))
    assert str(ei.value) == f"{path}{message}"


def test_coalition_fixture_fixed_loads():
    """The coalition fixtures differ from a valid file only in that fact."""
    from foedus.data.validation import validate
    from foedus.data.yamlio import loads
    from foedus.domain.country import CountryTable

    text = (BROKEN_COUNTRIES / "unknown_coalition_member.yaml").read_text(encoding="utf-8")
    data, lines = loads(text.replace("value: observer", "value: true"))
    table = validate(CountryTable, data, file="c.yaml", lines=lines)
    assert table.members("COALITION") == table.members("EU") == ["AUT"] and table.members("NATO") == []


# ---------------------------------------------------------------------------
# parameter overrides (--set, --range)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pset() -> ParameterSet:
    return ParameterSet.default()


@pytest.mark.parametrize(
    "items, fragment",
    [
        (["will.USA=2"], "a value in [0, 1] (unit probability; rates are fractions), got 2.0"),
        (["will.USA=-0.1"], "a value in [0, 1]"),
        (["will.USA=nan"], "a finite number"),
        (["will.USX=0.3"], "did you mean will.USA"),
        (["deterence.resolve=1"], "did you mean deterrence.resolve"),
        (["nonexistent.param=1"], "names start with a group (approval, assessment,"),
        (["escalation.clash_rate.behind_dnipro=0.9"], "the models rely on this ordering"),
        (["deterrence.hazard_ratio.monitoring=1.5"], "a factor in (0, 1] (it can only lower the odds)"),
        (["credibility.step_odds=0"], "a factor in (0, 1]"),
        # regression: 0 here was a ZeroDivisionError traceback in compare's hazard terms
        (["deterrence.adversary_forces=0"], "a value > 0 (the balance of forces divides by it), got 0.0"),
        (["deterrence.reference_force_ratio=0"], "a value > 0"),
    ],
)
def test_bad_overrides(pset, items, fragment):
    with pytest.raises(InputError) as ei:
        pset.with_overrides(parse_assignments(items))
    assert fragment in str(ei.value)
    assert str(ei.value).startswith("--set: ")


@pytest.mark.parametrize("item", ["will.USA=abc", "will.USA", "=0.3"])
def test_malformed_assignments(item):
    with pytest.raises(InputError) as ei:
        parse_assignments([item])
    assert "--set" in str(ei.value)


def test_per_country_will_for_any_known_country(pset):
    ps = pset.with_overrides({"will.EST": 0.1, "approval.nato_consent.HUN": 0.2})
    assert ps.values()["will.EST"] == 0.1
    with pytest.raises(InputError):
        pset.with_overrides({"will.XYZ": 0.1})


def test_ranges_are_checked(pset):
    assert pset.with_ranges(parse_ranges(["will.USA=0.1:0.4"])).spec("will.USA").high == 0.4
    with pytest.raises(InputError, match="low < high"):
        pset.with_ranges(parse_ranges(["will.USA=0.4:0.1"]))
    with pytest.raises(InputError, match="two numbers LOW:HIGH"):
        parse_ranges(["will.USA=a:b"])


def test_hostile_files_are_refused_in_bounded_memory(tmp_path):
    """The alias bomb and the deep nesting are refused under a 1 GiB
    address-space limit (the first took more than 5 GB and never answered),
    and a file over the size limit is refused before it is read."""
    import resource
    import sys

    from foedus.data.yamlio import MAX_BYTES

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    big = tmp_path / "big.yaml"
    big.write_text("id: big\nnote: '" + "x" * (MAX_BYTES + 1) + "'\n", encoding="utf-8")
    for path, fragment in ((BROKEN / "alias_bomb.yaml", "alias bomb"), (BROKEN / "deep_nesting.yaml", "levels deep"),
                           (big, "expected a YAML file of at most 4 MiB, got 4.0 MiB")):
        r = subprocess.run([sys.executable, "-m", "foedus.interfaces.cli.main", "validate", str(path)], capture_output=True, text=True,
                           timeout=60, preexec_fn=limit, cwd=ROOT)
        assert r.returncode == 2, (path.name, r.stderr[-500:])
        assert fragment in r.stderr and "Traceback" not in r.stderr + r.stdout, r.stderr


@pytest.mark.parametrize(
    "old, new, fragment",
    [
        ("kyiv_position:", "kyiv_postion:", "kyiv_postion: unknown key (did you mean kyiv_position?"),
        ("  legal_form: political_declaration\n", "  legal_from: political_declaration\n", "legal_from: unknown key (did you mean legal_form?"),
        ("  kind: consultation\n", "  kind: consultaton\n", "got 'consultaton' (did you mean 'consultation'?)"),
    ],
)
def test_a_misspelt_key_or_value_gets_a_did_you_mean(tmp_path, old, new, fragment):
    """A misspelt key or value got no hint, though --set names the closest parameter."""
    from foedus.data.loaders import load_package
    from foedus.domain.errors import InputError

    text = (ROOT / "scenarios" / "status-quo.yaml").read_text(encoding="utf-8")
    assert old in text
    f = tmp_path / "typo.yaml"
    f.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as ei:
        load_package(f)
    assert fragment in str(ei.value), str(ei.value)


def test_an_error_on_line_100_prints_the_number(tmp_path):
    """rich turned ":100:" into an emoji in `file:100: field` error lines."""
    from conftest import run_foedus

    text = (ROOT / "scenarios" / "status-quo.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) > 100 and "kind: consultation" in "\n".join(lines[95:105])
    f = tmp_path / "typo.yaml"
    f.write_text(text.replace("kind: consultation", "kind: consultaton"), encoding="utf-8")
    r = run_foedus("validate", str(f))
    assert r.returncode == 2
    assert f"{f}:100:" in r.stderr and "\U0001f4af" not in r.stderr
