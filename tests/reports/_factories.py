"""A results store with everything a report must survive: several sweeps and seeds, failed and stopped
trials, an all-failed sweep, a one-trial sweep, an empty sweep, two code versions, hostile names, a
regression run, and real trials of ``run_trial`` on the synthetic dataset."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kdbench.bench.recipes import recipe_for
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
# DATASET's baselines (test AUC): GBDT ranks between its configurations, LR below every one of them; the
# CACHED_DATASET and the hostile one have none.
GBDT_AUC = 0.8035
LR_AUC = 0.7900


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
    # its baselines: GBDT between the students (some below it), LR below them all
    store.record_baselines(
        [
            f.baseline_result("gbdt", auc=GBDT_AUC, dataset=DATASET),
            f.baseline_result("lr", auc=LR_AUC, dataset=DATASET),
        ],
        environment_id=env,
    )

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


# ---- warm-started sweeps: the default configuration evaluated first, as a reference ------------------------
WARM_DATASET = "ds-ml100k-warm000001"
WARM = "ml100k-outer-dagfm-crossnet-teacher-tpe-asha-warm-started-from-the-recipe-16-trials-2025-06-02"
WARM_NEGATIVE = "ml100k-warm-started-best-by-validation-loses-on-test"
WARM_DEFAULT_BEST = "ml100k-warm-started-nothing-beats-the-default"
WARM_STOPPED = "ml100k-warm-started-default-stopped-early"
NO_WARM = "ml100k-no-warm-start"
WARM_SOURCE = "the ml-100k recipe"
WARM_CHANGES = [
    "max_epochs 40 -> 20 (clipped to the space's fixed value)",
    "patience 5 -> 3 (the space's value)",
]
# The ml-100k recipe over the trial-config defaults, fitted to the space (max_epochs, patience fixed there).
ML100K_DEFAULT: dict[str, Any] = {**recipe_for("ml-100k").values, "max_epochs": 20, "patience": 3}
# WARM's trials: (student test AUC, student validation AUC, status, config changes from the default).
# Trial 0 is the default; trial 11 is the best by validation AUC (test 0.8710: +0.0067 over the default's
# 0.8643), trial 12 has the best test AUC but not the best validation AUC.
WARM_TRIALS: list[tuple[float, float, str, dict[str, Any]]] = [
    (0.8643, 0.8668, "completed", {}),
    (0.8581, 0.8602, "completed", {"lr": 1e-2}),
    (0.8612, 0.8637, "completed", {"depth": 2, "embedding_size": 8}),
    (0.8550, 0.8571, "completed", {"weight_decay": 1e-4}),
    (0.8598, 0.8619, "completed", {"interaction": "inner"}),
    (0.5000, 0.5000, "failed", {"depth": 5, "lr": 5e-2}),
    (0.8655, 0.8679, "completed", {"alpha": 0.5, "beta": 300.0}),
    (0.8660, 0.8683, "completed", {"depth": 4}),
    (0.8671, 0.8690, "completed", {"embedding_size": 32}),
    (0.8400, 0.8420, "stopped", {"lr": 1e-4}),
    (0.8702, 0.8721, "completed", {"depth": 4, "embedding_size": 32, "weight_decay": 3e-3}),
    (0.8710, 0.8734, "completed", {"depth": 4, "embedding_size": 32, "weight_decay": 2e-3, "beta": 500.0}),
    (0.8715, 0.8718, "completed", {"depth": 4, "embedding_size": 24, "weight_decay": 2e-3}),
    (0.8633, 0.8660, "completed", {"alpha": 0.05}),
    (0.8677, 0.8699, "completed", {"depth": 4, "lr": 2e-3}),
    (0.8640, 0.8662, "completed", {"batch_size": 2048}),
]


def warm_result(test_auc: float, valid_auc: float, **overrides: Any) -> dict[str, Any]:
    """A trial result of the ml-100k default config with ``overrides``, student AUCs as given."""
    result = f.result(
        auc=test_auc, dataset=WARM_DATASET, epochs_per_phase=3, **{**ML100K_DEFAULT, **overrides}
    )
    result["student"]["valid_auc"] = valid_auc
    return result


def warm_start_settings(default: dict[str, Any], changes: list[str] = WARM_CHANGES) -> dict[str, Any]:
    """A sweep's settings as a warm-started sweep records them, for the default trial's ``default`` result."""
    return {
        "warm_start": {
            "source": WARM_SOURCE,
            "config": default["config"],
            "config_hash": default["config_hash"],
            "params": {k: default["config"][k] for k in ("lr", "weight_decay", "depth", "embedding_size")},
            "changes": list(changes),
        }
    }


# The other warm-started sweeps: the best by validation AUC loses to the default on test (-0.0012), the
# default is the best trial, the default was stopped early (and its changes hold markup).
WARM_NEGATIVE_TRIALS = [WARM_TRIALS[0], (0.8631, 0.8680, "completed", {"depth": 4}), WARM_TRIALS[1]]
WARM_DEFAULT_BEST_TRIALS = [WARM_TRIALS[0], WARM_TRIALS[1], WARM_TRIALS[2]]
WARM_STOPPED_TRIALS = [(0.8400, 0.8420, "stopped", {}), (0.8650, 0.8670, "completed", {"depth": 4})]


def _warm_sweep(
    store: ResultStore,
    name: str,
    env: int,
    trials: list[tuple[float, float, str, dict[str, Any]]],
    changes: list[str] = WARM_CHANGES,
) -> None:
    """A sweep whose trial 0 is its warm start (``trials[0]``), recorded in its settings."""
    default = warm_result(*trials[0][:2], **trials[0][3])
    store.create_sweep(
        name,
        **f.sweep_kwargs(dataset_fingerprint=WARM_DATASET, study_name=name, num_trials=len(trials)),
        settings=warm_start_settings(default, changes),
    )
    for number, (test_auc, valid_auc, status, overrides) in enumerate(trials):
        result = warm_result(test_auc, valid_auc, **overrides)
        if status == "completed":
            store.record_trial(name, number, result=result, environment_id=env)
        else:
            trial_id = f.start_trial(store, name, number, env, result)
            store.record_epochs(trial_id, result["epochs"][:4])
            store.finish_trial(trial_id, status=status)
    store.finish_sweep(name, "completed")


def fill_warm_start(store: ResultStore) -> None:
    """Sweeps on one ml-100k dataset: the warm-started ones above and one without a warm start."""
    env = store.record_environment(f.environment())
    store.record_dataset(f.dataset_info(WARM_DATASET, source="ml-100k"))
    _warm_sweep(store, WARM, env, WARM_TRIALS)
    _warm_sweep(store, WARM_NEGATIVE, env, WARM_NEGATIVE_TRIALS)
    _warm_sweep(store, WARM_DEFAULT_BEST, env, WARM_DEFAULT_BEST_TRIALS, changes=[])
    _warm_sweep(store, WARM_STOPPED, env, WARM_STOPPED_TRIALS, changes=[EVIL])
    store.create_sweep(NO_WARM, **f.sweep_kwargs(dataset_fingerprint=WARM_DATASET, study_name=NO_WARM))
    for number, (test_auc, valid_auc, _, overrides) in enumerate(WARM_TRIALS[:4]):
        result = warm_result(test_auc, valid_auc, **overrides)
        store.record_trial(NO_WARM, number, result=result, environment_id=env)
    store.finish_sweep(NO_WARM, "completed")
