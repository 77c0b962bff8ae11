"""The ResultStore contract, run against every backend (a SQLite file; PostgreSQL when configured)."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from kdbench.bench.errors import StoreError
from kdbench.bench.store import (
    EPOCH_COLUMNS,
    LEADERBOARD_COLUMNS,
    PHASE_COLUMNS,
    SWEEP_COLUMNS,
    TRIAL_COLUMNS,
    ResultStore,
    schema_version_supported,
)

from . import _factories as f


@pytest.fixture
def env_id(store: ResultStore) -> int:
    return store.record_environment(f.environment())


@pytest.fixture
def sweep(store: ResultStore) -> str:
    store.record_dataset(f.dataset_info())
    store.create_sweep("s1", **f.sweep_kwargs())
    return "s1"


# ---- opening
def test_fresh_database_has_schema_and_empty_frames_keep_their_columns(store: ResultStore) -> None:
    assert store.schema_version() == schema_version_supported()
    assert tuple(store.sweeps().columns) == SWEEP_COLUMNS
    assert tuple(store.trials().columns) == TRIAL_COLUMNS
    assert tuple(store.phases().columns) == PHASE_COLUMNS
    assert tuple(store.epochs().columns) == EPOCH_COLUMNS
    rest = tuple(c for c in TRIAL_COLUMNS if c not in LEADERBOARD_COLUMNS)
    assert tuple(store.leaderboard().columns) == (*LEADERBOARD_COLUMNS, *rest)
    assert store.datasets().empty and store.regression_runs().empty


def test_reopening_keeps_data(store: ResultStore, db_url: str, env_id: int) -> None:
    store.record_trial(None, None, result=f.result(), environment_id=env_id)
    with ResultStore(db_url) as again:
        assert len(again.trials()) == 1


def test_url_is_full_and_redacted_has_no_password(store: ResultStore) -> None:
    assert store.url.split("://")[0] in ("sqlite", "postgresql+psycopg")
    assert "***" not in store.url_redacted or store.url != store.url_redacted
    assert repr(store).startswith("ResultStore(")


# ---- environment and dataset
def test_environment_is_deduplicated_by_content(store: ResultStore) -> None:
    a = store.record_environment(f.environment())
    assert store.record_environment(f.environment()) == a
    b = store.record_environment(f.environment(git_dirty=True))
    assert b != a
    assert store.environment(a) == f.environment()
    frame = store.environments()
    assert list(frame["environment_id"]) == [a, b] and list(frame["git_dirty"]) == [False, True]
    with pytest.raises(StoreError, match="no environment"):
        store.environment(999)


def test_dataset_is_recorded_once_and_validated(store: ResultStore) -> None:
    store.record_dataset(f.dataset_info())
    store.record_dataset(f.dataset_info())
    frame = store.datasets()
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["source"] == "movielens1m" and row["rows"] == 1000 and row["vocab_sizes"] == [50, 80, 18]
    assert row["split_sizes"] == {"train": 800, "valid": 100, "test": 100}
    broken = f.dataset_info("other")
    del broken["rows"], broken["fields"]
    with pytest.raises(StoreError, match="missing 'rows', 'fields'"):
        store.record_dataset(broken)


# ---- sweeps
def test_sweep_create_get_finish(store: ResultStore, sweep: str) -> None:
    got = store.get_sweep(sweep)
    assert got is not None and got["status"] == "running" and got["finished_at"] is None
    assert got["space_yaml"] == f.sweep_kwargs()["space_yaml"] and len(got["space_hash"]) == 16
    assert got["objectives"] == [{"metric": "student_valid_auc", "direction": "maximize"}]
    assert got["scheduler"]["name"] == "asha" and got["study_name"] == "study-1" and got["num_trials"] == 8
    assert got["settings"] == {}
    assert store.get_sweep("nope") is None
    with pytest.raises(StoreError, match="already exists"):
        store.create_sweep(sweep, **f.sweep_kwargs())
    store.finish_sweep(sweep, "interrupted")
    assert store.get_sweep(sweep)["status"] == "interrupted"
    store.finish_sweep(sweep, "completed")
    done = store.sweeps().iloc[0]
    assert done["status"] == "completed" and done["finished_at"].tzinfo is not None
    with pytest.raises(StoreError, match="status must be one of"):
        store.finish_sweep(sweep, "done")
    with pytest.raises(StoreError, match="no sweep named"):
        store.finish_sweep("nope", "completed")


# ---- trials
def test_trial_lifecycle_fills_every_column(store: ResultStore, sweep: str, env_id: int) -> None:
    res = f.result(auc=0.81)
    tid = f.start_trial(store, sweep, 0, env_id, res, node="node-1", device="cuda:0")
    row = store.trials().iloc[0]
    assert row["status"] == "running" and pd.isna(row["student_test_auc"]) and pd.isna(row["finished_at"])
    store.record_epochs(tid, f.epoch_rows()[:3])
    assert len(store.epochs(tid)) == 3
    store.finish_trial(tid, status="completed", result=res)

    row = store.trials(sweep=sweep).iloc[0]
    assert row["trial_id"] == tid and row["sweep"] == sweep and row["number"] == 0
    assert row["status"] == "completed" and pd.isna(row["error"])
    assert row["config"] == res["config"] and row["param_lr"] == res["config"]["lr"]
    assert row["config_hash"] == res["config_hash"] and row["config_family"] == res["config_family"]
    assert row["seed"] == 2022 and row["dataset_source"] == "movielens1m"
    assert row["node"] == "node-1" and row["device"] == "cuda:0"
    assert row["git_sha"] == f.environment()["git_sha"] and not row["git_dirty"]
    assert row["student_test_auc"] == pytest.approx(0.81) and row["teacher_test_auc"] == pytest.approx(0.815)
    assert (
        row["student_params"] == 2000 and row["teacher_flops"] == 12000 and row["embedding_params"] == 100_000
    )
    assert row["student_latency_ms_b4096"] == pytest.approx(4.0) and row["student_epochs"] == 4
    assert row["wall_seconds"] == pytest.approx(9.5) and not row["teacher_cache_hit"]
    assert row["started_at"] <= row["finished_at"] <= pd.Timestamp.now(tz="UTC")
    assert str(row["finished_at"].tz) == "UTC"

    phases = store.phases(tid)
    assert list(phases["phase"]) == list(f.PHASES) and list(phases["epochs"]) == [2, 2, 2]
    assert phases["test_auc"].tolist() == pytest.approx([0.81] * 3)
    assert len(store.epochs(tid)) == 6 and len(store.epochs(sweep=sweep)) == 6
    assert store.epochs(tid)["student_epoch"].tolist() == [0, 0, 1, 2, 3, 4]

    full = store.trial(tid)
    assert full["result"] == res and full["environment"] == f.environment()
    assert (
        full["dataset"]["fingerprint"] == f.FINGERPRINT
        and len(full["phases"]) == 3
        and len(full["epochs"]) == 6
    )


def test_resumed_sweep_updates_a_trial_instead_of_duplicating(
    store: ResultStore, sweep: str, env_id: int
) -> None:
    res = f.result()
    first = f.start_trial(store, sweep, 3, env_id, res)
    store.record_epochs(first, f.epoch_rows(1))
    store.record_epochs(first, f.epoch_rows(1))  # Tune re-delivers the same report
    again = f.start_trial(store, sweep, 3, env_id, res)  # the sweep was resumed
    assert again == first
    store.finish_trial(again, status="completed", result=res)
    store.finish_trial(again, status="completed", result=res)
    assert len(store.trials()) == 1 and len(store.phases()) == 3 and len(store.epochs()) == 6
    assert store.sweeps().iloc[0]["n_completed"] == 1


def test_stopped_and_failed_trials(store: ResultStore, sweep: str, env_id: int) -> None:
    stopped = f.start_trial(store, sweep, 0, env_id, f.result(seed=1))
    failed = f.start_trial(store, sweep, 1, env_id, f.result(seed=2))
    store.finish_trial(stopped, status="stopped")
    store.finish_trial(failed, status="failed", error="TrialError: non-finite loss in distillation")
    frame = store.trials().set_index("trial_id")
    assert frame.loc[stopped, "status"] == "stopped" and frame.loc[failed, "status"] == "failed"
    assert frame.loc[failed, "error"].startswith("TrialError")
    counts = store.sweeps().iloc[0]
    assert (counts["n_trials"], counts["n_stopped"], counts["n_failed"], counts["n_running"]) == (2, 1, 1, 0)
    with pytest.raises(StoreError, match="status must be one of"):
        store.finish_trial(stopped, status="running")
    with pytest.raises(StoreError, match="no trial with id"):
        store.finish_trial(12345, status="failed")


def test_non_finite_metrics_are_stored_as_missing(store: ResultStore, env_id: int) -> None:
    res = f.result()
    res["student"]["test_logloss"] = math.nan
    res["epochs"][-1]["train_loss"] = math.inf
    tid = store.record_trial(None, None, result=res, status="failed", error="diverged", environment_id=env_id)
    assert pd.isna(store.trials().iloc[0]["student_test_logloss"])
    assert store.trial(tid)["result"]["student"]["test_logloss"] is None


def test_record_trial_adhoc_numbers_and_named_sweeps(store: ResultStore, env_id: int) -> None:
    a = store.record_trial(None, None, result=f.result(seed=1), environment_id=env_id)
    b = store.record_trial(None, None, result=f.result(seed=2), environment_id=env_id, node="n", device="cpu")
    c = store.record_trial("regress-smoke", 7, result=f.result(seed=3), environment_id=env_id)
    c2 = store.record_trial("regress-smoke", 7, result=f.result(seed=3), environment_id=env_id)
    assert len({a, b, c}) == 3 and c2 == c
    frame = store.trials()
    assert list(zip(frame["sweep"], frame["number"], strict=True)) == [
        ("adhoc", 0),
        ("adhoc", 1),
        ("regress-smoke", 7),
    ]
    assert set(frame["status"]) == {"completed"}
    assert store.get_sweep("adhoc")["settings"] == {"implicit": True}
    with pytest.raises(StoreError, match="missing 'phases'"):
        store.record_trial(
            None, None, result={k: v for k, v in f.result().items() if k != "phases"}, environment_id=env_id
        )
    with pytest.raises(StoreError, match="no environment with id"):
        store.record_trial(None, None, result=f.result(), environment_id=999)
    assert len(store.trials()) == 3  # the failed writes left nothing behind


def test_start_trial_needs_an_existing_sweep_and_epochs_strict_keys(store: ResultStore, env_id: int) -> None:
    with pytest.raises(StoreError, match="no sweep named"):
        f.start_trial(store, "missing", 0, env_id, f.result())
    tid = store.record_trial(None, None, result=f.result(), environment_id=env_id)
    with pytest.raises(StoreError, match="unknown 'training_iteration'"):
        store.record_epochs(tid, [{"phase": "distillation", "epoch": 9, "training_iteration": 3}])
    with pytest.raises(StoreError, match="missing 'epoch'"):
        store.record_epochs(tid, [{"phase": "distillation"}])


def test_trials_filter_by_dataset_fingerprint_or_source(store: ResultStore, env_id: int) -> None:
    store.record_dataset(f.dataset_info())
    store.record_dataset(f.dataset_info("ds-criteo", source="criteo"))
    store.record_trial(None, None, result=f.result(), environment_id=env_id)
    store.record_trial(None, None, result=f.result(dataset="ds-criteo"), environment_id=env_id)
    assert len(store.trials(dataset=f.FINGERPRINT)) == 1
    assert store.trials(dataset="criteo")["dataset_fingerprint"].tolist() == ["ds-criteo"]
    assert store.trials(dataset="nothing").empty and store.trials(sweep="nothing").empty


def test_param_columns_cover_every_config_key(store: ResultStore, env_id: int) -> None:
    store.record_trial(None, None, result=f.result(), environment_id=env_id)
    cin = f.result(teacher="cin", t_cin=[100, 100])
    del cin["config"]["t_depth"]
    store.record_trial(None, None, result=cin, environment_id=env_id)
    frame = store.trials()
    assert {"param_t_depth", "param_t_cin", "param_teacher"} <= set(frame.columns)
    assert frame["param_t_cin"].iloc[1] == [100, 100] and pd.isna(frame["param_t_cin"].iloc[0])


# ---- leaderboard
def test_leaderboard_groups_seeds_of_a_family(store: ResultStore, env_id: int) -> None:
    store.record_dataset(f.dataset_info())
    for seed, auc in ((1, 0.80), (2, 0.82)):
        store.record_trial(None, None, result=f.result(seed=seed, auc=auc, depth=2), environment_id=env_id)
    for seed, auc in ((1, 0.805), (2, 0.806), (3, 0.807)):
        store.record_trial(None, None, result=f.result(seed=seed, auc=auc, depth=4), environment_id=env_id)
    store.record_trial(
        None, None, result=f.result(seed=9, auc=0.99, depth=5), status="failed", environment_id=env_id
    )

    board = store.leaderboard()
    assert len(board) == 2  # the failed family is not ranked
    top, second = board.iloc[0], board.iloc[1]
    assert top["param_depth"] == 2 and top["rank"] == 1 and second["rank"] == 2  # mean 0.810 > 0.806
    assert top["mean"] == pytest.approx(0.81) and top["std"] == pytest.approx(math.sqrt(2e-4))
    assert (top["n_trials"], top["n_seeds"], second["n_seeds"]) == (2, 2, 3)
    assert top["best"] == pytest.approx(0.82) and top["seed"] == 2 and top["metric"] == "student_test_auc"
    assert top["sweep"] == "adhoc" and top["dataset_source"] == "movielens1m"

    by_loss = store.leaderboard(dataset="movielens1m", metric="student_test_logloss")
    assert by_loss.iloc[0]["param_depth"] == 2 and by_loss.iloc[0]["best"] == pytest.approx(1.2 - 0.82)
    assert store.leaderboard(dataset="elsewhere").empty
    with pytest.raises(StoreError, match="cannot rank by"):
        store.leaderboard(metric="accuracy")


# ---- regression runs
def test_regression_runs_are_found_by_id_tag_or_sha(store: ResultStore) -> None:
    old = store.record_environment(f.environment(git_sha="aaaa1111" + "0" * 32))
    new = store.record_environment(f.environment(git_sha="bbbb2222" + "0" * 32))
    cases = [
        {"name": "ml1m-outer", "student_test_auc": 0.80},
        {"name": "ml1m-inner", "student_test_auc": 0.79},
    ]
    first = store.record_regression_run(
        "smoke", environment_id=old, summary={"passed": True}, cases=cases, tag="v0.1"
    )
    second = store.record_regression_run(
        "smoke", environment_id=new, summary={"passed": False}, cases=cases[:1], baseline="v0.1"
    )
    runs = store.regression_runs()
    assert list(runs["run_id"]) == [first, second] and list(runs["n_cases"]) == [2, 1]
    assert runs.iloc[1]["baseline"] == "v0.1" and runs.iloc[0]["summary"] == {"passed": True}
    assert store.regression_run("v0.1")["run_id"] == first
    assert store.regression_run(second)["cases"] == cases[:1]
    assert store.regression_run(str(first))["suite"] == "smoke"
    got = store.regression_run("bbbb22")
    assert (
        got["run_id"] == second
        and got["environment"]["git_sha"].startswith("bbbb")
        and not got["summary"]["passed"]
    )
    assert list(store.regression_cases(first)["name"]) == ["ml1m-outer", "ml1m-inner"]
    with pytest.raises(StoreError, match="no regression run matches"):
        store.regression_run("ffff")


def test_times_are_utc(store: ResultStore, sweep: str) -> None:
    created = store.get_sweep(sweep)["created_at"]
    assert created.tzinfo is not None
    assert abs(created - pd.Timestamp.now(tz=dt.UTC)) < pd.Timedelta(minutes=5)
