"""Warm start: a sweep's first trial is the configuration a user would otherwise train by hand.

That is the dataset's recipe over the trial-config defaults (``kdbench train``'s starting point), projected
onto the space (``SearchSpace.project``: ranges clipped, the nearest choice, the space's fixed values). It
is enqueued as the study's first trial, so the search never ends below its own default unless the default
itself does worse under the space's settings, and every sweep can say how far it got beyond it.

What was enqueued is recorded with the sweep (``settings["warm_start"]``, :meth:`WarmStart.to_dict`); the
trial that ran it is the one whose ``config_hash`` matches, which reports use as the reference line.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["WARM_START_ATTR", "WarmStart", "default_trial", "enqueue_warm_start", "warm_start_for"]

WARM_START_ATTR = "kdbench_warm_start"  # Optuna user attribute of the enqueued trial


@dataclasses.dataclass(frozen=True)
class WarmStart:
    """The warm-start point of one sweep: where it came from, the Optuna params that ask for it, the trial
    config it runs (and that config's hash), and how it differs from the configuration projected."""

    source: str
    params: dict[str, Any]
    config: dict[str, Any]
    config_hash: str
    changes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "changes": list(self.changes)}


def warm_start_for(space: Any, training_recipe: Any) -> WarmStart:
    """The recipe (or, with None, the trial-config defaults) projected onto ``space``."""
    from kdbench.bench.config import TrialConfig
    from kdbench.bench.recipes import compose

    start_config = TrialConfig.from_dict(compose(training_recipe))
    # Every key, the other teachers' too: a space whose teacher differs from the recipe's still finds a
    # t_depth or t_dropout to start from. t_hidden of a teacher without a DNN is None: the first choice.
    start = {f.name: getattr(start_config, f.name) for f in dataclasses.fields(TrialConfig)}
    projection = space.project(start)
    config = TrialConfig.from_dict(compose(training_recipe, projection.config))
    source = (
        f"the {training_recipe.name} recipe" if training_recipe is not None else "the trial-config defaults"
    )
    return WarmStart(
        source=source,
        params=projection.params,
        config=config.to_dict(),
        config_hash=config.config_hash(),
        changes=projection.changes,
    )


def enqueue_warm_start(optuna_storage: Any, study_name: str, warm: WarmStart) -> bool:
    """Put the warm-start point next in the (existing) study ``study_name``, unless the study already holds
    it (waiting, running or finished; a resume does not run it twice). An attempt the driver's death
    interrupted (``kdbench_interrupted``) does not count: the resume asks for it again. Returns whether it
    was enqueued."""
    import optuna

    study = optuna.load_study(study_name=study_name, storage=optuna_storage)
    for trial in study.get_trials(deepcopy=False):
        if trial.user_attrs.get(WARM_START_ATTR) and not trial.user_attrs.get("kdbench_interrupted"):
            return False
    study.enqueue_trial(warm.params, user_attrs={WARM_START_ATTR: True})
    return True


def default_trial(trials: Any, warm_start: dict[str, Any] | None) -> Any:
    """The completed warm-start trial among a sweep's store ``trials`` (the lowest number whose config hash
    is the warm start's), or None: no warm start, or it has not completed."""
    if not warm_start or trials.empty:
        return None
    mine = trials[(trials["config_hash"] == warm_start["config_hash"]) & (trials["status"] == "completed")]
    mine = mine[mine["student_valid_auc"].notna()]
    return None if mine.empty else mine.sort_values("number").iloc[0]
