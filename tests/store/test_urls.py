"""Bad URLs give one clear line and write nothing; passwords never show."""

from __future__ import annotations

import importlib.util
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from kdbench.bench.errors import StoreError
from kdbench.bench.store import DEFAULT_URL, ResultStore, redact

from ._readonly import read_only


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
        ("", "not a database URL"),
        ("   ", "not a database URL"),
        ("http://example.com/results", "unknown database driver 'http'"),
        ("postgresql://u@localhost:abc/db", "its port 'abc' is not a number"),
        ("postgresql://u@[::1:5432/db", "is not a number"),
        ("postgresql+asyncpg://u@localhost/db", "async driver 'asyncpg'"),
        ("sqlite+aiosqlite:///kd.db", "async driver 'aiosqlite'"),
        ("sqlite:///", "names no file"),
        ("sqlite:///kd.db?mode=ro", "SQLite URLs take no options here (?mode=ro)"),
        ("postgresql://u@127.0.0.1:1/db?connect_timeout=abc", "connect_timeout"),
    ],
)
def test_malformed_urls(url: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError) as excinfo:
        ResultStore(url)
    assert expected in _one_line(excinfo)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "module", "hint"),
    [
        ("mysql://u@localhost/db", "MySQLdb", "pip install mysqlclient"),
        ("mysql+pymysql://u@localhost/db", "pymysql", "pip install PyMySQL"),
        ("mysql+mysqlconnector://u@localhost/db", "mysql.connector", "pip install mysql-connector-python"),
        ("postgresql+psycopg2://u@localhost/db", "psycopg2", "pip install psycopg2-binary"),
    ],
)
def test_a_missing_driver_names_the_pip_package(url: str, module: str, hint: str) -> None:
    try:
        installed = importlib.util.find_spec(module) is not None
    except ImportError:
        installed = False
    if installed:
        pytest.skip(f"{module} is installed here")
    with pytest.raises(StoreError) as excinfo:
        ResultStore(url)
    assert hint in _one_line(excinfo)


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


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("notes.txt/kd.db", "notes.txt is a file, not a directory"),
        ("k" * 300 + ".db", "File name too long"),
        ("nul\x00byte.db", "embedded null byte"),
    ],
    ids=["file-as-folder", "name-too-long", "nul-byte"],
)
def test_odd_sqlite_paths(tmp_path: Path, path: str, expected: str) -> None:
    (tmp_path / "notes.txt").write_text("notes\n")
    with pytest.raises(StoreError) as excinfo:
        ResultStore(f"sqlite:///{tmp_path}/{path}")
    assert expected in _one_line(excinfo)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_an_unknown_home_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as excinfo:
        ResultStore("sqlite:///~no-such-user-kdbench/kd.db")
    assert "cannot open" in _one_line(excinfo)


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    """An existing folder no one may create files in (immutable for root, mode 0555 otherwise)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    with read_only(folder):
        yield folder


def test_an_unwritable_folder_is_refused_before_anything_is_created(locked: Path) -> None:
    with pytest.raises(StoreError) as excinfo:
        ResultStore(f"sqlite:///{locked / 'kd.db'}")
    assert f"directory {locked} is not writable" in _one_line(excinfo)
    assert list(locked.iterdir()) == []


@pytest.mark.parametrize("name", ["my results.db", "résultats ✓ 日本語.db"])
def test_spaces_and_non_ascii_in_a_sqlite_path_work(tmp_path: Path, name: str) -> None:
    with ResultStore(f"sqlite:///{tmp_path / name}") as store:
        store.check_writable()
        assert make_url(store.url).database == str(tmp_path / name)  # rendered %-encoded, read back whole
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_unreachable_host_is_quick_and_hides_the_password() -> None:
    start = time.monotonic()
    with pytest.raises(StoreError) as excinfo:
        ResultStore("postgresql://kd:s3cret-pw@127.0.0.1:1/results")  # nothing listens on port 1
    message = _one_line(excinfo)
    assert "s3cret-pw" not in message and "kd:***@127.0.0.1:1" in message
    assert time.monotonic() - start < 10


def test_a_server_that_never_answers_times_out_in_one_line() -> None:
    silent = socket.socket()  # accepts connections and says nothing: a firewall, a wrong service
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    port = silent.getsockname()[1]
    start = time.monotonic()
    try:
        with pytest.raises(StoreError) as excinfo:
            ResultStore(f"postgresql://kd:pass word@127.0.0.1:{port}/results")
    finally:
        silent.close()
    message = _one_line(excinfo)
    assert f"cannot open postgresql+psycopg://kd:***@127.0.0.1:{port}/results" in message
    assert "pass word" not in message and time.monotonic() - start < 10


def test_an_unresolvable_host() -> None:
    with pytest.raises(StoreError) as excinfo:
        ResultStore("postgresql://kd@no-such-host.invalid/results")
    assert "no-such-host.invalid" in _one_line(excinfo)


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
