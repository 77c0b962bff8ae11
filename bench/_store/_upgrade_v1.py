"""Schema version 1 -> 2: free-text columns lose their length limit.

Version 1 mapped every plain ``str`` column to VARCHAR(256) (and the library versions to VARCHAR(64), the
device to VARCHAR(128)); on PostgreSQL and MySQL that refused real values such as the ml-100k protocol (~410
characters as JSON). Version 2 makes them TEXT.

- PostgreSQL: ``ALTER COLUMN ... TYPE TEXT`` (VARCHAR -> TEXT is binary-coercible: no table rewrite; indexes
  and NOT NULL stay). Transactional: a failure leaves version 1 as it was.
- MySQL/MariaDB: ``MODIFY ... MEDIUMTEXT`` (TEXT stops at 64 KiB), restating NULL/NOT NULL, which MODIFY
  would otherwise drop. The indexed ``suite`` and ``tag`` become VARCHAR(768), since MySQL cannot index TEXT
  without a prefix length (768 characters: InnoDB's 3072-byte key in utf8mb4). MySQL commits each ALTER on
  its own; every step is idempotent and the version is bumped last, so a failed upgrade can simply be rerun.
- SQLite ignores declared lengths (a VARCHAR(256) column already holds any text): only the version changes.

The column list is frozen here, not read from the current schema, so later versions cannot change what this
step does. ``kd_sweep.name`` stays VARCHAR(256): new names are checked to 100 characters.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

from kdbench.bench.errors import StoreError

__all__ = ["COLUMNS", "to_v2"]

# (table, column, was VARCHAR in version 1, indexed)
COLUMNS: tuple[tuple[str, str, bool, bool], ...] = (
    ("kd_meta", "value", False, False),
    ("kd_environment", "python", True, False),
    ("kd_environment", "torch", True, False),
    ("kd_environment", "ray", True, False),
    ("kd_environment", "optuna", True, False),
    ("kd_environment", "cpu", True, False),
    ("kd_environment", "gpu", True, False),
    ("kd_environment", "host", True, False),
    ("kd_dataset", "source", True, False),
    ("kd_dataset", "protocol", True, False),
    ("kd_sweep", "space_name", True, False),
    ("kd_sweep", "space_yaml", False, False),
    ("kd_sweep", "study_name", True, False),
    ("kd_trial", "error", False, False),
    ("kd_trial", "node", True, False),
    ("kd_trial", "device", True, False),
    ("kd_regression_run", "suite", True, True),
    ("kd_regression_run", "tag", True, True),
    ("kd_regression_run", "baseline", True, False),
    ("kd_regression_case", "name", True, False),
)


def to_v2(conn: Connection) -> None:
    dialect = conn.dialect.name
    quote = conn.dialect.identifier_preparer.quote
    if dialect == "sqlite":
        return
    if dialect == "postgresql":
        tables: dict[str, list[str]] = {}
        for table, column, was_varchar, _ in COLUMNS:
            if was_varchar:
                tables.setdefault(table, []).append(column)
        for table, columns in tables.items():
            changes = ", ".join(f"ALTER COLUMN {quote(c)} TYPE TEXT" for c in columns)
            conn.execute(text(f"ALTER TABLE {quote(table)} {changes}"))
        return
    if dialect in ("mysql", "mariadb"):
        inspector = inspect(conn)
        for table, column, _, indexed in COLUMNS:
            nullable = {c["name"]: c["nullable"] for c in inspector.get_columns(table)}[column]
            type_ = "VARCHAR(768)" if indexed else "MEDIUMTEXT"
            null = "NULL" if nullable else "NOT NULL"
            conn.execute(text(f"ALTER TABLE {quote(table)} MODIFY {quote(column)} {type_} {null}"))
        return
    raise StoreError(
        f"no automatic upgrade from results schema version 1 on {dialect}: change the VARCHAR columns listed "
        "in bench/_store/_upgrade_v1.py to unlimited text, then set kd_meta.schema_version to 2"
    )
