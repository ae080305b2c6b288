"""Shared builders for the model tests: packages from plain dicts, inputs
from parameter values, evaluation of a list of packages, and hypothesis
strategies that draw parameter values from their uncertainty ranges and
commitments from the lever vocabulary.

Nothing here computes a model quantity: the tests state the equations
themselves.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from foedus.data.loaders import load_countries, load_packages
from foedus.data.parameter_set import ParameterSet
from foedus.domain.package import Package, Terms
from foedus.domain.vocabulary import GROUPS, Approval, Enabler, Kind, KyivPosition, LegalForm, Posture, RulesOfEngagement, Trigger
from foedus.exploration.assess import central_weights, evaluate
from foedus.models.inputs import Inputs
from foedus.models.levers import Levers, compile_packages

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))

COUNTRIES = load_countries()
#: Countries that may guarantee (Ukraine and Russia are context only).
GUARANTORS = [k for k in COUNTRIES.countries if k not in ("UKR", "RUS")]
NUCLEAR = [k for k in GUARANTORS if COUNTRIES[k].is_nuclear]
IN_UKRAINE = ("western_ukraine", "behind_dnipro", "contact_line")
OUTSIDE_UKRAINE = ("neighbouring_territory", "offshore")
FORMS = [f.value for f in LegalForm]  # most to least binding
TRIGGERS = [t.value for t in Trigger]  # most to least automatic
PROBABILITY_METRICS = (
    "attack_probability",
    "annual_attack_probability",
    "defence_holds_probability",
    "approval_probability",
    "ratification_probability",
    "kyiv_acceptance",
    "in_force_share",
    "escalation_risk",
    "incident_probability",
    "adversary_acceptance",
    "humanitarian_coverage",
    "air_defence_coverage",
)

_SOURCE = {"publisher": "foedus tests", "title": "a package built by a test", "year": 2025}


def parameter_set() -> ParameterSet:
    return ParameterSet.default()


def central() -> dict[str, float]:
    """The shipped central values (a fresh dict: callers may modify it)."""
    return dict(parameter_set().values())


def values(overrides: dict[str, float] | None = None) -> dict[str, float]:
    """Central values with ``overrides`` (``{"will.GBR": 0.5, ...}``)."""
    out = central()
    out.update({k: float(v) for k, v in (overrides or {}).items()})
    return out


def commitment(guarantor: str, kind: str, legal_form: str = "executive_agreement", trigger: str = "after_consultation", **kw) -> dict:
    return {"guarantor": guarantor, "kind": kind, "legal_form": legal_form, "trigger": trigger, **kw}


def package(commitments: list[dict], id: str = "test", kyiv: str = "accepted", terms: dict | None = None) -> Package:
    """A validated package from commitment dicts (and ceasefire terms)."""
    return Package.model_validate(
        {
            "id": id,
            "title": f"test package {id}",
            "rationale": "A package assembled by a test to exercise one equation of the models.",
            "kyiv_position": kyiv,
            "sources": [_SOURCE],
            "terms": terms or {},
            "commitments": commitments,
        },
        context={"countries": COUNTRIES.countries},
    )


def alone(id: str = "alone") -> Package:
    """Ukraine alone: a package with no commitments (built without validation,
    as ``Package.without`` and the calibration set-ups build it)."""
    from foedus.domain.vocabulary import KyivPosition

    return Package.model_construct(id=id, title=id, rationale="Ukraine alone, no guarantees and no terms.",
                                   kyiv_position=KyivPosition.ACCEPTED, sources=[], terms=Terms(), commitments=[])


def packages(*commitment_lists: list[dict], kyiv: str = "accepted") -> list[Package]:
    return [package(c, id=f"p{i}", kyiv=kyiv) for i, c in enumerate(commitment_lists)]


def scenarios() -> list[Package]:
    return load_packages(SCENARIOS, COUNTRIES)


def compile_(pkgs: list[Package]) -> Levers:
    return compile_packages(pkgs, COUNTRIES)


def run(pkgs_or_levers, vals: dict | None = None, n: int = 1, *, horizon: float | None = None, detail: bool = False, weights=None,
        internals: bool = False):
    """Evaluate packages (or compiled levers) at ``vals`` (central values by
    default); arrays in ``vals`` of length ``n`` are futures. Approval weights
    come from the one-future central case of the same values when ``n > 1``.
    Returns ``(levers, evaluation)``."""
    lv = pkgs_or_levers if isinstance(pkgs_or_levers, Levers) else compile_(pkgs_or_levers)
    vals = central() if vals is None else vals
    h = float(vals["assessment.horizon_years"] if horizon is None else horizon)
    x = Inputs(vals, n)
    if weights is None and n != 1:
        weights = central_weights(lv, Inputs({k: np.asarray(v).reshape(-1)[0] for k, v in vals.items()}, 1))
    return lv, evaluate(lv, x, h, weights=weights, detail=detail, internals=internals)


def row_of(lv: Levers, package_index: int, iso3: str) -> int:
    """Index of the guarantor row of ``iso3`` in package ``package_index``."""
    g = lv.guarantors.index(iso3)
    hit = np.nonzero((lv.q_package == package_index) & (lv.q_guarantor == g))[0]
    assert hit.size == 1, f"{iso3} has {hit.size} rows in package {package_index}"
    return int(hit[0])


def element_of(lv: Levers, package_index: int, iso3: str, legal_form: str, trigger: str, collective: bool = False) -> int:
    """Index of the element of ``iso3`` in one legal form and trigger."""
    from foedus.models.levers import FORMS, TRIGGERS

    g = lv.guarantors.index(iso3)
    hit = np.nonzero(
        (lv.el_package == package_index) & (lv.el_guarantor == g) & (lv.form == FORMS.index(legal_form))
        & (lv.trigger == TRIGGERS.index(trigger)) & (lv.collective == collective)
    )[0]
    assert hit.size == 1, f"{iso3} has {hit.size} elements ({legal_form}, {trigger}) in package {package_index}"
    return int(hit[0])


def sample_values(ps: ParameterSet, n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` futures drawn independently from each uncertain parameter's
    range (uniform or log-uniform; triangular is drawn uniform), laid over
    the central values."""
    rng = np.random.default_rng(seed)
    out: dict[str, object] = dict(ps.values())
    for name, r in ps.uncertain().items():
        u = rng.random(n)
        if r.distribution == "loguniform":
            out[name] = np.exp(math.log(r.low) + u * (math.log(r.high) - math.log(r.low)))
        else:
            out[name] = r.low + u * (r.high - r.low)
    return out


# ----------------------------------------------------------------- strategies


@st.composite
def parameter_values(draw) -> dict[str, float]:
    """One future: every uncertain parameter drawn from its range, the
    others at their central values."""
    ps = parameter_set()
    out = dict(ps.values())
    for name, r in ps.uncertain().items():
        if r.distribution == "loguniform":
            v = math.exp(draw(st.floats(math.log(r.low), math.log(r.high))))
            v = min(max(v, r.low), r.high)
        else:
            v = draw(st.floats(r.low, r.high))
        out[name] = v
    return out


troops = st.integers(1, 60_000)
usd = st.floats(1e7, 3e10)

_SIZED = {
    "deployed_ground_force": ("troops",),
    "training": ("troops",),
    "air_power": ("aircraft",),
    "air_defence": ("troops", "aircraft"),
    "ceasefire_monitoring": ("troops",),
    "naval_presence": ("ships",),
}
_MONEY = ("military_aid", "humanitarian_aid", "reconstruction_aid")


@st.composite
def commitments(draw, guarantor=None, kind=None, allow_groups: bool = True) -> dict:
    """A valid commitment dict with levers drawn from the vocabulary."""
    kind = kind or draw(st.sampled_from([k.value for k in Kind]))
    if guarantor is None:
        if kind == "nuclear_umbrella":
            guarantor = draw(st.sampled_from(NUCLEAR))
        elif kind == "enabler_build":  # a country builds its own enablers
            guarantor = draw(st.sampled_from(GUARANTORS))
        else:
            pool = GUARANTORS + (list(GROUPS) if allow_groups else [])
            guarantor = draw(st.sampled_from(pool))
    c = commitment(
        guarantor,
        kind,
        draw(st.sampled_from(FORMS)),
        draw(st.sampled_from(TRIGGERS)),
    )
    if kind in _SIZED:
        c["posture"] = draw(st.sampled_from([p.value for p in Posture]))
        c["rules_of_engagement"] = draw(st.sampled_from([r.value for r in RulesOfEngagement]))
        if "troops" in _SIZED[kind]:
            c["troops"] = draw(troops if kind not in ("air_defence", "ceasefire_monitoring") else st.integers(0, 5_000))
        if "aircraft" in _SIZED[kind]:
            c["aircraft"] = draw(st.integers(1, 120) if kind == "air_power" else st.integers(0, 20))
        if "ships" in _SIZED[kind]:
            c["ships"] = draw(st.integers(0, 12))
    if kind in _MONEY:
        c["usd_per_year"] = draw(usd)
    if kind == "enabler_build":
        c["enabler"] = draw(st.sampled_from([e.value for e in Enabler]))
        c["units"] = draw(st.integers(1, 40))
    return c


@st.composite
def package_commitments(draw, min_size: int = 1, max_size: int = 5, allow_groups: bool = True) -> list[dict]:
    return draw(st.lists(commitments(allow_groups=allow_groups), min_size=min_size, max_size=max_size))


kyiv_positions = st.sampled_from([k.value for k in KyivPosition])
approvals = st.sampled_from([a.value for a in Approval])


# -- the credibility model as the assessment computes it (class tables) --------
def credibility(lv: Levers, x: Inputs) -> np.ndarray:
    """``(E, n)`` credibility of every element (foedus.models.sums)."""
    from foedus.models.sums import CRED, Probabilities

    return Probabilities(lv, x, 1.0).rows(kind=CRED)


def delivery(lv: Levers, x: Inputs, horizon: float) -> np.ndarray:
    """``(E, n)`` peacetime delivery of every element."""
    from foedus.models.sums import DELIVERY, Probabilities

    return Probabilities(lv, x, horizon).rows(kind=DELIVERY)


def guarantor_fights(lv: Levers, x: Inputs) -> np.ndarray:
    """``(Q, n)`` probability that each guarantor row fights."""
    from foedus.models.sums import Probabilities

    return Probabilities(lv, x, 1.0).row_fights()
