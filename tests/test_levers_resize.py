"""Levers resized after a slider moved sizes only (levers.compile_packages
with ``like``) are the levers compiled afresh, bit for bit; any other
change (a size to or from zero, a legal form, the order of the packages,
another country table) compiles afresh."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foedus.data.loaders import load_countries
from foedus.domain.package import SIZE_FIELDS, size_scaled
from foedus.domain.vocabulary import Approval, LegalForm
from foedus.models import levers as levers_module
from foedus.models.levers import Levers, compile_packages

from model_helpers import COUNTRIES, SCENARIOS, load_packages

SEEDS = load_packages(SCENARIOS, COUNTRIES)


def _variants(pkgs: list) -> list:
    """The packages and, as a comparison builds them, each without some of
    its guarantors (commitments shared between variants, group commitments
    scaled down)."""
    return pkgs + [p.without(iso, COUNTRIES, part) for p in pkgs for iso in p.guarantors()[:3] for part in ("all", "aid")]


def _scaled(pkgs: list, factors: dict[tuple[int, int], float]) -> list:
    """``pkgs`` with the sizes of commitment ``(package, index)`` times its factor."""
    out = []
    for i, p in enumerate(pkgs):
        cs = [c.model_copy(update={f: size_scaled(getattr(c, f), factors[(i, j)]) for f in SIZE_FIELDS}) if (i, j) in factors else c
              for j, c in enumerate(p.commitments)]
        out.append(p.model_copy(update={"commitments": cs}))
    return out


def _assert_same_levers(got: Levers, want: Levers) -> None:
    for f in dataclasses.fields(Levers):
        if f.name == "_memo":
            continue
        a, b = getattr(got, f.name), getattr(want, f.name)
        if isinstance(b, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), f.name
        else:
            assert a == b, f.name


@pytest.fixture
def merges(monkeypatch) -> list:
    """Calls of the full merge (made by a compilation afresh, not by a resize)."""
    calls = []
    merge = levers_module._Walk.merge

    def counted(self, *args):
        calls.append(1)
        return merge(self, *args)

    monkeypatch.setattr(levers_module._Walk, "merge", counted)
    return calls


# every commitment of the seeds, (package, index)
_COMMITMENTS = [(i, j) for i, p in enumerate(SEEDS) for j in range(len(p.commitments))]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(_COMMITMENTS), st.floats(0.05, 20.0), min_size=1, max_size=12))
def test_levers_resized_after_a_size_move_are_the_levers_compiled_afresh(merges, factors) -> None:
    before = _variants(SEEDS)
    after = _variants(_scaled(SEEDS, factors))
    like = compile_packages(before, COUNTRIES)
    merges.clear()
    resized = compile_packages(after, COUNTRIES, like=like)
    assert not merges, "sizes only: the levers were resized, not compiled afresh"
    fresh = compile_packages(after, COUNTRIES)
    _assert_same_levers(resized, fresh)
    again = compile_packages(before, COUNTRIES, like=resized)  # and back (a resized levers' shape is kept)
    _assert_same_levers(again, like)


def _first(pred) -> tuple[int, int]:
    return next((i, j) for i, p in enumerate(SEEDS) for j, c in enumerate(p.commitments) if pred(c))


def _edited(pkgs: list, at: tuple[int, int], **update) -> list:
    i, j = at
    out = list(pkgs)
    cs = list(out[i].commitments)
    cs[j] = cs[j].model_copy(update=update)
    out[i] = out[i].model_copy(update={"commitments": cs})
    return out


@pytest.mark.parametrize("change", ["troops to zero", "legal form", "a member excepted", "an approval listed", "packages reordered",
                                    "another country table", "a package's terms"])
def test_any_other_change_compiles_afresh(merges, change) -> None:
    like = compile_packages(_variants(SEEDS), COUNTRIES)
    countries = COUNTRIES
    if change == "troops to zero":
        pkgs = _edited(SEEDS, _first(lambda c: not isinstance(c.troops, dict) and c.troops > 0), troops=0)
    elif change == "legal form":
        pkgs = _edited(SEEDS, _first(lambda c: c.legal_form is LegalForm.RATIFIED_TREATY), legal_form=LegalForm.EXECUTIVE_AGREEMENT)
    elif change == "a member excepted":
        at = _first(lambda c: c.guarantor in ("EU", "NATO", "COALITION") and not c.except_)
        members = COUNTRIES.members(SEEDS[at[0]].commitments[at[1]].guarantor)
        pkgs = _edited(SEEDS, at, except_=[members[-1]])
    elif change == "an approval listed":
        at = _first(lambda c: Approval.NATIONAL_PARLIAMENT not in c.approvals and c.guarantor not in ("EU", "NATO", "COALITION"))
        pkgs = _edited(SEEDS, at, approvals=[*SEEDS[at[0]].commitments[at[1]].approvals, Approval.NATIONAL_PARLIAMENT])
    elif change == "packages reordered":
        pkgs = SEEDS[1:] + SEEDS[:1]
    elif change == "another country table":
        pkgs, countries = SEEDS, load_countries.__wrapped__()  # the same facts, another table (load_countries is cached)
    else:
        i = next(i for i, p in enumerate(SEEDS) if p.terms.empty)
        pkgs = list(SEEDS)
        pkgs[i] = pkgs[i].model_copy(update={"terms": pkgs[i].terms.model_copy(update={"buffer_zone": True})})
    merges.clear()
    got = compile_packages(_variants(pkgs), countries, like=like)
    assert merges, f"{change}: compiled afresh"
    _assert_same_levers(got, compile_packages(_variants(pkgs), countries))
