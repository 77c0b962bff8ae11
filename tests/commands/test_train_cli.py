"""``kdbench train --db``: the trial's row is written before training (an unwritable database fails at
once), a finished trial is recorded completed, a failed or interrupted one failed with its reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from bench.cli import main
from bench.commands import train as train_command
from bench.errors import StoreError, TrialError
from bench.store import ResultStore

FAST = {"max_epochs": 1, "patience": 1, "embedding_size": 4, "batch_size": 256}


@pytest.fixture
def table(tmp_path: Path) -> tuple[str, str]:
    """A 600-row CSV with two categorical fields and its schema."""
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

    monkeypatch.setattr("bench.trial.run_trial", fail)
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

    monkeypatch.setattr("bench.trial.run_trial", fail)
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

    monkeypatch.setattr("bench.trial.run_trial", must_not_train)
    with pytest.raises(StoreError, match="read-only"):
        _train(table, read_only)
    with ResultStore(postgres_url, create=False) as store:
        assert store.trials().empty


def test_a_json_path_in_a_missing_folder_is_refused_before_any_work(table, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("bench.data.prepare", lambda *a, **k: pytest.fail("prepared data"))
    out = tmp_path / "missing" / "result.json"
    argv = ["train", "--dataset", "csv", "--path", table[0], "--schema", table[1], "--json", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err and not out.parent.exists()
