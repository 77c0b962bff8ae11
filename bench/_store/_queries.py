"""Reads: one pandas DataFrame per question, with fixed columns and dtypes even when empty."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVarTuple

import pandas as pd
from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from kdbench.bench._store._schema import (
    Baseline,
    Dataset,
    Environment,
    Epoch,
    Phase,
    RegressionCase,
    RegressionRun,
    Sweep,
    Trial,
)
from kdbench.bench.errors import StoreError

__all__ = [
    "BASELINE_COLUMNS",
    "EPOCH_COLUMNS",
    "LEADERBOARD_COLUMNS",
    "METRIC_COLUMNS",
    "PHASE_COLUMNS",
    "SWEEP_COLUMNS",
    "TRIAL_COLUMNS",
    "baselines",
    "datasets",
    "environment",
    "environments",
    "epochs",
    "get_sweep",
    "leaderboard",
    "phases",
    "regression_cases",
    "regression_run",
    "regression_runs",
    "sweeps",
    "trial",
    "trials",
]

METRIC_COLUMNS = (
    "teacher_test_auc", "teacher_test_logloss", "teacher_valid_auc", "teacher_valid_logloss",
    "student_test_auc", "student_test_logloss", "student_valid_auc", "student_valid_logloss",
    "embedding_params", "teacher_params", "student_params", "teacher_flops", "student_flops",
    "teacher_latency_ms_b1", "teacher_latency_ms_b4096", "student_latency_ms_b1", "student_latency_ms_b4096",
    "student_epochs",
)  # fmt: skip
# Read from the trial's stored result: the serving latencies' thread count and the student artifact kept.
RESULT_COLUMNS = ("train_threads", "latency_threads", "artifact_path", "artifact_sha256")
_CPU_THREADS = re.compile(r"^cpu \((\d+) threads?\)")  # TrialResult.device on a CPU: "cpu (2 threads)"
TRIAL_COLUMNS = (
    "trial_id", "sweep", "number", "status", "error", "config_hash", "config_family", "seed",
    "dataset_fingerprint", "dataset_source", "started_at", "finished_at", "wall_seconds", "teacher_cache_hit",
    "node", "device", "git_sha", "git_dirty", "environment_id", "config", *METRIC_COLUMNS, *RESULT_COLUMNS,
)  # fmt: skip  # then one param_<key> column per config key
SWEEP_COLUMNS = (
    "sweep", "status", "created_at", "finished_at", "space_name", "space_hash", "dataset_fingerprint",
    "objectives", "scheduler", "searcher", "settings", "study_name", "num_trials",
    "n_trials", "n_running", "n_completed", "n_stopped", "n_failed",
)  # fmt: skip
PHASE_COLUMNS = ("trial_id", "sweep", "number", "phase", "position", "epochs", "best_epoch", "valid_auc",
                 "valid_logloss", "test_auc", "test_logloss", "seconds", "samples_per_s")  # fmt: skip
EPOCH_COLUMNS = ("trial_id", "sweep", "number", "phase", "epoch", "student_epoch", "train_loss", "valid_auc",
                 "valid_logloss", "seconds", "samples_per_s", "recorded_at")  # fmt: skip
# then the best trial's trials() columns
LEADERBOARD_COLUMNS = ("dataset_fingerprint", "dataset_source", "config_family", "rank", "metric", "mean",
                       "std", "n_trials", "n_seeds", "best")  # fmt: skip
DATASET_COLUMNS = ("fingerprint", "source", "protocol", "rows", "positives", "fields", "vocab_sizes",
                   "split_sizes", "created_at")  # fmt: skip
ENVIRONMENT_COLUMNS = ("environment_id", "git_sha", "git_dirty", "python", "torch", "ray", "optuna", "cpu",
                       "gpu", "host", "created_at", "data")  # fmt: skip
BASELINE_COLUMNS = ("dataset_fingerprint", "dataset_source", "model", "valid_auc", "valid_logloss",
                    "test_auc", "test_logloss", "fit_seconds", "latency_ms_b1", "latency_ms_b4096", "seed",
                    "params", "environment_id", "created_at", "result")  # fmt: skip
REGRESSION_COLUMNS = ("run_id", "suite", "tag", "baseline", "created_at", "git_sha", "git_dirty",
                      "environment_id", "n_cases", "summary")  # fmt: skip

_INT = "Int64"  # nullable integers: a missing value stays missing instead of turning the column to float
_DTYPES = {
    **dict.fromkeys(("trial_id", "number", "seed", "environment_id", "position", "epochs", "best_epoch",
                     "epoch", "student_epoch", "num_trials", "rows", "positives", "run_id", "n_cases",
                     "n_trials", "n_seeds", "rank", "n_running", "n_completed", "n_stopped", "n_failed"),
                    _INT),
    **dict.fromkeys(("embedding_params", "teacher_params", "student_params", "teacher_flops", "student_flops",
                     "student_epochs"), _INT),
    **dict.fromkeys(("teacher_cache_hit", "git_dirty"), "boolean"),
    **dict.fromkeys(("wall_seconds", "train_loss", "valid_auc", "valid_logloss", "test_auc", "test_logloss",
                     "seconds", "samples_per_s", "mean", "std", "best", "fit_seconds", "latency_ms_b1",
                     "latency_ms_b4096"), "float64"),
}  # fmt: skip
_TIMES = ("created_at", "finished_at", "started_at", "recorded_at")
# Metrics where smaller is better; everything else (AUC) sorts descending.
_LOWER_IS_BETTER = ("logloss", "latency", "params", "flops", "seconds", "epochs")


def _frame(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    df = pd.DataFrame(list(rows), columns=list(columns))
    for column in df.columns:
        if column in _TIMES:
            df[column] = pd.to_datetime(df[column], utc=True)
        elif column in _DTYPES:
            df[column] = df[column].astype(_DTYPES[column])
        elif column in METRIC_COLUMNS:
            df[column] = df[column].astype("float64")
    return df


# ---- sweeps and trials -------------------------------------------------------------------------------------
def sweeps(s: Session) -> pd.DataFrame:
    counts: dict[tuple[int, str], int] = {
        (sweep_id, status): n
        for sweep_id, status, n in s.execute(
            select(Trial.sweep_id, Trial.status, func.count()).group_by(Trial.sweep_id, Trial.status)
        )
    }
    rows = []
    for sw in s.scalars(select(Sweep).order_by(Sweep.created_at, Sweep.id)):
        row = {c: getattr(sw, c) for c in SWEEP_COLUMNS[1:13]}
        n = {
            status: counts.get((sw.id, status), 0) for status in ("running", "completed", "stopped", "failed")
        }
        rows.append(
            {"sweep": sw.name, **row, "n_trials": sum(n.values()), **{f"n_{k}": v for k, v in n.items()}}
        )
    return _frame(rows, SWEEP_COLUMNS)


def get_sweep(s: Session, name: str) -> dict[str, Any] | None:
    sw = s.scalar(select(Sweep).where(Sweep.name == name))
    if sw is None:
        return None
    fields = (
        "status",
        "created_at",
        "finished_at",
        "space_name",
        "space_yaml",
        "space_hash",
        "dataset_fingerprint",
        "objectives",
        "scheduler",
        "searcher",
        "settings",
        "study_name",
        "num_trials",
    )
    return {"name": sw.name, **{c: getattr(sw, c) for c in fields}}  # fmt: skip


def _trial_select() -> Select[Trial, str, str | None, bool | None, str]:
    return (
        select(Trial, Sweep.name, Environment.git_sha, Environment.git_dirty, Dataset.source)
        .join(Sweep, Trial.sweep_id == Sweep.id)
        .outerjoin(Environment, Trial.environment_id == Environment.id)
        .outerjoin(Dataset, Trial.dataset_fingerprint == Dataset.fingerprint)
    )


def _trial_row(t: Trial, sweep: str, git_sha: str | None, git_dirty: bool | None, source: str | None) -> dict:
    row = {c: getattr(t, c) for c in TRIAL_COLUMNS if hasattr(Trial, c)}
    row.update(trial_id=t.id, sweep=sweep, git_sha=git_sha, git_dirty=git_dirty, dataset_source=source)
    result = t.result if isinstance(t.result, dict) else {}
    artifact = found if isinstance(found := result.get("artifact"), dict) else {}
    student = found if isinstance(found := result.get("student"), dict) else {}
    threads = _CPU_THREADS.match(str(result.get("device", "")))
    row.update(
        train_threads=int(threads.group(1)) if threads else None,
        latency_threads=student.get("latency_threads"),
        artifact_path=artifact.get("path"),
        artifact_sha256=artifact.get("sha256"),
    )
    return row


def trials(s: Session, sweep: str | None = None, dataset: str | None = None) -> pd.DataFrame:
    """``dataset`` matches a fingerprint or a dataset source name."""
    query = _trial_select().order_by(Trial.sweep_id, Trial.number)
    if sweep is not None:
        query = query.where(Sweep.name == sweep)
    if dataset is not None:
        query = query.where(or_(Trial.dataset_fingerprint == dataset, Dataset.source == dataset))
    rows = [_trial_row(*r) for r in s.execute(query)]
    params: dict[str, None] = {}  # insertion-ordered union of config keys
    for row in rows:
        params.update(dict.fromkeys(row["config"] or {}))
        for key, value in (row["config"] or {}).items():
            row[f"param_{key}"] = value
    return _frame(rows, [*TRIAL_COLUMNS, *(f"param_{k}" for k in params)])


def phases(s: Session, trial_id: int | None = None, sweep: str | None = None) -> pd.DataFrame:
    query = (
        select(Phase, Trial.number, Sweep.name)
        .join(Trial, Phase.trial_id == Trial.id)
        .join(Sweep, Trial.sweep_id == Sweep.id)
        .order_by(Trial.sweep_id, Trial.number, Phase.position)
    )
    query = _filter(query, trial_id, sweep)
    cols = PHASE_COLUMNS[4:]
    rows = [{"trial_id": p.trial_id, "sweep": name, "number": number, "phase": p.name,
             **{c: getattr(p, c) for c in cols}} for p, number, name in s.execute(query)]  # fmt: skip
    return _frame(rows, PHASE_COLUMNS)


def epochs(s: Session, trial_id: int | None = None, sweep: str | None = None) -> pd.DataFrame:
    query = (
        select(Epoch, Trial.number, Sweep.name)
        .join(Trial, Epoch.trial_id == Trial.id)
        .join(Sweep, Trial.sweep_id == Sweep.id)
        .order_by(Trial.sweep_id, Trial.number, _PHASE_ORDER, Epoch.phase, Epoch.epoch)
    )
    query = _filter(query, trial_id, sweep)
    cols = EPOCH_COLUMNS[3:]
    rows = [{"trial_id": e.trial_id, "sweep": name, "number": number, **{c: getattr(e, c) for c in cols}}
            for e, number, name in s.execute(query)]  # fmt: skip
    return _frame(rows, EPOCH_COLUMNS)


_Ts = TypeVarTuple("_Ts")  # the column types of a query

_PHASE_ORDER = case(
    {"teacher_training": 0, "distillation": 1, "finetuning": 2}, value=Epoch.phase, else_=3
)  # models.PHASES, in the order a trial runs them (the store does not import models)


def _filter(query: Select[*_Ts], trial_id: int | None, sweep: str | None) -> Select[*_Ts]:
    if trial_id is not None:
        query = query.where(Trial.id == trial_id)
    if sweep is not None:
        query = query.where(Sweep.name == sweep)
    return query


def leaderboard(s: Session, dataset: str | None = None, metric: str = "student_test_auc") -> pd.DataFrame:
    if metric not in METRIC_COLUMNS and metric != "wall_seconds":
        raise StoreError(
            f"cannot rank by {metric!r}: choose one of {', '.join(METRIC_COLUMNS)}, wall_seconds"
        )
    df = trials(s, dataset=dataset)
    df = df[(df["status"] == "completed") & df[metric].notna()]
    rest = [c for c in df.columns if c not in LEADERBOARD_COLUMNS]
    if df.empty:
        return _frame([], [*LEADERBOARD_COLUMNS, *rest])
    ascending = any(word in metric for word in _LOWER_IS_BETTER)
    keys = ["dataset_fingerprint", "config_family"]
    df = df.sort_values([metric, "trial_id"], ascending=[ascending, True])
    grouped = df.groupby(keys, sort=False, dropna=False)
    best = grouped.head(1).set_index(keys)
    stats = grouped[metric].agg(["mean", "std", "size"]).rename(columns={"size": "n_trials"})
    stats["n_seeds"] = grouped["seed"].nunique()
    out = best.join(stats).reset_index()
    out["metric"], out["best"] = metric, out[metric]
    out = out.sort_values(["dataset_fingerprint", "mean", "best"], ascending=[True, ascending, ascending])
    out["rank"] = out.groupby("dataset_fingerprint", dropna=False).cumcount() + 1
    return _frame(out[[*LEADERBOARD_COLUMNS, *rest]].to_dict("records"), [*LEADERBOARD_COLUMNS, *rest])


def trial(s: Session, trial_id: int) -> dict[str, Any]:
    found = s.execute(_trial_select().where(Trial.id == trial_id)).first()
    if found is None:
        raise StoreError(f"no trial with id {trial_id} in this database")
    out = _trial_row(*found)
    t = found[0]
    out["result"] = t.result
    out["phases"] = (
        phases(s, trial_id=trial_id).drop(columns=["trial_id", "sweep", "number"]).to_dict("records")
    )
    out["epochs"] = (
        epochs(s, trial_id=trial_id).drop(columns=["trial_id", "sweep", "number"]).to_dict("records")
    )
    env = s.get(Environment, t.environment_id) if t.environment_id is not None else None
    out["environment"] = dict(env.data) if env is not None else None
    ds = s.get(Dataset, t.dataset_fingerprint) if t.dataset_fingerprint else None
    out["dataset"] = dict(ds.info) if ds is not None else None
    return out


# ---- environments, datasets, regressions -------------------------------------------------------------------
def environments(s: Session) -> pd.DataFrame:
    rows = [{"environment_id": e.id, **{c: getattr(e, c) for c in ENVIRONMENT_COLUMNS[1:]}}
            for e in s.scalars(select(Environment).order_by(Environment.id))]  # fmt: skip
    return _frame(rows, ENVIRONMENT_COLUMNS)


def environment(s: Session, env_id: int) -> dict[str, Any]:
    env = s.get(Environment, env_id)
    if env is None:
        raise StoreError(f"no environment with id {env_id} in this database")
    return dict(env.data)


def datasets(s: Session) -> pd.DataFrame:
    rows = [
        {c: getattr(d, c) for c in DATASET_COLUMNS}
        for d in s.scalars(select(Dataset).order_by(Dataset.created_at))
    ]
    return _frame(rows, DATASET_COLUMNS)


def baselines(s: Session, dataset: str | None = None) -> pd.DataFrame:
    """One row per (dataset, baseline model); ``dataset`` matches a fingerprint or a dataset source name."""
    query = (
        select(Baseline, Dataset.source)
        .outerjoin(Dataset, Baseline.dataset_fingerprint == Dataset.fingerprint)
        .order_by(Baseline.dataset_fingerprint, Baseline.model)
    )
    if dataset is not None:
        query = query.where(or_(Baseline.dataset_fingerprint == dataset, Dataset.source == dataset))
    own = [c for c in BASELINE_COLUMNS if c != "dataset_source"]
    rows = [{**{c: getattr(b, c) for c in own}, "dataset_source": source} for b, source in s.execute(query)]
    return _frame(rows, BASELINE_COLUMNS)


def regression_runs(s: Session) -> pd.DataFrame:
    n_cases = select(func.count()).where(RegressionCase.run_id == RegressionRun.id).scalar_subquery()
    query = (
        select(RegressionRun, Environment.git_dirty, n_cases)
        .outerjoin(Environment, RegressionRun.environment_id == Environment.id)
        .order_by(RegressionRun.created_at, RegressionRun.id)
    )
    rows = [{"run_id": r.id, "suite": r.suite, "tag": r.tag, "baseline": r.baseline,
             "created_at": r.created_at, "git_sha": r.git_sha, "git_dirty": dirty,
             "environment_id": r.environment_id, "n_cases": n,
             "summary": r.summary} for r, dirty, n in s.execute(query)]  # fmt: skip
    return _frame(rows, REGRESSION_COLUMNS)


def regression_cases(s: Session, run_id: int | None = None) -> pd.DataFrame:
    query = select(RegressionCase).order_by(RegressionCase.run_id, RegressionCase.position)
    if run_id is not None:
        query = query.where(RegressionCase.run_id == run_id)
    rows = [
        {"run_id": c.run_id, "position": c.position, "name": c.name, "case": c.data} for c in s.scalars(query)
    ]
    return _frame(rows, ("run_id", "position", "name", "case"))


def regression_run(s: Session, ref: int | str) -> dict[str, Any]:
    """``ref``: a run id, a tag (the latest run with it), or a git sha prefix of at least 4 characters."""
    latest = (RegressionRun.created_at.desc(), RegressionRun.id.desc())
    run = None
    if isinstance(ref, int) and not isinstance(ref, bool):
        run = s.get(RegressionRun, ref)
    elif isinstance(ref, str) and ref:
        run = s.scalars(select(RegressionRun).where(RegressionRun.tag == ref).order_by(*latest)).first()
        if run is None and ref.isdigit():
            run = s.get(RegressionRun, int(ref))
        if run is None and len(ref) >= 4:
            matches = s.scalars(
                select(RegressionRun)
                .where(RegressionRun.git_sha.startswith(ref, autoescape=True))
                .order_by(*latest)
            ).all()
            if len({m.git_sha for m in matches}) > 1:
                raise StoreError(f"git sha prefix {ref!r} is ambiguous: give more characters")
            run = matches[0] if matches else None
    if run is None:
        raise StoreError(f"no regression run matches {ref!r} (give a run id, a tag or a git sha prefix)")
    env = s.get(Environment, run.environment_id) if run.environment_id is not None else None
    cases = s.scalars(
        select(RegressionCase).where(RegressionCase.run_id == run.id).order_by(RegressionCase.position)
    )
    return {
        "run_id": run.id, "suite": run.suite, "tag": run.tag, "baseline": run.baseline,
        "created_at": run.created_at, "git_sha": run.git_sha, "environment_id": run.environment_id,
        "environment": dict(env.data) if env is not None else None,
        "summary": run.summary, "cases": [c.data for c in cases],
    }  # fmt: skip
