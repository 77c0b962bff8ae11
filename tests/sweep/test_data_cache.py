"""Big datasets go to sweep workers by path (``--data-cache``), small ones through the object store."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from kdbench.bench._sweep._tuner import _shipped
from kdbench.bench.batches import MAP_ABOVE_ENV
from kdbench.bench.benchmarks.scale import generate_planted_criteo
from kdbench.bench.data import CachedDataset, prepare, share_dataset
from kdbench.bench.errors import DatasetError
from kdbench.bench.store import ResultStore
from kdbench.bench.sweep import run_sweep


@pytest.fixture(scope="module")
def criteo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_planted_criteo(tmp_path_factory.mktemp("dc") / "day.txt", 4_000, seed=5)


@pytest.fixture
def criteo(criteo_file, tmp_path):
    return prepare("criteo", path=criteo_file, home=tmp_path / "home")


def test_a_shared_entry_is_copied_once_and_opens_as_the_same_data(criteo, tmp_path):
    shared = share_dataset(criteo, tmp_path / "shared")
    assert shared == CachedDataset(criteo.fingerprint, str((tmp_path / "shared").resolve()))
    entry = tmp_path / "shared" / criteo.fingerprint
    stamp = (entry / "train_x.npy").stat().st_mtime_ns
    assert share_dataset(criteo, tmp_path / "shared") == shared  # already there: not copied again
    assert (entry / "train_x.npy").stat().st_mtime_ns == stamp
    opened = shared.open()
    assert opened.fingerprint == criteo.fingerprint and opened.vocab_sizes == criteo.vocab_sizes
    for name in ("train", "valid", "test"):
        assert isinstance(getattr(opened, name).x, np.memmap)
        np.testing.assert_array_equal(getattr(opened, name).x, getattr(criteo, name).x)
    # without a folder the reference points at the cache the dataset was loaded from
    assert share_dataset(criteo).open().path == criteo.path


def test_a_node_without_the_entry_gets_one_line_with_the_fix(criteo, tmp_path):
    with pytest.raises(DatasetError, match="--data-cache") as err:
        CachedDataset(criteo.fingerprint, str(tmp_path / "elsewhere")).open()
    assert "\n" not in str(err.value)


def test_small_data_rides_the_object_store_and_big_data_goes_by_path(criteo, tmp_path, monkeypatch):
    runtime = SimpleNamespace(data_cache=str(tmp_path / "dc"))
    monkeypatch.delenv(MAP_ABOVE_ENV, raising=False)
    small = _shipped(criteo, runtime)
    assert not isinstance(small, CachedDataset) and not isinstance(small.train.x, np.memmap)
    monkeypatch.setenv(MAP_ABOVE_ENV, "0")
    big = _shipped(criteo, runtime)
    assert big == CachedDataset(criteo.fingerprint, str((tmp_path / "dc").resolve()))


@pytest.mark.ray
def test_a_sweep_maps_big_data_from_the_data_cache(ray_runtime, criteo_file, tmp_path, monkeypatch):
    monkeypatch.setenv(MAP_ABOVE_ENV, "0")  # the driver ships every dataset by path
    url = f"sqlite:///{tmp_path / 'kd.db'}"
    summary = run_sweep(
        space="ci",
        dataset="criteo",
        dataset_path=str(criteo_file),
        trials=2,
        name="by-path",
        db=url,
        data_cache=str(tmp_path / "shared"),
        progress="quiet",
    )
    assert summary.status == "completed" and summary.trials.get("failed", 0) == 0
    with ResultStore(url, create=False) as store:
        trials = store.trials(sweep="by-path")
        settings = store.get_sweep("by-path")["settings"]
    assert len(trials) == 2
    fingerprint = trials["dataset_fingerprint"].iloc[0]
    assert (tmp_path / "shared" / fingerprint / "meta.json").is_file()
    assert settings["runtime"]["data_cache"] == str((tmp_path / "shared").resolve())
