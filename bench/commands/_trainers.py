"""Which `kdbench train --db` process a running row belongs to, and settling rows whose process is gone.

`train --db` writes its row as ``running`` before training and settles it at the end, on an error, on Ctrl-C
and on SIGTERM. A SIGKILL (or a machine that lost power) leaves it ``running``. So the row names its process
in its ``node`` column (``HOST pid PID``), and a later command on the same host can tell the process is gone:
``kdbench db repair`` and the next ``train --db`` settle such rows as failed, and ``db info`` counts them.
A row of another host cannot be checked from here: it is only counted.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["Stale", "driver_node", "settle_gone", "stale_trials"]

_NODE = re.compile(r"^(?P<host>.+) pid (?P<pid>\d+)$")


def driver_node() -> str:
    """This process as a ``node`` value: ``HOST pid PID``."""
    return f"{socket.gethostname()} pid {os.getpid()}"


@dataclass(frozen=True)
class Stale:
    """The running ad-hoc trials of ``store``: those whose process on this host is gone, and those recorded
    by other hosts (unknown here)."""

    gone: list[tuple[int, str]]  # (trial id, node)
    elsewhere: int


def stale_trials(store: Any) -> Stale:
    """Running trials of ``kdbench train`` whose recorded process is not alive on this host."""
    from kdbench.bench.store import ADHOC_SWEEP

    trials = store.trials(sweep=ADHOC_SWEEP)
    running = trials[trials["status"] == "running"] if not trials.empty else trials
    gone, elsewhere, here = [], 0, socket.gethostname()
    for row in running.itertuples():
        match = _NODE.match(str(row.node or ""))
        if match is None or match["host"] != here:
            elsewhere += 1
        elif not _alive(int(match["pid"]), row.started_at):
            gone.append((int(row.trial_id), str(row.node)))
    return Stale(gone, elsewhere)


def settle_gone(store: Any) -> list[int]:
    """Settle the rows :func:`stale_trials` finds gone as failed ("interrupted: its process ... is gone");
    returns their ids."""
    gone = stale_trials(store).gone
    for trial_id, node in gone:
        store.finish_trial(
            trial_id, status="failed", error=f"interrupted: its process ({node}) is gone (killed)"
        )
    return [trial_id for trial_id, _ in gone]


def _alive(pid: int, row_started: Any) -> bool:
    """Whether process ``pid`` is alive here and is the one that started the row: a process that started
    after the row did reuses a dead one's pid (Linux, from /proc; elsewhere any live pid counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, and not ours to judge
        return True
    started = _process_start(pid)
    if started is None or row_started is None or pd.isna(row_started):
        return True
    return started <= pd.Timestamp(row_started).timestamp() + 1.0  # +1 s: clock-tick rounding


def _process_start(pid: int) -> float | None:
    """The Unix time process ``pid`` started, from /proc (None where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        with open("/proc/stat", encoding="ascii") as f:
            boot = next(float(line.split()[1]) for line in f if line.startswith("btime "))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of stat: start time in ticks
    except (OSError, ValueError, IndexError, StopIteration):
        return None
