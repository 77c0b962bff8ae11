"""Which searched parameters mattered: Optuna's fANOVA over an in-memory study rebuilt from the store."""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import pandas as pd
import plotly.graph_objects as go

from kdbench.reports._figures import empty_figure, new_figure, text
from kdbench.reports._objective import Objective
from kdbench.reports._params import LOG_SPAN, param_text, searched_params

__all__ = ["MIN_TRIALS", "Importance", "importance_data", "importance_figure"]

MIN_TRIALS = 3


class Importance(NamedTuple):
    values: dict[str, float]  # parameter -> share of the objective's variance, largest first
    note: str | None  # why there is nothing (or less than expected) to show
    n_trials: int


def importance_data(trials: pd.DataFrame, objective: Objective, *, seed: int = 0) -> Importance:
    """fANOVA importances of the searched parameters over completed trials with a finite objective.

    Distributions are inferred from the stored values (ints -> IntDistribution, floats ->
    FloatDistribution, log when positive and spanning ``LOG_SPAN`` x, anything else categorical).
    Parameters absent on some trials (the other teacher's keys) are left out, as Optuna does. 16 trees
    instead of 64: ~5x faster, same ranking.
    """
    done = trials[(trials["status"] == "completed") & trials[objective.metric].notna()]
    done = done[done[objective.metric].map(lambda v: math.isfinite(float(v)))]
    n = len(done)
    if n < MIN_TRIALS:
        return Importance(
            {},
            f"not enough trials: parameter importance needs at least {MIN_TRIALS} completed "
            f"trials, this sweep has {n}",
            n,
        )
    columns = [f"param_{k}" for k in searched_params(done) if done[f"param_{k}"].notna().all()]
    if not columns:
        return Importance(
            {},
            "every searched parameter has a single value across the completed trials "
            "(or is conditional): nothing to attribute",
            n,
        )
    if done[objective.metric].nunique() < 2:
        return Importance(
            {}, f"every completed trial has the same {objective.label}: nothing to attribute", n
        )
    import optuna

    distributions = {c.removeprefix("param_"): _distribution(done[c].tolist()) for c in columns}
    frozen = [
        optuna.trial.create_trial(
            params={k: _value(row[f"param_{k}"], distributions[k]) for k in distributions},
            distributions=distributions,
            value=float(row[objective.metric]),
        )
        for _, row in done.iterrows()
    ]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize" if objective.maximize else "minimize")
    study.add_trials(frozen)
    evaluator = optuna.importance.FanovaImportanceEvaluator(n_trees=16, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # ExperimentalWarning and the like: nothing a report reader can act on
        try:
            values = optuna.importance.get_param_importances(study, evaluator=evaluator)
        except (RuntimeError, ValueError) as e:
            return Importance({}, f"parameter importance could not be computed: {e}", n)
    return Importance({k: float(v) for k, v in values.items()}, None, n)


def _distribution(values: list[Any]) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return IntDistribution(min(values), max(values))
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        low, high = float(min(values)), float(max(values))
        return FloatDistribution(low, high, log=low > 0 and high / low >= LOG_SPAN)
    return CategoricalDistribution(sorted({param_text(v) for v in values}))


def _value(value: Any, distribution: Any) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    if isinstance(distribution, CategoricalDistribution):
        return param_text(value)
    return float(value) if isinstance(distribution, FloatDistribution) else int(value)


def importance_figure(data: Importance, objective: Objective) -> go.Figure:
    title = f"Parameter importance for {objective.label} (fANOVA, {data.n_trials} completed trials)"
    if not data.values:
        return empty_figure("Parameter importance", text(data.note or "nothing to show"))
    names = [text(k) for k in data.values][::-1]  # largest at the top
    shares = list(data.values.values())[::-1]
    fig = new_figure(
        title,
        "share of the objective's variance explained",
        "",
        height=max(240, 130 + 26 * len(names)),
        legend=False,
    )
    fig.add_bar(
        x=shares,
        y=names,
        orientation="h",
        marker={"color": "#0072B2"},
        hovertemplate="%{y}: %{x:.1%}<extra></extra>",
    )
    fig.update_xaxes(tickformat=".0%", rangemode="tozero")
    return fig
