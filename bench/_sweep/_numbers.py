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
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the sweep's face stays light for the CLI
    import pandas as pd


__all__ = [
    "FINISHED",
    "INTERRUPTED_PREFIX",
    "NumberAllocator",
    "Outcome",
    "count_finished",
    "is_interrupted",
    "settle_running_optuna_trials",
    "store_outcomes",
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


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How an Optuna trial should end: its state (an ``optuna.trial.TrialState``) and objective values."""

    state: Any
    values: list[float] | None = None


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


def store_outcomes(trials: pd.DataFrame, metrics: Sequence[str]) -> dict[int, Outcome]:
    """What the store says each finished trial ended as, by number, in Optuna's terms.

    ``completed``: COMPLETE with its objective values (FAIL if one is missing or not finite, as Optuna's own
    ``tell`` would have it); ``stopped`` by the scheduler: COMPLETE with its values when it has them, else
    PRUNED (what Tune tells Optuna of a stopped trial); ``failed`` by its own error: FAIL. Interrupted trials
    are left out: the resume re-runs them.
    """
    from optuna.trial import TrialState

    outcomes: dict[int, Outcome] = {}
    if trials is None or len(trials) == 0:
        return outcomes
    for row in trials.to_dict("records"):
        status, number = row["status"], int(row["number"])
        if is_interrupted(status, row.get("error")) or status not in FINISHED:
            continue
        found = [row.get(metric) for metric in metrics]
        values = [float(v) for v in found] if all(_finite(v) for v in found) else None
        if status == "failed" or (status == "completed" and values is None):
            outcomes[number] = Outcome(TrialState.FAIL)
        elif values is not None:
            outcomes[number] = Outcome(TrialState.COMPLETE, values)
        else:
            outcomes[number] = Outcome(TrialState.PRUNED)
    return outcomes


def settle_running_optuna_trials(
    storage: Any, study_name: str, outcomes: dict[int, Outcome] | None = None
) -> int:
    """Finish the study's RUNNING trials (left by a driver that stopped), so samplers see no phantom work.

    A trial whose ``kdbench_number`` has an outcome in ``outcomes`` (see ``store_outcomes``) ended, and the
    store filed it, but the driver stopped before Optuna was told: it gets that outcome, so every finished
    store trial keeps exactly one finished Optuna trial. Any other RUNNING trial was interrupted: it is marked
    FAIL with the user attribute ``kdbench_interrupted``. Returns how many were marked interrupted; a study
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
        outcome = (outcomes or {}).get(trial.user_attrs.get("kdbench_number", -1))
        try:
            if outcome is not None:
                storage.set_trial_state_values(trial._trial_id, outcome.state, outcome.values)
                continue
            storage.set_trial_user_attr(trial._trial_id, "kdbench_interrupted", True)
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            marked += 1
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # finished meanwhile: nothing to fix
    return marked


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def best_trial(trials: pd.DataFrame) -> pd.Series | None:
    """The completed trial with the highest student validation AUC (a sweep's objective, and what its summary
    and progress call best), or None before one completed."""
    done = trials[(trials["status"] == "completed") & trials["student_valid_auc"].notna()]
    return None if done.empty else done.loc[done["student_valid_auc"].idxmax()]
