"""What a sweep optimises and how: objectives, Optuna samplers and Ray Tune schedulers (explicit registries).

Schedulers stop trials on **student epochs** (``student_epoch``: distillation + finetuning epochs so far),
so a trial whose teacher came from the cache and one that trained it are compared at the same point. During
teacher training ``student_epoch`` is 0 and the student metric is NaN: no rung or grace period is ever
reached there.

Schedulers rank trials by one metric, so they work with the single objective only; a multi-objective sweep
runs every trial to its own early stop (``scheduler="none"``), else the cheap end of the Pareto front would be
pruned for its lower AUC before its latency or FLOPs were ever measured.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any, cast

from kdbench.bench.errors import SweepError

__all__ = [
    "OBJECTIVES",
    "SAMPLERS",
    "SCHEDULERS",
    "TIME_ATTR",
    "Objective",
    "budget_grace",
    "build_sampler",
    "build_scheduler",
    "objectives_for",
]

TIME_ATTR = "student_epoch"


@dataclasses.dataclass(frozen=True)
class Objective:
    """A reported metric (a key of every Tune report) and whether larger or smaller is better."""

    metric: str
    mode: str  # "max" | "min"

    @property
    def direction(self) -> str:
        return "maximize" if self.mode == "max" else "minimize"

    def to_dict(self) -> dict[str, str]:
        return {"metric": self.metric, "mode": self.mode, "direction": self.direction}


_AUC = Objective("student_valid_auc", "max")
OBJECTIVES: dict[str, tuple[Objective, ...]] = {
    "auc": (_AUC,),
    # Latency at batch 4096 measures the model's compute; at batch 1 Python overhead hides the differences.
    "auc+latency": (_AUC, Objective("student_latency_ms_b4096", "min")),
    "auc+flops": (_AUC, Objective("student_flops", "min")),
}
SAMPLERS = ("tpe", "random", "nsga2")
SCHEDULERS = ("none", "asha", "median")  # the first is the default
# No scheduler by default: on every dataset measured (ml-100k, a planted 800,000-row table) a trial's first
# student epochs do not rank trials by where they end, so a scheduler stops the trials that would have won
# (docs/sweeps.md, "Which scheduler").


def budget_grace(budget_s: float) -> float:
    """How long past a time budget's end its running trials may go on before they are stopped: a tenth of
    the budget, at least 30 s (a trial that is nearly done finishes; a long one does not hold the sweep)."""
    return max(30.0, 0.1 * budget_s)


def objectives_for(name: str) -> tuple[Objective, ...]:
    if name not in OBJECTIVES:
        raise SweepError(f"unknown objective {name!r}: use one of {', '.join(OBJECTIVES)}")
    return OBJECTIVES[name]


def build_sampler(
    name: str, *, seed: int, trials: int | None, multi_objective: bool
) -> tuple[Any, dict[str, Any]]:
    """An Optuna sampler and its settings (recorded with the sweep); ``trials`` None: a time-budgeted sweep
    of no fixed length."""
    import optuna

    if name not in SAMPLERS:
        raise SweepError(f"unknown sampler {name!r}: use one of {', '.join(SAMPLERS)}")
    if name == "nsga2" and not multi_objective:
        raise SweepError(
            "sampler nsga2 is for multi-objective sweeps: use tpe or random with --objective auc"
        )
    if name == "tpe":
        # Optuna's default of 10 random start-up trials is most of a 16-trial budget; a quarter of it, at
        # least 4, leaves TPE room to exploit. A time budget alone does not say how many trials will fit:
        # 5, as a 20-trial sweep gets (with 10, a 150 s ml-100k budget of ~14 trials was mostly random).
        # constant_liar keeps parallel workers off the same point.
        startup = 5 if trials is None else min(10, max(4, trials // 4))
        settings = {"sampler": "tpe", "seed": seed, "n_startup_trials": startup, "constant_liar": True}
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, constant_liar=True), settings
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed), {"sampler": "random", "seed": seed}
    return optuna.samplers.NSGAIISampler(seed=seed), {"sampler": "nsga2", "seed": seed}


def build_scheduler(
    name: str,
    *,
    objectives: tuple[Objective, ...],
    max_student_epochs: int,
    grace_period: int,
    reduction_factor: float,
) -> tuple[Any, dict[str, Any]]:
    """A Tune scheduler that records which trials it stopped, and its settings (recorded with the sweep)."""
    from ray.tune.schedulers import FIFOScheduler

    if name not in SCHEDULERS:
        raise SweepError(f"unknown scheduler {name!r}: use one of {', '.join(SCHEDULERS)}")
    if name != "none" and len(objectives) > 1:
        raise SweepError(
            f"scheduler {name!r} ranks trials by one metric: a multi-objective sweep needs --scheduler none"
        )
    # Checked whatever the scheduler: a wrong value is a mistake even where it goes unused.
    if grace_period < 1:
        raise SweepError(f"--grace-period must be >= 1 student epoch, got {grace_period}")
    if not (math.isfinite(reduction_factor) and reduction_factor > 1):
        raise SweepError(f"--reduction-factor must be > 1, got {reduction_factor:g}")
    if name == "none":
        return _Recording(FIFOScheduler)(), {"name": "none"}
    metric, mode = objectives[0].metric, objectives[0].mode
    common = {"time_attr": TIME_ATTR, "metric": metric, "mode": mode, "grace_period": grace_period}
    if name == "asha":
        max_t = max(max_student_epochs, grace_period)
        # stop_last_trials=False: reaching max_t must not cut a trial off before its final report.
        scheduler = _RecordingASHA()(
            max_t=max_t, reduction_factor=reduction_factor, stop_last_trials=False, **common
        )
        return scheduler, {"name": "asha", **common, "max_t": max_t, "reduction_factor": reduction_factor}
    scheduler = _RecordingMedian()(min_samples_required=3, **common)
    return scheduler, {"name": "median", **common, "min_samples_required": 3}


def _Recording(base: type) -> type:
    """``base`` plus ``stopped``: the ids of the trials this scheduler told Tune to stop; and ``stop_after``:
    a ``time.time()`` after which every trial is stopped at its next report (a time budget's end)."""

    class Recording(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.stopped: set[str] = set()
            self.stop_after: float | None = None

        def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
            if self.stop_after is not None and time.time() > self.stop_after:
                self.stopped.add(trial.trial_id)  # filed as stopped, like a trial the scheduler stopped
                return self.STOP
            action = super().on_trial_result(tune_controller, trial, result)
            if action == self.STOP:
                self.stopped.add(trial.trial_id)
            return action

    Recording.__name__ = f"Recording{base.__name__}"
    return Recording


def _RecordingASHA() -> type:
    from ray.tune.schedulers import AsyncHyperBandScheduler

    return _Recording(AsyncHyperBandScheduler)


def _RecordingMedian() -> type:
    from ray.tune.schedulers import MedianStoppingRule

    class Median(MedianStoppingRule):
        # Tune's rule PAUSEs a trial when too few others have reached its time yet; pausing a function
        # trainable without checkpoints restarts it from scratch, so we continue instead.
        def _on_insufficient_samples(self, tune_controller: Any, trial: Any, time: float) -> str:
            return self.CONTINUE

        # The student metric is NaN during teacher training; Python's max() would return that NaN.
        def _best_result(self, trial: Any) -> float:
            values = [r[self._metric] for r in self._results[trial] if _finite(r.get(self._metric))]
            # cast: Tune sets both with the mode (max or min, -inf or inf) before any result reaches the rule
            compare = cast(Callable[[list[float]], float], self._compare_op)
            return compare(values) if values else cast(float, self._worst)

    return _Recording(Median)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
