"""The results schema (SQLAlchemy 2.0 ORM). Every table is prefixed ``kd_`` so Optuna's own tables
(``studies``, ``trials``, ``version_info``, ``alembic_version``, ...) can live in the same database.

Times are stored in UTC and read back timezone-aware. JSON columns hold what the writer gave (configs,
settings, the full TrialResult); the flat columns next to them exist for queries and are derived from it.

Text has no length limit a real value can hit (schema version 2; version 1 had VARCHAR(256), which refused
the ml-100k protocol on PostgreSQL): a plain ``str`` column is :data:`FREE_TEXT`. A bounded ``String(n)`` is
kept only where the value is kdbench's own and provably short (hashes, fingerprints, statuses, phase names,
git shas: the writes check them, so every backend refuses the same values) and for the sweep name, which
:func:`~kdbench.bench._store._names.check_sweep_name` limits to 100 characters.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Double,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.mysql import MEDIUMTEXT
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "FREE_TEXT",
    "INDEXED_TEXT",
    "TABLE_PREFIX",
    "Base",
    "Baseline",
    "Dataset",
    "Environment",
    "Epoch",
    "Meta",
    "Phase",
    "RegressionCase",
    "RegressionRun",
    "Sweep",
    "Trial",
    "utcnow",
]

TABLE_PREFIX = "kd_"

# Free text: TEXT on PostgreSQL and SQLite (unlimited); MEDIUMTEXT (16 MiB) on MySQL/MariaDB, whose TEXT stops
# at 64 KiB, less than a long traceback can be.
FREE_TEXT = Text().with_variant(MEDIUMTEXT(), "mysql", "mariadb")
# MySQL/MariaDB cannot index TEXT without a prefix length: there the indexed text columns are VARCHAR(768),
# InnoDB's 3072-byte key limit in utf8mb4.
INDEXED_TEXT = Text().with_variant(String(768), "mysql", "mariadb")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored as UTC (naive in SQLite, ``timestamptz`` elsewhere), read back aware in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads this class attribute)
        dt.datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
        float: Double,
        str: FREE_TEXT,
    }


class Meta(Base):
    """Key/value facts about the database itself; ``schema_version`` is the one that matters."""

    __tablename__ = "kd_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(FREE_TEXT)


class Environment(Base):
    """Where results were produced (``kdbench.bench.provenance.environment()``), deduplicated by content
    hash."""

    __tablename__ = "kd_environment"
    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    git_sha: Mapped[str | None] = mapped_column(String(64), index=True)
    git_dirty: Mapped[bool | None] = mapped_column(Boolean)
    python: Mapped[str | None]  # versions: a local version label (``+cu128.git...``) has no length limit
    torch: Mapped[str | None]
    ray: Mapped[str | None]
    optuna: Mapped[str | None]
    cpu: Mapped[str | None]
    gpu: Mapped[str | None]
    host: Mapped[str | None]
    data: Mapped[dict[str, Any]]  # the full dict as recorded
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Dataset(Base):
    """A prepared dataset (``Dataset.info()``), keyed by its fingerprint."""

    __tablename__ = "kd_dataset"
    fingerprint: Mapped[str] = mapped_column(String(128), primary_key=True)
    source: Mapped[str]
    protocol: Mapped[str | None]  # JSON text of the protocol rules (~410 characters for ml-100k)
    rows: Mapped[int] = mapped_column(BigInteger)
    positives: Mapped[int | None] = mapped_column(BigInteger)
    fields: Mapped[list[Any]]
    vocab_sizes: Mapped[list[Any]]
    split_sizes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    info: Mapped[dict[str, Any]]  # the full dict as recorded
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Sweep(Base):
    """One search (or the implicit ``adhoc`` sweep that holds ``kdbench train`` runs)."""

    __tablename__ = "kd_sweep"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)  # at most 100 characters (_names.py)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    space_name: Mapped[str | None]
    space_yaml: Mapped[str | None] = mapped_column(FREE_TEXT)
    space_hash: Mapped[str | None] = mapped_column(String(64))
    dataset_fingerprint: Mapped[str | None] = mapped_column(String(128), index=True)
    objectives: Mapped[list[Any]]
    scheduler: Mapped[dict[str, Any]]
    searcher: Mapped[dict[str, Any]]
    settings: Mapped[dict[str, Any]]
    study_name: Mapped[str | None]
    num_trials: Mapped[int | None] = mapped_column(Integer)


class Trial(Base):
    """One KD run: unique per (sweep, number); flat metrics for queries plus the full TrialResult JSON."""

    __tablename__ = "kd_trial"
    __table_args__ = (UniqueConstraint("sweep_id", "number", name="kd_trial_sweep_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sweep_id: Mapped[int] = mapped_column(ForeignKey("kd_sweep.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    error: Mapped[str | None] = mapped_column(FREE_TEXT)
    config: Mapped[dict[str, Any]]
    config_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    config_family: Mapped[str | None] = mapped_column(String(64), index=True)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    dataset_fingerprint: Mapped[str | None] = mapped_column(String(128), index=True)
    environment_id: Mapped[int | None] = mapped_column(ForeignKey("kd_environment.id"))
    node: Mapped[str | None]
    device: Mapped[str | None]
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    wall_seconds: Mapped[float | None]
    teacher_cache_hit: Mapped[bool | None] = mapped_column(Boolean)
    teacher_test_auc: Mapped[float | None]
    teacher_test_logloss: Mapped[float | None]
    teacher_valid_auc: Mapped[float | None]
    teacher_valid_logloss: Mapped[float | None]
    student_test_auc: Mapped[float | None]
    student_test_logloss: Mapped[float | None]
    student_valid_auc: Mapped[float | None]
    student_valid_logloss: Mapped[float | None]
    embedding_params: Mapped[int | None] = mapped_column(BigInteger)
    teacher_params: Mapped[int | None] = mapped_column(BigInteger)
    student_params: Mapped[int | None] = mapped_column(BigInteger)
    teacher_flops: Mapped[int | None] = mapped_column(BigInteger)
    student_flops: Mapped[int | None] = mapped_column(BigInteger)
    teacher_latency_ms_b1: Mapped[float | None]
    teacher_latency_ms_b4096: Mapped[float | None]
    student_latency_ms_b1: Mapped[float | None]
    student_latency_ms_b4096: Mapped[float | None]
    student_epochs: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Phase(Base):
    """One phase of a trial as summarised in its TrialResult (teacher_training, distillation, finetuning)."""

    __tablename__ = "kd_phase"
    trial_id: Mapped[int] = mapped_column(ForeignKey("kd_trial.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    epochs: Mapped[int | None] = mapped_column(Integer)
    best_epoch: Mapped[int | None] = mapped_column(Integer)
    valid_auc: Mapped[float | None]
    valid_logloss: Mapped[float | None]
    test_auc: Mapped[float | None]
    test_logloss: Mapped[float | None]
    seconds: Mapped[float | None]
    samples_per_s: Mapped[float | None]


class Epoch(Base):
    """One epoch as reported during a trial; unique per (trial, phase, epoch)."""

    __tablename__ = "kd_epoch"
    trial_id: Mapped[int] = mapped_column(ForeignKey("kd_trial.id"), primary_key=True)
    phase: Mapped[str] = mapped_column(String(32), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_epoch: Mapped[int | None] = mapped_column(Integer)
    train_loss: Mapped[float | None]
    valid_auc: Mapped[float | None]
    valid_logloss: Mapped[float | None]
    seconds: Mapped[float | None]
    samples_per_s: Mapped[float | None]
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RegressionRun(Base):
    """One run of a fixed benchmark suite (``kdbench regress``) with its summary and cases."""

    __tablename__ = "kd_regression_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    suite: Mapped[str] = mapped_column(INDEXED_TEXT, index=True)
    tag: Mapped[str | None] = mapped_column(INDEXED_TEXT, index=True)
    baseline: Mapped[str | None]
    environment_id: Mapped[int | None] = mapped_column(ForeignKey("kd_environment.id"))
    git_sha: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    summary: Mapped[dict[str, Any]]


class RegressionCase(Base):
    __tablename__ = "kd_regression_case"
    run_id: Mapped[int] = mapped_column(ForeignKey("kd_regression_run.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None]
    data: Mapped[dict[str, Any]]


class Baseline(Base):
    """A plain model (``kdbench.bench.baselines``: ``lr``, ``gbdt``) on a dataset's split, one row per
    (dataset fingerprint, model): fitting again replaces it. Flat metrics for queries, the full
    ``BaselineResult`` JSON next to them (schema version 3)."""

    __tablename__ = "kd_baseline"
    __table_args__ = (UniqueConstraint("dataset_fingerprint", "model", name="kd_baseline_dataset_model"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_fingerprint: Mapped[str] = mapped_column(String(128))
    model: Mapped[str] = mapped_column(String(32))
    valid_auc: Mapped[float | None]
    valid_logloss: Mapped[float | None]
    test_auc: Mapped[float | None]
    test_logloss: Mapped[float | None]
    fit_seconds: Mapped[float | None]
    latency_ms_b1: Mapped[float | None]
    latency_ms_b4096: Mapped[float | None]
    seed: Mapped[int | None] = mapped_column(BigInteger)
    params: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any]]
    environment_id: Mapped[int | None] = mapped_column(ForeignKey("kd_environment.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
