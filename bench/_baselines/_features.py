"""What the baselines see of a split: the rows they fit on, and the codes turned into each model's features.

Both encoders are fitted on the training split only and then map any rows of codes (valid, test, a serving
batch) the same way, so a fitted model scores raw codes like the students do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, cast

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["MAX_BINS", "MAX_FIT_ROWS", "Categories", "OneHot", "Rows", "fit_rows"]

# Rows a baseline fits (train) or chooses on (valid) at most: a seeded uniform sample above it. A Criteo-size
# split (36M rows) would need ~20 GB for the one-hot matrix and ~11 GB for the GBDT's floats.
MAX_FIT_ROWS = 2_000_000
MAX_BINS = 255  # HistGradientBoostingClassifier's most bins, so its most categories per feature


class Rows(NamedTuple):
    """Rows of one split in memory: ``x`` (rows, fields) codes, ``y`` (rows,) 0/1, ``dense`` (rows, dense
    fields) values or None."""

    x: np.ndarray
    y: np.ndarray
    dense: np.ndarray | None


def fit_rows(split, seed: int, limit: int = MAX_FIT_ROWS) -> Rows:
    """``split``'s rows (a :class:`~kdbench.bench.data.Split`), or a seeded uniform sample of ``limit`` of
    them in their order when it has more."""
    n = len(split)
    take: slice | np.ndarray
    if n <= limit:
        take = slice(None)
    else:
        take = np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))
    dense = None if split.dense is None else np.asarray(split.dense[take], dtype=np.float64)
    return Rows(np.asarray(split.x[take]), np.asarray(split.y[take], dtype=np.float64), dense)


class OneHot:
    """Codes -> a CSR matrix for logistic regression: one column per (field, code) seen in the training rows,
    code 0 (unknown) included, then one numeric column per dense field holding its value (0 where missing:
    the field's code 0/1 column already says whether it is present). Dense values arrive standardised on
    the training split.

    A code never seen in training gets the one extra column no training row uses: L2 holds its weight at 0,
    so it adds nothing, and every row keeps one entry per field. Leaving unseen codes out keeps the width (and
    L-BFGS's cost per iteration, which grows with it) at what the training rows can inform.
    """

    def __init__(self, train_x: np.ndarray, vocab_sizes: list[int], dense_fields: list[int]) -> None:
        self.offsets = np.concatenate([[0], np.cumsum(vocab_sizes)[:-1]]).astype(np.int64)
        seen = np.zeros(int(sum(vocab_sizes)), dtype=bool)
        seen[(train_x.astype(np.int64) + self.offsets).ravel()] = True
        unseen = int(seen.sum())  # the extra column, after the seen ones
        self.columns = np.where(seen, np.cumsum(seen) - 1, unseen)  # (field, code) -> column
        self.dense_fields = list(dense_fields)
        self.first_numeric = unseen + 1
        self.width = self.first_numeric + len(self.dense_fields)

    def __call__(self, x: np.ndarray, dense: np.ndarray | None) -> sp.csr_matrix:
        import scipy.sparse as sp  # SciPy loads when a fit starts, not with the module

        rows, num_fields = x.shape
        columns = self.columns[x.astype(np.int64) + self.offsets]  # (rows, fields)
        values = np.ones((rows, num_fields))
        if self.dense_fields:
            present = x[:, self.dense_fields] > 0  # (rows, dense fields)
            numeric = np.broadcast_to(self.first_numeric + np.arange(len(self.dense_fields)), present.shape)
            columns = np.hstack([columns, numeric])
            # cast: the rows of a dataset with dense fields come with their values (dense is not None)
            values = np.hstack([values, np.where(present, cast(np.ndarray, dense), 0.0)])
        per_row = columns.shape[1]
        indptr = np.arange(0, rows * per_row + 1, per_row, dtype=np.int64)
        return sp.csr_matrix((values.ravel(), columns.ravel(), indptr), shape=(rows, self.width))


class Categories:
    """Codes -> a float matrix for histogram gradient boosting: each categorical field as its own column of
    category numbers (``is_categorical`` marks them), each dense field as its value (NaN where missing).

    The trees take at most :data:`MAX_BINS` categories per feature: a field with a larger vocabulary keeps
    its ``MAX_BINS - 1`` most frequent training codes (ties: the smaller code) as categories 0, 1, ... and
    maps the rest, and codes never seen in training, to one "other" category (``MAX_BINS - 1``). ``capped``
    names those fields with their vocabulary. A narrower field's codes are its categories as they are.
    """

    def __init__(self, train_x: np.ndarray, vocab_sizes: list[int], dense_fields: list[int],
                 field_names: list[str]) -> None:  # fmt: skip
        self.dense_fields = list(dense_fields)
        self.categorical = [f for f in range(len(vocab_sizes)) if f not in set(self.dense_fields)]
        self.tables: list[np.ndarray | None] = []
        self.capped: dict[str, int] = {}
        for f in self.categorical:
            size = int(vocab_sizes[f])
            if size <= MAX_BINS:
                self.tables.append(None)  # codes are already categories 0..size-1
                continue
            counts = np.bincount(train_x[:, f], minlength=size)
            kept = np.argsort(-counts, kind="stable")[: MAX_BINS - 1]
            kept = kept[
                counts[kept] > 0
            ]  # a code no training row has is "other" too, not a category of its own
            table = np.full(size, MAX_BINS - 1, dtype=np.float64)
            table[kept] = np.arange(len(kept))
            self.tables.append(table)
            self.capped[field_names[f]] = size
        self.is_categorical = np.array([True] * len(self.categorical) + [False] * len(self.dense_fields))

    def __call__(self, x: np.ndarray, dense: np.ndarray | None) -> np.ndarray:
        out = np.empty((x.shape[0], len(self.is_categorical)))  # (rows, categorical + dense fields)
        for column, (f, table) in enumerate(zip(self.categorical, self.tables, strict=True)):
            out[:, column] = x[:, f] if table is None else table[x[:, f]]
        if self.dense_fields:
            present = x[:, self.dense_fields] > 0
            # cast: as in OneHot, rows with dense fields come with their values
            out[:, len(self.categorical) :] = np.where(present, cast(np.ndarray, dense), np.nan)
        return out
