"""The executive summary's helpers (:mod:`foedus.study.summary`): shares of
futures never read as none or all when they are neither, lists joined as
English, the guarantor that carries a package, bases counted; hand-worked
cases and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foedus.study.summary import CARRY_ABS, CARRY_REL, _basis_phrase, _join, _share, basis_counts, carrier


@pytest.mark.parametrize("v, text", [
    (0.0, "0%"), (1.0, "100%"), (0.5, "50%"), (0.79, "79%"), (0.2149, "21%"),
    (0.001, "<1%"), (0.004999, "<1%"), (0.005, "<1%"),  # 0.5 % would round to "0%": it is not none
    (0.0051, "1%"), (0.994, "99%"), (0.995, ">99%"), (0.9999, ">99%"),  # 99.5 % would round to "100%": it is not all
])
def test_share_hand_worked(v, text):
    assert _share(v) == text


@given(st.floats(0.0, 1.0))
def test_share_is_a_whole_percentage_that_never_overstates(v):
    s = _share(v)
    if s == "<1%":
        assert 0 < v < 0.01
    elif s == ">99%":
        assert 0.99 < v < 1
    else:
        assert s.endswith("%")
        k = int(s[:-1])
        assert 0 <= k <= 100 and abs(k - 100 * v) <= 0.5 + 1e-9
        assert (k == 0) == (v == 0) and (k == 100) == (v == 1)


@pytest.mark.parametrize("items, text", [
    ([], ""), (["nato"], "nato"), (["nato", "treaty"], "nato and treaty"), (["a", "b", "c"], "a, b and c"),
])
def test_join_hand_worked(items, text):
    assert _join(items) == text


@given(st.lists(st.text(alphabet="abcdefghij-", min_size=1, max_size=8), max_size=8))
def test_join_names_every_item_once_in_order(items):
    text = _join(items)
    if len(items) >= 2:
        assert text.endswith(" and " + items[-1])
        assert text == ", ".join(items[:-1]) + " and " + items[-1]
        assert text.count(" and ") >= 1 and text.count(", ") == len(items) - 2 + sum(", " in i for i in items)
    else:
        assert text == "".join(items)


def _entry(attack, without):
    return {"metrics": {"attack_probability": attack},
            "guarantors": [{"iso3": k, "attack_probability_without": v} for k, v in without.items()]}


def test_carrier_hand_worked():
    # removing USA raises 0.4 % to 7.6 %: more than max(0.5 pt, half of 0.4 %) -> it carries the package
    c = carrier(_entry(0.004, {"USA": 0.076, "DEU": 0.018, "FRA": None}))
    assert c["iso3"] == "USA" and c["without"] == 0.076 and math.isclose(c["rise"], 0.072)
    # 98.9 % -> 100 %: a rise of 1.1 points is less than half of 98.9 %: nobody carries it
    assert carrier(_entry(0.989, {"GBR": 1.0, "NLD": 0.997})) is None
    # no guarantor, or none with a value
    assert carrier(_entry(0.1, {})) is None and carrier(_entry(0.1, {"USA": None})) is None


@given(st.floats(0, 1), st.dictionaries(st.sampled_from(["USA", "GBR", "FRA", "DEU"]), st.floats(0, 1), max_size=4))
def test_carrier_is_the_largest_rise_beyond_the_rule(a, without):
    c = carrier(_entry(a, without))
    rises = {k: v - a for k, v in without.items()}
    if c is None:
        assert not rises or max(rises.values()) <= max(CARRY_ABS, CARRY_REL * a)
    else:
        assert c["rise"] == max(rises.values()) > max(CARRY_ABS, CARRY_REL * a)
        assert without[c["iso3"]] == c["without"]


def test_basis_phrases_agree_in_number():
    assert _basis_phrase("judgement", 1) == "rests on judgement" and _basis_phrase("judgement", 2) == "rest on judgement"
    assert _basis_phrase("calibrated", 1) == "is calibrated" and _basis_phrase("calibrated", 3) == "are calibrated"
    assert _basis_phrase("evidence", 1) == "comes from evidence" and _basis_phrase("evidence", 2) == "come from evidence"


def test_basis_counts_cover_every_parameter():
    from foedus.data.parameter_set import ParameterSet

    ps = ParameterSet.default()
    counts = basis_counts(ps)
    assert list(counts)[:4] == ["evidence", "calibrated", "anchored", "judgement"]
    assert sum(counts.values()) == len(ps.parameters)


def test_no_star_for_a_lead_smaller_than_the_resolution():
    """★ marked differences nobody can measure (v2: <0.1 % against <0.1 %,
    or $0 for packages that do not deter): a lead below the floor's
    resolution (about 1% a decade) is no lead."""
    from foedus.study.formatting import resolution
    from foedus.study.study import bottom_line

    r = resolution("attack_probability")

    def entry(pid, attack):
        return {"id": pid, "kyiv_position": "accepted", "guarantors": [], "ranges": {},
                "metrics": {"attack_probability": attack, "total_cost_usd_per_year": 1e9, "approval_probability": 0.5, "max_cost_pct_gdp": 0.001,
                            "aid_usd_per_year": 0.0, "guarantee_cost_usd_per_year": 1e9}}

    close = {"horizon_years": 10.0, "packages": [entry("a", 0.03), entry("b", 0.03 + 0.5 * r)]}
    far = {"horizon_years": 10.0, "packages": [entry("a", 0.03), entry("b", 0.03 + 2 * r)]}
    marks = lambda c: [row["values"]["attack_probability"]["best"] for row in bottom_line(c, {})]  # noqa: E731
    assert marks(close) == [False, False]
    assert marks(far) == [True, False]
