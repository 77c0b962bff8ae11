"""Numeric columns of a table: text or Arrow values to floats (naming the first bad value), quantile edges
from the training split, and a column's tokens under its rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kdbench.bench.data._encode import log_square

__all__ = ["NotANumber", "as_arrow", "missing_to_null", "numeric_tokens", "quantile_edges", "to_floats"]


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


def numeric_tokens(values: np.ndarray, rule: Any, edges: Sequence[float] | None = None) -> pa.Array:
    """A numeric column's tokens under ``rule`` (quantile rules bucket by ``edges``); NaN stays missing."""
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    values = np.where(missing, 0.0, values)
    if rule == "identity":
        tokens = values
    elif rule == "log_square":
        tokens = log_square(values)
    elif isinstance(rule, Mapping) and "edges" in rule:
        tokens = np.searchsorted(np.asarray(rule["edges"]), values, side="right").astype(np.int64)
    else:  # {"quantile": K}: bucket i = number of edges <= v
        tokens = np.searchsorted(np.asarray(edges or [], dtype=np.float64), values, side="right")
        tokens = tokens.astype(np.int64)
    return pa.array(tokens, mask=missing if missing.any() else None)
