"""Same-machine A/B: a suite's seeds run for two git revisions, interleaved, as asv's ``continuous`` does.

Each revision runs in a worker process of its own (``_ab_worker``, in the revision's exported tree: see
``_revisions``), started once and kept for the whole run, so each side pays its start-up (imports, datasets)
once. The seeds are requested alternately, in ABBA order (seed 0: base then head; seed 1: head then base;
...), so a machine that slows down or speeds up during the run moves both sides alike rather than the one
that ran later. Each answer is one seed's :class:`SuiteMeasurement`; the seeds are merged back into one
measurement per side, the same shape ``regress run`` compares with a baseline.

Latency is measured again after each seed's pair, in :data:`LATENCY_ROUNDS` short rounds: in each round both
workers time :data:`LATENCY_CALLS` batch-4096 calls of the same model (``_timing.InferenceTimer``), one right
after the other, the side that goes first alternating. Whatever slows the machine for longer than one
side's turn (about 10 ms: other jobs, a busy neighbour on the host) then falls on both sides of a round
alike, where a trial's own 0.1 s latency window met it on one seed of one side. A side's latency for the
seed is the median over the rounds of each round's median call, and both sides' are divided by the same
reference unit (the mean of the two sides' for that seed), so their ratio is the ratio of the times. A
revision whose face has no ``InferenceTimer`` (older than these rounds) keeps its trials' own latencies,
and so does the other side then; otherwise the trials skip their own latency windows (about 0.4 s a trial).

Both workers are pinned to the same CPUs once warmed up (:func:`shared_cpus`: as many as the suite's
``threads``; their start-ups still run side by side). They never compute at the same time after that, so
sharing costs nothing, and a CPU that another program keeps busy slows both sides alike; left to the
scheduler, one worker could sit beside a busy process for a whole seed while the other had a core to itself.

Both workers also start with glibc's malloc thresholds fixed (:data:`MALLOC_ENV`; see
``latency.steady_allocator``, which ``run_suite`` calls too, for why), so that an older revision's worker
is as steady as a new one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from kdbench.bench._regress._revisions import Revision
from kdbench.bench._regress._run import SuiteMeasurement
from kdbench.bench._regress._suite import Suite
from kdbench.bench._regress._timing import MODELS
from kdbench.bench.errors import RegressionError
from kdbench.bench.latency import MMAP_THRESHOLD_BYTES, TRIM_THRESHOLD_BYTES

__all__ = ["LATENCY_CALLS", "LATENCY_ROUNDS", "ABMeasurement", "run_ab", "seed_order", "shared_cpus"]

_WORKER = Path(__file__).with_name("_ab_worker.py")
# run_path runs the file as __main__ without putting its folder on sys.path (``python FILE`` would, and this
# checkout's bench/_regress must not shadow anything in the revision's tree); argv[0] is the worker's path.
_RUN_WORKER = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
_STOP_SECONDS = 30
MALLOC_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD_BYTES),
    "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD_BYTES),
}
LATENCY_ROUNDS = 10  # per seed; a side's turn of LATENCY_CALLS calls takes about 10 ms on the smoke suite
LATENCY_CALLS = 4


@dataclasses.dataclass
class ABMeasurement:
    base: SuiteMeasurement
    head: SuiteMeasurement
    order: list[tuple[str, str, int]]  # (side, case, seed) in the order they ran
    wall_seconds: float
    # {"rounds", "calls"} of the interleaved latency rounds, or {"skipped": why} when a side has no timer
    latency: dict[str, Any] = dataclasses.field(default_factory=dict)


def seed_order(suite: Suite) -> list[tuple[str, str, int]]:
    """(side, case, seed) in running order: per case, its seeds alternately base-first and head-first."""
    order = []
    for case in suite.cases:
        for i, seed in enumerate(case.seeds):
            sides = ("base", "head") if i % 2 == 0 else ("head", "base")
            order += [(side, case.name, seed) for side in sides]
    return order


def shared_cpus(threads: int | None) -> set[int] | None:
    """The CPUs both workers are pinned to: the last ``threads`` this process may use (the first CPU takes
    most of a machine's interrupts), or None (not pinned) when the suite sets no thread count or the
    platform cannot pin."""
    if not threads or not hasattr(os, "sched_getaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    return set(allowed[-threads:]) if threads < len(allowed) else None


def run_ab(
    suite: Suite,
    base: Revision,
    head: Revision,
    *,
    device: str,
    log_dir: Path,
    progress: Callable[[str], None] | None = None,
) -> ABMeasurement:
    """Run ``suite`` (a suite file both revisions load) for ``base`` and ``head``, interleaved.

    A worker that fails (a bad dataset in one revision, a crashed trial) is a :class:`RegressionError`
    naming the side, the revision and the reason; its log stays in ``log_dir``.
    """
    say = progress or (lambda _line: None)
    started = time.perf_counter()
    suite_path = str(Path(suite.source).resolve())  # the workers run in the revisions' trees
    cpus = shared_cpus(suite.threads)
    workers = {
        side: _Worker(side, revision, suite_path, device, log_dir / f"{side}-{revision.sha[:12]}.log", cpus)
        for side, revision in (("base", base), ("head", head))
    }
    try:
        for worker in workers.values():  # both start together; each then waits for its own ready line
            worker.ready()
        latency = _latency_plan(workers)
        parts: dict[str, list[dict[str, Any]]] = {"base": [], "head": []}
        order = seed_order(suite)
        rounds = "skipped" not in latency
        # the models whose latency figure each case tracks: only those are timed
        tracked_models = {c.name: [m for m in MODELS if f"{m}_latency" in c.figures] for c in suite.cases}
        for i, (side, case, seed) in enumerate(order):
            part = workers[side].run_seed(case, seed, trial_latency=not rounds)
            parts[side].append(part)
            say(_progress_line(workers[side].revision, side, part))
            timed = tracked_models[case]
            if i % 2 == 1 and rounds and timed:  # both sides have run this seed: time their models in rounds
                medians = _latency_rounds(workers, case, seed, timed)
                _use_round_latencies(parts["base"][-1], parts["head"][-1], medians)
                say(_rounds_line(case, seed, medians))
    finally:
        for worker in workers.values():  # both wind down together
            worker.close_input()
        for worker in workers.values():
            worker.stop()
    return ABMeasurement(
        base=_merge(parts["base"], base), head=_merge(parts["head"], head), order=order,
        wall_seconds=time.perf_counter() - started, latency=latency,
    )  # fmt: skip


def _cpu_list(cpus: set[int] | None) -> str:
    return ",".join(map(str, sorted(cpus))) if cpus else ""


def _latency_plan(workers: dict[str, _Worker]) -> dict[str, Any]:
    old = [f"{side} {w.revision.label}" for side, w in workers.items() if not w.timing]
    if old:
        return {
            "skipped": f"{' and '.join(old)} cannot time in rounds (older); the trials' latencies are used"
        }
    return {"rounds": LATENCY_ROUNDS, "calls": LATENCY_CALLS}


def _latency_rounds(
    workers: dict[str, _Worker], case: str, seed: int, models: Sequence[str] = MODELS
) -> dict[str, dict[str, float]]:
    """``{side: {model: ms}}``: each side's median over the rounds of its round's median call."""
    per_round: dict[str, dict[str, list[float]]] = {side: {m: [] for m in models} for side in workers}
    for r in range(LATENCY_ROUNDS):
        for m, model in enumerate(models):
            for side in ("base", "head") if (r + m) % 2 == 0 else ("head", "base"):
                calls = workers[side].time_calls(case, seed, model, LATENCY_CALLS)
                per_round[side][model].append(statistics.median(calls))
    return {side: {m: statistics.median(v) for m, v in models.items()} for side, models in per_round.items()}


def _use_round_latencies(
    base: dict[str, Any], head: dict[str, Any], medians: dict[str, dict[str, float]]
) -> None:
    """Put the rounds' latencies into both sides' one-seed measurements, over the pair's shared unit."""
    cases = {"base": base["cases"][0], "head": head["cases"][0]}
    unit_ms = statistics.fmean(c["reference_ms"][0] for c in cases.values())
    for side, case in cases.items():
        for model, ms in medians[side].items():
            figure = f"{model}_latency"
            if figure in case["figures"]:
                case["figures"][figure] = [ms / unit_ms]
                case.setdefault("raw", {})[figure] = [ms]


class _Worker:
    def __init__(
        self, side: str, revision: Revision, suite_path: str, device: str, log: Path, cpus: set[int] | None
    ) -> None:
        self.side, self.revision, self.log_path = side, revision, log
        self.timing = False  # whether the revision can time its models in rounds: known once ready
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[str] = log.open("w")
        env = {**os.environ, **MALLOC_ENV, "PYTHONPATH": str(revision.tree)}
        self._process = subprocess.Popen(
            [sys.executable, "-c", _RUN_WORKER, str(_WORKER), suite_path, device, _cpu_list(cpus)],
            cwd=revision.tree, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True,
        )  # fmt: skip

    def ready(self) -> None:
        self.timing = bool(self._receive("ready").get("timing"))

    def run_seed(self, case: str, seed: int, *, trial_latency: bool = True) -> dict[str, Any]:
        """One seed's measurement; ``trial_latency=False``: the trials skip their latency windows (NaN)."""
        self._send({"case": case, "seed": seed, "latency": trial_latency})
        return self._receive("measurement")

    def time_calls(self, case: str, seed: int, model: str, calls: int) -> list[float]:
        """Milliseconds of ``calls`` batch-4096 calls of ``model`` of ``case``'s trial for ``seed``."""
        self._send({"time": {"case": case, "seed": seed, "model": model, "calls": calls}})
        return [float(ms) for ms in self._receive("times")]

    def _send(self, request: dict[str, Any]) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()

    def close_input(self) -> None:
        """No more requests: the worker exits when it has read this."""
        if self._process.stdin is not None and not self._process.stdin.closed:
            with contextlib.suppress(OSError):  # the worker has gone already
                self._process.stdin.close()

    def stop(self) -> None:
        self.close_input()
        try:
            self._process.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()

    def _receive(self, key: str) -> Any:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        message = json.loads(line) if line.strip() else {}
        if key in message:
            return message[key]
        reason = message.get("error") or f"the worker exited ({self._last_log_line()})"
        raise RegressionError(f"{self.side} {self.revision.label} failed: {reason} (log: {self.log_path})")

    def _last_log_line(self) -> str:
        self._log.flush()
        self._process.poll()
        lines = self.log_path.read_text(errors="replace").strip().splitlines()
        return lines[-1].strip() if lines else f"exit status {self._process.returncode}"


def _merge(parts: list[dict[str, Any]], revision: Revision) -> SuiteMeasurement:
    """One side's per-seed measurements as one measurement, each case's seeds in the order they ran."""
    cases: dict[str, dict[str, Any]] = {}
    for part in parts:
        for case in part["cases"]:
            merged = cases.setdefault(
                case["name"],
                {**case, "seeds": [], "figures": {k: [] for k in case["figures"]},
                 "raw": {k: [] for k in case.get("raw", {})}, "reference_ms": [], "wall_seconds": 0.0},
            )  # fmt: skip
            merged["seeds"] += case["seeds"]
            for group in ("figures", "raw"):
                for name, values in case.get(group, {}).items():
                    merged[group].setdefault(name, []).extend(values)
            merged["reference_ms"] += case.get("reference_ms", [])
            merged["wall_seconds"] += case.get("wall_seconds", 0.0)
    try:
        return SuiteMeasurement.from_dict(
            {**parts[0], "cases": list(cases.values()), "wall_seconds": sum(p["wall_seconds"] for p in parts)}
        )
    except (KeyError, TypeError) as e:
        raise RegressionError(
            f"{revision.label} measures in another shape ({type(e).__name__}: {e}): it is too old or too new "
            "for this kdbench's regress ab"
        ) from e


def _progress_line(revision: Revision, side: str, part: dict[str, Any]) -> str:
    (case,) = part["cases"]
    auc = case["figures"].get("student_test_auc")
    quality = f"student AUC {auc[0]:.4f}, " if auc else ""
    seed = case["seeds"][0]
    return f"{side} {revision.sha[:10]} {case['name']} seed {seed}: {quality}{case['wall_seconds']:.1f} s"


def _rounds_line(case: str, seed: int, medians: dict[str, dict[str, float]]) -> str:
    shown = ", ".join(
        f"{model} {medians['base'][model]:.2f} / {medians['head'][model]:.2f} ms "
        f"({medians['head'][model] / medians['base'][model] - 1:+.1%})"
        for model in medians["base"]
    )
    return f"{case} seed {seed} latency in {LATENCY_ROUNDS} rounds, base / head: {shown}"
