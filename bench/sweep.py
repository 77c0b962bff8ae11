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
  sweep, GPUs the cluster lacks, an unreachable Ray address) raises a :class:`~bench.errors.KdbenchError`
  before anything is written to the store.
- Ray: joined at ``address`` or started privately; a sweep that started Ray shuts it down on every exit path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import math
import os
import socket
import time
from pathlib import Path
from typing import Any

from bench._sweep._numbers import NumberAllocator, count_finished, fail_running_optuna_trials, is_interrupted
from bench._sweep._options import (
    OBJECTIVES,
    SAMPLERS,
    SCHEDULERS,
    Objective,
    build_sampler,
    build_scheduler,
    objectives_for,
)
from bench.errors import SearchSpaceError, SweepError

__all__ = ["OBJECTIVES", "SAMPLERS", "SCHEDULERS", "SweepSummary", "resume_sweep", "run_sweep"]

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

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class _Recipe:
    """What defines a sweep and never changes on resume."""

    name: str
    space: Any  # search_spaces.SearchSpace
    dataset: dict[str, Any]  # prepare() arguments: source, path, schema, split_seed
    trials: int
    objective: str
    sampler: str
    seed: int
    scheduler: str
    grace_period: int
    reduction_factor: float


@dataclasses.dataclass(frozen=True)
class _Runtime:
    """How this driver runs it: may differ between a sweep and its resumes."""

    concurrency: int
    cpus_per_trial: float
    gpus_per_trial: float
    address: str | None
    teacher_cache: str | None
    ray_storage: str
    ray_temp_dir: str | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def run_sweep(
    *,
    space: str = "quick",
    dataset: str = "ml-100k",
    dataset_path: str | None = None,
    dataset_schema: str | None = None,
    trials: int = 16,
    name: str | None = None,
    db: str | None = None,
    objective: str = "auc",
    sampler: str = "tpe",
    seed: int = 2022,
    scheduler: str = "asha",
    grace_period: int = 2,
    reduction_factor: float = 3.0,
    concurrency: int = 2,
    cpus_per_trial: float = 1.0,
    gpus_per_trial: float = 0.0,
    address: str | None = None,
    teacher_cache: str | None = "default",
    ray_storage: str | None = None,
    ray_temp_dir: str | None = None,
    progress: str = "auto",
    console: Any = None,
) -> SweepSummary:
    """Run a new sweep of ``trials`` trials over ``space`` on ``dataset``; results in ``db``.

    ``name`` defaults to ``<space>-<dataset>-<UTC time>`` and names the Optuna study too. ``objective``: one
    of :data:`OBJECTIVES` (``auc``: maximise the student's valid AUC; ``auc+latency`` / ``auc+flops``:
    multi-objective, needs ``scheduler="none"``). ``scheduler``: asha, median or none, on student epochs
    (``grace_period``, ``reduction_factor``). ``teacher_cache``: a folder every node can read and lock,
    ``"default"`` (``$KDBENCH_HOME/teachers``) or None (always train teachers). ``ray_storage``: Tune's
    results folder (default ``$KDBENCH_HOME/ray_results``). ``progress``: auto (live table on a terminal,
    a line per trial elsewhere), live, lines or quiet. Defaults suit a 2-core laptop.
    """
    _check_count("trials", trials, minimum=1)
    space_obj = _load_space(space)
    name = name or f"{space_obj.name}-{dataset}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    recipe = _Recipe(
        name=name,
        space=space_obj,
        dataset={"source": dataset, "path": dataset_path, "schema": dataset_schema, "split_seed": 2022},
        trials=trials,
        objective=objective,
        sampler=sampler,
        seed=seed,
        scheduler=scheduler,
        grace_period=grace_period,
        reduction_factor=reduction_factor,
    )
    _validate_recipe(recipe)
    runtime = _runtime(
        concurrency, cpus_per_trial, gpus_per_trial, address, teacher_cache, ray_storage, ray_temp_dir
    )
    store = _open_store(db, create=True)
    try:
        if store.get_sweep(name) is not None:
            raise SweepError(
                f"sweep {name!r} already exists in {store.url_redacted}: continue it with --resume {name}, "
                "or pick another --name"
            )
        return _execute(store, recipe, runtime, new=True, progress=progress, console=console)
    finally:
        store.close()


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
    progress: str = "auto",
    console: Any = None,
) -> SweepSummary:
    """Continue sweep ``name`` in ``db`` with the space, data, objective, sampler and scheduler it was created
    with. Resources left None (and ``teacher_cache="stored"``) take the values it last ran with."""
    from search_spaces import parse_space

    store = _open_store(db, create=False)
    try:
        row = store.get_sweep(name)
        if row is None or row["settings"].get("implicit"):
            known = [s for s in store.sweeps()["sweep"] if s != "adhoc"]
            hint = f" (sweeps here: {', '.join(known)})" if known else ""
            raise SweepError(f"no sweep named {name!r} in {store.url_redacted} to resume{hint}")
        _check_driver_gone(row)
        settings = row["settings"]
        try:
            space = parse_space(row["space_yaml"], source=f"sweep {name}", default_name=row["space_name"])
        except Exception as e:  # the stored YAML was valid when the sweep started
            raise SweepError(f"sweep {name!r}: its stored search space no longer loads: {e}") from e
        scheduler = row["scheduler"]
        recipe = _Recipe(
            name=name,
            space=space,
            dataset=settings["dataset"],
            trials=int(row["num_trials"]),
            objective=settings["objective"],
            sampler=row["searcher"]["sampler"],
            seed=int(row["searcher"]["seed"]),
            scheduler=scheduler["name"],
            grace_period=int(scheduler.get("grace_period", 2)),
            reduction_factor=float(scheduler.get("reduction_factor", 3.0)),
        )
        last = settings["runtime"]
        runtime = _runtime(
            concurrency if concurrency is not None else last["concurrency"],
            cpus_per_trial if cpus_per_trial is not None else last["cpus_per_trial"],
            gpus_per_trial if gpus_per_trial is not None else last["gpus_per_trial"],
            address if address is not None else last["address"],
            last["teacher_cache"] if teacher_cache == "stored" else teacher_cache,
            ray_storage or last["ray_storage"],
            ray_temp_dir,
        )
        return _execute(store, recipe, runtime, new=False, progress=progress, console=console)
    finally:
        store.close()


# ---- the run ---------------------------------------------------------------------------------------------
def _execute(
    store: Any, recipe: _Recipe, runtime: _Runtime, *, new: bool, progress: str, console: Any
) -> SweepSummary:
    from bench.data import prepare
    from bench.provenance import environment

    started = time.perf_counter()
    objectives = objectives_for(recipe.objective)
    data = prepare(
        recipe.dataset["source"],
        path=recipe.dataset["path"],
        schema=recipe.dataset["schema"],
        split_seed=recipe.dataset["split_seed"],
    )
    if not new:
        stored = store.get_sweep(recipe.name)["dataset_fingerprint"]
        if stored != data.fingerprint:
            raise SweepError(
                f"sweep {recipe.name!r} ran on dataset {stored}, but {recipe.dataset['source']} now prepares "
                f"as {data.fingerprint}: resume with the same data"
            )
    existing = store.trials(sweep=recipe.name)
    remaining = recipe.trials - count_finished(existing)
    from bench._sweep import _ray

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
            "cluster": cluster,
            "runtime": runtime.to_dict(),
        }
        if new:
            _create_sweep(store, recipe, runtime, objectives, data, env_id, run_record)
        else:
            store.finish_sweep(recipe.name, "running")
            runs = store.get_sweep(recipe.name)["settings"].get("runs", [])
            store.update_sweep_settings(
                recipe.name, {"runs": [*runs, run_record], "runtime": runtime.to_dict(), "driver": _driver()}
            )
        try:
            status = _search(store, recipe, runtime, objectives, data, env_id, existing, remaining, progress,
                             console)  # fmt: skip
        except BaseException as e:  # Ctrl-C twice, or a crash: the sweep must not stay "running"
            store.finish_sweep(recipe.name, "interrupted" if isinstance(e, KeyboardInterrupt) else "failed")
            raise
        store.finish_sweep(recipe.name, status)
    return _summary(store, recipe, objectives, status, time.perf_counter() - started)


def _search(
    store: Any, recipe: _Recipe, runtime: _Runtime, objectives: tuple[Objective, ...], data: Any, env_id: int,
    existing: Any, remaining: int, progress: str, console: Any,
) -> str:  # fmt: skip
    """Tune the remaining trials (if any) on the study, then record the Pareto front; return the status."""
    optuna_storage = store.optuna_storage()
    fail_running_optuna_trials(optuna_storage, recipe.name)
    status = "completed"
    if remaining > 0:
        status = _tune(store, recipe, runtime, objectives, data, env_id, existing, remaining, optuna_storage,
                       progress, console)  # fmt: skip
    if len(objectives) > 1:
        from bench._sweep._pareto import pareto_front

        front = pareto_front(store.trials(sweep=recipe.name), objectives)
        store.update_sweep_settings(recipe.name, {"pareto_front": front})
    return status


def _tune(
    store: Any,
    recipe: _Recipe,
    runtime: _Runtime,
    objectives: tuple[Objective, ...],
    data: Any,
    env_id: int,
    existing: Any,
    remaining: int,
    optuna_storage: Any,
    progress: str,
    console: Any,
) -> str:
    """Run ``remaining`` trials under Tune; return the sweep status (completed or interrupted)."""
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch
    from rich.console import Console

    from bench._sweep._callback import StoreWriter
    from bench._sweep._progress import Progress
    from bench._sweep._trainable import TrainableSettings, train_kd

    # Tune logs every failed trial's traceback at ERROR level; the store keeps the error, the table shows it.
    os.environ.setdefault("TUNE_PRINT_ALL_TRIAL_ERRORS", "0")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")  # no CSV/JSON/TensorBoard per trial
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # the new engine prints its banner even at verbose=0
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # "A new study created" and the like
    history = _study_size(optuna_storage, recipe.name)
    # A resumed seeded sampler would replay the start-up draws the study already tried: offset the seed.
    sampler, _ = build_sampler(
        recipe.sampler, seed=recipe.seed + history, trials=recipe.trials, multi_objective=len(objectives) > 1
    )
    scheduler, _ = _scheduler(recipe, objectives)
    metrics = [o.metric for o in objectives]
    modes = [o.mode for o in objectives]
    searcher = OptunaSearch(
        space=_DefineByRun(recipe.space),
        metric=metrics[0] if len(metrics) == 1 else metrics,
        mode=modes[0] if len(modes) == 1 else modes,
        sampler=sampler,
        study_name=recipe.name,
        storage=optuna_storage,
    )
    study_id = _study_id(optuna_storage, recipe.name)

    def link_optuna(optuna_number: int, store_number: int) -> None:
        trial_id = optuna_storage.get_trial_id_from_study_id_trial_number(study_id, optuna_number)
        # A trial that failed before its first report is already finished in the study: no link then.
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
            optuna_storage.set_trial_user_attr(trial_id, "kdbench_number", store_number)

    console = console or Console(highlight=False)
    mode = progress if progress != "auto" else ("live" if console.is_terminal else "lines")
    best = _best_so_far(existing)
    with Progress(
        sweep=recipe.name,
        total=recipe.trials,
        already_finished=recipe.trials - remaining,
        best=best,
        mode=mode,
        console=console,
    ) as board:
        writer = StoreWriter(
            store,
            recipe.name,
            allocator=NumberAllocator.from_trials(existing),
            environment_id=env_id,
            dataset_fingerprint=data.fingerprint,
            stopped_by_scheduler=scheduler.stopped,
            link_optuna=link_optuna,
            on_event=board,
        )
        settings = TrainableSettings(
            objective_metrics=tuple(metrics),
            device="cuda" if runtime.gpus_per_trial > 0 else "cpu",
            threads=max(1, int(runtime.cpus_per_trial)),
            teacher_cache=runtime.teacher_cache,
        )
        trainable = tune.with_resources(
            tune.with_parameters(train_kd, dataset=_plain_arrays(data), settings=settings),
            {"cpu": runtime.cpus_per_trial, "gpu": runtime.gpus_per_trial},
        )
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                search_alg=searcher,
                scheduler=scheduler,
                num_samples=remaining,
                max_concurrent_trials=runtime.concurrency,
                reuse_actors=True,
                trial_dirname_creator=_trial_dirname,
            ),
            run_config=tune.RunConfig(
                name=f"{recipe.name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}",
                storage_path=runtime.ray_storage,
                verbose=0,
                callbacks=[writer],
                failure_config=tune.FailureConfig(max_failures=0),
            ),
        )
        try:
            # Tune's closing complaints ("no result.json": we log none; "trials did not complete": failed
            # trials are in the store with their errors) would only repeat what the store and table say.
            with _quiet_logger("ray.tune.analysis.experiment_analysis"), _quiet_logger("ray.tune.tune"):
                tuner.fit()
        except BaseException:  # a second Ctrl-C (KeyboardInterrupt) or a crash of Tune itself
            writer.interrupt_unfinished(_interrupt_reason(recipe.name))
            fail_running_optuna_trials(optuna_storage, recipe.name)
            raise
    # Tune returns early after Ctrl-C with trials neither finished nor reported as such.
    interrupted = writer.interrupt_unfinished(_interrupt_reason(recipe.name))
    fail_running_optuna_trials(optuna_storage, recipe.name)
    finished_now = count_finished(store.trials(sweep=recipe.name))
    return "interrupted" if interrupted or finished_now < recipe.trials else "completed"


# ---- pieces ----------------------------------------------------------------------------------------------
class _DefineByRun:
    """Optuna's define-by-run function for Tune: the space's suggestions under ``kd``, plus Optuna's trial
    number (Tune keeps the raw Optuna parameters beside them). A class, not a closure: Tune pickles it."""

    def __init__(self, space: Any) -> None:
        self.space = space

    # Tune pickles the searcher in its experiment checkpoints; a SearchSpace holds read-only mappings that do
    # not pickle, and its YAML text rebuilds it exactly.
    def __getstate__(self) -> dict[str, Any]:
        return {"text": self.space.text, "name": self.space.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        from search_spaces import parse_space

        self.space = parse_space(state["text"], default_name=state["name"])

    def __call__(self, trial: Any) -> dict[str, Any]:
        from bench._sweep._trainable import CONFIG_KEY, NUMBER_KEY

        return {CONFIG_KEY: self.space.suggest(trial), NUMBER_KEY: trial.number}


@contextlib.contextmanager
def _quiet_logger(name: str) -> Any:
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _trial_dirname(trial: Any) -> str:
    return f"trial_{trial.trial_id}"  # Tune's default joins the config (Optuna names hold | and =)


def _plain_arrays(data: Any) -> Any:
    """The dataset with in-memory arrays instead of memory maps, for Ray's object store (shared zero-copy by
    the workers of a node; no shared file system or dataset cache needed on other nodes)."""
    import numpy as np

    from bench.data import Split

    splits = {
        n: Split(np.asarray(getattr(data, n).x), np.asarray(getattr(data, n).y))
        for n in ("train", "valid", "test")
    }
    return dataclasses.replace(data, **splits)


def _create_sweep(
    store: Any,
    recipe: _Recipe,
    runtime: _Runtime,
    objectives: tuple[Objective, ...],
    data: Any,
    env_id: int,
    run_record: dict[str, Any],
) -> None:
    from bench.provenance import environment

    _, sampler_settings = build_sampler(
        recipe.sampler, seed=recipe.seed, trials=recipe.trials, multi_objective=len(objectives) > 1
    )
    _, scheduler_settings = _scheduler(recipe, objectives)
    store.create_sweep(
        recipe.name,
        space_name=recipe.space.name,
        space_yaml=recipe.space.text,
        space_hash=recipe.space.hash,
        dataset_fingerprint=data.fingerprint,
        objectives=[o.to_dict() for o in objectives],
        scheduler=scheduler_settings,
        searcher={"name": "optuna", **sampler_settings, "study_name": recipe.name},
        study_name=recipe.name,
        num_trials=recipe.trials,
        settings={
            "objective": recipe.objective,
            "dataset": recipe.dataset,
            "dataset_info": data.info(),
            "environment": environment(),
            "environment_id": env_id,
            "runtime": runtime.to_dict(),
            "driver": _driver(),
            "runs": [run_record],
            "trial_numbers": "0..trials-1 here; Optuna trials link back by user attr kdbench_number",
        },
    )


def _scheduler(recipe: _Recipe, objectives: tuple[Objective, ...]) -> tuple[Any, dict[str, Any]]:
    return build_scheduler(
        recipe.scheduler,
        objectives=objectives,
        max_student_epochs=_max_student_epochs(recipe.space),
        grace_period=recipe.grace_period,
        reduction_factor=recipe.reduction_factor,
    )


def _max_student_epochs(space: Any) -> int:
    """Distillation + finetuning epochs a trial of ``space`` can run at most (ASHA's max_t)."""
    from bench.config import TrialConfig

    caps = [space.fixed["max_epochs"]] if "max_epochs" in space.fixed else []
    for p in space.params:
        if p.key == "max_epochs":
            caps.append(p.high if p.high is not None else max(p.choices or (p.value,)))
    return 2 * int(max(caps) if caps else TrialConfig.max_epochs)


def _validate_recipe(recipe: _Recipe) -> None:
    """Everything about the recipe that can be checked before touching data, Ray or the store."""
    objectives = objectives_for(recipe.objective)
    build_sampler(recipe.sampler, seed=recipe.seed, trials=recipe.trials, multi_objective=len(objectives) > 1)
    if recipe.scheduler not in SCHEDULERS:
        raise SweepError(f"unknown scheduler {recipe.scheduler!r}: use one of {', '.join(SCHEDULERS)}")
    _scheduler(recipe, objectives)
    if not recipe.name.strip() or any(c in recipe.name for c in "/\\"):
        raise SweepError(f"--name must be non-empty and hold no slashes, got {recipe.name!r}")


def _runtime(
    concurrency: int,
    cpus: float,
    gpus: float,
    address: str | None,
    teacher_cache: str | None,
    ray_storage: str | None,
    ray_temp_dir: str | None,
) -> _Runtime:
    from bench._sweep._ray import check_reachable
    from bench.paths import kdbench_home

    _check_count("concurrency", concurrency, minimum=1)
    if address and address != "auto":
        check_reachable(address)
    if not (isinstance(cpus, (int, float)) and math.isfinite(cpus) and cpus > 0):
        raise SweepError(f"--cpus-per-trial must be > 0, got {cpus}")
    if not (isinstance(gpus, (int, float)) and math.isfinite(gpus) and gpus >= 0):
        raise SweepError(f"--gpus-per-trial must be >= 0 (fractions share a GPU), got {gpus}")
    if gpus > 1 and gpus != int(gpus):
        raise SweepError(f"--gpus-per-trial above 1 must be a whole number, got {gpus}")
    if teacher_cache == "default":
        teacher_cache = str(kdbench_home() / "teachers")
    elif teacher_cache is not None:
        teacher_cache = str(Path(teacher_cache).expanduser().resolve())
    storage = (
        str(Path(ray_storage).expanduser().resolve()) if ray_storage else str(kdbench_home() / "ray_results")
    )
    return _Runtime(concurrency, float(cpus), float(gpus), address, teacher_cache, storage, ray_temp_dir)


def _check_count(flag: str, value: int, *, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise SweepError(f"--{flag} must be an integer >= {minimum}, got {value!r}")


def _load_space(name: str) -> Any:
    import search_spaces
    from bench.config import TrialConfig

    keys = [f.name for f in dataclasses.fields(TrialConfig)]
    try:
        return search_spaces.load_space(name, known_keys=keys)
    except search_spaces.SearchSpaceError as e:
        raise SearchSpaceError(str(e)) from e


def _open_store(db: str | None, *, create: bool) -> Any:
    from bench.store import ResultStore

    return ResultStore(db, create=create)


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


def _interrupt_reason(name: str) -> str:
    return f"the sweep's driver stopped before the trial finished; `kdbench sweep --resume {name}` re-runs it"


def _study_size(storage: Any, name: str) -> int:
    """How many trials the study already holds (0 when it does not exist yet)."""
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return 0
    return len(storage.get_all_trials(study_id, deepcopy=False))


def _study_id(storage: Any, name: str) -> int:
    return storage.get_study_id_from_name(name)


def _best_so_far(trials: Any) -> tuple[float, int] | None:
    done = trials[(trials["status"] == "completed") & trials["student_valid_auc"].notna()]
    if done.empty:
        return None
    row = done.loc[done["student_valid_auc"].idxmax()]
    return float(row["student_valid_auc"]), int(row["number"])


def _summary(
    store: Any, recipe: _Recipe, objectives: tuple[Objective, ...], status: str, seconds: float
) -> SweepSummary:
    trials = store.trials(sweep=recipe.name)
    counts: dict[str, int] = {}
    for state, error in zip(trials["status"], trials["error"], strict=True):
        key = "interrupted" if is_interrupted(state, error) else state
        counts[key] = counts.get(key, 0) + 1
    done = trials[(trials["status"] == "completed") & trials["student_valid_auc"].notna()]
    best = done.loc[done["student_valid_auc"].idxmax()] if not done.empty else None
    settings = store.get_sweep(recipe.name)["settings"]
    return SweepSummary(
        name=recipe.name,
        status=status,
        trials=counts,
        best_number=None if best is None else int(best["number"]),
        best_config=None if best is None else dict(best["config"]),
        best_student_valid_auc=None if best is None else float(best["student_valid_auc"]),
        best_student_test_auc=None if best is None else float(best["student_test_auc"]),
        wall_seconds=seconds,
        store_url=store.url_redacted,
        study_name=recipe.name,
        pareto_front=settings.get("pareto_front") if len(objectives) > 1 else None,
    )
