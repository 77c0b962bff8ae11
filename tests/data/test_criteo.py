"""The Criteo source: paper protocol rule by rule, and bad input (bench/data/_criteo.py)."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pytest

from kdbench.bench.data import prepare
from kdbench.bench.data._criteo import CATEGORICAL_FIELDS, INTEGER_FIELDS
from kdbench.bench.errors import DatasetError
from tests.data._make import criteo_row, write_criteo


def _all_rows(d):
    x = np.concatenate([d.train.x, d.valid.x, d.test.x])
    y = np.concatenate([d.train.y, d.valid.y, d.test.y])
    return x, y


def _decoded(d, field):
    """The token of every row (None for code 0), in split order."""
    x, _ = _all_rows(d)
    tokens = d.vocabulary(field)
    return [None if c == 0 else tokens[c - 1] for c in x[:, d.field_names.index(field)]]


@pytest.fixture
def criteo(tmp_path: Path) -> Path:
    """40 rows: I1 cycles through small, negative, bucketed and missing values; C1 has a token seen 8 times
    ('aaaaaaaa'), one seen 7 times ('bbbbbbbb'), singletons and missing values."""
    i1 = [0, 1, 2, -1, 3, 10, 1000, None]
    c1 = ["aaaaaaaa"] * 8 + ["bbbbbbbb"] * 7 + [f"{k:08x}" for k in range(20)] + [None] * 5
    rows = [criteo_row(label=k % 2, ints=[i1[k % len(i1)], 5], cats=[c1[k], "deadbeef"]) for k in range(40)]
    return write_criteo(tmp_path / "train.txt", rows)


def test_fields_rows_and_labels(criteo):
    d = prepare("criteo", path=criteo)
    assert d.field_names == INTEGER_FIELDS + CATEGORICAL_FIELDS and len(d.field_names) == 39
    assert d.num_rows == 40 and d.positives == 20 and d.positive_rate == 0.5
    assert d.split_sizes == {"train": 32, "valid": 4, "test": 4}
    x, y = _all_rows(d)
    assert x.dtype == np.int32 and y.dtype == np.float32 and x.shape == (40, 39)
    assert len(d.vocab_sizes) == 39 and all(v >= 1 for v in d.vocab_sizes)
    assert (x < np.array(d.vocab_sizes)).all()


def test_integer_bucketing(criteo):
    d = prepare("criteo", path=criteo)
    expected = {0, 1, 2, -1, 3, math.ceil(math.log(10) ** 2 + 1), math.ceil(math.log(1000) ** 2 + 1)}
    assert set(d.vocabulary("I1")) == expected  # 10 -> 7, 1000 -> 49; v <= 2 kept
    assert d.vocabulary("I1") == sorted(expected)
    decoded = _decoded(d, "I1")
    assert decoded.count(None) == 5  # missing -> 0
    assert d.vocab_sizes[0] == len(expected) + 1
    assert set(d.vocabulary("I2")) == {math.ceil(math.log(5) ** 2 + 1)}


def test_categorical_threshold_eight(criteo):
    d = prepare("criteo", path=criteo)
    assert d.vocabulary("C1") == ["aaaaaaaa"]  # 8 occurrences kept; 7, 1 and missing -> 0
    decoded = _decoded(d, "C1")
    assert decoded.count("aaaaaaaa") == 8 and decoded.count(None) == 32
    assert d.vocab_sizes[INTEGER_FIELDS.__len__()] == 2
    assert d.vocabulary("C2") == ["deadbeef"]
    assert d.vocab_sizes[-1] == 1  # a column that is always missing: only index 0


def test_header_line_is_skipped_and_gzip_is_read(criteo, tmp_path):
    plain = prepare("criteo", path=criteo)
    lines = criteo.read_text().splitlines()
    with_header = write_criteo(tmp_path / "with_header.txt", lines, header=True)
    packed = tmp_path / "train.txt.gz"
    packed.write_bytes(gzip.compress(criteo.read_bytes()))
    for other in (prepare("criteo", path=with_header), prepare("criteo", path=packed)):
        assert other.num_rows == 40
        np.testing.assert_array_equal(other.train.x, plain.train.x)
        np.testing.assert_array_equal(other.test.y, plain.test.y)


def _assert_nothing_cached(home: Path) -> None:
    root = home / "datasets"
    leftovers = [p.name for p in root.iterdir() if p.name != ".keys"] if root.exists() else []
    assert leftovers == []
    assert not (root / ".keys").exists() or not any((root / ".keys").iterdir())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("label,I1,I2\n0,1,2\n", "tab-separated"),  # a CSV given as Criteo
        ("\n".join([criteo_row(0)] * 5 + ["0\t1\t2"] + [criteo_row(1)] * 5) + "\n", "line 6"),  # short row
        ("\n".join([criteo_row(0)] * 5 + [criteo_row(1) + "\textra"] + [criteo_row(1)] * 5) + "\n", "line 6"),
        ("\n".join([criteo_row(0)] * 5 + [criteo_row(2)] * 6) + "\n", "must be 0 or 1, found 2"),
        ("\n".join([criteo_row(0)] * 5 + [criteo_row("")] + [criteo_row(1)] * 5) + "\n", "no label"),
        ("\n".join([criteo_row(0, ints=["x"])] * 12) + "\n", "criteo"),
        ("\n".join([criteo_row(1)] * 3) + "\n", "at least 10"),
    ],
    ids=["csv", "short-row", "long-row", "label-2", "no-label", "non-integer", "too-few-rows"],
)
def test_bad_files_raise_one_line_and_leave_no_cache(tmp_path, home, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message) as err:
        prepare("criteo", path=path)
    assert "\n" not in str(err.value)
    _assert_nothing_cached(home)


def test_missing_empty_and_folder_paths(tmp_path, home):
    with pytest.raises(DatasetError, match="does not exist"):
        prepare("criteo", path=tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(DatasetError, match="is empty"):
        prepare("criteo", path=tmp_path / "empty.txt")
    with pytest.raises(DatasetError, match="folder"):
        prepare("criteo", path=tmp_path)
    with pytest.raises(DatasetError, match="needs --path"):
        prepare("criteo")
    _assert_nothing_cached(home)


def test_many_chunks_and_a_spilled_scratch_give_the_same_arrays(criteo, tmp_path, monkeypatch):
    import kdbench.bench.data._arrow_csv as module
    import kdbench.bench.data._build as build

    whole = prepare("criteo", path=criteo, home=tmp_path / "a")
    monkeypatch.setattr(module, "PIECE_BYTES", 7 * 60)  # a few rows a piece
    monkeypatch.setattr(build, "SCRATCH_IN_MEMORY", 2000)  # spill the local codes to disk after 2 chunks
    chunked = prepare("criteo", path=criteo, home=tmp_path / "b")
    assert chunked.fingerprint == whole.fingerprint and chunked.vocab_sizes == whole.vocab_sizes
    for name in ("train", "valid", "test"):
        np.testing.assert_array_equal(getattr(chunked, name).x, getattr(whole, name).x)
        np.testing.assert_array_equal(getattr(chunked, name).y, getattr(whole, name).y)
