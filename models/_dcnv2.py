"""DCN-V2 teacher: the cross network and a DNN, stacked or in parallel (Wang et al., WWW 2021)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._crossnet import CrossNetwork
from ._mlp import MLP, check_hidden, xavier_linear

__all__ = ["STRUCTURES", "DCNv2"]

STRUCTURES = ("stacked", "parallel")


class DCNv2(nn.Module):
    """DCN-V2: ``(batch, fields, dim) -> logits (batch,)``.

    ``x0 = flatten(E)`` ``(batch, n = F·D)``; ``x_c = CrossNetwork(x0)`` (``depth`` layers, full rank or
    ``U V^T`` of rank ``low_rank``); ``DNN`` = ``hidden`` ReLU layers (dropout after each), no output layer.

    - stacked:  ``logit = w · DNN(x_c) + b``                        (``w``: ``hidden[-1]``)
    - parallel: ``logit = w · concat(x_c, DNN(x0)) + b``            (``w``: ``n + hidden[-1]``)

    Parameters: cross ``depth·(n² + n)`` (low rank: ``depth·(2·n·r + n)``), DNN ``Σ_k (h_{k-1} + 1)·h_k`` with
    ``h_0 = n``, read-out ``hidden[-1] + 1`` (stacked) or ``n + hidden[-1] + 1`` (parallel). The cross
    layers are initialised as the CrossNet teacher's; DNN and read-out xavier-normal with zero biases.
    """

    def __init__(
        self,
        num_fields: int,
        embedding_size: int,
        depth: int = 3,
        hidden: Sequence[int] = (400, 400, 400),
        structure: str = "parallel",
        low_rank: int = 0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if structure not in STRUCTURES:
            raise ValueError(f"structure must be one of {STRUCTURES}, got {structure!r}")
        if num_fields < 1 or embedding_size < 1:
            raise ValueError(
                f"num_fields and embedding_size must be positive, got {num_fields}, {embedding_size}"
            )
        n = num_fields * embedding_size
        sizes = check_hidden(hidden, dropout)
        self.structure = structure
        self.cross = CrossNetwork(n, depth, low_rank)
        self.dnn = MLP(n, sizes, dropout=dropout)
        self.linear = xavier_linear(sizes[-1] + (n if structure == "parallel" else 0), 1)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        """``emb`` ``(batch, fields, dim)`` -> logits ``(batch,)``."""
        x0 = emb.flatten(1)  # (batch, n)
        if self.structure == "stacked":
            h = self.dnn(self.cross(x0))  # (batch, hidden[-1])
        else:
            h = torch.cat([self.cross(x0), self.dnn(x0)], dim=-1)  # (batch, n + hidden[-1])
        return self.linear(h).squeeze(-1)
