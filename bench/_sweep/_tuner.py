"""The Tune run of a sweep: OptunaSearch over the space, the scheduler, the store-writing callback and the
progress table, for the trials a sweep still lacks."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import time
import warnings
from typing import Any, cast

from kdbench.bench._sweep._numbers import (
    NumberAllocator,
    best_trial,
    count_finished,
    settle_running_optuna_trials,
    store_outcomes,
)
from kdbench.bench._sweep._options import Objective, budget_grace, build_sampler
from kdbench.bench._sweep._plan import Runtime, SweepPlan, scheduler_for
from kdbench.bench._sweep._warm import enqueue_warm_start


def tune_trials(
    store: Any,
    plan: SweepPlan,
    runtime: Runtime,
    objectives: tuple[Objective, ...],
    data: Any,
    env_id: int,
    existing: Any,
    remaining: int | None,
    deadline: float | None,
    optuna_storage: Any,
    progress: str,
    console: Any,
) -> str:
    """Run ``remaining`` trials (None: unbounded) under Tune, starting none after ``deadline`` (a
    ``time.time()``; None: no budget); return the sweep status (completed or interrupted)."""
    from ray import tune

    from kdbench.bench._sweep._callback import StoreWriter
    from kdbench.bench._sweep._progress import SweepProgress
    from kdbench.bench._sweep._trainable import TrainableSettings, train_kd
    from kdbench.bench.io import output_console

    # Tune logs every failed trial's traceback at ERROR level; the store keeps the error, the table shows it.
    os.environ.setdefault("TUNE_PRINT_ALL_TRIAL_ERRORS", "0")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")  # no CSV/JSON/TensorBoard per trial
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # the new engine prints its banner even at verbose=0
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # "A new study created" and the like
    history = _study_size(optuna_storage, plan.name)
    # A resumed seeded sampler would replay the start-up draws the study already tried: offset the seed.
    sampler, _ = build_sampler(
        plan.sampler, seed=plan.seed + history, trials=plan.trials, multi_objective=len(objectives) > 1
    )
    scheduler, _ = scheduler_for(plan, objectives)
    if deadline is not None:
        # cast: a sweep has a deadline only when it has a time budget (sweep._deadline)
        scheduler.stop_after = deadline + budget_grace(cast(float, plan.time_budget_s))
    metrics = [o.metric for o in objectives]
    modes = [o.mode for o in objectives]
    searcher = _StoreFirstOptunaSearch(
        space=_DefineByRun(plan.space, plan.training_recipe),
        metric=metrics[0] if len(metrics) == 1 else metrics,
        mode=modes[0] if len(modes) == 1 else modes,
        sampler=sampler,
        study_name=plan.name,
        storage=optuna_storage,
    )
    study_id = _study_id(optuna_storage, plan.name)
    searcher.deadline = deadline
    if plan.warm_start is not None:
        enqueue_warm_start(optuna_storage, plan.name, plan.warm_start)
    # optuna-dashboard and optuna.load_study then say "student_valid_auc", not "Objective 0"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # stable since Optuna 3.2
        optuna.load_study(study_name=plan.name, storage=optuna_storage).set_metric_names(metrics)

    def link_optuna(optuna_number: int, store_number: int) -> None:
        trial_id = optuna_storage.get_trial_id_from_study_id_trial_number(study_id, optuna_number)
        # A trial that failed before its first report is already finished in the study: no link then.
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
            optuna_storage.set_trial_user_attr(trial_id, "kdbench_number", store_number)

    console = console or output_console()
    mode = progress if progress != "auto" else ("live" if console.is_terminal else "lines")
    best = _best_so_far(existing)
    with SweepProgress(
        sweep=plan.name,
        total=plan.trials,
        already_finished=count_finished(existing),
        deadline=deadline,
        best=best,
        mode=mode,
        console=console,
    ) as board:
        writer = StoreWriter(
            store,
            plan.name,
            allocator=NumberAllocator.from_trials(existing),
            environment_id=env_id,
            dataset_fingerprint=data.fingerprint,
            stopped_by_scheduler=scheduler.stopped,
            link_optuna=link_optuna,
            on_event=board,
        )
        searcher.before_told = _FileFirst(writer)
        settings = TrainableSettings(
            objective_metrics=tuple(metrics),
            device="cuda" if runtime.gpus_per_trial > 0 else "cpu",
            threads=max(1, int(runtime.cpus_per_trial)),
            teacher_cache=runtime.teacher_cache,
            recipe=plan.training_recipe,
            artifacts=runtime.artifacts,
        )
        trainable = tune.with_resources(
            tune.with_parameters(train_kd, dataset=_shipped(data, runtime), settings=settings),
            {"cpu": runtime.cpus_per_trial, "gpu": runtime.gpus_per_trial},
        )
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                search_alg=searcher,
                scheduler=scheduler,
                num_samples=-1 if remaining is None else remaining,  # -1: until the budget ends it
                max_concurrent_trials=runtime.concurrency,
                reuse_actors=True,
                trial_dirname_creator=_trial_dirname,
            ),
            run_config=tune.RunConfig(
                name=f"{plan.name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}",
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
            writer.interrupt_unfinished(_interrupt_reason(plan.name))
            now = store.trials(sweep=plan.name)
            settle_running_optuna_trials(optuna_storage, plan.name, store_outcomes(now, metrics))
            raise
    # Tune returns early after Ctrl-C with trials neither finished nor reported as such.
    interrupted = writer.interrupt_unfinished(_interrupt_reason(plan.name))
    now = store.trials(sweep=plan.name)
    settle_running_optuna_trials(optuna_storage, plan.name, store_outcomes(now, metrics))
    finished_now = count_finished(now)
    budget_spent = deadline is not None and time.time() >= deadline
    short = plan.trials is not None and finished_now < plan.trials and not budget_spent
    return "interrupted" if interrupted or short else "completed"


def _StoreFirstOptunaSearch(*args: Any, **kwargs: Any) -> Any:
    """OptunaSearch that lets the store writer file a trial before Optuna is told it ended.

    Tune tells its searcher that a trial stopped or failed before it tells the callbacks. A driver killed in
    between would leave the trial finished in the study but ``running`` in the store; the resume would then
    run its number again beside a finished Optuna trial. Filed first, the store is ahead instead, and the
    resume settles the study from it (``settle_running_optuna_trials``).
    """
    from ray.tune.search.optuna import OptunaSearch

    class StoreFirstOptunaSearch(OptunaSearch):
        before_told: Any = None
        deadline: float | None = None  # time.time() after which no trial starts (the time budget)

        def suggest(self, trial_id: str) -> Any:
            if self.deadline is not None and time.time() >= self.deadline:
                return self.FINISHED  # Tune starts no new trial and ends once the running ones finish
            return super().suggest(trial_id)

        def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
            if self.before_told is not None:
                self.before_told(trial_id, error)
            super().on_trial_complete(trial_id, result=result, error=error)

    return StoreFirstOptunaSearch(*args, **kwargs)


class _FileFirst:
    """The searcher's hook into the store writer. Tune pickles the searcher in its experiment checkpoints
    (never restored: a resume works from the store and the study); the driver's store does not go with it."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def __call__(self, trial_id: str, error: bool) -> None:
        if self.writer is not None:
            self.writer.file_ended(trial_id, error=error)

    def __getstate__(self) -> dict[str, Any]:
        return {"writer": None}


class _DefineByRun:
    """Optuna's define-by-run function for Tune: the trial config under ``kd`` (the dataset's recipe overlaid
    by the space's suggestions), plus Optuna's trial number (Tune keeps the raw Optuna parameters beside
    them). A class, not a closure: Tune pickles it."""

    def __init__(self, space: Any, training_recipe: Any = None) -> None:
        self.space = space
        self.training_recipe = training_recipe

    # Tune pickles the searcher in its experiment checkpoints; a SearchSpace holds read-only mappings that do
    # not pickle, and its YAML text rebuilds it exactly.
    def __getstate__(self) -> dict[str, Any]:
        return {"text": self.space.text, "name": self.space.name, "recipe": self.training_recipe}

    def __setstate__(self, state: dict[str, Any]) -> None:
        from kdbench.search_spaces import parse_space

        self.space = parse_space(state["text"], default_name=state["name"])
        self.training_recipe = state.get("recipe")

    def __call__(self, trial: Any) -> dict[str, Any]:
        from kdbench.bench._sweep._trainable import CONFIG_KEY, NUMBER_KEY
        from kdbench.bench.recipes import compose

        config = compose(self.training_recipe, self.space.suggest(trial))
        return {CONFIG_KEY: config, NUMBER_KEY: trial.number}


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


def _shipped(data: Any, runtime: Runtime) -> Any:
    """What the workers get: a small dataset's arrays through the object store, a big one (above
    ``kdbench.bench.batches.map_threshold()``) by path, each worker mapping the cache entry
    (docs/scale.md)."""
    from kdbench.bench.batches import encoded_bytes, map_threshold
    from kdbench.bench.data import share_dataset

    if data.path is None or encoded_bytes((data.train, data.valid, data.test)) <= map_threshold():
        return _plain_arrays(data)
    return share_dataset(data, runtime.data_cache)


def _plain_arrays(data: Any) -> Any:
    """The dataset with in-memory arrays instead of memory maps, for Ray's object store (shared zero-copy by
    the workers of a node; no shared file system or dataset cache needed on other nodes)."""
    import numpy as np

    from kdbench.bench.data import Split

    splits = {}
    for n in ("train", "valid", "test"):
        split = getattr(data, n)
        dense = None if split.dense is None else np.asarray(split.dense)  # a table's dense fields' values
        splits[n] = Split(np.asarray(split.x), np.asarray(split.y), dense)
    return dataclasses.replace(data, **splits)


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
    row = best_trial(trials)
    return None if row is None else (float(row["student_valid_auc"]), int(row["number"]))


def _interrupt_reason(name: str) -> str:
    return f"the sweep's driver stopped before the trial finished; `kdbench sweep --resume {name}` re-runs it"
