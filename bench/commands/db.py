"""`kdbench db info|upgrade|repair` and `kdbench export`: look at, migrate, mend, or take out the results
database."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdbench.bench.errors import StoreError

if TYPE_CHECKING:  # pandas and the store load only when a command runs: `kdbench --help` stays fast
    import pandas as pd

    from kdbench.bench.store import ResultStore

__all__ = ["EXPORT_FORMATS", "export", "info", "register", "repair", "upgrade"]

EXPORT_FORMATS = ("csv", "parquet")
_DB_HELP = "results database URL (default: sqlite:///kdbench.db in the working directory)"


def register(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="inspect or upgrade the results database")
    db.set_defaults(func=lambda _args: _usage(db))
    actions = db.add_subparsers(dest="db_command", metavar="ACTION")
    p = actions.add_parser("info", help="schema version and row counts")
    p.add_argument("--db", metavar="URL", help=_DB_HELP)
    p.set_defaults(func=_info_cmd)
    p = actions.add_parser("upgrade", help="migrate an older database to this kdbench's schema")
    p.add_argument("--db", metavar="URL", help=_DB_HELP)
    p.set_defaults(func=_upgrade_cmd)
    p = actions.add_parser(
        "repair", help="settle `train` trials left running by a killed process (on this host) as failed"
    )
    p.add_argument("--db", metavar="URL", help=_DB_HELP)
    p.set_defaults(func=_repair_cmd)

    p = subparsers.add_parser("export", help="write every results table to CSV or Parquet files")
    p.add_argument("--db", metavar="URL", help=_DB_HELP)
    p.add_argument("--format", choices=EXPORT_FORMATS, default="csv")
    p.add_argument("--out", metavar="DIR", required=True, help="folder for the files (created if missing)")
    p.set_defaults(func=_export_cmd)


# ---- the plain functions behind the commands ---------------------------------------------------------------
def info(*, db: str | None = None) -> dict[str, Any]:
    """The (redacted) URL, schema versions and row counts of the database at ``db``; ``counts`` is None for a
    database of another schema version (which this kdbench cannot read: ``hint`` says what to do)."""
    from kdbench.bench.store import ResultStore, recorded_schema_version, schema_version_supported

    url, version = recorded_schema_version(db)
    supported = schema_version_supported()
    if version != supported:
        hint = f"run `kdbench db upgrade --db {url}`" if version < supported else "upgrade kdbench to read it"
        return {
            "url": url,
            "schema_version": version,
            "supported_schema_version": supported,
            "counts": None,
            "gone": [],
            "hint": hint,
        }
    from kdbench.bench.commands._trainers import stale_trials

    with ResultStore(db, create=False) as store:
        counts = {name: len(frame) for name, frame in _tables(store).items()}
        stale = stale_trials(store)
        return {
            "url": store.url_redacted,
            "schema_version": store.schema_version(),
            "supported_schema_version": supported,
            "counts": counts,
            "gone": [trial_id for trial_id, _ in stale.gone],
            "hint": f"`kdbench db repair --db {store.url_redacted}` settles them" if stale.gone else None,
        }


def repair(*, db: str | None = None) -> list[int]:
    """Settle the running `train` trials whose process on this host is gone as failed; their ids."""
    from kdbench.bench.commands._trainers import settle_gone
    from kdbench.bench.store import open_writable

    with open_writable(db, create=False) as store:
        return settle_gone(store)


def upgrade(*, db: str | None = None) -> tuple[int, int]:
    """Migrate ``db`` to this kdbench's schema version; ``(from, to)``."""
    from kdbench.bench.store import upgrade_database

    return upgrade_database(db)


def export(*, db: str | None = None, format: str = "csv", out: str | Path) -> list[Path]:
    """Write one file per table (sweeps, trials, phases, epochs, datasets, baselines, environments, regression
    runs and cases) into ``out``; dict and list cells become JSON text. Returns the paths written."""
    if format not in EXPORT_FORMATS:
        raise StoreError(f"export format must be one of {', '.join(EXPORT_FORMATS)}, got {format!r}")
    if not str(out).strip():
        raise StoreError("--out needs a folder name, got an empty one")
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"--out {folder} exists and is not a folder")
    from kdbench.bench.store import ResultStore

    with ResultStore(db, create=False) as store:
        tables = _tables(store)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, frame in tables.items():
            path = folder / f"{name}.{format}"
            flat = _json_cells(frame)
            if format == "csv":
                flat.to_csv(path, index=False)
            else:
                flat.to_parquet(path, index=False)
            paths.append(path)
    except OSError as e:
        raise StoreError(f"cannot write the export to {folder}: {e.strerror or e}") from e
    return paths


def _tables(store: ResultStore) -> dict[str, pd.DataFrame]:
    return {
        "sweeps": store.sweeps(),
        "trials": store.trials(),
        "phases": store.phases(),
        "epochs": store.epochs(),
        "datasets": store.datasets(),
        "baselines": store.baselines(),
        "environments": store.environments(),
        "regression_runs": store.regression_runs(),
        "regression_cases": store.regression_cases(),
    }


def _json_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Dict/list cells as JSON text: flat files and Parquet need one type per column."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object and out[column].map(lambda v: isinstance(v, (dict, list))).any():
            out[column] = out[column].map(_json_or_null)
    return out


def _json_or_null(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return json.dumps(value, sort_keys=True)


# ---- argparse glue -----------------------------------------------------------------------------------------
def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _info_cmd(args: argparse.Namespace) -> int:
    facts = info(db=args.db)
    print(f"database: {facts['url']}")
    print(f"schema version: {facts['schema_version']} (this kdbench: {facts['supported_schema_version']})")
    if facts["counts"] is None:
        print(facts["hint"])
        return 0
    for name, n in facts["counts"].items():
        print(f"{name}: {n}")
    if facts["gone"]:
        ids = ", ".join(map(str, facts["gone"]))
        print(f"running trials whose `train` process was killed: {ids}; {facts['hint']}")
    return 0


def _repair_cmd(args: argparse.Namespace) -> int:
    settled = repair(db=args.db)
    if settled:
        ids = ", ".join(map(str, settled))
        print(f"settled as failed {len(settled)} trial(s) whose `train` process is gone: {ids}")
    else:
        print("nothing to repair: no running trial of a killed `train` process on this host")
    return 0


def _upgrade_cmd(args: argparse.Namespace) -> int:
    start, end = upgrade(db=args.db)
    print(f"schema version {start}: already current" if start == end else f"schema version {start} -> {end}")
    return 0


def _export_cmd(args: argparse.Namespace) -> int:
    for path in export(db=args.db, format=args.format, out=args.out):
        print(path)
    return 0
