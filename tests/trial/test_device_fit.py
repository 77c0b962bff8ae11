"""Whether a mapped dataset's codes go to a CUDA device: the free memory must hold everything that goes there
(codes, labels, dense values), not the codes alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from kdbench.bench.batches import MAP_ABOVE_ENV, trial_splits
from kdbench.bench.data import prepare

ROWS = 4_000


class _Asked(Exception):
    pass


def test_the_device_share_counts_labels_and_dense_values(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "y": rng.integers(0, 2, ROWS),
            "métier": rng.choice(["ingénieur", "boulanger", "médecin"], ROWS),
            "heures_travaillées": rng.normal(40, 10, ROWS).round(1),
            "poids": rng.lognormal(10, 1, ROWS).round(0),
        }
    )
    frame.to_csv(tmp_path / "dense.csv", index=False)
    schema = {
        "label": "y",
        "categorical": ["métier"],
        "numeric": {"heures_travaillées": "dense", "poids": "dense"},
    }
    data = prepare("csv", path=tmp_path / "dense.csv", schema=schema, home=tmp_path / "home")
    asked: list[int] = []

    def fits(nbytes: int, device: torch.device) -> bool:
        asked.append(nbytes)
        raise _Asked  # no CUDA here: stop before anything is copied

    monkeypatch.setenv(MAP_ABOVE_ENV, "0")
    monkeypatch.setattr("kdbench.bench.batches._fits_device", fits)
    with pytest.raises(_Asked):
        trial_splits({s: getattr(data, s) for s in ("train", "valid", "test")}, torch.device("cuda"))
    codes = 4 * ROWS * len(data.field_names)  # int32
    assert asked == [codes + 4 * ROWS + 4 * ROWS * 2]  # + float32 labels + 2 float32 dense values a row
