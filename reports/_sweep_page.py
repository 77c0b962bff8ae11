"""A sweep's page: how the search went, what mattered, what it costs, and what went wrong."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from kdbench.reports import _paths
from kdbench.reports._baselines import between
from kdbench.reports._curves import sweep_curves_figure, top_trials
from kdbench.reports._figures import embed
from kdbench.reports._format import is_missing
from kdbench.reports._history import history_data, history_figure
from kdbench.reports._html import render
from kdbench.reports._importance import importance_data, importance_figure
from kdbench.reports._objective import objective_of
from kdbench.reports._params import parallel_data, parallel_figure, param_text, searched_params
from kdbench.reports._pareto import COSTS, pareto_baselines, pareto_data, pareto_figure
from kdbench.reports._problems import problem_trials
from kdbench.reports._reference import (
    default_reference,
    reference_line,
    reference_note,
    warm_start_of,
    warm_start_trial,
)
from kdbench.reports._teacher_student import teacher_student_data, teacher_student_figure

__all__ = ["TOP_TRIALS", "render_sweep_page", "sweep_trial_rows"]

TOP_TRIALS = 5  # learning curves drawn on a sweep page


def sweep_trial_rows(
    trials: pd.DataFrame, metric: str, keys: list[str], baselines: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """The sweep's trials table: one dict per trial (``kind`` ``"student"``), searched parameters as text.

    In trial order; with ``baselines`` (``reports._baselines.baseline_rows`` of the sweep's dataset) ranked
    by student test AUC instead (trials without one last, in trial order), each baseline (``kind``
    ``"baseline"``) after the trials whose test AUC is at least its own.
    """
    rows = []
    for _, t in trials.sort_values("number").iterrows():
        rows.append(
            {
                "kind": "student",
                "trial_id": int(t["trial_id"]),
                "number": int(t["number"]),
                "status": t["status"],
                "objective": t[metric],
                "student_auc": t["student_test_auc"],
                "student_logloss": t["student_test_logloss"],
                "teacher_auc": t["teacher_test_auc"],
                "flops_pct": _pct(t["student_flops"], t["teacher_flops"]),
                "latency_ms_b1": t["student_latency_ms_b1"],
                "wall_seconds": t["wall_seconds"],
                "params": [_shown(t.get(f"param_{k}")) for k in keys],
            }
        )
    if not baselines:
        return rows
    rows.sort(key=lambda r: -float(r["student_auc"]) if not is_missing(r["student_auc"]) else math.inf)
    aucs = [r["student_auc"] for r in rows]
    placed = [(between(aucs, b["test_auc"]) - 0.5 + 0.01 * k, _baseline_row(b, metric, keys))
              for k, b in enumerate(baselines)]  # fmt: skip
    ranked = [(float(i), r) for i, r in enumerate(rows)] + placed
    return [r for _, r in sorted(ranked, key=lambda pair: pair[0])]


# A sweep objective's column -> the baselines' figure of the same kind.
_BASELINE_METRICS = {
    "student_test_auc": "test_auc",
    "student_valid_auc": "valid_auc",
    "student_test_logloss": "test_logloss",
    "student_valid_logloss": "valid_logloss",
    "student_latency_ms_b1": "latency_ms_b1",
    "student_latency_ms_b4096": "latency_ms_b4096",
}


def _baseline_row(b: dict[str, Any], metric: str, keys: list[str]) -> dict[str, Any]:
    column = _BASELINE_METRICS.get(metric)
    return {
        "kind": "baseline", "label": b["label"], "chosen": b["chosen"], "trial_id": None, "number": None,
        "status": None, "objective": b[column] if column else None, "student_auc": b["test_auc"],
        "student_logloss": b["test_logloss"], "teacher_auc": None, "flops_pct": None,
        "latency_ms_b1": b["latency_ms_b1"], "wall_seconds": b["fit_seconds"], "params": ["" for _ in keys],
    }  # fmt: skip


def _shown(value: Any) -> str:
    """A parameter value for the table: floats at four significant digits (0.0412, 1.1e+03), not 17."""
    if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
        return f"{value:.4g}"
    return param_text(value)


def _pct(part: Any, whole: Any) -> float | None:
    try:
        return 100 * float(part) / float(whole) if float(whole) > 0 else None
    except (TypeError, ValueError):
        return None


def render_sweep_page(
    sweep: pd.Series,
    detail: dict[str, Any],
    trials: pd.DataFrame,
    epochs: pd.DataFrame,
    dataset_label: str,
    baselines: Sequence[dict[str, Any]] = (),
) -> tuple[str, str]:
    """``(site path, html)`` of the page of ``sweep`` (a ``sweeps()`` row) from its trials and epochs;
    ``baselines``: its dataset's (``reports._baselines.baseline_rows``), shown in the trials table and on
    the latency Pareto plot."""
    page = _paths.sweep_page(sweep["sweep"])
    objective = objective_of(sweep["objectives"], list(trials.columns))
    history = history_data(trials, objective)
    scored = trials[(trials["status"] == "completed") & trials[objective.metric].notna()]
    top = top_trials(scored, objective.metric, objective.maximize, TOP_TRIALS)
    labels = {
        trial_id: f"trial {int(n)}: {objective.label} {float(v):.4f}"
        for trial_id, n, v in scored.set_index("trial_id").loc[top, ["number", objective.metric]].itertuples()
    }
    importance = importance_data(trials, objective)
    settings = sweep.get("settings")
    line = reference_line(default_reference(settings, trials), trials, objective)
    latency = COSTS["latency"]
    figures = {
        "history_number": history_figure({sweep["sweep"]: history}, objective, by="number", reference=line),
        "history_time": history_figure({sweep["sweep"]: history}, objective, by="elapsed_s", reference=line),
        "parallel": parallel_figure(parallel_data(trials, objective), objective),
        "importance": importance_figure(importance, objective),
        "pareto_flops": pareto_figure(pareto_data(trials, COSTS["flops"]), COSTS["flops"]),
        "pareto_latency": pareto_figure(
            pareto_data(trials, latency), latency, pareto_baselines(baselines, latency)
        ),
        "teacher_student": teacher_student_figure(teacher_student_data(trials)),
        "curves": sweep_curves_figure(epochs, labels),
    }
    keys = searched_params(trials[trials["status"] != "failed"]) if len(trials) > 1 else []
    html = render(
        "sweep.html.j2",
        page,
        title=f"Sweep {sweep['sweep']}",
        sweep=sweep,
        detail=detail,
        dataset_label=dataset_label,
        objective=objective,
        importance=importance,
        figures={name: embed(fig, f"fig-{name}") for name, fig in figures.items()},
        param_keys=keys,
        trial_rows=sweep_trial_rows(trials, objective.metric, keys, baselines),
        has_baselines=bool(baselines),
        problems=problem_trials(trials, epochs).to_dict("records"),
        best=history["best"].iloc[-1] if len(history) else None,
        has_results=len(history) > 0,
        warm_start=warm_start_of(settings),
        default_trial=warm_start_trial(settings, trials),
        default_note=reference_note(settings, trials),
    )
    return page, html
