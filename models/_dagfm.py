"""DAGFM student (Tian et al., WSDM 2023): learnable interactions along a DAG of fields; KD-DAGFM+'s MLP."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._mlp import MLP, check_hidden

__all__ = ["DAGFM", "INTERACTIONS"]

INTERACTIONS = ("inner", "outer", "kernel")


def _xavier(*shape: int) -> nn.Parameter:
    # RecBole inits p and q with xavier-normal gain 1.414 (the reference leaves inner-p standard normal).
    return nn.Parameter(nn.init.xavier_normal_(torch.empty(*shape), gain=1.414))


class DAGFM(nn.Module):
    """Directed-acyclic-graph factorisation machine: ``(batch, fields, dim) -> logits (batch,)``.

    ``h0 = C·E`` with ``C`` (fields × fields) initialised to the identity; node ``s`` of layer ``l+1``
    aggregates every node ``f <= s`` of layer ``l`` and multiplies by ``h0_s``:

    - inner:  ``h^{l+1}_s = h0_s ⊙ Σ_{f<=s} p_{f,s} ⊙ h^l_f``             (p: F×F×D)
    - outer:  ``h^{l+1}_s = h0_s ⊙ Σ_{f<=s} <h^l_f, p_{f,s}> q_{f,s}``     (p, q: F×F×D)
    - kernel: ``h^{l+1}_s = h0_s ⊙ Σ_{f<=s} W_{f,s} h^l_f``                (W: F×F×D×D; the paper's
      third variant, absent from the reference code)

    Read-out: ``Linear(F(L+1) -> 1)`` over ``concat_l Σ_D h^l`` for ``l = 0..L``; no first-order term.

    KD-DAGFM+ (``mlp`` non-empty, the paper's student for teachers with implicit interactions): the logit
    gains ``MLP(flatten(E)) -> 1`` (``mlp`` ReLU layers, then ``Linear(mlp[-1] -> 1)``), i.e. parameters
    ``Σ_k (h_{k-1} + 1)·h_k + h_K + 1`` with ``h_0 = F·D``. With ``mlp`` empty nothing is added: the same
    parameters (names, count, seeded init) and logits as the plain DAGFM. The MLP is built after the DAGFM
    weights, so for one seed the DAGFM part of a DAGFM+ starts as the plain DAGFM does.
    """

    mask: torch.Tensor

    def __init__(
        self,
        num_fields: int,
        embedding_size: int,
        depth: int,
        interaction: str = "outer",
        mlp: Sequence[int] = (),
    ) -> None:
        super().__init__()
        if interaction not in INTERACTIONS:
            raise ValueError(f"interaction must be one of {INTERACTIONS}, got {interaction!r}")
        if depth < 1 or num_fields < 1 or embedding_size < 1:
            raise ValueError(
                f"num_fields, embedding_size and depth must be positive, got {num_fields}, "
                f"{embedding_size}, {depth}"
            )
        f, d = num_fields, embedding_size
        self.num_fields, self.embedding_size, self.depth, self.interaction = f, d, depth, interaction
        self.connect_layer = nn.Parameter(torch.eye(f))
        if interaction == "kernel":
            self.p = nn.ParameterList(_xavier(f, f, d, d) for _ in range(depth))
        else:
            self.p = nn.ParameterList(_xavier(f, f, d) for _ in range(depth))
        # q is only used by "outer"; an empty list keeps the parameter count of "inner" exact.
        n_q = depth if interaction == "outer" else 0
        self.q = nn.ParameterList(_xavier(f, f, d) for _ in range(n_q))
        # mask[f, s] = 1 iff f <= s (upper triangle incl. diagonal): the DAG edges. A non-persistent buffer
        # follows .to() and never trains, and old checkpoints stay loadable if its layout changes.
        self.register_buffer("mask", torch.triu(torch.ones(f, f)), persistent=False)
        # Zero the non-edges of p and q from the start. They never reach the output, so their only gradient
        # is weight decay, under which Adam shrinks them geometrically until they stick at the smallest
        # subnormal float, where every CPU op on them is many times slower (finetuning on ml-100k fell from
        # ~240k to ~80k samples/s). At exactly zero their gradient is zero and they stay there.
        with torch.no_grad():
            for param in (*self.p, *self.q):
                param.mul_(self._mask_like(param))
        self.linear = nn.Linear(f * (depth + 1), 1)
        nn.init.xavier_normal_(self.linear.weight)  # as RecBole's xavier_normal_initialization
        nn.init.zeros_(self.linear.bias)
        # None registers nothing: a plain DAGFM's state dict holds no MLP keys (it loads as a DAGFM).
        mlp_sizes = check_hidden(mlp, allow_empty=True, name="mlp")
        self.mlp = MLP(f * d, mlp_sizes, 1) if mlp_sizes else None

    def _mask_like(self, p: torch.Tensor) -> torch.Tensor:
        return self.mask.view(*self.mask.shape, *([1] * (p.dim() - 2)))

    def _masked(self, p: torch.Tensor) -> torch.Tensor:
        """Zero the non-edges of ``p`` (F, F, ...) once per forward, not once per sample (a loaded or
        hand-edited ``p`` may hold non-zero non-edges)."""
        return p * self._mask_like(p)

    def _field_major_states(self, emb: torch.Tensor) -> list[torch.Tensor]:
        """``emb`` ``(batch, fields, dim)`` -> ``[h^0, ..., h^L]`` in the interaction's working layout.

        Speed: states stay field-major so every layer is one or two batched GEMMs with no per-layer
        permute of the states (einsum over ``(batch, fields, dim)`` re-lays them out on every call; on 2 CPU
        cores the outer layer's forward + backward went from ~2.7 ms to ~0.7 ms at batch 1024):
        inner works on ``(dim, fields, batch)`` (a bmm over dim), outer and kernel on
        ``(fields, dim, batch)`` (a bmm over the source field, then over the target field / one GEMM).
        """
        f, d = self.num_fields, self.embedding_size
        if self.interaction == "inner":
            e = emb.permute(2, 1, 0).contiguous()  # (dim, fields, batch)
            h0 = torch.matmul(self.connect_layer, e)  # h0_s = Σ_f C[s, f] E_f
        else:
            e = emb.permute(1, 2, 0).contiguous()  # (fields, dim, batch)
            h0 = torch.mm(self.connect_layer, e.view(f, -1)).view(f, d, -1)
        states = [h0]
        for i in range(self.depth):
            h, p = states[-1], self._masked(self.p[i])
            if self.interaction == "inner":
                # (dim, to, from) @ (dim, from, batch): Σ_f p[f, s, d] h[d, f, b]
                aggr = torch.bmm(p.permute(2, 1, 0), h)
            elif self.interaction == "outer":
                term = torch.bmm(p, h)  # (from, to, dim) @ (from, dim, batch): <h_f, p_fs> per edge
                # (to, dim, from) @ (to, from, batch): Σ_f <h_f, p_fs> q_fs
                aggr = torch.bmm(self.q[i].permute(1, 2, 0), term.transpose(0, 1))
            else:
                kernel = p.permute(1, 2, 0, 3).reshape(f * d, f * d)  # [(s, d), (f, e)] = W_fs[d, e]
                aggr = torch.mm(kernel, h.view(f * d, -1)).view(f, d, -1)
            states.append(h0 * aggr)
        return states

    def _pool_dim(self) -> int:
        return 0 if self.interaction == "inner" else 1

    def hidden_states(self, emb: torch.Tensor) -> list[torch.Tensor]:
        """``emb`` ``(batch, fields, dim)`` -> ``[h^0, ..., h^L]``, each ``(batch, fields, dim)``."""
        order = (2, 1, 0) if self.interaction == "inner" else (2, 0, 1)
        return [h.permute(*order) for h in self._field_major_states(emb)]

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        """``emb`` ``(batch, fields, dim)`` -> logits ``(batch,)``."""
        states = self._field_major_states(emb)
        pooled = torch.cat([h.sum(self._pool_dim()) for h in states])  # (F(L+1), batch), layer-major
        logit = torch.nn.functional.linear(pooled.t(), self.linear.weight, self.linear.bias).squeeze(-1)
        if self.mlp is not None:  # KD-DAGFM+: (batch, F·D) -> (batch, 1) -> (batch,)
            logit = logit + self.mlp(emb.flatten(1)).squeeze(-1)
        return logit
