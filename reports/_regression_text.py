"""Regression figures in human terms: readable figure names, values in their unit, changes with their
direction, the noise threshold that decided a verdict.

A stored case row (``kdbench regress``'s shape, see ``bench/_regress/_verdicts.py``) carries ``kind``
(``quality``: compared as differences; ``speed``/``memory``: compared as ratios), ``unit`` and
``higher_is_better``. Rows without them (written by older code or by hand) fall back to plain numbers.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["change_text", "direction", "figure_label", "noise_text", "relative", "value_text"]

_WORDS = {"auc": "AUC", "logloss": "log loss", "b1": "batch 1", "b4096": "batch 4096", "ms": "ms"}


def figure_label(name: Any) -> str:
    """``student_test_auc`` -> ``student test AUC``."""
    return " ".join(_WORDS.get(word, word) for word in str(name).split("_"))


def relative(row: dict[str, Any]) -> bool:
    """Whether the row's ``change`` and ``threshold`` are fractions of the baseline (speed, memory)."""
    return row.get("kind") in ("speed", "memory")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def value_text(row: dict[str, Any], value: Any) -> str:
    """A value as the CLI prints it: four decimals for quality figures, four significant digits otherwise."""
    number = _number(value)
    if number is None:
        return "—"
    return f"{number:.4f}" if row.get("kind") == "quality" else f"{number:.4g}"


def change_text(row: dict[str, Any]) -> str:
    """``+21.2 %`` for ratios, ``-0.0022`` for differences; ``—`` when nothing was compared."""
    change = _shown_change(row)
    if change is None:
        return "—"
    if change == 0:  # no sign on a change too small to show: "-0.0000 (worse)" would read as a loss
        return "0.0 %" if relative(row) else "0.0000"
    return f"{change:+.1f} %" if relative(row) else f"{change:+.4f}"


def _shown_change(row: dict[str, Any]) -> float | None:
    """The change as printed: in percent, rounded to 0.1, for ratios; rounded to 4 decimals otherwise."""
    change = _number(row.get("change"))
    if change is None:
        return None
    return round(100 * change, 1) if relative(row) else round(change, 4)


def direction(row: dict[str, Any]) -> str:
    """``better``, ``worse`` or ``""`` (no change, nothing compared, or no known direction)."""
    change = _shown_change(row)
    better_up = row.get("higher_is_better")
    if change is None or change == 0 or not isinstance(better_up, bool):
        return ""
    return "better" if (change > 0) == better_up else "worse"


def noise_text(row: dict[str, Any]) -> str:
    """The smallest change that could have been flagged: ``±30.0 %`` or ``±0.0010``."""
    threshold = _number(row.get("threshold"))
    if threshold is None:
        return "—"
    return f"±{100 * threshold:.1f} %" if relative(row) else f"±{threshold:.4f}"
