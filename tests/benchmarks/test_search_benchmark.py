"""The search benchmark's curves and signal table (``benchmarks.search``) on store-shaped frames."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from kdbench.bench.benchmarks.search import anytime_curve, first_reach, report, rung_signals, value_at

T0 = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def _trials() -> pd.DataFrame:
    """Five trials finishing at 30, 50, 70, 90 and 110 s; trial 2 is stopped, trial 3 has the best valid AUC
    but not the best test AUC (the pick is by validation)."""
    return pd.DataFrame({
        "trial_id": [11, 12, 13, 14, 15], "number": [0, 1, 2, 3, 4],
        "status": ["completed", "completed", "stopped", "completed", "completed"],
        "student_valid_auc": [0.8640, 0.8630, 0.8700, 0.8690, 0.8680],
        "student_test_auc": [0.8643, 0.8720, math.nan, 0.8713, 0.8730],
        "teacher_valid_auc": [0.862, 0.858, 0.862, 0.858, 0.862],
        "finished_at": pd.to_datetime([T0 + dt.timedelta(seconds=s) for s in (30, 50, 70, 90, 110)]),
    })  # fmt: skip


def test_the_curve_follows_the_pick_by_validation_not_by_test() -> None:
    curve = anytime_curve(_trials(), T0)
    assert list(curve["number"]) == [0, 3]  # trial 1 never leads on validation; trial 2 was stopped
    assert list(curve["seconds"]) == [30.0, 90.0]
    assert math.isnan(value_at(curve, 29.0))
    assert value_at(curve, 60.0) == pytest.approx(0.8643) and value_at(curve, 150.0) == pytest.approx(0.8713)
    assert first_reach(curve, 0.8643) == 30.0 and first_reach(curve, 0.8663) == 90.0
    assert first_reach(curve, 0.8730) is None


def test_the_report_compares_every_method_with_the_default() -> None:
    default = anytime_curve(_trials().iloc[:1], T0)
    search = anytime_curve(_trials(), T0)
    runs = [
        {"method": "default", "seed": 1, "completed": 1, "curve": default.to_dict(orient="list")},
        {"method": "tpe", "seed": 1, "completed": 4, "curve": search.to_dict(orient="list")},
        {"method": "tpe", "seed": 2, "completed": 4, "curve": default.to_dict(orient="list")},
    ]
    table, reference = report(runs, 120.0)
    assert reference == pytest.approx(0.8643)
    tpe = next(line for line in table.splitlines() if line.startswith("| tpe |"))
    # at 100 %: the seeds end at 0.8713 and 0.8643; both reach the default, one the default + 0.002 (at 90 s)
    assert "0.8678 [0.8643, 0.8713]" in tpe and "30 s (2/2)" in tpe and "90 s (1/2)" in tpe


def test_signals_are_rank_correlated_with_the_final_valid_auc() -> None:
    trials = _trials()
    rows = []
    for trial_id, final in zip(trials["trial_id"], trials["student_valid_auc"], strict=True):
        for epoch in (1, 2, 3):
            # epoch 1 ranks trials as their end does, epoch 2 backwards, epoch 3 is flat noise
            auc = {1: final - 0.01, 2: 1.7 - final, 3: 0.85}[epoch]
            rows.append({"trial_id": trial_id, "phase": "distillation", "epoch": epoch,
                         "student_epoch": epoch, "valid_auc": auc, "train_loss": 1.0 - auc})  # fmt: skip
    table = rung_signals(trials, pd.DataFrame(rows)).set_index("signal")
    assert table.loc["student valid AUC, distillation epoch 1", "rho"] == pytest.approx(1.0)
    assert table.loc["student valid AUC, distillation epoch 2", "rho"] == pytest.approx(-1.0)
    assert table.loc["student valid AUC, distillation epoch 1", "trials"] == 4  # completed trials only
    assert math.isnan(table.loc["student valid AUC, distillation epoch 3", "rho"])  # no ranking in a constant
    assert table.loc["distillation loss, epoch 1 (lower first)", "rho"] == pytest.approx(1.0)
