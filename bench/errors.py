"""One exception root for everything a user can get wrong.

The CLI turns any :class:`KdbenchError` into one line on stderr and a non-zero exit; library errors are
converted at the boundary with ``raise ... from e`` so the cause stays in the traceback for developers.
SIGTERM becomes :class:`Terminated` (a ``KeyboardInterrupt``) inside :func:`sigterm_as_interrupt`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

from kdbench.search_spaces import SearchSpaceError as _SpaceError  # loads yaml only, not optuna

__all__ = [
    "BaselineError",
    "ConfigError",
    "DatasetError",
    "KdbenchError",
    "RegressionError",
    "ReportError",
    "SearchSpaceError",
    "StoreError",
    "SweepError",
    "Terminated",
    "TrialError",
    "UsageError",
    "one_line",
    "shorten",
    "sigterm_as_interrupt",
]


def shorten(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else cut to ``limit`` ending in "...": a long value
    (a name, a path, a column) quoted in a one-line message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def one_line(error: object, limit: int | None = 160) -> str:
    """An error's message (or any text) on one line, its runs of whitespace made single spaces, then
    :func:`shorten`-ed to ``limit`` characters (None: not cut)."""
    text = " ".join(str(error).split())
    return text if limit is None else shorten(text, limit)


class KdbenchError(Exception):
    """Base of every error kdbench raises on purpose. The message says what is wrong and what to do."""


class ConfigError(KdbenchError):
    """A trial config has unknown keys, wrong types or impossible values."""


class UsageError(KdbenchError):
    """A command-line argument names something unusable (an output file in a missing folder, ...)."""


class DatasetError(KdbenchError):
    """A dataset source is missing, malformed or cannot be fetched."""


class SearchSpaceError(KdbenchError, _SpaceError):
    """A search-space YAML is malformed or describes an impossible space."""


class StoreError(KdbenchError):
    """The results database cannot be opened, is of another schema version, or a write failed."""


class TrialError(KdbenchError):
    """A KD trial failed while running (non-finite loss, out of memory, ...)."""


class SweepError(KdbenchError):
    """A sweep cannot start or resume (name clash, unreachable Ray cluster, ...)."""


class ReportError(KdbenchError):
    """The report site cannot be built (unwritable output folder, ...)."""


class RegressionError(KdbenchError):
    """A regression suite or baseline is malformed or missing."""


class BaselineError(KdbenchError):
    """A baseline cannot be fitted on a dataset (a training split with one class, ...)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill PID``, a scheduler's preemption) raised where a command runs, so it settles what it
    recorded like Ctrl-C; the command exits 143 (128 + SIGTERM)."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Raise :class:`Terminated` in the main thread on SIGTERM while inside, so the command settles what it
    recorded (a trial's row, a sweep and its Ray) as on Ctrl-C instead of dying; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: Any) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
