"""Same-machine A/B: a suite's seeds run for two git revisions, interleaved, as asv's ``continuous`` does.

Each revision runs in a worker process of its own (``_ab_worker``, in the revision's exported tree: see
``_revisions``), started once and kept for the whole run, so each side pays its start-up (imports, datasets)
once. The seeds are requested alternately, in ABBA order (seed 0: base then head; seed 1: head then base;
...), so a machine that slows down or speeds up during the run moves both sides alike rather than the one
that ran later. Each answer is one seed's :class:`SuiteMeasurement`; the seeds are merged back into one
measurement per side, the same shape ``regress run`` compares with a baseline.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from kdbench.bench._regress._revisions import Revision
from kdbench.bench._regress._run import SuiteMeasurement
from kdbench.bench._regress._suite import Suite
from kdbench.bench.errors import RegressionError

__all__ = ["ABMeasurement", "run_ab", "seed_order"]

_WORKER = Path(__file__).with_name("_ab_worker.py")
# run_path runs the file as __main__ without putting its folder on sys.path (``python FILE`` would, and this
# checkout's bench/_regress must not shadow anything in the revision's tree); argv[0] is the worker's path.
_RUN_WORKER = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
_STOP_SECONDS = 30


@dataclasses.dataclass
class ABMeasurement:
    base: SuiteMeasurement
    head: SuiteMeasurement
    order: list[tuple[str, str, int]]  # (side, case, seed) in the order they ran
    wall_seconds: float


def seed_order(suite: Suite) -> list[tuple[str, str, int]]:
    """(side, case, seed) in running order: per case, its seeds alternately base-first and head-first."""
    order = []
    for case in suite.cases:
        for i, seed in enumerate(case.seeds):
            sides = ("base", "head") if i % 2 == 0 else ("head", "base")
            order += [(side, case.name, seed) for side in sides]
    return order


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
    workers = {
        side: _Worker(side, revision, suite_path, device, log_dir / f"{side}-{revision.sha[:12]}.log")
        for side, revision in (("base", base), ("head", head))
    }
    try:
        for worker in workers.values():  # both start together; each then waits for its own ready line
            worker.ready()
        parts: dict[str, list[dict[str, Any]]] = {"base": [], "head": []}
        order = seed_order(suite)
        for side, case, seed in order:
            part = workers[side].run_seed(case, seed)
            parts[side].append(part)
            say(_progress_line(workers[side].revision, side, part))
    finally:
        for worker in workers.values():  # both wind down together
            worker.close_input()
        for worker in workers.values():
            worker.stop()
    return ABMeasurement(
        base=_merge(parts["base"], base), head=_merge(parts["head"], head), order=order,
        wall_seconds=time.perf_counter() - started,
    )  # fmt: skip


class _Worker:
    def __init__(self, side: str, revision: Revision, suite_path: str, device: str, log: Path) -> None:
        self.side, self.revision, self.log_path = side, revision, log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[str] = log.open("w")
        env = {**os.environ, "PYTHONPATH": str(revision.tree)}
        self._process = subprocess.Popen(
            [sys.executable, "-c", _RUN_WORKER, str(_WORKER), suite_path, device], cwd=revision.tree, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True,
        )  # fmt: skip

    def ready(self) -> None:
        self._receive("ready")

    def run_seed(self, case: str, seed: int) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"case": case, "seed": seed}) + "\n")
        self._process.stdin.flush()
        return self._receive("measurement")

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
