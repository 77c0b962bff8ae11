"""A cached split back to raw rows (``kdbench data export-split``): what ``kdbench student predict`` reads.

Each code becomes a raw value that the dataset's rules map back to the same code: a ``"token"`` field's
token itself, 0 (unknown, rare or missing) the empty cell; a numeric field (whose cache keeps bucket
tokens, not the raw numbers) a representative value of its bucket; a dense field its value un-standardised
(``value * std + mean``, which standardises back to the cached float32 value). So encoding the rows again
gives the cache's codes (and dense values) exactly, and scoring them gives the trial's test metrics.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ._rules import field_rules, is_dense

__all__ = ["LABEL_COLUMN", "split_rows"]

LABEL_COLUMN = "label"


def split_rows(dataset: Any, split: str) -> pd.DataFrame:
    """``dataset``'s split ``split`` as raw values (one column per field, as object) plus the 0/1 label."""
    part = getattr(dataset, split)
    codes = np.asarray(part.x)
    columns: dict[str, Any] = {}
    for f, (name, rule) in enumerate(zip(dataset.field_names, field_rules(dataset), strict=True)):
        if is_dense(rule):
            columns[name] = _dense_values(part, dataset.dense_fields.index(f), codes[:, f], rule["dense"])
            continue
        tokens = dataset.vocabulary(name)
        values = np.empty(len(tokens) + 1, dtype=object)
        values[0] = ""  # code 0: missing, unknown or rare -> an empty cell, which encodes to 0
        values[1:] = [_representative(t, rule) for t in tokens]
        columns[name] = values[codes[:, f]]
    label = LABEL_COLUMN if LABEL_COLUMN not in columns else f"_{LABEL_COLUMN}"
    columns[label] = np.asarray(part.y).astype(np.int8)
    return pd.DataFrame(columns)


def _dense_values(part: Any, k: int, codes: np.ndarray, stats: dict[str, float]) -> np.ndarray:
    """A dense field's raw values: ``value * std + mean`` where the code is 1, the empty cell where 0."""
    raw = np.asarray(part.dense[:, k], dtype=np.float64) * stats["std"] + stats["mean"]
    values = np.empty(len(codes), dtype=object)
    values[:] = [float(v) for v in raw]
    values[codes == 0] = ""
    return values


def _representative(token: Any, rule: Any) -> Any:
    """A raw value whose token under ``rule`` is ``token``."""
    if rule in ("token", "identity"):
        return token
    if rule == "log_square":  # v > 2 -> ceil(ln(v)^2 + 1): ln(v)^2 = t - 1.5 lands inside bucket t
        return token if token <= 2 else math.exp(math.sqrt(token - 1.5))
    edges = rule["edges"]  # bucket i = the number of edges <= v
    if not edges:
        return 0.0
    return edges[int(token) - 1] if token >= 1 else edges[0] - 1.0
