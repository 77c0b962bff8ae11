"""A results store with everything a report must survive: several sweeps and seeds, failed and stopped
trials, an all-failed sweep, a one-trial sweep, an empty sweep, two code versions, hostile names, a
regression run, and real trials of ``run_trial`` on the synthetic dataset."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kdbench.bench.store import ResultStore
from tests.store import _factories as f

EVIL = "<script>alert(1)</script>"
EVIL_ERROR = "Traceback\n</pre><script>alert(2)</script>\nTrialError: <img src=x onerror=alert(3)>"
EVIL_VALUE = "<b onmouseover=alert(4)>bold</b>"
DATASET = "ds-ml100k-fake0001"
OTHER_SHA = "fedcba9876543210fedcba9876543210fedcba98"

MAIN = "main"
SECOND = "second"
ALL_FAILED = "all-failed"
SINGLE = "single"
EMPTY = "empty"
REAL = "real"
CACHED = "cached-teacher"  # a sweep whose second trial took its teacher from the cache
CACHED_DATASET = "ds-cached-00000001"

# (sweep, trials per status) the factory writes; tests read the expected counts from here
MAIN_CONFIGS: list[dict[str, Any]] = [
    {"auc": 0.805, "depth": 2, "lr": 1e-3},
    {"auc": 0.812, "depth": 3, "lr": 3e-3, "teacher": "cin", "t_cin": [200, 200, 200], "t_depth": None},
    {"auc": 0.799, "depth": 4, "lr": 1e-2, "interaction": "inner"},
    {"auc": 0.808, "depth": 3, "lr": 2e-3, "embedding_size": 8},
]
SEEDS_OF_REPEATED = (2022, 2023, 2024)  # MAIN_CONFIGS[3] ran with these seeds


def _result(auc: float, *, seed: int = 2022, dataset: str = DATASET, **overrides: Any) -> dict[str, Any]:
    overrides = {k: v for k, v in overrides.items() if v is not None}
    config_overrides = dict(overrides)
    if config_overrides.get("teacher") == "cin":
        config_overrides.pop("t_depth", None)
    result = f.result(seed=seed, auc=auc, dataset=dataset, epochs_per_phase=3, **config_overrides)
    if result["config"].get("teacher") == "cin":
        result["config"].pop("t_depth", None)
    return result


def fill_store(
    store: ResultStore, real_results: list[dict[str, Any]] = (), real_dataset: dict | None = None
) -> None:
    env = store.record_environment(f.environment())
    old_env = store.record_environment(f.environment(git_sha=OTHER_SHA, git_dirty=True))
    store.record_dataset(f.dataset_info(DATASET, source="ml-100k"))

    store.create_sweep(MAIN, **f.sweep_kwargs(dataset_fingerprint=DATASET, study_name=MAIN))
    number = 0
    for spec in MAIN_CONFIGS:
        spec = dict(spec)
        auc = spec.pop("auc")
        seeds = SEEDS_OF_REPEATED if spec.get("embedding_size") == 8 else (2022,)
        for seed in seeds:
            store.record_trial(
                MAIN,
                number,
                result=_result(auc + (seed - 2022) * 0.001, seed=seed, **spec),
                environment_id=env,
            )
            number += 1
    failed = _result(0.5, depth=5)
    store.finish_trial(
        f.start_trial(store, MAIN, number, env, failed), status="failed", error="TrialError: non-finite loss"
    )
    number += 1
    stopped = _result(0.79, depth=1)
    trial_id = f.start_trial(store, MAIN, number, env, stopped)
    store.record_epochs(trial_id, stopped["epochs"][:5])
    store.finish_trial(trial_id, status="stopped")
    store.finish_sweep(MAIN, "completed")

    # the same dataset searched again by older, dirty code: a comparison by sweep and by code version
    store.create_sweep(SECOND, **f.sweep_kwargs(dataset_fingerprint=DATASET, study_name=SECOND))
    for number, (auc, depth) in enumerate([(0.801, 2), (0.803, 3), (0.806, 4)]):
        store.record_trial(SECOND, number, result=_result(auc, depth=depth, lr=5e-3), environment_id=old_env)
    store.finish_sweep(SECOND, "completed")

    store.create_sweep(ALL_FAILED, **f.sweep_kwargs(dataset_fingerprint=DATASET, study_name=ALL_FAILED))
    for number in range(3):
        result = _result(0.5, depth=number + 1)
        store.finish_trial(
            f.start_trial(store, ALL_FAILED, number, env, result),
            status="failed",
            error=f"Traceback (most recent call last):\n  ...\nTrialError: out of memory {number}",
        )
    store.finish_sweep(ALL_FAILED, "failed")

    store.create_sweep(SINGLE, **f.sweep_kwargs(dataset_fingerprint=DATASET, study_name=SINGLE))
    store.record_trial(SINGLE, 0, result=_result(0.797, depth=2, lr=4e-3, alpha=0.5), environment_id=env)
    store.finish_sweep(SINGLE, "completed")

    store.create_sweep(CACHED, **f.sweep_kwargs(dataset_fingerprint=CACHED_DATASET, study_name=CACHED))
    for number, hit in ((0, False), (1, True)):
        result = f.result(auc=0.80 + 0.01 * number, dataset=CACHED_DATASET, epochs_per_phase=3, cache_hit=hit,
                          alpha=0.1 + number)  # fmt: skip
        store.record_trial(CACHED, number, result=result, environment_id=env)
    store.finish_sweep(CACHED, "completed")

    store.create_sweep(EMPTY, **f.sweep_kwargs(dataset_fingerprint=DATASET, study_name=EMPTY))

    # hostile text everywhere a user can put it: sweep name, dataset source, config value, error
    store.record_dataset(f.dataset_info("ds-evil-000000001", source=EVIL))
    store.create_sweep("evil", **f.sweep_kwargs(dataset_fingerprint="ds-evil-000000001", space_name=EVIL))
    _rename_sweep(store, "evil", EVIL)
    store.record_trial(
        EVIL, 0, result=_result(0.7, dataset="ds-evil-000000001", interaction=EVIL_VALUE), environment_id=env
    )
    store.record_trial(
        EVIL, 1, result=_result(0.71, dataset="ds-evil-000000001", depth=2), environment_id=env
    )
    store.finish_trial(
        f.start_trial(store, EVIL, 2, env, _result(0.5, dataset="ds-evil-000000001", depth=3)),
        status="failed",
        error=EVIL_ERROR,
    )

    if real_dataset is not None:
        store.record_dataset(real_dataset)
    for result in real_results:
        store.record_trial(REAL, None, result=result, environment_id=env, device="cpu")

    cases = [
        {
            "case": "crossnet-outer",
            "figure": "student_test_auc",
            "baseline": 0.8123,
            "now": 0.8101,
            "change": -0.0022,
            "verdict": "regression",
            "p_value": 0.01,
            "values": [0.8101, 0.8099],
            "baseline_values": [0.8123, 0.8125],
        },
        {
            "case": "cin-inner",
            "figure": "student_latency_ms_b1",
            "baseline": 0.21,
            "now": 0.2,
            "change": -0.01,
            "verdict": "ok",
            "note": EVIL,
        },
    ]
    store.record_regression_run(
        "smoke",
        environment_id=env,
        summary={"verdict": "regression", "n_regressions": 1},
        cases=cases,
        tag="v0.1",
        baseline="bench/baselines/smoke.json",
    )


def _rename_sweep(store: ResultStore, old: str, new: str) -> None:
    """New sweep names cannot hold markup, but one in a database written before that rule can (and stays
    writable): the report must escape it all the same."""
    engine = sa.create_engine(store.url)
    try:
        with engine.begin() as conn:
            rename = sa.text("UPDATE kd_sweep SET name = :new WHERE name = :old")
            conn.execute(rename, {"new": new, "old": old})
    finally:
        engine.dispose()
