"""A synthetic CTR dataset with a known 3rd-order field interaction, shaped like
``kdbench.bench.data.Dataset``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SyntheticSplit:
    x: np.ndarray  # (rows, fields) int32 codes, 0 reserved for unknown
    y: np.ndarray  # (rows,) float32 labels


@dataclass(frozen=True)
class SyntheticDataset:
    name: str
    source: str
    fingerprint: str
    field_names: list[str]
    vocab_sizes: list[int]
    train: SyntheticSplit
    valid: SyntheticSplit
    test: SyntheticSplit

    @property
    def num_rows(self) -> int:
        return len(self.train.y) + len(self.valid.y) + len(self.test.y)


def make_synthetic(rows: int = 8000, fields: int = 6, vocab: int = 6, seed: int = 0) -> SyntheticDataset:
    """Label = 1 when the codes of fields 0, 1, 2 sum to an even number (a pure 3rd-order interaction: no
    single field or pair carries signal), flipped with probability 0.1; other fields are noise."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, vocab, size=(rows, fields), dtype=np.int32)
    parity = (x[:, 0] + x[:, 1] + x[:, 2]) % 2 == 0
    flip = rng.random(rows) < 0.1
    y = (parity ^ flip).astype(np.float32)
    n_train, n_valid = int(rows * 0.8), int(rows * 0.1)
    cut = [n_train, n_train + n_valid]
    xs, ys = np.split(x, cut), np.split(y, cut)
    splits = [SyntheticSplit(a, b) for a, b in zip(xs, ys, strict=True)]
    fingerprint = hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()[:16]
    return SyntheticDataset(
        name="synthetic",
        source="synthetic",
        fingerprint=fingerprint,
        field_names=[f"f{i}" for i in range(fields)],
        vocab_sizes=[vocab] * fields,
        train=splits[0],
        valid=splits[1],
        test=splits[2],
    )
