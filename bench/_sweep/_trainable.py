"""The Ray Tune function trainable: one KD trial (``run_trial``) on a Ray worker, reported epoch by epoch.

Every report carries ``event`` and the keys the searcher and scheduler read (``student_epoch`` and each
objective metric: NaN until known), because Tune validates them in every result:

- ``start``: once, before training: the node id and device, so the driver can file the trial as running;
- ``epoch``: after every epoch of every phase, the ``report()`` metrics of ``run_trial`` plus ``phase``,
  ``epoch`` and ``student_valid_auc`` (the student's validation AUC; NaN during teacher training);
- ``result``: once, at the end: the objectives from the final ``TrialResult`` and the result itself as JSON
  (``result_json``; a string, so Tune does not flatten it).

A trial that raises is left to Tune, which records the exception; the driver's callback stores it as failed.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

__all__ = ["TrainableSettings", "train_kd"]

CONFIG_KEY = "kd"  # the trial config inside Tune's config (Optuna's raw parameters sit beside it)
NUMBER_KEY = "optuna_number"


@dataclasses.dataclass(frozen=True)
class TrainableSettings:
    """What every trial of a sweep shares besides the data (passed with ``tune.with_parameters``)."""

    objective_metrics: tuple[str, ...]
    device: str  # "cpu" or "cuda"
    threads: int  # torch intra-op threads = CPUs per trial
    teacher_cache: str | None  # folder every node can read and lock, or None
    recipe: Any = (
        None  # the dataset recipe the configs start from (kdbench.bench.data.Recipe), recorded per trial
    )
    artifacts: str | bool | None = None  # the trials' student artifacts: a folder, None (each node's
    # default folder) or False (none kept)


def train_kd(config: dict[str, Any], *, dataset: Any, settings: TrainableSettings) -> None:
    """Tune's entry point for one trial; ``config[CONFIG_KEY]`` is the flat trial config. ``dataset``: the
    dataset (small: in-memory arrays from the object store) or a ``kdbench.bench.data.CachedDataset`` to
    map."""
    import ray
    from ray import tune

    from kdbench.bench.data import CachedDataset
    from kdbench.bench.teacher_cache import TeacherCache
    from kdbench.bench.trial import run_trial

    pending = dict.fromkeys(settings.objective_metrics, math.nan)

    def send(event: str, metrics: dict[str, Any]) -> None:
        tune.report({**pending, "student_epoch": 0, **metrics, "event": event})

    node = ray.get_runtime_context().get_node_id()
    send("start", {"node": node, "device": settings.device})

    def report(phase: str, epoch: int, metrics: dict[str, float]) -> None:
        student_auc = math.nan if phase == "teacher_training" else metrics["valid_auc"]
        send("epoch", {**metrics, "phase": phase, "epoch": epoch, "student_valid_auc": student_auc})

    cache = TeacherCache(settings.teacher_cache) if settings.teacher_cache else None
    if isinstance(dataset, CachedDataset):  # big data: map this node's view of the cache, no copy
        dataset = dataset.open()
    result = run_trial(
        config[CONFIG_KEY],
        dataset,
        report,
        device=settings.device,
        teacher_cache=cache,
        threads=settings.threads,
        recipe=settings.recipe,
        artifacts=settings.artifacts,
    ).to_dict()
    student = result["student"]
    final = {f"student_{key}": student[key] for key in ("valid_auc", "test_auc", "latency_ms_b4096", "flops")}
    student_epochs = sum(p["epochs"] for p in result["phases"] if p["name"] != "teacher_training")
    send(
        "result", {**final, "student_epoch": student_epochs, "node": node, "result_json": json.dumps(result)}
    )
