"""Find and end the Ray processes one kdbench driver (or test) started, and only those: every one carries the
driver's private Ray temp folder in its command line, so other people's Ray instances are never touched.
Linux only (``/proc``); elsewhere nothing is found."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

__all__ = ["kill_processes_mentioning", "processes_mentioning"]


def processes_mentioning(marker: str) -> list[int]:
    """PIDs (not ours) whose command line contains ``marker``."""
    found: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(int(entry.name))
    return found


def kill_processes_mentioning(marker: str, *, grace_s: float = 5.0) -> list[int]:
    """SIGTERM what :func:`processes_mentioning` finds, SIGKILL it after ``grace_s``; return the PIDs."""
    pids = processes_mentioning(marker)
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    for pid in pids:
        if _alive(pid):
            _signal(pid, signal.SIGKILL)
    return pids


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"
