"""Calibration: the shipped parameters reproduce every fit target within its
band over the default futures; the checks are computed and reported; the
fit is reproducible from the files; every calibrated parameter is fitted to
named targets; a broken calibration file gets a clear error."""

from __future__ import annotations

import json
import math

import pytest

from conftest import ROOT, run_foedus

from foedus.data.loaders import calibration_path, load_calibration, load_parameters
from foedus.domain.errors import InputError
from foedus.domain.vocabulary import Basis
from foedus.exploration.calibration import Calibration


@pytest.fixture(scope="module")
def cal():
    return Calibration()


@pytest.fixture(scope="module")
def results(cal):
    return {r.id: r for r in cal.results()}


def test_every_fit_target_is_inside_its_band(results):
    fit = [r for r in results.values() if r.role == "fit"]
    assert len(fit) >= 5
    outside = {r.id: (r.model, r.band) for r in fit if not r.passes}
    assert not outside, outside


def test_the_checks_are_computed_and_graded(results):
    checks = [r for r in results.values() if r.role == "check"]
    assert len(checks) >= 8
    for r in checks:
        assert math.isfinite(r.model), r.id
        assert r.passes == (r.band[0] <= r.model <= r.band[1])
        assert r.band[0] > 0, f"{r.id}: a check with a two-sided band"


def test_no_check_measures_what_a_fit_measures(cal):
    """A check that reuses a fit target's set-up, metric and statistic
    cannot fail independently of the fit."""
    fits = {t.key for t in cal.data.targets.values() if t.role == "fit"}
    checks = {tid: t.key for tid, t in cal.data.targets.items() if t.role == "check"}
    assert not {tid for tid, k in checks.items() if k in fits}


def test_identities_are_shown_apart_from_the_checks(results):
    identities = [r for r in results.values() if r.role == "identity"]
    assert {r.id for r in identities} >= {"fulfilment-rate", "fuhrmann-sechser-umbrella", "budapest-assurances"}
    assert all(r.passes for r in identities)


def test_every_calibrated_parameter_was_moved_by_the_fit():
    """Calibrated only if the fitted value moved off the recorded start and
    off the edges of the fit's bounds."""
    from foedus.exploration.calibration import moved_off

    for name, p in load_parameters().items():
        if p.basis is Basis.CALIBRATED:
            assert moved_off(p.value, p.calibration.start, p.calibration.bounds) is None, name


@pytest.mark.parametrize(
    "value, start, bounds, why",
    [(0.5, 0.5, (0.05, 1.0), "stays at its start"), (0.999, 0.5, (0.05, 1.0), "sits on an edge"), (0.0505, 0.3, (0.05, 1.0), "sits on an edge"), (0.7, 0.5, (0.05, 1.0), None)],
)
def test_moved_off_by_hand(value, start, bounds, why):
    from foedus.exploration.calibration import moved_off

    got = moved_off(value, start, bounds)
    assert (got is None) if why is None else (why in got)


def test_every_calibrated_parameter_names_the_targets_it_is_fitted_to(cal):
    params = load_parameters()
    fitted = cal.data.fitted_parameters()
    calibrated = {n for n, p in params.items() if p.basis is Basis.CALIBRATED}
    assert calibrated == set(fitted)
    for name in calibrated:
        p = params[name]
        assert sorted(p.calibration.targets) == sorted(fitted[name]), name
        assert set(p.calibration.residuals) == set(fitted[name]), name
        assert all(abs(v) <= 1.0 for v in p.calibration.residuals.values()), name
        assert p.uncertainty is not None, f"{name}: a calibrated parameter carries the range of its fit"


def test_the_residuals_in_the_files_are_the_residuals_of_the_shipped_values(cal, results):
    params = load_parameters()
    for name, targets in cal.data.fitted_parameters().items():
        for t in targets:
            assert params[name].calibration.residuals[t] == pytest.approx(results[t].residual, abs=0.02), (name, t)


@pytest.mark.slow
def test_refitting_reproduces_the_shipped_values():
    fresh = Calibration()
    fit = fresh.fit()
    params = load_parameters()
    for name, value in fit.centres.items():
        shipped = params[name].value
        assert value == pytest.approx(shipped, rel=0.03, abs=1e-3), name
    assert all(abs(r) <= 1.0 for r in fit.residuals.values())


def _write(tmp_path, text: str):
    p = tmp_path / "calibration.yaml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    "old, new, field, fragment",
    [
        ("setup: pact-gbr, over: ceasefire-alone}", "setup: no-such-setup, over: ceasefire-alone}", "(document)", "set-up 'no-such-setup' is not one of setups"),
        ("    value: 0.45\n", "    value: 0.95\n", "targets.fortna-base-rate", "a value inside its band [0.35, 0.6], got 0.95"),
        ("    fits: [forces.rotation_ratio]\n", "", "targets.gady-rotation", "a fit target names the parameters it fits"),
        ("    sources: [csis-2026]\n", "    sources: [no-such-source]\n", "(document)", "'no-such-source' is not a key of sources"),
        ("setup: pact-deu, over: ceasefire-alone}", "setup: pact-usa, over: ceasefire-alone}", "(document)", "it measures exactly what the fit target 'us-single-pact' measures"),
        ("    band: [0.85, 0.995]\n", "    band: [0.0, 0.995]\n", "targets.reiter-poast-tripwire", "a check with a two-sided band (low > 0)"),
        ("  fulfilment-rate:\n    role: identity\n", "  fulfilment-rate:\n    role: check\n", "(document)", "identities.fulfilment-rate: role identity, got check"),
        ("  futures: 2048\n", "  futures: 10\n", "sample.futures", "greater than or equal to 64"),
    ],
)
def test_a_broken_calibration_file_gets_a_clear_error(tmp_path, old, new, field, fragment):
    text = calibration_path().read_text(encoding="utf-8")
    assert old in text
    path = _write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(InputError) as ei:
        load_calibration(path)
    msg = str(ei.value)
    assert msg.startswith(str(path)), msg
    assert fragment in msg, msg
    assert any(p.field.startswith(field) or field == "(document)" for p in ei.value.problems), msg


def test_a_fit_naming_an_unknown_parameter_is_refused(tmp_path):
    text = calibration_path().read_text(encoding="utf-8").replace("fits: [forces.rotation_ratio]", "fits: [forces.rotation_ration]", 1)
    with pytest.raises(InputError) as ei:
        Calibration(data=load_calibration(_write(tmp_path, text)))
    assert "targets.gady-rotation.fits: a known parameter name; 'forces.rotation_ration' is not one" in str(ei.value)


def test_cli_calibrate_prints_both_tables_and_json(results):
    r = run_foedus("calibrate", cwd=ROOT)
    assert r.returncode == 0, r.stderr
    n_fit = sum(t.role == "fit" for t in results.values())
    assert f"fit targets in band: {n_fit}/{n_fit}" in r.stdout
    assert "Checks (kept out of the fit)" in r.stdout
    j = run_foedus("calibrate", "--json", cwd=ROOT)
    assert j.returncode == 0, j.stderr
    doc = json.loads(j.stdout)
    assert {t["id"] for t in doc["targets"]} == {k for k, r in results.items() if r.role != "identity"}
    assert {t["id"] for t in doc["identities"]} == {k for k, r in results.items() if r.role == "identity"}
    assert "Identities (hold by construction" in r.stdout
    for t in doc["targets"] + doc["identities"]:
        assert t["foedus"] == pytest.approx(results[t["id"]].model, rel=1e-12)
        assert t["pass"] == results[t["id"]].passes
    assert doc["not_used"]


def test_writing_a_fit_adds_a_dated_value_and_keeps_the_earlier_ones(tmp_path):
    """Later updates add a date rather than overwrite one (as OpenFisca's
    parameters do); comments survive the round trip."""
    import datetime as dt
    import shutil

    from foedus.data.loaders import load_parameters, parameter_files
    from foedus.exploration.calibration import FitResult, write_fit

    for f in parameter_files():
        shutil.copy(f, tmp_path / f.name)
    before = load_parameters(tmp_path)["deterrence.base_hazard"]
    day = before.date + dt.timedelta(days=1)
    fit = FitResult(centres={"deterrence.base_hazard": before.value * 1.1}, ranges={}, residuals={t: 0.5 for t in before.calibration.targets},
                    targets_of={"deterrence.base_hazard": list(before.calibration.targets)}, as_of=day)
    written = write_fit(fit, tmp_path)
    assert [p.endswith("deterrence.yaml") for p in written] == [True]
    after = load_parameters(tmp_path)["deterrence.base_hazard"]
    assert after.values[before.date] == before.value
    assert after.date == day and after.value == pytest.approx(before.value * 1.1, rel=1e-3)
    assert after.calibration.fitted == day and set(after.calibration.residuals.values()) == {0.5}
    assert (tmp_path / "deterrence.yaml").read_text().startswith((parameter_files()[0].parent / "deterrence.yaml").read_text().split("\n")[0])
