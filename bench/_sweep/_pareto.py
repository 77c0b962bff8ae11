"""The Pareto front of a multi-objective sweep, from its completed trials."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from kdbench.bench._sweep._options import Objective

__all__ = ["pareto_front"]


def pareto_front(trials: pd.DataFrame, objectives: Sequence[Objective]) -> list[dict[str, Any]]:
    """Completed trials no other completed trial dominates, best first by the first objective.

    ``trials`` is a ``ResultStore.trials()`` frame; an objective ``student_x`` is its column of that name. A
    trial dominates another when it is at least as good on every objective and better on one. Trials with a
    missing objective value take no part. Each entry: ``{"number": int, <metric>: value, ...}``.
    """
    rows = []
    for _, row in trials[trials["status"] == "completed"].iterrows():
        values = [float(row[o.metric]) if pd.notna(row[o.metric]) else math.nan for o in objectives]
        if all(math.isfinite(v) for v in values):
            # Work in "larger is better" space so domination is one comparison.
            rows.append(
                (
                    int(row["number"]),
                    values,
                    [v if o.mode == "max" else -v for v, o in zip(values, objectives, strict=True)],
                )
            )
    front = [
        (number, values, signed)
        for number, values, signed in rows
        if not any(_dominates(other, signed) for _, _, other in rows)
    ]
    front.sort(key=lambda entry: (-entry[2][0], entry[0]))
    return [
        {"number": n, **{o.metric: v for o, v in zip(objectives, values, strict=True)}}
        for n, values, _ in front
    ]


def _dominates(a: list[float], b: list[float]) -> bool:
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(x > y for x, y in zip(a, b, strict=True))
