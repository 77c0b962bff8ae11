"""MovieLens sources: the ML-1M protocol on GroupLens ml-100k, RecBole atomic files and ML-1M files."""

from __future__ import annotations

import numpy as np
import pytest

from kdbench.bench.data import prepare
from kdbench.bench.data._movielens import FIELDS
from kdbench.bench.errors import DatasetError
from tests.data._make import (
    ML_ITEMS,
    ML_RATINGS,
    ML_USERS,
    write_grouplens,
    write_ml1m,
    write_recbole_wheel,
)

KEPT = [r for r in ML_RATINGS if r[2] != 3]


def _rows(d):
    """Every row decoded to its tokens (None for 0), sorted, with its label."""
    x = np.concatenate([d.train.x, d.valid.x, d.test.x])
    y = np.concatenate([d.train.y, d.valid.y, d.test.y])
    vocab = {f: d.vocabulary(f) for f in d.field_names}
    rows = []
    for codes, label in zip(x, y, strict=True):
        tokens = tuple(None if c == 0 else vocab[f][c - 1] for f, c in zip(d.field_names, codes, strict=True))
        rows.append((tokens, float(label)))
    return sorted(rows, key=repr)


@pytest.fixture
def grouplens(tmp_path):
    return write_grouplens(tmp_path / "ml-100k", ML_RATINGS, ML_USERS, ML_ITEMS)


def test_grouplens_protocol(grouplens):
    d = prepare("ml-100k", path=grouplens)
    assert d.field_names == FIELDS
    assert d.num_rows == len(KEPT) == 12  # ratings of 3 dropped
    assert d.positives == sum(r[2] >= 4 for r in KEPT)
    assert d.vocabulary("user_id") == ["1", "2", "3"]
    assert d.vocabulary("zip_code") == ["01002", "94043", "T8H1N"]  # strings, leading zero kept
    assert d.vocabulary("release_year") == ["1994", "1995"]  # item 30 has no date -> 0
    rows = _rows(d)
    by_time = {(t[0], t[1], t[2], t[3]): label for t, label in rows}
    # (1, 10, 5, ts=0): Thursday (3) 00h, label 1; (1, 30, 4, Monday 05:00 UTC): weekday 0, hour 5, label 1
    assert by_time[("1", "10", 3, 0)] == 1.0
    assert by_time[("1", "30", 0, 5)] == 1.0
    assert by_time[("2", "10", 3, 2)] == 0.0  # rating 1 at 02:00
    full = {t: label for t, label in rows}
    assert (("3", "30", 6, 11, "23", "M", "writer", "T8H1N", None), 0.0) in full.items()


def test_recbole_wheel_gives_the_same_rows(grouplens, tmp_path, monkeypatch):
    wheel = write_recbole_wheel(tmp_path / "fake.whl", ML_RATINGS, ML_USERS, ML_ITEMS)
    monkeypatch.setenv("KDBENCH_RECBOLE_WHEEL", str(wheel))
    embedded = prepare("ml-100k")  # the default: no path
    assert embedded.num_rows == 12
    assert _rows(embedded) == _rows(prepare("ml-100k", path=grouplens))
    assert _rows(prepare("ml-100k", path=wheel)) == _rows(embedded)  # a wheel given as --path


def test_ml1m_files(tmp_path, grouplens):
    folder = write_ml1m(tmp_path / "ml-1m", ML_RATINGS, ML_USERS, ML_ITEMS)
    d = prepare("movielens-1m", path=folder)
    assert d.source == "movielens-1m" and d.field_names == FIELDS
    assert _rows(d) == _rows(prepare("ml-100k", path=grouplens))  # same content, same protocol


def test_split_and_fingerprint(grouplens):
    d = prepare("ml-100k", path=grouplens)
    assert d.split_sizes == {"train": 10, "valid": 1, "test": 1}
    again = prepare("ml-100k", path=grouplens)
    assert again.fingerprint == d.fingerprint
    other = prepare("ml-100k", path=grouplens, split_seed=1)
    assert other.fingerprint != d.fingerprint
    assert len(d.fingerprint) == 16 and int(d.fingerprint, 16) >= 0


def test_bad_movielens_input(tmp_path, grouplens):
    with pytest.raises(DatasetError, match=r"has no u\.item"):
        (grouplens / "u.item").unlink()
        prepare("ml-100k", path=grouplens)
    bad = write_grouplens(tmp_path / "bad", ML_RATINGS, ML_USERS, ML_ITEMS)
    (bad / "u.data").write_text("1\t10\t5\t0\n1\t20\t4\n")
    with pytest.raises(DatasetError, match=r"u\.data: line 2 has 3 column"):
        prepare("ml-100k", path=bad)
    (bad / "u.data").write_text("1\t10\tfive\t0\n")
    with pytest.raises(DatasetError, match="'five' is not a number"):
        prepare("ml-100k", path=bad)
    with pytest.raises(DatasetError, match="needs --path"):
        prepare("movielens-1m")
    with pytest.raises(DatasetError, match="no --schema"):
        prepare("ml-100k", path=grouplens, schema={"label": "x"})


def test_wheel_without_the_files(tmp_path, monkeypatch):
    import zipfile

    wheel = tmp_path / "empty.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("recbole/__init__.py", "")
    monkeypatch.setenv("KDBENCH_RECBOLE_WHEEL", str(wheel))
    with pytest.raises(DatasetError, match=r"has no recbole/dataset_example/ml-100k/ml-100k\.inter"):
        prepare("ml-100k")
    monkeypatch.setenv("KDBENCH_RECBOLE_WHEEL", str(tmp_path / "missing.whl"))
    with pytest.raises(DatasetError, match="KDBENCH_RECBOLE_WHEEL"):
        prepare("ml-100k")
