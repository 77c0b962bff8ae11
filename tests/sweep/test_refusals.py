"""What a sweep refuses before anything starts (data, store or Ray), each in one line with nothing
written: bad flags, unreachable services, impossible search spaces, a foreign Optuna study of its name;
and what the checked space gives a trial."""

from __future__ import annotations

import logging
import pickle
import socket
import textwrap
from pathlib import Path

import optuna
import pytest

from kdbench.bench._sweep._plan import load_trial_space, max_student_epochs
from kdbench.bench.cli import main
from kdbench.bench.errors import SearchSpaceError, SweepError
from kdbench.bench.store import ResultStore
from kdbench.bench.sweep import run_sweep
from kdbench.search_spaces import available_spaces


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
