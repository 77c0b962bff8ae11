"""Optimisation history: the best objective so far against trial number and against wall time."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from kdbench.reports._figures import COLORS, empty_figure, integer_ticks, new_figure, text
from kdbench.reports._objective import Objective, best_so_far

__all__ = ["HISTORY_COLUMNS", "ReferenceLine", "history_data", "history_figure"]

HISTORY_COLUMNS = ("trial_id", "number", "status", "value", "best", "elapsed_s")
REFERENCE_COLOR = "#555"


class ReferenceLine(NamedTuple):
    """A value to compare the history with (the default configuration's), drawn as a dashed line."""

    value: float  # of the plotted objective
    label: str  # "default configuration (trial 0)"


def history_data(trials: pd.DataFrame, objective: Objective) -> pd.DataFrame:
    """One row per trial with a finite objective (any status but failed), in trial-number order.

    ``best`` is the best value up to and including that trial; ``elapsed_s`` the seconds from the first
    trial's start to this trial's finish (the wall clock of the whole sweep, parallel trials included).
    """
    if trials.empty:
        return pd.DataFrame(columns=list(HISTORY_COLUMNS))
    start = trials["started_at"].min()
    scored = trials[(trials["status"] != "failed") & trials[objective.metric].notna()]
    scored = scored.sort_values("number")
    value = scored[objective.metric].astype("float64")
    out = pd.DataFrame(
        {
            "trial_id": scored["trial_id"],
            "number": scored["number"],
            "status": scored["status"],
            "value": value,
            "best": best_so_far(value, objective.maximize),
            "elapsed_s": (scored["finished_at"] - start).dt.total_seconds(),
        }
    )
    return out.reset_index(drop=True)


def history_figure(
    histories: dict[str, pd.DataFrame],
    objective: Objective,
    *,
    by: str = "number",
    reference: ReferenceLine | None = None,
) -> go.Figure:
    """Best-so-far lines (one per group: a sweep, a code version) over ``by``: ``number`` or ``elapsed_s``.

    With a single group each trial's own value is drawn as a dot under the line; ``reference`` is drawn as a
    horizontal dashed line across the plot, in the legend under its label.
    """
    x_title = "trial number" if by == "number" else "wall time since the first trial started (s)"
    title = f"Best {objective.label} so far vs {'trial' if by == 'number' else 'wall time'}"
    if all(h.empty for h in histories.values()):
        return empty_figure(title, "no trial has a value for the objective yet")
    fig = new_figure(title, x_title, objective.label)
    if by == "number":
        fig.update_xaxes(**integer_ticks(max(float(h["number"].max()) for h in histories.values() if len(h))))
    single = len(histories) == 1
    for i, (group, h) in enumerate(histories.items()):
        color = COLORS[i % len(COLORS)]
        name = text(group)
        order = h.sort_values(by)
        best = best_so_far(order["value"], objective.maximize) if by != "number" else order["best"]
        if single:
            fig.add_scatter(
                x=order[by],
                y=order["value"],
                mode="markers",
                name="trial",
                marker={"color": "#999", "size": 6},
                customdata=np.stack([order["number"], order["status"]], axis=-1),
                hovertemplate=f"trial %{{customdata[0]}} (%{{customdata[1]}})<br>{objective.label} %{{y:.4f}}"
                "<extra></extra>",
            )
        fig.add_scatter(
            x=order[by],
            y=best,
            mode="lines" if single else "lines+markers",  # a group of one trial still shows
            line={"shape": "hv", "color": color, "width": 2},
            marker={"size": 5},
            name=f"best so far: {name}" if not single else "best so far",
            hovertemplate=f"{name}<br>{x_title}: %{{x:.4g}}<br>best {objective.label} %{{y:.4f}}"
            "<extra></extra>",
        )
    if reference is not None:
        # A shape across the whole plot width ("x domain"): it spans every x range, one trial or a thousand.
        fig.add_shape(
            type="line",
            xref="x domain",
            x0=0,
            x1=1,
            yref="y",
            y0=reference.value,
            y1=reference.value,
            line={"color": REFERENCE_COLOR, "width": 1.5, "dash": "dash"},
            name=f"{text(reference.label)}: {reference.value:.4f}",
            showlegend=True,
        )
    return fig
