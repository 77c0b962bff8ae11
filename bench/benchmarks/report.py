"""Benchmark: how long ``build_site`` takes on a store of 1,000 trials across 10 sweeps.

``python -m kdbench.bench.benchmarks.report [--sweeps 10] [--trials 100] [--keep DIR]`` fills a temporary
SQLite store through the store's write API with synthetic but realistic trials (two teachers, three student
interactions, repeated seeds, ~5 % failed and ~10 % early-stopped trials, full epoch logs), builds the site
and prints the timings. The quality bar: under 30 s for 1,000 trials.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from kdbench.bench.store import ResultStore
from kdbench.models import PHASES

__all__ = ["fill_synthetic_store", "main", "synthetic_result"]

DATASET: dict[str, Any] = {
    "fingerprint": "bench0123456789ab",
    "source": "ml-100k",
    "protocol": "random 8:1:1, seed 2022",
    "rows": 72855,
    "positives": 55370,
    "fields": ["user_id", "item_id", "weekday", "hour", "age", "gender", "occupation", "zip_code", "year"],
    "vocab_sizes": [944, 1683, 8, 25, 8, 3, 22, 796, 72],
    "split_sizes": {"train": 58284, "valid": 7285, "test": 7286},
}
ENVIRONMENT = {
    "git_sha": "feedc0de" * 5,
    "git_dirty": False,
    "kdbench": "0.1.0",
    "python": "3.11.9",
    "torch": "2.13.0",
    "ray": "2.60.0",
    "optuna": "5.0.0",
    "cpu": "synthetic CPU",
    "cpu_count": 16,
    "gpu": None,
    "host": "bench",
}


def _hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def synthetic_config(rng: random.Random) -> dict[str, Any]:
    teacher = rng.choice(["crossnet", "cin"])
    config: dict[str, Any] = {"teacher": teacher}
    if teacher == "crossnet":
        config["t_depth"] = rng.choice([2, 3, 4])
    else:
        config["t_cin"] = rng.choice([[100, 100], [200, 200, 200]])
    config.update(
        interaction=rng.choice(["inner", "outer", "kernel"]),
        depth=rng.choice([2, 3, 4]),
        embedding_size=rng.choice([8, 16, 32]),
        alpha=round(rng.uniform(0.0, 1.0), 3),
        beta=round(10 ** rng.uniform(0, 3), 2),
        lr=round(10 ** rng.uniform(-4, -2), 6),
        weight_decay=1e-6,
        batch_size=1024,
        max_epochs=10,
        patience=3,
        seed=2022,
        finetune=True,
        amp=False,
    )
    return config


def synthetic_result(config: dict[str, Any], rng: random.Random, *, epochs: int = 6) -> dict[str, Any]:
    """A ``TrialResult.to_dict()`` whose AUC depends on the config (deeper, wider, lr near 3e-3: better)."""
    quality = 0.78 + 0.006 * config["depth"] + 0.002 * math.log2(config["embedding_size"])
    quality -= 0.01 * abs(math.log10(config["lr"]) + 2.5) + rng.gauss(0, 0.003)
    teacher_auc = quality + 0.004 + rng.gauss(0, 0.002)
    d, f = config["embedding_size"], len(DATASET["fields"])
    teacher_flops = (
        (f * d) ** 2 * config.get("t_depth", 3) if config["teacher"] == "crossnet" else 200 * f * d * 30
    )
    student_flops = f * f * d * config["depth"] * (2 if config["interaction"] == "outer" else 1)
    rows, phases, student_epoch = [], [], 0
    for phase in PHASES:
        target = (
            teacher_auc
            if phase == "teacher_training"
            else quality - (0.003 if phase == "distillation" else 0)
        )
        for epoch in range(1, epochs + 1):
            student_epoch += phase != "teacher_training"
            rows.append(
                {
                    "phase": phase,
                    "epoch": epoch,
                    "student_epoch": student_epoch,
                    "train_loss": 0.55 - 0.02 * epoch + rng.gauss(0, 0.003),
                    "valid_auc": target - 0.03 / epoch + rng.gauss(0, 0.001),
                    "valid_logloss": 0.5 - 0.01 * epoch,
                    "seconds": 2.0,
                    "samples_per_s": 1.5e5,
                }
            )
        phases.append(
            {
                "name": phase,
                "epochs": epochs,
                "best_epoch": epochs,
                "valid_auc": target,
                "valid_logloss": 0.45,
                "test_auc": target - 0.001,
                "test_logloss": 1.22 - target,
                "seconds": 2.0 * epochs,
                "samples_per_s": 1.5e5,
            }
        )

    def side(auc: float, params: int, flops: int, latency: float) -> dict[str, Any]:
        return {
            "test_auc": auc,
            "test_logloss": 1.22 - auc,
            "valid_auc": auc + 0.001,
            "valid_logloss": 1.21 - auc,
            "params": params,
            "flops": flops,
            "latency_ms_b1": latency,
            "latency_ms_b4096": latency * 40,
            "from_cache": False,
        }

    family = {k: v for k, v in config.items() if k != "seed"}
    return {
        "config": config,
        "config_hash": _hash(config),
        "config_family": _hash(family),
        "dataset_fingerprint": DATASET["fingerprint"],
        "seed": config["seed"],
        "device": "cpu",
        "wall_seconds": 6.0 * epochs + rng.uniform(0, 10),
        "teacher_cache_hit": False,
        "embedding_params": sum(DATASET["vocab_sizes"]) * d,
        "teacher": side(teacher_auc, teacher_flops + 1, teacher_flops, 0.4 + teacher_flops / 2e6),
        "student": side(quality - 0.001, student_flops + f * f, student_flops, 0.2 + student_flops / 4e6),
        "phases": phases,
        "epochs": rows,
    }


def fill_synthetic_store(store: ResultStore, *, sweeps: int = 10, trials: int = 100, seed: int = 0) -> None:
    """``sweeps`` sweeps of ``trials`` trials each, written the way the sweep driver writes them."""
    rng = random.Random(seed)
    env_id = store.record_environment(ENVIRONMENT)
    store.record_dataset(DATASET)
    for s in range(sweeps):
        name = f"bench-{s:02d}"
        store.create_sweep(
            name,
            space_name="ci",
            space_yaml="lr: {low: 1.0e-4, high: 1.0e-2, log: true}\n",
            dataset_fingerprint=DATASET["fingerprint"],
            objectives=[{"metric": "student_valid_auc", "direction": "maximize"}],
            scheduler={"name": "asha", "grace_period": 2},
            searcher={"name": "tpe", "seed": s},
            study_name=name,
            num_trials=trials,
        )
        previous: dict[str, Any] | None = None
        for number in range(trials):
            config = dict(previous, seed=2023) if previous and rng.random() < 0.1 else synthetic_config(rng)
            previous = config
            result = synthetic_result(config, rng)
            roll = rng.random()
            if roll < 0.05:
                store.record_trial(
                    name,
                    number,
                    result=result,
                    status="failed",
                    environment_id=env_id,
                    error="Traceback (most recent call last):\n  ...\nTrialError: non-finite "
                    "loss in phase distillation: lower lr",
                )
            elif roll < 0.15:
                trial_id = store.start_trial(
                    name,
                    number,
                    config=config,
                    config_hash=result["config_hash"],
                    config_family=result["config_family"],
                    seed=config["seed"],
                    dataset_fingerprint=DATASET["fingerprint"],
                    environment_id=env_id,
                )
                store.record_epochs(trial_id, result["epochs"][: len(result["epochs"]) // 2])
                store.finish_trial(trial_id, status="stopped")
            else:
                store.record_trial(name, number, result=result, environment_id=env_id)
        store.finish_sweep(name, "completed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kdbench.bench.benchmarks.report", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--sweeps", type=int, default=10)
    parser.add_argument("--trials", type=int, default=100, help="trials per sweep")
    parser.add_argument(
        "--keep", metavar="DIR", help="build the site here and keep it (default: a temp folder)"
    )
    args = parser.parse_args(argv)

    from kdbench.reports import build_site

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        started = time.perf_counter()
        with ResultStore(url) as store:
            fill_synthetic_store(store, sweeps=args.sweeps, trials=args.trials)
        filled = time.perf_counter() - started
        out = Path(args.keep) if args.keep else Path(tmp) / "site"
        started = time.perf_counter()
        index = build_site(url, out)
        built = time.perf_counter() - started
        pages = sum(1 for _ in out.rglob("*.html"))
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    n = args.sweeps * args.trials
    print(f"store: {n} trials in {args.sweeps} sweeps, written in {filled:.1f} s")
    print(f"build: {built:.1f} s for {pages} pages ({size / 2**20:.1f} MiB with plotly.js) -> {index}")
    print(f"       {1000 * built / max(n, 1):.1f} ms per trial; quality bar: under 30 s for 1,000 trials")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
