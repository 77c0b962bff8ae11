"""The results database: the single source of truth that sweeps write and reports read.

SQLAlchemy 2 over SQLite by default (``sqlite:///kdbench.db`` in the working directory) or any SQLAlchemy URL;
PostgreSQL (psycopg 3) is the cluster choice. Our tables are prefixed ``kd_``; Optuna's own tables live in
the same database (:meth:`ResultStore.optuna_storage`), so ``optuna-dashboard URL`` opens every sweep.

- Writes: one transaction per call, idempotent per (sweep, trial number): a resumed sweep that reports the
  same trial again updates its row. Only the sweep driver and the CLI write (workers report through Tune).
  SQLite runs in WAL mode with a busy timeout and takes its write lock at the start of each write.
- Reads: pandas DataFrames with fixed columns (empty frames keep them); times are timezone-aware UTC.
- The schema carries a version (``kd_meta``); a database of another version is refused with a
  :class:`~kdbench.bench.errors.StoreError` that says what to do (:func:`upgrade_database` runs the
  migrations).
- Every failure is a :class:`~kdbench.bench.errors.StoreError` with one line; a URL's password is never shown
  (:attr:`ResultStore.url_redacted`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from kdbench.bench._store import _migrations, _queries, _writes
from kdbench.bench._store._engine import connect, engine_kwargs, failure
from kdbench.bench._store._names import SWEEP_NAME_MAX, SWEEP_NAME_RULE, check_sweep_name
from kdbench.bench._store._queries import (
    BASELINE_COLUMNS,
    EPOCH_COLUMNS,
    LEADERBOARD_COLUMNS,
    METRIC_COLUMNS,
    PHASE_COLUMNS,
    SWEEP_COLUMNS,
    TRIAL_COLUMNS,
)
from kdbench.bench._store._urls import DEFAULT_URL, is_memory, parse, redact
from kdbench.bench._store._writes import ADHOC_SWEEP, EPOCH_KEYS, SWEEP_STATUSES, TRIAL_STATUSES, WriteSession
from kdbench.bench.errors import StoreError
from kdbench.bench.io import free_space

if TYPE_CHECKING:
    import optuna

__all__ = [
    "ADHOC_SWEEP",
    "BASELINE_COLUMNS",
    "DEFAULT_URL",
    "EPOCH_COLUMNS",
    "EPOCH_KEYS",
    "LEADERBOARD_COLUMNS",
    "METRIC_COLUMNS",
    "PHASE_COLUMNS",
    "SWEEP_COLUMNS",
    "SWEEP_NAME_MAX",
    "SWEEP_NAME_RULE",
    "SWEEP_STATUSES",
    "TRIAL_COLUMNS",
    "TRIAL_STATUSES",
    "ResultStore",
    "check_sweep_name",
    "recorded_schema_version",
    "redact",
    "schema_version_supported",
    "upgrade_database",
]

T = TypeVar("T")


def schema_version_supported() -> int:
    """The schema version this kdbench reads and writes."""
    return _migrations.SCHEMA_VERSION


def recorded_schema_version(url: str | None = None) -> tuple[str, int]:
    """The (redacted) URL and the schema version recorded in the existing database at ``url``, whatever it is:
    unlike :class:`ResultStore`, an older or newer database is not refused (``kdbench db info``)."""
    parsed = parse(url, must_exist=True)
    engine = connect(parsed, wal=False)
    try:
        with engine.connect() as conn:
            version = _migrations.read_version(conn)
    except SQLAlchemyError as e:
        raise failure("cannot read", parsed, e) from e
    finally:
        engine.dispose()
    if version is None:
        raise StoreError(f"no kdbench database at {redact(parsed)} (no kdbench tables there)")
    return redact(parsed), version


def check_url(url: str | None = None) -> None:
    """Validate a database URL that results are to be kept in, without touching the database (dialect,
    driver installed, a SQLite file's folder; not in memory); :class:`StoreError` with one line otherwise.
    Servers are checked later, by connecting."""
    if is_memory(parse(url)):
        raise StoreError(
            f"{url}: an in-memory database would lose the results when kdbench exits: give a file, "
            "e.g. sqlite:///kdbench.db"
        )


def open_writable(url: str | None = None, *, create: bool = True) -> ResultStore:
    """A :class:`ResultStore` proven to take writes (:meth:`ResultStore.check_writable`): for callers that
    must not start long work whose results the database would then refuse (``train --db``, sweeps)."""
    check_url(url)
    store = ResultStore(url, create=create)
    try:
        store.check_writable()
    except BaseException:
        store.close()
        raise
    return store


def upgrade_database(url: str | None = None) -> tuple[int, int]:
    """Migrate the database at ``url`` to this kdbench's schema; return ``(from, to)`` (equal: no-op)."""
    parsed = parse(url, must_exist=True)
    engine = connect(parsed, wal=False)
    try:
        return _migrations.upgrade(engine)
    except SQLAlchemyError as e:
        raise failure("cannot upgrade", parsed, e) from e
    finally:
        engine.dispose()


def _new_sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL that does not exist yet (this store would create it), else None."""
    if not url.drivername.startswith("sqlite") or not url.database or is_memory(url):
        return None
    path = Path(url.database).expanduser()
    return None if path.exists() else path


def _remove_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class ResultStore:
    """Sweeps, trials, epochs, phases, environments, datasets, baselines and regression runs in one database.

    ``ResultStore(url=None, *, create=True)``: validates ``url`` and connects at once; an unknown driver, an
    unreachable server, a SQLite path in a missing folder or a file that is not a database raise
    :class:`StoreError` (one line). A database without kdbench tables gets the schema when ``create`` is
    true (read-only callers such as reports and ``kdbench export`` pass ``create=False``).
    """

    def __init__(self, url: str | None = None, *, create: bool = True) -> None:
        self._url: URL = parse(url, must_exist=not create)
        new_file = _new_sqlite_file(self._url)
        self._engine: Engine = connect(self._url, wal=create)
        self._optuna: optuna.storages.RDBStorage | None = None
        try:
            _migrations.prepare(self._engine, create=create)
        except SQLAlchemyError as e:
            self._engine.dispose()
            if new_file is not None:  # a database this call began (a full disk, say) is not left half-made
                _remove_sqlite_files(new_file)
            error = failure("cannot open", self._url, e)
            if new_file is not None and "disk" in str(e).lower():
                error = StoreError(f"{error} ({free_space(new_file.parent)} free in {new_file.parent})")
            raise error from e
        except StoreError:
            self._engine.dispose()
            raise

    # ---- identity and lifetime --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The full URL, password included: hand it to Optuna or a worker, never print it."""
        return self._url.render_as_string(hide_password=False)

    @property
    def url_redacted(self) -> str:
        """The URL with its password as ``***``: safe for logs and reports."""
        return redact(self._url)

    def __repr__(self) -> str:
        return f"ResultStore({self.url_redacted!r})"

    def close(self) -> None:
        if self._optuna is not None:
            self._optuna.engine.dispose()
            self._optuna = None
        self._engine.dispose()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def schema_version(self) -> int:
        with self._read() as s:
            return _migrations.read_version(s.connection()) or 0

    def optuna_storage(self) -> optuna.storages.RDBStorage:
        """Optuna's storage on this database (created once, closed with the store)."""
        if is_memory(self._url):
            raise StoreError("an in-memory database cannot be shared with Optuna: use a SQLite file")
        if self._optuna is None:
            import optuna

            try:
                self._optuna = optuna.storages.RDBStorage(self.url, engine_kwargs=engine_kwargs(self._url))
            except (SQLAlchemyError, RuntimeError) as e:
                raise failure("cannot open Optuna's tables in", self._url, e) from e
        return self._optuna

    # ---- transactions -----------------------------------------------------------------------------------
    @contextmanager
    def _read(self) -> Iterator[Session]:
        try:
            with Session(self._engine) as s, s.begin():
                yield s
        except SQLAlchemyError as e:
            raise failure("cannot read", self._url, e) from e

    def _write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(session, ...)`` in one write transaction; retry once if a concurrent writer won a race."""
        engine = self._engine.execution_options(kd_write=True)
        for attempt in (1, 2):
            try:
                with WriteSession(engine, expire_on_commit=False) as s, s.begin():
                    return fn(s, *args, **kwargs)
            except (IntegrityError, OperationalError) as e:
                if attempt == 2 or (isinstance(e, OperationalError) and "deadlock" not in str(e).lower()):
                    raise failure("cannot write to", self._url, e) from e
            except SQLAlchemyError as e:
                raise failure("cannot write to", self._url, e) from e
        raise AssertionError("unreachable")

    # ---- writes -----------------------------------------------------------------------------------------
    def check_writable(self) -> None:
        """:class:`StoreError` (one line) unless this database takes writes; changes nothing.

        Opening proves only that the database can be read (and, with ``create``, that a fresh one could be
        created); call this before long work whose result must be recorded (``kdbench train --db``). It runs
        one write transaction that rewrites a row with its own value: a read-only file or folder, a role
        without write privileges on any ``kd_`` table, or a read-only server fail here.
        """
        self._write(_writes.check_writable)

    def record_environment(self, env: dict[str, Any]) -> int:
        """Store an environment (``kdbench.bench.provenance.environment()``); the same content returns the
        same id."""
        return self._write(_writes.record_environment, env)

    def record_dataset(self, info: dict[str, Any]) -> None:
        """Store ``Dataset.info()`` once per fingerprint (a second call changes nothing)."""
        self._write(_writes.record_dataset, info)

    def create_sweep(
        self,
        name: str,
        *,
        space_name: str | None,
        space_yaml: str | None,
        dataset_fingerprint: str | None,
        objectives: list[dict[str, Any]],
        scheduler: dict[str, Any],
        searcher: dict[str, Any],
        study_name: str | None,
        num_trials: int | None,
        settings: dict[str, Any] | None = None,
        space_hash: str | None = None,
    ) -> None:
        """A new sweep with status ``running``; :class:`StoreError` if ``name`` exists (resume it instead) or
        breaks the sweep-name rule (:data:`SWEEP_NAME_RULE`, :func:`check_sweep_name`).

        ``space_hash`` defaults to the first 16 hex digits of the SHA-256 of ``space_yaml``.
        """
        self._write(
            _writes.create_sweep, name, space_name=space_name, space_yaml=space_yaml,
            dataset_fingerprint=dataset_fingerprint, objectives=objectives, scheduler=scheduler,
            searcher=searcher, study_name=study_name, num_trials=num_trials, settings=settings,
            space_hash=space_hash,
        )  # fmt: skip

    def get_sweep(self, name: str) -> dict[str, Any] | None:
        """Every field of sweep ``name`` (``space_yaml`` included) or ``None``."""
        with self._read() as s:
            return _queries.get_sweep(s, name)

    def finish_sweep(self, name: str, status: str) -> None:
        """Set a sweep's status (running, completed, interrupted, failed) and its finish time."""
        self._write(_writes.finish_sweep, name, status)

    def update_sweep_settings(self, name: str, changes: dict[str, Any]) -> None:
        """Merge ``changes`` into sweep ``name``'s settings (top-level keys replaced, others kept)."""
        self._write(_writes.update_sweep_settings, name, changes)

    def start_trial(
        self,
        sweep: str | None,
        number: int | None,
        *,
        config: dict[str, Any],
        config_hash: str,
        config_family: str,
        seed: int,
        dataset_fingerprint: str,
        environment_id: int,
        node: str | None = None,
        device: str | None = None,
    ) -> int:
        """Mark a trial running and return its id; a re-reported (sweep, number) reuses its row.

        ``sweep=None`` files it under the implicit ``"adhoc"`` sweep (``kdbench train``); ``number=None``
        takes the sweep's next number.
        """
        return self._write(
            _writes.start_trial, sweep, number, config=config, config_hash=config_hash,
            config_family=config_family, seed=seed, dataset_fingerprint=dataset_fingerprint,
            environment_id=environment_id, node=node, device=device,
        )  # fmt: skip

    def record_epochs(self, trial_id: int, rows: list[dict[str, Any]]) -> None:
        """Upsert per-epoch metrics keyed by (trial, phase, epoch); keys as in ``report()`` (CONTRACTS)."""
        self._write(_writes.record_epochs, trial_id, rows)

    def finish_trial(
        self, trial_id: int, *, status: str, result: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        """Close a trial: completed, stopped (early, by the scheduler) or failed (with ``error``).

        ``result`` (a ``TrialResult.to_dict()``) fills the flat metrics, the phase rows, the epoch rows and
        the stored JSON; without it, earlier values stay.
        """
        self._write(_writes.finish_trial, trial_id, status=status, result=result, error=error)

    def record_trial(
        self,
        sweep: str | None,
        number: int | None,
        *,
        result: dict[str, Any],
        status: str = "completed",
        environment_id: int,
        error: str | None = None,
        node: str | None = None,
        device: str | None = None,
    ) -> int:
        """Start and finish a trial in one transaction (``kdbench train``, regressions).

        ``sweep=None`` files it under the implicit sweep ``"adhoc"`` (a named sweep that does not exist is
        created the same way, its name checked like :meth:`create_sweep`'s); ``number=None`` takes the
        sweep's next number.
        """
        return self._write(
            _writes.record_trial, sweep, number, result=result, status=status,
            environment_id=environment_id, error=error, node=node, device=device,
        )  # fmt: skip

    def record_regression_run(
        self,
        suite: str,
        *,
        environment_id: int,
        summary: dict[str, Any],
        cases: list[dict[str, Any]],
        tag: str | None = None,
        baseline: str | None = None,
    ) -> int:
        """Store one regression-suite run (summary and per-case dicts as given); returns its id."""
        return self._write(
            _writes.record_regression_run, suite, environment_id=environment_id, summary=summary,
            cases=cases, tag=tag, baseline=baseline,
        )  # fmt: skip

    def record_baselines(self, results: list[dict[str, Any]], *, environment_id: int | None = None) -> None:
        """Store baseline results (``BaselineResult.to_dict()``, ``kdbench.bench.baselines``), one row per
        (dataset fingerprint, model) in one transaction: recording a model's baseline again replaces its row.
        Non-finite metrics (a split with one class) are stored as missing."""
        self._write(_writes.record_baselines, results, environment_id=environment_id)

    # ---- reads ------------------------------------------------------------------------------------------
    def sweeps(self) -> pd.DataFrame:
        """One row per sweep (:data:`SWEEP_COLUMNS`) with trial counts by status."""
        with self._read() as s:
            return _queries.sweeps(s)

    def trials(self, sweep: str | None = None, dataset: str | None = None) -> pd.DataFrame:
        """One row per trial (:data:`TRIAL_COLUMNS`, then ``param_<key>`` per config key).

        ``dataset`` matches a dataset fingerprint or source name.
        """
        with self._read() as s:
            return _queries.trials(s, sweep=sweep, dataset=dataset)

    def phases(self, trial_id: int | None = None, sweep: str | None = None) -> pd.DataFrame:
        """One row per (trial, phase) (:data:`PHASE_COLUMNS`), in phase order."""
        with self._read() as s:
            return _queries.phases(s, trial_id=trial_id, sweep=sweep)

    def epochs(self, trial_id: int | None = None, sweep: str | None = None) -> pd.DataFrame:
        """One row per (trial, phase, epoch) (:data:`EPOCH_COLUMNS`), in the order they were reported."""
        with self._read() as s:
            return _queries.epochs(s, trial_id=trial_id, sweep=sweep)

    def leaderboard(self, dataset: str | None = None, metric: str = "student_test_auc") -> pd.DataFrame:
        """Completed trials grouped by (dataset, config family): ``metric`` mean/std over seeds, then the
        best trial's columns; ranked best first within each dataset (logloss, latency, params, FLOPs,
        seconds and epochs ascending; AUC descending). Columns: :data:`LEADERBOARD_COLUMNS` + trials()'s."""
        with self._read() as s:
            return _queries.leaderboard(s, dataset=dataset, metric=metric)

    def trial(self, trial_id: int) -> dict[str, Any]:
        """Everything about one trial: its trials() row, result JSON, phases, epochs, environment, dataset."""
        with self._read() as s:
            return _queries.trial(s, trial_id)

    def environment(self, env_id: int) -> dict[str, Any]:
        """The environment dict as recorded."""
        with self._read() as s:
            return _queries.environment(s, env_id)

    def environments(self) -> pd.DataFrame:
        with self._read() as s:
            return _queries.environments(s)

    def datasets(self) -> pd.DataFrame:
        with self._read() as s:
            return _queries.datasets(s)

    def baselines(self, dataset: str | None = None) -> pd.DataFrame:
        """One row per (dataset, baseline model) (:data:`BASELINE_COLUMNS`; ``params`` and ``result`` as
        recorded); ``dataset`` matches a dataset fingerprint or source name."""
        with self._read() as s:
            return _queries.baselines(s, dataset=dataset)

    def regression_runs(self) -> pd.DataFrame:
        with self._read() as s:
            return _queries.regression_runs(s)

    def regression_cases(self, run_id: int | None = None) -> pd.DataFrame:
        with self._read() as s:
            return _queries.regression_cases(s, run_id=run_id)

    def regression_run(self, ref: int | str) -> dict[str, Any]:
        """One regression run with environment, summary and cases; ``ref``: run id, tag or git sha prefix."""
        with self._read() as s:
            return _queries.regression_run(s, ref)
