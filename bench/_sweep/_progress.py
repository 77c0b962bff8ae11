"""What the terminal shows during a sweep: a live table on a terminal, a line per finished trial elsewhere
(CI logs), nothing when quiet. Fed by the store writer's :class:`TrialEvent` updates (driver thread)."""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from kdbench.bench._sweep._callback import TrialEvent

__all__ = ["SweepProgress"]

MODES = ("live", "lines", "quiet")
FINISHED_SHOWN = 8  # finished trials kept in the live table under the running ones


class SweepProgress:
    """Counts, best-so-far and ETA of a sweep; ``mode`` is live, lines or quiet."""

    def __init__(
        self,
        *,
        sweep: str,
        total: int | None,
        already_finished: int,
        deadline: float | None = None,
        best: tuple[float, int] | None,
        mode: str,
        console: Console,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.sweep, self.total, self.mode, self.console = sweep, total, mode, console
        self.already_finished = already_finished
        self.deadline = deadline  # time.time() of the time budget's end (no new trial after it), or None
        self.best = best  # (student valid AUC, trial number)
        self.trials: dict[int, TrialEvent] = {}
        self.counts: dict[str, int] = {}
        self.started_at = time.monotonic()
        self._lock = threading.Lock()  # rich refreshes from its own thread
        self._live: Live | None = None

    # ---- lifetime ---------------------------------------------------------------------------------------
    def __enter__(self) -> SweepProgress:
        self.started_at = time.monotonic()
        if self.mode == "live":
            self._live = Live(get_renderable=self._render, console=self.console, refresh_per_second=2)
            self._live.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    # ---- events -----------------------------------------------------------------------------------------
    def __call__(self, event: TrialEvent) -> None:
        with self._lock:
            self.trials[event.number] = event
            if event.status == "running":
                return
            self.counts[event.status] = self.counts.get(event.status, 0) + 1
            auc = event.student_valid_auc
            if event.status == "completed" and auc is not None and (self.best is None or auc > self.best[0]):
                self.best = (auc, event.number)
            line = self._finished_line(event)
        if self.mode == "lines":
            self.console.print(line, highlight=False, soft_wrap=True)

    # ---- figures ----------------------------------------------------------------------------------------
    @property
    def done(self) -> int:
        return self.already_finished + sum(n for status, n in self.counts.items() if status != "interrupted")

    def eta_seconds(self) -> float | None:
        """Remaining trials times the mean time per finished trial of this run (concurrency included); under
        a time budget at most what is left of it plus one such trial."""
        finished_here = self.done - self.already_finished
        if finished_here <= 0:
            return None
        per_trial = (time.monotonic() - self.started_at) / finished_here
        by_trials = None if self.total is None else max(0, self.total - self.done) * per_trial
        by_budget = None if self.deadline is None else max(0.0, self.deadline - time.time()) + per_trial
        known = [t for t in (by_trials, by_budget) if t is not None]
        return min(known) if known else None

    def headline(self) -> str:
        parts = ", ".join(f"{n} {status}" for status, n in sorted(self.counts.items()))
        running = sum(e.status == "running" for e in self.trials.values())
        best = f"best {self.best[0]:.4f} (trial {self.best[1]})" if self.best else "best -"
        eta = self.eta_seconds()
        return (
            f"sweep {self.sweep}: {self.done}/{self.total if self.total is not None else '-'} done"
            f"{f' ({parts})' if parts else ''}, "
            f"{running} running, {best}, elapsed {_duration(time.monotonic() - self.started_at)}, "
            f"ETA {_duration(eta) if eta is not None else '-'}"
        )

    def _finished_line(self, e: TrialEvent) -> str:
        auc = f"student valid AUC {e.student_valid_auc:.4f}" if e.student_valid_auc is not None else ""
        test = f", test {e.student_test_auc:.4f}" if e.student_test_auc is not None else ""
        error = f": {e.error}" if e.error else ""
        return f"trial {e.number} {e.status} {auc}{test}{error}  |  {self.headline()}"

    def _render(self) -> Group:
        with self._lock:
            table = Table(expand=False, box=None, pad_edge=False)
            for column in ("trial", "status", "phase", "epoch", "valid AUC", "student AUC", "test AUC"):
                table.add_column(column, justify="left" if column in ("status", "phase") else "right")
            running = [e for e in self.trials.values() if e.status == "running"]
            finished = [e for e in self.trials.values() if e.status != "running"][-FINISHED_SHOWN:]
            for e in sorted(running, key=lambda e: e.number) + finished:
                table.add_row(
                    str(e.number),
                    e.status,
                    e.phase,
                    str(e.epoch or ""),
                    _auc(e.valid_auc),
                    _auc(e.student_valid_auc),
                    _auc(e.student_test_auc),
                )
            return Group(Text(self.headline()), table)


def _auc(value: float | None) -> str:
    return "" if value is None or value != value else f"{value:.4f}"


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
