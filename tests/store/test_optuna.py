"""Optuna's tables share the results database without colliding with ours."""

from __future__ import annotations

import optuna
import sqlalchemy as sa

from kdbench.bench._store._schema import TABLE_PREFIX, Base
from kdbench.bench.store import ResultStore, schema_version_supported


def test_optuna_and_kdbench_tables_in_one_database(store: ResultStore) -> None:
    storage = store.optuna_storage()
    assert isinstance(storage, optuna.storages.RDBStorage) and store.optuna_storage() is storage
    study = optuna.create_study(study_name="kd-sweep", storage=storage, direction="maximize")
    study.optimize(lambda trial: trial.suggest_float("lr", 1e-4, 1e-2, log=True), n_trials=3)

    loaded = optuna.load_study(study_name="kd-sweep", storage=store.url)
    assert len(loaded.trials) == 3 and loaded.best_value == study.best_value

    ours = set(Base.metadata.tables)
    assert all(name.startswith(TABLE_PREFIX) for name in ours)
    tables = set(sa.inspect(store._engine).get_table_names())
    assert ours <= tables and {"studies", "trials", "version_info"} <= tables
    assert not ours & set(optuna.storages._rdb.models.BaseModel.metadata.tables)
    assert store.trials().empty  # Optuna's trials are not ours


def test_opening_a_database_that_optuna_created_first(db_url: str) -> None:
    optuna.create_study(study_name="first", storage=db_url)
    with ResultStore(db_url) as store:
        assert store.schema_version() == schema_version_supported()
        assert optuna.load_study(study_name="first", storage=store.optuna_storage()).study_name == "first"
