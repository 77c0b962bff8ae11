"""The driver-side Tune callback: the results store's only writer during a sweep.

Workers never touch the database; they report through Tune (see ``_trainable``) and this callback, running in
the driver, files each trial: a row when the trial starts on its worker (``running``, with node and device),
then one final write: ``completed`` with the whole ``TrialResult``, ``stopped`` (by the scheduler) with the
epochs it ran, or ``failed`` with the epochs it ran and its error. Epochs are written with the trial's final
state, so a trial cut off by a killed driver leaves only its ``running`` row, which a resume reuses.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ray.tune import Callback

from kdbench.bench._sweep._numbers import INTERRUPTED_PREFIX, NumberAllocator
from kdbench.bench._sweep._trainable import CONFIG_KEY, NUMBER_KEY
from kdbench.bench.config import TrialConfig
from kdbench.bench.errors import ConfigError
from kdbench.bench.store import EPOCH_KEYS  # what the store keeps of each epoch

__all__ = ["StoreWriter", "TrialEvent"]

MAX_ERROR_CHARS = 4000


@dataclasses.dataclass
class TrialEvent:
    """What the progress display hears about a trial (one object per trial, updated in place)."""

    number: int
    node: str | None = None
    status: str = "running"
    phase: str = ""
    epoch: int = 0
    valid_auc: float | None = None  # the phase's model (teacher in teacher_training)
    student_valid_auc: float | None = None  # final (completed) or last reported
    student_test_auc: float | None = None
    error: str | None = None


@dataclasses.dataclass
class _Run:
    event: TrialEvent
    trial_id: int  # the store's row id
    epochs: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    finished: bool = False


class StoreWriter(Callback):
    """Writes the sweep's trials and epochs to the store as Tune reports them."""

    def __init__(
        self,
        store: Any,
        sweep: str,
        *,
        allocator: NumberAllocator,
        environment_id: int,
        dataset_fingerprint: str,
        stopped_by_scheduler: set[str],
        link_optuna: Callable[[int, int], None],
        on_event: Callable[[TrialEvent], None],
    ) -> None:
        self.store, self.sweep = store, sweep
        self.allocator = allocator
        self.environment_id, self.fingerprint = environment_id, dataset_fingerprint
        self.stopped_by_scheduler = stopped_by_scheduler
        self.link_optuna, self.on_event = link_optuna, on_event
        self.runs: dict[str, _Run] = {}  # by Tune trial id
        self.started: dict[str, Any] = {}  # Tune's Trial objects, by trial id, from on_trial_start
        self.finished_statuses: list[str] = []

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its config (callbacks included) for its own restore, which we do not use (resume
        # works from the store and the study); the store and the display live in this driver only.
        dropped = ("store", "on_event", "link_optuna", "started")
        return {k: v for k, v in self.__dict__.items() if k not in dropped}

    # ---- Tune hooks --------------------------------------------------------------------------------------
    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.started[trial.trial_id] = trial

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        event = result.get("event")
        if event == "start":
            self._start(trial, node=result.get("node"), device=result.get("device"))
        elif event == "epoch":
            run = self.runs.get(trial.trial_id) or self._start(trial, node=None, device=None)
            run.epochs.append({key: result.get(key) for key in EPOCH_KEYS})
            run.event.phase, run.event.epoch = result["phase"], result["epoch"]
            run.event.valid_auc = result.get("valid_auc")
            if result["phase"] != "teacher_training":
                run.event.student_valid_auc = result.get("valid_auc")
            self.on_event(run.event)
        elif event == "result":
            run = self.runs.get(trial.trial_id) or self._start(trial, node=result.get("node"), device=None)
            trial_result = json.loads(result["result_json"])
            run.event.student_valid_auc = trial_result["student"]["valid_auc"]
            run.event.student_test_auc = trial_result["student"]["test_auc"]
            self._finish(run, "completed", result=trial_result)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        run = self.runs.get(trial.trial_id) or self._start(trial, node=None, device=None)
        if run.finished:
            return
        if trial.trial_id in self.stopped_by_scheduler:
            self._finish(run, "stopped")
        else:  # the trainable returned without its final report: a bug, not a result
            self._finish(run, "failed", error="the trial ended without reporting a result")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        run = self.runs.get(trial.trial_id) or self._start(trial, node=None, device=None)
        if not run.finished:
            self._finish(run, "failed", error=error_text(trial))

    # ---- the driver's own calls -------------------------------------------------------------------------
    def file_ended(self, trial_id: str, *, error: bool) -> None:
        """File a started trial that Tune is about to tell the searcher ended (see ``_StoreFirstOptunaSearch``
        in ``_tuner``), exactly as the callback Tune calls next would; that call then finds it filed."""
        trial = self.started.get(trial_id)
        if trial is None:  # never started: nothing of it in the store to get ahead of Optuna
            return
        if error:
            self.on_trial_error(0, [], trial)
        else:
            self.on_trial_complete(0, [], trial)

    def interrupt_unfinished(self, reason: str) -> int:
        """Mark every started, unfinished trial ``failed`` with an ``interrupted:`` error; return how many."""
        count = 0
        for run in self.runs.values():
            if not run.finished:
                self.store.finish_trial(run.trial_id, status="failed", error=f"{INTERRUPTED_PREFIX} {reason}")
                run.finished, run.event.status = True, "interrupted"
                self.on_event(run.event)
                count += 1
        return count

    # ---- helpers ----------------------------------------------------------------------------------------
    def _start(self, trial: Any, *, node: str | None, device: str | None) -> _Run:
        if trial.trial_id in self.runs:
            return self.runs[trial.trial_id]
        self.started.setdefault(trial.trial_id, trial)
        config = dict(trial.config.get(CONFIG_KEY, {}))
        number = self.allocator.take()
        config_hash, family, seed = _identity(config)
        row = self.store.start_trial(
            self.sweep,
            number,
            config=config,
            config_hash=config_hash,
            config_family=family,
            seed=seed,
            dataset_fingerprint=self.fingerprint,
            environment_id=self.environment_id,
            node=node,
            device=device,
        )
        optuna_number = trial.config.get(NUMBER_KEY)
        if optuna_number is not None:
            self.link_optuna(int(optuna_number), number)
        run = self.runs[trial.trial_id] = _Run(TrialEvent(number=number, node=node), row)
        self.on_event(run.event)
        return run

    def _finish(
        self, run: _Run, status: str, *, result: dict | None = None, error: str | None = None
    ) -> None:
        if result is None and run.epochs:
            self.store.record_epochs(run.trial_id, run.epochs)
        self.store.finish_trial(run.trial_id, status=status, result=result, error=error)
        run.finished = True
        run.event.status, run.event.error = status, error
        self.finished_statuses.append(status)
        self.on_event(run.event)


def _identity(config: dict[str, Any]) -> tuple[str, str, int]:
    """(config hash, seed family, seed) of a config; an invalid one (it will fail) hashes its raw JSON."""
    try:
        cfg = TrialConfig.from_dict(config)
    except ConfigError:
        digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]
        seed = config.get("seed", TrialConfig.seed)
        return digest, digest, seed if isinstance(seed, int) else TrialConfig.seed
    return cfg.config_hash(), cfg.config_hash(include_seed=False), cfg.seed


def error_text(trial: Any) -> str:
    """The trial's exception as ``Type: message`` (the original one, not Ray's wrapper), or Tune's text.

    Read from the trial's local error files, which Tune writes before calling ``on_trial_error`` (its own
    ``get_error()`` reads the storage copy, synced later).
    """
    error = _read_pickled_error(trial)
    cause = getattr(error, "cause", None) or error
    if cause is not None and not _is_ray_wrapper(cause):
        text = f"{type(cause).__name__}: {cause}"
    else:
        try:
            raw = Path(trial.error_file).read_text() if trial.error_file else ""
        except OSError:
            raw = ""
        lines = [line.strip() for line in raw.splitlines() if line.strip()]
        text = lines[-1] if lines else "the trial failed (no error text recorded)"
    return text[:MAX_ERROR_CHARS]


def _read_pickled_error(trial: Any) -> BaseException | None:
    from ray import cloudpickle

    try:
        path = trial.pickled_error_file
        if not path:
            return None
        with open(path, "rb") as f:
            error = cloudpickle.load(f)
    except Exception:  # an unreadable error file must not stop the sweep: the text file is the fallback
        return None
    return error if isinstance(error, BaseException) else None


def _is_ray_wrapper(error: BaseException) -> bool:
    return type(error).__module__.startswith("ray.")
