"""Real sweeps on the embedded MovieLens-100K with the tiny ``ci`` space, on the session's Ray runtime."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from kdbench import search_spaces
from kdbench.bench.errors import SweepError
from kdbench.bench.store import ResultStore
from kdbench.bench.sweep import run_sweep

pytestmark = pytest.mark.ray

FINISHED = {"completed", "stopped", "failed"}


@pytest.fixture(scope="module")
def ci_sweep(ray_runtime, ml100k, tmp_path_factory):
    """One 4-trial ci sweep (TPE, ASHA, concurrency 2) shared by the tests that read it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('ci_sweep') / 'kd.db'}"
    summary = run_sweep(
        space="ci", dataset="ml-100k", trials=4, name="ci4", db=url, progress="quiet", scheduler="asha"
    )
    return url, summary


def test_sweep_records_every_trial_with_epochs_and_the_study(ci_sweep) -> None:
    url, summary = ci_sweep
    assert summary.status == "completed" and sum(summary.trials.values()) == 4
    with ResultStore(url, create=False) as store:
        sweep = store.get_sweep("ci4")
        trials = store.trials(sweep="ci4")
        epochs = store.epochs(sweep="ci4")
        phases = store.phases(sweep="ci4")
    assert sweep["status"] == "completed" and sweep["study_name"] == "ci4" and sweep["num_trials"] == 4
    assert sweep["space_name"] == "ci" and sweep["space_hash"] and "params:" in sweep["space_yaml"]
    settings = sweep["settings"]
    assert settings["environment"]["git_sha"] is not None or settings["environment"]["python"]
    assert settings["dataset_info"]["fingerprint"] == sweep["dataset_fingerprint"]
    assert sweep["scheduler"]["time_attr"] == "student_epoch" and sweep["searcher"]["sampler"] == "tpe"

    assert sorted(trials["number"]) == [0, 1, 2, 3]
    assert set(trials["status"]) <= {"completed", "stopped"} and "completed" in set(trials["status"])
    assert trials["node"].notna().all() and trials["device"].str.startswith("cpu").all()
    for number in range(4):  # every trial stores its epochs: >= 2 student epochs (ASHA's first rung is 2)
        mine = epochs[epochs["number"] == number]
        assert (mine["phase"] != "teacher_training").sum() >= 2
    completed = trials[trials["status"] == "completed"]
    for _, row in completed.iterrows():  # a teacher from the cache trains no teacher epochs
        teacher_epochs = ((epochs["number"] == row["number"]) & (epochs["phase"] == "teacher_training")).sum()
        assert (teacher_epochs == 0) == bool(row["teacher_cache_hit"])
    assert completed["student_test_auc"].between(0.5, 1.0).all()
    assert set(phases[phases["number"].isin(completed["number"])]["phase"]) == {
        "teacher_training",
        "distillation",
        "finetuning",
    }
    best = completed.loc[completed["student_valid_auc"].idxmax()]
    assert summary.best_number == best["number"] and summary.best_student_test_auc == best["student_test_auc"]

    study = optuna.load_study(study_name="ci4", storage=url)
    assert len(study.trials) == 4 and not [t for t in study.trials if t.state == TrialState.RUNNING]
    assert study.metric_names == ["student_valid_auc"]  # what optuna-dashboard shows for the objective
    assert sorted(t.user_attrs["kdbench_number"] for t in study.trials) == [0, 1, 2, 3]
    by_number = dict(zip(trials["number"], trials["student_valid_auc"], strict=True))
    for t in study.trials:  # completed trials: the study's value is the stored student valid AUC
        if trials.set_index("number").loc[t.user_attrs["kdbench_number"], "status"] == "completed":
            assert t.value == pytest.approx(by_number[t.user_attrs["kdbench_number"]])


def test_conditional_parameters_in_stored_configs(ci_sweep) -> None:
    url, _ = ci_sweep
    with ResultStore(url, create=False) as store:
        configs = list(store.trials(sweep="ci4")["config"])
    study = optuna.load_study(study_name="ci4", storage=url)
    for config in configs:
        if config["teacher"] == "crossnet":
            assert "t_depth" in config and "t_cin" not in config
        else:
            assert config["teacher"] == "cin" and "t_cin" in config and "t_depth" not in config
    for t in study.trials:
        other = "cin" if t.params["teacher"] == "crossnet" else "crossnet"
        assert not [name for name in t.params if name.endswith(f"teacher={other}")]


def test_a_failing_trial_is_recorded_and_the_sweep_goes_on(
    ray_runtime, ml100k, tmp_path, db_url, monkeypatch
) -> None:
    # Sweeps refuse such a space up front; without that check (a space stored by an older kdbench, say) the
    # trials that get depth 0 must fail alone, recorded, while the others run on.
    monkeypatch.setattr(
        "kdbench.bench.sweep.load_trial_space", lambda name, recipe=None: search_spaces.load_space(name)
    )
    space = tmp_path / "half_broken.yaml"
    space.write_text(
        "fixed: {max_epochs: 1, patience: 1, teacher: crossnet, t_depth: 1, embedding_size: 4}\n"
        "params:\n  depth: {choices: [0, 1]}\n"  # depth 0 is a ConfigError inside the trial
    )
    # Random sampler, seed 7: depths 1, 1, 0, 0 (asked one after another in the driver, so deterministic;
    # no warm start, which would take the first place with depth 1).
    summary = run_sweep(
        space=str(space),
        trials=4,
        name="broken",
        db=db_url,
        sampler="random",
        seed=7,
        scheduler="none",
        progress="quiet",
        warm_start=False,
    )
    with ResultStore(db_url, create=False) as store:
        trials = store.trials(sweep="broken")
        assert store.get_sweep("broken")["status"] == "completed"
    assert summary.status == "completed" and len(trials) == 4
    failed = trials[trials["status"] == "failed"]
    assert len(failed) == 2 and (trials["status"] == "completed").sum() == 2
    assert all(c["depth"] == 0 for c in failed["config"])
    assert failed["error"].str.contains("ConfigError: invalid trial config: depth must be >= 1").all()
    study = optuna.load_study(study_name="broken", storage=db_url)
    assert sum(t.state == TrialState.FAIL for t in study.trials) == len(failed)


def test_multi_objective_sweep_records_the_pareto_front(ray_runtime, ml100k, db_url) -> None:
    summary = run_sweep(
        space="ci", trials=3, name="mo", db=db_url, objective="auc+flops", scheduler="none", progress="quiet"
    )
    with ResultStore(db_url, create=False) as store:
        sweep = store.get_sweep("mo")
        trials = store.trials(sweep="mo")
    front = sweep["settings"]["pareto_front"]
    assert front == summary.pareto_front and len(front) >= 1
    assert [o["metric"] for o in sweep["objectives"]] == ["student_valid_auc", "student_flops"]
    completed = trials[trials["status"] == "completed"].set_index("number")
    for point in front:  # nobody dominates a front member
        row = completed.loc[point["number"]]
        assert point["student_flops"] == row["student_flops"]
        better = completed[
            (completed["student_valid_auc"] >= row["student_valid_auc"])
            & (completed["student_flops"] <= row["student_flops"])
        ]
        assert (
            len(
                better[
                    (better["student_valid_auc"] > row["student_valid_auc"])
                    | (better["student_flops"] < row["student_flops"])
                ]
            )
            == 0
        )
    study = optuna.load_study(study_name="mo", storage=db_url)
    assert len(study.directions) == 2 and len(study.best_trials) == len(front)


def test_a_sweep_with_no_artifacts_keeps_no_student(ray_runtime, ml100k, kdbench_home, db_url) -> None:
    default = kdbench_home / "artifacts"  # where trials keep their students unless told otherwise
    before = sorted(default.iterdir()) if default.is_dir() else []
    run_sweep(
        space="ci", trials=1, name="lean", db=db_url, scheduler="none", artifacts=False, progress="quiet"
    )
    with ResultStore(db_url, create=False) as store:
        trials = store.trials(sweep="lean")
        runtime = store.get_sweep("lean")["settings"]["runtime"]
    assert list(trials["status"]) == ["completed"] and trials["artifact_path"].isna().all()
    assert runtime["artifacts"] is False  # a resume keeps no student either
    assert (sorted(default.iterdir()) if default.is_dir() else []) == before


def test_gpus_asked_of_a_machine_without_any_are_refused_before_anything(ml100k, db_url) -> None:
    with pytest.raises(SweepError, match="this machine has 0 GPUs"):
        run_sweep(space="ci", trials=1, name="gpu", db=db_url, gpus_per_trial=0.25, progress="quiet")
    assert not Path(db_url.removeprefix("sqlite:///")).exists()  # not even the database was created


def test_an_existing_name_is_refused_with_a_resume_hint(ci_sweep) -> None:
    url, _ = ci_sweep
    with pytest.raises(SweepError, match=r"already exists.*--resume ci4"):
        run_sweep(space="ci", trials=1, name="ci4", db=url, progress="quiet")


def test_gpus_asked_of_a_joined_cluster_without_any_are_refused(ray_runtime) -> None:
    from kdbench.bench._sweep._ray import check_resources

    with pytest.raises(SweepError, match="the Ray cluster has no GPU"):
        check_resources(cpus_per_trial=1, gpus_per_trial=0.25)
    with pytest.raises(SweepError, match="more than any node has"):
        check_resources(cpus_per_trial=64, gpus_per_trial=0)


def test_the_sweep_records_the_dataset_recipe_its_trials_started_from(ci_sweep) -> None:
    url, _ = ci_sweep
    with ResultStore(url, create=False) as store:
        recipe = store.get_sweep("ci4")["settings"]["recipe"]
        trials = store.trials(sweep="ci4")
        completed = trials[trials["status"] == "completed"]  # stopped trials end without a result
        results = [store.trial(int(trial_id))["result"] for trial_id in completed["trial_id"]]
    assert recipe["name"] == "ml-100k" and recipe["values"]["weight_decay"] == 1e-3
    assert results and all(result["recipe"] == recipe for result in results)
    for config in trials["config"]:  # the ci space fixes weight decay and epochs: the space wins
        assert config["weight_decay"] == 1e-6 and config["max_epochs"] == 2
