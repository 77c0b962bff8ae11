"""One searched or fixed parameter: its distribution, its condition and its Optuna name.

A parameter spec is a mapping with exactly one of

- ``choices: [a, b, ...]``: categorical; a choice is a scalar or a list of scalars (``[200, 200, 200]``);
- ``int: [low, high]``: integers in the closed range, optional ``step`` (default 1) or ``log: true``;
- ``float: [low, high]``: floats in the closed range, optional ``step`` or ``log: true``;
- ``value: x``: a fixed value, useful with ``when`` (``t_depth: {value: 3, when: {teacher: crossnet}}``);

and optionally ``when: {parent: value}`` (active only while every parent has that value) or
``when: {parent: {in: [v1, v2]}}`` (any of those values).

Optuna categorical choices must be None/bool/int/float/str, so list choices are encoded as strings
(``[200, 200, 200]`` -> ``"200-200-200"``) and decoded back by position, never by parsing.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, cast

from kdbench.search_spaces._yaml import Document, Path

__all__ = [
    "KINDS",
    "Condition",
    "Param",
    "SpecError",
    "canonical",
    "check_plain",
    "encode",
    "parse_param",
    "parse_when",
    "render",
]

KINDS = ("choices", "int", "float", "value")
_OPTIONS = {"choices": (), "int": ("step", "log"), "float": ("step", "log"), "value": ()}
Scalar = None | bool | int | float | str


class SpecError(Exception):
    """Internal: one problem at one path, turned into a :class:`Problem` by the loader."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path, self.message = path, message


@dataclasses.dataclass(frozen=True)
class Condition:
    """``key`` must hold one of ``values`` (a tuple of plain values) for the parameter to be active."""

    key: str
    values: tuple[Any, ...]
    line: int | None = None

    def holds(self, config: dict[str, Any]) -> bool:
        return self.key in config and canonical(config[self.key]) in {canonical(v) for v in self.values}

    def label(self) -> str:
        """``key=v1/v2`` for Optuna names; floats in full (``repr``) so two values never share a name."""
        return f"{self.key}=" + "/".join(repr(v) if isinstance(v, float) else render(v) for v in self.values)


@dataclasses.dataclass(frozen=True)
class Param:
    """A parsed spec. ``name`` is the Optuna parameter name: the key, plus ``|cond`` for conditional ones."""

    key: str
    kind: str  # one of KINDS
    low: int | float | None = None
    high: int | float | None = None
    step: int | float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    value: Any = None
    when: tuple[Condition, ...] = ()
    line: int | None = None

    @property
    def name(self) -> str:
        if not self.when:
            return self.key
        return self.key + "|" + ",".join(c.label() for c in sorted(self.when, key=lambda c: c.key))

    @property
    def searched(self) -> bool:
        return self.kind != "value"

    def encoded_choices(self) -> tuple[Scalar, ...]:
        return tuple(encode(c) for c in self.choices)

    def int_range(self) -> tuple[int, int, int]:
        """``(low, high, step)`` of an ``int`` parameter."""
        # cast: parse_param builds every "int" parameter with int low, high and step (step 1 by default)
        return cast(int, self.low), cast(int, self.high), cast(int, self.step)

    def float_range(self) -> tuple[float, float]:
        """``(low, high)`` of a ``float`` parameter."""
        # cast: parse_param builds every "float" parameter with float low and high
        return cast(float, self.low), cast(float, self.high)

    def can_take(self, value: Any) -> bool:
        """Whether this parameter can ever hold ``value`` (floats: never asked, see the loader)."""
        if self.kind == "value":
            return canonical(value) == canonical(self.value)
        if self.kind == "choices":
            return canonical(value) in {canonical(c) for c in self.choices}
        if self.kind == "int":
            low, high, step = self.int_range()
            ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
            return ok and (value - low) % step == 0
        return False

    def distribution_label(self) -> str:
        if self.kind == "value":
            return f"= {render(self.value)}"
        if self.kind == "choices":
            return "one of " + " | ".join(render(c) for c in self.choices)
        text = f"{self.kind} {render(self.low)} .. {render(self.high)}"
        if self.log:
            text += " (log)"
        elif self.step is not None and not (self.kind == "int" and self.step == 1):
            text += f" step {render(self.step)}"
        return text

    def suggest(self, trial: Any) -> Any:
        """Ask ``trial`` (an ``optuna.trial.BaseTrial``) for this parameter; return the decoded value."""
        if self.kind == "value":
            return _copy(self.value)
        if self.kind == "int":
            return trial.suggest_int(self.name, self.low, self.high, step=self.step, log=self.log)
        if self.kind == "float":
            return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)
        return self.decode(trial.suggest_categorical(self.name, self.encoded_choices()))

    def decode(self, raw: Any) -> Any:
        """The config value for an Optuna value of this parameter (list choices come back as lists)."""
        if self.kind != "choices":
            return raw
        encoded = self.encoded_choices()
        for i, e in enumerate(encoded):
            if canonical(e) == canonical(raw):
                return _copy(self.choices[i])
        raise ValueError(f"{raw!r} is not a choice of {self.name!r}")


# ---- values -------------------------------------------------------------------------------------------


def canonical(value: Any) -> Any:
    """A hashable key under which equal config values meet: ``True`` is not ``1``, ``8`` is ``8.0``."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("num", value)
    if isinstance(value, (list, tuple)):
        return ("list", tuple(canonical(v) for v in value))
    return (type(value).__name__, value)


def encode(choice: Any) -> Scalar:
    """Optuna-safe form of a choice: scalars as they are, lists as ``"a-b-c"`` (ints >= 0) or JSON."""
    if not isinstance(choice, list):
        return choice
    if choice and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in choice):
        return "-".join(str(v) for v in choice)
    return json.dumps(choice, separators=(",", ":"))


def render(value: Any) -> str:
    """Short YAML-like text of a value for names and tables."""
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _is_scalar(value: Any) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return value is None or isinstance(value, (bool, int, float, str))


def check_plain(value: Any, path: Path, what: str) -> None:
    """A config value must be a scalar or a flat list of scalars (it is stored and hashed as JSON)."""
    if _is_scalar(value) or (isinstance(value, list) and all(_is_scalar(v) for v in value)):
        return
    raise SpecError(path, f"{what} must be a finite scalar or a list of scalars, got {value!r}")


# ---- parsing -----------------------------------------------------------------------------------------


def parse_param(doc: Document, key: str, spec: Any, path: Path) -> Param:
    """Parse one spec mapping at ``path``; raise :class:`SpecError` naming the first problem."""
    if not isinstance(spec, dict):
        raise SpecError(
            path, f"a parameter spec must be a mapping with one of {', '.join(KINDS)}, got {spec!r}"
        )
    kinds = [k for k in KINDS if k in spec]
    if len(kinds) != 1:
        found = f"both {' and '.join(kinds)}" if kinds else "none"
        raise SpecError(path, f"give exactly one of {', '.join(KINDS)} ({found} given)")
    kind = kinds[0]
    allowed = {kind, "when", *_OPTIONS[kind]}
    for extra in spec:
        if extra not in allowed:
            if extra in ("step", "log"):
                raise SpecError((*path, extra), f"{extra!r} applies only to int and float ranges, not {kind}")
            raise SpecError((*path, extra), f"unknown key (allowed here: {', '.join(sorted(allowed))})")
    when = parse_when(doc, spec["when"], (*path, "when")) if "when" in spec else ()
    line = doc.line(path)
    if kind == "value":
        check_plain(spec["value"], (*path, "value"), "a value")
        return Param(key, "value", value=spec["value"], when=when, line=line)
    if kind == "choices":
        return Param(
            key, "choices", choices=_parse_choices(spec["choices"], (*path, "choices")), when=when, line=line
        )
    low, high, step, log = _parse_range(kind, spec, path)
    return Param(key, kind, low=low, high=high, step=step, log=log, when=when, line=line)


def _parse_choices(choices: Any, path: Path) -> tuple[Any, ...]:
    if not isinstance(choices, list):
        raise SpecError(path, f"choices must be a list, got {choices!r}")
    if not choices:
        raise SpecError(path, "choices is empty: give at least one")
    encoded: list[Scalar] = []
    for i, choice in enumerate(choices):
        check_plain(choice, (*path, i), "a choice")
        enc = encode(choice)
        # Optuna finds a choice with ``==`` (1 == 1.0 == True), so those count as repeats too.
        for j, prev in enumerate(encoded):
            if prev == enc:
                note = " (list choices reach Optuna as 'a-b-c' strings)" if isinstance(enc, str) else ""
                raise SpecError(
                    (*path, i), f"choice {render(choice)} repeats choice {render(choices[j])}{note}"
                )
        encoded.append(enc)
    return tuple(choices)


def _number(value: Any, path: Path, integer: bool) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(path, f"expected {'an integer' if integer else 'a number'}, got {value!r}")
    if integer and not isinstance(value, int):
        raise SpecError(path, f"expected an integer, got {value!r}")
    if not math.isfinite(value):
        raise SpecError(path, f"expected a finite number, got {value!r}")
    return value if integer else float(value)


def _parse_range(kind: str, spec: dict[str, Any], path: Path) -> tuple[Any, Any, Any, bool]:
    integer = kind == "int"
    bounds = spec[kind]
    if not isinstance(bounds, list) or len(bounds) != 2:
        raise SpecError((*path, kind), f"{kind} takes [low, high], got {bounds!r}")
    low = _number(bounds[0], (*path, kind, 0), integer)
    high = _number(bounds[1], (*path, kind, 1), integer)
    if low > high:
        raise SpecError((*path, kind), f"low {render(low)} is greater than high {render(high)}")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise SpecError((*path, "log"), f"log must be true or false, got {log!r}")
    if log and low <= 0:
        raise SpecError((*path, kind), f"a log scale needs low > 0, got low {render(low)}")
    step = spec.get("step")
    if step is not None:
        step = _number(step, (*path, "step"), integer)
        if step <= 0:
            raise SpecError((*path, "step"), f"step must be > 0, got {render(step)}")
        if log and not (integer and step == 1):
            raise SpecError((*path, "step"), "log: true cannot be combined with a step (Optuna refuses it)")
        ratio = (high - low) / step
        if abs(ratio - round(ratio)) > 1e-9 * max(1.0, ratio):
            raise SpecError((*path, "step"), f"high - low ({render(high - low)}) is not a multiple of step")
    if integer and step is None:
        step = 1
    return low, high, step, log


def parse_when(doc: Document, when: Any, path: Path) -> tuple[Condition, ...]:
    if not isinstance(when, dict) or not when:
        raise SpecError(path, f"when must be a non-empty mapping {{parameter: value}}, got {when!r}")
    out = []
    for parent, wanted in when.items():
        where = (*path, parent)
        if isinstance(wanted, dict):
            if set(wanted) != {"in"} or not isinstance(wanted["in"], list) or not wanted["in"]:
                raise SpecError(where, f"use {parent}: value or {parent}: {{in: [v1, v2]}}, got {wanted!r}")
            values = tuple(wanted["in"])
        else:
            values = (wanted,)
        for v in values:
            check_plain(v, where, "a condition value")
        out.append(Condition(parent, values, doc.line(where)))
    return tuple(out)
