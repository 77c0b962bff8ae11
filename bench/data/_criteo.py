"""Criteo Display Advertising Challenge files (``label \\t I1..I13 \\t C1..C26``), the paper's protocol.

- Integers I1–I13: ``v > 2`` becomes ``ceil(ln(v)² + 1)`` (the paper's rule, docs/model.md, and the
  reference code's; not the ``floor(ln(v)²)`` of many other pipelines), other values (0, 1, 2,
  negatives) are kept; every distinct result is a token (no frequency threshold on integer fields, as in
  the reference).
- Categoricals C1–C26 (hex strings): tokens seen fewer than 8 times map to 0.
- Empty = missing → 0. Tokens are counted on the whole file (all splits), as the reference's preprocessing
  does before its split.
- The file may be plain, .gz or .bz2; a header line starting with ``label`` is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kdbench.bench.data._arrow_csv import label_values, stream_delimited
from kdbench.bench.data._encode import Chunk, binary_labels, log_square
from kdbench.bench.data._io import file_identity, first_line, require_file
from kdbench.bench.data._source import Recipe, Source
from kdbench.bench.errors import DatasetError

__all__ = ["CATEGORICAL_FIELDS", "CRITEO_RECIPE", "INTEGER_FIELDS", "open_criteo"]

INTEGER_FIELDS = [f"I{i}" for i in range(1, 14)]
CATEGORICAL_FIELDS = [f"C{i}" for i in range(1, 27)]
CATEGORICAL_MIN_COUNT = 8
_COLUMNS = ["label", *INTEGER_FIELDS, *CATEGORICAL_FIELDS]
_TYPES = {
    "label": pa.string(),  # read as pandas did: numbers or true/false; missing -> NaN (binary_labels)
    **dict.fromkeys(INTEGER_FIELDS, pa.float64()),  # so "1.0" reads, and buckets as 1 does
    # dictionary-encoded by Arrow's parser, in its threads: the encoder takes the codes as they are
    **dict.fromkeys(CATEGORICAL_FIELDS, pa.dictionary(pa.int32(), pa.string())),
}
_HINT = (
    "a Criteo file has 40 tab-separated columns per row (label, I1..I13, C1..C26); "
    "for other tables use the csv source with a schema"
)

PROTOCOL = {
    "format": "criteo display advertising challenge (tab-separated, no header)",
    "label": "column 1, 0/1",
    "integer_fields": {
        "fields": "I1..I13",
        "rule": "v > 2 -> ceil(ln(v)^2 + 1), others kept",
        "min_count": 1,
    },
    "categorical_fields": {"fields": "C1..C26", "min_count": CATEGORICAL_MIN_COUNT},
    "missing": "empty -> 0",
    "rare": "count < min_count -> 0",
    "counted_on": "whole file",
}
CRITEO_RECIPE = Recipe(
    "criteo",
    {
        "teacher": "crossnet",
        "t_depth": 3,
        "interaction": "outer",
        "lr": 1e-4,
        "weight_decay": 1e-5,
        "max_epochs": 20,
        "patience": 2,
    },
    "The paper's Criteo settings (CrossNet teacher, outer DAGFM student, lr 1e-4, weight decay 1e-5). "
    "An epoch over Criteo's 45 million rows is long and its best comes early: with patience 10 a "
    "Criteo-format run spent 1,994 of 2,383 s on epochs after the best, so patience 2, max_epochs 20 "
    "(not measured on the full set here).",
)


def open_criteo(path: str | os.PathLike[str] | None, schema: Any, home: Path) -> Source:
    if schema is not None:
        raise DatasetError("the criteo source takes no --schema (its protocol is fixed); use the csv source")
    file = require_file(path, "criteo", _HINT)
    return Source(
        source="criteo",
        name="criteo",
        field_names=INTEGER_FIELDS + CATEGORICAL_FIELDS,
        min_counts=[1] * len(INTEGER_FIELDS) + [CATEGORICAL_MIN_COUNT] * len(CATEGORICAL_FIELDS),
        protocol=PROTOCOL,
        identity={"data": file_identity(file)},
        read=lambda bar, digests: _read(file, bar, digests),
    )


def _read(file: Path, bar: Any, digests: dict[str, str]) -> Iterator[Chunk]:
    first = first_line(file, "criteo")
    found = first.count(b"\t") + 1
    if found != len(_COLUMNS):
        raise DatasetError(
            f"criteo: {file} line 1 has {found} tab-separated column(s), expected {len(_COLUMNS)}: "
            f"not the Criteo format ({_HINT})"
        )
    header = int(first.split(b"\t", 1)[0].strip().lower() == b"label")
    pieces = stream_delimited(
        file,
        what="criteo",
        hint=_HINT,
        bar=bar,
        digests=digests,
        sep="\t",
        names=_COLUMNS,
        types=_TYPES,
        header_lines=header,
    )
    rows = 0
    for _, table in pieces:
        where = f"criteo: {file} rows {rows + 1:,}-{rows + table.num_rows:,}"
        labels = binary_labels(_labels(table["label"], where), where)
        columns = [integer_tokens(table[name]) for name in INTEGER_FIELDS]
        columns += [table[name] for name in CATEGORICAL_FIELDS]
        rows += table.num_rows
        yield Chunk(labels, columns)


def _labels(column: pa.ChunkedArray, where: str) -> np.ndarray:
    try:
        return label_values(column)
    except ValueError as e:
        raise DatasetError(f"{where}: {e}; the label must be 0 or 1") from e


def integer_tokens(values: pa.ChunkedArray | pa.Array | np.ndarray) -> pa.Array:
    """A numeric column's tokens under log-square bucketing (int64); missing (null or NaN) stays null.

    The bucketing runs on the column's distinct values only (an Arrow dictionary: a few hundred per chunk),
    so the result is a dictionary array whose dictionary may repeat a token (values sharing a bucket); the
    encoder counts and numbers tokens, not dictionary slots.
    """
    column = pa.chunked_array([values]) if isinstance(values, (np.ndarray, pa.Array)) else values
    column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if pa.types.is_floating(column.type):
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
    encoded = pc.dictionary_encode(column)
    tokens = log_square(encoded.dictionary.to_numpy(zero_copy_only=False)).astype(np.int64)
    return pa.DictionaryArray.from_arrays(encoded.indices, pa.array(tokens))
