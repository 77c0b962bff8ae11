"""The reference workload that speed figures are divided by.

Absolute times move from machine to machine (and on a shared machine from minute to minute), so a case's
speed is reported relative to a fixed workload timed in the same process, on the same device and threads,
right before and right after each seed. One *reference unit* is a few square matmuls plus one training step
of a small embedding + MLP model on fixed random data: the same kinds of kernels (GEMMs, gathers,
scatter-add, Adam) that a KD-DAGFM step spends its time in, so both move together with the machine.
"""

from __future__ import annotations

import time

import torch

__all__ = ["ReferenceWorkload"]

_MATMUL_SIZE = 256
_MATMULS = 4
_BATCH, _FIELDS, _VOCAB, _DIM, _HIDDEN = 1024, 10, 1000, 16, 64


class ReferenceWorkload:
    """A fixed workload on ``device``; :meth:`unit_seconds` times units of it one by one.

    Built once (its own random generator: the global RNG is left alone) and reused, so timing measures only
    the work.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        gen = torch.Generator().manual_seed(0)
        self._a = torch.randn(_MATMUL_SIZE, _MATMUL_SIZE, generator=gen).to(device)
        self._b = torch.randn(_MATMUL_SIZE, _MATMUL_SIZE, generator=gen).to(device)
        self._x = torch.randint(0, _VOCAB, (_BATCH, _FIELDS), generator=gen).to(device)
        self._y = torch.randint(0, 2, (_BATCH,), generator=gen).float().to(device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            self._model = torch.nn.Sequential(
                torch.nn.Embedding(_VOCAB, _DIM),
                torch.nn.Flatten(),
                torch.nn.Linear(_FIELDS * _DIM, _HIDDEN),
                torch.nn.ReLU(),
                torch.nn.Linear(_HIDDEN, 1),
            ).to(device)
        self._optimizer = torch.optim.Adam(self._model.parameters(), lr=1e-3)
        self._loss = torch.nn.BCEWithLogitsLoss()
        self._unit()  # warm-up: allocator, lazy init, Adam state

    def unit_seconds(self, units: int = 15) -> list[float]:
        """Wall seconds of each of ``units`` reference units."""
        times = []
        for _ in range(units):
            start = time.perf_counter()
            self._unit()
            times.append(time.perf_counter() - start)
        return times

    def _unit(self) -> None:
        c = self._a
        for _ in range(_MATMULS):
            c = torch.tanh(c @ self._b)  # tanh keeps values bounded over the chain
        loss = self._loss(self._model(self._x).squeeze(1), self._y)
        self._optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self._optimizer.step()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        else:
            float(c[0, 0])  # make sure the matmul chain ran
