"""The DNN block every model shares: Linear + ReLU (+ Dropout) per hidden layer, an optional output Linear."""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MLP", "xavier_linear"]


def xavier_linear(in_features: int, out_features: int, bias: bool = True) -> nn.Linear:
    """``nn.Linear`` with xavier-normal weights and zero bias (RecBole's and FuxiCTR's init for Linear)."""
    linear = nn.Linear(in_features, out_features, bias=bias)
    nn.init.xavier_normal_(linear.weight)
    if bias:
        nn.init.zeros_(linear.bias)
    return linear


def check_hidden(
    hidden: Sequence[int], dropout: float = 0.0, *, allow_empty: bool = False, name: str = "hidden"
) -> list[int]:
    """``hidden`` as a list of positive ints; ValueError naming ``name`` (or ``dropout``) otherwise."""
    kind = "a list of positive ints" if allow_empty else "a non-empty list of positive ints"
    if isinstance(hidden, str) or not isinstance(hidden, Sequence):
        raise ValueError(f"{name} must be {kind}, got {hidden!r}")
    sizes = list(hidden)
    if not (sizes or allow_empty) or any(
        isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1 for h in sizes
    ):
        raise ValueError(f"{name} must be {kind}, got {hidden!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    return [int(h) for h in sizes]


class MLP(nn.Module):
    """``(batch, input_dim) -> (batch, hidden[-1])``, or ``(batch, output_dim)`` when ``output_dim`` is set.

    Hidden layer ``k``: ``h_k = dropout(relu(W_k h_{k-1} + b_k))``; then ``out = W_o h_K + b_o`` (no
    activation) if ``output_dim``. Empty ``hidden`` is the identity (or a single Linear with ``output_dim``).
    Parameters: ``Σ_k (h_{k-1} + 1)·h_k`` (``h_0 = input_dim``) plus ``(h_K + 1)·output_dim``.
    """

    def __init__(
        self, input_dim: int, hidden: Sequence[int], output_dim: int | None = None, dropout: float = 0.0
    ) -> None:
        super().__init__()
        sizes = check_hidden(hidden, dropout, allow_empty=True)
        if input_dim < 1 or (output_dim is not None and output_dim < 1):
            raise ValueError(f"input_dim and output_dim must be positive, got {input_dim}, {output_dim}")
        self.dropout = float(dropout)
        self.hidden = nn.ModuleList(xavier_linear(a, b) for a, b in itertools.pairwise([input_dim, *sizes]))
        last = sizes[-1] if sizes else input_dim
        self.output = xavier_linear(last, output_dim) if output_dim is not None else None
        self.output_dim = output_dim if output_dim is not None else last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(batch, input_dim)`` -> ``(batch, output_dim or hidden[-1])``."""
        for linear in self.hidden:
            x = F.dropout(F.relu(linear(x)), self.dropout, self.training)
        return self.output(x) if self.output is not None else x
