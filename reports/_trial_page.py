"""A trial's page: what ran (config, provenance), how it went (phases, curves) and what it costs."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

import pandas as pd

from kdbench.reports import _paths
from kdbench.reports._baselines import missing_hint, versus_gbdt
from kdbench.reports._curves import trial_curves_figure
from kdbench.reports._figures import embed
from kdbench.reports._format import is_missing
from kdbench.reports._html import render
from kdbench.reports._rerun import rerun_command

__all__ = ["cost_rows", "export_command", "render_trial_page"]

_COSTS = (
    ("parameters (interaction layers)", "params", "integer"),
    ("FLOPs (multiply-adds per sample)", "flops", "integer"),
    ("serving latency, batch of 1", "latency_ms_b1", "ms"),
    ("serving latency, batch of 4096", "latency_ms_b4096", "ms"),
)


def cost_rows(trial: pd.Series) -> list[dict[str, Any]]:
    """Teacher vs student cost, with the student's share of the teacher's in percent. Latencies are those of
    serving (inference mode, after warm-up) on ``latency_threads`` threads, when the trial recorded it."""
    threads = trial.get("latency_threads")
    suffix = "" if is_missing(threads) else f" ({int(threads)} thread{'s' if int(threads) != 1 else ''})"
    rows = []
    for label, key, kind in _COSTS:
        label = label + suffix if kind == "ms" else label
        teacher, student = trial[f"teacher_{key}"], trial[f"student_{key}"]
        share = None
        if not is_missing(teacher) and not is_missing(student) and float(teacher) > 0:
            share = 100 * float(student) / float(teacher)
        rows.append({"label": label, "kind": kind, "teacher": teacher, "student": student, "share": share})
    return rows


def export_command(trial: pd.Series, store_url: str | None, fmt: str = "onnx") -> str:
    """The ``kdbench student export`` line that turns this trial's kept student into a serving file."""
    db = shlex.quote(store_url or "DB_URL")
    sweep = shlex.quote(str(trial["sweep"]))
    return (
        f"kdbench student export --db {db} --sweep {sweep} --trial {int(trial['number'])} "
        f"--format {fmt} --out student.{fmt if fmt == 'onnx' else 'pt'}"
    )


def _artifact(trial: pd.Series, store_url: str | None) -> dict[str, Any] | None:
    if is_missing(trial.get("artifact_path")):
        return None
    return {
        "path": trial["artifact_path"],
        "sha256": trial.get("artifact_sha256"),
        "onnx": export_command(trial, store_url),
        "torchscript": export_command(trial, store_url, "torchscript"),
    }


def render_trial_page(
    trial: pd.Series,
    phases: list[dict[str, Any]],
    curves: pd.DataFrame,
    environment: dict[str, Any] | None,
    dataset: dict[str, Any] | None,
    dataset_label: str,
    store_url: str | None = None,
    baselines: Sequence[dict[str, Any]] = (),
) -> tuple[str, str]:
    """``(site path, html)`` of a trial's page: one figure, one template render (sites have thousands).

    ``phases``: the trial's ``phases()`` rows as dicts; ``curves``: its rows of ``trial_curves_data``;
    ``store_url``: the database the site was built from (for the export and baseline commands);
    ``baselines``: its dataset's (``reports._baselines.baseline_rows``), for "vs GBDT".
    """
    page = _paths.trial_page(trial["trial_id"])
    config = trial["config"] if isinstance(trial["config"], dict) else {}
    source = None if is_missing(trial["dataset_source"]) else str(trial["dataset_source"])
    html = render(
        "trial.html.j2",
        page,
        title=f"Trial {trial['number']} of {trial['sweep']} (id {trial['trial_id']})",
        trial=trial,
        config=config,
        phases=phases,
        environment=environment or {},
        dataset=dataset or {},
        dataset_label=dataset_label,
        costs=cost_rows(trial),
        command=rerun_command(
            source,
            config,
            threads=None if is_missing(trial.get("train_threads")) else int(trial["train_threads"]),
        ),
        artifact=_artifact(trial, store_url),
        versus=versus_gbdt(trial["student_test_auc"], list(baselines)),
        baseline_hint=missing_hint(trial["dataset_fingerprint"], store_url),
        figure=embed(trial_curves_figure(curves), "fig-curves") if len(curves) else None,
    )
    return page, html
