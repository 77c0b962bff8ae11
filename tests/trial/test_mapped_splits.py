"""Mapped splits (kdbench.bench.batches above the size threshold): no copy, every row once, the same batches
and the
same trial as the in-memory path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from kdbench.bench.batches import MAP_ABOVE_ENV, epoch_batches, map_threshold, trial_splits
from kdbench.bench.benchmarks.scale import generate_planted_criteo
from kdbench.bench.data import prepare
from kdbench.bench.errors import ConfigError
from kdbench.bench.trial import run_trial

ROWS = 6_000


@pytest.fixture(scope="module")
def criteo(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("mapped")
    path = generate_planted_criteo(folder / "day.txt", ROWS, seed=3)
    return prepare("criteo", path=path, home=folder / "home")


def _splits(data) -> dict:
    return {"train": data.train, "valid": data.valid, "test": data.test}


def _file_of(address: int) -> str | None:
    """What is mapped at ``address`` in this process (/proc/self/maps): a file, ``[heap]``, or None."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        low, high = (int(a, 16) for a in fields[0].split("-"))
        if low <= address < high:
            return fields[5] if len(fields) == 6 else None
    return None


def test_above_the_threshold_codes_are_the_cache_files_pages(criteo, monkeypatch):
    monkeypatch.setenv(MAP_ABOVE_ENV, "0")
    splits = trial_splits(_splits(criteo), torch.device("cpu"))
    for name, split in splits.items():
        assert split.mapped
        # the tensor's memory is the cache file itself: no copy of the codes was made
        assert _file_of(split.x.data_ptr()) == str(criteo.path / f"{name}_x.npy")
        assert torch.equal(split.x, torch.from_numpy(np.array(getattr(criteo, name).x)))


def test_below_the_threshold_codes_are_copied(criteo, monkeypatch):
    monkeypatch.delenv(MAP_ABOVE_ENV, raising=False)
    splits = trial_splits(_splits(criteo), torch.device("cpu"))
    assert not any(s.mapped for s in splits.values())
    where = _file_of(splits["train"].x.data_ptr())
    assert where is None or not where.endswith(".npy")  # anonymous memory or the heap


def test_the_threshold_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv(MAP_ABOVE_ENV, "12345")
    assert map_threshold() == 12345
    monkeypatch.setenv(MAP_ABOVE_ENV, "lots")
    with pytest.raises(ConfigError, match=MAP_ABOVE_ENV):
        map_threshold()


def test_a_mapped_epoch_visits_every_row_once_in_the_in_memory_order(criteo, monkeypatch):
    monkeypatch.delenv(MAP_ABOVE_ENV, raising=False)
    copied = trial_splits(_splits(criteo), torch.device("cpu"))["train"]
    monkeypatch.setenv(MAP_ABOVE_ENV, "0")
    mapped = trial_splits(_splits(criteo), torch.device("cpu"))["train"]
    row_ids = torch.arange(len(mapped), dtype=torch.float32)
    batches = list(epoch_batches(mapped, 500, generator=torch.Generator().manual_seed(7), aligned=(row_ids,)))
    seen = torch.cat([b[2] for b in batches]).long()
    assert sorted(seen.tolist()) == list(range(len(mapped)))  # every row exactly once
    assert [len(b[0]) for b in batches][-1] == len(mapped) % 500 or len(mapped) % 500 == 0
    for x, y, ids in batches:  # each batch row is the row its id names
        assert torch.equal(x, mapped.x[ids.long()]) and torch.equal(y, mapped.y[ids.long()])
    reference = epoch_batches(copied, 500, generator=torch.Generator().manual_seed(7), aligned=(row_ids,))
    for (x, y, ids), (rx, ry, rids) in zip(batches, reference, strict=True):
        assert torch.equal(x, rx) and torch.equal(y, ry) and torch.equal(ids, rids)
    # a second epoch from the same generator is another order
    again = torch.cat(
        [
            b[2]
            for b in epoch_batches(
                mapped, 500, generator=torch.Generator().manual_seed(8), aligned=(row_ids,)
            )
        ]
    )
    assert not torch.equal(again, seen)


def _mapped_and_copied_trials(dataset, batch_size: int, monkeypatch) -> tuple[dict, dict]:
    """The same small trial on ``dataset`` held in memory, then mapped; asserts they score the same."""
    config = {"embedding_size": 4, "depth": 1, "t_depth": 1, "max_epochs": 2, "patience": 2}
    config["batch_size"] = batch_size
    monkeypatch.delenv(MAP_ABOVE_ENV, raising=False)
    copied = run_trial(config, dataset, device="cpu", threads=1, artifacts=False).to_dict()
    monkeypatch.setenv(MAP_ABOVE_ENV, "0")
    mapped = run_trial(config, dataset, device="cpu", threads=1, artifacts=False).to_dict()
    for side in ("teacher", "student"):
        for key in ("valid_auc", "test_auc", "test_logloss"):
            assert mapped[side][key] == copied[side][key], (side, key)
    return mapped, copied


def test_a_mapped_trial_gives_the_in_memory_trials_result(criteo, monkeypatch):
    mapped, copied = _mapped_and_copied_trials(criteo, 512, monkeypatch)
    assert [e["train_loss"] for e in mapped["epochs"]] == [e["train_loss"] for e in copied["epochs"]]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_cuda_streamed_and_device_resident_mapped_batches_are_the_same(criteo, monkeypatch):
    import kdbench.bench.batches as batches

    monkeypatch.setenv(MAP_ABOVE_ENV, "0")
    cuda = torch.device("cuda")
    resident = trial_splits(_splits(criteo), cuda)["train"]
    monkeypatch.setattr(batches, "DEVICE_SHARE", 0.0)  # nothing fits: codes stay mapped on the host
    streamed = trial_splits(_splits(criteo), cuda)["train"]
    assert resident.x.is_cuda and not streamed.x.is_cuda and streamed.y.is_cuda
    for a, b in zip(
        epoch_batches(resident, 512, generator=torch.Generator().manual_seed(1)),
        epoch_batches(streamed, 512, generator=torch.Generator().manual_seed(1)),
        strict=True,
    ):
        assert a[0].is_cuda and b[0].is_cuda and torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.fixture(scope="module")
def dense_table(tmp_path_factory: pytest.TempPathFactory):
    """A 6,000-row table with two dense numeric fields (one informative) and a categorical."""
    import pandas as pd

    folder = tmp_path_factory.mktemp("mapped_dense")
    rng = np.random.default_rng(4)
    hours = rng.normal(40.0, 12.0, ROWS).round(1)
    label = (rng.random(ROWS) < 1 / (1 + np.exp(-(hours - 40.0) / 6))).astype(int)
    frame = pd.DataFrame(
        {"y": label, "métier": rng.choice(["tech", "vente", "santé"], ROWS), "hours": hours,
         "weight": rng.lognormal(11.5, 0.6, ROWS).round(1)}
    )  # fmt: skip
    frame.loc[::31, "hours"] = None
    frame.to_csv(folder / "dense.csv", index=False)
    schema = {"label": "y", "categorical": ["métier"], "numeric": {"hours": "dense", "weight": "dense"}}
    return prepare("csv", path=folder / "dense.csv", schema=schema, home=folder / "home")


def test_mapped_batches_gather_the_dense_values_of_their_rows(dense_table, monkeypatch):
    monkeypatch.delenv(MAP_ABOVE_ENV, raising=False)
    copied = trial_splits(_splits(dense_table), torch.device("cpu"))["train"]
    monkeypatch.setenv(MAP_ABOVE_ENV, "0")
    mapped = trial_splits(_splits(dense_table), torch.device("cpu"))["train"]
    assert mapped.mapped and not copied.mapped
    assert torch.equal(mapped.dense, torch.from_numpy(np.array(dense_table.train.dense)))
    assert torch.equal(copied.dense, mapped.dense) and mapped.dense.shape == (len(mapped), 2)
    row_ids = torch.arange(len(mapped), dtype=torch.float32)
    aligned = (mapped.dense, row_ids)
    batches = list(epoch_batches(mapped, 700, generator=torch.Generator().manual_seed(2), aligned=aligned))
    reference = epoch_batches(
        copied, 700, generator=torch.Generator().manual_seed(2), aligned=(copied.dense, row_ids)
    )
    for (x, y, dense, ids), (rx, ry, rdense, _) in zip(batches, reference, strict=True):
        rows = ids.long()
        assert torch.equal(x, mapped.x[rows]) and torch.equal(dense, mapped.dense[rows])
        assert torch.equal(x, rx) and torch.equal(y, ry) and torch.equal(dense, rdense)
    assert sorted(torch.cat([b[3] for b in batches]).long().tolist()) == list(range(len(mapped)))


def test_a_mapped_dense_trial_gives_the_in_memory_trials_result(dense_table, monkeypatch):
    _, copied = _mapped_and_copied_trials(dense_table, 256, monkeypatch)
    assert copied["student"]["test_auc"] > 0.6  # the hours decide the label: the dense value is used
