"""Regression history, as asv draws it: for every (suite, case, figure), its value over the stored runs, with
the baseline each run was compared with, that baseline's noise band, and the runs that regressed or improved
marked.

The band is what a run could move without a verdict: ``baseline ± threshold`` for quality figures
(differences), ``baseline ×/÷ (1 + threshold)`` for speed and memory (ratios, compared on the log scale).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from kdbench.reports import _paths
from kdbench.reports._figures import COLORS, embed, new_figure, text
from kdbench.reports._html import render
from kdbench.reports._regression_text import change_text, figure_label, relative

__all__ = [
    "POINT_COLUMNS",
    "history_anchor",
    "history_figure",
    "history_points",
    "render_regression_history",
]

POINT_COLUMNS = (
    "suite", "case", "figure", "run_id", "created_at", "git_sha", "git_dirty", "tag", "now", "low", "high",
    "baseline", "band_low", "band_high", "verdict", "change", "unit", "kind",
)  # fmt: skip
_MARKS = {"regressed": ("#b42318", "x", 13), "improved": ("#0a7d4f", "triangle-up", 11)}


def history_points(runs: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, case, figure) holding a numeric ``now``, oldest run first."""
    if runs.empty or cases.empty:
        return pd.DataFrame(columns=list(POINT_COLUMNS))
    by_run = {r["run_id"]: r for r in runs.to_dict("records")}
    rows = []
    for run_id, case in zip(cases["run_id"], cases["case"], strict=True):
        run = by_run.get(run_id)
        if run is None or not isinstance(case, dict) or _finite(case.get("now")) is None:
            continue
        values = [v for v in (case.get("values") or []) if _finite(v) is not None]
        now, baseline = float(case["now"]), _finite(case.get("baseline"))
        band = _band(case, baseline)
        rows.append(
            {
                "suite": run["suite"], "case": str(case.get("case", case.get("name", "?"))),
                "figure": str(case.get("figure", "value")), "run_id": int(run_id),
                "created_at": run["created_at"], "git_sha": run["git_sha"] or "",
                "git_dirty": bool(run["git_dirty"]) if run["git_dirty"] is not pd.NA else False,
                "tag": run["tag"], "now": now,
                "low": min(values, default=now), "high": max(values, default=now),
                "baseline": baseline, "band_low": band[0], "band_high": band[1],
                "verdict": str(case.get("verdict", "")), "change": change_text(case),
                "unit": case.get("unit") or "", "kind": case.get("kind") or "",
            }
        )  # fmt: skip
    if not rows:
        return pd.DataFrame(columns=list(POINT_COLUMNS))
    return pd.DataFrame(rows, columns=list(POINT_COLUMNS)).sort_values(
        ["created_at", "run_id"], kind="stable"
    )


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _band(case: dict[str, Any], baseline: float | None) -> tuple[float | None, float | None]:
    threshold = _finite(case.get("threshold"))
    if baseline is None or threshold is None:
        return None, None
    if relative(case):
        return baseline / (1 + threshold), baseline * (1 + threshold)
    return baseline - threshold, baseline + threshold


def history_figure(points: pd.DataFrame, title: str) -> go.Figure:
    """One figure's history (``points`` of one suite, case and figure): each run's seed mean with the seeds'
    range, the baseline it was compared with and the noise band around it, verdicts marked."""
    unit = str(points["unit"].iloc[0]) if len(points) else ""
    fig = new_figure(title, "run date", unit or "value", height=340)
    x = points["created_at"]
    hover = [
        f"run {r.run_id}{f' ({text(r.tag)})' if isinstance(r.tag, str) and r.tag else ''}<br>"
        f"code {text(str(r.git_sha)[:10])}{' + changes' if r.git_dirty else ''}<br>"
        f"now {r.now:.4g} (seeds {r.low:.4g} .. {r.high:.4g})<br>"
        f"baseline {'—' if r.baseline is None or pd.isna(r.baseline) else f'{r.baseline:.4g}'}, "
        f"change {text(r.change)}<br>verdict {text(r.verdict)}"
        for r in points.itertuples()
    ]
    banded = points.dropna(subset=["band_low", "band_high"])
    if len(banded):
        fig.add_scatter(
            x=banded["created_at"], y=banded["band_high"], mode="lines", line={"width": 0, "shape": "hv"},
            hoverinfo="skip", showlegend=False,
        )  # fmt: skip
        fig.add_scatter(
            x=banded["created_at"], y=banded["band_low"], mode="lines", fill="tonexty",
            fillcolor="rgba(120,120,120,0.18)", line={"width": 0, "shape": "hv"}, hoverinfo="skip",
            name="noise band (no verdict inside)",
        )  # fmt: skip
    if points["baseline"].notna().any():
        fig.add_scatter(
            x=x, y=points["baseline"], mode="lines", line={"color": "#555", "dash": "dash", "shape": "hv"},
            name="baseline", hoverinfo="skip",
        )  # fmt: skip
    fig.add_scatter(
        x=x, y=points["now"], mode="lines+markers", name="this run (seed mean, range)",
        line={"color": COLORS[0], "width": 2}, marker={"size": 7},
        error_y={
            "type": "data", "symmetric": False, "array": points["high"] - points["now"],
            "arrayminus": points["now"] - points["low"], "color": COLORS[0], "thickness": 1,
        },
        hovertext=hover, hovertemplate="%{hovertext}<extra></extra>",
    )  # fmt: skip
    for verdict, (color, symbol, size) in _MARKS.items():
        marked = points[points["verdict"] == verdict]
        if len(marked):
            fig.add_scatter(
                x=marked["created_at"], y=marked["now"], mode="markers", name=verdict,
                marker={"color": color, "symbol": symbol, "size": size, "line": {"width": 2, "color": color}},
                hoverinfo="skip",
            )  # fmt: skip
    return fig


def history_anchor(suite: str, case: str, figure: str) -> str:
    """The id of a figure's section on the history page (linked from each run page's rows)."""
    return "h-" + _paths.slug(f"{suite}/{case}/{figure}", max_length=60)


def render_regression_history(runs: pd.DataFrame, cases: pd.DataFrame) -> tuple[str, str]:
    """The history page: one chart per (suite, case, figure), grouped by suite and case."""
    points = history_points(runs, cases)
    sections = []
    for (suite, case), group in points.groupby(["suite", "case"], sort=True):
        charts = []
        for figure, series in group.groupby("figure", sort=False):
            anchor = history_anchor(suite, case, figure)
            title = f"{text(case)}: {figure_label(figure)}"
            charts.append({"anchor": anchor, "html": embed(history_figure(series, title), f"fig-{anchor}")})
        sections.append({"suite": suite, "case": case, "runs": group["run_id"].nunique(), "charts": charts})
    page = _paths.REGRESSION_HISTORY
    return page, render("regression_history.html.j2", page, title="Regression history", sections=sections)
