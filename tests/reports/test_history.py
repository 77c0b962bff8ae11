"""Objectives and best-so-far histories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from kdbench.reports._history import history_data, history_figure
from kdbench.reports._objective import DEFAULT_OBJECTIVE, Objective, best_so_far, metric_label, objective_of

COLUMNS = ["student_valid_auc", "student_test_logloss"]


def test_objective_from_the_stored_objectives():
    assert objective_of([{"metric": "student_test_logloss", "direction": "minimize"}], COLUMNS) == Objective(
        "student_test_logloss", False
    )
    assert objective_of([{"name": "student_valid_auc", "mode": "max"}], COLUMNS) == Objective(
        "student_valid_auc", True
    )
    for unusable in (None, [], [{"metric": "no_such_column"}], "text"):
        assert objective_of(unusable, COLUMNS) == DEFAULT_OBJECTIVE
    assert metric_label("student_valid_auc") == "student validation AUC"


def test_best_so_far_skips_missing_values_in_both_directions():
    values = pd.Series([0.5, np.nan, 0.4, 0.7, 0.6])
    assert best_so_far(values, True).tolist() == [0.5, 0.5, 0.5, 0.7, 0.7]
    assert best_so_far(values, False).tolist() == [0.5, 0.5, 0.4, 0.4, 0.4]
    assert np.isnan(best_so_far(pd.Series([np.nan, 1.0]), True)[0])


def _trials() -> pd.DataFrame:
    start = pd.Timestamp("2025-01-01", tz="UTC")
    return pd.DataFrame(
        {
            "trial_id": [1, 2, 3, 4],
            "number": [3, 0, 1, 2],
            "status": ["completed", "completed", "failed", "stopped"],
            "student_valid_auc": [0.81, 0.80, 0.99, 0.805],
            "started_at": [start + pd.Timedelta(seconds=s) for s in (30, 0, 10, 20)],
            "finished_at": [start + pd.Timedelta(seconds=s) for s in (60, 15, 20, 40)],
        }
    )


def test_history_orders_by_number_and_ignores_failed_trials():
    h = history_data(_trials(), DEFAULT_OBJECTIVE)
    assert h["number"].tolist() == [0, 2, 3]  # the failed trial's value never counts
    assert h["best"].tolist() == [0.80, 0.805, 0.81]
    assert h["elapsed_s"].tolist() == [15.0, 40.0, 60.0]


def test_history_figures_have_titles_and_axis_labels():
    h = history_data(_trials(), DEFAULT_OBJECTIVE)
    for by, unit in (("number", "trial number"), ("elapsed_s", "(s)")):
        fig = history_figure({"s": h}, DEFAULT_OBJECTIVE, by=by)
        assert fig.layout.title.text.startswith("Best student validation AUC so far")
        assert unit in fig.layout.xaxis.title.text and fig.layout.yaxis.title.text == "student validation AUC"
    overlay = history_figure({"a": h, "<b>": h}, DEFAULT_OBJECTIVE)
    assert [t.name for t in overlay.data] == ["best so far: a", "best so far: &lt;b&gt;"]
    assert isinstance(history_figure({"a": h.iloc[:0]}, DEFAULT_OBJECTIVE), go.Figure)
