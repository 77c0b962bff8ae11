"""Inference latency measured as serving measures it: one thread, inference mode, after warm-up.

A serving process scores requests one thread per worker, so the latencies recorded with a trial are
single-thread medians at batch 1 and batch 4096, recorded with the thread count (``latency_threads``).
The whole measurement of one model stays near ``budget_s`` (default 0.15 s, warm-up runs aside; at most 50
timed runs per batch size, so a fast student takes less): a trial measures a teacher and a student in
well under 0.5 s.

How fast a call runs also depends on the C allocator's state: :func:`steady_allocator` fixes glibc's malloc
thresholds for a process that measures (the regression suites do).

A model with dense fields takes two inputs, the codes and the dense values: ``probe`` (and ``x`` below) may
then be a tuple of per-row tensors, gathered alike, and ``forward`` is called with all of them.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import statistics
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "BATCHES",
    "MMAP_THRESHOLD_BYTES",
    "SERVING_THREADS",
    "TRIM_THRESHOLD_BYTES",
    "Inputs",
    "batch_of",
    "call_times",
    "latencies",
    "median_ms",
    "one_thread",
    "steady_allocator",
]

SERVING_THREADS = 1
BATCHES = (1, 4096)
# One tensor of rows, or a tuple of per-row tensors (codes, dense values) that ``forward`` takes in order.
Inputs = torch.Tensor | tuple[torch.Tensor, ...]


# glibc serves every block under the mmap threshold from its heap and gives the heap's top back to the system
# past the trim threshold. 32 MiB is the largest mmap threshold it accepts on 64-bit.
MMAP_THRESHOLD_BYTES = 32 << 20
TRIM_THRESHOLD_BYTES = 64 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)


def steady_allocator() -> bool:
    """Fix glibc malloc's mmap and trim thresholds for the rest of this process; False where the C library
    has no ``mallopt`` (macOS, Windows) or refuses.

    Left dynamic, glibc raises its mmap threshold as the process frees large blocks, so whether a model's
    intermediates come back from the heap or are mapped and page-faulted afresh on every call depends on what
    the process did before: after a trial the same CrossNet teacher took 2.5 ms a call (250 page faults) in
    one process and 4.4 ms (800) in another. Fixed, neither faults. (The environment variables
    ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` do the same for a process about to start.)
    """
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )


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
    big, one = batch_of(probe, BATCHES[1]), batch_of(probe, BATCHES[0])
    with one_thread(threads):
        b1 = median_ms(forward, one, device, budget_s=budget_s / 4)
        b4096 = median_ms(forward, big, device, budget_s=budget_s * 3 / 4)
    return {"latency_ms_b1": b1, "latency_ms_b4096": b4096, "latency_threads": threads}


def batch_of(probe: Inputs, size: int) -> tuple[torch.Tensor, ...]:
    """The first ``size`` rows of ``probe`` as ``forward``'s arguments, its rows repeated if it has fewer."""
    inputs = probe if isinstance(probe, tuple) else (probe,)
    rows = torch.arange(size, device=inputs[0].device) % inputs[0].shape[0]
    return tuple(t[rows.to(t.device)] for t in inputs)


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
    warmup: int = 2,
) -> tuple[list[float], list[float]]:
    """(wall seconds, this thread's CPU seconds) of each timed run of ``forward(x)``, as
    :func:`median_ms` times them (after ``warmup`` untimed runs). On a shared machine the CPU time leaves
    out the time the thread waited for a core: it is what the wall time comes to on a quiet one (for CPU
    work; not for a GPU's)."""
    args = x if isinstance(x, tuple) else (x,)
    for _ in range(warmup):
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
