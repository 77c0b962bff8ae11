"""Evaluation metrics: ROC AUC (scikit-learn's exact rank-based implementation) and log loss from logits."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["auc", "logloss_from_logits"]


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of ``scores`` (any monotone transform of the probability: logits are fine) against 0/1 labels.

    Returns NaN when only one class is present (AUC is undefined there), instead of raising.
    """
    # Imported here: scikit-learn (with SciPy, pandas, pyarrow) is most of a second of start-up, not
    # needed before the first validation.
    from sklearn.metrics import roc_auc_score

    if labels.min() == labels.max():
        return float("nan")
    return float(roc_auc_score(labels, scores))


def logloss_from_logits(labels: torch.Tensor, logits: torch.Tensor) -> float:
    """Mean binary cross-entropy, computed from logits so that confident predictions stay finite."""
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), labels.float())
    return float(loss)
