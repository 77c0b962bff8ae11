"""Comparisons: sweeps or code versions on one dataset."""

from __future__ import annotations

import pytest

from kdbench.bench.store import ResultStore
from kdbench.reports._compare import compare_data, comparisons, distribution_figure
from tests.reports import _factories as fx


def test_comparisons_found_per_dataset(store: ResultStore):
    found = {(c.dataset_fingerprint, c.by): c for c in comparisons(store.trials())}
    assert set(found) == {(fx.DATASET, "sweep"), (fx.DATASET, "git_sha")}
    assert found[(fx.DATASET, "sweep")].groups == [
        fx.MAIN,
        fx.SECOND,
        fx.SINGLE,
    ]  # sweeps with completed trials
    assert set(found[(fx.DATASET, "git_sha")].groups) == {fx.f.environment()["git_sha"], fx.OTHER_SHA}


def test_summary_and_differences_against_the_first(store: ResultStore):
    trials = store.trials()
    by_sweep = next(c for c in comparisons(trials) if c.by == "sweep")
    data = compare_data(trials, by_sweep)
    summary = data.summary.set_index("group")
    assert summary.loc[fx.SECOND, "n_trials"] == 3 and summary.loc[fx.SECOND, "n_completed"] == 3
    assert summary.loc[fx.SECOND, "best_test"] == pytest.approx(0.806)
    assert summary.loc[fx.MAIN, "delta_best"] == 0
    assert summary.loc[fx.SECOND, "delta_best"] == pytest.approx(0.806 - summary.loc[fx.MAIN, "best_test"])
    assert summary.loc[fx.MAIN, "n_failed"] == 1
    assert sorted(data.finals["group"].unique()) == sorted([fx.MAIN, fx.SECOND, fx.SINGLE])
    fig = distribution_figure(data.finals, list(data.histories))
    assert fig.layout.yaxis.title.text == "student test AUC" and len(fig.data) == 3


def test_code_versions_are_labelled_by_short_sha(store: ResultStore):
    trials = store.trials()
    by_code = next(c for c in comparisons(trials) if c.by == "git_sha")
    labels = set(compare_data(trials, by_code).summary["group"])
    assert labels == {fx.f.environment()["git_sha"][:8], fx.OTHER_SHA[:8]}
