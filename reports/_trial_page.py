"""A trial's page: what ran (config, provenance), how it went (phases, curves) and what it costs."""

from __future__ import annotations

from typing import Any

import pandas as pd

from reports import _paths
from reports._curves import trial_curves_figure
from reports._figures import embed
from reports._format import is_missing
from reports._html import render
from reports._rerun import rerun_command

__all__ = ["cost_rows", "render_trial_page"]

_COSTS = (
    ("parameters (interaction layers)", "params", "integer"),
    ("FLOPs (multiply-adds per sample)", "flops", "integer"),
    ("latency, batch of 1", "latency_ms_b1", "ms"),
    ("latency, batch of 4096", "latency_ms_b4096", "ms"),
)


def cost_rows(trial: pd.Series) -> list[dict[str, Any]]:
    """Teacher vs student cost, with the student's share of the teacher's in percent."""
    rows = []
    for label, key, kind in _COSTS:
        teacher, student = trial[f"teacher_{key}"], trial[f"student_{key}"]
        share = None
        if not is_missing(teacher) and not is_missing(student) and float(teacher) > 0:
            share = 100 * float(student) / float(teacher)
        rows.append({"label": label, "kind": kind, "teacher": teacher, "student": student, "share": share})
    return rows


def render_trial_page(
    trial: pd.Series,
    phases: list[dict[str, Any]],
    curves: pd.DataFrame,
    environment: dict[str, Any] | None,
    dataset: dict[str, Any] | None,
    dataset_label: str,
) -> tuple[str, str]:
    """``(site path, html)`` of a trial's page: one figure, one template render (sites have thousands).

    ``phases``: the trial's ``phases()`` rows as dicts; ``curves``: its rows of ``trial_curves_data``.
    """
    page = _paths.trial_page(trial["trial_id"])
    config = trial["config"] if isinstance(trial["config"], dict) else {}
    source = None if is_missing(trial["dataset_source"]) else str(trial["dataset_source"])
    html = render(
        "trial.html.j2",
        page,
        title=f"Trial {trial['number']} of {trial['sweep']}",
        trial=trial,
        config=config,
        phases=phases,
        environment=environment or {},
        dataset=dataset or {},
        dataset_label=dataset_label,
        costs=cost_rows(trial),
        command=rerun_command(source, config),
        figure=embed(trial_curves_figure(curves), "fig-curves") if len(curves) else None,
    )
    return page, html
