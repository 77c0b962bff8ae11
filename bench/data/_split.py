"""Which rows go to train, valid and test.

Three methods, each recorded in the protocol's ``split`` block (so in the fingerprint):

- ``random`` (every source's default): sizes follow the reference code (``DataSource/split.py``): test gets
  ``n // 10`` rows, valid ``2n // 10 - n // 10``, train the rest; which rows go where comes from one seeded
  permutation (``numpy.random.default_rng(seed).permutation(n)``).
- ``given`` (a table's ``split:`` block): three files, or a column whose values name each row's split.
- ``time`` (a table's ``split: {order_by: COLUMN, ratios: [8, 1, 1]}``): rows sorted by the column (a stable
  sort: ties keep their file order) and cut into train, valid and test in that order, with the random
  split's rounding generalised to any ratios (test ``n * r3 // total``, valid ``n * (r2 + r3) // total`` minus
  test, train the rest).

Inside each split rows keep their file order, so the splits can be written sequentially while reading;
training shuffles per epoch anyway. A given or time-ordered split has no seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "FIXED_METHODS",
    "SPLIT_RULE",
    "split_assignment",
    "split_sizes",
    "split_text",
    "time_assignment",
]

SPLIT_RULE = {"method": "random", "ratios": [0.8, 0.1, 0.1], "order": "file order within a split"}
# Splits that come with the data (a table's given or time-ordered split, RecBole's own for ml-100k-recbole):
# no split seed to choose.
FIXED_METHODS = frozenset({"given", "time", "recbole"})
DEFAULT_RATIOS = (8, 1, 1)


def split_sizes(n: int, ratios: Sequence[int] = DEFAULT_RATIOS) -> tuple[int, int, int]:
    """``(train, valid, test)`` row counts for ``n`` rows cut at ``ratios`` (8:1:1: the reference's sizes)."""
    total = sum(ratios)
    test = n * ratios[2] // total
    valid = n * (ratios[1] + ratios[2]) // total - test
    return n - valid - test, valid, test


def split_assignment(n: int, seed: int) -> np.ndarray:
    """``(n,)`` int8: 0 train, 1 valid, 2 test for each row in file order; deterministic in ``(n, seed)``."""
    train, valid, _ = split_sizes(n)
    order = np.random.default_rng(seed).permutation(n)
    assign = np.full(n, 2, dtype=np.int8)
    assign[order[:train]] = 0
    assign[order[train : train + valid]] = 1
    return assign


def time_assignment(keys: np.ndarray, ratios: Sequence[int]) -> np.ndarray:
    """``(n,)`` int8 for rows ordered by ``keys`` (numbers or datetime64): the earliest ``train`` rows 0, the
    next ``valid`` 1, the latest 2; equal keys keep their file order, so a cut through ties is repeatable."""
    n = len(keys)
    train, valid, _ = split_sizes(n, ratios)
    order = np.argsort(keys, kind="stable")
    assign = np.full(n, 2, dtype=np.int8)
    assign[order[:train]] = 0
    assign[order[train : train + valid]] = 1
    return assign


def split_text(split: Mapping[str, Any] | None) -> str:
    """A protocol's split block in a few words: ``random 8:1:1, split seed 2022``, ``given (files)``,
    ``given (column fold)``, ``time-ordered by ts, 8:1:1``."""
    split = split or {}
    method = split.get("method", "random")
    if method == "given":
        column = split.get("column")
        return f"given (column {column})" if column else "given (train, valid and test files)"
    if method == "time":
        return f"time-ordered by {split.get('order_by')}, {_ratios(split.get('ratios'))}"
    if method == "recbole":
        return f"RecBole's random 8:1:1, its seed {split.get('seed')}"
    return f"random 8:1:1, split seed {split.get('seed')}"


def _ratios(ratios: Any) -> str:
    return ":".join(f"{r:g}" for r in ratios) if isinstance(ratios, list) else "8:1:1"
