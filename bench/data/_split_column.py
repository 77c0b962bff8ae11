"""A table's split read from one of its columns: each row's split named by its value (``given``), or the rows
ordered by it and cut (``time``). Both read the column block by block and refuse, naming the line, a row
that cannot be placed: a missing value, a value no split lists, a time that is neither a number nor an ISO
date/time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kdbench.bench.data._numeric import NotANumber, as_arrow, missing_to_null, to_floats
from kdbench.bench.data._schema import SPLIT_ROLES, TableSplit
from kdbench.bench.data._split import time_assignment
from kdbench.bench.errors import DatasetError, one_line

__all__ = ["SplitColumn"]

ISO_EXAMPLE = "2024-01-31 or 2024-01-31T08:15:00"


class SplitColumn:
    """Collects a split column's blocks (:meth:`add`), then gives each row's split (:meth:`assignment`).

    ``locate(row)`` names a 0-based data row's place (``FILE line N``); ``missing`` lists the schema's
    values read as missing."""

    def __init__(
        self, split: TableSplit, fmt: str, locate: Callable[[int], str], missing: Sequence[str]
    ) -> None:
        if split.column is None:
            raise ValueError("a split read from a column needs the column")
        self.split, self.fmt, self.locate, self.missing = split, fmt, locate, missing
        self.column = split.column
        self._parts: list[np.ndarray] = []
        self._mode: str | None = None  # a time column's kind, from its first value: "number" or "time"

    def add(self, column: Any, start: int) -> None:
        """The column's values for data rows ``start, start + 1, ...``."""
        arr = missing_to_null(as_arrow(column), self.missing)
        if arr.null_count:
            row = start + int(np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[0])
            what = "time" if self.split.method == "time" else "split value"
            raise DatasetError(
                f"{self.fmt}: {self.locate(row)}: split column {self.column} is empty here; every row needs "
                f"a {what} (fill it, or drop the row)"
            )
        self._parts.append(
            self._times(arr, start) if self.split.method == "time" else self._roles(arr, start)
        )

    def assignment(self) -> np.ndarray:
        """``(rows,)`` int8: 0 train, 1 valid, 2 test, in file order."""
        values = np.concatenate(self._parts) if self._parts else np.empty(0, dtype=np.int8)
        if self.split.method == "time":
            return time_assignment(values, self.split.ratios or [8, 1, 1])
        return values

    def _roles(self, arr: pa.Array, start: int) -> np.ndarray:
        text = arr if pa.types.is_string(arr.type) else pc.cast(arr, pa.string())
        codes = np.full(len(text), -1, dtype=np.int8)
        values = self.split.values or {}
        for code, role in enumerate(SPLIT_ROLES):
            listed = pc.is_in(text, value_set=pa.array(values[role], pa.string()))
            codes[listed.to_numpy(zero_copy_only=False)] = code
        bad = np.flatnonzero(codes < 0)
        if bad.size:
            listed = "; ".join(f"{role}: {', '.join(map(repr, values[role]))}" for role in SPLIT_ROLES)
            raise DatasetError(
                f"{self.fmt}: {self.locate(start + int(bad[0]))}: split column {self.column} holds "
                f"{_shown(text[int(bad[0])].as_py())}, which no split lists ({listed}); add it to one in the "
                "schema's split block"
            )
        return codes

    def _times(self, arr: pa.Array, start: int) -> np.ndarray:
        """A time column's block as sortable keys: float64 for numbers, int64 nanoseconds (UTC) for dates."""
        if pa.types.is_timestamp(arr.type) or pa.types.is_date(arr.type):
            mode, keys = "time", pc.cast(pc.cast(arr, pa.timestamp("ns")), pa.int64()).to_numpy()
        elif pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
            mode, keys = "number", to_floats(arr)
        else:
            text = pc.utf8_trim_whitespace(pc.cast(arr, pa.string()))
            mode = self._mode or ("number" if _is_number(text[0].as_py()) else "time")
            keys = self._numbers(text, start) if mode == "number" else self._dates(text, start)
        if self._mode is not None and mode != self._mode:
            raise DatasetError(
                f"{self.fmt}: {self.locate(start)}: split column {self.column} holds "
                f"{'dates' if mode == 'time' else 'numbers'} here and {self._mode}s before; a time column "
                f"holds numbers or ISO date/times ({ISO_EXAMPLE}), not both"
            )
        self._mode = mode
        if mode == "number":
            nan = np.flatnonzero(~np.isfinite(keys))
            if nan.size:
                self._not_a_time(start, int(nan[0]), arr[int(nan[0])].as_py())
        return keys

    def _numbers(self, text: pa.Array, start: int) -> np.ndarray:
        try:
            return to_floats(text)
        except NotANumber as e:
            self._not_a_time(start, e.row, e.value)
            raise  # unreachable: _not_a_time raises

    def _dates(self, text: pa.Array, start: int) -> np.ndarray:
        series = pd.Series(text.to_pylist(), dtype=object)
        parsed = pd.to_datetime(series, format="ISO8601", utc=True, errors="coerce")
        bad = np.flatnonzero(parsed.isna().to_numpy())
        if bad.size:
            self._not_a_time(start, int(bad[0]), series.iloc[int(bad[0])])
        return parsed.dt.tz_convert(None).astype("datetime64[ns]").to_numpy().view(np.int64)

    def _not_a_time(self, start: int, row: int, value: Any) -> None:
        raise DatasetError(
            f"{self.fmt}: {self.locate(start + row)}: split column {self.column} holds {_shown(value)}, not "
            f"a time: the column to order by holds numbers or ISO date/times ({ISO_EXAMPLE}) on every row"
        )


def _is_number(text: Any) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _shown(value: Any) -> str:
    return one_line(repr(value), 60)
