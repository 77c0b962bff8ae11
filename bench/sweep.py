"""Sweeps: Optuna searches the KD-DAGFM space, Ray Tune schedules and parallelises the trials.

Every trial is a full ``run_trial`` (teacher -> distillation -> finetuning) on a Ray worker; every result goes
to the results store, written by one driver-side Tune callback. The Optuna study lives in the same database
under the sweep's name, so ``optuna.load_study(study_name=NAME, storage=URL)`` and ``optuna-dashboard URL``
read it. See ``docs/sweeps.md`` for the user's view.

- :func:`run_sweep` starts a sweep; :func:`resume_sweep` continues one whose driver stopped (killed, Ctrl-C):
  finished trials are kept, interrupted ones re-run under their old numbers, the study continues from its
  history (its leftover RUNNING trials are marked FAIL first), and the sweep ends with exactly ``trials``
  finished trials.
- Both return a :class:`SweepSummary`. Bad input (unknown space, dataset or database, a name clash, no such
  sweep, GPUs the cluster lacks, an unreachable Ray address) raises a
  :class:`~kdbench.bench.errors.KdbenchError` before anything is written to the store.
- Ray: joined at ``address`` or started privately; a sweep that started Ray shuts it down on every exit path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import re
import socket
import time
from typing import Any

from kdbench.bench._sweep._budget import budget_spent
from kdbench.bench._sweep._numbers import (
    best_trial,
    count_finished,
    is_interrupted,
    settle_running_optuna_trials,
    store_outcomes,
)
from kdbench.bench._sweep._options import (
    OBJECTIVES,
    SAMPLERS,
    SCHEDULERS,
    Objective,
    build_sampler,
    objectives_for,
)
from kdbench.bench._sweep._plan import (
    Runtime,
    SweepPlan,
    check_count,
    load_trial_space,
    make_runtime,
    parse_duration,
    scheduler_for,
    validate_plan,
)
from kdbench.bench._sweep._study import check_study
from kdbench.bench._sweep._tuner import tune_trials
from kdbench.bench._sweep._warm import default_trial
from kdbench.bench.errors import SweepError

__all__ = [
    "OBJECTIVES",
    "SAMPLERS",
    "SCHEDULERS",
    "SweepPlan",
    "SweepSummary",
    "best_trial",
    "check_count",
    "fit_recipe_to_data",
    "load_trial_space",
    "parse_duration",
    "resume_sweep",
    "run_sweep",
]

PROGRESS_MODES = ("auto", "live", "lines", "quiet")


@dataclasses.dataclass(frozen=True)
class SweepSummary:
    """What a sweep ended with; ``store_url`` has any password redacted."""

    name: str
    status: str  # completed | interrupted | failed
    trials: dict[str, int]  # finished trials by status (completed, stopped, failed)
    best_number: int | None
    best_config: dict[str, Any] | None
    best_student_valid_auc: float | None
    best_student_test_auc: float | None
    wall_seconds: float
    store_url: str
    study_name: str
    pareto_front: list[dict[str, Any]] | None = None
    # The warm-start trial (the default configuration projected onto the space), when it completed.
    default_number: int | None = None
    default_student_valid_auc: float | None = None
    default_student_test_auc: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def run_sweep(
    *,
    space: str = "quick",
    dataset: str = "ml-100k",
    dataset_path: str | None = None,
    dataset_schema: str | None = None,
    split_seed: int | None = None,
    trials: int | None = 16,
    time_budget: str | float | None = None,
    warm_start: bool = True,
    name: str | None = None,
    db: str | None = None,
    objective: str = "auc",
    sampler: str = "tpe",
    seed: int = 2022,
    scheduler: str = "none",
    grace_period: int = 2,
    reduction_factor: float = 3.0,
    concurrency: int = 2,
    cpus_per_trial: float = 1.0,
    gpus_per_trial: float = 0.0,
    address: str | None = None,
    teacher_cache: str | None = "default",
    ray_storage: str | None = None,
    ray_temp_dir: str | None = None,
    data_cache: str | None = None,
    progress: str = "auto",
    console: Any = None,
    no_recipe: bool = False,
    artifacts: str | bool | None = None,
) -> SweepSummary:
    """Run a new sweep of ``trials`` trials over ``space`` on ``dataset``; results in ``db``.

    ``name`` defaults to ``<space>-<dataset>-<UTC time>`` and names the Optuna study too. ``objective``: one
    of :data:`OBJECTIVES` (``auc``: maximise the student's valid AUC; ``auc+latency`` / ``auc+flops``:
    multi-objective, needs ``scheduler="none"``). ``scheduler``: none (the default:
    early student epochs did not predict a trial's end on any dataset measured), asha or median, on student
    epochs (``grace_period``, ``reduction_factor``). ``teacher_cache``: a folder every node can read and lock,
    ``"default"`` (``$KDBENCH_HOME/teachers``) or None (always train teachers). ``ray_storage``: Tune's
    results folder (default ``$KDBENCH_HOME/ray_results``). ``progress``: auto (live table on a terminal,
    a line per trial elsewhere), live, lines or quiet. Every trial's config starts from the dataset's
    recipe (``kdbench.bench.recipes.recipe_for_data``: its source's, or one fitted to the data's size;
    recorded with the sweep) under the space's keys, unless ``no_recipe``.
    ``data_cache``: a datasets folder every node can read, from which workers map a dataset above
    ``kdbench.bench.batches.map_threshold()`` (default: the driver's own cache; docs/scale.md).
    Defaults suit a 2-core laptop. ``dataset`` is a source or a prepared dataset's name or fingerprint;
    ``split_seed`` (default: 2022, or the name's own) is recorded with the sweep.
    ``warm_start``: the first trial is the recipe (or the trial-config defaults) projected onto the space
    (``_sweep/_warm.py``). ``time_budget``: seconds, or ``90s`` / ``30m`` / ``2h``, after which no new trial
    starts (running ones get a tenth of the budget, at least 30 s, more, then are stopped); with ``trials``
    the sweep ends at whichever comes first, and ``trials=None`` runs until the budget is spent.
    """
    from kdbench.bench._sweep._warm import warm_start_for
    from kdbench.bench.data import dataset_source, default_split_seed
    from kdbench.bench.recipes import recipe_for

    if trials is not None:
        check_count("trials", trials, minimum=1)
    budget = None if time_budget is None else parse_duration(time_budget)
    if split_seed is None:
        split_seed = default_split_seed(dataset, schema=dataset_schema)
    elif isinstance(split_seed, bool) or not isinstance(split_seed, int) or split_seed < 0:
        raise SweepError(f"--split-seed must be an integer >= 0, got {split_seed!r}")
    training_recipe = None if no_recipe else recipe_for(dataset_source(dataset))
    space_obj = load_trial_space(space, training_recipe)
    if name is None:
        name = default_sweep_name(space_obj.name, dataset)
    plan = SweepPlan(
        name=name,
        space=space_obj,
        dataset={"source": dataset, "path": dataset_path, "schema": dataset_schema, "split_seed": split_seed},
        trials=trials,
        objective=objective,
        sampler=sampler,
        seed=seed,
        scheduler=scheduler,
        grace_period=grace_period,
        reduction_factor=reduction_factor,
        training_recipe=training_recipe,
        warm_start=warm_start_for(space_obj, training_recipe) if warm_start else None,
        time_budget_s=budget,
    )
    validate_plan(plan)
    runtime = make_runtime(
        concurrency,
        cpus_per_trial,
        gpus_per_trial,
        address,
        teacher_cache,
        ray_storage,
        ray_temp_dir,
        data_cache,
        artifacts,
    )
    from kdbench.bench.store import check_url

    check_url(db)  # the URL now; the database is created only once the data has prepared
    data = _prepare(plan)
    if not no_recipe:
        plan = fit_recipe_to_data(plan, space, data.info())
    store = _open_store(db, create=True)
    try:
        if store.get_sweep(name) is not None:
            raise SweepError(
                f"sweep {name!r} already exists in {store.url_redacted}: continue it with --resume {name}, "
                "or pick another --name"
            )
        directions = [o.direction for o in objectives_for(plan.objective)]
        check_study(store.optuna_storage(), name, directions, new=True, where=store.url_redacted)
        return _execute(store, plan, runtime, data, new=True, progress=progress, console=console)
    finally:
        store.close()


def fit_recipe_to_data(plan: SweepPlan, space: str, info: dict[str, Any]) -> SweepPlan:
    """``plan`` with the training recipe that fits the prepared data (``recipe_for_data``: a source's own
    for data of its reference size, else one fitted to its size), the space checked against it and the warm
    start projected from it; ``plan`` itself when the source's recipe fits."""
    from kdbench.bench._sweep._warm import warm_start_for
    from kdbench.bench.recipes import recipe_for_data

    fitted = recipe_for_data(info)
    if fitted is plan.training_recipe:
        return plan
    space_obj = load_trial_space(space, fitted)
    warm = warm_start_for(space_obj, fitted) if plan.warm_start is not None else None
    fitted_recipe = dataclasses.replace(plan, space=space_obj, training_recipe=fitted, warm_start=warm)
    validate_plan(fitted_recipe)
    return fitted_recipe


def resume_sweep(
    *,
    name: str,
    db: str | None = None,
    concurrency: int | None = None,
    cpus_per_trial: float | None = None,
    gpus_per_trial: float | None = None,
    address: str | None = None,
    teacher_cache: str | None = "stored",
    ray_storage: str | None = None,
    ray_temp_dir: str | None = None,
    data_cache: str | None = None,
    progress: str = "auto",
    console: Any = None,
    artifacts: str | bool | None = None,
) -> SweepSummary:
    """Continue sweep ``name`` in ``db`` with the space, data, objective, sampler and scheduler it was created
    with. Resources left None (and ``teacher_cache="stored"``) take the values it last ran with."""
    from kdbench.bench._sweep._warm import WarmStart
    from kdbench.bench.config import TrialConfig
    from kdbench.bench.data import Recipe
    from kdbench.bench.recipes import problems_under
    from kdbench.search_spaces import parse_space

    store = _open_store(db, create=False)
    try:
        row = store.get_sweep(name)
        if row is None or row["settings"].get("implicit"):
            known = [s for s in store.sweeps()["sweep"] if s != "adhoc"]
            hint = f" (sweeps here: {', '.join(known)})" if known else ""
            raise SweepError(f"no sweep named {name!r} in {store.url_redacted} to resume{hint}")
        _check_driver_gone(row)
        settings = row["settings"]
        stored = settings.get("recipe")  # None: --no-recipe, a source without one, or an older sweep
        training_recipe = (
            None if stored is None else Recipe(stored["name"], stored["values"], stored.get("rationale", ""))
        )
        try:
            space = parse_space(
                row["space_yaml"], source=f"sweep {name}", default_name=row["space_name"],
                known_keys=[f.name for f in dataclasses.fields(TrialConfig)],
                check=problems_under(training_recipe),
            )  # fmt: skip
        except Exception as e:  # the stored YAML was valid when the sweep started
            raise SweepError(f"sweep {name!r}: its stored search space no longer loads: {e}") from e
        scheduler = row["scheduler"]
        warm = settings.get("warm_start")  # absent: --no-warm-start, or a sweep from before warm starts
        budget = (settings.get("time_budget") or {}).get("seconds")
        plan = SweepPlan(
            name=name,
            space=space,
            dataset=settings["dataset"],
            trials=None if row["num_trials"] is None else int(row["num_trials"]),
            objective=settings["objective"],
            sampler=row["searcher"]["sampler"],
            seed=int(row["searcher"]["seed"]),
            scheduler=scheduler["name"],
            grace_period=int(scheduler.get("grace_period", 2)),
            reduction_factor=float(scheduler.get("reduction_factor", 3.0)),
            training_recipe=training_recipe,
            warm_start=None if warm is None else WarmStart(**{**warm, "changes": tuple(warm["changes"])}),
            time_budget_s=None if budget is None else float(budget),
        )
        last = settings["runtime"]
        runtime = make_runtime(
            concurrency if concurrency is not None else last["concurrency"],
            cpus_per_trial if cpus_per_trial is not None else last["cpus_per_trial"],
            gpus_per_trial if gpus_per_trial is not None else last["gpus_per_trial"],
            address if address is not None else last["address"],
            last["teacher_cache"] if teacher_cache == "stored" else teacher_cache,
            ray_storage or last["ray_storage"],
            ray_temp_dir,
            data_cache if data_cache is not None else last.get("data_cache"),
            artifacts if artifacts is not None else last.get("artifacts"),
        )
        directions = [o.direction for o in objectives_for(plan.objective)]
        check_study(store.optuna_storage(), name, directions, new=False, where=store.url_redacted)
        data = _prepare(plan)
        return _execute(store, plan, runtime, data, new=False, progress=progress, console=console)
    finally:
        store.close()


def default_sweep_name(space: str, dataset: str) -> str:
    """``<space>-<dataset>-<UTC time>``, reduced to the characters and length a sweep name allows."""
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    parts = [re.sub(r"[^A-Za-z0-9._-]+", "-", part).strip("-._")[:40] or "x" for part in (space, dataset)]
    return f"{parts[0]}-{parts[1]}-{stamp}"


# ---- the run ---------------------------------------------------------------------------------------------
def _prepare(plan: SweepPlan) -> Any:
    from kdbench.bench.data import open_dataset

    return open_dataset(
        plan.dataset["source"],
        path=plan.dataset["path"],
        schema=plan.dataset["schema"],
        split_seed=plan.dataset["split_seed"],
    )


def _execute(
    store: Any, plan: SweepPlan, runtime: Runtime, data: Any, *, new: bool, progress: str, console: Any
) -> SweepSummary:
    from kdbench.bench.provenance import environment

    started = time.perf_counter()
    objectives = objectives_for(plan.objective)
    if not new:
        stored = store.get_sweep(plan.name)["dataset_fingerprint"]
        if stored != data.fingerprint:
            raise SweepError(
                f"sweep {plan.name!r} ran on dataset {stored}, but {plan.dataset['source']} now prepares "
                f"as {data.fingerprint}: resume with the same data"
            )
    existing = store.trials(sweep=plan.name)
    remaining = None if plan.trials is None else plan.trials - count_finished(existing)
    deadline = _deadline(store, plan, new=new)
    from kdbench.bench._sweep import _ray

    with _ray.connected(runtime.address, num_cpus=None, temp_dir=runtime.ray_temp_dir):
        cluster = _ray.check_resources(
            cpus_per_trial=runtime.cpus_per_trial, gpus_per_trial=runtime.gpus_per_trial
        )
        # From here on the store is written.
        env_id = store.record_environment(environment())
        store.record_dataset(data.info())
        run_record = {
            "started_at": dt.datetime.now(dt.UTC).isoformat(),
            "remaining": remaining,
            "budget_left_s": None if deadline is None else round(deadline - time.time(), 1),
            "cluster": cluster,
            "runtime": runtime.to_dict(),
        }
        if new:
            _create_sweep(store, plan, runtime, objectives, data, env_id, run_record)
        else:
            store.finish_sweep(plan.name, "running")
            runs = store.get_sweep(plan.name)["settings"].get("runs", [])
            store.update_sweep_settings(
                plan.name, {"runs": [*runs, run_record], "runtime": runtime.to_dict(), "driver": _driver()}
            )
        try:
            status = _search(store, plan, runtime, objectives, data, env_id, existing, remaining, deadline,
                             progress, console)  # fmt: skip
        except BaseException as e:  # Ctrl-C twice, or a crash: the sweep must not stay "running"
            _record_run_end(store, plan.name, started)
            store.finish_sweep(plan.name, "interrupted" if isinstance(e, KeyboardInterrupt) else "failed")
            raise
        _record_run_end(store, plan.name, started)
        store.finish_sweep(plan.name, status)
    return _summary(store, plan, objectives, status, time.perf_counter() - started)


def _search(
    store: Any, plan: SweepPlan, runtime: Runtime, objectives: tuple[Objective, ...], data: Any, env_id: int,
    existing: Any, remaining: int | None, deadline: float | None, progress: str, console: Any,
) -> str:  # fmt: skip
    """Tune the remaining trials (if any, and budget is left) on the study, then record the Pareto front;
    return the status."""
    optuna_storage = store.optuna_storage()
    outcomes = store_outcomes(existing, [o.metric for o in objectives])
    settle_running_optuna_trials(optuna_storage, plan.name, outcomes)
    status = "completed"
    budget_left = deadline is None or deadline > time.time()
    if (remaining is None or remaining > 0) and budget_left:
        status = tune_trials(store, plan, runtime, objectives, data, env_id, existing, remaining,
                             deadline, optuna_storage, progress, console)  # fmt: skip
    if len(objectives) > 1:
        from kdbench.bench._sweep._pareto import pareto_front

        front = pareto_front(store.trials(sweep=plan.name), objectives)
        store.update_sweep_settings(plan.name, {"pareto_front": front})
    return status


# ---- pieces ----------------------------------------------------------------------------------------------


def _create_sweep(
    store: Any,
    plan: SweepPlan,
    runtime: Runtime,
    objectives: tuple[Objective, ...],
    data: Any,
    env_id: int,
    run_record: dict[str, Any],
) -> None:
    from kdbench.bench.provenance import environment

    _, sampler_settings = build_sampler(
        plan.sampler, seed=plan.seed, trials=plan.trials, multi_objective=len(objectives) > 1
    )
    _, scheduler_settings = scheduler_for(plan, objectives)
    store.create_sweep(
        plan.name,
        space_name=plan.space.name,
        space_yaml=plan.space.text,
        space_hash=plan.space.hash,
        dataset_fingerprint=data.fingerprint,
        objectives=[o.to_dict() for o in objectives],
        scheduler=scheduler_settings,
        searcher={"name": "optuna", **sampler_settings, "study_name": plan.name},
        study_name=plan.name,
        num_trials=plan.trials,
        settings={
            "objective": plan.objective,
            "dataset": plan.dataset,
            "dataset_info": data.info(),
            "environment": environment(),
            "environment_id": env_id,
            "runtime": runtime.to_dict(),
            "driver": _driver(),
            "runs": [run_record],
            "recipe": plan.training_recipe.to_dict() if plan.training_recipe is not None else None,
            "warm_start": None if plan.warm_start is None else plan.warm_start.to_dict(),
            "time_budget": None if plan.time_budget_s is None else {"seconds": plan.time_budget_s},
            "trial_numbers": "0..trials-1 here; Optuna trials link back by user attr kdbench_number",
        },
    )


def _open_store(db: str | None, *, create: bool) -> Any:
    from kdbench.bench.store import open_writable

    return open_writable(db, create=create)  # before data, Ray or any trial work


def _deadline(store: Any, plan: SweepPlan, *, new: bool) -> float | None:
    """The wall-clock time (``time.time()``) after which no new trial starts: the budget less what earlier
    runs of the sweep spent; None without a budget."""
    if plan.time_budget_s is None:
        return None
    spent = 0.0
    if not new:
        row = store.get_sweep(plan.name)
        spent = budget_spent(row["settings"].get("runs", []), store.trials(sweep=plan.name))
    return time.time() + max(0.0, plan.time_budget_s - spent)


def _record_run_end(store: Any, name: str, started: float) -> None:
    """Close this run's record with the seconds it spent (what a resume's time budget subtracts)."""
    runs = store.get_sweep(name)["settings"].get("runs", [])
    if runs:
        last = {**runs[-1], "ended_at": dt.datetime.now(dt.UTC).isoformat(),
                "spent_s": round(time.perf_counter() - started, 1)}  # fmt: skip
        store.update_sweep_settings(name, {"runs": [*runs[:-1], last]})


def _driver() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _check_driver_gone(row: dict[str, Any]) -> None:
    """Refuse to resume a sweep whose driver still runs on this host (two drivers would share numbers)."""
    driver = row["settings"].get("driver") or {}
    if row["status"] != "running" or driver.get("host") != socket.gethostname():
        return
    pid = driver.get("pid")
    if isinstance(pid, int) and pid != os.getpid():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, 0)
            raise SweepError(
                f"sweep {row['name']!r} is still running (driver pid {pid}): stop it before resuming"
            )


def _summary(
    store: Any, plan: SweepPlan, objectives: tuple[Objective, ...], status: str, seconds: float
) -> SweepSummary:
    trials = store.trials(sweep=plan.name)
    counts: dict[str, int] = {}
    for state, error in zip(trials["status"], trials["error"], strict=True):
        key = "interrupted" if is_interrupted(state, error) else state
        counts[key] = counts.get(key, 0) + 1
    best = best_trial(trials)
    settings = store.get_sweep(plan.name)["settings"]
    default = default_trial(trials, settings.get("warm_start"))
    return SweepSummary(
        name=plan.name,
        status=status,
        trials=counts,
        best_number=None if best is None else int(best["number"]),
        best_config=None if best is None else dict(best["config"]),
        best_student_valid_auc=None if best is None else float(best["student_valid_auc"]),
        best_student_test_auc=None if best is None else float(best["student_test_auc"]),
        wall_seconds=seconds,
        store_url=store.url_redacted,
        study_name=plan.name,
        pareto_front=settings.get("pareto_front") if len(objectives) > 1 else None,
        default_number=None if default is None else int(default["number"]),
        default_student_valid_auc=None if default is None else float(default["student_valid_auc"]),
        default_student_test_auc=None if default is None else float(default["student_test_auc"]),
    )
