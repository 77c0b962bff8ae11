"""Schema version 2 -> 3: a new table, ``kd_baseline`` (one row per dataset fingerprint and baseline model).

Nothing existing changes; the table is created as version 3 defines it, with the same statement on every
backend (``CREATE TABLE``, transactional on PostgreSQL and SQLite; MySQL commits it on its own, and
``checkfirst`` makes a rerun after a failed upgrade skip it). The table's definition is frozen here, not
read from the current schema, so later versions cannot change what this step creates.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Double,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

from kdbench.bench._store._schema import UTCDateTime

__all__ = ["BASELINE", "to_v3"]

_METADATA = MetaData()
# Only what kd_baseline's foreign key needs to see: the table exists already and is not touched.
Table("kd_environment", _METADATA, Column("id", Integer, primary_key=True))
BASELINE = Table(
    "kd_baseline",
    _METADATA,
    Column("id", Integer, primary_key=True),
    Column("dataset_fingerprint", String(128), nullable=False),
    Column("model", String(32), nullable=False),
    Column("valid_auc", Double),
    Column("valid_logloss", Double),
    Column("test_auc", Double),
    Column("test_logloss", Double),
    Column("fit_seconds", Double),
    Column("latency_ms_b1", Double),
    Column("latency_ms_b4096", Double),
    Column("seed", BigInteger),
    Column("params", JSON, nullable=False),
    Column("result", JSON, nullable=False),
    Column("environment_id", Integer, ForeignKey("kd_environment.id")),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("dataset_fingerprint", "model", name="kd_baseline_dataset_model"),
)


def to_v3(conn: Connection) -> None:
    BASELINE.create(conn, checkfirst=True)
