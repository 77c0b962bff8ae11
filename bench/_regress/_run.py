"""Run a suite's cases over their seeds through ``run_trial`` and measure every tracked figure.

Each seed is a fresh, deterministic trial (no teacher cache); the reference workload (``_reference``) is
timed in the same process, on the same device and threads, before the trial, after each of its epochs and
after it, and speed figures are divided by its mean unit. The result is plain data
(:class:`SuiteMeasurement`), the same shape a baseline file or a stored run is read back into.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from kdbench.bench._regress._figures import FIGURES
from kdbench.bench._regress._memory import PeakMemory
from kdbench.bench._regress._reference import ReferenceWorkload
from kdbench.bench._regress._suite import CaseSpec, Suite
from kdbench.bench.errors import KdbenchError, RegressionError
from kdbench.bench.latency import steady_allocator

__all__ = ["CaseMeasurement", "ProgressFn", "SuiteMeasurement", "prepare_datasets", "run_suite"]

ProgressFn = Callable[[str], None]
REFERENCE_UNITS = 30  # before and after each seed: ~0.1 s on a laptop core
EPOCH_REFERENCE_UNITS = 10  # after every epoch: ~35 ms


@dataclasses.dataclass
class CaseMeasurement:
    """One case over its seeds: ``figures[name][i]`` is the compared value of seed ``seeds[i]``."""

    name: str
    dataset: str
    dataset_fingerprint: str
    config: dict[str, Any]
    config_family: str
    seeds: list[int]
    figures: dict[str, list[float]]
    raw: dict[str, list[float]]  # absolute samples/s and ms beside the speed ratios
    reference_ms: list[float]  # the reference unit's median time per seed
    wall_seconds: float


@dataclasses.dataclass
class SuiteMeasurement:
    suite: str
    suite_hash: str
    device: str  # "cpu" or "cuda": speed ratios compare only on the same kind of device
    threads: int
    cases: list[CaseMeasurement]
    wall_seconds: float

    def case(self, name: str) -> CaseMeasurement | None:
        return next((c for c in self.cases if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuiteMeasurement:
        fields = {f.name for f in dataclasses.fields(cls)}
        case_fields = {f.name for f in dataclasses.fields(CaseMeasurement)}
        cases = [CaseMeasurement(**{k: v for k, v in c.items() if k in case_fields}) for c in data["cases"]]
        return cls(**{**{k: v for k, v in data.items() if k in fields}, "cases": cases})


def prepare_datasets(suite: Suite) -> dict[str, Any]:
    """Every case's dataset by case name, prepared (or loaded from the cache) before any case trains: a bad
    dataset in the last case fails the run before its first trial, not after the others have run."""
    from kdbench.bench.data import open_dataset

    datasets = {}
    for case in suite.cases:
        try:
            spec = case.dataset
            datasets[case.name] = open_dataset(
                spec.source, path=spec.path, schema=spec.schema, split_seed=spec.split_seed
            )
        except KdbenchError as e:
            raise RegressionError(f"case {case.name}: {e}") from e
    return datasets


def run_suite(
    suite: Suite,
    *,
    device: str = "cpu",
    progress: ProgressFn | None = None,
    datasets: dict[str, Any] | None = None,
    artifacts: str | None = None,
    latency: bool = True,
) -> SuiteMeasurement:
    """Run every case of ``suite`` over its seeds; a failing case raises :class:`RegressionError`.

    ``device``: ``cpu`` (the default: deterministic and comparable with a baseline made on a CPU), ``cuda``
    or ``auto``. Torch's thread count is set to the suite's ``threads`` for the run and restored after.
    ``datasets``: :func:`prepare_datasets`'s result, when the caller prepared them already. ``artifacts``:
    the folder each trial's student artifact goes to (``run_trial``'s default when None). The process's
    malloc thresholds stay fixed afterwards (``latency.steady_allocator``: a regression run is a measuring
    process). ``latency=False``: the trials do not time their models and the latency figures are NaN, for a
    caller that times them itself (``regress ab``'s rounds replace them).
    """
    from kdbench.bench.trial import resolve_device

    dev = resolve_device(device)
    steady_allocator()  # latencies that do not depend on what the process freed before
    if datasets is None:
        datasets = prepare_datasets(suite)
    say = progress or (lambda _line: None)
    threads_before = torch.get_num_threads()
    started = time.perf_counter()
    try:
        if suite.threads:
            torch.set_num_threads(suite.threads)
        reference = ReferenceWorkload(dev)
        cases = [
            _run_case(case, datasets[case.name], dev, reference, suite.threads, say, artifacts, latency)
            for case in suite.cases
        ]
        threads = torch.get_num_threads()
    finally:
        torch.set_num_threads(threads_before)
    return SuiteMeasurement(
        suite=suite.name,
        suite_hash=suite.hash,
        device=dev.type,
        threads=threads,
        cases=cases,
        wall_seconds=time.perf_counter() - started,
    )


def _run_case(
    case: CaseSpec,
    dataset: Any,
    device: torch.device,
    reference: ReferenceWorkload,
    threads: int | None,
    say: ProgressFn,
    artifacts: str | None,
    latency: bool = True,
) -> CaseMeasurement:
    started = time.perf_counter()
    figures: dict[str, list[float]] = {name: [] for name in case.figures}
    raw: dict[str, list[float]] = {name: [] for name in case.figures if FIGURES[name].raw_unit}
    reference_ms: list[float] = []
    for seed in case.seeds:
        seed_run = _run_seed(case, seed, dataset, device, reference, threads, artifacts, latency)
        reference_ms.append(1000 * seed_run.reference_s)
        for name in case.figures:
            figures[name].append(seed_run.compared[name])
            if name in raw:
                raw[name].append(seed_run.absolute[name])
        say(
            f"{case.name} seed {seed}: student AUC {seed_run.absolute['student_test_auc']:.4f}, "
            f"{seed_run.absolute['train_throughput']:,.0f} samples/s, "
            f"reference unit {1000 * seed_run.reference_s:.2f} ms, {seed_run.wall_seconds:.1f} s"
        )
    return CaseMeasurement(
        name=case.name,
        dataset=case.dataset.label,
        dataset_fingerprint=dataset.fingerprint,
        config=case.config,
        config_family=case.config_family,
        seeds=list(case.seeds),
        figures=figures,
        raw=raw,
        reference_ms=reference_ms,
        wall_seconds=time.perf_counter() - started,
    )


@dataclasses.dataclass
class _SeedRun:
    absolute: dict[str, float]  # every figure in its own unit (samples/s, ms, MiB, AUC)
    compared: dict[str, float]  # speed as ratios to the reference unit, the rest as absolute
    reference_s: float  # the reference unit's mean seconds over the seed
    wall_seconds: float


def _run_seed(
    case: CaseSpec,
    seed: int,
    dataset: Any,
    device: torch.device,
    reference: ReferenceWorkload,
    threads: int | None,
    artifacts: str | None = None,
    latency: bool = True,
) -> _SeedRun:
    """One trial, with the reference workload timed before it, after every epoch and after it.

    The seed's reference unit is the mean of all those units: sampled across the trial's whole duration, it
    follows the share of the CPU a shared machine gives while the trial runs (the mean, not the median: the
    trial pays for every preemption too, and on a loaded machine the mean tracked it better).
    """
    from kdbench.bench.trial import run_trial

    n_train = len(dataset.train.y)
    units = reference.unit_seconds(REFERENCE_UNITS)
    epoch_seconds: list[float] = []  # training-step seconds of each epoch (validation excluded)

    def report(phase: str, epoch: int, metrics: dict[str, float]) -> None:
        epoch_seconds.append(n_train / metrics["samples_per_s"])
        units.extend(reference.unit_seconds(EPOCH_REFERENCE_UNITS))

    try:
        with PeakMemory() as memory:
            result = run_trial(
                case.trial_config(seed), dataset, report, device=device, teacher_cache=None, threads=threads,
                artifacts=artifacts, measure_latency=latency,
            )  # fmt: skip
    except Exception as e:  # any failure is the run's failure (exit 2), never a regression (exit 1)
        raise RegressionError(f"case {case.name}, seed {seed} failed: {type(e).__name__}: {e}") from e
    units.extend(reference.unit_seconds(REFERENCE_UNITS))
    unit_s = statistics.fmean(units)
    absolute = {
        "student_test_auc": result.student["test_auc"],
        "student_test_logloss": result.student["test_logloss"],
        "teacher_test_auc": result.teacher["test_auc"],
        "teacher_test_logloss": result.teacher["test_logloss"],
        "train_throughput": n_train * len(epoch_seconds) / sum(epoch_seconds),  # over all phases
        "student_latency": result.student.get("latency_ms_b4096", math.nan),  # NaN: not measured
        "teacher_latency": result.teacher.get("latency_ms_b4096", math.nan),
        "peak_memory": memory.growth_mib,
    }
    compared = {
        **absolute,
        "train_throughput": absolute["train_throughput"] * unit_s,  # samples per unit: higher is better
        "student_latency": absolute["student_latency"] / (1000 * unit_s),  # in units: lower is better
        "teacher_latency": absolute["teacher_latency"] / (1000 * unit_s),
    }
    return _SeedRun(absolute, compared, unit_s, result.wall_seconds)
