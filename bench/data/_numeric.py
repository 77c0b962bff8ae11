"""Numeric columns of a table: text or Arrow values to floats (naming the first bad value), quantile edges
and dense statistics from the training split, a column's tokens under its rule, and a dense column's
standardised values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kdbench.bench.data._encode import log_square

__all__ = [
    "MISSING_DENSE",
    "NotANumber",
    "as_arrow",
    "dense_stats",
    "missing_to_null",
    "numeric_tokens",
    "quantile_edges",
    "standardise",
    "to_floats",
]

# A dense field's value where the raw value is missing: its code is 0, so the field's missing vector is used
# as it is (unscaled).
MISSING_DENSE = 1.0


class NotANumber(ValueError):
    """A value of a numeric column that is not a number: ``row`` is its 0-based index in the column."""

    def __init__(self, row: int, value: Any) -> None:
        super().__init__(f"row {row}: {value!r}")
        self.row, self.value = row, value


def as_arrow(column: Any) -> pa.Array:
    """One Arrow array from an Arrow (chunked) array, a pandas array or a numpy array (NaN -> null)."""
    if not isinstance(column, pa.Array | pa.ChunkedArray):
        column = pa.array(column, from_pandas=True)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _is_text(arr: pa.Array) -> bool:
    return pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)


def missing_to_null(column: Any, missing: Sequence[str]) -> pa.Array:
    """``column`` with every text value listed in ``missing`` (surrounding spaces ignored) made null."""
    arr = as_arrow(column)
    if not missing or not _is_text(arr):
        return arr
    listed = pc.is_in(pc.utf8_trim_whitespace(arr), value_set=pa.array(list(missing), arr.type))
    return pc.if_else(listed, pa.scalar(None, arr.type), arr)


def to_floats(column: Any, missing: Sequence[str] = ()) -> np.ndarray:
    """``(rows,)`` float64, NaN where missing (null, or text listed in ``missing``). Text is parsed after
    trimming spaces; a value that is not a number raises :class:`NotANumber` naming its row."""
    arr = missing_to_null(column, missing)
    if _is_text(arr):
        arr = pc.utf8_trim_whitespace(arr)
        try:
            arr = pc.cast(arr, pa.float64())
        except pa.ArrowInvalid:
            raise NotANumber(*_first_bad(arr)) from None
    else:
        try:
            arr = pc.cast(arr, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # a list or struct column
            raise NotANumber(0, f"<{arr.type}>") from None
    return arr.to_numpy(zero_copy_only=False)


def _first_bad(arr: pa.Array) -> tuple[int, Any]:
    """The first value Arrow cannot parse as a number: a binary search over slices (error path only)."""
    lo, hi = 0, len(arr)  # [lo, hi) holds a bad value
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            pc.cast(arr.slice(lo, mid - lo), pa.float64())
            lo = mid
        except pa.ArrowInvalid:
            hi = mid
    return lo, arr[lo].as_py()


def quantile_edges(values: np.ndarray, buckets: int) -> list[float]:
    """The distinct inner quantiles (``1/K .. (K-1)/K``) of the non-missing ``values``; ties merge buckets
    (a column that is 0 in 90 % of rows keeps fewer than K). No values: no edges (one bucket)."""
    present = values[~np.isnan(values)]
    if present.size == 0:
        return []
    inner = np.quantile(present, np.arange(1, buckets) / buckets)
    return [float(e) for e in np.unique(inner)]


def dense_stats(values: np.ndarray) -> tuple[float, float]:
    """``(mean, std)`` of the non-missing ``values`` (numpy's, population std); no values: ``(0, 1)``; a
    constant column's std 0 becomes 1 (its values standardise to 0). A mean or std that is not finite
    (values near the float64 limit, whose squares overflow) raises :class:`ValueError`: no fallback would
    standardise such values to anything useful."""
    present = values[~np.isnan(values)]
    if present.size == 0:
        return 0.0, 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = float(np.mean(present)), float(np.std(present))
    if not (np.isfinite(mean) and np.isfinite(std)):
        raise ValueError(f"mean {mean!r} and std {std!r} of values up to {float(np.abs(present).max())!r}")
    return mean, std if std > 0 else 1.0


def standardise(values: np.ndarray, mean: float, std: float) -> np.ndarray:
    """A dense column's ``(rows,)`` float32 values: ``(v - mean) / std`` in float64, then rounded once;
    :data:`MISSING_DENSE` where ``v`` is NaN (missing). The cache and the serving encoder both call this, so
    a raw value scores exactly as its row trained."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # callers check: a huge value -> inf
        scaled = (values - mean) / std
        return np.where(np.isnan(values), MISSING_DENSE, scaled).astype(np.float32)


def numeric_tokens(values: np.ndarray, rule: Any, edges: Sequence[float] | None = None) -> pa.Array:
    """A numeric column's tokens under ``rule`` (quantile rules bucket by ``edges``; ``dense``: token 1 for
    every present value, its code says "present"); NaN stays missing."""
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    values = np.where(missing, 0.0, values)
    if rule == "dense":
        tokens = np.ones(len(values), dtype=np.int64)
    elif rule == "identity":
        tokens = values
    elif rule == "log_square":
        tokens = log_square(values)
    elif isinstance(rule, Mapping) and "edges" in rule:
        tokens = np.searchsorted(np.asarray(rule["edges"]), values, side="right").astype(np.int64)
    else:  # {"quantile": K}: bucket i = number of edges <= v
        tokens = np.searchsorted(np.asarray(edges or [], dtype=np.float64), values, side="right")
        tokens = tokens.astype(np.int64)
    return pa.array(tokens, mask=missing if missing.any() else None)
