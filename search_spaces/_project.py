"""A known configuration projected onto a space: the point of the space nearest to it.

A sweep's warm start evaluates the configuration a user would otherwise train by hand (a dataset's recipe,
or the trial-config defaults) as its first trial. That configuration need not lie in the space, so each
active parameter takes the value of the space nearest to the configuration's own:

- a range: the value clipped to ``[low, high]`` and put on the range's ``step`` grid (ints rounded; a tie
  goes to the lower value);
- choices: the value itself if it is one, else the nearest choice: numbers by distance (on a log scale when
  both are positive), lists by the distance of their zero-padded entries, anything else the first choice;
- a fixed value (``value:`` or the space's ``fixed:``): that value.

A key the configuration does not hold takes the middle of its range (in its scale) or the first choice.
Conditions are followed as the space asks: a parameter is projected only on the branch the projected
values select, exactly as :meth:`SearchSpace.suggest` would ask it. Every difference from the configuration is
reported as a short sentence, so a user sees what the warm start really ran.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from kdbench.search_spaces._params import Param, canonical, render

__all__ = ["Projection", "project"]


@dataclasses.dataclass(frozen=True)
class Projection:
    """``params``: Optuna parameter names -> Optuna values (for ``study.enqueue_trial``); ``config``: the
    flat config the space gives for them (fixed keys included, as ``suggest`` returns it); ``changes``: one
    line per value that differs from the configuration projected."""

    params: dict[str, Any]
    config: dict[str, Any]
    changes: tuple[str, ...]


def project(space: Any, start: Mapping[str, Any]) -> Projection:
    """Project the flat config ``start`` onto ``space`` (a :class:`SearchSpace`); see the module docstring."""
    trial = _ProjectingTrial(space, start)
    config = space.suggest(trial)
    changes = list(trial.changes)
    for key, value in config.items():  # fixed by the space: its fixed keys, or a branch's value
        given = start.get(key)
        if key not in trial.asked and given is not None and canonical(_plain(given)) != canonical(value):
            changes.append(f"{key} {render(_plain(given))} -> {render(value)} (fixed by the space)")
    return Projection(params=trial.params, config=config, changes=tuple(changes))


class _ProjectingTrial:
    """Answers the space's ``suggest_*`` calls with the nearest value to ``start``; records what it gave.

    It stands in for an ``optuna.trial.BaseTrial`` inside :meth:`SearchSpace.suggest`, so conditions and
    branch-unique names are handled by the same code that asks a real trial.
    """

    def __init__(self, space: Any, start: Mapping[str, Any]) -> None:
        self._by_name: dict[str, Param] = {p.name: p for p in space.params if p.searched}
        self._start = start
        self.params: dict[str, Any] = {}
        self.asked: set[str] = set()  # config keys asked for (searched on the active branch)
        self.changes: list[str] = []

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        return self._range(name, low, high, step, log, as_int=True)

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        return self._range(name, low, high, step, log, as_int=False)

    def suggest_categorical(self, name: str, choices: tuple[Any, ...]) -> Any:
        param = self._by_name[name]
        key = param.key
        self.asked.add(key)
        if key not in self._start or self._start[key] is None:
            chosen = 0
            self.changes.append(f"{key}: not in the configuration, took the first choice")
        else:
            wanted = _plain(self._start[key])
            chosen = _nearest_choice(wanted, param.choices)
            if canonical(param.choices[chosen]) != canonical(wanted):
                self.changes.append(
                    f"{key} {render(wanted)} -> {render(param.choices[chosen])} (nearest of its choices)"
                )
        self.params[name] = choices[chosen]
        return choices[chosen]

    def _range(self, name: str, low: Any, high: Any, step: Any, log: bool, *, as_int: bool) -> Any:
        key = self._by_name[name].key
        self.asked.add(key)
        wanted = self._start.get(key)
        if _is_number(wanted):
            value = min(max(wanted, low), high)
            note = "clipped to its range" if value != wanted else "on its step grid"
        else:
            value = math.sqrt(low * high) if log else (low + high) / 2
            note = "not in the configuration, took the middle of its range"
        if step:
            value = min(low + _round_half_down((value - low) / step) * step, high)
        if as_int:
            value = _round_half_down(value)
        if not _is_number(wanted):
            self.changes.append(f"{key}: {note} ({render(value)})")
        elif value != wanted:
            self.changes.append(f"{key} {render(wanted)} -> {render(value)} ({note})")
        self.params[name] = value
        return value


def _round_half_down(x: float) -> int:
    """The nearest integer, the lower one on a tie (as the first of equally near choices is taken)."""
    return math.ceil(x - 0.5)


def _nearest_choice(wanted: Any, choices: tuple[Any, ...]) -> int:
    """The index of the choice nearest to ``wanted`` (the first among equals)."""
    for i, choice in enumerate(choices):
        if canonical(choice) == canonical(wanted):
            return i
    distances = [_distance(wanted, c) for c in choices]
    best = min(distances)
    return distances.index(best) if math.isfinite(best) else 0


def _distance(a: Any, b: Any) -> float:
    if _is_number(a) and _is_number(b):
        if a > 0 and b > 0:
            return abs(math.log(a) - math.log(b))
        return abs(a - b)
    if isinstance(a, list) and isinstance(b, list):
        if not all(_is_number(v) for v in (*a, *b)):
            return math.inf
        n = max(len(a), len(b))
        return float(
            sum(abs(x - y) for x, y in zip(a + [0] * (n - len(a)), b + [0] * (n - len(b)), strict=True))
        )
    return math.inf


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _plain(value: Any) -> Any:
    """Config values as a space writes them: tuples as lists."""
    return list(value) if isinstance(value, tuple) else value
