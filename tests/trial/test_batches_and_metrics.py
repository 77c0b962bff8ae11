"""The epoch batch iterator and the evaluation metrics (against scikit-learn)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import log_loss, roc_auc_score

from kdbench.bench.batches import epoch_batches, to_tensor_split
from kdbench.bench.trial import auc, logloss_from_logits


def _split(n: int = 1000):
    x = np.arange(n * 3, dtype=np.int32).reshape(n, 3)
    y = (np.arange(n) % 2).astype(np.float32)
    return to_tensor_split(x, y, torch.device("cpu"))


def test_an_epoch_covers_every_row_once_with_aligned_labels():
    split = _split()
    batches = list(epoch_batches(split, 64, generator=torch.Generator().manual_seed(0)))
    assert [len(y) for _, y in batches] == [64] * 15 + [40]
    x = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    assert sorted(x[:, 0].tolist()) == list(range(0, 3000, 3))
    assert torch.equal(y, ((x[:, 0] // 3) % 2).float())  # labels travel with their rows
    assert x.dtype == torch.int32


def test_aligned_tensors_follow_the_rows():
    split = _split()
    row_ids = torch.arange(len(split), dtype=torch.float32) * 3  # = x[:, 0] of each row
    batches = list(epoch_batches(split, 64, generator=torch.Generator().manual_seed(0), aligned=(row_ids,)))
    assert all(len(b) == 3 for b in batches)
    for x, _, z in batches:
        assert torch.equal(z, x[:, 0].float())
    with pytest.raises(ValueError, match="one row per sample"):
        next(epoch_batches(split, 64, aligned=(row_ids[:-1],)))


def test_shuffle_is_seeded_and_changes_per_epoch():
    split = _split()
    order = lambda g: torch.cat([b[0][:, 0] for b in epoch_batches(split, 100, generator=g)])  # noqa: E731
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    first, again = order(g1), order(g2)
    assert torch.equal(first, again)
    assert not torch.equal(order(g1), first)  # the next epoch is a new permutation
    assert torch.equal(
        torch.cat([b[0][:, 0] for b in epoch_batches(split, 100, shuffle=False)]), torch.arange(0, 3000, 3)
    )


def test_metrics_match_scikit_learn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 5000).astype(np.float32)
    logits = (rng.normal(size=5000) + y).astype(np.float32)
    logits[:100] = 0.0  # ties
    assert auc(y, logits) == pytest.approx(roc_auc_score(y, logits), abs=1e-12)
    probs = 1 / (1 + np.exp(-logits.astype(np.float64)))
    assert logloss_from_logits(torch.from_numpy(y), torch.from_numpy(logits)) == pytest.approx(
        log_loss(y, probs), abs=1e-5
    )
    assert np.isnan(auc(np.ones(10), np.arange(10.0)))
