"""Trial numbers and resume bookkeeping, without Ray: which numbers a sweep reuses, how Optuna hears how
each finished trial ended, and that the store files a trial before Optuna does."""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest

from kdbench.bench._sweep._numbers import (
    NumberAllocator,
    Outcome,
    count_finished,
    is_interrupted,
    settle_running_optuna_trials,
    store_outcomes,
)
from kdbench.bench.store import ResultStore


def frame(rows: list[tuple[int, str, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["number", "status", "error"])


def test_numbers_reuse_interrupted_trials_first_then_continue() -> None:
    trials = frame([
        (0, "completed", None), (1, "running", None), (2, "failed", "TrialError: non-finite loss"),
        (3, "failed", "interrupted: the driver stopped"), (4, "stopped", None),
    ])  # fmt: skip
    allocator = NumberAllocator.from_trials(trials)
    assert [allocator.take() for _ in range(4)] == [1, 3, 5, 6]
    assert count_finished(trials) == 3  # completed, failed by its own error, stopped
    assert is_interrupted("running", None) and not is_interrupted("failed", "ConfigError: x")


def test_a_new_sweep_numbers_from_zero() -> None:
    allocator = NumberAllocator.from_trials(frame([]))
    assert [allocator.take() for _ in range(3)] == [0, 1, 2]


def test_running_optuna_trials_are_failed_and_marked(tmp_path: Path) -> None:
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'o.db'}")
    assert settle_running_optuna_trials(storage, "absent") == 0
    study = optuna.create_study(study_name="s", storage=storage)
    study.tell(study.ask(), 1.0)
    study.ask()  # left RUNNING, as by a killed driver
    assert settle_running_optuna_trials(storage, "s") == 1
    states = [t.state for t in optuna.load_study(study_name="s", storage=storage).trials]
    assert states == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL]
    assert study.trials[1].user_attrs == {"kdbench_interrupted": True}


def store_frame(rows: list[tuple[int, str, str | None, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["number", "status", "error", "student_valid_auc"])


def test_store_outcomes_say_how_each_finished_trial_ends_in_optuna() -> None:
    State = optuna.trial.TrialState
    trials = store_frame([
        (0, "completed", None, 0.8456), (1, "stopped", None, None), (2, "stopped", None, 0.71),
        (3, "failed", "TrialError: non-finite loss", None), (4, "completed", None, math.nan),
        (5, "running", None, None), (6, "failed", "interrupted: the driver stopped", None),
    ])  # fmt: skip
    outcomes = store_outcomes(trials, ["student_valid_auc"])
    assert outcomes == {
        0: Outcome(State.COMPLETE, [0.8456]),
        1: Outcome(State.PRUNED),  # what Tune tells Optuna of a trial stopped before any objective
        2: Outcome(State.COMPLETE, [0.71]),
        3: Outcome(State.FAIL),
        4: Outcome(State.FAIL),  # Optuna's own tell fails a NaN objective
    }  # 5 and 6 were interrupted: the resume runs them again
    assert store_outcomes(store_frame([]), ["student_valid_auc"]) == {}


def test_trials_the_store_filed_before_optuna_was_told_get_the_stored_outcome(tmp_path: Path) -> None:
    """A driver killed between filing a trial and telling Optuna leaves it RUNNING in the study: the resume
    ends it as the store says (completed, stopped, failed), and marks only the truly interrupted one."""
    State = optuna.trial.TrialState
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'o.db'}")
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    for number in range(4):
        study.ask().set_user_attr("kdbench_number", number)
    outcomes = {0: Outcome(State.COMPLETE, [0.8456]), 1: Outcome(State.PRUNED), 2: Outcome(State.FAIL)}
    assert settle_running_optuna_trials(storage, "s", outcomes) == 1
    completed, pruned, failed, interrupted = optuna.load_study(study_name="s", storage=storage).trials
    assert completed.state == State.COMPLETE and completed.values == [0.8456]
    assert pruned.state == State.PRUNED and failed.state == State.FAIL
    assert not any("kdbench_interrupted" in t.user_attrs for t in (completed, pruned, failed))
    assert interrupted.state == State.FAIL and interrupted.user_attrs["kdbench_interrupted"]


@pytest.mark.parametrize("ending", ["stopped", "failed"])
def test_a_trial_is_filed_in_the_store_before_optuna_hears_it_ended(
    ending: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tune tells its searcher a trial ended before its callbacks: the sweep's searcher lets the store writer
    file the trial first, so a driver killed in between never leaves a finished Optuna trial beside a
    ``running`` store row (which a resume would run again, one Optuna trial too many)."""
    from ray.tune.search.optuna import OptunaSearch

    from kdbench.bench._sweep._callback import StoreWriter
    from kdbench.bench._sweep._trainable import CONFIG_KEY, NUMBER_KEY
    from kdbench.bench._sweep._tuner import _FileFirst, _StoreFirstOptunaSearch
    from tests.store import _factories as f

    store = ResultStore(f"sqlite:///{tmp_path / 'kd.db'}")
    store.create_sweep("s", **f.sweep_kwargs())
    (tmp_path / "error.txt").write_text("Traceback ...\nTrialError: the student's loss is NaN at epoch 3\n")
    trial = type("Trial", (), {})()
    trial.trial_id, trial.config = "t1", {CONFIG_KEY: f.config(), NUMBER_KEY: 0}
    trial.error_file, trial.pickled_error_file = str(tmp_path / "error.txt"), None
    writer = StoreWriter(
        store,
        "s",
        allocator=NumberAllocator.from_trials(frame([])),
        environment_id=store.record_environment(f.environment()),
        dataset_fingerprint=f.FINGERPRINT,
        stopped_by_scheduler={"t1"} if ending == "stopped" else set(),
        link_optuna=lambda optuna_number, store_number: None,
        on_event=lambda event: None,
    )
    seen = []

    def told(self: Any, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        seen.append(store.trials(sweep="s")["status"].tolist())  # the store when Optuna hears of it

    monkeypatch.setattr(OptunaSearch, "on_trial_complete", told)
    searcher = _StoreFirstOptunaSearch(metric="student_valid_auc", mode="max")
    searcher.before_told = _FileFirst(writer)
    writer.on_trial_start(0, [], trial)
    writer.on_trial_result(0, [], trial, {"event": "start", "node": "node-1", "device": "cpu"})
    searcher.on_trial_complete("t1", error=ending == "failed")
    assert seen == [[ending]]  # filed when Optuna was told
    row = store.trials(sweep="s").iloc[0]
    if ending == "failed":
        assert row["error"] == "TrialError: the student's loss is NaN at epoch 3"
    # Tune's own callback call comes next and finds the trial filed: nothing written twice
    (writer.on_trial_error if ending == "failed" else writer.on_trial_complete)(0, [], trial)
    assert writer.finished_statuses == [ending]
    assert (
        pickle.loads(pickle.dumps(searcher.before_told)).writer is None
    )  # Tune's checkpoints carry no store
    store.close()
