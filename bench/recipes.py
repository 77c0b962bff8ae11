"""Per-dataset recipes: the training settings a trial starts from, under the user's own values.

Each source module declares its :class:`~kdbench.bench.data.Recipe` beside its protocol (the paper's values
for Criteo, Avazu and MovieLens-1M, measured ones for ml-100k). Those values suit data of the source's
reference size; any other data (a csv or parquet table, a Criteo sample of 200,000 rows) gets a recipe fitted
to its shape by :func:`recipe_for_data`, the starting point ``kdbench train`` and a sweep's warm start use. A
trial's config is composed in layers, later ones winning::

    TrialConfig defaults  <  dataset recipe  <  --config file  <  --set pairs      (kdbench train)
    TrialConfig defaults  <  dataset recipe  <  the space's fixed and sampled keys  (a sweep)

A recipe's teacher hyperparameters describe *its* teacher: when a later layer picks another teacher, the
recipe's ``t_*`` keys are dropped (a user's own ``t_*`` keys never are, so a mismatch stays an error).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kdbench.bench.config import TEACHER_KEYS, TrialConfig
from kdbench.bench.data import (
    AVAZU_RECIPE,
    CRITEO_RECIPE,
    ML1M_RECIPE,
    ML100K_RECBOLE_RECIPE,
    ML100K_RECIPE,
    Recipe,
)
from kdbench.bench.errors import ConfigError

__all__ = [
    "RECIPES",
    "Recipe",
    "build_config",
    "compose",
    "fitted_recipe",
    "problems_under",
    "recipe_for",
    "recipe_for_data",
]

# Source name -> recipe; sources not listed (csv, parquet) have none.
RECIPES: dict[str, Recipe] = {
    r.name: r for r in (ML100K_RECIPE, ML1M_RECIPE, CRITEO_RECIPE, AVAZU_RECIPE, ML100K_RECBOLE_RECIPE)
}
_TEACHER_ONLY = frozenset(key for keys in TEACHER_KEYS.values() for key in keys)


def recipe_for(source: str) -> Recipe | None:
    """The recipe of dataset source ``source``, or None (csv, parquet, unknown names)."""
    return RECIPES.get(source)


# The rows in the training split from which a source's own recipe applies: the paper's Criteo and Avazu
# values were set for tens of millions of rows; MovieLens's recipes are for their one fixed dataset.
REFERENCE_TRAIN_ROWS: dict[str, int] = {
    "ml-100k": 0,
    "movielens-1m": 0,
    "criteo": 10_000_000,
    "avazu": 10_000_000,
}


@dataclass(frozen=True)
class _Band:
    """The fitted settings for training splits of up to ``max_rows`` rows."""

    max_rows: float
    weight_decay: float
    max_epochs: int
    patience: int


# Measured by ``python -m kdbench.bench.benchmarks.defaults --grid`` (docs/datasets.md, "Defaults that fit
# the data"): the student's best *valid* AUC over a weight-decay grid on the benchmark's tables. Weight decay
# (Adam's L2, embeddings included) is what a table's size decides: at the trial config's 1e-6 a small table
# overfits within two epochs, and at ml-100k's 1e-3 a table of 160,000 training rows underfits.
_BANDS = (
    _Band(50_000, 3e-3, 40, 5),
    _Band(300_000, 3e-4, 40, 5),
    _Band(3_000_000, 1e-4, 30, 3),
    _Band(float("inf"), 1e-5, 20, 2),
)


def recipe_for_data(info: Mapping[str, Any], *, source: str | None = None) -> Recipe:
    """The recipe a trial on the dataset described by ``info`` (``Dataset.info()`` or a cache entry's meta)
    starts from, with the reason in its ``rationale``.

    The source's own recipe when the data is of its reference size (ml-100k and MovieLens-1M always; Criteo
    and Avazu from 10 million training rows), else :func:`fitted_recipe`.
    """
    source = source or info["source"]
    own = RECIPES.get(source)
    train_rows = int(info["split_sizes"]["train"])
    if own is not None and train_rows >= REFERENCE_TRAIN_ROWS.get(source, 0):
        return own
    fitted = fitted_recipe(info)
    if own is None:
        return fitted
    reference = REFERENCE_TRAIN_ROWS[source]
    because = (
        f"The {source} recipe is for its full data ({reference:,}+ training rows); this one has "
        f"{train_rows:,}, so: "
    )
    return Recipe(fitted.name, fitted.values, because + fitted.rationale)


def fitted_recipe(info: Mapping[str, Any]) -> Recipe:
    """Settings chosen from the data's shape: the size band of its training split decides weight decay
    and how many epochs each phase may take (``_BANDS``); the rest are the trial config defaults."""
    train_rows = int(info["split_sizes"]["train"])
    index = next(i for i, b in enumerate(_BANDS) if train_rows <= b.max_rows)
    band = _BANDS[index]
    if index == 0:
        span = f"up to {band.max_rows:,.0f}"
    elif index == len(_BANDS) - 1:
        span = f"over {_BANDS[index - 1].max_rows:,.0f}"
    else:
        span = f"{_BANDS[index - 1].max_rows:,.0f} to {band.max_rows:,.0f}"
    fields, dense = len(info["fields"]), len(info.get("dense_fields") or ())
    rationale = (
        f"Fitted to the data: {train_rows:,} training rows, {fields} fields ({dense} dense), "
        f"{sum(info['vocab_sizes']):,} values in all. For training splits of {span} rows: weight decay "
        f"{band.weight_decay:g}, {band.max_epochs} epochs / patience {band.patience} per phase, lr 3e-3 "
        "(measured on the defaults benchmark, docs/datasets.md)."
    )
    values = {
        "lr": 3e-3,
        "weight_decay": band.weight_decay,
        "max_epochs": band.max_epochs,
        "patience": band.patience,
    }
    return Recipe("fitted", values, rationale)


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
