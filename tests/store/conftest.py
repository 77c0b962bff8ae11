"""Store backends for the contract suite: a SQLite file, and a real PostgreSQL server when
``KDBENCH_TEST_POSTGRES_URL`` names one (each test gets its own schema: ``tests/_postgres.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kdbench.bench.store import ResultStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(db_url: str) -> Iterator[ResultStore]:
    with ResultStore(db_url) as s:
        yield s
