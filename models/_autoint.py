"""AutoInt teacher: multi-head self-attention over fields, residual connections (Song et al., CIKM 2019)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._mlp import MLP, check_hidden, xavier_linear

__all__ = ["AutoInt", "MultiHeadSelfAttention"]


class MultiHeadSelfAttention(nn.Module):
    """One AutoInt interacting layer: ``(batch, fields, input_dim) -> (batch, fields, attention_dim)``.

    Per head ``h`` (``attention_dim / heads`` wide): ``α_{m,k} = softmax_k(<W_Q e_m, W_K e_k>)`` (unscaled, as
    in the paper), ``ẽ_m = Σ_k α_{m,k} W_V e_k``; then ``out_m = relu(concat_h ẽ_m + W_Res e_m)``. Dropout
    (training only) on ``α``. ``W_Q, W_K, W_V, W_Res`` are ``input_dim × attention_dim`` without bias.
    """

    def __init__(self, input_dim: int, attention_dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.query = xavier_linear(input_dim, attention_dim, bias=False)
        self.key = xavier_linear(input_dim, attention_dim, bias=False)
        self.value = xavier_linear(input_dim, attention_dim, bias=False)
        self.residual = xavier_linear(input_dim, attention_dim, bias=False)

    def _split(self, z: torch.Tensor) -> torch.Tensor:
        batch, fields, dim = z.shape  # (batch, fields, A) -> (batch, heads, fields, A / heads)
        return z.view(batch, fields, self.heads, dim // self.heads).transpose(1, 2)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """``e`` ``(batch, fields, input_dim)`` -> ``(batch, fields, attention_dim)``."""
        q, k, v = self._split(self.query(e)), self._split(self.key(e)), self._split(self.value(e))
        scores = q @ k.transpose(-1, -2)  # (batch, heads, fields, fields): <W_Q e_m, W_K e_k>
        alpha = F.dropout(scores.softmax(dim=-1), self.dropout, self.training)
        heads = alpha @ v  # (batch, heads, fields, A / heads)
        merged = heads.transpose(1, 2).flatten(2)  # (batch, fields, A): concat over heads
        return F.relu(merged + self.residual(e))


class AutoInt(nn.Module):
    """AutoInt (AutoInt+ when ``hidden`` is non-empty): ``(batch, fields, dim) -> logits (batch,)``.

    ``h^0 = E``, ``h^l = MultiHeadSelfAttention(h^{l-1})`` for ``l = 1..attention_layers`` (residual always);
    ``logit = Linear(F·A -> 1)(flatten(h^L))``, plus ``MLP(flatten(E)) -> 1`` for AutoInt+ (``hidden`` ReLU
    layers, dropout after each, and a final ``Linear(hidden[-1] -> 1)``). ``dropout`` also applies to the
    attention weights. Parameters: ``Σ_l 4·d_{l-1}·A`` (``d_0 = D``, then ``A``) ``+ F·A + 1``, plus the
    DNN's ``Σ_k (h_{k-1} + 1)·h_k + h_K + 1`` (``h_0 = F·D``) for AutoInt+.
    """

    def __init__(
        self,
        num_fields: int,
        embedding_size: int,
        attention_layers: int = 3,
        heads: int = 2,
        attention_dim: int = 32,
        hidden: Sequence[int] = (),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if min(num_fields, embedding_size, attention_layers, heads, attention_dim) < 1:
            raise ValueError(
                f"num_fields, embedding_size, attention_layers, heads and attention_dim must be positive, "
                f"got {num_fields}, {embedding_size}, {attention_layers}, {heads}, {attention_dim}"
            )
        if attention_dim % heads:
            raise ValueError(f"attention_dim ({attention_dim}) must be divisible by heads ({heads})")
        sizes = check_hidden(hidden, dropout, allow_empty=True)
        dims = [embedding_size] + [attention_dim] * attention_layers
        self.attention = nn.ModuleList(
            MultiHeadSelfAttention(d, attention_dim, heads, dropout) for d in dims[:-1]
        )
        self.linear = xavier_linear(num_fields * attention_dim, 1)
        self.dnn = MLP(num_fields * embedding_size, sizes, 1, dropout) if sizes else None

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        """``emb`` ``(batch, fields, dim)`` -> logits ``(batch,)``."""
        h = emb
        for layer in self.attention:
            h = layer(h)  # (batch, fields, A)
        logit = self.linear(h.flatten(1)).squeeze(-1)  # (batch, F·A) -> (batch,)
        if self.dnn is not None:
            logit = logit + self.dnn(emb.flatten(1)).squeeze(-1)
        return logit
