"""Trial numbers in the store, and what a resumed sweep finds left over.

A trial is identified in the store by (sweep name, number). Numbers are handed out by the driver in the order
trials start: first the numbers of trials an earlier driver left unfinished (rows still ``running`` after a
killed driver, or ``failed`` with an ``interrupted:`` error after Ctrl-C), then one past the largest number
used. A resumed sweep therefore re-runs an interrupted trial under its old number (the row is reused, its
attempt replaced) and ends with ``--trials`` finished trials numbered ``0 .. trials-1``, none duplicated.

Optuna numbers its own trials (an interrupted one stays in the study as FAIL), so the two numberings can
differ; each Optuna trial carries the store number as the user attribute ``kdbench_number``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

__all__ = [
    "FINISHED",
    "INTERRUPTED_PREFIX",
    "NumberAllocator",
    "count_finished",
    "fail_running_optuna_trials",
    "is_interrupted",
]

INTERRUPTED_PREFIX = "interrupted:"
FINISHED = ("completed", "stopped", "failed")  # failed by its own error; an interrupted trial is not finished


def is_interrupted(status: str, error: str | None) -> bool:
    """A trial the driver stopped before it finished (killed driver: still ``running``; Ctrl-C: marked)."""
    return status == "running" or (status == "failed" and (error or "").startswith(INTERRUPTED_PREFIX))


def count_finished(trials: pd.DataFrame) -> int:
    """How many trials of a sweep count toward its ``--trials``."""
    return sum(
        status in FINISHED and not is_interrupted(status, error)
        for status, error in zip(trials["status"], trials["error"], strict=True)
    )


@dataclasses.dataclass
class NumberAllocator:
    """Hands out store numbers: reusable (interrupted) numbers first, in order, then fresh ones."""

    reusable: list[int]
    next_fresh: int

    @classmethod
    def from_trials(cls, trials: pd.DataFrame) -> NumberAllocator:
        """From a sweep's ``ResultStore.trials()`` frame (empty for a new sweep)."""
        reusable = sorted(
            int(n)
            for n, status, error in zip(trials["number"], trials["status"], trials["error"], strict=True)
            if is_interrupted(status, error)
        )
        used = [int(n) for n in trials["number"]]
        return cls(reusable=reusable, next_fresh=max(used) + 1 if used else 0)

    def take(self) -> int:
        if self.reusable:
            return self.reusable.pop(0)
        self.next_fresh += 1
        return self.next_fresh - 1


def fail_running_optuna_trials(
    storage: Any, study_name: str, finished: dict[int, list[float]] | None = None
) -> int:
    """Mark the study's RUNNING trials (left by a driver that stopped) FAIL, so samplers ignore them.

    ``finished``: the objective values of store trials that finished (completed or stopped), by number. A
    driver killed after the store recorded a trial but before Optuna was told leaves that trial RUNNING in
    the study: it is completed there with the stored values instead (the sampler keeps the observation, and
    every finished store trial keeps a finished Optuna trial). Returns how many it marked FAIL; a study
    that does not exist yet has none.
    """
    import optuna
    from optuna.trial import TrialState

    try:
        study_id = storage.get_study_id_from_name(study_name)
    except KeyError:
        return 0
    marked = 0
    for trial in storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
        values = (finished or {}).get(trial.user_attrs.get("kdbench_number", -1))
        try:
            if values is not None:
                storage.set_trial_state_values(trial._trial_id, TrialState.COMPLETE, values)
                continue
            storage.set_trial_user_attr(trial._trial_id, "kdbench_interrupted", True)
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            marked += 1
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # finished meanwhile: nothing to fix
    return marked
