"""Per-dataset recipes: the training settings a trial starts from, under the user's own values.

Each source module declares its :class:`~bench.data.Recipe` beside its protocol (the paper's values for
Criteo, Avazu and MovieLens-1M, measured ones for ml-100k); csv and parquet tables have none (the trial
config defaults). A trial's config is composed in layers, later ones winning::

    TrialConfig defaults  <  dataset recipe  <  --config file  <  --set pairs      (kdbench train)
    TrialConfig defaults  <  dataset recipe  <  the space's fixed and sampled keys  (a sweep)

A recipe's teacher hyperparameters describe *its* teacher: when a later layer picks another teacher, the
recipe's ``t_*`` keys are dropped (a user's own ``t_*`` keys never are, so a mismatch stays an error).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kdbench.bench.config import TEACHER_KEYS, TrialConfig
from kdbench.bench.data import Recipe
from kdbench.bench.data._avazu import AVAZU_RECIPE
from kdbench.bench.data._criteo import CRITEO_RECIPE
from kdbench.bench.data._movielens import ML1M_RECIPE, ML100K_RECIPE
from kdbench.bench.errors import ConfigError

__all__ = ["RECIPES", "Recipe", "build_config", "compose", "problems_under", "recipe_for"]

# Source name -> recipe; sources not listed (csv, parquet) have none.
RECIPES: dict[str, Recipe] = {r.name: r for r in (ML100K_RECIPE, ML1M_RECIPE, CRITEO_RECIPE, AVAZU_RECIPE)}
_TEACHER_ONLY = frozenset(key for keys in TEACHER_KEYS.values() for key in keys)


def recipe_for(source: str) -> Recipe | None:
    """The recipe of dataset source ``source``, or None (csv, parquet, unknown names)."""
    return RECIPES.get(source)


def compose(recipe: Recipe | None, *layers: Mapping[str, Any]) -> dict[str, Any]:
    """The flat config values of ``recipe`` overlaid by each of ``layers`` in turn (not yet validated)."""
    out = dict(recipe.values) if recipe is not None else {}
    for layer in layers:
        out.update(layer)
    if recipe is not None:
        teacher = out.get("teacher", TrialConfig.teacher)
        if teacher != recipe.values.get("teacher", TrialConfig.teacher):
            ours = {key for layer in layers for key in layer}
            for key in _TEACHER_ONLY & set(recipe.values) - ours:
                del out[key]
    return out


def build_config(recipe: Recipe | None, *layers: Mapping[str, Any]) -> TrialConfig:
    """:func:`compose`, validated: a :class:`ConfigError` listing every problem, naming the recipe's values
    that take part in one (the user did not write them)."""
    values = compose(recipe, *layers)
    problems = TrialConfig.problems(values)
    if not problems:
        return TrialConfig.from_dict(values)
    message = "invalid trial config: " + "; ".join(m for _, m in problems)
    if recipe is not None:
        ours = {key for layer in layers for key in layer}
        involved = {key for keys, _ in problems for key in keys}
        # A problem about teacher keys always involves the teacher, even when the recipe set neither.
        involved |= {"teacher"} if involved & _TEACHER_ONLY else set()
        theirs = [k for k in recipe.values if k in involved and k not in ours]
        if theirs:
            shown = ", ".join(f"{k}={values[k]!r}" for k in theirs)
            them = "it" if len(theirs) == 1 else "them"
            message += f" ({shown} from the {recipe.name} recipe: set {them} yourself, or pass --no-recipe)"
    raise ConfigError(message)


def problems_under(
    recipe: Recipe | None,
) -> Callable[[Mapping[str, Any]], Sequence[tuple[Sequence[str], str]]]:
    """``TrialConfig.problems`` of configs composed over ``recipe``: the check a sweep's space must pass when
    its trials start from the recipe (``search_spaces.load_space(..., check=problems_under(recipe))``)."""
    if recipe is None:
        return TrialConfig.problems
    return lambda values: TrialConfig.problems(compose(recipe, values))
