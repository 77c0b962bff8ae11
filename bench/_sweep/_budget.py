"""A sweep's time budget across its runs: what each run spent, so a resume gets what is left.

Every run of a sweep (its creation and each ``--resume``) is listed in the sweep's settings (``runs``); a run
that ended in the driver records ``spent_s``. A driver killed outright records nothing, so its run counts
until the last moment the store saw it working: the latest start or finish of a trial after the run began.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

__all__ = ["budget_spent"]


def budget_spent(runs: Sequence[dict[str, Any]], trials: Any) -> float:
    """Seconds the runs ``runs`` (the sweep's ``settings["runs"]``) spent; ``trials``: the sweep's store
    trials (``started_at``, ``finished_at``), read only for runs that recorded nothing."""
    total = 0.0
    for i, run in enumerate(runs):
        spent = run.get("spent_s")
        if isinstance(spent, (int, float)) and math.isfinite(spent):
            total += max(0.0, float(spent))
        else:
            until = runs[i + 1]["started_at"] if i + 1 < len(runs) else None
            total += _seen_working(run["started_at"], until, trials)
    return total


def _seen_working(started_at: str, until_at: str | None, trials: Any) -> float:
    """Seconds from ``started_at`` to the last trial start or finish before ``until_at`` (the next run)."""
    started = dt.datetime.fromisoformat(started_at)
    until = dt.datetime.fromisoformat(until_at) if until_at else None
    last = started
    for column in ("started_at", "finished_at"):
        if column not in trials:
            continue
        for stamp in trials[column].dropna():
            when = stamp.to_pydatetime() if hasattr(stamp, "to_pydatetime") else stamp
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
            if when > last and (until is None or when <= until):
                last = when
    return (last - started).total_seconds()
