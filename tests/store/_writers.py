"""Writer processes for the concurrency and crash tests (module level, so ``spawn`` can import them)."""

from __future__ import annotations

import time
from typing import Any

from kdbench.bench.store import ResultStore

from . import _factories as f


def _run_trial(store: ResultStore, sweep: str, number: int, env_id: int) -> None:
    """What the sweep driver does per trial: start, one write per reported epoch, finish."""
    result = f.result(seed=number)
    trial_id = f.start_trial(store, sweep, number, env_id, result)
    for row in result["epochs"]:
        store.record_epochs(trial_id, [row])
    store.finish_trial(trial_id, status="completed", result=result)


def write_sweep(url: str, sweep: str, n_trials: int, ready: Any, halfway: Any = None) -> None:
    """Write a sweep of ``n_trials`` trials. ``ready``: a barrier, so both writers start together on a
    database neither has opened yet; ``halfway``: a barrier after the first trial, so neither writes its
    last trial before the other has written its first (on a loaded machine one writer may otherwise finish
    before the other has opened the database)."""
    ready.wait(120)
    with ResultStore(url) as store:
        env_id = store.record_environment(f.environment())
        store.record_dataset(f.dataset_info())
        store.create_sweep(sweep, **f.sweep_kwargs(study_name=sweep))
        for number in range(n_trials):
            _run_trial(store, sweep, number, env_id)
            if number == 0 and halfway is not None:
                halfway.wait(120)
            time.sleep(0.02)  # a trial takes time: without it, SQLite's polling busy handler lets one writer
            # take the lock back again and again and the other only starts when the first is done
        store.finish_sweep(sweep, "completed")


def write_until_killed(url: str, done: Any) -> None:
    with ResultStore(url) as store:
        env_id = store.record_environment(f.environment())
        store.create_sweep("crashy", **f.sweep_kwargs())
        number = 0
        while True:
            _run_trial(store, "crashy", number, env_id)
            number += 1
            done.value = number  # after the commit: at least this many trials are complete
