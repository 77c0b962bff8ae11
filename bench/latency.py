"""Inference latency measured as serving measures it: one thread, inference mode, after warm-up.

A serving process scores requests one thread per worker, so the latencies recorded with a trial are
single-thread medians at batch 1 and batch 4096, recorded with the thread count (``latency_threads``).
The whole measurement of one model stays near ``budget_s`` (default 0.15 s, warm-up runs aside; at most 50
timed runs per batch size, so a fast student takes less): a trial measures a teacher and a student in
well under 0.5 s.

A model with dense fields takes two inputs, the codes and the dense values: ``probe`` (and ``x`` below) may
then be a tuple of per-row tensors, gathered alike, and ``forward`` is called with all of them.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    import numpy as np

__all__ = ["BATCHES", "SERVING_THREADS", "Inputs", "call_times", "latencies", "median_ms", "one_thread"]

SERVING_THREADS = 1
BATCHES = (1, 4096)
# One tensor of rows, or a tuple of per-row tensors (codes, dense values) that ``forward`` takes in order.
Inputs = torch.Tensor | tuple[torch.Tensor, ...]


@contextlib.contextmanager
def one_thread(threads: int = SERVING_THREADS) -> Iterator[None]:
    """Run the block with ``threads`` intra-op threads; restore the caller's count after."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def latencies(
    forward: Callable[..., torch.Tensor],
    probe: Inputs,
    device: torch.device,
    *,
    budget_s: float = 0.15,
    threads: int = SERVING_THREADS,
) -> dict[str, float]:
    """``{"latency_ms_b1", "latency_ms_b4096", "latency_threads"}`` of ``forward`` on rows of ``probe``.

    Batch 4096 repeats ``probe``'s rows if it has fewer. A quarter of ``budget_s`` goes to batch 1 and the
    rest to batch 4096; each takes at least 3 timed runs after 2 warm-up runs, at most 50.
    """
    inputs = probe if isinstance(probe, tuple) else (probe,)
    rows = torch.arange(BATCHES[1], device=inputs[0].device) % inputs[0].shape[0]
    big = tuple(t[rows.to(t.device)] for t in inputs)
    one = tuple(t[:1] for t in inputs)
    with one_thread(threads):
        b1 = median_ms(forward, one, device, budget_s=budget_s / 4)
        b4096 = median_ms(forward, big, device, budget_s=budget_s * 3 / 4)
    return {"latency_ms_b1": b1, "latency_ms_b4096": b4096, "latency_threads": threads}


def median_ms(
    forward: Callable[..., object],
    x: Inputs | tuple[np.ndarray, ...],  # or the arrays of a baseline's predict
    device: torch.device,
    *,
    budget_s: float,
    max_repeats: int = 50,
) -> float:
    """Median wall time in ms of ``forward(x)`` over up to ``max_repeats`` runs (at least 3) within
    ``budget_s``, after two warm-up runs (allocator, lazy folding, caches)."""
    wall, _ = call_times(forward, x, device, budget_s=budget_s, max_repeats=max_repeats)
    return 1000 * statistics.median(wall)


@torch.inference_mode()
def call_times(
    forward: Callable[..., object],
    x: Inputs | tuple[np.ndarray, ...],  # or the arrays of a baseline's predict
    device: torch.device,
    *,
    budget_s: float,
    max_repeats: int = 50,
) -> tuple[list[float], list[float]]:
    """(wall seconds, this thread's CPU seconds) of each timed run of ``forward(x)``, as
    :func:`median_ms` times them. On a shared machine the CPU time leaves out the time the thread waited
    for a core: it is what the wall time comes to on a quiet one (for CPU work; not for a GPU's)."""
    args = x if isinstance(x, tuple) else (x,)
    for _ in range(2):
        forward(*args)
    _sync(device)
    wall: list[float] = []
    cpu: list[float] = []
    deadline = time.perf_counter() + budget_s
    for _ in range(max_repeats):
        start, start_cpu = time.perf_counter(), time.thread_time()
        forward(*args)
        _sync(device)
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
        if len(wall) >= 3 and time.perf_counter() > deadline:
            break
    return wall, cpu


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
