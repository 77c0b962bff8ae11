"""``ResultStore.check_writable()``: a database that cannot take writes is found out before any long work, in
one line, and a writable one is left exactly as it was."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from kdbench.bench.errors import StoreError
from kdbench.bench.store import ResultStore

from . import _factories as f
from ._readonly import read_only


def _snapshot(store: ResultStore) -> tuple[int, int, list[str]]:
    return store.schema_version(), len(store.trials()), list(store.sweeps()["sweep"])


def test_a_writable_database_passes_and_is_unchanged(store: ResultStore) -> None:
    env = store.record_environment(f.environment())
    store.record_trial(None, None, result=f.result(), environment_id=env)
    before = _snapshot(store)
    store.check_writable()
    store.check_writable()
    assert _snapshot(store) == before


def test_a_read_only_sqlite_file_is_found_out(tmp_path: Path) -> None:
    path = tmp_path / "kd.db"
    with ResultStore(f"sqlite:///{path}") as store:
        store.record_environment(f.environment())
    content = path.read_bytes()
    with read_only(path), pytest.raises(StoreError) as excinfo, ResultStore(f"sqlite:///{path}") as store:
        store.check_writable()
    message = str(excinfo.value)
    assert "\n" not in message and message.startswith(f"cannot write to sqlite:///{path}: ")
    assert "readonly" in message
    assert path.read_bytes() == content


def _with_options(url: str, extra: str) -> str:
    parsed = make_url(url)
    return parsed.update_query_dict({"options": f"{parsed.query['options']} {extra}"}).render_as_string(
        hide_password=False
    )


@pytest.mark.postgres
def test_a_read_only_postgres_session_is_found_out(postgres_url: str) -> None:
    ResultStore(postgres_url).close()
    read_only_url = _with_options(postgres_url, "-cdefault_transaction_read_only=on")
    with ResultStore(read_only_url) as store:  # opening (reading) works
        with pytest.raises(StoreError, match=r"cannot write to .*read-only transaction") as excinfo:
            store.check_writable()
        assert "\n" not in str(excinfo.value)


@pytest.mark.postgres
@pytest.mark.parametrize("meta_too", [False, True], ids=["reader", "reader-who-may-update-kd_meta"])
def test_a_postgres_role_without_write_privileges_is_found_out(postgres_url: str, meta_too: bool) -> None:
    with ResultStore(postgres_url) as store:
        env = store.record_environment(f.environment())
        store.record_trial(None, None, result=f.result(), environment_id=env)
    role = f"kd_reader_{uuid.uuid4().hex[:8]}"
    schema = make_url(postgres_url).query["options"].split("=")[-1]
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(sa.text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
        conn.execute(sa.text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"'))
        if meta_too:  # the no-op UPDATE would pass: the per-table lock must still find out
            conn.execute(sa.text(f'GRANT UPDATE ON kd_meta TO "{role}"'))
    try:
        reader = make_url(postgres_url).set(username=role).render_as_string(hide_password=False)
        with ResultStore(reader) as store:
            assert len(store.trials()) == 1  # it may read
            with pytest.raises(StoreError, match=r"cannot write to .*permission denied") as excinfo:
                store.check_writable()
            assert "\n" not in str(excinfo.value)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE "{role}"'))
        admin.dispose()
