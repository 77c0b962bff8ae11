"""Upgrading real version-2 databases (version 3 adds ``kd_baseline``): built with the frozen version-2 schema
(``_schema_v2.py``, the code of commit b339bf9) and filled the way kdbench wrote them, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from kdbench.bench._store import _upgrade_v2
from kdbench.bench._store._schema import Base
from kdbench.bench.cli import main
from kdbench.bench.errors import StoreError
from kdbench.bench.store import ResultStore, redact

from . import _factories as f
from . import _schema_v2 as v2

REPO = Path(__file__).resolve().parents[2]
SWEEP = "v2-sweep"


def _build_v2(url: str, info: dict[str, Any]) -> None:
    """A version-2 database with a sweep, a completed trial and its dataset (the real ``info``)."""
    engine = sa.create_engine(url)
    v2.Base.metadata.create_all(engine)
    res = f.result(auc=0.86, dataset=info["fingerprint"])
    env = f.environment()
    with Session(engine) as s, s.begin():
        s.add(v2.Meta(key="schema_version", value="2"))
        environment = v2.Environment(**f.environment_columns(env))
        s.add(environment)
        row = {k: info[k] for k in ("fingerprint", "source", "rows", "positives", "fields", "vocab_sizes",
                                    "split_sizes")}  # fmt: skip
        s.add(v2.Dataset(**row, protocol=json.dumps(info["protocol"], sort_keys=True), info=info))
        sweep = v2.Sweep(name=SWEEP, status="completed", **f.sweep_kwargs(study_name=SWEEP), settings={})
        s.add(sweep)
        s.flush()
        trial = v2.Trial(
            sweep_id=sweep.id, number=0, status="completed", config=res["config"],
            config_hash=res["config_hash"], config_family=res["config_family"], seed=res["seed"],
            dataset_fingerprint=info["fingerprint"], environment_id=environment.id,
            student_test_auc=res["student"]["test_auc"], result=res,
        )  # fmt: skip
        s.add(trial)
    engine.dispose()


def _version(url: str) -> str:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        version = conn.execute(sa.text("SELECT value FROM kd_meta WHERE key = 'schema_version'")).scalar()
        tables = sa.inspect(conn).get_table_names()
    engine.dispose()
    return version if "kd_baseline" not in tables else f"{version} with kd_baseline"


def _columns(url: str) -> dict[str, dict[str, tuple[str, bool]]]:
    engine = sa.create_engine(url)
    inspector = sa.inspect(engine)
    found = {
        table.name: {c["name"]: (str(c["type"]), c["nullable"]) for c in inspector.get_columns(table.name)}
        for table in Base.metadata.sorted_tables
    }
    found["kd_baseline keys"] = {
        "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints("kd_baseline")),
        "foreign": sorted(tuple(k["referred_columns"]) for k in inspector.get_foreign_keys("kd_baseline")),
    }
    engine.dispose()
    return found


@pytest.fixture(scope="module")
def ml100k_info(ml100k: Any) -> dict[str, Any]:
    return ml100k.info()


def test_opening_a_v2_database_says_to_upgrade_and_changes_nothing(db_url: str, ml100k_info) -> None:
    _build_v2(db_url, ml100k_info)
    for create in (True, False):
        with pytest.raises(StoreError) as excinfo:
            ResultStore(db_url, create=create)
        message = str(excinfo.value)
        assert "\n" not in message and "schema version 2, older than this kdbench's 3" in message
        assert f"run `kdbench db upgrade --db {redact(db_url)}`" in message
    assert _version(db_url) == "2"


def test_upgrade_adds_the_baselines_table_and_keeps_every_row(
    db_url: str, ml100k_info, capsys: pytest.CaptureFixture[str]
) -> None:
    _build_v2(db_url, ml100k_info)
    assert main(["db", "info", "--db", db_url]) == 0
    assert "schema version: 2 (this kdbench: 3)" in capsys.readouterr().out
    assert main(["db", "upgrade", "--db", db_url]) == 0
    assert capsys.readouterr().out.strip() == "schema version 2 -> 3"
    assert _version(db_url) == "3 with kd_baseline"
    assert main(["db", "upgrade", "--db", db_url]) == 0
    assert "already current" in capsys.readouterr().out

    fingerprint = ml100k_info["fingerprint"]
    with ResultStore(db_url) as store:
        trials = store.trials()  # what version 2 held, unchanged
        assert len(trials) == 1 and trials.iloc[0]["sweep"] == SWEEP
        assert trials.iloc[0]["student_test_auc"] == pytest.approx(0.86)
        assert trials.iloc[0]["dataset_source"] == "ml-100k"
        assert store.datasets().iloc[0]["protocol"] == json.dumps(ml100k_info["protocol"], sort_keys=True)
        assert store.baselines().empty
        # and the new table takes baselines of the dataset version 2 recorded
        env = store.record_environment(f.environment())
        results = [
            f.baseline_result(m, auc=a, dataset=fingerprint) for m, a in (("gbdt", 0.823), ("lr", 0.848))
        ]
        store.record_baselines(results, environment_id=env)
        frame = store.baselines(dataset="ml-100k").set_index("model")
    assert frame.loc["gbdt", "test_auc"] == pytest.approx(0.823)
    assert frame.loc["lr", "dataset_source"] == "ml-100k"
    assert main(["db", "info", "--db", db_url]) == 0
    assert "baselines: 2" in capsys.readouterr().out


def test_an_upgraded_database_has_the_fresh_schema(
    db_url: str, ml100k_info, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _build_v2(db_url, ml100k_info)
    assert main(["db", "upgrade", "--db", db_url]) == 0
    fresh_url = (
        f"sqlite:///{tmp_path / 'fresh.db'}"
        if db_url.startswith("sqlite")
        else request.getfixturevalue("postgres_schema")()
    )
    ResultStore(fresh_url).close()
    assert _columns(db_url) == _columns(fresh_url)


def test_a_failed_upgrade_can_be_rerun(db_url: str, ml100k_info) -> None:
    """MySQL commits a CREATE TABLE on its own: an upgrade that stopped after it must go through again."""
    _build_v2(db_url, ml100k_info)
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        _upgrade_v2.to_v3(conn)  # the table made, the version not yet bumped
    engine.dispose()
    assert _version(db_url) == "2 with kd_baseline"
    assert main(["db", "upgrade", "--db", db_url]) == 0
    assert _version(db_url) == "3 with kd_baseline"


@pytest.mark.postgres
def test_kdbench_db_upgrade_end_to_end(postgres_url: str, ml100k_info, tmp_path: Path) -> None:
    """The installed command line, in its own process, on a version-2 PostgreSQL database."""
    _build_v2(postgres_url, ml100k_info)
    env = {**os.environ, "KDBENCH_HOME": str(tmp_path / "home")}

    def kdbench(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kdbench", *args], cwd=REPO, env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip

    done = kdbench("db", "upgrade", "--db", postgres_url)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "schema version 2 -> 3", "")
    again = kdbench("db", "info", "--db", postgres_url)
    assert again.returncode == 0 and "schema version: 3 (this kdbench: 3)" in again.stdout
    assert "trials: 1" in again.stdout and "baselines: 0" in again.stdout
