"""Regression pages: generic tables over whatever keys the cases hold."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kdbench.reports._regression import case_columns, verdict_class
from kdbench.reports._regression_history import history_figure, history_points
from kdbench.reports._regression_text import change_text, direction, figure_label, noise_text


def test_case_columns_put_the_usual_keys_first():
    cases = [
        {"extra": 1, "verdict": "ok", "case": "a", "now": 1.0, "values": [0.8, 0.81]},
        {"baseline": 2.0, "other": "x", "case": "b", "values": None},
    ]
    assert case_columns(cases) == (["case", "baseline", "now", "verdict", "extra", "other"], ["values"])


def test_verdicts():
    assert [verdict_class(v) for v in ("regression", "FAIL", "ok", "improved", "noise", None)] == [
        "bad",
        "bad",
        "good",
        "good",
        "neutral",
        "neutral",
    ]


def test_regression_pages(site: Path):
    index = (site / "regressions" / "index.html").read_text()
    assert "smoke" in index and "v0.1" in index and 'class="verdict bad"' in index
    page = (site / "regressions" / "1.html").read_text()
    for text in (
        "crossnet-outer",
        "student_test_auc",
        "0.8123",
        "-0.0022",
        "p_value",
        "bench/baselines/smoke.json",
    ):
        assert text in page
    assert page.count('<td class="verdict bad">regression</td>') == 1
    assert "<summary>values, baseline_values</summary>" in page and "0.8099" in page  # nested: in details
    assert "<th>values</th>" not in page


def test_changes_read_with_their_direction_and_noise():
    speed = {"kind": "speed", "higher_is_better": True, "change": 0.2121, "threshold": 0.3}
    assert (change_text(speed), direction(speed), noise_text(speed)) == ("+21.2 %", "better", "±30.0 %")
    latency = {"kind": "speed", "higher_is_better": False, "change": 0.131}
    assert (change_text(latency), direction(latency), noise_text(latency)) == ("+13.1 %", "worse", "—")
    auc = {"kind": "quality", "higher_is_better": True, "change": -0.0022, "threshold": 0.001}
    assert (change_text(auc), direction(auc), noise_text(auc)) == ("-0.0022", "worse", "±0.0010")
    # too small to show: no sign and no direction ("-0.0000 (worse)" would read as a loss)
    tiny = {"kind": "quality", "higher_is_better": True, "change": -3e-7}
    assert (change_text(tiny), direction(tiny)) == ("0.0000", "")
    assert change_text({"kind": "quality", "change": None}) == "—"
    assert figure_label("student_test_logloss") == "student test log loss"


def test_history_points_follow_each_runs_baseline_and_band():
    runs = pd.DataFrame(
        {
            "run_id": [1, 2],
            "suite": ["smoke", "smoke"],
            "tag": ["v1", None],
            "created_at": pd.to_datetime(["2026-11-02", "2026-11-01"], utc=True),
            "git_sha": ["a" * 40, "b" * 40],
            "git_dirty": [False, True],
        }
    )
    row = {"case": "c", "figure": "train_throughput", "kind": "speed", "unit": "ratio", "threshold": 0.3}
    cases = pd.DataFrame(
        {
            "run_id": [1, 2],
            "case": [
                {**row, "now": 900.0, "baseline": 1300.0, "values": [850.0, 950.0], "verdict": "regressed"},
                {**row, "now": 1200.0, "baseline": 1000.0, "values": [1100.0, 1300.0], "verdict": "same"},
            ],
        }
    )
    points = history_points(runs, cases)
    assert list(points["run_id"]) == [2, 1]  # by date, not by id
    first, second = points.iloc[0], points.iloc[1]
    assert (first.low, first.high) == (1100.0, 1300.0)
    assert first.band_low == pytest.approx(1000 / 1.3) and first.band_high == pytest.approx(1300.0)
    assert second.band_high == pytest.approx(1690.0) and second.baseline == 1300.0
    fig = history_figure(points, "c: train throughput")
    names = [t.name for t in fig.data]
    assert "regressed" in names and "improved" not in names
    (marked,) = [t for t in fig.data if t.name == "regressed"]
    assert list(marked.y) == [900.0]
