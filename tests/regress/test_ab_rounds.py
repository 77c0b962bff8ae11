"""``regress ab``'s interleaved latency rounds: the order of the turns, what a slow stretch of the machine
does to them, how the rounds' latencies replace a seed's, and the models a worker times."""

from __future__ import annotations

import dataclasses
import math
import os
import statistics
from pathlib import Path
from typing import Any

import pytest
import torch

from kdbench.bench._regress._ab import _latency_rounds, _use_round_latencies, shared_cpus
from kdbench.bench.regress import (
    LATENCY_CALLS,
    LATENCY_ROUNDS,
    InferenceTimer,
    load_suite,
    prepare_datasets,
    run_suite,
)


class _Machine:
    """A clock that calls advance; between ``slow_from`` and ``slow_until`` ms everything takes 3x as long."""

    def __init__(self, slow_from: float, slow_until: float) -> None:
        self.now, self.slow_from, self.slow_until = 0.0, slow_from, slow_until

    def run(self, cost_ms: float) -> float:
        taken = cost_ms * (3.0 if self.slow_from <= self.now < self.slow_until else 1.0)
        self.now += taken
        return taken


class _FakeWorker:
    def __init__(self, side: str, machine: _Machine, cost_ms: dict[str, float], log: list[Any]) -> None:
        self.side, self.machine, self.cost_ms, self.log = side, machine, cost_ms, log

    def time_calls(self, case: str, seed: int, model: str, calls: int) -> list[float]:
        self.log.append((self.side, model))
        return [self.machine.run(self.cost_ms[model]) for _ in range(calls)]


def _rounds(slow_from: float, slow_until: float, head_factor: float) -> tuple[dict, list]:
    machine, log = _Machine(slow_from, slow_until), []
    workers = {
        "base": _FakeWorker("base", machine, {"student": 2.0, "teacher": 3.0}, log),
        "head": _FakeWorker("head", machine, {"student": 2.0 * head_factor, "teacher": 3.0}, log),
    }
    return _latency_rounds(workers, "case", 0), log  # type: ignore[arg-type]


def test_each_round_alternates_which_side_goes_first() -> None:
    _, log = _rounds(0, 0, 1.0)
    assert len(log) == LATENCY_ROUNDS * 4
    assert log[:8] == [
        ("base", "student"), ("head", "student"), ("head", "teacher"), ("base", "teacher"),
        ("head", "student"), ("base", "student"), ("base", "teacher"), ("head", "teacher"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("slow_from", "slow_until"),
    [(0, 0), (60, 180), (20, float("inf"))],  # none; about three rounds; all but the first half round
)
def test_a_slow_stretch_falls_on_both_sides_of_the_rounds(slow_from: float, slow_until: float) -> None:
    # A quiet round is 2 x 4 calls of each model, 44 ms; slowed ones take 3x as long.
    slowed, _ = _rounds(slow_from, slow_until, 1.2)
    assert slowed["head"]["student"] / slowed["base"]["student"] == pytest.approx(1.2)
    assert slowed["head"]["teacher"] / slowed["base"]["teacher"] == pytest.approx(1.0)


def test_the_rounds_latencies_replace_the_seeds_over_the_pairs_shared_unit() -> None:
    def part(reference_ms: float) -> dict[str, Any]:
        figures = {"student_test_auc": [0.85], "student_latency": [9.0], "teacher_latency": [9.0]}
        raw = {"student_latency": [99.0], "teacher_latency": [99.0]}
        return {"cases": [{"figures": figures, "raw": raw, "reference_ms": [reference_ms]}]}

    base, head = part(4.0), part(6.0)
    _use_round_latencies(base, head, {"base": {"student": 2.0, "teacher": 3.0},
                                      "head": {"student": 2.5, "teacher": 3.0}})  # fmt: skip
    b, h = base["cases"][0], head["cases"][0]
    assert b["raw"] == {"student_latency": [2.0], "teacher_latency": [3.0]}
    assert h["raw"] == {"student_latency": [2.5], "teacher_latency": [3.0]}
    assert b["figures"]["student_latency"] == [2.0 / 5.0] and h["figures"]["student_latency"] == [2.5 / 5.0]
    assert b["figures"]["student_test_auc"] == [0.85]  # quality untouched


def test_the_workers_share_the_last_cpus_when_the_suite_sets_threads() -> None:
    allowed = sorted(os.sched_getaffinity(0))
    assert shared_cpus(None) is None
    if len(allowed) > 1:
        assert shared_cpus(1) == {allowed[-1]}
    assert shared_cpus(len(allowed)) is None  # all of them: nothing to pin


def test_a_timer_times_the_cases_models_without_touching_the_callers_rng(tiny_suite: Path) -> None:
    suite = load_suite(tiny_suite)
    (case,) = suite.cases
    dataset = prepare_datasets(suite)[case.name]
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    timer = InferenceTimer(case, 1, dataset)
    assert torch.equal(torch.random.get_rng_state(), before)
    for model in ("student", "teacher"):
        times = timer.call_ms(model, LATENCY_CALLS)
        assert len(times) == LATENCY_CALLS and all(0 < ms < 10_000 for ms in times)
    assert statistics.median(timer.call_ms("student", 3)) > 0
    with pytest.raises(KeyError):
        timer.call_ms("dagfm", 1)


def test_a_run_without_latency_leaves_the_latencies_to_the_rounds(tiny_suite: Path) -> None:
    suite = load_suite(tiny_suite)
    (case,) = suite.cases
    short = dataclasses.replace(case, seeds=(0,), config={**case.config, "max_epochs": 1})
    one = dataclasses.replace(suite, cases=(short,))
    measured = run_suite(one, latency=False, artifacts=None)
    figures = measured.cases[0].figures
    assert math.isnan(figures["student_latency"][0]) and math.isnan(figures["teacher_latency"][0])
    assert 0.5 < figures["student_test_auc"][0] <= 1 and figures["train_throughput"][0] > 0


def test_only_the_models_a_case_tracks_are_timed() -> None:
    machine, log = _Machine(0, 0), []
    costs = {"student": 2.0, "teacher": 3.0}
    workers = {side: _FakeWorker(side, machine, costs, log) for side in ("base", "head")}
    medians = _latency_rounds(workers, "case", 0, ["student"])  # type: ignore[arg-type]
    assert {model for _, model in log} == {"student"} and len(log) == 2 * LATENCY_ROUNDS
    assert medians == {"base": {"student": 2.0}, "head": {"student": 2.0}}
