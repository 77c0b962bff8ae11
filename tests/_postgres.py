"""PostgreSQL fixtures for every test folder: the server named by ``KDBENCH_TEST_POSTGRES_URL`` (unset: the
cases that need it skip; set but unreachable: they fail), and fresh schemas on it through ``search_path``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from kdbench.bench.store import redact

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


def _new_schema(admin: sa.Engine, server: str) -> tuple[str, str]:
    schema = f"kdtest_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, url.render_as_string(hide_password=False)


def _drop_schemas(admin: sa.Engine, schemas: list[str]) -> None:
    with admin.begin() as conn:
        for schema in schemas:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL whose connections see only a fresh schema (dropped afterwards)."""
    admin = sa.create_engine(postgres_server)
    schema, url = _new_schema(admin, postgres_server)
    try:
        yield url
    finally:
        _drop_schemas(admin, [schema])


@pytest.fixture
def postgres_schema(postgres_server: str) -> Iterator[Callable[[], str]]:
    """Makes more such URLs, one fresh schema each (all dropped afterwards)."""
    admin = sa.create_engine(postgres_server)
    schemas: list[str] = []

    def make() -> str:
        schema, url = _new_schema(admin, postgres_server)
        schemas.append(schema)
        return url

    try:
        yield make
    finally:
        _drop_schemas(admin, schemas)
