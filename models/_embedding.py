"""Shared field embedding: one table over the concatenated per-field vocabularies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

__all__ = ["FieldEmbedding", "dense_scale_index"]


def dense_scale_index(num_fields: int, dense_fields: Sequence[int]) -> torch.Tensor:
    """``(fields,)`` long: 0 for a field without a value, ``k + 1`` for ``dense_fields[k]``; gathering
    ``cat([1, dense])`` by it gives each row's per-field scale (1 exactly for the other fields)."""
    fields = [int(f) for f in dense_fields]
    if len(set(fields)) != len(fields) or any(not 0 <= f < num_fields for f in fields):
        raise ValueError(f"dense_fields must be distinct field indices in [0, {num_fields}), got {fields!r}")
    index = torch.zeros(num_fields, dtype=torch.long)
    for k, f in enumerate(fields):
        index[f] = k + 1
    return index


def dense_scale(dense: torch.Tensor, scale_index: torch.Tensor) -> torch.Tensor:
    """``dense`` ``(batch, dense fields)`` -> per-field scales ``(batch, fields)``: the value for a dense
    field, 1 for the others (a gather: exact, and one ONNX ``Gather``)."""
    return torch.cat([torch.ones_like(dense[:, :1]), dense], dim=1).index_select(1, scale_index)


def check_dense(dense: torch.Tensor | None, batch: int, num_dense: int) -> None:
    """A one-line ValueError when ``dense`` does not fit ``batch`` rows of ``num_dense`` dense fields."""
    if num_dense and dense is None:
        raise ValueError(
            f"this model has {num_dense} dense field(s): pass their values, dense (batch, {num_dense})"
        )
    if dense is not None and tuple(dense.shape) != (batch, num_dense):
        raise ValueError(
            f"dense must be (batch, dense fields) = ({batch}, {num_dense}), got {tuple(dense.shape)}"
        )


class FieldEmbedding(nn.Module):
    """Embed ``F`` fields, each with its own vocabulary, into ``(batch, fields, dim)``.

    One ``nn.Embedding`` holds every field's rows back to back; a buffer of per-field offsets shifts each
    field's local index into its slice (one gather instead of ``F`` small ones). Index 0 of every field is
    that field's unknown / rare / missing token, so each vocabulary size includes it.

    **Dense fields** (``dense_fields``: field indices): a numeric field fed as a number, as FuxiCTR and
    RecBole do. Its vocabulary has two rows (0: missing, 1: the field's one learned vector) and ``forward``
    multiplies the looked-up vector by the row's value ``dense[:, k]`` (``k``: its position in
    ``dense_fields``); a missing value comes with code 0 and value 1, so the missing vector is used as it is.
    The models downstream see ``(batch, fields, dim)`` either way: their maths does not change.

    Init: xavier-normal over the whole concatenated table, as RecBole's ``FMEmbedding`` does (std
    ``sqrt(2 / (sum(vocab_sizes) + dim))``), so the teacher and student see the scale the reference used.
    ``init_std`` draws every row from ``normal(0, init_std)`` instead (FuxiCTR's default is 1e-4); either
    draw takes the same numbers from the global generator, so what is initialised after the table is too.

    Indices are not range-checked on the hot path (that would force a device sync); an index at or above its
    field's vocabulary size silently reads the next field's rows.
    """

    offsets: torch.Tensor
    dense_index: torch.Tensor

    def __init__(
        self,
        vocab_sizes: list[int],
        embedding_size: int,
        dense_fields: Sequence[int] = (),
        init_std: float | None = None,
    ) -> None:
        super().__init__()
        if not vocab_sizes or any(int(v) < 1 for v in vocab_sizes):
            raise ValueError(f"vocab_sizes must be a non-empty list of positive ints, got {vocab_sizes!r}")
        if embedding_size < 1:
            raise ValueError(f"embedding_size must be positive, got {embedding_size}")
        self.vocab_sizes = [int(v) for v in vocab_sizes]
        self.num_fields = len(self.vocab_sizes)
        self.embedding_size = embedding_size
        self.dense_fields = [int(f) for f in dense_fields]
        self.embedding = nn.Embedding(sum(self.vocab_sizes), embedding_size)
        offsets = torch.tensor([0, *self.vocab_sizes[:-1]], dtype=torch.long).cumsum(0)
        # A buffer, not a Python list: it follows .to(device) with the table and lands in state_dict.
        self.register_buffer("offsets", offsets)
        # Not persistent: a model without dense fields has no such key (stored artifacts and cached teachers
        # load unchanged); the dense fields are a constructor argument.
        self.register_buffer(
            "dense_index", dense_scale_index(self.num_fields, self.dense_fields), persistent=False
        )
        if init_std is None:
            nn.init.xavier_normal_(self.embedding.weight)
        elif init_std > 0:
            nn.init.normal_(self.embedding.weight, 0.0, init_std)
        else:
            raise ValueError(f"init_std must be positive (or None: xavier-normal), got {init_std}")

    def forward(self, x: torch.Tensor, dense: torch.Tensor | None = None) -> torch.Tensor:
        """Map ``x`` LongTensor ``(batch, fields)`` of per-field indices (and, with dense fields, ``dense``
        float ``(batch, dense fields)``) to ``(batch, fields, dim)``."""
        check_dense(dense, x.shape[0], len(self.dense_fields))
        emb = self.embedding(x + self.offsets)
        if not self.dense_fields:
            return emb
        dense = cast(torch.Tensor, dense)  # check_dense raised if the dense fields came without values
        return emb * dense_scale(dense.to(emb.dtype), self.dense_index).unsqueeze(-1)
