"""The sweep's pieces without Ray: trial numbering and resume bookkeeping, the Pareto front, scheduler and
sampler choices, the store's settings update, impossible search spaces refused before anything starts, and
the CLI's one-line refusals (nothing written)."""

from __future__ import annotations

import logging
import math
import pickle
import socket
import textwrap
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
from kdbench.bench._sweep._options import OBJECTIVES, build_sampler, build_scheduler
from kdbench.bench._sweep._pareto import pareto_front
from kdbench.bench._sweep._plan import load_trial_space, max_student_epochs
from kdbench.bench.cli import main
from kdbench.bench.errors import SearchSpaceError, SweepError
from kdbench.bench.store import ResultStore
from kdbench.bench.sweep import run_sweep
from kdbench.search_spaces import available_spaces


def frame(rows: list[tuple[int, str, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["number", "status", "error"])


# ---- numbers and resume ----
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


# ---- objectives ----
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


# ---- the store addition ----
def test_update_sweep_settings_merges_top_level_keys(tmp_path: Path) -> None:
    with ResultStore(f"sqlite:///{tmp_path / 'kd.db'}") as store:
        store.create_sweep("s", space_name=None, space_yaml=None, dataset_fingerprint=None, objectives=[],
                           scheduler={}, searcher={}, study_name="s", num_trials=1,
                           settings={"a": 1, "runs": [1]})  # fmt: skip
        store.update_sweep_settings("s", {"runs": [1, 2], "pareto_front": [{"number": 0, "x": math.nan}]})
        assert store.get_sweep("s")["settings"] == {
            "a": 1, "runs": [1, 2], "pareto_front": [{"number": 0, "x": None}],
        }  # fmt: skip


# ---- the CLI's refusals ----
def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["sweep", *args])
    err = capsys.readouterr().err.strip()
    return code, err


def test_unknown_space_is_one_line_and_writes_nothing(capsys, tmp_path: Path) -> None:
    db = tmp_path / "kd.db"
    code, err = run_cli(capsys, "--space", "nosuch", "--db", f"sqlite:///{db}")
    assert code == 2 and len(err.splitlines()) == 1 and "unknown search space 'nosuch'" in err
    assert not db.exists()


def test_bad_database_url_is_one_line(capsys) -> None:
    code, err = run_cli(capsys, "--space", "ci", "--db", "nosuch://x")
    assert code == 2 and len(err.splitlines()) == 1 and "database" in err


def test_unreachable_address_is_one_line_and_writes_nothing(capsys, tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = tmp_path / "kd.db"
    code, err = run_cli(capsys, "--space", "ci", "--db", f"sqlite:///{db}", "--address", f"127.0.0.1:{port}")
    assert code == 2 and len(err.splitlines()) == 1 and f"no Ray cluster answers at 127.0.0.1:{port}" in err
    assert not db.exists()


def test_resume_refuses_recipe_flags_and_unknown_sweeps(capsys, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'kd.db'}"
    code, err = run_cli(capsys, "--resume", "x", "--space", "ci", "--trials", "3", "--db", db)
    assert code == 2 and "drop --space, --trials" in err
    ResultStore(db).close()
    code, err = run_cli(capsys, "--resume", "x", "--db", db)
    assert code == 2 and len(err.splitlines()) == 1 and "no sweep named 'x'" in err


def test_bad_resources_and_scheduler_combinations_are_refused(capsys, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'kd.db'}"
    code, err = run_cli(capsys, "--space", "ci", "--db", db, "--concurrency", "0")
    assert code == 2 and "--concurrency must be an integer >= 1" in err
    code, err = run_cli(capsys, "--space", "ci", "--db", db, "--gpus-per-trial", "1.5")
    assert code == 2 and "whole number" in err
    code, err = run_cli(
        capsys, "--space", "ci", "--db", db, "--objective", "auc+flops", "--scheduler", "asha"
    )
    assert code == 2 and "needs --scheduler none" in err
    assert not (tmp_path / "kd.db").exists()


# ---- impossible spaces: refused before data, store or Ray ----
class Started(Exception):
    """Raised by the stand-ins for data preparation and Ray: the sweep got past its checks."""


@pytest.fixture
def nothing_may_start(monkeypatch: pytest.MonkeyPatch) -> None:
    def started(*args: object, **kwargs: object) -> None:
        raise Started

    monkeypatch.setattr("kdbench.bench.data.prepare", started)
    monkeypatch.setattr("kdbench.bench._sweep._ray.connected", started)


# name: (YAML, what the one-line refusal starts with after the file name)
IMPOSSIBLE_SPACES = {
    "fixed lr 'fast'": (
        'fixed: {lr: "fast"}\nparams:\n  depth: {int: [1, 3]}\n', ":1: fixed.lr: lr = 'fast'"
    ),
    "teacher rnn": (
        "params:\n  teacher: {choices: [crossnet, rnn]}\n", ":2: params.teacher: teacher = 'rnn'"
    ),
    "embedding size -4..0": (
        "params:\n  embedding_size: {int: [-4, 0]}\n", ":2: params.embedding_size: embedding_size = -4"
    ),
    "max_epochs 'two'": ('fixed: {max_epochs: "two"}\n', ":1: fixed.max_epochs: max_epochs = 'two'"),
    "max_epochs 0 among choices": ("params:\n  max_epochs: {choices: [10, 0]}\n", ":2: params.max_epochs"),
    "negative depth": ("params:\n  depth: {int: [-1, 4]}\n", ":2: params.depth: depth = -1"),
    "negative alpha": ("params:\n  alpha: {float: [-1.0, 1.0]}\n", ":2: params.alpha: alpha = -1"),
    "interaction kernal": ("params:\n  interaction: {choices: [inner, kernal]}\n", ":2: params.interaction"),
    "t_cin with a zero layer": (
        "params:\n  teacher: {choices: [crossnet, cin]}\n"
        "  t_cin: {choices: [[64, 0]], when: {teacher: cin}}\n",
        ":3: params.t_cin: t_cin = [64, 0]",
    ),
    "t_cin on the crossnet branch": (
        "params:\n  teacher: {choices: [crossnet, cin]}\n  t_cin: {choices: [[64, 64]]}\n",
        ":3: params.t_cin: t_cin = [64, 64] (a choice) together with teacher = 'crossnet'",
    ),
    "patience 0": ("fixed: {patience: 0}\n", ":1: fixed.patience: patience = 0"),
    "batch size 1024.0": ("params:\n  batch_size: {float: [512, 1024]}\n", ":2: params.batch_size"),
    "alpha and beta both 0": (
        "params:\n  alpha: {choices: [1, 0]}\n  beta: {choices: [500, 0]}\n",  # each 0 alone is fine
        ":2: params.alpha: alpha = 0 (a choice) together with beta = 0",
    ),
    "unknown key": ("params:\n  dropout: {float: [0.0, 0.5]}\n", ":2: params.dropout: unknown key"),
    "not UTF-8": (b"params:\n  depth: {int: [1, 3]}  # \xff\n", ":2: not UTF-8 text"),
    "a control character": ("params:\n  depth: {int: [1, 3]}\x1b\n", ":2: character U+001B"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(IMPOSSIBLE_SPACES), ids=list(IMPOSSIBLE_SPACES))
def test_an_impossible_space_is_refused_before_anything_starts(
    case: str, tmp_path: Path, nothing_may_start: None
) -> None:
    text, words = IMPOSSIBLE_SPACES[case]
    path = tmp_path / "impossible.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    db, ray = tmp_path / "kd.db", tmp_path / "ray"
    with pytest.raises(SearchSpaceError) as info:
        run_sweep(space=str(path), dataset="ml-100k", trials=4, db=f"sqlite:///{db}", teacher_cache=None,
                  ray_storage=str(ray), progress="quiet")  # fmt: skip
    message = str(info.value)
    assert len(message.splitlines()) == 1 and message.startswith(f"{path}{words}"), message
    assert not db.exists() and not ray.exists()


@pytest.mark.parametrize("name", ["quick", "default", "ci"])
def test_the_shipped_spaces_pass_the_check_and_reach_the_data(
    name: str, tmp_path: Path, nothing_may_start: None
) -> None:
    assert name in available_spaces()
    with pytest.raises(Started):
        run_sweep(space=name, trials=4, db=f"sqlite:///{tmp_path / 'kd.db'}", teacher_cache=None,
                  ray_storage=str(tmp_path / "ray"), progress="quiet")  # fmt: skip


def test_sweep_and_space_commands_give_the_same_verdict(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, nothing_may_start: None
) -> None:
    path = tmp_path / "teachers.yaml"
    path.write_text(textwrap.dedent("""\
        description: a teacher no trial knows, found only on its branch
        params:
          teacher: {choices: [crossnet, cin]}
          t_cin: {choices: [[200, 200, 200], [400, 400, 0]], when: {teacher: cin}}
        """))  # fmt: skip
    db = tmp_path / "kd.db"
    code, err = run_cli(capsys, "--space", str(path), "--db", f"sqlite:///{db}", "--quiet")
    expected = (
        f"kdbench: error: {path}:4: params.t_cin: t_cin = [400, 400, 0] (a choice) is not a valid trial "
        "config: t_cin must be a non-empty list of layer sizes >= 1, got [400, 400, 0]"
    )
    assert (code, err) == (2, expected) and not db.exists()
    for command in (["space", "show", str(path)], ["space", "sample", str(path), "-n", "3"]):
        assert main(command) == 2
        captured = capsys.readouterr()
        assert (captured.out, captured.err.strip()) == ("", expected)


def test_max_student_epochs_reads_the_checked_space() -> None:
    from kdbench.bench.recipes import recipe_for

    assert max_student_epochs(load_trial_space("ci")) == 2 * 2  # fixed by the space, whatever the recipe
    assert max_student_epochs(load_trial_space("ci"), recipe_for("ml-100k")) == 2 * 2
    assert max_student_epochs(load_trial_space("quick")) == 2 * 30  # left to the recipe; none: the defaults'
    assert max_student_epochs(load_trial_space("quick"), recipe_for("ml-100k")) == 2 * 40


def test_each_trial_config_is_the_recipe_under_the_spaces_values() -> None:
    import pickle

    import optuna

    from kdbench.bench._sweep._trainable import CONFIG_KEY
    from kdbench.bench._sweep._tuner import _DefineByRun
    from kdbench.bench.config import TrialConfig
    from kdbench.bench.recipes import recipe_for
    from kdbench.search_spaces import parse_space

    space = parse_space(
        "params:\n  teacher: {choices: [crossnet, dnn]}\n  lr: {float: [1.0e-4, 1.0e-3], log: true}\n"
    )
    define = pickle.loads(pickle.dumps(_DefineByRun(space, recipe_for("ml-100k"))))  # Tune pickles it
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    configs = [define(study.ask())[CONFIG_KEY] for _ in range(12)]
    assert {c["teacher"] for c in configs} == {"crossnet", "dnn"}
    for c in configs:
        assert c["weight_decay"] == 1e-3 and c["max_epochs"] == 40 and c["patience"] == 5  # the recipe's
        assert 1e-4 <= c["lr"] <= 1e-3  # the space's, over the recipe's 3e-3
        assert ("t_depth" in c) == (c["teacher"] == "crossnet")  # the recipe's teacher keys go with it
        TrialConfig.from_dict(c)


def test_rays_token_auth_notice_is_dropped_but_its_disabled_warning_stays(caplog: pytest.LogCaptureFixture):
    from kdbench.bench._sweep._ray import _TOKEN_LOGGER, _quiet_token_notice

    logger = logging.getLogger(_TOKEN_LOGGER)
    with caplog.at_level(logging.WARNING, logger=_TOKEN_LOGGER), _quiet_token_notice():
        logger.warning("Token authentication is enabled for this Ray cluster. Set RAY_AUTH_MODE=disabled ...")
        logger.warning("Token authentication is disabled for this Ray cluster. Anyone with ...")
    assert [r.getMessage()[:36] for r in caplog.records] == ["Token authentication is disabled for"]
    logger.warning("Token authentication is enabled for this Ray cluster.")  # outside a sweep's ray.init
    assert len(caplog.records) == 2


def test_no_scheduler_by_default() -> None:
    """Early student epochs did not rank trials on any dataset measured: a sweep stops none unless asked."""
    import inspect

    from kdbench.bench._sweep._options import SCHEDULERS
    from kdbench.bench.commands.sweep import RECIPE_DEFAULTS

    assert SCHEDULERS[0] == "none" and RECIPE_DEFAULTS["scheduler"] == "none"
    assert inspect.signature(run_sweep).parameters["scheduler"].default == "none"


# ---- a same-named Optuna study that is not this sweep's ----
@pytest.mark.parametrize("directions", [["minimize"], ["maximize", "minimize"]])
def test_a_foreign_study_of_the_sweeps_name_is_refused_before_any_trial(
    capsys, tmp_path: Path, directions
) -> None:
    db = f"sqlite:///{tmp_path / 'kd.db'}"
    ResultStore(db).close()
    study = optuna.create_study(study_name="s2", storage=db, directions=directions)
    for k in range(5):
        trial = study.ask()
        trial.suggest_float("x", -10.0, 10.0)
        study.tell(trial, [float(k)] * len(directions))
    code, err = run_cli(capsys, "--space", "ci", "--trials", "2", "--name", "s2", "--db", db)
    assert code == 2 and len(err.splitlines()) == 1
    assert "already holds an Optuna study named 's2' that is not a kdbench sweep" in err
    assert f"({'/'.join(directions)}, 5 trials, parameters x)" in err and "pick another --name" in err
    with ResultStore(db, create=False) as store:
        assert store.get_sweep("s2") is None  # nothing recorded
    assert len(optuna.load_study(study_name="s2", storage=db).trials) == 5  # nothing appended


def test_a_resumed_sweeps_study_must_still_optimise_its_directions(tmp_path: Path) -> None:
    from kdbench.bench._sweep._study import check_study

    db = f"sqlite:///{tmp_path / 'kd.db'}"
    optuna.create_study(study_name="mine", storage=db, direction="minimize")
    storage = optuna.storages.RDBStorage(db)
    with pytest.raises(SweepError, match="optimises minimize, not this sweep's maximize"):
        check_study(storage, "mine", ["maximize"], new=False, where="kd.db")
    check_study(storage, "mine", ["minimize"], new=False, where="kd.db")  # its own directions: fine
    check_study(storage, "absent", ["maximize"], new=True, where="kd.db")  # no study yet: the sweep makes it
