"""Regression history, as asv draws it: for every (suite, case, figure), its value over the stored runs, with
the baseline each run was compared with, that baseline's noise band, and the runs that regressed or improved
marked, and the change points of each series (``_change_points``: where its level moved across runs, which
catches a slow drift that no single verdict trips) drawn as a fitted level and listed with the runs and
commits between which each happened.

The band is what a run could move without a verdict: ``baseline ± threshold`` for quality figures
(differences), ``baseline ×/÷ (1 + threshold)`` for speed and memory (ratios, compared on the log scale).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from kdbench.reports import _paths
from kdbench.reports._change_points import detect_steps
from kdbench.reports._figures import COLORS, embed, new_figure, text
from kdbench.reports._html import render
from kdbench.reports._regression_text import change_text, direction, figure_label, relative

__all__ = [
    "POINT_COLUMNS",
    "STEP_COLUMNS",
    "history_anchor",
    "history_figure",
    "history_points",
    "history_steps",
    "regression_change_points",
    "render_regression_history",
]

POINT_COLUMNS = (
    "suite", "case", "figure", "run_id", "created_at", "git_sha", "git_dirty", "tag", "now", "low", "high",
    "baseline", "band_low", "band_high", "verdict", "change", "unit", "kind", "higher_is_better",
)  # fmt: skip
STEP_COLUMNS = (
    "suite", "case", "figure", "unit", "kind", "run_before", "run_after", "git_sha_before", "git_sha_after",
    "created_at", "before", "after", "change", "direction", "runs",
)  # fmt: skip
# The noise floor of the change points (see ``_change_points``): a tenth of a verdict's minimum effect.
_STEP_FLOOR = {"quality": 1e-4, "relative": 0.02}
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
                "higher_is_better": case.get("higher_is_better"),
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


def history_steps(points: pd.DataFrame) -> pd.DataFrame:
    """The change points of every (suite, case, figure) series in ``points`` (:func:`history_points`), one row
    each (:data:`STEP_COLUMNS`): the runs and commits it happened between, the fitted level before and after,
    the change (``+0.0050`` or ``-12.0 %``) and whether it is better or worse."""
    rows = []
    for (suite, case, figure), series in points.groupby(["suite", "case", "figure"], sort=True):
        rows += _series_steps(str(suite), str(case), str(figure), series)
    return pd.DataFrame(rows, columns=list(STEP_COLUMNS))


def regression_change_points(store: Any, suite: str | None = None) -> pd.DataFrame:
    """:func:`history_steps` of the regression runs in ``store`` (a ``ResultStore``), of one ``suite`` or
    all; read-only. What ``kdbench regress history`` lists."""
    runs, cases = store.regression_runs(), store.regression_cases()
    if suite is not None:
        runs = runs[runs["suite"] == suite]
    return history_steps(history_points(runs, cases))


def _series_steps(suite: str, case: str, figure: str, series: pd.DataFrame) -> list[dict[str, Any]]:
    runs = series.to_dict("records")
    ratio = relative(runs[0])
    values = [r["now"] for r in runs]
    if ratio and min(values) <= 0:
        return []  # a ratio of 0 measured nothing: no level to fit on the log scale
    floor = _STEP_FLOOR["relative" if ratio else "quality"]
    out = []
    for step in detect_steps(values, floor=floor, log_scale=ratio):
        before, after = runs[step.index - 1], runs[step.index]
        change = step.after / step.before - 1 if ratio else step.after - step.before
        row = {"kind": before["kind"], "higher_is_better": before["higher_is_better"], "change": change}
        out.append({
            "suite": suite, "case": case, "figure": figure, "unit": before["unit"], "kind": before["kind"],
            "run_before": int(before["run_id"]), "run_after": int(after["run_id"]),
            "git_sha_before": before["git_sha"], "git_sha_after": after["git_sha"],
            "created_at": after["created_at"], "before": step.before, "after": step.after,
            "change": change_text(row), "direction": direction(row), "runs": len(runs),
        })  # fmt: skip
    return out


def history_figure(points: pd.DataFrame, title: str, steps: pd.DataFrame | None = None) -> go.Figure:
    """One figure's history (``points`` of one suite, case and figure): each run's seed mean with the seeds'
    range, the baseline it was compared with and the noise band around it, verdicts marked; with ``steps``
    (its rows of :func:`history_steps`), the fitted level and a diamond on each change point's first run."""
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
    _draw_steps(fig, points, steps)
    for verdict, (color, symbol, size) in _MARKS.items():
        marked = points[points["verdict"] == verdict]
        if len(marked):
            fig.add_scatter(
                x=marked["created_at"], y=marked["now"], mode="markers", name=verdict,
                marker={"color": color, "symbol": symbol, "size": size, "line": {"width": 2, "color": color}},
                hoverinfo="skip",
            )  # fmt: skip
    return fig


def _draw_steps(fig: go.Figure, points: pd.DataFrame, steps: pd.DataFrame | None) -> None:
    if steps is None or steps.empty:
        return
    runs = points["run_id"].tolist()
    cuts = [0, *(runs.index(r) for r in steps["run_after"]), len(runs)]
    levels = [*steps["before"], steps["after"].iloc[-1]]
    fitted = [level for i, level in enumerate(levels) for _ in range(cuts[i + 1] - cuts[i])]
    fig.add_scatter(
        x=points["created_at"], y=fitted, mode="lines", name="fitted level (change points)",
        line={"color": "#7a3e9d", "width": 2, "shape": "hv"}, hoverinfo="skip",
    )  # fmt: skip
    hover = [
        f"change point: {text(s.change)} ({text(s.direction)})<br>level {s.before:.4g} → {s.after:.4g}<br>"
        f"between run {s.run_before} ({text(str(s.git_sha_before)[:10])}) and run {s.run_after} "
        f"({text(str(s.git_sha_after)[:10])})"
        for s in steps.itertuples()
    ]
    fig.add_scatter(
        x=steps["created_at"], y=steps["after"], mode="markers", name="change point",
        marker={"color": "#7a3e9d", "symbol": "diamond", "size": 12}, hovertext=hover,
        hovertemplate="%{hovertext}<extra></extra>",
    )  # fmt: skip


def history_anchor(suite: str, case: str, figure: str) -> str:
    """The id of a figure's section on the history page (linked from each run page's rows)."""
    return "h-" + _paths.slug(f"{suite}/{case}/{figure}", max_length=60)


def render_regression_history(runs: pd.DataFrame, cases: pd.DataFrame) -> tuple[str, str]:
    """The history page: one chart per (suite, case, figure), grouped by suite and case, each section
    listing its change points."""
    points = history_points(runs, cases)
    steps = history_steps(points)
    sections = []
    for (suite, case), group in points.groupby(["suite", "case"], sort=True):
        charts = []
        own = steps[(steps["suite"] == suite) & (steps["case"] == case)]
        for figure, series in group.groupby("figure", sort=False):
            anchor = history_anchor(suite, case, figure)
            title = f"{text(case)}: {figure_label(figure)}"
            figure_steps = own[own["figure"] == figure]
            chart = history_figure(series, title, figure_steps)
            charts.append({"anchor": anchor, "html": embed(chart, f"fig-{anchor}")})
        listed = [
            {**s, "label": figure_label(s["figure"]), "anchor": history_anchor(suite, case, s["figure"]),
             "sha_before": str(s["git_sha_before"])[:10], "sha_after": str(s["git_sha_after"])[:10],
             "before_text": f"{s['before']:.4g}", "after_text": f"{s['after']:.4g}"}
            for s in own.to_dict("records")
        ]  # fmt: skip
        runs_shown = group["run_id"].nunique()
        sections.append({"suite": suite, "case": case, "runs": runs_shown, "charts": charts, "steps": listed})
    page = _paths.REGRESSION_HISTORY
    return page, render("regression_history.html.j2", page, title="Regression history", sections=sections)
