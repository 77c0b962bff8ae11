"""Small in-memory :class:`kdbench.bench.data.Dataset` tables for the baseline tests."""

from __future__ import annotations

import hashlib

import numpy as np

from kdbench.bench.data import Dataset, Split


def table(
    x: np.ndarray, y: np.ndarray, *, vocab_sizes: list[int], dense: np.ndarray | None = None,
    dense_fields: list[int] = (), name: str = "table",
) -> Dataset:  # fmt: skip
    """A dataset of rows ``x`` (codes), ``y`` and optionally ``dense`` values, split 8:1:1 in order."""
    rows = len(y)
    cut = [int(rows * 0.8), int(rows * 0.9)]
    parts = [slice(0, cut[0]), slice(cut[0], cut[1]), slice(cut[1], rows)]
    splits = [Split(x[p], y[p], None if dense is None else dense[p]) for p in parts]
    digest = hashlib.sha256(x.tobytes() + y.tobytes() + (b"" if dense is None else dense.tobytes()))
    return Dataset(
        name=name, source="test", fingerprint=digest.hexdigest()[:16],
        field_names=[f"f{k}" for k in range(x.shape[1])], vocab_sizes=list(vocab_sizes), train=splits[0],
        valid=splits[1], test=splits[2], num_rows=rows, positives=int(y.sum()),
        dense_fields=list(dense_fields),
    )  # fmt: skip


def wide_table(rows: int = 6000, seed: int = 0) -> Dataset:
    """Three fields and a dense one: ``f0`` has 600 codes (Zipf-distributed: more than a tree's 255
    categories), ``f1`` 5, ``f2`` is the dense field's presence (code 1) or absence (0, a fifth of the rows).
    The label depends on f0's frequent codes, on f1 and on the dense value."""
    rng = np.random.default_rng(seed)
    f0 = np.minimum(rng.zipf(1.1, rows), 599).astype(np.int32)
    f1 = rng.integers(1, 5, rows).astype(np.int32)
    present = rng.random(rows) > 0.2
    value = rng.normal(size=rows).astype(np.float32)
    effect = np.where(f0 % 2 == 0, 0.8, -0.8) + 0.5 * (f1 - 2.5) + np.where(present, value, 0.0)
    y = (rng.random(rows) < 1 / (1 + np.exp(-effect))).astype(np.float32)
    x = np.stack([f0, f1, present.astype(np.int32)], axis=1)
    dense = np.where(present, value, 1.0).astype(np.float32)[:, None]  # 1.0 where missing, as encoded
    return table(x, y, vocab_sizes=[600, 5, 2], dense=dense, dense_fields=[2], name="wide")
