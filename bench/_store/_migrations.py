"""Schema versions: create a fresh schema, refuse a database of another version, upgrade an older one.

``kd_meta.schema_version`` records the version. :data:`MIGRATIONS` maps a version ``v`` to the function
that turns a database of version ``v`` into ``v + 1``; :func:`upgrade` runs them in order inside one
transaction, so a failing step leaves the database as it was (on backends with transactional DDL:
PostgreSQL and SQLite; MySQL commits each ALTER, so its steps are written to be rerun). Migrations add or
convert; they never drop user data.

- 1 -> 2: free-text columns from VARCHAR(256) to TEXT (:mod:`kdbench.bench._store._upgrade_v1`).
- 2 -> 3: the baselines' table, ``kd_baseline`` (:mod:`kdbench.bench._store._upgrade_v2`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from sqlalchemy import Connection, Engine, Table, inspect, select, text

from kdbench.bench._store import _upgrade_v1, _upgrade_v2
from kdbench.bench._store._schema import TABLE_PREFIX, Base, Meta
from kdbench.bench._store._urls import redact
from kdbench.bench.errors import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "prepare", "read_version", "upgrade"]

SCHEMA_VERSION = 3
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _upgrade_v1.to_v2, 2: _upgrade_v2.to_v3}

_VERSION_KEY = "schema_version"
# cast: a declarative class's __table__ is its Table (SQLAlchemy types it as the wider FromClause)
_META_TABLE = cast(Table, Meta.__table__)
_PG_LOCK_KEY = 0x6B64_6265  # "kdbe": serialises schema creation/upgrade between processes


def read_version(conn: Connection) -> int | None:
    """The recorded schema version; ``None`` when the database has no kdbench tables at all.

    A database with ``kd_*`` tables but no recorded version is not one kdbench wrote: :class:`StoreError`.
    """
    tables = inspect(conn).get_table_names()
    if Meta.__tablename__ not in tables:
        ours = sorted(t for t in tables if t.startswith(TABLE_PREFIX))
        if ours:
            raise StoreError(
                f"{redact(conn.engine.url)} has kdbench-like tables ({', '.join(ours)}) but no schema "
                "version: not a database kdbench can read"
            )
        return None
    raw = conn.execute(select(Meta.value).where(Meta.key == _VERSION_KEY)).scalar_one_or_none()
    if raw is None or not raw.isdigit():
        raise StoreError(f"{redact(conn.engine.url)} records no valid schema version ({raw!r})")
    return int(raw)


def prepare(engine: Engine, *, create: bool) -> int:
    """Create the schema in a database without kdbench tables (if ``create``), else check its version.

    An existing database is only read here (a reader needs no write access); creation takes the write lock
    and looks again, so two processes opening a fresh database at once create the schema once.
    """
    with engine.begin() as conn:
        version = read_version(conn)
    if version is None:
        if not create:
            raise StoreError(f"no kdbench database at {redact(engine.url)} (no kdbench tables there)")
        with engine.execution_options(kd_write=True).begin() as conn:
            _lock(conn)
            version = read_version(conn)
            if version is None:
                Base.metadata.create_all(conn)
                conn.execute(_META_TABLE.insert().values(key=_VERSION_KEY, value=str(SCHEMA_VERSION)))
                return SCHEMA_VERSION
    _check(engine, version)
    return version


def upgrade(engine: Engine) -> tuple[int, int]:
    """Bring an older database to :data:`SCHEMA_VERSION`; return ``(from, to)``. A no-op when current."""
    with engine.execution_options(kd_write=True).begin() as conn:
        _lock(conn)
        version = read_version(conn)
        if version is None:
            raise StoreError(f"no kdbench database at {redact(engine.url)}: nothing to upgrade")
        if version > SCHEMA_VERSION:
            raise _newer(engine, version)
        start = version
        while version < SCHEMA_VERSION:
            step = MIGRATIONS.get(version)
            if step is None:
                raise StoreError(
                    f"no migration from schema version {version} to {version + 1} in this kdbench"
                )
            step(conn)
            version += 1
        conn.execute(_META_TABLE.update().where(Meta.key == _VERSION_KEY).values(value=str(version)))
    return start, version


def _check(engine: Engine, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise _newer(engine, version)
    if version < SCHEMA_VERSION:
        url = redact(engine.url)
        raise StoreError(
            f"{url} has results schema version {version}, older than this kdbench's {SCHEMA_VERSION}: "
            f"back it up, then run `kdbench db upgrade --db {url}`"
        )


def _newer(engine: Engine, version: int) -> StoreError:
    return StoreError(
        f"{redact(engine.url)} has results schema version {version}, newer than this kdbench understands "
        f"({SCHEMA_VERSION}): upgrade kdbench"
    )


def _lock(conn: Connection) -> None:
    # SQLite's BEGIN IMMEDIATE already serialises; PostgreSQL needs an explicit lock so two processes opening
    # a fresh database at once do not both run CREATE TABLE.
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
