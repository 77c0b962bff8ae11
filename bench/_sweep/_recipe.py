"""What defines a sweep (:class:`Recipe`, fixed at creation, replayed on resume) and how one driver runs it
(:class:`Runtime`), each checked before any data, Ray or store work."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from bench._sweep._options import SCHEDULERS, Objective, build_sampler, build_scheduler, objectives_for
from bench.errors import SearchSpaceError, SweepError


@dataclasses.dataclass(frozen=True)
class Recipe:
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
class Runtime:
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


def validate_recipe(recipe: Recipe) -> None:
    """Everything about the recipe that can be checked before touching data, Ray or the store."""
    objectives = objectives_for(recipe.objective)
    build_sampler(recipe.sampler, seed=recipe.seed, trials=recipe.trials, multi_objective=len(objectives) > 1)
    if recipe.scheduler not in SCHEDULERS:
        raise SweepError(f"unknown scheduler {recipe.scheduler!r}: use one of {', '.join(SCHEDULERS)}")
    scheduler_for(recipe, objectives)
    if not recipe.name.strip() or any(c in recipe.name for c in "/\\"):
        raise SweepError(f"--name must be non-empty and hold no slashes, got {recipe.name!r}")


def make_runtime(
    concurrency: int,
    cpus: float,
    gpus: float,
    address: str | None,
    teacher_cache: str | None,
    ray_storage: str | None,
    ray_temp_dir: str | None,
) -> Runtime:
    from bench._sweep._ray import check_reachable
    from bench.paths import kdbench_home

    check_count("concurrency", concurrency, minimum=1)
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
    return Runtime(concurrency, float(cpus), float(gpus), address, teacher_cache, storage, ray_temp_dir)


def check_count(flag: str, value: int, *, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise SweepError(f"--{flag} must be an integer >= {minimum}, got {value!r}")


def load_space(name: str) -> Any:
    import search_spaces
    from bench.config import TrialConfig

    keys = [f.name for f in dataclasses.fields(TrialConfig)]
    try:
        return search_spaces.load_space(name, known_keys=keys)
    except search_spaces.SearchSpaceError as e:
        raise SearchSpaceError(str(e)) from e


def scheduler_for(recipe: Recipe, objectives: tuple[Objective, ...]) -> tuple[Any, dict[str, Any]]:
    return build_scheduler(
        recipe.scheduler,
        objectives=objectives,
        max_student_epochs=max_student_epochs(recipe.space),
        grace_period=recipe.grace_period,
        reduction_factor=recipe.reduction_factor,
    )


def max_student_epochs(space: Any) -> int:
    """Distillation + finetuning epochs a trial of ``space`` can run at most (ASHA's max_t)."""
    from bench.config import TrialConfig

    caps = [space.fixed["max_epochs"]] if "max_epochs" in space.fixed else []
    for p in space.params:
        if p.key == "max_epochs":
            caps.append(p.high if p.high is not None else max(p.choices or (p.value,)))
    return 2 * int(max(caps) if caps else TrialConfig.max_epochs)
