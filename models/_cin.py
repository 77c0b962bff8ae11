"""CIN teacher: xDeepFM's compressed interaction network without its DNN and linear part."""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn
from torch.autograd.function import once_differentiable

__all__ = ["CIN"]


class _Outer(torch.autograd.Function):
    """``(n, H), (n, F) -> (n, H, F)`` outer product whose backward is two batched mat-vecs.

    Autograd's backward of the broadcast ``mul`` materialises two ``(n, H, F)`` temporaries and reduces them
    (one over a strided axis); ``bmm`` reads the incoming gradient once. Measured on 2 CPU cores: a CIN
    [200]*3 training step goes from ~1.0 s to ~0.75 s.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, x0)
        return x.unsqueeze(-1) * x0.unsqueeze(-2)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        x, x0 = ctx.saved_tensors
        # Under autocast x (an addmm output) may be bf16 while x0 and grad are float32: bmm needs one dtype.
        grad_x = grad_x0 = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.bmm(grad, x0.to(grad.dtype).unsqueeze(-1)).squeeze(-1).to(x.dtype)
        if ctx.needs_input_grad[1]:
            grad_x0 = torch.bmm(x.to(grad.dtype).unsqueeze(-2), grad).squeeze(-2).to(x0.dtype)
        return grad_x, grad_x0


class CIN(nn.Module):
    """Compressed interaction network: ``(batch, fields, dim) -> logits (batch,)``.

    Layer ``k`` maps ``x_{k-1}`` ``(batch, H_{k-1}, dim)`` to ``x_k`` ``(batch, H_k, dim)``:
    ``x_k[:, j, d] = b_j + Σ_{h,m} W_k[j, h·F + m] · x_{k-1}[:, h, d] · x0[:, m, d]``, i.e. a kernel-1
    ``Conv1d(H_{k-1}·F -> H_k)`` over the outer product (the reference's layout: previous layer outer, ``x0``
    inner). No activation, no split-half. ``logit = p · w`` with ``p = concat_k Σ_D x_k`` and no bias.

    Speed: the hidden states are kept as ``(batch·dim, H)`` so each layer is ONE 2-D GEMM
    ``(batch·dim, H_{k-1}·F) @ (H_{k-1}·F, H_k)`` with the bias fused (``addmm``), and the outer product has
    a bmm backward (``_Outer``); on 2 CPU cores (B=1024, F=9, D=16, [200]*3) a training step takes ~0.7 s
    against ~1.0 s for the reference's ``(batch, H·F, dim)`` Conv1d.

    Init: ``W_k`` and ``b_k`` as ``nn.Conv1d`` does (uniform ``±1/sqrt(H_{k-1}·F)``, the reference never
    re-inits them); ``w`` normal with std 0.01 as in the reference.
    """

    def __init__(self, num_fields: int, embedding_size: int, layers: list[int]) -> None:
        super().__init__()
        if not layers or any(int(h) < 1 for h in layers) or num_fields < 1 or embedding_size < 1:
            raise ValueError(
                f"layers must be a non-empty list of positive ints and num_fields, embedding_size positive, "
                f"got {layers!r}, {num_fields}, {embedding_size}"
            )
        self.num_fields = num_fields
        self.layers = [int(h) for h in layers]
        sizes = [num_fields, *self.layers]
        self.weight = nn.ParameterList()
        self.bias = nn.ParameterList()
        for h_in, h_out in itertools.pairwise(sizes):
            bound = 1.0 / math.sqrt(h_in * num_fields)
            self.weight.append(nn.Parameter(torch.empty(h_out, h_in * num_fields).uniform_(-bound, bound)))
            self.bias.append(nn.Parameter(torch.empty(h_out).uniform_(-bound, bound)))
        self.w = nn.Parameter(torch.empty(sum(self.layers)).normal_(0.0, 0.01))

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        """``emb`` ``(batch, fields, dim)`` -> logits ``(batch,)``."""
        batch, _, dim = emb.shape
        x0 = emb.transpose(1, 2).reshape(batch * dim, -1)  # (batch·dim, fields)
        x = x0  # (batch·dim, H_{k-1})
        pooled = []
        for weight, bias in zip(self.weight, self.bias, strict=True):
            # z[(b, d), h·F + m] = x[(b, d), h] · x0[(b, d), m]: contiguous (batch·dim, H·F) for one GEMM.
            z = _Outer.apply(x, x0).reshape(batch * dim, -1)
            x = torch.addmm(bias, z, weight.t())  # (batch·dim, H_k)
            pooled.append(x.view(batch, dim, -1).sum(1))  # (batch, H_k)
        # (batch, ΣH) @ (ΣH, 1) as a mm rather than a mv: same cost, and FlopCounterMode counts mm (not mv).
        return torch.mm(torch.cat(pooled, dim=-1), self.w.unsqueeze(-1)).squeeze(-1)
