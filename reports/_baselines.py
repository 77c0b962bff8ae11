"""Baselines on the site: the plain models (LR, GBDT) that a dataset's students are ranked against.

A baseline row is a model fitted on the same split as the students (``kdbench baseline``, stored per dataset
fingerprint). In a table ranked by student test AUC it sits where its own test AUC puts it, so a student
below GBDT's row does worse than gradient boosting on the same test set. Reports only read them.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from kdbench.reports._format import is_missing

__all__ = ["LABELS", "baseline_rows", "between", "missing_hint", "versus_gbdt"]

LABELS = {"lr": "LR", "gbdt": "GBDT"}
_ORDER = ("gbdt", "lr")  # GBDT is the reference a student is held against


def baseline_rows(baselines: pd.DataFrame, fingerprint: Any) -> list[dict[str, Any]]:
    """``fingerprint``'s baselines (rows of ``ResultStore.baselines()``) as dicts, best test AUC first: the
    store's columns plus ``label`` (``"GBDT baseline"``) and ``chosen`` (its hyperparameters in words)."""
    if baselines is None or baselines.empty or is_missing(fingerprint):
        return []
    mine = baselines[baselines["dataset_fingerprint"] == fingerprint]
    rows = []
    for row in mine.to_dict("records"):
        model = str(row["model"])
        label = f"{LABELS.get(model, model)} baseline"
        rows.append({**row, "label": label, "chosen": _chosen(model, row["params"])})
    return sorted(
        rows, key=lambda r: (-_auc(r["test_auc"]), _ORDER.index(r["model"]) if r["model"] in _ORDER else 9)
    )


def between(student_aucs: list[Any], auc: Any) -> int:
    """How many of ``student_aucs`` (ranked best first) are at least ``auc``: the baseline row goes after
    them. A baseline without an AUC goes last."""
    if is_missing(auc):
        return len(student_aucs)
    return sum(1 for value in student_aucs if not is_missing(value) and float(value) >= float(auc))


def versus_gbdt(student_auc: Any, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The student's test AUC against the baselines of its dataset: ``delta`` (minus GBDT's), ``gbdt``,
    ``lr`` (their test AUCs, None when absent), ``lr_delta``; None when there is no GBDT baseline or no
    student AUC."""
    by_model = {r["model"]: r for r in rows}
    gbdt = by_model.get("gbdt")
    if gbdt is None or is_missing(student_auc) or is_missing(gbdt["test_auc"]):
        return None
    lr = by_model.get("lr")
    lr_auc = None if lr is None or is_missing(lr["test_auc"]) else float(lr["test_auc"])
    return {
        "delta": float(student_auc) - float(gbdt["test_auc"]),
        "gbdt": float(gbdt["test_auc"]),
        "lr": lr_auc,
        "lr_delta": None if lr_auc is None else float(student_auc) - lr_auc,
    }


def missing_hint(fingerprint: Any, store_url: str | None) -> str:
    """The command that adds a dataset's baselines to the database the site was built from."""
    return f"kdbench baseline --dataset {fingerprint} --db {store_url or 'DB_URL'}"


def _auc(value: Any) -> float:
    return -math.inf if is_missing(value) else float(value)


def _chosen(model: str, params: Any) -> str:
    params = params if isinstance(params, dict) else {}
    if model == "lr":
        return f"C {params['C']:g}" if isinstance(params.get("C"), (int, float)) else ""
    parts = [f"{params['iterations']} trees"] if isinstance(params.get("iterations"), int) else []
    capped = params.get("capped_fields")
    if isinstance(capped, dict) and capped:
        parts.append(f"{len(capped)} field{'s' if len(capped) != 1 else ''} capped to 255 categories")
    return " · ".join(parts)
