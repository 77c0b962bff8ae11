"""Database URLs: the default, validation with one-line errors, normalisation and password redaction."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from kdbench.bench.errors import StoreError

__all__ = ["DEFAULT_URL", "is_memory", "parse", "redact", "scrub"]

DEFAULT_URL = "sqlite:///kdbench.db"  # relative: the working directory


def redact(url: str | URL) -> str:
    """The URL with its password (if any) shown as ``***``; safe to print or write into a report."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except ArgumentError:
        return "<unparseable database URL>"
    return parsed.render_as_string(hide_password=True)


def scrub(message: str, url: URL) -> str:
    """``message`` cut to its first line, with ``url``'s password removed wherever a driver echoed it."""
    line = next((part.strip() for part in str(message).splitlines() if part.strip()), "unknown error")
    if url.password:
        line = line.replace(str(url.password), "***")
    return line


def is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def parse(raw: str | None, *, must_exist: bool = False) -> URL:
    """Validate a database URL and return it normalised, or raise :class:`StoreError` with one line.

    - ``None`` is :data:`DEFAULT_URL`; a relative SQLite path is made absolute against the working directory
      (so the URL handed to Optuna does not depend on where it is used).
    - ``postgresql://`` without a driver means psycopg 3 (the ``kdbench[postgres]`` extra), not psycopg2.
    - The dialect and its driver module must be importable (the hint names the pip package); async drivers
      are refused. A SQLite URL takes no query options; its file's folder must exist and, for a new file, be
      writable; with ``must_exist`` the file must exist too. Servers are checked later, by connecting.
    """
    text = DEFAULT_URL if raw is None else raw.strip()
    try:
        url = make_url(text)
    except ArgumentError as e:
        raise StoreError(f"not a database URL: {_EXPECTED}") from e
    except ValueError as e:  # SQLAlchemy parses the port with int(): "invalid literal for int() ...: 'abc'"
        port = str(e).rpartition(": ")[2]
        raise StoreError(f"not a database URL: its port {port} is not a number ({_EXPECTED})") from e
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    try:
        dialect = url.get_dialect()
    except NoSuchModuleError as e:
        raise StoreError(f"unknown database driver {url.drivername!r} in {redact(url)}") from e
    _check_driver(url, dialect)
    if url.get_backend_name() == "sqlite":
        if url.query:
            options = "&".join(f"{k}={v}" for k, v in url.query.items())
            raise StoreError(f"{redact(url)}: SQLite URLs take no options here (?{options}): remove them")
        if url.database == "":
            raise StoreError(f"{redact(url)} names no file: use sqlite:///path/to/results.db")
        if not is_memory(url):
            url = _check_sqlite_path(url, must_exist=must_exist)
    return url


_EXPECTED = "expected e.g. sqlite:///kdbench.db or postgresql://user@host:5432/db"

# driver -> (module to find, pip package to suggest)
_DRIVERS = {
    "pysqlite": ("sqlite3", None),  # standard library
    "psycopg": ("psycopg", "'psycopg[binary]'"),  # the kdbench[postgres] extra
    "psycopg2": ("psycopg2", "psycopg2-binary"),
    "pg8000": ("pg8000", "pg8000"),
    "mysqldb": ("MySQLdb", "mysqlclient"),
    "pymysql": ("pymysql", "PyMySQL"),
    "mysqlconnector": ("mysql.connector", "mysql-connector-python"),
    "mariadbconnector": ("mariadb", "mariadb"),
}


def _check_driver(url: URL, dialect: type) -> None:
    driver = str(getattr(dialect, "driver", "") or "")
    if getattr(dialect, "is_async", False):
        raise StoreError(
            f"{redact(url)} names the async driver {driver!r}; kdbench needs a blocking one "
            "(e.g. postgresql+psycopg://, mysql+pymysql://)"
        )
    module, package = _DRIVERS.get(driver, (None, None))
    if module is None:  # a dialect we have no table entry for: ask it to import its driver
        try:
            dialect.import_dbapi()  # type: ignore[attr-defined]
        except ImportError as e:
            raise StoreError(
                f"database driver {driver!r} for {redact(url)} is not installed: install the Python package "
                "that provides it"
            ) from e
        return
    try:
        found = importlib.util.find_spec(module) is not None
    except ImportError:  # a dotted module whose parent package is missing
        found = False
    if not found:
        hint = f"pip install {package}" if package else "this Python was built without it"
        raise StoreError(f"database driver {driver!r} for {redact(url)} is not installed ({hint})")


def _check_sqlite_path(url: URL, *, must_exist: bool) -> URL:
    try:
        path = Path(str(url.database)).expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
        folder = path.parent
        if not folder.exists():
            raise StoreError(f"cannot open {redact(url)}: directory {folder} does not exist")
        if not folder.is_dir():
            raise StoreError(f"cannot open {redact(url)}: {folder} is a file, not a directory")
        if path.is_dir():
            raise StoreError(f"cannot open {redact(url)}: {path} is a directory, not a database file")
        exists = path.exists()
    except (OSError, ValueError, RuntimeError) as e:  # a name too long, a NUL byte, ~nosuchuser
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise StoreError(f"cannot open {redact(url)}: {reason}") from e
    if must_exist and not exists:
        raise StoreError(
            f"no kdbench database at {path} (run a sweep or `kdbench train` first, or pass --db)"
        )
    if not exists and not os.access(folder, os.W_OK):
        raise StoreError(f"cannot create {path}: directory {folder} is not writable")
    return url.set(database=str(path))
