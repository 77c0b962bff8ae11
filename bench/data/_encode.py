"""Per-field vocabularies built in one streaming pass: count tokens per chunk, then remap.

Every chunk's column is dictionary-encoded (Arrow hashing, no per-row Python): the chunk's distinct tokens
and their counts are kept, and the rows become chunk-local codes. After the last chunk the distinct tokens of
all chunks are merged once, totals are summed, tokens below the field's ``min_count`` are dropped, and the
survivors are numbered ``1..V`` in sorted token order (independent of chunking and file order). Index 0 is
unknown / rare / missing. :meth:`FieldVocab.table` then turns a chunk's local codes into final codes with one
gather.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kdbench.bench.errors import DatasetError

__all__ = ["Chunk", "FieldVocab", "binary_labels", "log_square"]


@dataclass(frozen=True)
class Chunk:
    """Rows of a source, ready to encode: ``labels`` (rows,) int8 0/1 and one Arrow array per field.

    A field's array may hold strings or numbers, plain or dictionary-encoded; nulls are missing values.
    ``dense``: for a source with dense fields, ``{field index: (rows,) float32 values}`` (the same fields in
    every chunk); the field's own column then holds its codes' tokens (present / missing).
    ``split``: for a source whose split comes with the data (given, time-ordered), ``(rows,)`` int8 0 train /
    1 valid / 2 test (every chunk has one, or none does); its vocabularies count the training rows only.
    """

    labels: np.ndarray
    columns: list[pa.Array]
    dense: dict[int, np.ndarray] | None = None
    split: np.ndarray | None = None


def log_square(values: np.ndarray) -> np.ndarray:
    """The paper's integer discretisation: ``v > 2`` becomes ``ceil(ln(v)² + 1)``, other values stay.

    This is the paper's rule (docs/model.md) and the reference code's (``trans_int_feat`` in
    ``criteo_parse.py``); many other Criteo pipelines use ``floor(ln(v)²)`` instead, which maps v = 3 onto 1
    and so mixes bucketed values with kept ones. Here buckets start at 3 (v = 3 → 3) and never collide with
    the kept values ``≤ 2``. Integer input gives int64, float input float64.
    """
    values = np.asarray(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.log(values.astype(np.float64, copy=False))
        bucketed = np.ceil(logs * logs + 1.0)
    return np.where(values > 2, bucketed, values).astype(values.dtype, copy=False)


class FieldVocab:
    """The vocabulary of one field, built chunk by chunk (see the module docstring)."""

    def __init__(self, name: str, min_count: int = 1) -> None:
        if min_count < 1:
            raise ValueError(f"min_count of field {name!r} must be >= 1, got {min_count}")
        self.name = name
        self.min_count = min_count
        self._dictionaries: list[pa.Array] = []
        self._counts: list[np.ndarray] = []
        self._tables: list[np.ndarray] | None = None
        self.size = 0  # vocabulary size including index 0, known after finish()
        self.tokens: pa.Array | None = None  # the kept tokens in code order (code = position + 1)

    def add(self, column: pa.Array | pa.ChunkedArray, counted: np.ndarray | None = None) -> np.ndarray:
        """Record a chunk's column; return its chunk-local codes (rows,) int32, 0 for missing. ``counted``:
        a (rows,) bool mask of the rows whose tokens count (the training rows of a given split); a token
        counted nowhere never reaches ``min_count`` and stays unknown (code 0)."""
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if not pa.types.is_dictionary(column.type):
            column = pc.dictionary_encode(column)
        dictionary = column.dictionary
        if self._dictionaries and dictionary.type != self._dictionaries[0].type:
            dictionary = dictionary.cast(self._dictionaries[0].type)
        local = pc.fill_null(column.indices, -1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
        local = local + 1
        counts = np.bincount(local if counted is None else local[counted], minlength=len(dictionary) + 1)[1:]
        self._dictionaries.append(dictionary)
        self._counts.append(counts)
        return local

    def finish(self) -> int:
        """Merge the chunks' tokens, apply ``min_count`` and number the survivors; returns the size."""
        if not self._dictionaries:
            self._tables, self.size = [], 1
            return self.size
        merged = pc.dictionary_encode(pa.concat_arrays(self._dictionaries))
        global_ids = merged.indices.to_numpy(zero_copy_only=False)
        uniques = merged.dictionary
        totals = np.bincount(global_ids, weights=np.concatenate(self._counts), minlength=len(uniques))
        order = pc.array_sort_indices(uniques).to_numpy(zero_copy_only=False)
        kept = order[totals[order] >= self.min_count]
        codes = np.zeros(len(uniques), dtype=np.int32)
        codes[kept] = np.arange(1, len(kept) + 1, dtype=np.int32)
        self.tokens = uniques.take(pa.array(kept))
        self._tables, start = [], 0
        zero = np.zeros(1, dtype=np.int32)
        for dictionary in self._dictionaries:
            stop = start + len(dictionary)
            self._tables.append(np.concatenate([zero, codes[global_ids[start:stop]]]))
            start = stop
        self._dictionaries, self._counts = [], []
        self.size = len(kept) + 1
        return self.size

    def table(self, chunk: int) -> np.ndarray:
        """Chunk ``chunk``'s local code → final code lookup (index with the local codes)."""
        if self._tables is None:
            raise RuntimeError("FieldVocab.table() before finish()")
        return self._tables[chunk]


def binary_labels(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` as (rows,) int8 0/1; DatasetError naming ``what`` on a missing or non-binary label."""
    values = np.asarray(values)
    if values.dtype == np.bool_:
        return values.astype(np.int8)
    if values.dtype.kind not in "iuf":
        raise DatasetError(
            f"{what}: the label must be 0 or 1, found {values.dtype} values; binarise it first"
        )
    if values.dtype.kind == "f" and np.isnan(values).any():
        raise DatasetError(
            f"{what}: {int(np.isnan(values).sum())} row(s) have no label; every row needs 0 or 1"
        )
    bad = (values != 0) & (values != 1)
    if bad.any():
        raise DatasetError(
            f"{what}: the label must be 0 or 1, found {values[bad][0].item()!r} "
            f"({int(bad.sum())} row(s)); binarise it before preparing"
        )
    return values.astype(np.int8)
