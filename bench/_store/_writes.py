"""Writes. Each function runs inside the caller's transaction (``ResultStore`` opens a :class:`WriteSession`
per call) and is idempotent: the same call twice leaves the database as one call does."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import String, delete, event, func, select, text, update
from sqlalchemy.orm import Session

from kdbench.bench._store._engine import plain
from kdbench.bench._store._names import check_sweep_name
from kdbench.bench._store._schema import (
    Base,
    Baseline,
    Dataset,
    Environment,
    Epoch,
    Meta,
    Phase,
    RegressionCase,
    RegressionRun,
    Sweep,
    Trial,
    utcnow,
)
from kdbench.bench.errors import StoreError, shorten

__all__ = [
    "ADHOC_SWEEP",
    "SWEEP_STATUSES",
    "TRIAL_STATUSES",
    "WriteSession",
    "check_writable",
    "create_sweep",
    "finish_sweep",
    "finish_trial",
    "record_baselines",
    "record_dataset",
    "record_environment",
    "record_epochs",
    "record_regression_run",
    "record_trial",
    "start_trial",
    "update_sweep_settings",
]

ADHOC_SWEEP = "adhoc"
SWEEP_STATUSES = ("running", "completed", "interrupted", "failed")
TRIAL_STATUSES = ("running", "completed", "stopped", "failed")  # stopped: early, by the scheduler
FINAL_TRIAL_STATUSES = TRIAL_STATUSES[1:]

DATASET_KEYS = (
    "fingerprint",
    "source",
    "protocol",
    "rows",
    "positives",
    "fields",
    "vocab_sizes",
    "split_sizes",
)
EPOCH_KEYS = ("phase", "epoch", "student_epoch", "train_loss", "valid_auc", "valid_logloss", "seconds",
              "samples_per_s")  # fmt: skip
PHASE_KEYS = ("name", "epochs", "best_epoch", "valid_auc", "valid_logloss", "test_auc", "test_logloss",
              "seconds", "samples_per_s")  # fmt: skip
RESULT_KEYS = ("config", "config_hash", "config_family", "dataset_fingerprint", "seed", "device",
               "wall_seconds", "teacher_cache_hit", "embedding_params", "teacher", "student", "phases",
               "epochs")  # fmt: skip
BASELINE_KEYS = ("model", "dataset_fingerprint", "valid_auc", "valid_logloss", "test_auc", "test_logloss",
                 "params", "fit_seconds", "latency_ms_b1", "latency_ms_b4096", "seed")  # fmt: skip
MODEL_KEYS = ("test_auc", "test_logloss", "valid_auc", "valid_logloss", "params", "flops", "latency_ms_b1",
              "latency_ms_b4096")  # fmt: skip


class WriteSession(Session):
    """The session writes run in: a bounded column's value is checked before it reaches the database."""


@event.listens_for(WriteSession, "before_flush")
def _check_lengths(s: Session, _context: object, _instances: object) -> None:
    # SQLite ignores VARCHAR lengths, PostgreSQL refuses longer values: refuse them here, on every backend,
    # with the column's name. Only kdbench's own short values (hashes, statuses, ...) have bounded columns.
    for row in (*s.new, *s.dirty):
        table = getattr(row, "__table__", None)
        if table is None:
            continue
        for column in table.columns:
            limit = column.type.length if isinstance(column.type, String) else None
            value = getattr(row, column.key, None)
            if limit is not None and isinstance(value, str) and len(value) > limit:
                shown = shorten(value, 40)
                raise StoreError(
                    f"{table.name}.{column.name} takes at most {limit} characters, "
                    f"got {len(value)} ({shown!r})"
                )


def check_writable(s: Session) -> None:
    """A write transaction that changes nothing, to learn before long work whether the database takes writes
    (a read-only file or folder, a role without INSERT, a read-only replica all fail here)."""
    if s.connection().dialect.name == "postgresql":
        # ROW EXCLUSIVE is the lock INSERT and UPDATE take: asking for it needs a write privilege per table
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        s.execute(text(f"LOCK TABLE {tables} IN ROW EXCLUSIVE MODE"))
    s.execute(update(Meta).where(Meta.key == "schema_version").values(value=Meta.value))


# ---- environment and dataset -------------------------------------------------------------------------------
def record_environment(s: Session, env: Mapping[str, Any]) -> int:
    if not isinstance(env, Mapping):
        raise StoreError(f"environment must be a dict, got {type(env).__name__}")
    data = plain(dict(env))
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    found = s.scalar(select(Environment.id).where(Environment.content_hash == digest))
    if found is not None:
        return found
    row = Environment(content_hash=digest, data=data, **{k: _text(data.get(k)) for k in _ENV_TEXT})
    row.git_dirty = data.get("git_dirty")
    s.add(row)
    s.flush()
    return row.id


_ENV_TEXT = ("git_sha", "python", "torch", "ray", "optuna", "cpu", "gpu", "host")


def record_dataset(s: Session, info: Mapping[str, Any]) -> None:
    _require(info, DATASET_KEYS, "dataset info")
    if s.get(Dataset, info["fingerprint"]) is not None:
        return  # the fingerprint identifies the content: nothing to update
    row = {k: plain(info[k]) for k in DATASET_KEYS}
    if isinstance(row["protocol"], Mapping):  # Dataset.info() gives the rules as a dict; the column is text
        row["protocol"] = json.dumps(row["protocol"], sort_keys=True)
    s.add(Dataset(**row, info=plain(dict(info))))


# ---- sweeps ------------------------------------------------------------------------------------------------
def create_sweep(s: Session, name: str, **fields: Any) -> None:
    check_sweep_name(name)
    if s.scalar(select(Sweep.id).where(Sweep.name == name)) is not None:
        raise StoreError(f"sweep {name!r} already exists: pick another name, or resume it")
    objectives = fields["objectives"]
    if not isinstance(objectives, list) or not all(isinstance(o, Mapping) for o in objectives):
        raise StoreError(f"objectives must be a list of dicts, got {objectives!r}")
    space_yaml = fields["space_yaml"]
    space_hash = fields.pop("space_hash") or (
        hashlib.sha256(space_yaml.encode()).hexdigest()[:16] if space_yaml is not None else None
    )
    settings = fields.pop("settings") or {}
    s.add(
        Sweep(name=name, status="running", space_hash=space_hash, settings=plain(settings), **plain(fields))
    )


def finish_sweep(s: Session, name: str, status: str) -> None:
    _check_status(status, SWEEP_STATUSES, "sweep")
    sweep = _sweep(s, name)
    sweep.status = status
    sweep.finished_at = None if status == "running" else utcnow()


def update_sweep_settings(s: Session, name: str, changes: Mapping[str, Any]) -> None:
    if not isinstance(changes, Mapping):
        raise StoreError(f"sweep settings changes must be a dict, got {type(changes).__name__}")
    sweep = _sweep(s, name)
    sweep.settings = {**(sweep.settings or {}), **plain(dict(changes))}  # a new dict: JSON columns need it


def _sweep(s: Session, name: str) -> Sweep:
    sweep = s.scalar(select(Sweep).where(Sweep.name == name))
    if sweep is None:
        raise StoreError(f"no sweep named {name!r} in this database")
    return sweep


def _implicit_sweep(s: Session, name: str) -> Sweep:
    sweep = s.scalar(select(Sweep).where(Sweep.name == name))
    if sweep is None:
        check_sweep_name(name)  # an existing sweep may predate the rule; a new one follows it
        sweep = Sweep(name=name, status="completed", objectives=[], scheduler={}, searcher={},
                      settings={"implicit": True})  # fmt: skip
        s.add(sweep)
        s.flush()
    return sweep


# ---- trials ------------------------------------------------------------------------------------------------
def start_trial(s: Session, sweep: str | None, number: int | None, **fields: Any) -> int:
    # sweep=None: the implicit adhoc sweep (``kdbench train``), number=None: that sweep's next number.
    sweep_row = _sweep(s, sweep) if sweep is not None else _implicit_sweep(s, ADHOC_SWEEP)
    return _upsert_trial(s, sweep_row, _next_number(s, sweep_row) if number is None else number, **fields).id


def _next_number(s: Session, sweep: Sweep) -> int:
    last = s.scalar(select(func.max(Trial.number)).where(Trial.sweep_id == sweep.id))
    return 0 if last is None else last + 1


def _upsert_trial(s: Session, sweep: Sweep, number: int, **fields: Any) -> Trial:
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise StoreError(f"a trial number must be an int >= 0, got {number!r}")
    if fields.get("environment_id") is not None and s.get(Environment, fields["environment_id"]) is None:
        raise StoreError(f"no environment with id {fields['environment_id']} (record_environment first)")
    trial = s.scalar(select(Trial).where(Trial.sweep_id == sweep.id, Trial.number == number))
    if trial is None:
        trial = Trial(sweep_id=sweep.id, number=number)
        s.add(trial)
    # A resumed sweep re-running the trial: same row, fresh attempt (earlier metrics stay until replaced).
    for key, value in fields.items():
        setattr(trial, key, plain(value))
    trial.status, trial.error, trial.started_at, trial.finished_at = "running", None, utcnow(), None
    s.flush()
    return trial


def record_epochs(s: Session, trial_id: int, rows: Iterable[Mapping[str, Any]]) -> None:
    _trial(s, trial_id)
    existing = {(e.phase, e.epoch): e for e in s.scalars(select(Epoch).where(Epoch.trial_id == trial_id))}
    for row in rows:
        _require(row, ("phase", "epoch"), "epoch row", allowed=EPOCH_KEYS)
        key = (str(row["phase"]), int(row["epoch"]))
        epoch = existing.get(key)
        if epoch is None:
            epoch = existing[key] = Epoch(trial_id=trial_id, phase=key[0], epoch=key[1])
            s.add(epoch)
        epoch.student_epoch = _int(row.get("student_epoch"))
        for name in ("train_loss", "valid_auc", "valid_logloss", "seconds", "samples_per_s"):
            setattr(epoch, name, _num(row.get(name)))
        epoch.recorded_at = utcnow()


def finish_trial(
    s: Session, trial_id: int, *, status: str, result: Mapping[str, Any] | None, error: str | None
) -> None:
    _check_status(status, FINAL_TRIAL_STATUSES, "finished trial")
    trial = _trial(s, trial_id)
    if result is not None:
        _apply_result(s, trial, result)
    trial.status, trial.error, trial.finished_at = status, error, utcnow()


def record_trial(
    s: Session,
    sweep: str | None,
    number: int | None,
    *,
    result: Mapping[str, Any],
    status: str,
    environment_id: int | None,
    error: str | None,
    node: str | None,
    device: str | None,
) -> int:
    _check_status(status, FINAL_TRIAL_STATUSES, "finished trial")
    _require(result, RESULT_KEYS, "trial result")
    sweep_row = _implicit_sweep(s, ADHOC_SWEEP if sweep is None else sweep)  # '' is refused, not adhoc
    if number is None:
        number = _next_number(s, sweep_row)
    trial = _upsert_trial(
        s, sweep_row, number, config=result["config"], config_hash=result["config_hash"],
        config_family=result["config_family"], seed=result["seed"],
        dataset_fingerprint=result["dataset_fingerprint"], environment_id=environment_id, node=node,
        device=device or result["device"],
    )  # fmt: skip
    finish_trial(s, trial.id, status=status, result=result, error=error)
    return trial.id


def _apply_result(s: Session, trial: Trial, result: Mapping[str, Any]) -> None:
    """Flat columns, phase rows, epoch rows and the full JSON from a TrialResult dict (CONTRACTS.md)."""
    _require(result, RESULT_KEYS, "trial result")
    for side in ("teacher", "student"):
        _require(result[side], MODEL_KEYS, f"trial result's {side!r}")
        for key in MODEL_KEYS:
            column = f"{side}_{key}"
            value = result[side][key]
            setattr(trial, column, _int(value) if key in ("params", "flops") else _num(value))
    trial.config = plain(result["config"])
    trial.config_hash, trial.config_family = result["config_hash"], result["config_family"]
    trial.seed, trial.dataset_fingerprint = _int(result["seed"]), result["dataset_fingerprint"]
    trial.device = trial.device or result["device"]
    trial.wall_seconds = _num(result["wall_seconds"])
    trial.teacher_cache_hit = bool(result["teacher_cache_hit"])
    trial.embedding_params = _int(result["embedding_params"])
    trial.result = plain(dict(result))
    s.execute(delete(Phase).where(Phase.trial_id == trial.id))  # derived from the result: replaced whole
    student_epochs = 0
    for position, phase in enumerate(result["phases"]):
        _require(phase, PHASE_KEYS, "trial result phase", allowed=PHASE_KEYS)
        s.add(Phase(trial_id=trial.id, position=position, name=phase["name"],
                    epochs=_int(phase["epochs"]), best_epoch=_int(phase["best_epoch"]),
                    **{k: _num(phase[k]) for k in PHASE_KEYS[3:]}))  # fmt: skip
        if phase["name"] != "teacher_training":
            student_epochs += _int(phase["epochs"]) or 0
    trial.student_epochs = student_epochs
    record_epochs(s, trial.id, result["epochs"])


def _trial(s: Session, trial_id: int) -> Trial:
    trial = s.get(Trial, trial_id)
    if trial is None:
        raise StoreError(f"no trial with id {trial_id} in this database")
    return trial


# ---- regression runs ---------------------------------------------------------------------------------------
def record_regression_run(
    s: Session,
    suite: str,
    *,
    environment_id: int,
    summary: Mapping[str, Any],
    cases: list[Mapping[str, Any]],
    tag: str | None,
    baseline: str | None,
) -> int:
    env = s.get(Environment, environment_id)
    if env is None:
        raise StoreError(f"no environment with id {environment_id} (record_environment first)")
    run = RegressionRun(suite=suite, tag=tag, baseline=baseline, environment_id=environment_id,
                        git_sha=env.git_sha, summary=plain(dict(summary)))  # fmt: skip
    s.add(run)
    s.flush()
    for position, case in enumerate(cases):
        if not isinstance(case, Mapping):
            raise StoreError(f"regression case {position} must be a dict, got {type(case).__name__}")
        name = case.get("name", case.get("case"))
        s.add(RegressionCase(run_id=run.id, position=position, name=_text(name), data=plain(dict(case))))
    return run.id


# ---- baselines ---------------------------------------------------------------------------------------------
def record_baselines(s: Session, results: Iterable[Mapping[str, Any]], *, environment_id: int | None) -> None:
    """Upsert each ``BaselineResult.to_dict()`` by (dataset fingerprint, model): a refit replaces the row."""
    if environment_id is not None and s.get(Environment, environment_id) is None:
        raise StoreError(f"no environment with id {environment_id} (record_environment first)")
    for result in results:
        _require(result, BASELINE_KEYS, "baseline result")
        if not isinstance(result["params"], Mapping):
            kind = type(result["params"]).__name__
            raise StoreError(f"baseline result's 'params' must be a dict, got {kind}")
        fingerprint, model = str(result["dataset_fingerprint"]), str(result["model"])
        row = s.scalar(
            select(Baseline).where(Baseline.dataset_fingerprint == fingerprint, Baseline.model == model)
        )
        if row is None:
            row = Baseline(dataset_fingerprint=fingerprint, model=model)
            s.add(row)
        for name in ("valid_auc", "valid_logloss", "test_auc", "test_logloss", "fit_seconds", "latency_ms_b1",
                     "latency_ms_b4096"):  # fmt: skip
            setattr(row, name, _num(result[name]))
        row.seed = _int(result["seed"])
        row.params, row.result = plain(dict(result["params"])), plain(dict(result))
        row.environment_id, row.created_at = environment_id, utcnow()
        s.flush()  # the next result of the same key finds this row


# ---- small helpers -----------------------------------------------------------------------------------------
def _require(
    mapping: Mapping[str, Any], keys: Iterable[str], what: str, *, allowed: Iterable[str] | None = None
) -> None:
    if not isinstance(mapping, Mapping):
        raise StoreError(f"{what} must be a dict, got {type(mapping).__name__}")
    missing = [k for k in keys if k not in mapping]
    unknown = [k for k in mapping if allowed is not None and k not in allowed]
    if missing or unknown:
        parts = [f"missing {', '.join(map(repr, missing))}"] if missing else []
        parts += [f"unknown {', '.join(map(repr, unknown))}"] if unknown else []
        raise StoreError(f"{what}: {'; '.join(parts)}")


def _check_status(status: str, allowed: tuple[str, ...], what: str) -> None:
    if status not in allowed:
        raise StoreError(f"{what} status must be one of {', '.join(allowed)}; got {status!r}")


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
