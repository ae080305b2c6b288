"""Issue 16: every error message docs/packages.md shows for bad yearly input
("Commitments that change by year") is the one foedus gives, with its line
and field, so the page cannot drift from the schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from foedus.data.loaders import load_countries, load_package
from foedus.domain.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "packages.md").read_text(encoding="utf-8")
BASE = """\
id: my-option
title: Test of yearly input
rationale: A short package to show the errors foedus gives for yearly input that is wrong.
kyiv_position: accepted
sources:
- publisher: Me
  title: Notes
  year: 2026
commitments:
- guarantor: GBR
  kind: deployed_ground_force
  legal_form: executive_agreement
  trigger: after_consultation
  posture: western_ukraine
  troops: {2027: 10000, 2029: 25000}
"""
TROOPS = "troops: {2027: 10000, 2029: 25000}"
CASES = {
    "not a year": (TROOPS, "troops: {2027: 10000, soon: 25000}"),
    "year out of range": (TROOPS, "troops: {1999: 10}"),
    "negative": (TROOPS, "troops: {2027: 10000, 2029: -5}"),
    "empty mapping": (TROOPS, "troops: {}"),
    "never starts": (TROOPS, "troops: {2027: 0}"),
    "until before from": (TROOPS, "troops: 5000\n  from: 2030\n  until: 2028"),
    "year before from": (TROOPS, TROOPS + "\n  from: 2028"),
    "year after until": (TROOPS, TROOPS + "\n  until: 2028"),
    "from is a boolean": (TROOPS, "troops: 10\n  from: yes"),
    "build without units": ("kind: deployed_ground_force", "kind: enabler_build"),
    "unknown enabler": (TROOPS, "units: {2028: 2}\n  enabler: tanks"),
    "units elsewhere": (TROOPS, "troops: 10\n  units: 3"),
    "enabler elsewhere": (TROOPS, "troops: 10\n  enabler: isr"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_documented_yearly_error_is_the_real_one(tmp_path, case):
    old, new = CASES[case]
    text = BASE.replace(old, new)
    if case == "unknown enabler":
        text = text.replace("kind: deployed_ground_force", "kind: enabler_build")
    f = tmp_path / "my-option.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as ei:
        load_package(f, load_countries())
    line = str(ei.value).splitlines()[0].replace(str(tmp_path) + "/", "")
    assert line.startswith("my-option.yaml:"), line
    assert line in DOC, f"docs/packages.md does not show: {line}"
