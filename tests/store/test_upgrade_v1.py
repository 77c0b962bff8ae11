"""Upgrading real version-1 databases: built with the frozen version-1 schema (``_schema_v1.py``, the code
of commit 13666b3) and filled the way kdbench 1 filled them, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Session

from kdbench.bench._store import _upgrade_v1
from kdbench.bench._store._schema import Base
from kdbench.bench.cli import main
from kdbench.bench.errors import StoreError
from kdbench.bench.store import ResultStore, redact, schema_version_supported

from . import _factories as f
from . import _real as real
from . import _schema_v1 as v1

REPO = Path(__file__).resolve().parents[2]
SWEEP = "v1-sweep"
NOW = schema_version_supported()  # a version-1 database is upgraded through every later version to this


def _build_v1(url: str) -> None:
    """A version-1 database with one of everything: what kdbench 1 wrote for a sweep, a trial and a run."""
    engine = sa.create_engine(url)
    v1.Base.metadata.create_all(engine)
    res = f.result(auc=0.79)
    env = f.environment()
    with Session(engine) as s, s.begin():
        s.add(v1.Meta(key="schema_version", value="1"))
        environment = v1.Environment(**f.environment_columns(env))
        s.add(environment)
        info = f.dataset_info()
        s.add(v1.Dataset(**info, info=info))
        sweep = v1.Sweep(name=SWEEP, status="completed", **f.sweep_kwargs(study_name=SWEEP), settings={})
        s.add(sweep)
        s.flush()
        trial = v1.Trial(
            sweep_id=sweep.id, number=0, status="completed", config=res["config"],
            config_hash=res["config_hash"], config_family=res["config_family"], seed=res["seed"],
            dataset_fingerprint=f.FINGERPRINT, environment_id=environment.id, node="node-1", device="cpu",
            student_test_auc=res["student"]["test_auc"], student_epochs=4, result=res,
        )  # fmt: skip
        s.add(trial)
        s.flush()
        for position, phase in enumerate(res["phases"]):
            s.add(v1.Phase(trial_id=trial.id, position=position, name=phase["name"], epochs=phase["epochs"],
                           test_auc=phase["test_auc"]))  # fmt: skip
        for row in res["epochs"]:
            s.add(v1.Epoch(trial_id=trial.id, phase=row["phase"], epoch=row["epoch"],
                           valid_auc=row["valid_auc"]))  # fmt: skip
        run = v1.RegressionRun(suite="smoke", tag="v0.1", environment_id=environment.id,
                               git_sha=env["git_sha"], summary={"passed": True})  # fmt: skip
        s.add(run)
        s.flush()
        s.add(v1.RegressionCase(run_id=run.id, position=0, name="ml1m-outer", data={"name": "ml1m-outer"}))
    engine.dispose()


def _version(url: str) -> str:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        version = conn.execute(sa.text("SELECT value FROM kd_meta WHERE key = 'schema_version'")).scalar()
    engine.dispose()
    return version


def _columns(url: str) -> dict[str, dict[str, tuple[str, bool]]]:
    engine = sa.create_engine(url)
    inspector = sa.inspect(engine)
    found = {
        table.name: {c["name"]: (str(c["type"]), c["nullable"]) for c in inspector.get_columns(table.name)}
        for table in Base.metadata.sorted_tables
    }
    engine.dispose()
    return found


@pytest.mark.postgres
def test_a_v1_postgres_database_refuses_the_real_ml100k_protocol(postgres_url: str, ml100k: Any) -> None:
    """The bug this version fixes, shown on a real version-1 database."""
    _build_v1(postgres_url)
    info = ml100k.info()
    protocol = json.dumps(info["protocol"], sort_keys=True)
    assert len(protocol) > 400
    row = {k: info[k] for k in ("fingerprint", "source", "rows", "positives", "fields", "vocab_sizes",
                                "split_sizes")}  # fmt: skip
    engine = sa.create_engine(postgres_url)
    too_long = pytest.raises(sa.exc.DataError, match=r"value too long for type character varying\(256\)")
    with too_long, Session(engine) as s, s.begin():
        s.add(v1.Dataset(**row, protocol=protocol, info=info))
    engine.dispose()


def test_opening_a_v1_database_says_to_upgrade_and_changes_nothing(db_url: str) -> None:
    _build_v1(db_url)
    for create in (True, False):
        with pytest.raises(StoreError) as excinfo:
            ResultStore(db_url, create=create)
        message = str(excinfo.value)
        assert "\n" not in message and f"schema version 1, older than this kdbench's {NOW}" in message
        assert f"run `kdbench db upgrade --db {redact(db_url)}`" in message
    assert _version(db_url) == "1"


def test_db_info_on_a_v1_database_names_the_upgrade(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _build_v1(db_url)
    assert main(["db", "info", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert f"schema version: 1 (this kdbench: {NOW})" in out and "kdbench db upgrade --db" in out
    assert _version(db_url) == "1"


def test_upgrade_keeps_every_row_and_then_real_values_fit(
    db_url: str, ml100k: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _build_v1(db_url)
    assert main(["db", "upgrade", "--db", db_url]) == 0
    assert capsys.readouterr().out.strip() == f"schema version 1 -> {NOW}"
    assert main(["db", "upgrade", "--db", db_url]) == 0
    assert "already current" in capsys.readouterr().out

    with ResultStore(db_url) as store:
        # what version 1 held, unchanged
        trials = store.trials()
        assert len(trials) == 1 and trials.iloc[0]["sweep"] == SWEEP and trials.iloc[0]["node"] == "node-1"
        assert trials.iloc[0]["student_test_auc"] == pytest.approx(0.79)
        assert (
            trials.iloc[0]["config"] == f.result()["config"]
            and trials.iloc[0]["dataset_source"] == "movielens1m"
        )
        assert len(store.phases()) == 3 and len(store.epochs()) == 6
        assert store.get_sweep(SWEEP)["space_yaml"] == f.sweep_kwargs()["space_yaml"]
        assert store.environment(1) == f.environment()
        assert store.regression_run("v0.1")["cases"] == [{"name": "ml1m-outer"}]
        assert store.datasets().iloc[0]["protocol"] == f.dataset_info()["protocol"]

        # and the real values version 1 refused on PostgreSQL
        info = ml100k.info()
        store.record_dataset(info)
        store.create_sweep(real.LONG_SWEEP_NAME, **f.sweep_kwargs(space_name=real.LONG_TEXT))
        env = store.record_environment(real.long_environment())
        res = f.result(dataset=info["fingerprint"])
        tid = f.start_trial(store, real.LONG_SWEEP_NAME, 0, env, res, node=real.LONG_NODE)
        store.finish_trial(tid, status="failed", error=real.traceback_text())
        store.record_regression_run(
            real.LONG_TEXT, environment_id=env, summary={}, cases=[], tag=real.LONG_TEXT
        )
        assert store.trial(tid)["dataset"] == info and store.trials(sweep=real.LONG_SWEEP_NAME).iloc[0][
            "node"
        ] == (real.LONG_NODE)
        assert store.environment(env) == real.long_environment()
        assert store.get_sweep(real.LONG_SWEEP_NAME)["space_name"] == real.LONG_TEXT


def test_an_upgraded_database_has_the_fresh_schema(
    db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _build_v1(db_url)
    assert main(["db", "upgrade", "--db", db_url]) == 0
    upgraded = _columns(db_url)
    fresh_url = (
        f"sqlite:///{tmp_path / 'fresh.db'}"
        if db_url.startswith("sqlite")
        else request.getfixturevalue("postgres_schema")()
    )
    ResultStore(fresh_url).close()
    fresh = _columns(fresh_url)
    if db_url.startswith("sqlite"):  # SQLite cannot change a declared type, and ignores it: compare the rest
        upgraded = {t: {c: nullable for c, (_, nullable) in cols.items()} for t, cols in upgraded.items()}
        fresh = {t: {c: nullable for c, (_, nullable) in cols.items()} for t, cols in fresh.items()}
    assert upgraded == fresh


@pytest.mark.postgres
def test_kdbench_db_upgrade_end_to_end(postgres_url: str, tmp_path: Path) -> None:
    """The installed command line, in its own process, on a version-1 PostgreSQL database."""
    _build_v1(postgres_url)
    env = {**os.environ, "KDBENCH_HOME": str(tmp_path / "home")}

    def kdbench(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kdbench", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    refused = kdbench("db", "info", "--db", postgres_url)
    assert refused.returncode == 0 and "kdbench db upgrade --db" in refused.stdout
    done = kdbench("db", "upgrade", "--db", postgres_url)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, f"schema version 1 -> {NOW}", "")
    again = kdbench("db", "info", "--db", postgres_url)
    assert again.returncode == 0 and f"schema version: {NOW} (this kdbench: {NOW})" in again.stdout
    assert "trials: 1" in again.stdout and "regression_cases: 1" in again.stdout


def test_the_migration_names_every_column_that_changed() -> None:
    """``_upgrade_v1.COLUMNS`` is frozen by hand: it must list exactly the columns whose type differs (in the
    tables version 1 had; later versions' new tables are their own migrations')."""
    changed = {
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        if table.name in v1.Base.metadata.tables
        for column in table.columns
        if _ddl_type(column) != _ddl_type(v1.Base.metadata.tables[table.name].columns[column.name])
    }
    assert changed == {(t, c) for t, c, _, _ in _upgrade_v1.COLUMNS}
    varchar_in_v1 = {(t, c) for t, c, was_varchar, _ in _upgrade_v1.COLUMNS if was_varchar}
    assert all("VARCHAR" in _ddl_type(v1.Base.metadata.tables[t].columns[c]) for t, c in varchar_in_v1)


def _ddl_type(column: sa.Column[Any]) -> str:
    # Compared on PostgreSQL and MySQL, where the types differ (TEXT vs MEDIUMTEXT, VARCHAR lengths).
    from sqlalchemy.dialects import postgresql

    return " ".join(column.type.compile(dialect=d()) for d in (postgresql.dialect, mysql.dialect))


def test_mysql_ddl_indexes_no_text_column() -> None:
    """MySQL refuses an index or unique key on TEXT without a prefix length (error 1170)."""
    dialect = mysql.dialect()
    for table in Base.metadata.sorted_tables:
        keyed = {c.name for index in table.indexes for c in index.columns}
        keyed |= {c.name for u in table.constraints if isinstance(u, sa.UniqueConstraint) for c in u.columns}
        keyed |= {c.name for c in table.columns if c.unique or c.primary_key}
        for name in keyed:
            assert "TEXT" not in table.columns[name].type.compile(dialect=dialect), (table.name, name)
