"""Regression runs as stored by ``kdbench regress``: an index of runs and a page per run whose case table
takes its columns from whatever keys the cases hold."""

from __future__ import annotations

from typing import Any

import pandas as pd

from reports import _paths
from reports._html import render

__all__ = ["case_columns", "render_regression_index", "render_regression_page", "verdict_class"]

PREFERRED_COLUMNS = ("case", "name", "figure", "metric", "baseline", "now", "change", "verdict")
_GOOD = ("ok", "pass", "passed", "improved", "better", "same", "unchanged", "within")
_BAD = ("regression", "regressed", "fail", "failed", "worse", "error")


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


def render_regression_index(runs: pd.DataFrame) -> tuple[str, str]:
    rows = [
        {
            **r,
            "verdict": _summary_verdict(r["summary"]),
            "verdict_class": verdict_class(_summary_verdict(r["summary"])),
            "page": _paths.regression_page(r["run_id"]),
        }
        for r in runs.sort_values(["created_at", "run_id"], ascending=False).to_dict("records")
    ]
    page = _paths.REGRESSIONS_INDEX
    return page, render("regressions.html.j2", page, title="Regression runs", runs=rows)


def render_regression_page(
    run: dict[str, Any], cases: pd.DataFrame, environment: dict[str, Any] | None
) -> tuple[str, str]:
    """``run``: a ``regression_runs()`` row; ``cases``: its ``regression_cases()`` rows."""
    case_dicts = [c if isinstance(c, dict) else {"value": c} for c in cases.sort_values("position")["case"]]
    columns, nested = case_columns(case_dicts)
    summary = run["summary"] if isinstance(run["summary"], dict) else {"summary": run["summary"]}
    page = _paths.regression_page(run["run_id"])
    return page, render(
        "regression.html.j2",
        page,
        title=f"Regression run {run['run_id']} ({run['suite']})",
        run=run,
        summary=summary,
        verdict=_summary_verdict(summary),
        verdict_class=verdict_class(_summary_verdict(summary)),
        columns=columns,
        nested=nested,
        cases=case_dicts,
        case_class=lambda case: verdict_class(case.get("verdict", "")),
        environment=environment or {},
    )
