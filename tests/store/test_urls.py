"""Bad URLs give one clear line; passwords never show."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bench.errors import StoreError
from bench.store import DEFAULT_URL, ResultStore, redact


def _one_line(excinfo: pytest.ExceptionInfo[StoreError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and message
    return message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nosuchdb://host/x", "unknown database driver 'nosuchdb'"),
        ("not a url at all", "not a database URL"),
        ("mysql+nosuchdriver://u@h/db", "unknown database driver"),
    ],
)
def test_unparseable_or_unknown_driver(url: str, expected: str) -> None:
    with pytest.raises(StoreError) as excinfo:
        ResultStore(url)
    assert expected in _one_line(excinfo)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as excinfo:
        ResultStore(f"sqlite:///{tmp_path / 'absent' / 'kd.db'}")
    assert "does not exist" in _one_line(excinfo)
    assert not (tmp_path / "absent").exists()


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StoreError) as excinfo:
        ResultStore(f"sqlite:///{path}")
    assert "file is not a database" in _one_line(excinfo)
    assert path.read_text().startswith("these are my notes")  # untouched


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        ResultStore(f"sqlite:///{tmp_path}")


def test_unreachable_host_is_quick_and_hides_the_password() -> None:
    start = time.monotonic()
    with pytest.raises(StoreError) as excinfo:
        ResultStore("postgresql://kd:s3cret-pw@127.0.0.1:1/results")  # nothing listens on port 1
    message = _one_line(excinfo)
    assert "s3cret-pw" not in message and "kd:***@127.0.0.1:1" in message
    assert time.monotonic() - start < 10


def test_create_false_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no kdbench database"):
        ResultStore(f"sqlite:///{tmp_path / 'kd.db'}", create=False)
    assert not (tmp_path / "kd.db").exists()


def test_default_is_kdbench_db_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with ResultStore() as store:
        assert store.url == f"sqlite:///{tmp_path / 'kdbench.db'}"
    assert DEFAULT_URL == "sqlite:///kdbench.db" and (tmp_path / "kdbench.db").exists()


def test_relative_sqlite_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with ResultStore("sqlite:///sub.db") as store:
        assert store.url == f"sqlite:///{tmp_path / 'sub.db'}"
        assert os.path.isabs(store.url.removeprefix("sqlite:///"))


def test_redact() -> None:
    assert redact("postgresql+psycopg://kd:pw@db:5432/r") == "postgresql+psycopg://kd:***@db:5432/r"
    assert redact("sqlite:////x/y.db") == "sqlite:////x/y.db"
    assert "pw" not in redact("nonsense with pw")


def test_sqlite_pragmas(tmp_path: Path) -> None:
    # The pragmas are per connection: look at one of the store's own.
    with ResultStore(f"sqlite:///{tmp_path / 'kd.db'}") as store, store._engine.connect() as conn:
        pragma = conn.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA busy_timeout").scalar() >= 10_000
        assert pragma("PRAGMA foreign_keys").scalar() == 1
