"""The metric catalogue is the one list: what the model returns, what a run
stores, what the interfaces show and how they label and rank it."""

from __future__ import annotations

from model_helpers import run, scenarios

from foedus.domain import metrics as M


def test_the_model_returns_exactly_the_catalogued_metrics():
    lv, ev = run(scenarios(), detail=True)
    assert set(ev.packages) == set(M.PACKAGE_METRICS)
    assert set(ev.rows) == set(M.GUARANTOR_METRICS)
    assert set(ev.elements) == set(M.ELEMENT_METRICS)


def test_every_list_of_metrics_comes_from_the_catalogue():
    assert set(M._keys(M.PACKAGE, stored=True)) == set(M.STORED_METRICS) and len(M.STORED_METRICS) == len(set(M.STORED_METRICS))
    assert M.CONTRACT_METRICS == M.STORED_METRICS[: len(M.CONTRACT_METRICS)]
    for name in ("SUMMARY_METRICS", "TABLE_METRICS", "CHART_METRICS", "BOTTOM_LINE", "STORED_METRICS", "CONTRACT_METRICS"):
        assert set(getattr(M, name)) <= set(M.PACKAGE_METRICS), name
    assert M.LOWER_IS_BETTER.isdisjoint(M.HIGHER_IS_BETTER)
    for m in M.CATALOGUE:
        assert m.label and m.description.endswith(".") and m.kind in {"prob", "usd", "pct_gdp", "pct_gdp_signed", "persons", "count", "ratio"}, m.key
        assert m.direction in (-1, 0, 1) and m.level in (M.PACKAGE, M.GUARANTOR, M.ELEMENT, M.YEAR), m.key
    for level in (M.PACKAGE, M.GUARANTOR, M.ELEMENT):
        labels = [m.label for m in M.CATALOGUE if m.level == level]
        assert len(labels) == len(set(labels)), level


def test_a_metric_is_found_by_key_or_by_the_label_people_see():
    assert M.find("attack_probability") == "attack_probability"
    assert M.find("  Attack within HORIZON ") == "attack_probability"
    assert M.find("Kyiv accepts", M.PACKAGE_METRICS) == "kyiv_acceptance"
    assert M.find("Kyiv accepts") is None  # not stored by explorations
    assert M.find("attack") is None


def test_every_yearly_metric_is_in_the_catalogue():
    """The time axis's metrics (compare --by-year) have catalogue entries:
    a label and a kind for every interface."""
    from foedus.exploration.years import BY_YEAR_METRICS, GUARANTOR_BY_YEAR, PACKAGE_YEAR_METRICS, ROW_YEAR_METRICS

    for k in (*BY_YEAR_METRICS, *PACKAGE_YEAR_METRICS):
        assert M.metric(k, M.YEAR).label, k
    for k in (*GUARANTOR_BY_YEAR, *ROW_YEAR_METRICS):
        assert M.metric(k, M.GUARANTOR).label, k
