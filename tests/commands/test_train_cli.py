"""``kdbench train``: the config's layers (dataset recipe < --config < --set), and ``--db``: the trial's row
is written before training (an unwritable database fails at once), a finished trial is recorded completed, a
failed or interrupted one failed with its reason."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from kdbench.bench.cli import main
from kdbench.bench.commands import train as train_command
from kdbench.bench.errors import StoreError, TrialError
from kdbench.bench.recipes import recipe_for
from kdbench.bench.store import ResultStore
from tests.data._make import criteo_row, write_criteo

FAST = {"max_epochs": 1, "patience": 1, "embedding_size": 4, "batch_size": 256}


@pytest.fixture
def table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A 600-row CSV with two categorical fields and its schema, in a cache of its own: each test's
    clicks.csv is another file, and a name belongs to one file."""
    monkeypatch.setenv("KDBENCH_HOME", str(tmp_path / "kdbench_home"))
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "clicked": rng.integers(0, 2, 600),
            "city": rng.choice(["Zürich", "Genève", "東京", "Lyon"], 600),
            "device": rng.choice(["phone", "tablet", "desktop"], 600),
        }
    )
    csv = tmp_path / "clicks.csv"
    frame.to_csv(csv, index=False)
    schema = tmp_path / "clicks.yaml"
    schema.write_text("label: clicked\ncategorical: [city, device]\n", encoding="utf-8")
    return str(csv), str(schema)


def _train(table: tuple[str, str], db: str, **kwargs):
    return train_command.train(
        dataset="csv", path=table[0], schema=table[1], config=FAST, db=db, quiet=True,
        teacher_cache=None, threads=1, **kwargs,
    )  # fmt: skip


def test_a_finished_trial_is_recorded_completed(table, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'kd.db'}"
    result = _train(table, url)
    with ResultStore(url, create=False) as store:
        trials = store.trials(sweep="adhoc")
    assert list(trials["status"]) == ["completed"]
    assert trials["student_test_auc"].iloc[0] == pytest.approx(result["student"]["test_auc"])


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (TrialError("non-finite training loss in distillation epoch 1"), "TrialError: non-finite"),
        (RuntimeError("CUDA error: an illegal memory access"), "RuntimeError: CUDA error"),
        (KeyboardInterrupt(), "interrupted"),
    ],
)
def test_a_failed_trial_is_recorded_failed_with_its_reason(table, tmp_path, monkeypatch, error, reason):
    url = f"sqlite:///{tmp_path / 'kd.db'}"

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr("kdbench.bench.trial.run_trial", fail)
    with pytest.raises(type(error)):
        _train(table, url)
    with ResultStore(url, create=False) as store:
        trials = store.trials(sweep="adhoc")
    assert list(trials["status"]) == ["failed"] and trials["error"].iloc[0].startswith(reason)
    assert trials["dataset_fingerprint"].iloc[0] and trials["config_hash"].iloc[0]


def test_the_cli_reports_a_failed_trial_in_one_line(table, tmp_path, monkeypatch, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'kd.db'}"

    def fail(*args, **kwargs):
        raise TrialError("non-finite training loss in finetuning epoch 3")

    monkeypatch.setattr("kdbench.bench.trial.run_trial", fail)
    argv = ["train", "--dataset", "csv", "--path", table[0], "--schema", table[1], "--db", url, "--quiet"]
    assert main([*argv, "--no-teacher-cache", "--set", "max_epochs=1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "non-finite training loss in finetuning epoch 3" in err


@pytest.mark.postgres
def test_a_read_only_database_is_refused_before_training(table, postgres_url, monkeypatch) -> None:
    ResultStore(postgres_url).close()  # the schema exists; this connection may write
    read_only = sa.make_url(postgres_url)
    options = read_only.query["options"] + " -cdefault_transaction_read_only=on"
    read_only = read_only.update_query_dict({"options": options}).render_as_string(hide_password=False)

    def must_not_train(*args, **kwargs):
        raise AssertionError("trained on a database it cannot write")

    monkeypatch.setattr("kdbench.bench.trial.run_trial", must_not_train)
    with pytest.raises(StoreError, match="read-only"):
        _train(table, read_only)
    with ResultStore(postgres_url, create=False) as store:
        assert store.trials().empty


def test_a_json_path_in_a_missing_folder_is_refused_before_any_work(table, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("kdbench.bench.data.prepare", lambda *a, **k: pytest.fail("prepared data"))
    out = tmp_path / "missing" / "result.json"
    argv = ["train", "--dataset", "csv", "--path", table[0], "--schema", table[1], "--json", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err and not out.parent.exists()


# ---- recipes ---------------------------------------------------------------------------------------------
@pytest.fixture
def criteo(tmp_path: Path) -> str:
    """600 Criteo rows (label, I1-I2, C1-C2 set; the rest missing), a source with the paper's recipe."""
    rng = np.random.default_rng(1)
    hexes = ["68fd1e64", "05db9164", "8cf07265", "be589b51"]
    rows = []
    for k in range(600):
        cats = [hexes[rng.integers(4)], hexes[rng.integers(4)]]
        label = int(cats[0] == hexes[0]) ^ int(rng.random() < 0.2)
        rows.append(criteo_row(label, ints=[int(rng.integers(0, 40)), k % 5], cats=cats))
    return str(write_criteo(tmp_path / "train.txt", rows))


def _cli_train(criteo: str, tmp_path: Path, *extra: str) -> dict:
    config = tmp_path / "config.yaml"
    config.write_text("lr: 1.0e-3\npatience: 1\nmax_epochs: 1\nembedding_size: 4\nbatch_size: 256\n")
    out = tmp_path / "result.json"
    argv = ["train", "--dataset", "criteo", "--path", criteo, "--config", str(config), "--json", str(out)]
    assert main([*argv, "--quiet", "--no-teacher-cache", "--threads", "1", *extra]) == 0
    return json.loads(out.read_text())


def test_the_config_is_the_fitted_recipe_under_the_config_file_under_set(criteo, tmp_path, capsys) -> None:
    result = _cli_train(criteo, tmp_path, "--set", "lr=2e-3", "--set", "t_depth=2")
    config, recipe = result["config"], result["recipe"]
    assert config["lr"] == 2e-3 and config["t_depth"] == 2  # --set beats --config and the recipe
    assert (config["patience"], config["max_epochs"], config["embedding_size"]) == (1, 1, 4)  # --config
    # 600 rows are no Criteo: the recipe is fitted to their size, not the paper's for 45 M rows.
    assert recipe["name"] == "fitted" and config["weight_decay"] == recipe["values"]["weight_decay"]
    assert config["weight_decay"] > recipe_for("criteo").values["weight_decay"]
    out = " ".join(capsys.readouterr().out.split())
    assert "recipe fitted: " in out and "The criteo recipe is for its full data" in out


def test_no_recipe_starts_from_the_defaults(criteo, tmp_path) -> None:
    result = _cli_train(criteo, tmp_path, "--no-recipe")
    assert result["recipe"] is None and result["config"]["weight_decay"] == 1e-6  # the trial config default
    assert result["config"]["lr"] == 1e-3  # the config file still applies


def test_a_config_error_names_the_recipe_value_involved(criteo, capsys) -> None:
    assert main(["train", "--dataset", "criteo", "--path", criteo, "--set", "t_cin=[8]"]) == 2
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1 and "'t_cin' applies only to teacher 'cin' or 'xdeepfm', not 'crossnet'" in err
    )
    assert "teacher='crossnet' from the criteo recipe" in err


def test_a_table_trains_from_the_recipe_fitted_to_it(table, tmp_path) -> None:
    result = _train(table, f"sqlite:///{tmp_path / 'kd.db'}")
    assert result["recipe"]["name"] == "fitted"
    assert result["config"]["weight_decay"] == result["recipe"]["values"]["weight_decay"] > 1e-6


def test_an_in_memory_database_is_refused_before_any_work(table, monkeypatch, capsys) -> None:
    monkeypatch.setattr("kdbench.bench.data.prepare", lambda *a, **k: pytest.fail("prepared data"))
    argv = ["train", "--dataset", "csv", "--path", table[0], "--schema", table[1], "--db", "sqlite://"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "in-memory database would lose the results" in err


def test_a_log_at_80_columns_has_whole_lines_and_names(table, tmp_path, monkeypatch, capsys) -> None:
    """``COLUMNS=80 kdbench train ... > log.txt``: nothing cut to an ellipsis, no line wrapped."""
    monkeypatch.setenv("COLUMNS", "80")
    settings = [f"--set={k}={v}" for k, v in FAST.items()]
    argv = ["train", "--dataset", "csv", "--path", table[0], "--schema", table[1], "--no-teacher-cache",
            "--artifacts", str(tmp_path / "artifacts"), *settings]  # fmt: skip
    assert main(argv) == 0
    log = capsys.readouterr().out
    assert "…" not in log
    for phase in ("teacher_training", "distillation", "finetuning"):
        assert f"│ {phase}" in log  # the phase table keeps whole names
    config_line = next(line for line in log.splitlines() if line.startswith("config "))
    assert config_line.endswith("}")  # the config's JSON on one line, not wrapped at 80
    assert max(len(line) for line in log.splitlines()) > 80


def test_threads_default_to_half_the_cpus_unless_omp_num_threads_says(monkeypatch) -> None:
    from kdbench.bench._trial import _threads as threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    for cpus, expected in ((1, 1), (2, 1), (16, 8), (64, 8)):
        monkeypatch.setattr(threads, "available_cpus", lambda cpus=cpus: cpus)
        assert threads.default_threads() == expected
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.default_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "junk")
    assert threads.default_threads() == 8  # a value that is no count is ignored


def _signalled_train(table, url: str, signum: int) -> tuple[int, str]:
    """Run `train --db` in a process until its first epoch line (its row is written, running), send it
    ``signum``; returns its exit status and stderr."""
    import os
    import subprocess
    import sys
    import time

    argv = [sys.executable, "-m", "kdbench", "train", "--dataset", "csv", "--path", table[0]]
    argv += ["--schema", table[1], "--db", url, "--no-teacher-cache", "--no-artifacts", "--no-baseline"]
    argv += [
        "--threads",
        "1",
        "--set",
        "max_epochs=100000",
        "--set",
        "patience=100000",
        "--set",
        "batch_size=16",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    repo = Path(__file__).resolve().parents[2]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    with subprocess.Popen(argv, cwd=repo, env=env, **pipes) as p:
        for line in p.stdout:
            if "teacher_training" in line and "epoch" in line:
                break
        time.sleep(0.2)
        p.send_signal(signum)
        _, err = p.communicate(timeout=120)
    return p.returncode, err


def test_sigterm_settles_the_recorded_row_like_ctrl_c(table, tmp_path) -> None:
    """`kill PID` during `train --db`: exit 143, the row failed "interrupted (SIGTERM)", not running."""
    import signal

    url = f"sqlite:///{tmp_path / 'kd.db'}"
    status, err = _signalled_train(table, url, signal.SIGTERM)
    assert status == 143, err
    assert err.strip().splitlines()[-1] == "kdbench: interrupted" and "Traceback" not in err
    with ResultStore(url, create=False) as store:
        trials = store.trials(sweep="adhoc")
    assert list(trials["status"]) == ["failed"] and list(trials["error"]) == ["interrupted (SIGTERM)"]


def _killed_train(table, url: str) -> None:
    """`train --db` SIGKILLed after its first epoch: its row stays running."""
    import signal

    assert _signalled_train(table, url, signal.SIGKILL)[0] == -signal.SIGKILL


def test_a_killed_trains_row_is_found_and_settled_by_db_repair(table, tmp_path, capsys) -> None:
    import socket

    url = f"sqlite:///{tmp_path / 'kd.db'}"
    _killed_train(table, url)
    with ResultStore(url, create=False) as store:
        (row,) = store.trials(sweep="adhoc").itertuples()
    assert row.status == "running" and row.node.startswith(f"{socket.gethostname()} pid ")

    assert main(["db", "info", "--db", url]) == 0
    out = capsys.readouterr().out
    assert f"running trials whose `train` process was killed: {row.trial_id}; `kdbench db repair" in out
    assert main(["db", "repair", "--db", url]) == 0
    assert (
        f"settled as failed 1 trial(s) whose `train` process is gone: {row.trial_id}"
        in capsys.readouterr().out
    )
    with ResultStore(url, create=False) as store:
        settled = store.trials(sweep="adhoc").iloc[0]
    assert settled["status"] == "failed" and settled["error"].startswith("interrupted: its process (")
    assert main(["db", "repair", "--db", url]) == 0
    assert "nothing to repair" in capsys.readouterr().out


def test_the_next_train_settles_a_killed_trains_row(table, tmp_path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'kd.db'}"
    _killed_train(table, url)
    _train(table, url)
    assert "settled 1 trial(s) whose `train` process was killed as failed" in capsys.readouterr().out
    with ResultStore(url, create=False) as store:
        trials = store.trials(sweep="adhoc").sort_values("number")
    assert list(trials["status"]) == ["failed", "completed"]


def test_a_running_row_of_a_live_train_or_another_host_is_left_alone(table, tmp_path) -> None:
    import os

    from kdbench.bench.commands._trainers import settle_gone, stale_trials

    url = f"sqlite:///{tmp_path / 'kd.db'}"
    result = _train(table, url)
    with ResultStore(url) as store:
        env = store.record_environment({"python": "3.11"})
        common = dict(config=result["config"], config_hash="a" * 16, config_family="b" * 16, seed=1,
                      dataset_fingerprint=result["dataset_fingerprint"], environment_id=env)  # fmt: skip
        store.start_trial(None, None, node=f"{os.uname().nodename} pid {os.getpid()}", **common)  # alive: us
        store.start_trial(None, None, node="another-host.example pid 1", **common)
        stale = stale_trials(store)
        assert stale.gone == [] and stale.elsewhere == 1
        assert settle_gone(store) == []


def test_report_settles_a_killed_trains_row_before_building(table, tmp_path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'kd.db'}"
    _killed_train(table, url)
    assert main(["report", "--db", url, "--out", str(tmp_path / "site"), "--no-baselines"]) == 0
    assert "settled as failed the trial(s) whose `train` process was killed: " in capsys.readouterr().out
    with ResultStore(url, create=False) as store:
        assert list(store.trials(sweep="adhoc")["status"]) == ["failed"]
    pages = [p.read_text(encoding="utf-8") for p in (tmp_path / "site").rglob("*.html")]
    assert any("interrupted: its process (" in page for page in pages)  # the error shown, not "running"
