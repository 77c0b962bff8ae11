"""The DCN-V2 cross network: a reusable layer (``CrossNetwork``) and the CrossNet teacher (no DNN)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["CrossNet", "CrossNetwork"]


class CrossNetwork(nn.Module):
    """DCN-V2 cross layers: ``x0`` ``(batch, n) -> x_depth`` ``(batch, n)``.

    ``x_{l+1} = x0 ⊙ (W_l x_l + b_l) + x_l``; layer ``l`` reaches order ``l+1``. Full rank: ``W_l`` is
    ``n × n``. Low rank (``low_rank = r > 0``, DCN-V2's cheaper variant): ``W_l = U_l V_l^T`` with
    ``U_l, V_l`` ``n × r``, so ``W_l x_l = U_l (V_l^T x_l)`` costs ``2·n·r`` instead of ``n²`` multiply-adds.

    Init as the reference KD code and RecBole's ``KD_DAGFM``: ``W_l`` standard normal, ``b_l`` zero. (DCN-V2's
    xavier ``W_l`` starts the network almost linear; on MovieLens-100K with the paper's settings it left the
    teacher ~0.003 test AUC lower.) Low rank keeps that scale: ``U_l``, ``V_l`` normal with std ``r^(-1/4)``,
    so each entry of ``U_l V_l^T`` has variance 1 like a full-rank ``W_l``.
    """

    def __init__(self, input_dim: int, depth: int, low_rank: int = 0) -> None:
        super().__init__()
        if depth < 1 or input_dim < 1 or low_rank < 0:
            raise ValueError(
                f"input_dim and depth must be positive and low_rank >= 0, "
                f"got {input_dim}, {depth}, {low_rank}"
            )
        n = input_dim
        self.depth, self.low_rank = depth, low_rank
        if low_rank:
            std = low_rank**-0.25
            self.u = nn.ParameterList(nn.Parameter(torch.randn(n, low_rank) * std) for _ in range(depth))
            self.v = nn.ParameterList(nn.Parameter(torch.randn(n, low_rank) * std) for _ in range(depth))
        else:
            self.weight = nn.ParameterList(nn.Parameter(torch.randn(n, n)) for _ in range(depth))
        self.bias = nn.ParameterList(nn.Parameter(torch.zeros(n)) for _ in range(depth))

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        """``x0`` ``(batch, n)`` -> ``x_depth`` ``(batch, n)``."""
        x = x0
        for layer in range(self.depth):
            b = self.bias[layer]
            if self.low_rank:
                # (batch, n) @ (n, r) @ (r, n): W x = U (V^T x), rows of U V^T are outputs as in W x.
                wx = torch.addmm(b, x @ self.v[layer], self.u[layer].t())
            else:
                wx = torch.addmm(b, x, self.weight[layer].t())  # x @ W^T + b: one GEMM
            x = x0 * wx + x
        return x


class CrossNet(CrossNetwork):
    """CrossNet teacher (cross network, no DNN): ``(batch, fields, dim) -> logits (batch,)``.

    ``x0 = flatten(E)`` ``(batch, F·D)``; ``x_depth = CrossNetwork(x0)`` (full rank);
    ``logit = Linear(F·D -> 1)(x_depth)``, read-out xavier-normal with zero bias.

    A subclass rather than a wrapper so its parameters keep their names (``weight.l``, ``bias.l``,
    ``linear.*``) and their seeded init, the same as in every stored CrossNet teacher and result.
    """

    def __init__(self, num_fields: int, embedding_size: int, depth: int = 3) -> None:
        if depth < 1 or num_fields < 1 or embedding_size < 1:
            raise ValueError(
                f"num_fields, embedding_size and depth must be positive, got {num_fields}, "
                f"{embedding_size}, {depth}"
            )
        n = num_fields * embedding_size
        super().__init__(n, depth)
        self.linear = nn.Linear(n, 1)
        nn.init.xavier_normal_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        """``emb`` ``(batch, fields, dim)`` -> logits ``(batch,)``."""
        return self.linear(super().forward(emb.flatten(1))).squeeze(-1)  # (batch, F·D) -> (batch,)
