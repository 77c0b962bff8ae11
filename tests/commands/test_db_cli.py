"""``kdbench db info|upgrade`` and ``kdbench export``: the functions and the parsed command line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from kdbench.bench.cli import main
from kdbench.bench.commands import db as db_command
from kdbench.bench.errors import StoreError
from kdbench.bench.store import ResultStore, schema_version_supported
from tests.store import _factories as f

TABLES = (
    "sweeps",
    "trials",
    "phases",
    "epochs",
    "datasets",
    "baselines",
    "environments",
    "regression_runs",
    "regression_cases",
)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'results.db'}"
    with ResultStore(url) as store:
        env = store.record_environment(f.environment())
        store.record_dataset(f.dataset_info())
        store.create_sweep("s1", **f.sweep_kwargs())
        store.record_trial("s1", 0, result=f.result(seed=1), environment_id=env)
        store.record_trial("s1", 1, result=f.result(seed=2, teacher="cin", t_cin=[8, 8]), environment_id=env)
        store.record_regression_run("smoke", environment_id=env, summary={"ok": True}, cases=[{"name": "a"}])
        store.record_baselines([f.baseline_result("gbdt"), f.baseline_result("lr")], environment_id=env)
    return url


def test_info_function_counts_rows(db: str) -> None:
    facts = db_command.info(db=db)
    assert facts["schema_version"] == facts["supported_schema_version"] == schema_version_supported() == 3
    assert (
        facts["counts"]["trials"] == 2 and facts["counts"]["epochs"] == 12 and facts["counts"]["sweeps"] == 1
    )


def test_info_command_prints_a_redacted_url(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "info", "--db", db]) == 0
    out = capsys.readouterr().out
    assert f"database: {db}" in out and "schema version: 3 (this kdbench: 3)" in out and "trials: 2" in out


def test_upgrade_command_on_a_current_database(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert db_command.upgrade(db=db) == (3, 3)
    assert main(["db", "upgrade", "--db", db]) == 0
    assert "already current" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_writes_every_table(
    db: str, tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export" / fmt
    assert main(["export", "--db", db, "--format", fmt, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.{fmt}" for t in TABLES)
    assert len(capsys.readouterr().out.splitlines()) == len(TABLES)
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    trials = read(out / f"trials.{fmt}")
    assert len(trials) == 2 and json.loads(trials["config"][0])["seed"] == 1
    assert json.loads(trials["param_t_cin"][1]) == [8, 8] and pd.isna(trials["param_t_cin"][0])
    assert len(read(out / f"epochs.{fmt}")) == 12
    assert json.loads(read(out / f"regression_cases.{fmt}")["case"][0]) == {"name": "a"}
    baselines = read(out / f"baselines.{fmt}")
    assert sorted(baselines["model"]) == ["gbdt", "lr"] and json.loads(baselines["params"][0])["iterations"]


def test_export_refuses_a_file_as_folder(db: str, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="not a folder"):
        db_command.export(db=db, format="csv", out=tmp_path / "file")


def test_read_commands_do_not_create_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'absent.db'}"
    assert main(["db", "info", "--db", url]) == 2
    assert main(["export", "--db", url, "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "absent.db").exists()
    assert "no kdbench database" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("make_url", "expected"),
    [
        (lambda d: "nosuch://x/y", "unknown database driver"),
        (lambda d: "postgresql://kd:hunter2@127.0.0.1:1/results", "cannot open postgresql+psycopg://kd:***@"),
        (lambda d: f"sqlite:///{d / 'missing' / 'kd.db'}", "does not exist"),
        (lambda d: f"sqlite:///{d / 'notes.txt'}", "file is not a database"),
        (lambda d: "postgresql://kd:hunter2@localhost:abc/results", "its port 'abc' is not a number"),
        (lambda d: "", "not a database URL"),
        (lambda d: "sqlite:///", "names no file"),
        (lambda d: f"sqlite:///{d / 'notes.txt' / 'kd.db'}", "is a file, not a directory"),
        (lambda d: f"sqlite:///{d / ('k' * 300)}.db", "File name too long"),
    ],
    ids=[
        "unknown-driver",
        "unreachable-host",
        "missing-directory",
        "not-a-database",
        "port-not-a-number",
        "empty",
        "sqlite-no-file",
        "file-as-folder",
        "name-too-long",
    ],
)
@pytest.mark.parametrize("command", [["db", "info"], ["db", "upgrade"], ["export", "--out", "OUT"]])
def test_bad_urls_give_one_line_and_a_nonzero_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_url, expected: str, command: list[str]
) -> None:
    (tmp_path / "notes.txt").write_text("not a database, just notes\n" * 50)
    argv = [str(tmp_path / "out") if arg == "OUT" else arg for arg in command]
    assert main([*argv, "--db", make_url(tmp_path)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kdbench: error:") and expected in lines[0]
    assert "hunter2" not in captured.err + captured.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # nothing written, no --out folder


@pytest.mark.parametrize("command", [["db", "info"], ["db", "upgrade"], ["export", "--out", "OUT"]])
def test_a_missing_mysql_driver_names_the_real_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    try:
        import MySQLdb  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("mysqlclient is installed here")
    argv = [str(tmp_path / "out") if arg == "OUT" else arg for arg in command]
    assert main([*argv, "--db", "mysql://kd@localhost/results"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "(pip install mysqlclient)" in err and "mysqldb)" not in err
    assert list(tmp_path.iterdir()) == []


def test_db_without_action_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db"]) == 2
    assert "info" in capsys.readouterr().out
