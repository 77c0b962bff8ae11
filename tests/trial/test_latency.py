"""kdbench.bench.latency: serving latency is measured on one thread, in inference mode, after warm-up, at
batch 1
and 4096 (rows of the probe repeated), within its time budget."""

import platform
import subprocess
import sys
import time

import pytest
import torch

from kdbench.bench.latency import BATCHES, call_times, latencies, one_thread


def test_latencies_time_batch_1_and_4096_on_one_thread():
    probe = torch.randint(0, 50, (10, 9))
    seen: list[tuple[torch.Tensor, int, bool]] = []

    def forward(x: torch.Tensor) -> torch.Tensor:
        seen.append((x, torch.get_num_threads(), torch.is_inference_mode_enabled()))
        return x.float().sum(1)

    result = latencies(forward, probe, torch.device("cpu"), budget_s=0.02)
    assert set(result) == {"latency_ms_b1", "latency_ms_b4096", "latency_threads"}
    assert result["latency_threads"] == 1
    assert result["latency_ms_b1"] > 0 and result["latency_ms_b4096"] > 0
    sizes = [x.shape[0] for x, _, _ in seen]
    assert set(sizes) == set(BATCHES) == {1, 4096}
    assert sizes.count(1) >= 5 and sizes.count(4096) >= 5  # 2 warm-up + at least 3 timed runs each
    assert all(threads == 1 and inference for _, threads, inference in seen)
    big = next(x for x, _, _ in seen if x.shape[0] == 4096)
    assert torch.equal(big, probe[torch.arange(4096) % 10])  # the probe's rows, repeated in order
    assert torch.equal(seen[0][0], probe[:1])


def test_one_thread_restores_the_callers_thread_count():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with one_thread():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_call_times_stop_after_three_runs_once_the_budget_is_spent():
    calls = []

    def slow(x: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        time.sleep(0.02)
        return x

    wall, cpu = call_times(slow, torch.zeros(1), torch.device("cpu"), budget_s=0.001)
    assert len(calls) == 5  # 2 warm-up runs, then the minimum of 3
    assert len(wall) == len(cpu) == 3
    # a sleeping thread spends wall time, not CPU time: the two clocks are told apart
    assert all(w >= 0.02 for w in wall)
    assert all(c < w / 2 for c, w in zip(cpu, wall, strict=True))


def test_call_times_cap_the_number_of_runs():
    wall, cpu = call_times(lambda x: x + 1, torch.zeros(4), torch.device("cpu"), budget_s=60, max_repeats=7)
    assert len(wall) == len(cpu) == 7


def test_a_tuple_probe_gathers_every_input_alike():
    codes = torch.randint(0, 50, (10, 9))
    dense = torch.randn(10, 2)
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(x: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        seen.append((x, values))
        return x.float().sum(1) * values.sum(1)

    latencies(forward, (codes, dense), torch.device("cpu"), budget_s=0.02)
    rows = torch.arange(4096) % 10
    big = next((x, v) for x, v in seen if x.shape[0] == 4096)
    assert torch.equal(big[0], codes[rows]) and torch.equal(big[1], dense[rows])
    assert torch.equal(seen[0][0], codes[:1]) and torch.equal(seen[0][1], dense[:1])


_HEAP_AFTER_A_FREED_BLOCK = """
import ctypes, sys, torch
from kdbench.bench.latency import steady_allocator
if sys.argv[1] == "steady":
    assert steady_allocator()
FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()
class MallInfo2(ctypes.Structure):  # glibc's struct mallinfo2, in this order
    _fields_ = [(name, ctypes.c_size_t) for name in FIELDS]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
x = torch.empty(2 * 1024 * 1024).fill_(1.0)  # an 8 MiB intermediate
during = libc.mallinfo2()
del x
after = libc.mallinfo2()
print(during.hblkhd >> 20, after.fordblks >> 20)  # MiB mapped while it lives, MiB free in the heap after
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc's malloc"
)
def test_a_steady_allocator_keeps_a_models_intermediates_in_the_heap() -> None:
    def mapped_and_kept_mib(mode: str) -> tuple[int, int]:
        done = subprocess.run([sys.executable, "-c", _HEAP_AFTER_A_FREED_BLOCK, mode], capture_output=True,
                              text=True, check=True)  # fmt: skip
        mapped, kept = done.stdout.split()
        return int(mapped), int(kept)

    # glibc's defaults: the block is mapped on its own and given back when freed (the next call maps and
    # faults it in again).
    mapped, kept = mapped_and_kept_mib("dynamic")
    assert mapped >= 8 and kept < 8
    # Fixed thresholds: it comes from the heap and stays there, free, for the next call.
    mapped, kept = mapped_and_kept_mib("steady")
    assert mapped < 8 and kept >= 8
