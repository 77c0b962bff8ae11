"""prepare(): the cache, the fingerprint, atomic writes (bench/data/_prepare.py, _cache.py)."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

import kdbench.bench.data._build as build
from kdbench.bench.data import available_sources, cached_datasets, prepare
from kdbench.bench.errors import DatasetError
from tests.data._make import criteo_row, write_criteo


@pytest.fixture
def criteo(tmp_path):
    rows = [criteo_row(k % 2, ints=[k % 5], cats=["aaaaaaaa" if k % 3 else "bbbbbbbb"]) for k in range(60)]
    return write_criteo(tmp_path / "day.txt", rows)


def _no_reads(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the source was read again")

    monkeypatch.setattr(build, "build_entry", fail)


def test_second_prepare_hits_the_cache(criteo, monkeypatch, home):
    first = prepare("criteo", path=criteo)
    assert first.path.parent == home / "datasets" and first.path.name == first.fingerprint
    _no_reads(monkeypatch)
    import kdbench.bench.data._prepare as module

    monkeypatch.setattr(module, "build_entry", build.build_entry)
    second = prepare("criteo", path=criteo)  # built again, it would fail: the hit is proven, not timed
    assert second.fingerprint == first.fingerprint and second.info() == first.info()
    assert isinstance(second.train.x, np.memmap) and not second.train.x.flags.writeable
    np.testing.assert_array_equal(second.train.x, first.train.x)


def test_fingerprint_changes_with_seed_content_and_protocol(criteo, tmp_path):
    base = prepare("criteo", path=criteo)
    seeded = prepare("criteo", path=criteo, split_seed=7)
    assert seeded.fingerprint != base.fingerprint and seeded.info()["protocol"]["split"]["seed"] == 7
    assert base.info()["protocol"]["split"]["seed"] == 2022
    same_split = [
        np.array_equal(getattr(seeded, s).y, getattr(base, s).y) for s in ("train", "valid", "test")
    ]
    assert not all(same_split)
    # the same bytes elsewhere: same fingerprint (the path is not part of it)
    copy = shutil.copy(criteo, tmp_path / "copy.txt")
    assert prepare("criteo", path=copy).fingerprint == base.fingerprint
    # the protocol: the same table read as csv with another threshold
    lines = criteo.read_text().replace("\t", ",")
    header = ",".join(["label", *[f"I{i}" for i in range(1, 14)], *[f"C{i}" for i in range(1, 27)]])
    table = tmp_path / "day.csv"
    table.write_text(header + "\n" + lines)
    a = prepare("csv", path=table, schema={"label": "label", "categorical": ["C1"], "min_count": 1})
    b = prepare("csv", path=table, schema={"label": "label", "categorical": ["C1"], "min_count": 30})
    assert a.fingerprint != b.fingerprint and a.vocab_sizes != b.vocab_sizes


def test_changed_file_is_prepared_again(criteo):
    first = prepare("criteo", path=criteo)
    with open(criteo, "a") as f:
        f.write(criteo_row(1) + "\n")
    second = prepare("criteo", path=criteo)
    assert second.num_rows == first.num_rows + 1 and second.fingerprint != first.fingerprint


def test_failure_leaves_no_partial_entry(criteo, monkeypatch, home):
    from kdbench.bench.data._cache import NpyWriter

    original = NpyWriter.append
    calls = {"n": 0}

    def explode(self, rows):
        calls["n"] += 1
        if calls["n"] == 3:
            raise DatasetError("disk full (simulated)")
        original(self, rows)

    monkeypatch.setattr(NpyWriter, "append", explode)
    with pytest.raises(DatasetError, match="simulated"):
        prepare("criteo", path=criteo)
    assert not (home / "datasets").exists()  # a failed prepare creates no cache folder
    monkeypatch.setattr(NpyWriter, "append", original)
    assert prepare("criteo", path=criteo).num_rows == 60


def test_stale_temporaries_are_removed_and_broken_entries_rebuilt(criteo, home):
    d = prepare("criteo", path=criteo)
    stale = home / "datasets" / ".tmp-999999999-dead"
    stale.mkdir()
    (d.path / "train_x.npy").unlink()  # a damaged entry is a miss, rebuilt
    again = prepare("criteo", path=criteo)
    assert again.num_rows == 60 and (again.path / "train_x.npy").exists()
    assert not stale.exists()


def test_cached_datasets_and_sources(criteo, home):
    assert cached_datasets() == []
    d = prepare("criteo", path=criteo)
    listed = cached_datasets()
    assert len(listed) == 1 and listed[0]["fingerprint"] == d.fingerprint
    assert listed[0]["rows"] == 60 and listed[0]["bytes"] > 0 and listed[0]["path"] == str(d.path)
    meta = json.loads((d.path / "meta.json").read_text())
    assert meta["inputs"]["data"] and len(meta["inputs"]["data"]) == 64
    assert list(available_sources()) == [
        "ml-100k", "movielens-1m", "criteo", "avazu", "csv", "parquet", "ml-100k-recbole",
    ]  # fmt: skip


def test_info_is_json_and_has_the_contract_keys(criteo):
    info = prepare("criteo", path=criteo).info()
    assert {
        "fingerprint",
        "source",
        "protocol",
        "rows",
        "positives",
        "fields",
        "vocab_sizes",
        "split_sizes",
    } <= set(info)
    assert json.loads(json.dumps(info)) == info
    assert sum(info["split_sizes"].values()) == info["rows"]


def test_unknown_source_and_bad_seed(criteo):
    with pytest.raises(DatasetError, match="no dataset source or prepared dataset named 'kaggle'"):
        prepare("kaggle")
    with pytest.raises(DatasetError, match="split_seed"):
        prepare("criteo", path=criteo, split_seed="1")  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match=r"split_seed must be an integer >= 0, got -1"):
        prepare("criteo", path=criteo, split_seed=-1)  # numpy's generators refuse negative seeds


def test_home_argument(criteo, tmp_path):
    d = prepare("criteo", path=criteo, home=tmp_path / "elsewhere")
    assert d.path.parent == tmp_path / "elsewhere" / "datasets"
    assert os.path.isdir(tmp_path / "elsewhere" / "datasets" / d.fingerprint)
