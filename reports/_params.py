"""The searched parameters of a sweep: which ones varied, and a parallel-coordinates view of them."""

from __future__ import annotations

import json
import math
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from kdbench.reports._figures import empty_figure, new_figure, text
from kdbench.reports._format import is_missing
from kdbench.reports._objective import Objective

__all__ = [
    "LOG_SPAN",
    "Axis",
    "ParallelData",
    "config_label",
    "parallel_data",
    "parallel_figure",
    "param_text",
    "searched_params",
]

LOG_SPAN = 20  # a positive parameter spanning this factor or more is drawn on a log axis (lr, beta)
MISSING_LABEL = "n/a"  # a conditional parameter absent on this branch (t_depth of a CIN teacher)


def param_text(value: Any) -> str:
    """A parameter value as a category label: lists as compact JSON, a missing value as ``n/a``."""
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value), separators=(",", ":"))
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING_LABEL
    return str(value)


# The hyperparameter that shapes each teacher most, shown in labels (the others are in the trial page).
_TEACHER_SHAPE = {"cin": "t_cin", "xdeepfm": "t_cin", "dnn": "t_hidden", "autoint": "t_attention_layers"}


def config_label(row: dict) -> str:
    """A configuration in a few words: ``crossnet(depth 3) → outer DAGFM(depth 3), emb 16``."""

    def get(key: str) -> Any:
        return row.get(f"param_{key}")

    teacher = str(get("teacher") or "teacher")
    shape = get(_TEACHER_SHAPE.get(teacher, "t_depth"))
    if isinstance(shape, (list, tuple)):
        teacher += "[" + ",".join(str(v) for v in shape) + "]"
    elif not is_missing(shape):
        teacher += f"(depth {shape})"
    mlp = get("student_mlp")
    plus = isinstance(mlp, (list, tuple)) and len(mlp) > 0  # KD-DAGFM+: the DAGFM with an MLP branch
    student = f"{get('interaction') or ''} DAGFM{'+' if plus else ''}".strip()
    if not is_missing(get("depth")):
        student += f"(depth {get('depth')}" + (f", mlp {list(mlp)})" if plus else ")")
    size = get("embedding_size")
    return f"{teacher} → {student}" + ("" if is_missing(size) else f", emb {size}")


def searched_params(trials: pd.DataFrame) -> list[str]:
    """The config keys (without ``param_``) that took more than one value across ``trials``: the searched
    ones (the seed counts when seeds were varied)."""
    keys = []
    for column in trials.columns:
        if column.startswith("param_") and trials[column].map(param_text).nunique() > 1:
            keys.append(column.removeprefix("param_"))
    return keys


class Axis(NamedTuple):
    label: str
    values: list[float]
    tickvals: list[float] | None  # categories: their positions and labels
    ticktext: list[str] | None


class ParallelData(NamedTuple):
    axes: list[Axis]
    color: list[float]  # the objective, one per trial
    numbers: list[int]


def parallel_data(trials: pd.DataFrame, objective: Objective) -> ParallelData:
    """One axis per searched parameter over the trials with an objective value.

    Numbers stay numbers (``log10`` when all positive and spanning :data:`LOG_SPAN` x, like a learning rate);
    anything else, or a parameter absent on some trials, becomes categories in sorted order.
    """
    scored = trials[(trials["status"] != "failed") & trials[objective.metric].notna()]
    axes = []
    for key in searched_params(scored):
        raw = scored[f"param_{key}"].tolist()
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw) and not any(
            isinstance(v, float) and math.isnan(v) for v in raw
        )
        if numeric:
            values = np.asarray(raw, dtype=float)
            distinct = np.unique(values)
            if values.min() > 0 and values.max() / values.min() >= LOG_SPAN:
                axes.append(Axis(f"log10({key})", np.log10(values).tolist(), None, None))
            elif (
                all(isinstance(v, int) for v in raw) and len(distinct) <= 8
            ):  # depth, seed: ticks on the values
                axes.append(Axis(key, values.tolist(), distinct.tolist(), [str(int(v)) for v in distinct]))
            else:
                axes.append(Axis(key, values.tolist(), None, None))
        else:
            labels = [param_text(v) for v in raw]
            categories = sorted(set(labels))
            position = {c: i for i, c in enumerate(categories)}
            axes.append(
                Axis(
                    key,
                    [float(position[c]) for c in labels],
                    [float(i) for i in range(len(categories))],
                    categories,
                )
            )
    return ParallelData(
        axes, scored[objective.metric].astype(float).tolist(), scored["number"].astype(int).tolist()
    )


def parallel_figure(data: ParallelData, objective: Objective) -> go.Figure:
    title = f"Searched parameters, coloured by {objective.label}"
    if not data.axes:
        return empty_figure(title, "no parameter took more than one value among the scored trials")
    dimensions = []
    for axis in data.axes:
        dim: dict[str, Any] = {"label": text(axis.label), "values": axis.values}
        if axis.tickvals is not None:
            # Parcoords draws tick text as plain text (unlike its labels and every other Plotly string):
            # escaped here it would show as "&lt;"; test_browser checks both.
            dim.update(tickvals=axis.tickvals, ticktext=list(axis.ticktext or []))
        dimensions.append(dim)
    fig = new_figure(title, "", "", height=460)
    crowded = len(dimensions) > 5  # on a narrow page level axis titles run into each other
    fig.add_trace(
        go.Parcoords(
            dimensions=dimensions,
            labelangle=-25 if crowded else 0,
            labelside="top",
            line={
                "color": data.color,
                "colorscale": "Viridis",
                "showscale": True,
                "reversescale": not objective.maximize,
                "colorbar": {"title": {"text": objective.label}},
            },
        )
    )
    fig.update_layout(margin={"l": 80, "r": 80, "t": 130 if crowded else 90, "b": 40})
    return fig
