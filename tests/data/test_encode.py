"""Vocabularies, the log-square rule, labels and the split (bench/data/_encode.py, _split.py)."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from kdbench.bench.data._encode import FieldVocab, binary_labels, log_square
from kdbench.bench.data._split import split_assignment, split_sizes
from kdbench.bench.errors import DatasetError


@pytest.mark.parametrize("v", [3, 4, 7, 10, 100, 1000, 123456, 10**9])
def test_log_square_buckets_values_above_two(v):
    assert log_square(np.array([v]))[0] == math.ceil(math.log(v) ** 2 + 1)


def test_log_square_keeps_small_and_negative_values():
    values = np.array([-5, -1, 0, 1, 2], dtype=np.int64)
    np.testing.assert_array_equal(log_square(values), values)


def test_log_square_buckets_never_collide_with_kept_values():
    assert log_square(np.array([3]))[0] == 3  # ceil(1.2069 + 1): the smallest bucket is above 2
    buckets = log_square(np.arange(3, 100_000))
    assert buckets.min() == 3 and np.all(np.diff(buckets) >= 0)


def _vocab_codes(chunks, min_count):
    vocab = FieldVocab("f", min_count)
    local = [vocab.add(pa.array(c)) for c in chunks]
    vocab.finish()
    return np.concatenate([vocab.table(k)[codes] for k, codes in enumerate(local)]), vocab


def test_vocab_threshold_sorted_codes_and_missing():
    values = ["b"] * 3 + ["a"] * 2 + ["c"] + [None]
    codes, vocab = _vocab_codes([values], min_count=2)
    assert vocab.size == 3  # 0 + {a, b}
    assert vocab.tokens.to_pylist() == ["a", "b"]
    np.testing.assert_array_equal(codes, [2, 2, 2, 1, 1, 0, 0])


def test_vocab_counts_across_chunks_independent_of_chunking():
    rng = np.random.default_rng(1)
    values = [f"t{int(v)}" for v in rng.zipf(1.5, 2000) % 50]
    whole, _ = _vocab_codes([values], min_count=8)
    parts, _ = _vocab_codes([values[:300], values[300:1100], values[1100:]], min_count=8)
    np.testing.assert_array_equal(whole, parts)
    # a token rare in every chunk but frequent overall is kept
    split, _ = _vocab_codes([["x"] * 4 + ["y"], ["x"] * 4 + ["y"]], min_count=8)
    assert split[0] == 1 and split[4] == 0


def test_vocab_integer_tokens_are_numbered_in_numeric_order():
    codes, vocab = _vocab_codes([[10, -1, 3, None, 3]], min_count=1)
    assert vocab.tokens.to_pylist() == [-1, 3, 10]
    np.testing.assert_array_equal(codes, [3, 1, 2, 0, 2])


def test_binary_labels():
    np.testing.assert_array_equal(binary_labels(np.array([0, 1, 1]), "x"), [0, 1, 1])
    np.testing.assert_array_equal(binary_labels(np.array([True, False]), "x"), [1, 0])
    with pytest.raises(DatasetError, match="must be 0 or 1, found 2"):
        binary_labels(np.array([0, 2]), "x")
    with pytest.raises(DatasetError, match="no label"):
        binary_labels(np.array([0.0, np.nan]), "x")
    with pytest.raises(DatasetError, match="must be 0 or 1"):
        binary_labels(np.array(["yes", "no"], dtype=object), "x")


@pytest.mark.parametrize(
    ("n", "sizes"), [(10, (8, 1, 1)), (72855, (58284, 7286, 7285)), (1000, (800, 100, 100)), (19, (16, 2, 1))]
)
def test_split_sizes(n, sizes):
    assert split_sizes(n) == sizes
    assign = split_assignment(n, 2022)
    assert tuple(np.bincount(assign, minlength=3)) == sizes


def test_split_is_deterministic_and_seeded():
    a, b = split_assignment(5000, 2022), split_assignment(5000, 2022)
    np.testing.assert_array_equal(a, b)
    assert (a != split_assignment(5000, 7)).any()
