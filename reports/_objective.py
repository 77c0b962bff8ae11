"""Which trial column a sweep optimised, and in which direction (from the sweep's stored objectives)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_OBJECTIVE", "Objective", "best_so_far", "metric_label", "objective_of"]


class Objective(NamedTuple):
    metric: str  # a trials() column
    maximize: bool

    @property
    def label(self) -> str:
        return metric_label(self.metric)

    def better(self, values: pd.Series) -> pd.Series:
        """Values oriented so that larger is better (for sorting and best-so-far)."""
        return values if self.maximize else -values


_WORDS = {
    "valid": "validation",
    "auc": "AUC",
    "logloss": "log loss",
    "ms": "(ms)",
    "b1": "batch 1",
    "b4096": "batch 4096",
    "flops": "FLOPs",
    "params": "parameters",
    "wall": "wall",
    "seconds": "(s)",
}


def metric_label(metric: str) -> str:
    """A trials() column in words: ``student_valid_auc`` -> ``student validation AUC``."""
    return " ".join(_WORDS.get(word, word) for word in metric.split("_"))


DEFAULT_OBJECTIVE = Objective("student_valid_auc", True)  # what a sweep optimises unless it says otherwise


def objective_of(objectives: Any, columns: Sequence[str]) -> Objective:
    """The first stored objective (``{"metric": ..., "direction": "maximize"|"minimize"}``; ``name`` and
    ``mode: max|min`` are read too) if it names a trial column, else :data:`DEFAULT_OBJECTIVE`."""
    first = objectives[0] if isinstance(objectives, list) and objectives else None
    if not isinstance(first, dict):
        return DEFAULT_OBJECTIVE
    metric = first.get("metric", first.get("name"))
    if metric not in columns:
        return DEFAULT_OBJECTIVE
    direction = str(first.get("direction", first.get("mode", "maximize"))).lower()
    return Objective(str(metric), not direction.startswith("min"))


def best_so_far(values: pd.Series, maximize: bool) -> np.ndarray:
    """Running best of ``values`` in their order (NaN values never improve the best)."""
    array = values.to_numpy(dtype=float, na_value=np.nan)
    oriented = np.where(np.isnan(array), -np.inf, array if maximize else -array)
    running = np.maximum.accumulate(oriented) if len(array) else oriented
    best = running if maximize else -running
    return np.where(np.isinf(best), np.nan, best)
