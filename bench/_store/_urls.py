"""Database URLs: the default, validation with one-line errors, normalisation and password redaction."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from bench.errors import StoreError

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
    - The dialect and its driver module must be importable; a SQLite file's folder must exist and, with
      ``must_exist``, the file too. Servers are checked later, by connecting.
    """
    text = DEFAULT_URL if raw is None else raw.strip()
    try:
        url = make_url(text)
    except ArgumentError as e:
        raise StoreError(
            "not a database URL (expected e.g. sqlite:///kdbench.db or postgresql://user@host/db)"
        ) from e
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    try:
        dialect = url.get_dialect()
    except NoSuchModuleError as e:
        raise StoreError(f"unknown database driver {url.drivername!r} in {redact(url)}") from e
    driver = getattr(dialect, "driver", None)
    module = _DRIVER_MODULES.get(driver or "", driver)
    if module and importlib.util.find_spec(module) is None:
        raise StoreError(
            f"database driver {driver!r} for {redact(url)} is not installed (pip install {module})"
        )
    if url.get_backend_name() == "sqlite" and not is_memory(url):
        url = _check_sqlite_path(url, must_exist=must_exist)
    return url


_DRIVER_MODULES = {"pysqlite": "sqlite3", "psycopg": "psycopg", "psycopg2": "psycopg2", "pymysql": "pymysql"}


def _check_sqlite_path(url: URL, *, must_exist: bool) -> URL:
    path = Path(str(url.database)).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    if not path.parent.is_dir():
        raise StoreError(f"cannot open {redact(url)}: directory {path.parent} does not exist")
    if path.is_dir():
        raise StoreError(f"cannot open {redact(url)}: {path} is a directory, not a database file")
    if must_exist and not path.exists():
        raise StoreError(
            f"no kdbench database at {path} (run a sweep or `kdbench train` first, or pass --db)"
        )
    return url.set(database=str(path))
