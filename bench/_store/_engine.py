"""Engines: dialect settings (SQLite WAL, busy timeout, ``BEGIN IMMEDIATE`` for writes; server connect
timeouts), JSON that is always valid, and an eager connect that turns driver errors into one line."""

from __future__ import annotations

import json
import math
import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from kdbench.bench._store._urls import is_memory, redact, scrub
from kdbench.bench.errors import StoreError

__all__ = ["BUSY_TIMEOUT_S", "CONNECT_TIMEOUT_S", "connect", "dumps", "engine_kwargs", "failure", "plain"]

BUSY_TIMEOUT_S = 60  # SQLite: how long a writer waits for another one's lock
CONNECT_TIMEOUT_S = 3  # servers: how long an unreachable host may stall us


def plain(value: Any) -> Any:
    """JSON-ready copy: non-finite floats become ``null`` (PostgreSQL rejects ``NaN`` in JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return plain(value.tolist())
    return value


def dumps(value: Any) -> str:
    return json.dumps(plain(value), allow_nan=False, default=str)


def engine_kwargs(url: URL) -> dict[str, Any]:
    """``create_engine`` keyword arguments for ``url``'s dialect (shared with Optuna's engine)."""
    if url.get_backend_name() == "sqlite":
        kwargs: dict[str, Any] = {"connect_args": {"timeout": BUSY_TIMEOUT_S}}
        if is_memory(url):
            kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        return kwargs
    connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": CONNECT_TIMEOUT_S}
    return {"connect_args": connect_args, "pool_pre_ping": True}


def connect(url: URL, *, wal: bool = True) -> Engine:
    """An engine for ``url``, checked by connecting once; :class:`StoreError` (one line) if that fails.

    ``wal``: switch a SQLite file to WAL mode (kept in the file, so once at creation is enough). Readers and
    the migrations pass False: opening a file that is not ours, to refuse it, must not rewrite it.
    """
    try:
        engine = create_engine(url, json_serializer=dumps, **engine_kwargs(url))
    except (SQLAlchemyError, ValueError, TypeError) as e:  # a URL option the dialect cannot take
        raise failure("cannot open", url, e) from e
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect_wal if wal else _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, sqlite3.Error, ValueError, OSError) as e:  # ValueError: a NUL byte in a path
        engine.dispose()
        raise failure("cannot open", url, e) from e
    return engine


def failure(action: str, url: URL, error: BaseException) -> StoreError:
    """One line naming the (redacted) database and the driver's own first line."""
    cause = getattr(error, "orig", None) or error
    return StoreError(f"{action} {redact(url)}: {scrub(str(cause), url)}")


def _sqlite_on_connect(dbapi_conn: sqlite3.Connection, _record: object, *, wal: bool = False) -> None:
    # We emit BEGIN ourselves (below): pysqlite's implicit transactions neither cover DDL nor take the write
    # lock up front, and a deferred read-then-write transaction fails at once under WAL instead of waiting.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
    if wal:
        _set_wal(cursor)  # also the first read: "file is not a database" surfaces here
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_on_connect_wal(dbapi_conn: sqlite3.Connection, record: object) -> None:
    _sqlite_on_connect(dbapi_conn, record, wal=True)


def _set_wal(cursor: sqlite3.Cursor) -> None:
    # Two processes opening a new database at once can both try to switch it to WAL; the loser gets "database
    # is locked" at once (SQLite's busy handler does not cover that switch), so retry within the busy timeout.
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_on_begin(conn: Any) -> None:
    # Writes take the write lock when they start (waiting up to the busy timeout); reads never block.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("kd_write") else "BEGIN")
