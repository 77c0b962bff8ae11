"""Regression runs as stored by ``kdbench regress``: an index of runs and a page per run, its figures in human
terms (change with its direction, the noise threshold that decided the verdict, the seeds in a chart)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from kdbench.reports import _paths
from kdbench.reports._figures import embed, text
from kdbench.reports._html import render
from kdbench.reports._regression_history import history_anchor
from kdbench.reports._regression_text import change_text, direction, figure_label, noise_text, value_text

__all__ = ["case_columns", "render_regression_index", "render_regression_page", "verdict_class"]

PREFERRED_COLUMNS = ("case", "name", "figure", "metric", "baseline", "now", "change", "verdict")
_GOOD = ("ok", "pass", "passed", "improved", "better", "same", "unchanged", "within")
_BAD = ("regression", "regressed", "fail", "failed", "worse", "error")
_VERDICT_COLORS = {"good": "#0a7d4f", "bad": "#b42318", "neutral": "#0072B2"}


def case_columns(cases: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """``(columns, nested)``: keys holding plain values become table columns, the usual ones first in a fixed
    order, then the rest as they first appear; keys holding lists or dicts (per-seed values) go to a
    per-row details cell instead of widening the table."""
    seen: dict[str, None] = {}
    nested: dict[str, None] = {}
    for case in cases:
        for key, value in case.items():
            seen[str(key)] = None
            if isinstance(value, (list, tuple, dict)):
                nested[str(key)] = None
    plain = [k for k in seen if k not in nested]
    columns = [c for c in PREFERRED_COLUMNS if c in plain] + [c for c in plain if c not in PREFERRED_COLUMNS]
    return columns, list(nested)


def verdict_class(verdict: Any) -> str:
    """A CSS class for a verdict text: ``good``, ``bad`` or ``neutral``."""
    word = str(verdict).strip().lower()
    if any(word.startswith(b) for b in _BAD):
        return "bad"
    if any(word.startswith(g) for g in _GOOD):
        return "good"
    return "neutral"


def _summary_verdict(summary: Any) -> Any:
    if isinstance(summary, dict):
        for key in ("verdict", "status", "result", "outcome"):
            if key in summary:
                return summary[key]
    return None


def render_regression_index(runs: pd.DataFrame, cases: pd.DataFrame) -> tuple[str, str]:
    """``cases``: every run's ``regression_cases()`` rows, counted per run as cases and figures."""
    names = cases.groupby("run_id")["name"].nunique() if len(cases) else pd.Series(dtype="int64")
    rows = [
        {
            **r,
            "verdict": _summary_verdict(r["summary"]),
            "verdict_class": verdict_class(_summary_verdict(r["summary"])),
            "page": _paths.regression_page(r["run_id"]),
            "n_case_names": int(names.get(r["run_id"], 0)),
        }
        for r in runs.sort_values(["created_at", "run_id"], ascending=False).to_dict("records")
    ]
    page = _paths.REGRESSIONS_INDEX
    return page, render("regressions.html.j2", page, title="Regression runs", runs=rows)


def render_regression_page(
    run: dict[str, Any], cases: pd.DataFrame, environment: dict[str, Any] | None
) -> tuple[str, str]:
    """``run``: a ``regression_runs()`` row; ``cases``: its ``regression_cases()`` rows.

    Rows in kdbench's own shape (a ``figure`` with its ``kind``) are shown in human terms with a chart of the
    seeds; anything else falls back to a generic table of whatever keys the rows hold.
    """
    case_dicts = [c if isinstance(c, dict) else {"value": c} for c in cases.sort_values("position")["case"]]
    figures = [c for c in case_dicts if "figure" in c and "kind" in c]
    others = [c for c in case_dicts if not ("figure" in c and "kind" in c)]
    columns, nested = case_columns(others)
    summary = run["summary"] if isinstance(run["summary"], dict) else {"summary": run["summary"]}
    page = _paths.regression_page(run["run_id"])
    return page, render(
        "regression.html.j2",
        page,
        title=f"Regression run {run['run_id']} ({run['suite']})",
        run=run,
        summary=_summary_facts(summary),
        verdict=_summary_verdict(summary),
        verdict_class=verdict_class(_summary_verdict(summary)),
        figures=[_human_row(run["suite"], row) for row in figures],
        chart=embed(seeds_figure(figures), "fig-seeds") if figures else None,
        columns=columns,
        nested=nested,
        cases=others,
        case_class=lambda case: verdict_class(case.get("verdict", "")),
        environment=environment or {},
    )


def _human_row(suite: str, row: dict[str, Any]) -> dict[str, Any]:
    seeds = {
        key: row[key]
        for key in ("seeds", "values", "baseline_values", "raw_unit", "raw_values", "baseline_raw_values")
        if row.get(key) is not None
    }
    return {
        "case": row.get("case", ""),
        "figure": figure_label(row["figure"]),
        "unit": row.get("unit") or "",
        "baseline": value_text(row, row.get("baseline")),
        "now": value_text(row, row.get("now")),
        "change": change_text(row),
        "direction": direction(row),
        "noise": noise_text(row),
        "p": "—" if not isinstance(row.get("p_value"), (int, float)) else f"{row['p_value']:.3g}",
        "verdict": row.get("verdict", ""),
        "verdict_class": verdict_class(row.get("verdict", "")),
        "note": row.get("note"),
        "seeds": seeds,
        "history": f"history.html#{history_anchor(suite, str(row.get('case', '')), str(row['figure']))}",
    }


def _summary_facts(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without what the page already shows in its own tables (the per-case configs stay)."""
    return {k: v for k, v in summary.items() if k not in ("format", "regressions")}


def seeds_figure(rows: list[dict[str, Any]]) -> go.Figure:
    """One small panel per figure: the baseline's seed values beside this run's, coloured by the verdict."""
    n = len(rows)
    per_row = min(4, n)
    grid = make_subplots(
        rows=math.ceil(n / per_row),
        cols=per_row,
        subplot_titles=[text(f"{r.get('case', '')}: {figure_label(r['figure'])}") for r in rows],
        horizontal_spacing=0.08,
        vertical_spacing=0.22 if n > per_row else 0.1,
    )
    for i, row in enumerate(rows):
        color = _VERDICT_COLORS.get(verdict_class(row.get("verdict", "")), "#0072B2")
        for side, key, marker in (("baseline", "baseline_values", "#888"), ("now", "values", color)):
            values = [v for v in row.get(key) or [] if isinstance(v, (int, float))]
            grid.add_scatter(
                x=[side] * len(values),
                y=values,
                mode="markers",
                marker={"color": marker, "size": 8, "opacity": 0.8},
                showlegend=False,
                hovertemplate=f"{side} %{{y:.4g}} {text(row.get('unit') or '')}<extra></extra>",
                row=i // per_row + 1,
                col=i % per_row + 1,
            )
    grid.update_annotations(font_size=11)
    grid.update_layout(
        title={"text": "Seed values: baseline beside this run", "x": 0.01},
        height=260 * math.ceil(n / per_row) + 60,
        margin={"l": 56, "r": 16, "t": 90, "b": 40},
        template="none",
        plot_bgcolor="#fff",
    )
    return grid
