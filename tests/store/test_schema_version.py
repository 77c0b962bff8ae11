"""Schema versions: refuse other versions with a clear message, upgrade older ones, never lose data."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kdbench.bench._store import _migrations
from kdbench.bench.errors import StoreError
from kdbench.bench.store import ResultStore, schema_version_supported, upgrade_database

from . import _factories as f


def _set_version(url: str, version: int) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE kd_meta SET value = :v WHERE key = 'schema_version'"), {"v": str(version)}
        )
    engine.dispose()


def _seed(url: str) -> None:
    with ResultStore(url) as store:
        env = store.record_environment(f.environment())
        store.record_trial(None, None, result=f.result(), environment_id=env)


def test_current_version_is_recorded_and_upgrade_is_a_no_op(db_url: str) -> None:
    _seed(db_url)
    assert upgrade_database(db_url) == (schema_version_supported(), schema_version_supported())
    with ResultStore(db_url) as store:
        assert store.schema_version() == schema_version_supported() and len(store.trials()) == 1


def test_newer_database_is_refused(db_url: str) -> None:
    _seed(db_url)
    _set_version(db_url, schema_version_supported() + 1)
    with pytest.raises(StoreError, match=r"newer than this kdbench understands .*upgrade kdbench"):
        ResultStore(db_url)
    with pytest.raises(StoreError, match="newer"):
        upgrade_database(db_url)


def test_older_database_is_refused_then_upgraded_keeping_its_data(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(db_url)  # a database of the current version with one trial
    # Pretend this kdbench is one version ahead, whose migration adds a column to kd_trial.
    now = schema_version_supported()
    calls: list[int] = []

    def add_note_column(conn: sa.Connection) -> None:
        calls.append(1)
        conn.execute(sa.text("ALTER TABLE kd_trial ADD COLUMN note TEXT"))

    monkeypatch.setattr(_migrations, "SCHEMA_VERSION", now + 1)
    monkeypatch.setitem(_migrations.MIGRATIONS, now, add_note_column)
    with pytest.raises(StoreError) as excinfo:
        ResultStore(db_url)
    assert f"older than this kdbench's {now + 1}" in str(excinfo.value)
    assert "kdbench db upgrade --db" in str(excinfo.value)

    assert upgrade_database(db_url) == (now, now + 1)
    assert upgrade_database(db_url) == (now + 1, now + 1) and calls == [1]
    with ResultStore(db_url) as store:
        assert store.schema_version() == now + 1 and len(store.trials()) == 1 and len(store.epochs()) == 6
        columns = {c["name"] for c in sa.inspect(store._engine).get_columns("kd_trial")}
    assert "note" in columns


def test_a_failing_migration_changes_nothing(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(db_url)
    now = schema_version_supported()

    def half_done(conn: sa.Connection) -> None:
        conn.execute(sa.text("ALTER TABLE kd_trial ADD COLUMN note TEXT"))
        raise StoreError("migration step failed on purpose")

    monkeypatch.setattr(_migrations, "SCHEMA_VERSION", now + 1)
    monkeypatch.setitem(_migrations.MIGRATIONS, now, half_done)
    with pytest.raises(StoreError, match="on purpose"):
        upgrade_database(db_url)
    monkeypatch.setattr(_migrations, "SCHEMA_VERSION", now)
    with ResultStore(db_url) as store:
        assert store.schema_version() == now and len(store.trials()) == 1
        columns = {c["name"] for c in sa.inspect(store._engine).get_columns("kd_trial")}
    assert "note" not in columns


def test_missing_migration_is_an_error(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(db_url)
    now = schema_version_supported()
    monkeypatch.setattr(_migrations, "SCHEMA_VERSION", now + 2)
    monkeypatch.setitem(_migrations.MIGRATIONS, now, lambda conn: None)
    with pytest.raises(StoreError, match=f"no migration from schema version {now + 1} to {now + 2}"):
        upgrade_database(db_url)


def test_every_older_version_has_a_migration() -> None:
    assert sorted(_migrations.MIGRATIONS) == list(range(1, schema_version_supported()))


def test_kd_tables_without_a_version_are_not_touched(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE kd_trial (id INTEGER PRIMARY KEY, precious TEXT)"))
        conn.execute(sa.text("INSERT INTO kd_trial VALUES (1, 'keep me')"))
    with pytest.raises(StoreError, match="no schema version"):
        ResultStore(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT precious FROM kd_trial")).scalar() == "keep me"
    engine.dispose()


def test_nothing_to_upgrade_in_an_empty_database(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        sa.create_engine(db_url).connect().close()  # an empty SQLite file
    with pytest.raises(StoreError, match="no kdbench database"):
        upgrade_database(db_url)
