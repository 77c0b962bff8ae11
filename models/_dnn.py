"""DNN teacher: an MLP over the concatenated field embeddings (implicit interactions of every order)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._mlp import MLP, check_hidden

__all__ = ["DNN"]


class DNN(nn.Module):
    """Plain deep network: ``(batch, fields, dim) -> logits (batch,)``.

    ``logit = MLP(flatten(E))``: ``hidden`` ReLU layers (dropout after each) over ``(batch, F·D)``, then
    ``Linear(hidden[-1] -> 1)``. Parameters: ``Σ_k (h_{k-1} + 1)·h_k + h_K + 1`` with ``h_0 = F·D``.
    """

    def __init__(
        self,
        num_fields: int,
        embedding_size: int,
        hidden: Sequence[int] = (400, 400, 400),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if num_fields < 1 or embedding_size < 1:
            raise ValueError(
                f"num_fields and embedding_size must be positive, got {num_fields}, {embedding_size}"
            )
        self.mlp = MLP(num_fields * embedding_size, check_hidden(hidden, dropout), 1, dropout)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        """``emb`` ``(batch, fields, dim)`` -> logits ``(batch,)``."""
        return self.mlp(emb.flatten(1)).squeeze(-1)  # (batch, F·D) -> (batch, 1) -> (batch,)
