"""Analytic cost of the KD-DAGFM models: parameter counts and multiply-adds per sample.

FLOPs here are multiply-adds (MACs) per sample of the tensor contractions the implementation runs (matmul,
einsum, linear; the ops ``torch.utils.flop_counter.FlopCounterMode`` counts, at 2 FLOPs per MAC). Elementwise
products, sums over ``dim`` and bias adds are lower order (O(F·D) or O(H·D) per layer) and left out; the
embedding lookup is shared by teacher and student and free. Masked DAGFM weights are counted dense, because
the dense einsum is what runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from torch import nn

from ._kd import KDDAGFM

__all__ = ["count_parameters", "kd_parameter_counts", "student_flops", "teacher_flops"]


def count_parameters(module: nn.Module) -> int:
    """Number of scalars in ``module``'s parameters (trainable or frozen; buffers excluded)."""
    return sum(p.numel() for p in module.parameters())


def kd_parameter_counts(model: KDDAGFM) -> dict[str, int]:
    """``{"embedding", "teacher", "student"}`` parameter counts of a ``KDDAGFM``."""
    return {
        "embedding": count_parameters(model.embedding),
        "teacher": count_parameters(model.teacher),
        "student": count_parameters(model.student),
    }


def _crossnet_flops(f: int, d: int, depth: int = 3) -> int:
    n = f * d
    return depth * n * n + n


def _cin_flops(f: int, d: int, layers: list[int]) -> int:
    sizes = [f, *layers]
    return sum(h * h_prev * f * d for h_prev, h in itertools.pairwise(sizes)) + sum(layers)


# Same keyword arguments as the teacher class, so a typo is a TypeError naming the key.
_TEACHER_FLOPS: dict[str, Callable[..., int]] = {"crossnet": _crossnet_flops, "cin": _cin_flops}


def teacher_flops(teacher: str, num_fields: int, embedding_size: int, **teacher_kwargs: object) -> int:
    """MACs per sample of a teacher's interaction layers; ``teacher_kwargs`` as for the teacher class.

    - crossnet (``depth`` L, ``n = F·D``): ``L·n² + n``  (``W_l x_l`` per layer, final ``Linear(n -> 1)``).
    - cin (``layers`` H_1..H_K, ``H_0 = F``): ``Σ_k H_k·H_{k-1}·F·D + Σ_k H_k``  (one kernel-1 conv per
      layer over ``D`` positions, final ``p · w``).
    """
    if teacher not in _TEACHER_FLOPS:
        raise ValueError(f"no FLOP formula for teacher {teacher!r}; known: {', '.join(_TEACHER_FLOPS)}")
    return int(_TEACHER_FLOPS[teacher](num_fields, embedding_size, **teacher_kwargs))


def student_flops(num_fields: int, embedding_size: int, depth: int, interaction: str) -> int:
    """MACs per sample of a DAGFM student (connect layer + ``depth`` layers + read-out).

    ``F²·D`` (``h0 = C·E``) + per layer inner ``F²·D``, outer ``2·F²·D``, kernel ``F²·D²`` + ``F·(L+1)``
    (read-out linear).
    """
    f, d, L = num_fields, embedding_size, depth
    per_layer = {"inner": f * f * d, "outer": 2 * f * f * d, "kernel": f * f * d * d}
    if interaction not in per_layer:
        raise ValueError(f"interaction must be one of {tuple(per_layer)}, got {interaction!r}")
    return f * f * d + L * per_layer[interaction] + f * (L + 1)
