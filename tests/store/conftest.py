"""Store backends for the contract suite: a SQLite file, and a real PostgreSQL server when
``KDBENCH_TEST_POSTGRES_URL`` names one (each test gets its own schema through ``search_path``; unset: the
PostgreSQL cases skip; set but unreachable: they fail)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.store import ResultStore, redact

POSTGRES_ENV = "KDBENCH_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_server() -> str:
    raw = os.environ.get(POSTGRES_ENV)
    if not raw:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server to test against")
    url = make_url(raw)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as e:
        cause = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        pytest.fail(f"{POSTGRES_ENV}={redact(url)} is set but unreachable: {cause}", pytrace=False)
    finally:
        engine.dispose()
    return url.render_as_string(hide_password=False)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL whose connections see only a fresh schema (dropped afterwards)."""
    schema = f"kdtest_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_server).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(db_url: str) -> Iterator[ResultStore]:
    with ResultStore(db_url) as s:
        yield s
