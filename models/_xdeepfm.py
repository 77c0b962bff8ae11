"""xDeepFM teacher: CIN + DNN + a first-order linear term (Lian et al., KDD 2018)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from ._cin import CIN
from ._embedding import FieldEmbedding
from ._mlp import MLP, check_hidden

__all__ = ["XDeepFM"]


class XDeepFM(nn.Module):
    """xDeepFM: ``(batch, fields, dim)`` embeddings and ``(batch, fields)`` indices ``-> logits (batch,)``.

    ``logit = Σ_f w[x_f]  +  CIN(E)  +  DNN(flatten(E))``:

    - linear: one scalar weight per feature value (``w`` has ``Σ vocab_sizes`` rows, xavier-normal like the
      shared embedding), no bias of its own; a dense field's weight is scaled by its value, as its embedding
      is (``dense_fields``, ``dense``: see ``FieldEmbedding``);
    - CIN: the CIN teacher (``layers``; ``p · w_cin``, no bias);
    - DNN: ``hidden`` ReLU layers (dropout after each) over ``(batch, F·D)``, then
      ``Linear(hidden[-1] -> 1)``, whose bias is the model's only bias (the paper's ``b``).

    The linear term needs the field indices, not the shared embeddings, so this teacher takes them as a
    second ``forward`` argument and owns its per-value weights: ``takes_indices`` tells ``KDDAGFM`` to
    pass ``vocab_sizes`` when it builds the teacher and ``x`` when it runs it. Parameters:
    ``Σ vocab_sizes`` + CIN ``Σ_k H_k·(H_{k-1}·F + 1) + Σ_k H_k`` + DNN ``Σ_k (h_{k-1} + 1)·h_k + h_K + 1``.
    """

    takes_indices: ClassVar[bool] = True

    def __init__(
        self,
        num_fields: int,
        embedding_size: int,
        layers: Sequence[int] = (200, 200, 200),
        hidden: Sequence[int] = (400, 400, 400),
        dropout: float = 0.0,
        *,
        vocab_sizes: Sequence[int],
        dense_fields: Sequence[int] = (),
    ) -> None:
        super().__init__()
        if len(vocab_sizes) != num_fields:
            raise ValueError(f"vocab_sizes must have num_fields={num_fields} entries, got {len(vocab_sizes)}")
        # (batch, fields) -> (batch, fields, 1)
        self.linear = FieldEmbedding(list(vocab_sizes), 1, dense_fields)
        self.cin = CIN(num_fields, embedding_size, list(layers))
        self.dnn = MLP(num_fields * embedding_size, check_hidden(hidden, dropout), 1, dropout)

    def forward(self, emb: torch.Tensor, x: torch.Tensor, dense: torch.Tensor | None = None) -> torch.Tensor:
        """``emb`` ``(batch, fields, dim)``, ``x`` LongTensor ``(batch, fields)`` (and ``dense`` ``(batch,
        dense fields)`` with dense fields) -> logits ``(batch,)``."""
        first_order = self.linear(x, dense).sum(dim=(1, 2))  # Σ_f w[x_f]: (batch, fields, 1) -> (batch,)
        return first_order + self.cin(emb) + self.dnn(emb.flatten(1)).squeeze(-1)
