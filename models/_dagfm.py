"""DAGFM student (Tian et al., WSDM 2023): learnable interactions along a DAG of fields."""

from __future__ import annotations

import torch
from torch import nn

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
    """

    def __init__(self, num_fields: int, embedding_size: int, depth: int, interaction: str = "outer") -> None:
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
        self.linear = nn.Linear(f * (depth + 1), 1)

    def _masked(self, p: torch.Tensor) -> torch.Tensor:
        """Zero the non-edges of ``p`` (F, F, ...) once per forward, not once per sample."""
        return p * self.mask.view(*self.mask.shape, *([1] * (p.dim() - 2)))

    def hidden_states(self, emb: torch.Tensor) -> list[torch.Tensor]:
        """``emb`` ``(batch, fields, dim)`` -> ``[h^0, ..., h^L]``, each ``(batch, fields, dim)``."""
        h0 = torch.matmul(self.connect_layer, emb)  # (batch, fields, dim): h0_s = Σ_f C[s, f] E_f
        states = [h0]
        for i in range(self.depth):
            h, p = states[-1], self._masked(self.p[i])
            if self.interaction == "inner":
                aggr = torch.einsum("bfd,fsd->bsd", h, p)
            elif self.interaction == "outer":
                term = torch.einsum("bfd,fsd->bfs", h, p)  # (batch, from, to) edge weights
                aggr = torch.einsum("bfs,fsd->bsd", term, self.q[i])
            else:
                aggr = torch.einsum("bfe,fsde->bsd", h, p)
            states.append(h0 * aggr)
        return states

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        """``emb`` ``(batch, fields, dim)`` -> logits ``(batch,)``."""
        pooled = torch.cat([h.sum(-1) for h in self.hidden_states(emb)], dim=-1)  # (batch, F(L+1))
        return self.linear(pooled).squeeze(-1)
