"""How much of its teacher each student keeps: teacher vs student test AUC, one colour per teacher type."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from kdbench.reports._figures import COLORS, empty_figure, new_figure, text

__all__ = ["teacher_student_data", "teacher_student_figure"]


def teacher_student_data(trials: pd.DataFrame) -> pd.DataFrame:
    """Completed trials with both test AUCs: ``number``, ``teacher`` (type), ``teacher_auc``,
    ``student_auc``."""
    done = trials[
        (trials["status"] == "completed")
        & trials["teacher_test_auc"].notna()
        & trials["student_test_auc"].notna()
    ]
    teacher = done["param_teacher"] if "param_teacher" in done else pd.Series("unknown", index=done.index)
    return pd.DataFrame(
        {
            "number": done["number"].astype("int64"),
            "teacher": teacher.fillna("unknown").astype(str),
            "teacher_auc": done["teacher_test_auc"].astype("float64"),
            "student_auc": done["student_test_auc"].astype("float64"),
        }
    ).reset_index(drop=True)


def teacher_student_figure(data: pd.DataFrame) -> go.Figure:
    title = "Student vs teacher test AUC (above the diagonal: the student beats its teacher)"
    if data.empty:
        return empty_figure("Student vs teacher test AUC", "no completed trial with both AUCs")
    fig = new_figure(title, "teacher test AUC", "student test AUC", height=440)
    low = float(min(data["teacher_auc"].min(), data["student_auc"].min()))
    high = float(max(data["teacher_auc"].max(), data["student_auc"].max()))
    pad = max((high - low) * 0.05, 0.001)
    fig.add_scatter(
        x=[low - pad, high + pad],
        y=[low - pad, high + pad],
        mode="lines",
        name="student = teacher",
        line={"dash": "dash", "color": "#888"},
        hoverinfo="skip",
    )
    for i, (teacher, group) in enumerate(data.groupby("teacher", sort=True)):
        fig.add_scatter(
            x=group["teacher_auc"],
            y=group["student_auc"],
            mode="markers",
            name=f"teacher: {text(teacher)}",
            marker={"color": COLORS[i % len(COLORS)], "size": 8},
            customdata=group[["number"]],
            hovertemplate=f"trial %{{customdata[0]}} ({text(teacher)})<br>teacher AUC %{{x:.4f}}<br>"
            "student AUC %{y:.4f}<extra></extra>",
        )
    return fig
