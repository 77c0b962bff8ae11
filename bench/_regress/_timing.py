"""A case's teacher and student timed on request, for ``regress ab``'s interleaved latency rounds.

A latency window inside a trial lasts about a tenth of a second and meets the machine as it is at that
moment, on one side: five seeds of one such window each could not tell a 20 % slowdown from the machine. So
``regress ab`` times the two revisions' models alternately, a few calls at a time, in many short rounds
(``_ab``), and whatever slows the machine falls on both sides alike. Each worker builds the models here, as
its trial builds them (``kdbench.bench.trial.build_model``, in eval and inference mode, serving's one
thread, the trial's probe rows at batch 4096), and times them when asked.

The models are freshly initialised from the seed, not the trained ones: inference does the same arithmetic
whatever the weights hold, and a trial does not hand its model out.
"""

from __future__ import annotations

from typing import Any

import torch

from kdbench.bench._regress._suite import CaseSpec
from kdbench.bench.latency import BATCHES, batch_of, call_times, one_thread

__all__ = ["MODELS", "InferenceTimer"]

MODELS = ("student", "teacher")  # the latency figures' models: student_latency, teacher_latency


class InferenceTimer:
    """The teacher and student of ``case``'s trial for ``seed`` on ``dataset``, ready to be timed."""

    def __init__(self, case: CaseSpec, seed: int, dataset: Any, device: str | torch.device = "cpu") -> None:
        from kdbench.bench.batches import trial_splits
        from kdbench.bench.trial import build_model, latency_probe, resolve_device, serving_forwards

        self.device = device = resolve_device(device)
        cfg = case.trial_config(seed)
        with torch.random.fork_rng(devices=[]):  # the caller's RNG stays where it was
            self._model = build_model(cfg, dataset, device).eval()
        test = trial_splits({"test": dataset.test}, device)["test"]
        self._inputs = batch_of(latency_probe(test, device), BATCHES[1])
        self._forwards = serving_forwards(self._model)
        for model in MODELS:  # warm-up: allocator, the student's fold, caches
            self.call_ms(model, 2)

    def call_ms(self, model: str, calls: int) -> list[float]:
        """Milliseconds of each of ``calls`` back-to-back batch-4096 calls of ``model`` (no warm-up)."""
        with one_thread():
            wall, _ = call_times(
                self._forwards[model], self._inputs, self.device, budget_s=float("inf"), max_repeats=calls,
                warmup=0,
            )  # fmt: skip
        return [1000 * s for s in wall]
