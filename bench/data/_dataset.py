"""The prepared dataset a trial trains on: three memory-mapped splits plus what identifies them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SPLIT_NAMES", "Dataset", "Split"]

SPLIT_NAMES = ("train", "valid", "test")


@dataclass(frozen=True, eq=False)
class Split:
    """One split: ``x`` (rows, fields) int32 codes (0 = unknown / rare / missing), ``y`` (rows,) float32 0/1,
    and for a dataset with dense fields ``dense`` (rows, dense fields) float32: each dense field's value (in
    the order of :attr:`Dataset.dense_fields`; 1.0 where the value is missing), else None.

    Loaded from the cache the arrays are read-only memory maps; copy them (``np.asarray(..., copy=True)``)
    before writing.
    """

    x: np.ndarray
    y: np.ndarray
    dense: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True, eq=False)
class Dataset:
    """An encoded, split and cached dataset.

    ``vocab_sizes[f]`` counts index 0, so field ``f`` needs an embedding table of that many rows. The
    ``fingerprint`` (16 hex) hashes the source bytes, the protocol and the split (seed included): every result
    row carries it, and two datasets with the same fingerprint hold the same arrays.

    ``dense_fields``: the indices of the fields whose embedding is scaled by a value (a table's ``dense``
    numeric columns, in field order): their code is 1 when the value is present, 0 when missing, and each
    split's ``dense`` holds the values, standardised on the training split. Empty for other datasets.
    """

    name: str
    source: str
    fingerprint: str
    field_names: list[str]
    vocab_sizes: list[int]
    train: Split
    valid: Split
    test: Split
    num_rows: int
    positives: int
    protocol: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    dense_fields: list[int] = field(default_factory=list)

    @property
    def positive_rate(self) -> float:
        return self.positives / self.num_rows if self.num_rows else 0.0

    @property
    def split_sizes(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in SPLIT_NAMES}

    def vocabulary(self, field_name: str) -> list[Any]:
        """The tokens of ``field_name`` in code order: code ``c >= 1`` is ``vocabulary(field)[c - 1]``.

        Tokens are strings for categorical fields and numbers for bucketed or derived ones (e.g. the
        log-square bucket of a Criteo integer, an Avazu weekday).
        """
        if self.path is None:
            raise ValueError("this dataset has no cache entry to read vocabularies from")
        if field_name not in self.field_names:
            raise KeyError(f"no field {field_name!r}; fields: {', '.join(self.field_names)}")
        from kdbench.bench.data._cache import read_vocabulary

        return read_vocabulary(self.path, self.field_names.index(field_name)).to_pylist()

    def info(self) -> dict[str, Any]:
        """What the results store records about the dataset (JSON-serialisable)."""
        info = {
            "fingerprint": self.fingerprint,
            "name": self.name,
            "source": self.source,
            "protocol": self.protocol,
            "rows": self.num_rows,
            "positives": self.positives,
            "fields": list(self.field_names),
            "vocab_sizes": list(self.vocab_sizes),
            "split_sizes": self.split_sizes,
        }
        if self.dense_fields:
            info["dense_fields"] = list(self.dense_fields)
        return info
