"""The seeded random 8:1:1 split shared by every source.

Sizes follow the reference code (``DataSource/split.py``): test gets ``n // 10`` rows, valid
``2n // 10 - n // 10``, train the rest. Which rows go where comes from one seeded permutation
(``numpy.random.default_rng(seed).permutation(n)``); inside each split rows keep their file order, so the
splits can be written sequentially while reading. Training shuffles per epoch anyway.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SPLIT_RULE", "split_assignment", "split_sizes"]

SPLIT_RULE = {"method": "random", "ratios": [0.8, 0.1, 0.1], "order": "file order within a split"}


def split_sizes(n: int) -> tuple[int, int, int]:
    """``(train, valid, test)`` row counts for ``n`` rows."""
    test = n // 10
    valid = (2 * n) // 10 - test
    return n - valid - test, valid, test


def split_assignment(n: int, seed: int) -> np.ndarray:
    """``(n,)`` int8: 0 train, 1 valid, 2 test for each row in file order; deterministic in ``(n, seed)``."""
    train, valid, _ = split_sizes(n)
    order = np.random.default_rng(seed).permutation(n)
    assign = np.full(n, 2, dtype=np.int8)
    assign[order[:train]] = 0
    assign[order[train : train + valid]] = 1
    return assign
