"""Accuracy against cost: student test AUC vs FLOPs or latency, with the Pareto front (no trial both cheaper
and better), and on the latency plot the dataset's baselines (LR, GBDT) as markers of their own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from kdbench.reports._figures import empty_figure, new_figure, text
from kdbench.reports._params import config_label

__all__ = ["COSTS", "Cost", "pareto_baselines", "pareto_data", "pareto_figure", "pareto_front"]


class Cost(NamedTuple):
    column: str
    label: str  # axis title, with its unit
    log: bool
    baseline_column: str | None = None  # the baselines' figure on this axis (they count no FLOPs)


COSTS = {
    "flops": Cost("student_flops", "student FLOPs (multiply-adds per sample, log scale)", True),
    "latency": Cost("student_latency_ms_b1", "student latency, batch of 1 (ms)", False, "latency_ms_b1"),
}
_BASELINE_MARKERS = {"gbdt": ("diamond", "#444444"), "lr": ("square-open", "#444444")}


def pareto_front(cost: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Boolean mask of the points on the front: lower cost and higher value are better; a point is on it when
    no other point is at most as costly and strictly better, or strictly cheaper and as good."""
    cost, value = np.asarray(cost, dtype=float), np.asarray(value, dtype=float)
    on = np.zeros(len(cost), dtype=bool)
    best = -np.inf
    for i in np.lexsort((-value, cost)):  # cheapest first; among equal costs, best value first
        if value[i] > best:
            on[i], best = True, value[i]
    return on


def pareto_data(trials: pd.DataFrame, cost: Cost) -> pd.DataFrame:
    """Completed trials with both a student test AUC and ``cost`` (``label``: the config in words, escaped);
    ``on_front`` marks the Pareto front."""
    done = trials[
        (trials["status"] == "completed") & trials["student_test_auc"].notna() & trials[cost.column].notna()
    ]
    out = pd.DataFrame(
        {
            "trial_id": done["trial_id"].astype("int64"),
            "number": done["number"].astype("int64"),
            "auc": done["student_test_auc"].astype("float64"),
            "cost": done[cost.column].astype("float64"),
            "label": [text(config_label(r)) for r in done.to_dict("records")],
        }
    ).reset_index(drop=True)
    out["on_front"] = pareto_front(out["cost"].to_numpy(), out["auc"].to_numpy())
    return out


def pareto_baselines(baselines: Sequence[dict[str, Any]], cost: Cost) -> pd.DataFrame:
    """The baselines (``reports._baselines.baseline_rows``) with both a test AUC and a figure on ``cost``'s
    axis: ``model``, ``label``, ``auc``, ``cost``, ``chosen``. Empty on an axis they have no figure for."""
    columns = ["model", "label", "auc", "cost", "chosen"]
    if cost.baseline_column is None:
        return pd.DataFrame(columns=columns)
    rows = [
        {"model": b["model"], "label": b["label"], "auc": float(b["test_auc"]),
         "cost": float(b[cost.baseline_column]), "chosen": b["chosen"]}
        for b in baselines
        if not pd.isna(b["test_auc"]) and not pd.isna(b[cost.baseline_column])
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def pareto_figure(data: pd.DataFrame, cost: Cost, baselines: pd.DataFrame | None = None) -> go.Figure:
    """Trials as points, the Pareto front as a step line; ``baselines`` (:func:`pareto_baselines`) as one
    marker each, outside the front: they are the yardstick, not contenders."""
    title = f"Student test AUC vs {cost.label.split(' (')[0].split(',')[0].replace('student ', '')}"
    if data.empty:
        return empty_figure(title, "no completed trial with both values")
    # Baselines can be orders of magnitude slower than the students (GBDT: milliseconds a row): a log axis
    # keeps the students apart.
    log = cost.log or (baselines is not None and not baselines.empty)
    axis = cost.label if log == cost.log else cost.label.replace(")", ", log scale)")
    fig = new_figure(title, axis, "student test AUC")
    if log:
        fig.update_xaxes(type="log")
    hover = (
        "trial %{customdata[0]}: %{customdata[1]}<br>AUC %{y:.4f}<br>"
        + cost.label.split(" (")[0]
        + " %{x:.4g}<extra></extra>"
    )
    rest = data[~data["on_front"]]
    fig.add_scatter(
        x=rest["cost"],
        y=rest["auc"],
        mode="markers",
        name="trial",
        marker={"color": "#9db4c8", "size": 7},
        customdata=rest[["number", "label"]],
        hovertemplate=hover,
    )
    front = data[data["on_front"]].sort_values("cost")
    fig.add_scatter(
        x=front["cost"],
        y=front["auc"],
        mode="lines+markers",
        name="Pareto front",
        line={"shape": "hv", "color": "#D55E00"},
        marker={"size": 9, "color": "#D55E00"},
        customdata=front[["number", "label"]],
        hovertemplate=hover,
    )
    for b in [] if baselines is None else baselines.to_dict("records"):
        symbol, color = _BASELINE_MARKERS.get(b["model"], ("x", "#444444"))
        fig.add_scatter(
            x=[b["cost"]],
            y=[b["auc"]],
            mode="markers",
            name=text(b["label"]),
            marker={"symbol": symbol, "size": 12, "color": color, "line": {"width": 2, "color": color}},
            hovertemplate=f"{text(b['label'])} ({text(b['chosen'])})<br>AUC %{{y:.4f}}<br>"
            + cost.label.split(" (")[0].replace("student ", "")
            + " %{x:.4g}<extra></extra>",
        )
    return fig
