"""How numbers, times and values read in the site's tables (registered as jinja2 filters).

Every formatter takes whatever a store frame cell holds (float, int, ``None``, ``NaN``, ``pd.NA``,
``NaT``) and returns text; a missing value reads as an em dash rather than ``nan``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pandas as pd

__all__ = [
    "MISSING",
    "auc",
    "cell",
    "duration",
    "integer",
    "is_missing",
    "mean_std",
    "milliseconds",
    "percent",
    "pretty_json",
    "short_sha",
    "signed",
    "sort_value",
    "when",
]

MISSING = "—"


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value)) if not isinstance(value, (list, tuple, dict, str)) else False
    except (TypeError, ValueError):
        return False


def auc(value: Any, digits: int = 4) -> str:
    """AUC and log loss: four decimals (differences of 0.001 matter in CTR prediction)."""
    return MISSING if is_missing(value) else f"{float(value):.{digits}f}"


def signed(value: Any, digits: int = 4) -> str:
    """A difference, with its sign always shown (``+0.0012``, ``-0.0030``)."""
    return MISSING if is_missing(value) else f"{float(value):+.{digits}f}"


def mean_std(mean: Any, std: Any, n: Any = 1, digits: int = 4) -> str:
    """``0.8123 ± 0.0012`` when several seeds ran (``n > 1`` and a std exists), else the mean alone."""
    if is_missing(mean):
        return MISSING
    if is_missing(std) or is_missing(n) or int(n) < 2:
        return f"{float(mean):.{digits}f}"
    return f"{float(mean):.{digits}f} ± {float(std):.{digits}f}"


def integer(value: Any) -> str:
    return MISSING if is_missing(value) else f"{int(value):,}"


def percent(value: Any) -> str:
    """A share already in percent: ``12.5 %``, ``3.14 %`` (two decimals below 10 %, where shares of FLOPs
    usually sit)."""
    if is_missing(value):
        return MISSING
    value = float(value)
    return f"{value:.2f} %" if abs(value) < 10 else f"{value:.1f} %"


def milliseconds(value: Any) -> str:
    return MISSING if is_missing(value) else f"{float(value):.3g} ms"


def duration(seconds: Any) -> str:
    """``9.5 s``, ``2 min 05 s``, ``1 h 02 min``."""
    if is_missing(seconds):
        return MISSING
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def when(value: Any) -> str:
    """A UTC timestamp to the minute (the store's times are timezone-aware UTC)."""
    if is_missing(value):
        return MISSING
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(dt.UTC)
    return stamp.tz_convert(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def short_sha(sha: Any, dirty: Any = None) -> str:
    """The first 8 hex digits, with ``+dirty`` when the checkout had uncommitted changes."""
    if is_missing(sha) or not sha:
        return MISSING
    return f"{str(sha)[:8]}{'+dirty' if dirty is True else ''}"


def cell(value: Any) -> str:
    """Any stored value as table text: floats to 4 significant digits, lists and dicts as compact JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(",", ":"), default=str)
    if is_missing(value):
        return MISSING
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return when(value)
    return str(value)


def pretty_json(value: Any) -> str:
    """Nested stored values (per-seed lists, summaries) as indented JSON for a ``<pre>``."""
    return json.dumps(value, indent=2, sort_keys=False, default=str)


def sort_value(value: Any) -> str:
    """The ``data-sort`` attribute the table script orders by: a plain number, or text; empty when missing."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str)
    if is_missing(value):
        return ""
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return str(pd.Timestamp(value).timestamp())
    if isinstance(value, (int, float)) or hasattr(value, "__float__"):
        try:
            return repr(float(value))
        except (TypeError, ValueError):
            pass
    return str(value)
