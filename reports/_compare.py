"""Side by side on one dataset: several sweeps, or several code versions (git shas).

Best-so-far curves use the search objective (student validation AUC, what sweeps optimise by default); the
distributions and the table use student test AUC, the number a leaderboard reports.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pandas as pd
import plotly.graph_objects as go

from kdbench.reports import _paths
from kdbench.reports._figures import COLORS, embed, empty_figure, new_figure, text
from kdbench.reports._format import short_sha
from kdbench.reports._history import history_data, history_figure
from kdbench.reports._html import render
from kdbench.reports._objective import DEFAULT_OBJECTIVE

__all__ = ["COMPARE_BY", "Comparison", "compare_data", "comparisons", "render_compare_page"]

COMPARE_BY = {"sweep": "sweeps", "git_sha": "code versions"}
SUMMARY_COLUMNS = (
    "group",
    "n_trials",
    "n_completed",
    "n_failed",
    "best_valid",
    "best_test",
    "mean_test",
    "std_test",
    "median_test",
    "delta_best",
    "delta_mean",
    "seconds_to_best",
    "mean_wall_seconds",
)


class Comparison(NamedTuple):
    dataset_fingerprint: str
    by: str  # a COMPARE_BY key
    groups: list[str]  # sweep names or git shas, in the order they first ran
    page: str


def _group_keys(trials: pd.DataFrame, by: str) -> pd.Series:
    return trials[by].fillna("unknown").astype(str)


def comparisons(trials: pd.DataFrame) -> list[Comparison]:
    """Every dataset on which two or more sweeps (or two or more code versions) completed trials."""
    found = []
    done = trials[trials["status"] == "completed"]
    for fingerprint, group in done.groupby("dataset_fingerprint", sort=True):
        ordered = group.sort_values("started_at")
        for by in COMPARE_BY:
            keys = list(dict.fromkeys(_group_keys(ordered, by)))
            if len(keys) >= 2:
                found.append(
                    Comparison(str(fingerprint), by, keys, _paths.compare_page(str(fingerprint), by))
                )
    return found


class CompareData(NamedTuple):
    histories: dict[str, pd.DataFrame]  # group label -> history_data
    finals: pd.DataFrame  # group, trial_id, number, student_test_auc (completed trials)
    summary: pd.DataFrame  # SUMMARY_COLUMNS; deltas against the first group


def group_label(key: str, by: str) -> str:
    return short_sha(key) if by == "git_sha" and key != "unknown" else key


def compare_data(trials: pd.DataFrame, comparison: Comparison) -> CompareData:
    """Per group of ``comparison`` on its dataset: best-so-far history, final AUCs and a summary row."""
    on_dataset = trials[trials["dataset_fingerprint"] == comparison.dataset_fingerprint]
    keys = _group_keys(on_dataset, comparison.by)
    histories, finals, rows = {}, [], []
    for key in comparison.groups:
        group = on_dataset[keys == key]
        label = group_label(key, comparison.by)
        if comparison.by == "git_sha":  # trials of one version may come from several sweeps: renumber in time
            group = group.sort_values("started_at").assign(number=range(len(group)))
        history = history_data(group, DEFAULT_OBJECTIVE)
        histories[label] = history
        done = group[(group["status"] == "completed") & group["student_test_auc"].notna()]
        finals.append(
            pd.DataFrame(
                {
                    "group": label,
                    "trial_id": done["trial_id"],
                    "number": done["number"],
                    "student_test_auc": done["student_test_auc"],
                }
            )
        )
        test = done["student_test_auc"].astype(float)
        best_at = history.loc[history["value"].idxmax(), "elapsed_s"] if len(history) else None
        rows.append(
            {
                "group": label,
                "n_trials": len(group),
                "n_completed": int((group["status"] == "completed").sum()),
                "n_failed": int((group["status"] == "failed").sum()),
                "best_valid": history["best"].iloc[-1] if len(history) else None,
                "best_test": test.max() if len(test) else None,
                "mean_test": test.mean() if len(test) else None,
                "std_test": test.std() if len(test) > 1 else None,
                "median_test": test.median() if len(test) else None,
                "seconds_to_best": best_at,
                "mean_wall_seconds": group["wall_seconds"].mean(),
            }
        )
    summary = pd.DataFrame(rows)
    for column, delta in (("best_test", "delta_best"), ("mean_test", "delta_mean")):
        values = summary[column].astype("float64")
        summary[delta] = values - values.iloc[0]
    return CompareData(histories, pd.concat(finals, ignore_index=True), summary[list(SUMMARY_COLUMNS)])


def distribution_figure(finals: pd.DataFrame, groups: list[str]) -> go.Figure:
    title = "Distribution of final student test AUC"
    if finals.empty:
        return empty_figure(title, "no completed trial")
    fig = new_figure(title, "", "student test AUC", height=420, legend=False)
    for i, label in enumerate(groups):
        own = finals[finals["group"] == label]
        fig.add_box(
            y=own["student_test_auc"],
            name=text(label),
            boxpoints="all",
            jitter=0.4,
            pointpos=0,
            marker={"color": COLORS[i % len(COLORS)], "size": 5},
            customdata=own[["number"]],
            hovertemplate=f"{text(label)}<br>trial %{{customdata[0]}}: AUC %{{y:.4f}}<extra></extra>",
        )
    return fig


def render_compare_page(trials: pd.DataFrame, comparison: Comparison, dataset_label: str) -> tuple[str, str]:
    data = compare_data(trials, comparison)
    labels = list(data.histories)
    figures = {
        "history_number": history_figure(data.histories, DEFAULT_OBJECTIVE, by="number"),
        "history_time": history_figure(data.histories, DEFAULT_OBJECTIVE, by="elapsed_s"),
        "distribution": distribution_figure(data.finals, labels),
    }
    links: list[dict[str, Any]] = [
        {
            "label": group_label(k, comparison.by),
            "page": _paths.sweep_page(k) if comparison.by == "sweep" else None,
        }
        for k in comparison.groups
    ]
    html = render(
        "compare.html.j2",
        comparison.page,
        title=f"Compare {COMPARE_BY[comparison.by]} on {dataset_label}",
        comparison=comparison,
        what=COMPARE_BY[comparison.by],
        dataset_label=dataset_label,
        links=links,
        figures={name: embed(fig, f"fig-{name}") for name, fig in figures.items()},
        summary=data.summary.to_dict("records"),
    )
    return comparison.page, html
