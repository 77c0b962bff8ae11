"""Fake inputs in the shapes of CONTRACTS.md: TrialResult dicts, environments, dataset infos."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kdbench.bench.config import TrialConfig

PHASES = ("teacher_training", "distillation", "finetuning")
FINGERPRINT = "ds-ml1m-0123456789abcdef"


def config(**overrides: Any) -> dict[str, Any]:
    """The default trial config (the paper's ML-1M settings) with ``overrides``."""
    return {**TrialConfig().to_dict(), **overrides}


def _hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def epoch_rows(epochs_per_phase: int = 2, *, offset: float = 0.0) -> list[dict[str, Any]]:
    rows, student_epoch = [], 0
    for phase in PHASES:
        for epoch in range(1, epochs_per_phase + 1):
            student_epoch += phase != "teacher_training"
            rows.append(
                {
                    "phase": phase,
                    "epoch": epoch,
                    "student_epoch": student_epoch,
                    "train_loss": 0.5 - 0.01 * epoch,
                    "valid_auc": 0.78 + 0.001 * epoch + offset,
                    "valid_logloss": 0.45 - 0.001 * epoch,
                    "seconds": 1.5,
                    "samples_per_s": 1e5,
                }
            )
    return rows


def result(
    *,
    seed: int = 2022,
    auc: float = 0.80,
    dataset: str = FINGERPRINT,
    cache_hit: bool = False,
    epochs_per_phase: int = 2,
    **config_overrides: Any,
) -> dict[str, Any]:
    """A TrialResult.to_dict() with student test AUC ``auc`` (the teacher's is a bit higher)."""
    cfg = config(seed=seed, **config_overrides)
    family = {k: v for k, v in cfg.items() if k != "seed"}

    def side(test_auc: float, params: int, flops: int) -> dict[str, Any]:
        return {
            "test_auc": test_auc,
            "test_logloss": 1.2 - test_auc,
            "valid_auc": test_auc + 0.002,
            "valid_logloss": 1.19 - test_auc,
            "params": params,
            "flops": flops,
            "latency_ms_b1": 0.3,
            "latency_ms_b4096": 4.0,
            "from_cache": cache_hit,
        }

    phases = [
        {
            "name": name,
            "epochs": 0 if cache_hit and name == "teacher_training" else epochs_per_phase,
            "best_epoch": epochs_per_phase,
            "valid_auc": auc + 0.002,
            "valid_logloss": 1.19 - auc,
            "test_auc": auc,
            "test_logloss": 1.2 - auc,
            "seconds": 3.0,
            "samples_per_s": 1e5,
        }
        for name in PHASES
    ]
    epochs = [e for e in epoch_rows(epochs_per_phase) if not (cache_hit and e["phase"] == "teacher_training")]
    return {
        "config": cfg,
        "config_hash": _hash(cfg),
        "config_family": _hash(family),
        "dataset_fingerprint": dataset,
        "seed": seed,
        "device": "cpu",
        "wall_seconds": 9.5,
        "teacher_cache_hit": cache_hit,
        "embedding_params": 100_000,
        "teacher": side(auc + 0.005, 5_000, 12_000),
        "student": side(auc, 2_000, 3_000),
        "phases": phases,
        "epochs": epochs,
    }


def environment(**overrides: Any) -> dict[str, Any]:
    env = {
        "git_sha": "0123456789abcdef0123456789abcdef01234567",
        "git_dirty": False,
        "kdbench": "0.1.0",
        "python": "3.11.9",
        "torch": "2.13.0",
        "ray": "2.60.0",
        "optuna": "5.0.0",
        "numpy": "2.3.0",
        "pandas": "3.1.1",
        "sqlalchemy": "2.1.9",
        "plotly": "6.0.0",
        "scikit_learn": "1.7.0",
        "cpu": "Test CPU",
        "cpu_count": 2,
        "gpu": None,
        "host": "testhost",
        "platform": "Linux",
    }
    env.update(overrides)
    return env


def environment_columns(env: dict[str, Any]) -> dict[str, Any]:
    """An environment's row as versions 1 and 2 of the schema stored it (their ``Environment`` columns)."""
    digest = hashlib.sha256(json.dumps(env, sort_keys=True).encode()).hexdigest()
    columns = ("git_sha", "git_dirty", "python", "torch", "ray", "optuna", "cpu", "gpu", "host")
    return {"content_hash": digest, "data": env, **{k: env[k] for k in columns}}


def dataset_info(fingerprint: str = FINGERPRINT, source: str = "movielens1m") -> dict[str, Any]:
    return {
        "fingerprint": fingerprint,
        "source": source,
        "protocol": "random 8:1:1, seed 2022",
        "rows": 1000,
        "positives": 420,
        "fields": ["user", "item", "genre"],
        "vocab_sizes": [50, 80, 18],
        "split_sizes": {"train": 800, "valid": 100, "test": 100},
    }


def sweep_kwargs(**overrides: Any) -> dict[str, Any]:
    kwargs = {
        "space_name": "small",
        "space_yaml": "lr: {low: 1e-4, high: 1e-2, log: true}\n",
        "dataset_fingerprint": FINGERPRINT,
        "objectives": [{"metric": "student_valid_auc", "direction": "maximize"}],
        "scheduler": {"name": "asha", "grace_period": 1},
        "searcher": {"name": "tpe", "seed": 0},
        "study_name": "study-1",
        "num_trials": 8,
    }
    kwargs.update(overrides)
    return kwargs


def start_trial(store: Any, sweep: str, number: int, env_id: int, result: dict[str, Any], **kw: Any) -> int:
    """``store.start_trial`` with the identity fields of a ``result()`` dict, as the sweep driver calls it."""
    return store.start_trial(
        sweep,
        number,
        config=result["config"],
        config_hash=result["config_hash"],
        config_family=result["config_family"],
        seed=result["seed"],
        dataset_fingerprint=result["dataset_fingerprint"],
        environment_id=env_id,
        **kw,
    )


def baseline_result(model: str = "gbdt", *, auc: float = 0.79, dataset: str = FINGERPRINT) -> dict[str, Any]:
    """A ``BaselineResult.to_dict()`` of ``model`` with test AUC ``auc`` (``kdbench.bench.baselines``)."""
    params = (
        {"C": 0.1, "iterations": 42, "converged": True, "solver": "lbfgs", "chosen_by": "valid log loss",
         "valid_logloss_by_C": {"0.001": 0.51, "0.01": 0.47, "0.1": 0.41, "1": 0.42}}
        if model == "lr"
        else {"iterations": 108, "early_stopped": True, "max_iter": 1000, "learning_rate": 0.1,
              "max_leaf_nodes": 31, "capped_fields": {"item": 1643}}
    )  # fmt: skip
    return {
        "model": model,
        "dataset_fingerprint": dataset,
        "valid_auc": auc + 0.002,
        "valid_logloss": 1.19 - auc,
        "test_auc": auc,
        "test_logloss": 1.2 - auc,
        "params": {**params, "train_rows": 800, "valid_rows": 100},
        "fit_seconds": 2.5 if model == "gbdt" else 0.7,
        "latency_ms_b1": 3.1 if model == "gbdt" else 0.03,
        "latency_ms_b4096": 43.0 if model == "gbdt" else 0.2,
        "versions": {"scikit-learn": "1.9.1", "scipy": "1.17.1", "numpy": "2.4.6"},
        "seed": 0,
        "latency_threads": 1,
    }
