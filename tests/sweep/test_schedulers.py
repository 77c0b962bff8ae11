"""Objectives, the Pareto front and the schedulers a sweep can use, without Ray: refusals, ASHA on student
epochs only, the median rule, and no scheduler by default."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from kdbench.bench._sweep._options import OBJECTIVES, build_sampler, build_scheduler
from kdbench.bench._sweep._pareto import pareto_front
from kdbench.bench.errors import SweepError
from kdbench.bench.sweep import run_sweep


def test_pareto_front_keeps_exactly_the_non_dominated_completed_trials() -> None:
    trials = pd.DataFrame({
        "number": [0, 1, 2, 3, 4, 5],
        "status": ["completed", "completed", "completed", "completed", "failed", "completed"],
        "student_valid_auc": [0.80, 0.85, 0.84, 0.79, 0.99, math.nan],
        "student_flops": [100.0, 300.0, 300.0, 50.0, 1.0, 1.0],
    })  # fmt: skip
    front = pareto_front(trials, OBJECTIVES["auc+flops"])
    # 2 is dominated by 1 (same FLOPs, lower AUC); 4 failed; 5 has no AUC.
    assert [p["number"] for p in front] == [1, 0, 3]
    assert front[0] == {"number": 1, "student_valid_auc": 0.85, "student_flops": 300.0}


def test_schedulers_refuse_multi_objective_and_bad_settings() -> None:
    with pytest.raises(SweepError, match="needs --scheduler none"):
        build_scheduler("asha", objectives=OBJECTIVES["auc+latency"], max_student_epochs=16, grace_period=2,
                        reduction_factor=3)  # fmt: skip
    with pytest.raises(SweepError, match="grace-period"):
        build_scheduler("median", objectives=OBJECTIVES["auc"], max_student_epochs=16, grace_period=0,
                        reduction_factor=3)  # fmt: skip
    with pytest.raises(SweepError, match="multi-objective"):
        build_sampler("nsga2", seed=0, trials=8, multi_objective=False)
    _, settings = build_scheduler("asha", objectives=OBJECTIVES["auc"], max_student_epochs=16, grace_period=2,
                                  reduction_factor=3)  # fmt: skip
    assert settings["time_attr"] == "student_epoch" and settings["max_t"] == 16


def test_asha_never_stops_during_teacher_training_and_records_its_stops() -> None:
    scheduler, _ = build_scheduler("asha", objectives=OBJECTIVES["auc"], max_student_epochs=8, grace_period=1,
                                   reduction_factor=2)  # fmt: skip

    class Trial:
        def __init__(self, trial_id: str) -> None:
            self.trial_id = trial_id

    good, bad = Trial("good"), Trial("bad")
    for t in (good, bad):
        scheduler.on_trial_add(None, t)
    teacher = {"student_epoch": 0, "student_valid_auc": math.nan}
    assert scheduler.on_trial_result(None, bad, teacher) == scheduler.CONTINUE
    assert (
        scheduler.on_trial_result(None, good, {"student_epoch": 1, "student_valid_auc": 0.85}) == "CONTINUE"
    )
    assert scheduler.on_trial_result(None, bad, {"student_epoch": 1, "student_valid_auc": 0.70}) == "STOP"
    assert scheduler.stopped == {"bad"}


def test_median_rule_ignores_the_nan_of_teacher_epochs() -> None:
    scheduler, _ = build_scheduler("median", objectives=OBJECTIVES["auc"], max_student_epochs=8,
                                   grace_period=1, reduction_factor=3)  # fmt: skip

    class Trial:
        def __init__(self, trial_id: str) -> None:
            self.trial_id = trial_id

    trials = [Trial(str(i)) for i in range(5)]
    for t in trials:
        scheduler.on_trial_add(None, t)
    for t, auc in zip(trials[:4], (0.80, 0.81, 0.82, 0.83), strict=True):
        scheduler.on_trial_result(None, t, {"student_epoch": 0, "student_valid_auc": math.nan})
        scheduler.on_trial_result(None, t, {"student_epoch": 1, "student_valid_auc": auc})
    last = trials[4]
    scheduler.on_trial_result(None, last, {"student_epoch": 0, "student_valid_auc": math.nan})
    # Below the median of the others at epoch 1: stopped (a NaN best would have let it through, or not).
    assert scheduler.on_trial_result(None, last, {"student_epoch": 1, "student_valid_auc": 0.5}) == "STOP"


def test_no_scheduler_by_default() -> None:
    """Early student epochs did not rank trials on any dataset measured: a sweep stops none unless asked."""
    import inspect

    from kdbench.bench._sweep._options import SCHEDULERS
    from kdbench.bench.commands.sweep import RECIPE_DEFAULTS

    assert SCHEDULERS[0] == "none" and RECIPE_DEFAULTS["scheduler"] == "none"
    assert inspect.signature(run_sweep).parameters["scheduler"].default == "none"
