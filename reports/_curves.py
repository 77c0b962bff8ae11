"""Learning curves by phase: validation AUC (and training loss) per epoch of teacher training, distillation
and finetuning, for one trial or the top trials of a sweep."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from kdbench.reports._figures import (
    COLORS,
    PHASE_COLORS,
    FigureDict,
    empty_figure,
    integer_ticks,
    plain_figure,
    side_by_side,
    text,
)
from kdbench.reports._objective import metric_label

__all__ = ["PHASES", "sweep_curves_figure", "top_trials", "trial_curves_data", "trial_curves_figure"]

PHASES = ("teacher_training", "distillation", "finetuning")  # models.PHASES; reports do not import models


def trial_curves_data(epochs: pd.DataFrame) -> pd.DataFrame:
    """Epoch rows (of one trial or many) in run order with ``step``: the epoch counted across a trial's
    phases (1, 2, ...), so its three phases read left to right on one axis. Done once for all trials: per
    trial, pandas costs more than the page."""
    order = epochs["phase"].map({p: i for i, p in enumerate(PHASES)}).fillna(len(PHASES))
    out = epochs.assign(_order=order).sort_values(["trial_id", "_order", "epoch"], kind="stable")
    out = out.drop(columns="_order").reset_index(drop=True)
    out["step"] = out.groupby("trial_id").cumcount() + 1
    return out


def trial_curves_figure(data: pd.DataFrame) -> go.Figure | FigureDict:
    """Validation AUC (left) and training loss (right) against the epoch across phases, one colour a phase.
    In teacher_training the AUC is the teacher's, afterwards the student's. ``data``: one trial's rows of
    :func:`trial_curves_data`. A plain figure dict (see :func:`kdbench.reports._figures.plain_figure`).

    The three phases minimise different losses (distillation's ``alpha * BCE + beta * MSE`` of logits is
    orders above a BCE), so the right panel draws each phase's loss relative to its own first epoch: every
    phase starts at 1 and the shapes compare on one linear axis; the hover gives the loss itself.
    """
    title = "Learning curves by phase"
    if data.empty:
        return empty_figure(title, "no epoch was recorded for this trial")
    layout = side_by_side(title, ["epoch (all phases in order)"] * 2, "validation AUC", height=380)
    layout["yaxis2"].update(title={"text": "training loss ÷ the phase's first epoch"})
    for axis in ("xaxis", "xaxis2"):
        layout[axis].update(integer_ticks(len(data)))
    traces: list[dict[str, Any]] = []
    for phase, group in data.groupby("phase", sort=False):
        name = text(phase)
        loss = group["train_loss"].astype("float64")
        first = loss.iloc[0] if len(loss) else float("nan")
        relative = loss / first if pd.notna(first) and first > 0 else loss * float("nan")
        for axis, values in (("", group["valid_auc"]), ("2", relative)):
            hover = (
                f"{name}, epoch %{{customdata[0]}}<br>validation AUC %{{y:.4f}}"
                if axis == ""
                else f"{name}, epoch %{{customdata[0]}}<br>training loss %{{customdata[1]:.4g}} "
                "(%{y:.3f} × the first epoch's)"
            )
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": name,
                    "legendgroup": name,
                    "showlegend": axis == "",
                    "line": {"color": PHASE_COLORS.get(str(phase), "#444")},
                    "x": group["step"].tolist(),
                    "y": _floats(values),
                    "xaxis": f"x{axis}",
                    "yaxis": f"y{axis}",
                    "customdata": [[e, v] for e, v in zip(group["epoch"], _floats(loss), strict=True)],
                    "hovertemplate": hover + "<extra></extra>",
                }
            )
    return plain_figure(traces, layout)


def _floats(values: pd.Series) -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in values]


def sweep_curves_figure(
    epochs: pd.DataFrame, trial_labels: dict[int, str], metric: str = "valid_auc"
) -> go.Figure:
    """One panel per phase, one line per trial (``trial_labels``: trial id -> legend text, best first)."""
    label = metric_label(metric)
    title = f"Learning curves of the top {len(trial_labels)} trials ({label} per epoch)"
    rows = epochs[epochs["trial_id"].isin(list(trial_labels))]
    if rows.empty:
        return empty_figure("Learning curves of the top trials", "no epoch was recorded for these trials")
    fig = go.Figure(layout=side_by_side(title, ["epoch"] * len(PHASES), label, subtitles=list(PHASES)))
    fig.update_xaxes(**integer_ticks(float(rows["epoch"].max())))
    for i, trial_id in enumerate(trial_labels):
        name = text(trial_labels[trial_id])
        own = rows[rows["trial_id"] == trial_id]
        # The legend entry sits on the trial's first drawn phase: a teacher taken from the cache has no
        # teacher_training epochs, and an empty trace's legend entry would not show.
        first = next((p for p in PHASES if (own["phase"] == p).any()), PHASES[0])
        for j, phase in enumerate(PHASES):
            group = own[own["phase"] == phase]
            axis = "" if j == 0 else str(j + 1)
            fig.add_scatter(
                x=group["epoch"].tolist(),
                y=_floats(group[metric]),
                mode="lines+markers",
                name=name,
                legendgroup=name,
                showlegend=phase == first,
                line={"color": COLORS[i % len(COLORS)]},
                xaxis=f"x{axis}",
                yaxis=f"y{axis}",
                hovertemplate=f"{name}<br>{phase}, epoch %{{x}}<br>{label} %{{y:.4f}}<extra></extra>",
            )
    return fig


def top_trials(scored: pd.DataFrame, column: str, maximize: bool, n: int = 5) -> Sequence[int]:
    """Ids of the ``n`` best trials by ``column``."""
    ranked = scored.sort_values([column, "number"], ascending=[not maximize, True])
    return [int(t) for t in ranked["trial_id"].head(n)]
