"""Analytic cost of the KD-DAGFM models: parameter counts and multiply-adds per sample.

FLOPs here are multiply-adds (MACs) per sample of the tensor contractions the implementation runs (matmul,
einsum, linear; the ops ``torch.utils.flop_counter.FlopCounterMode`` counts, at 2 FLOPs per MAC). Elementwise
products, activations, softmax, sums over ``dim`` and bias adds are lower order (O(F·D) or O(H·D) per layer)
and left out; embedding lookups (the shared table and xDeepFM's per-value linear weights) are gathers and
free. Masked DAGFM weights are counted dense, because the dense einsum is what runs.

Notation: ``F`` fields, ``D`` embedding size, ``n = F·D``; an MLP ``h_0 -> h_1 .. h_K (-> 1)`` costs
``Σ_k h_{k-1}·h_k (+ h_K)`` MACs and has ``Σ_k (h_{k-1} + 1)·h_k (+ h_K + 1)`` parameters.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from torch import nn

from ._kd import KDDAGFM

__all__ = [
    "count_parameters",
    "kd_parameter_counts",
    "student_flops",
    "student_parameters",
    "teacher_flops",
    "teacher_parameters",
]

_HIDDEN = (400, 400, 400)


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


def _mlp_macs(input_dim: int, hidden: Sequence[int], output_dim: int = 0) -> int:
    sizes = [input_dim, *hidden]
    return sum(a * b for a, b in itertools.pairwise(sizes)) + sizes[-1] * output_dim


def _mlp_params(input_dim: int, hidden: Sequence[int], output_dim: int = 0) -> int:
    sizes = [input_dim, *hidden]
    return sum((a + 1) * b for a, b in itertools.pairwise(sizes)) + (sizes[-1] + 1) * output_dim


def _check_structure(structure: str) -> None:
    if structure not in ("stacked", "parallel"):
        raise ValueError(f"structure must be one of ('stacked', 'parallel'), got {structure!r}")


# FLOP formulas: same keyword arguments as the teacher class (less xDeepFM's vocab_sizes, which cost no
# MACs), so a typo is a TypeError naming the key.


def _crossnet_flops(f: int, d: int, depth: int = 3) -> int:
    n = f * d
    return depth * n * n + n


def _cin_flops(f: int, d: int, layers: Sequence[int] = (200, 200, 200)) -> int:
    sizes = [f, *layers]
    return sum(h * h_prev * f * d for h_prev, h in itertools.pairwise(sizes)) + sum(layers)


def _dnn_flops(f: int, d: int, hidden: Sequence[int] = _HIDDEN, dropout: float = 0.0) -> int:
    return _mlp_macs(f * d, hidden, 1)


def _dcnv2_flops(
    f: int,
    d: int,
    depth: int = 3,
    hidden: Sequence[int] = _HIDDEN,
    structure: str = "parallel",
    low_rank: int = 0,
    dropout: float = 0.0,
) -> int:
    _check_structure(structure)
    n = f * d
    cross = depth * (2 * n * low_rank if low_rank else n * n)
    read_out = hidden[-1] + (n if structure == "parallel" else 0)
    return cross + _mlp_macs(n, hidden) + read_out


def _xdeepfm_flops(
    f: int,
    d: int,
    layers: Sequence[int] = (200, 200, 200),
    hidden: Sequence[int] = _HIDDEN,
    dropout: float = 0.0,
) -> int:
    return _cin_flops(f, d, layers) + _mlp_macs(f * d, hidden, 1)


def _autoint_flops(
    f: int,
    d: int,
    attention_layers: int = 3,
    heads: int = 2,
    attention_dim: int = 32,
    hidden: Sequence[int] = (),
    dropout: float = 0.0,
) -> int:
    a = attention_dim
    dims = [d] + [a] * attention_layers
    # Per layer: W_Q, W_K, W_V, W_Res on F fields, then scores and α·V, each F²·A over all heads.
    attention = sum(4 * f * d_in * a + 2 * f * f * a for d_in in dims[:-1])
    return attention + f * a + (_mlp_macs(f * d, hidden, 1) if hidden else 0)


_TEACHER_FLOPS: dict[str, Callable[..., int]] = {
    "crossnet": _crossnet_flops,
    "cin": _cin_flops,
    "dnn": _dnn_flops,
    "dcnv2": _dcnv2_flops,
    "xdeepfm": _xdeepfm_flops,
    "autoint": _autoint_flops,
}


# Parameter formulas: exactly the teacher class's keyword arguments (xDeepFM's vocab_sizes included).


def _crossnet_params(f: int, d: int, depth: int = 3) -> int:
    n = f * d
    return depth * (n * n + n) + n + 1


def _cin_params(f: int, d: int, layers: Sequence[int] = (200, 200, 200)) -> int:
    sizes = [f, *layers]
    return sum(h * (h_prev * f + 1) for h_prev, h in itertools.pairwise(sizes)) + sum(layers)


def _dnn_params(f: int, d: int, hidden: Sequence[int] = _HIDDEN, dropout: float = 0.0) -> int:
    return _mlp_params(f * d, hidden, 1)


def _dcnv2_params(
    f: int,
    d: int,
    depth: int = 3,
    hidden: Sequence[int] = _HIDDEN,
    structure: str = "parallel",
    low_rank: int = 0,
    dropout: float = 0.0,
) -> int:
    _check_structure(structure)
    n = f * d
    cross = depth * ((2 * n * low_rank if low_rank else n * n) + n)
    read_out = hidden[-1] + (n if structure == "parallel" else 0) + 1
    return cross + _mlp_params(n, hidden) + read_out


def _xdeepfm_params(
    f: int,
    d: int,
    layers: Sequence[int] = (200, 200, 200),
    hidden: Sequence[int] = _HIDDEN,
    dropout: float = 0.0,
    *,
    vocab_sizes: Sequence[int],
) -> int:
    return sum(vocab_sizes) + _cin_params(f, d, layers) + _mlp_params(f * d, hidden, 1)


def _autoint_params(
    f: int,
    d: int,
    attention_layers: int = 3,
    heads: int = 2,
    attention_dim: int = 32,
    hidden: Sequence[int] = (),
    dropout: float = 0.0,
) -> int:
    a = attention_dim
    dims = [d] + [a] * attention_layers
    attention = sum(4 * d_in * a for d_in in dims[:-1])
    return attention + f * a + 1 + (_mlp_params(f * d, hidden, 1) if hidden else 0)


_TEACHER_PARAMS: dict[str, Callable[..., int]] = {
    "crossnet": _crossnet_params,
    "cin": _cin_params,
    "dnn": _dnn_params,
    "dcnv2": _dcnv2_params,
    "xdeepfm": _xdeepfm_params,
    "autoint": _autoint_params,
}


def teacher_flops(teacher: str, num_fields: int, embedding_size: int, **teacher_kwargs: object) -> int:
    """MACs per sample of a teacher; ``teacher_kwargs`` as for the teacher class (xDeepFM: no vocab_sizes).

    - crossnet (``depth`` L): ``L·n² + n``  (``W_l x_l`` per layer, final ``Linear(n -> 1)``).
    - cin (``layers`` H_1..H_K, ``H_0 = F``): ``Σ_k H_k·H_{k-1}·F·D + Σ_k H_k``  (one kernel-1 conv per
      layer over ``D`` positions, final ``p · w``).
    - dnn (``hidden``): MLP ``n -> hidden -> 1``.
    - dcnv2: cross ``L·n²`` (low rank r: ``L·2·n·r``) + MLP ``n -> hidden`` + read-out ``h_K`` (stacked) or
      ``n + h_K`` (parallel).
    - xdeepfm: cin + MLP ``n -> hidden -> 1`` (the linear term is a gather).
    - autoint (``attention_layers`` L, ``attention_dim`` A; ``d_0 = D``, then ``A``):
      ``Σ_l (4·F·d_{l-1}·A + 2·F²·A) + F·A`` (+ MLP ``n -> hidden -> 1`` for AutoInt+); ``heads`` split ``A``
      and do not change the count.
    """
    if teacher not in _TEACHER_FLOPS:
        raise ValueError(f"no FLOP formula for teacher {teacher!r}; known: {', '.join(_TEACHER_FLOPS)}")
    return int(_TEACHER_FLOPS[teacher](num_fields, embedding_size, **teacher_kwargs))


def teacher_parameters(teacher: str, num_fields: int, embedding_size: int, **teacher_kwargs: object) -> int:
    """Parameters of a teacher from its constructor arguments (xDeepFM needs ``vocab_sizes``).

    crossnet ``L·(n² + n) + n + 1``; cin ``Σ_k H_k·(H_{k-1}·F + 1) + Σ_k H_k``; dnn MLP ``n -> hidden -> 1``;
    dcnv2 ``L·(n² + n)`` (low rank: ``L·(2·n·r + n)``) + MLP ``n -> hidden`` + ``h_K (+ n) + 1``; xdeepfm
    ``Σ vocab_sizes`` + cin + MLP ``n -> hidden -> 1``; autoint ``Σ_l 4·d_{l-1}·A + F·A + 1`` (+ MLP
    ``n -> hidden -> 1``).
    """
    if teacher not in _TEACHER_PARAMS:
        raise ValueError(f"no parameter formula for teacher {teacher!r}; known: {', '.join(_TEACHER_PARAMS)}")
    return int(_TEACHER_PARAMS[teacher](num_fields, embedding_size, **teacher_kwargs))


def _check_interaction(interaction: str) -> None:
    if interaction not in ("inner", "outer", "kernel"):
        raise ValueError(f"interaction must be one of ('inner', 'outer', 'kernel'), got {interaction!r}")


def student_flops(
    num_fields: int, embedding_size: int, depth: int, interaction: str, mlp: Sequence[int] = ()
) -> int:
    """MACs per sample of a DAGFM student (connect layer + ``depth`` layers + read-out), DAGFM+ with ``mlp``.

    ``F²·D`` (``h0 = C·E``) + per layer inner ``F²·D``, outer ``2·F²·D``, kernel ``F²·D²`` + ``F·(L+1)``
    (read-out linear) + the MLP ``n -> mlp -> 1`` when ``mlp`` is non-empty.
    """
    _check_interaction(interaction)
    f, d, L = num_fields, embedding_size, depth
    per_layer = {"inner": f * f * d, "outer": 2 * f * f * d, "kernel": f * f * d * d}[interaction]
    return f * f * d + L * per_layer + f * (L + 1) + (_mlp_macs(f * d, mlp, 1) if mlp else 0)


def student_parameters(
    num_fields: int, embedding_size: int, depth: int, interaction: str, mlp: Sequence[int] = ()
) -> int:
    """Parameters of a DAGFM student: ``L·F²·D`` (inner), ``2·L·F²·D`` (outer) or ``L·F²·D²`` (kernel)
    ``+ F² + F·(L+1) + 1``, plus the MLP ``n -> mlp -> 1`` when ``mlp`` is non-empty (DAGFM+)."""
    _check_interaction(interaction)
    f, d, L = num_fields, embedding_size, depth
    per_layer = {"inner": f * f * d, "outer": 2 * f * f * d, "kernel": f * f * d * d}[interaction]
    return L * per_layer + f * f + f * (L + 1) + 1 + (_mlp_params(f * d, mlp, 1) if mlp else 0)
