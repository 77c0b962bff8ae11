"""Synthetic CTR tasks with a known interaction order, and a small trainer for one KD phase.

``logit = Σ_terms c_t · Π_{f ∈ t} s_f`` with ``s_f = ±1`` per value (half of each field's values each sign,
drawn at random), ``y ~ Bernoulli(σ(logit))``. A product of ``k`` signs is uncorrelated with every product of
fewer of them, so a term of order ``k`` is invisible to a model limited to lower orders.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from sklearn.metrics import roc_auc_score

from kdbench.models import KDDAGFM

THIRD_ORDER = {(0, 1, 2): 3.0, (3,): 1.5}  # a pure triple interaction plus a first-order field
SECOND_ORDER = {(0, 1): 3.0, (2,): 1.5}


@dataclass(frozen=True)
class SignTask:
    x: torch.Tensor  # (rows, fields) long
    y: torch.Tensor  # (rows,) float labels
    logit: torch.Tensor  # (rows,) the true logit
    lower_logit: torch.Tensor  # (rows,) the true logit without its highest-order terms
    n_train: int
    vocab: int

    def auc(self, scores: torch.Tensor) -> float:
        """Test AUC of ``scores`` ``(test rows,)``."""
        return float(roc_auc_score(self.y[self.n_train :].numpy(), scores.float().numpy()))

    @property
    def bayes_auc(self) -> float:
        """Test AUC of the true logit: the best any model can do on this sample."""
        return self.auc(self.logit[self.n_train :])

    @property
    def lower_order_auc(self) -> float:
        """Test AUC of the true logit without its top-order terms: what a model blind to that order gets."""
        return self.auc(self.lower_logit[self.n_train :])


def sign_task(
    terms: dict[tuple[int, ...], float],
    *,
    fields: int = 7,
    vocab: int = 8,
    n_train: int = 8000,
    n_test: int = 2000,
    seed: int = 2022,
) -> SignTask:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, vocab, (n_train + n_test, fields), generator=g)
    balanced = torch.tensor([1.0, -1.0]).repeat_interleave(vocab // 2)
    signs = torch.stack([balanced[torch.randperm(vocab, generator=g)] for _ in range(fields)])
    s = signs[torch.arange(fields), x]  # (rows, fields)
    top = max(len(t) for t in terms)
    parts = {t: c * s[:, list(t)].prod(dim=1) for t, c in terms.items()}
    logit = sum(parts.values())
    lower = sum((p for t, p in parts.items() if len(t) < top), torch.zeros(len(x)))
    y = torch.bernoulli(torch.sigmoid(logit), generator=g)
    return SignTask(x, y, logit, lower, n_train, vocab)


def train_phase(model: KDDAGFM, task: SignTask, phase: str, epochs: int, lr: float) -> float:
    """Train ``phase`` for ``epochs`` (batch 256, Adam) and return the phase's test AUC."""
    x, y, n = task.x, task.y, task.n_train
    optimizer = torch.optim.Adam(model.set_phase(phase), lr=lr)
    for _ in range(epochs):
        for idx in torch.randperm(n).split(256):
            loss = model.loss((x[idx], y[idx]), phase)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.inference_mode():
        return task.auc(model.predict(x[n:], phase))
