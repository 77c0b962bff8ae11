"""What defines a sweep (:class:`SweepPlan`, fixed at creation, replayed on resume) and how one driver runs it
(:class:`Runtime`), each checked before any data, Ray or store work."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

from kdbench.bench._sweep._options import (
    SCHEDULERS,
    Objective,
    build_sampler,
    build_scheduler,
    objectives_for,
)
from kdbench.bench.errors import SearchSpaceError, SweepError


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """What defines a sweep and never changes on resume."""

    name: str
    space: Any  # search_spaces.SearchSpace
    dataset: dict[str, Any]  # prepare() arguments: source, path, schema, split_seed
    trials: int | None  # trials to finish; None: as many as the time budget allows
    objective: str
    sampler: str
    seed: int
    scheduler: str
    grace_period: int
    reduction_factor: float
    # The dataset's training recipe (kdbench.bench.data.Recipe) every trial's config starts from, under the
    # space's fixed and sampled keys (the one that fits the prepared data); None: the trial-config defaults
    # (``--no-recipe``, older sweeps).
    training_recipe: Any = None
    # The first trial (_warm.WarmStart: the recipe projected onto the space); None: --no-warm-start.
    warm_start: Any = None
    # Seconds after which no new trial starts, over all runs of the sweep; None: no budget.
    time_budget_s: float | None = None

    def trial_config(self, suggested: dict[str, Any]) -> dict[str, Any]:
        """The effective trial config of one trial: the recipe overlaid by the space's values."""
        from kdbench.bench.recipes import compose

        return compose(self.training_recipe, suggested)


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
    # A datasets folder every node can read, for data shipped by path (above the mapping threshold);
    # None: the driver's own cache (one machine). See kdbench.bench.data.CachedDataset.
    data_cache: str | None = None
    # Where trials keep their student artifacts (a folder every node can write); None: each node's
    # $KDBENCH_HOME/artifacts; False: none kept (--no-artifacts). See kdbench.bench.serve.
    artifacts: str | bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def validate_plan(plan: SweepPlan) -> None:
    """Everything about the plan that can be checked before touching data, Ray or the store."""
    if plan.trials is None and plan.time_budget_s is None:
        raise SweepError("a sweep needs --trials, --time-budget or both")
    objectives = objectives_for(plan.objective)
    build_sampler(plan.sampler, seed=plan.seed, trials=plan.trials, multi_objective=len(objectives) > 1)
    if plan.scheduler not in SCHEDULERS:
        raise SweepError(f"unknown scheduler {plan.scheduler!r}: use one of {', '.join(SCHEDULERS)}")
    scheduler_for(plan, objectives)
    from kdbench.bench.errors import StoreError
    from kdbench.bench.store import (
        check_sweep_name,  # the store's rule, checked before Ray or the store
    )

    try:
        check_sweep_name(plan.name)  # also names the Optuna study and Ray's storage folder
    except StoreError as e:
        raise SweepError(f"--name: {e}") from e


def make_runtime(
    concurrency: int,
    cpus: float,
    gpus: float,
    address: str | None,
    teacher_cache: str | None,
    ray_storage: str | None,
    ray_temp_dir: str | None,
    data_cache: str | None = None,
    artifacts: str | bool | None = None,
) -> Runtime:
    from kdbench.bench._sweep._ray import check_local_cluster, check_reachable
    from kdbench.bench.io import kdbench_home

    check_count("concurrency", concurrency, minimum=1)
    if address == "auto":
        check_local_cluster()
    elif address:
        check_reachable(address)
    if not (isinstance(cpus, (int, float)) and math.isfinite(cpus) and cpus > 0):
        raise SweepError(f"--cpus-per-trial must be > 0, got {cpus}")
    if not (isinstance(gpus, (int, float)) and math.isfinite(gpus) and gpus >= 0):
        raise SweepError(f"--gpus-per-trial must be >= 0 (fractions share a GPU), got {gpus}")
    if gpus > 1 and gpus != int(gpus):
        raise SweepError(f"--gpus-per-trial above 1 must be a whole number, got {gpus}")
    if not address:  # a private Ray on this machine: what it can give is known before it starts
        _check_this_machine(cpus, gpus)
    if teacher_cache == "default":
        teacher_cache = str(kdbench_home() / "teachers")
    elif teacher_cache is not None:
        teacher_cache = str(_folder(teacher_cache, "--teacher-cache"))
    storage = _folder(ray_storage, "--ray-storage") if ray_storage else kdbench_home() / "ray_results"
    if ray_temp_dir:
        _folder(ray_temp_dir, "--ray-temp-dir")
    if data_cache is not None:
        data_cache = str(_folder(data_cache, "--data-cache"))
    if isinstance(artifacts, str):
        artifacts = str(_folder(artifacts, "--artifacts"))
    return Runtime(
        concurrency, float(cpus), float(gpus), address, teacher_cache, str(storage), ray_temp_dir, data_cache,
        artifacts,
    )  # fmt: skip


def _folder(path: str, flag: str) -> Path:
    """An absolute folder path (it may not exist yet) that is not a file or under one."""
    resolved = Path(path).expanduser().resolve()
    for part in (resolved, *resolved.parents):
        if part.exists():
            if not part.is_dir():
                raise SweepError(f"{flag} {path}: {part} is a file, not a folder")
            break
    return resolved


def _check_this_machine(cpus: float, gpus: float) -> None:
    import os

    have = os.cpu_count() or 1
    if cpus > have:
        raise SweepError(f"--cpus-per-trial {cpus:g} is more than this machine has ({have} CPUs): lower it")
    if gpus > 0:
        import torch

        count = torch.cuda.device_count()
        if count == 0 or gpus > count:
            raise SweepError(
                f"--gpus-per-trial {gpus:g} asked for, but this machine has {count} GPUs: drop the flag, "
                "lower it, or join a cluster with GPUs (--address)"
            )


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)([smhd]))+")
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def parse_duration(text: Any, flag: str = "--time-budget") -> float:
    """Seconds in ``90s``, ``30m``, ``2h``, ``1h30m`` or a plain number of seconds; a :class:`SweepError` for
    anything else, zero or negative."""
    if isinstance(text, bool):
        seconds = math.nan
    elif isinstance(text, (int, float)):
        seconds = float(text)
    else:
        value = str(text).strip().lower()
        if re.fullmatch(r"\d+(?:\.\d+)?", value):
            seconds = float(value)
        elif _DURATION.fullmatch(value):
            seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(value))
        else:
            seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise SweepError(
            f"{flag} must be a positive duration such as 90s, 30m, 2h or 1h30m (a plain number is seconds), "
            f"got {text!r}"
        )
    return seconds


def check_count(flag: str, value: int, *, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise SweepError(f"--{flag} must be an integer >= {minimum}, got {value!r}")


def load_trial_space(name: str, training_recipe: Any = None) -> Any:
    """The space ``name`` (packaged name or YAML file), refused unless every config it can give is a valid
    trial config: keys, fixed values, every choice, both ends of every range, on every conditional branch.

    The one check behind ``kdbench sweep`` and ``kdbench space show|sample``, so both give the same verdict
    on the same file; it runs before any data, store or Ray work. Raises a one-line :class:`SearchSpaceError`
    naming the file, line, parameter and value.
    """
    from kdbench import search_spaces
    from kdbench.bench.config import TrialConfig
    from kdbench.bench.recipes import problems_under

    keys = [f.name for f in dataclasses.fields(TrialConfig)]
    try:
        return search_spaces.load_space(name, known_keys=keys, check=problems_under(training_recipe))
    except search_spaces.SearchSpaceError as e:  # convert at the boundary: the CLI reports KdbenchErrors
        raise SearchSpaceError(str(e)) from e


def scheduler_for(plan: SweepPlan, objectives: tuple[Objective, ...]) -> tuple[Any, dict[str, Any]]:
    return build_scheduler(
        plan.scheduler,
        objectives=objectives,
        max_student_epochs=max_student_epochs(plan.space, plan.training_recipe),
        grace_period=plan.grace_period,
        reduction_factor=plan.reduction_factor,
    )


def max_student_epochs(space: Any, training_recipe: Any = None) -> int:
    """Distillation + finetuning epochs a trial of ``space`` can run at most (ASHA's max_t); a space that
    leaves ``max_epochs`` to the dataset's recipe takes the recipe's.

    Reads only integer values: ``load_trial_space`` has refused any other ``max_epochs`` before this runs.
    """
    from kdbench.bench.config import TrialConfig

    values = [space.fixed["max_epochs"]] if "max_epochs" in space.fixed else []
    searched = any(p.key == "max_epochs" for p in space.params)
    if not values and not searched and training_recipe is not None and "max_epochs" in training_recipe.values:
        values = [training_recipe.values["max_epochs"]]
    for p in space.params:
        if p.key == "max_epochs":
            values += [p.high] if p.kind == "int" else [*p.choices, p.value]
    caps = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    return 2 * (max(caps) if caps else TrialConfig.max_epochs)
