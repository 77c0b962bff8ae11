"""Warm start (the recipe projected onto the space, the study's first trial) and the time budget."""

from __future__ import annotations

import datetime as dt
import time

import optuna
import pandas as pd
import pytest

from kdbench.bench._sweep._budget import budget_spent
from kdbench.bench._sweep._plan import load_trial_space, parse_duration
from kdbench.bench._sweep._warm import (
    WARM_START_ATTR,
    default_trial,
    enqueue_warm_start,
    warm_start_for,
)
from kdbench.bench.config import TrialConfig
from kdbench.bench.errors import SweepError
from kdbench.bench.recipes import build_config, compose, recipe_for
from kdbench.bench.store import ResultStore
from kdbench.bench.sweep import resume_sweep, run_sweep

ML100K = recipe_for("ml-100k")


# ---- the warm-start point -----------------------------------------------------------------------------
def test_quick_warm_start_is_exactly_what_kdbench_train_runs() -> None:
    warm = warm_start_for(load_trial_space("quick", ML100K), ML100K)
    train = build_config(ML100K)  # `kdbench train --dataset ml-100k`
    assert warm.config == train.to_dict() and warm.config_hash == train.config_hash()
    assert warm.changes == () and warm.source == "the ml-100k recipe"


def test_warm_start_in_a_space_without_the_recipe_says_what_changed() -> None:
    warm = warm_start_for(load_trial_space("ci", ML100K), ML100K)
    assert warm.config["max_epochs"] == 2 and warm.config["embedding_size"] == 8 and warm.config["depth"] == 2
    assert "weight_decay 0.001 -> 1e-06 (fixed by the space)" in warm.changes
    assert "embedding_size 16 -> 8 (nearest of its choices)" in warm.changes
    assert TrialConfig.from_dict(warm.config).config_hash() == warm.config_hash


def test_without_a_recipe_the_trial_config_defaults_start() -> None:
    warm = warm_start_for(load_trial_space("default"), None)
    assert warm.source == "the trial-config defaults"
    assert warm.config["teacher"] == "crossnet" and warm.config["weight_decay"] == pytest.approx(1e-6)
    assert warm.config["beta"] == pytest.approx(921.6) and warm.config["max_epochs"] == 30


def test_warm_start_round_trips_through_the_sweep_settings() -> None:
    warm = warm_start_for(load_trial_space("ci", ML100K), ML100K)
    stored = warm.to_dict()
    again = type(warm)(**{**stored, "changes": tuple(stored["changes"])})
    assert again == warm and isinstance(stored["changes"], list)


def test_enqueued_once_first_and_again_only_after_an_interrupted_attempt(tmp_path) -> None:
    space = load_trial_space("default", ML100K)
    warm = warm_start_for(space, ML100K)
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(study_name="a-sweep-named-like-a-user-would-name-it", storage=storage,
                                direction="maximize")  # fmt: skip
    assert enqueue_warm_start(storage, study.study_name, warm)
    assert not enqueue_warm_start(storage, study.study_name, warm)  # waiting: not twice
    first = study.ask()
    assert TrialConfig.from_dict(compose(ML100K, space.suggest(first))).config_hash() == warm.config_hash
    assert first.user_attrs[WARM_START_ATTR] and first.params == warm.params
    study.tell(first, 0.86)
    assert not enqueue_warm_start(storage, study.study_name, warm)  # finished: a resume does not rerun it
    assert WARM_START_ATTR not in study.ask().user_attrs

    cut = optuna.create_study(study_name="cut-off", storage=storage, direction="maximize")
    enqueue_warm_start(storage, "cut-off", warm)
    attempt = cut.ask()  # its driver is killed; the resume marks it so (settle_running_optuna_trials)
    storage.set_trial_user_attr(attempt._trial_id, "kdbench_interrupted", True)
    cut.tell(attempt, state=optuna.trial.TrialState.FAIL)
    assert enqueue_warm_start(storage, "cut-off", warm)  # its only run was cut off: ask again
    again = space.suggest(cut.ask())
    assert TrialConfig.from_dict(compose(ML100K, again)).config_hash() == warm.config_hash


def test_default_trial_is_the_lowest_completed_trial_with_the_warm_hash() -> None:
    h = "ab12cd34ef56ab78"
    warm = {"config_hash": h}
    trials = pd.DataFrame({
        "number": [0, 1, 2, 3], "config_hash": [h, "ffff", h, h],
        "status": ["stopped", "completed", "completed", "completed"],
        "student_valid_auc": [0.85, 0.86, 0.861, 0.862],
    })  # fmt: skip
    assert int(default_trial(trials, warm)["number"]) == 2
    assert default_trial(trials, None) is None
    assert default_trial(trials.iloc[:2], warm) is None


# ---- the time budget ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("45", 45), ("0.5h", 1800), (" 2H ", 7200),
    (120, 120), (2.5, 2.5),
])  # fmt: skip
def test_durations(text, seconds) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "0s", "0", "-5m", "30x", "m30", "1h-30m", "soon", "inf", "nan", True, -3]
)
def test_bad_durations_are_refused_in_one_line(text) -> None:
    with pytest.raises(SweepError, match=r"--time-budget must be a positive duration") as caught:
        parse_duration(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["none", "asha", "median"])
def test_trials_still_running_past_the_budget_and_its_grace_are_stopped_and_filed_so(name) -> None:
    from types import SimpleNamespace

    from kdbench.bench._sweep._options import OBJECTIVES, budget_grace, build_scheduler

    scheduler, _ = build_scheduler(name, objectives=OBJECTIVES["auc"], max_student_epochs=80, grace_period=2,
                                   reduction_factor=3.0)  # fmt: skip
    trial = SimpleNamespace(trial_id="a1b2c3d4_00007")
    result = {"student_valid_auc": 0.86, "student_epoch": 1, "training_iteration": 3, "time_total_s": 9.0}
    scheduler.stop_after = time.time() - 1  # the budget and its grace are over
    assert scheduler.on_trial_result(None, trial, result) == scheduler.STOP
    assert trial.trial_id in scheduler.stopped  # the store writer files it as stopped
    assert budget_grace(150) == 30 and budget_grace(1800) == 180


def test_budget_spent_adds_recorded_runs_and_bounds_a_killed_one_by_the_store() -> None:
    t0 = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
    runs = [
        {"started_at": t0.isoformat(), "spent_s": 40.0},
        {"started_at": (t0 + dt.timedelta(seconds=60)).isoformat()},  # killed: nothing recorded
        {"started_at": (t0 + dt.timedelta(seconds=300)).isoformat(), "spent_s": 5.0},
    ]
    stamps = [t0 + dt.timedelta(seconds=s) for s in (10, 75, 90, 310)]
    trials = pd.DataFrame({
        "started_at": pd.to_datetime([*stamps[:2], pd.NaT, stamps[3]], utc=True),
        "finished_at": pd.to_datetime([stamps[0], stamps[2], pd.NaT, pd.NaT], utc=True),
    })  # fmt: skip
    # 40 + (90 - 60: the killed run's last sign of work before the next run) + 5
    assert budget_spent(runs, trials) == pytest.approx(75.0)
    assert budget_spent([], trials) == 0.0


# ---- real sweeps --------------------------------------------------------------------------------------


@pytest.mark.ray
def test_a_budgeted_sweep_starts_no_trial_after_its_budget_and_a_resume_gets_what_is_left(
    ray_runtime, ml100k, tmp_path
) -> None:
    url = f"sqlite:///{tmp_path / 'kd.db'}"
    name = "ci-budget-ml-100k-" + "x" * 60
    summary = run_sweep(space="ci", trials=None, time_budget="8s", name=name, db=url, progress="quiet",
                        scheduler="none")  # fmt: skip
    assert summary.status == "completed"  # the budget ended it: not interrupted
    with ResultStore(url, create=False) as store:
        sweep = store.get_sweep(name)
        trials = store.trials(sweep=name)
    settings = sweep["settings"]
    assert settings["time_budget"] == {"seconds": 8.0} and sweep["num_trials"] is None
    run = settings["runs"][0]
    assert run["spent_s"] >= 8.0 - 0.5 and 0 < run["budget_left_s"] <= 8.0
    assert len(trials) >= 1 and set(trials["status"]) <= {"completed", "stopped"}
    deadline = dt.datetime.fromisoformat(run["started_at"]) + dt.timedelta(seconds=run["budget_left_s"] + 0.5)
    study = optuna.load_study(study_name=name, storage=url)
    assert all(t.datetime_start.astimezone(dt.UTC) <= deadline for t in study.trials)  # asked before the end
    # the warm start ran first and the summary compares with it
    warm = settings["warm_start"]
    assert study.trials[0].user_attrs[WARM_START_ATTR] and study.trials[0].params == warm["params"]
    first = trials[trials["config_hash"] == warm["config_hash"]]
    assert len(first) >= 1 and summary.default_number == int(first["number"].min())

    resumed = resume_sweep(name=name, db=url, progress="quiet")  # the budget is spent: nothing more runs
    assert resumed.status == "completed" and sum(resumed.trials.values()) == len(trials)
    with ResultStore(url, create=False) as store:
        runs = store.get_sweep(name)["settings"]["runs"]
    assert len(runs) == 2 and runs[1]["budget_left_s"] == 0.0


@pytest.mark.ray
def test_trials_end_a_budgeted_sweep_first_when_they_come_first(ray_runtime, ml100k, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'kd.db'}"
    summary = run_sweep(space="ci", trials=2, time_budget="1h", name="two", db=url, progress="quiet",
                        warm_start=False)  # fmt: skip
    assert summary.status == "completed" and sum(summary.trials.values()) == 2
    with ResultStore(url, create=False) as store:
        sweep = store.get_sweep("two")
        settings = sweep["settings"]
    assert sweep["scheduler"] == {"name": "none"}  # the default: every trial runs to its own early stop
    assert settings["warm_start"] is None and summary.default_number is None
    study = optuna.load_study(study_name="two", storage=url)
    assert not any(t.user_attrs.get(WARM_START_ATTR) for t in study.trials)


def test_a_sweep_needs_trials_or_a_budget(tmp_path) -> None:
    with pytest.raises(SweepError, match="--trials, --time-budget or both"):
        run_sweep(space="ci", trials=None, name="none", db=f"sqlite:///{tmp_path / 'kd.db'}")
    assert not (tmp_path / "kd.db").exists()


# ---- the recipe that fits the data ---------------------------------------------------------------------
def _sweep_recipe(training_recipe, space: str = "quick"):
    from kdbench.bench._sweep._plan import SweepPlan

    space_obj = load_trial_space(space, training_recipe)
    return SweepPlan(
        name="fit-to-data", space=space_obj, dataset={"source": "criteo"}, trials=4, objective="auc",
        sampler="tpe", seed=0, scheduler="none", grace_period=2, reduction_factor=3.0,
        training_recipe=training_recipe, warm_start=warm_start_for(space_obj, training_recipe),
    )  # fmt: skip


def test_a_sweep_on_a_criteo_sample_starts_from_the_recipe_fitted_to_it() -> None:
    from kdbench.bench.sweep import fit_recipe_to_data

    criteo = recipe_for("criteo")
    info = {
        "source": "criteo", "fields": [f"C{i}" for i in range(39)], "vocab_sizes": [5_000] * 39,
        "split_sizes": {"train": 160_000, "valid": 20_000, "test": 20_000},
    }  # fmt: skip
    fitted = fit_recipe_to_data(_sweep_recipe(criteo), "quick", info)
    assert fitted.training_recipe.name == "fitted" and fitted.training_recipe.values["lr"] == 3e-3
    assert fitted.warm_start.source == "the fitted recipe"
    assert fitted.warm_start.config["weight_decay"] == fitted.training_recipe.values["weight_decay"]
    assert fitted.trial_config({"depth": 2})["lr"] == 3e-3  # every trial starts from it, not the paper's 1e-4
    full = {**info, "split_sizes": {"train": 36_000_000, "valid": 4_500_000, "test": 4_500_000}}
    kept = _sweep_recipe(criteo)
    assert fit_recipe_to_data(kept, "quick", full) is kept  # the paper's data: the paper's recipe
