"""Avazu CTR (``train.csv``: ``id,click,hour,C1,banner_pos,...,C21``), the paper's protocol.

- ``id`` is dropped, ``click`` is the label (0/1).
- ``hour`` (YYMMDDHH, 20YY) becomes two fields: weekday (Monday = 0) and hour of day.
- Every other column is a categorical token; tokens seen fewer than 5 times (whole file) map to 0, on every
  field including weekday and hour, as in the reference code. Empty = missing → 0. 23 fields.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from kdbench.bench.data._arrow_csv import label_values, stream_delimited
from kdbench.bench.data._encode import Chunk, binary_labels
from kdbench.bench.data._io import file_identity, first_text_line, require_file
from kdbench.bench.data._source import Recipe, Source
from kdbench.bench.errors import DatasetError, shorten

__all__ = ["AVAZU_COLUMNS", "AVAZU_RECIPE", "FIELDS", "open_avazu"]

AVAZU_COLUMNS = [
    "id", "click", "hour", "C1", "banner_pos", "site_id", "site_domain", "site_category", "app_id",
    "app_domain", "app_category", "device_id", "device_ip", "device_model", "device_type", "device_conn_type",
    "C14", "C15", "C16", "C17", "C18", "C19", "C20", "C21",
]  # fmt: skip
_CATEGORICAL = AVAZU_COLUMNS[3:]
FIELDS = ["weekday", "hour", *_CATEGORICAL]
MIN_COUNT = 5
_HINT = f"Avazu's train.csv has a header line {','.join(AVAZU_COLUMNS[:4])},...,C21 (24 columns)"
PROTOCOL = {
    "format": "avazu train.csv (comma-separated, header)",
    "drop": ["id"],
    "label": "click, 0/1",
    "hour": "YYMMDDHH -> weekday (Monday = 0) and hour",
    "min_count": MIN_COUNT,
    "rare": "count < min_count -> 0 (every field)",
    "missing": "empty -> 0",
    "counted_on": "whole file",
}
AVAZU_RECIPE = Recipe(
    "avazu",
    {
        "teacher": "cin",
        "t_cin": [200, 200, 200],
        "interaction": "inner",
        "lr": 1e-4,
        "weight_decay": 1e-5,
        "max_epochs": 20,
        "patience": 2,
    },
    "The paper's Avazu settings (CIN [200, 200, 200] teacher, inner DAGFM student, lr 1e-4, weight decay "
    "1e-5). An epoch over Avazu's 40 million rows is long and its best comes early, so patience 2, "
    "max_epochs 20 (not measured on the full set here).",
)


def open_avazu(path: str | os.PathLike[str] | None, schema: Any, home: Path) -> Source:
    if schema is not None:
        raise DatasetError("the avazu source takes no --schema (its protocol is fixed); use the csv source")
    file = require_file(path, "avazu", _HINT)
    return Source(
        source="avazu",
        name="avazu",
        field_names=FIELDS,
        min_counts=[MIN_COUNT] * len(FIELDS),
        protocol=PROTOCOL,
        identity={"data": file_identity(file)},
        read=lambda bar, digests: _read(file, bar, digests),
    )


def _check_header(file: Path) -> None:
    names = [n.strip() for n in first_text_line(file, "avazu", _HINT).split(",")]
    if names == AVAZU_COLUMNS:
        return
    if "click" not in names and names[:1] == ["id"]:
        raise DatasetError(f"avazu: {file} has no click column (Avazu's test.csv?); pass train.csv")
    shown = ",".join(names[:5]) + (",..." if len(names) > 5 else "")
    shown = shorten(shown, 80)
    raise DatasetError(f"avazu: {file} starts with {shown!r} ({len(names)} columns), not Avazu's; {_HINT}")


_ENCODED = pa.dictionary(pa.int32(), pa.string())  # dictionary-encoded by Arrow's parser, in its threads


def _read(file: Path, bar: Any, digests: dict[str, str]) -> Iterator[Chunk]:
    _check_header(file)
    pieces = stream_delimited(
        file,
        what="avazu",
        hint=_HINT,
        bar=bar,
        digests=digests,
        sep=",",
        names=AVAZU_COLUMNS,
        types={"click": pa.string(), "hour": pa.int64(), **dict.fromkeys(_CATEGORICAL, _ENCODED)},
        header_lines=1,
        include=AVAZU_COLUMNS[1:],
    )
    rows = 0
    for _, table in pieces:
        where = f"avazu: {file} rows {rows + 1:,}-{rows + table.num_rows:,}"
        labels = binary_labels(_labels(table["click"], where), where)
        if table["hour"].null_count:
            raise DatasetError(f"{where}: {table['hour'].null_count} row(s) have no hour (YYMMDDHH)")
        weekday, hour = weekday_hour(table["hour"].to_numpy(), where)
        columns = [weekday, hour] + [table[name] for name in _CATEGORICAL]
        rows += table.num_rows
        yield Chunk(labels, columns)


def _labels(column: pa.ChunkedArray, where: str) -> np.ndarray:
    try:
        return label_values(column)
    except ValueError as e:
        raise DatasetError(f"{where}: {e}; the label must be 0 or 1") from e


def weekday_hour(value: np.ndarray, where: str) -> tuple[pa.Array, pa.Array]:
    """YYMMDDHH integers (year 20YY) -> (weekday with Monday = 0, hour of day), both int8 arrays."""
    value = np.asarray(value, dtype=np.int64)
    yy, mm, dd, hh = value // 1_000_000, value // 10_000 % 100, value // 100 % 100, value % 100
    bad = (value < 0) | (yy > 99) | (mm < 1) | (mm > 12) | (dd < 1) | (dd > 31) | (hh > 23)
    if bad.any():
        raise DatasetError(f"{where}: hour {int(value[bad][0])} is not a YYMMDDHH timestamp")
    months = (2000 + yy - 1970) * 12 + (mm - 1)
    days = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + (dd - 1)
    return pa.array(((days + 3) % 7).astype(np.int8)), pa.array(hh.astype(np.int8))
