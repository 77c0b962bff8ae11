"""Will a trial fit in memory? Checked before any allocation, so a config that cannot fit is one clear line
instead of an allocator's traceback minutes into a run (or a machine driven into swap)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch

from kdbench.bench.config import TrialConfig
from kdbench.bench.errors import ConfigError

__all__ = ["check_fits", "device_memory_bytes", "trial_bytes"]

# Per parameter: the value, its gradient and Adam's two moments, float32 each.
_BYTES_PER_PARAMETER = 4 * 4


def trial_bytes(cfg: TrialConfig, vocab_sizes: Sequence[int]) -> int:
    """A lower bound of a trial's memory: parameters with their gradients and optimiser state, and one
    batch's embedded input ``(batch, fields, dim)`` through each interaction layer, float32.

    The parameters are counted from the models' own formulas (``kdbench.models.cost``, tested against the
    modules), so the count is exact and nothing is allocated or built. (Building the model on the ``meta``
    device would do too, but its ``normal_`` initialisers run PyTorch's Python meta kernels, whose first call
    imports ``torch._dynamo``: a second of start-up.)
    """
    from kdbench.models.cost import student_parameters, teacher_parameters

    fields = len(vocab_sizes)
    teacher_kwargs = cfg.teacher_kwargs()
    if cfg.teacher == "xdeepfm":  # its linear term holds one weight per vocabulary row
        teacher_kwargs["vocab_sizes"] = list(vocab_sizes)
    parameters = (
        sum(vocab_sizes) * cfg.embedding_size
        + teacher_parameters(cfg.teacher, fields, cfg.embedding_size, **teacher_kwargs)
        + student_parameters(fields, cfg.embedding_size, **cfg.student_kwargs())
    )
    layers = 1 + cfg.depth + max(cfg.t_depth or 0, len(cfg.t_cin or ()))
    activations = cfg.batch_size * fields * cfg.embedding_size * 4 * layers
    return parameters * _BYTES_PER_PARAMETER + activations


def device_memory_bytes(device: torch.device) -> int | None:
    """The device's total memory (a CUDA card's, else this machine's RAM); None where it cannot be read."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(cfg: TrialConfig, vocab_sizes: Sequence[int], device: torch.device) -> None:
    """:class:`ConfigError` when the trial needs more than the device has in all (never a false refusal
    for a config that merely competes with other processes for memory)."""
    total = device_memory_bytes(device)
    need = trial_bytes(cfg, vocab_sizes)
    if total is not None and need > total:
        raise ConfigError(
            f"this trial needs at least {_gib(need)} (embedding_size {cfg.embedding_size} over "
            f"{sum(vocab_sizes):,} vocabulary rows, batch_size {cfg.batch_size}), more than the "
            f"{_gib(total)} of {device.type}: lower embedding_size or batch_size"
        )


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB"
