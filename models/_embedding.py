"""Shared field embedding: one table over the concatenated per-field vocabularies."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FieldEmbedding"]


class FieldEmbedding(nn.Module):
    """Embed ``F`` categorical fields, each with its own vocabulary, into ``(batch, fields, dim)``.

    One ``nn.Embedding`` holds every field's rows back to back; a buffer of per-field offsets shifts each
    field's local index into its slice (one gather instead of ``F`` small ones). Index 0 of every field is
    that field's unknown / rare / missing token, so each vocabulary size includes it.

    Init: xavier-normal over the whole concatenated table, as RecBole's ``FMEmbedding`` does (std
    ``sqrt(2 / (sum(vocab_sizes) + dim))``), so the teacher and student see the scale the reference used.

    Indices are not range-checked on the hot path (that would force a device sync); an index at or above its
    field's vocabulary size silently reads the next field's rows.
    """

    def __init__(self, vocab_sizes: list[int], embedding_size: int) -> None:
        super().__init__()
        if not vocab_sizes or any(int(v) < 1 for v in vocab_sizes):
            raise ValueError(f"vocab_sizes must be a non-empty list of positive ints, got {vocab_sizes!r}")
        if embedding_size < 1:
            raise ValueError(f"embedding_size must be positive, got {embedding_size}")
        self.vocab_sizes = [int(v) for v in vocab_sizes]
        self.num_fields = len(self.vocab_sizes)
        self.embedding_size = embedding_size
        self.embedding = nn.Embedding(sum(self.vocab_sizes), embedding_size)
        offsets = torch.tensor([0, *self.vocab_sizes[:-1]], dtype=torch.long).cumsum(0)
        # A buffer, not a Python list: it follows .to(device) with the table and lands in state_dict.
        self.register_buffer("offsets", offsets)
        nn.init.xavier_normal_(self.embedding.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x`` LongTensor ``(batch, fields)`` of per-field indices to ``(batch, fields, dim)``."""
        return self.embedding(x + self.offsets)
