"""The flat, serialisable trial config: defaults, strict validation and the hash that identifies it.

Defaults are the paper's MovieLens-1M settings (CrossNet teacher, outer student; MODEL_SPEC.md).
Validation collects *every* problem before any work starts and raises one :class:`ConfigError` listing them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from bench.errors import ConfigError

__all__ = [
    "INTERACTIONS",
    "TEACHERS",
    "TEACHER_KEYS",
    "TrialConfig",
    "parse_overrides",
]

TEACHERS = ("crossnet", "cin")
INTERACTIONS = ("inner", "outer", "kernel")
# Teacher hyperparameters that exist only for one teacher type (conditional in search spaces too).
TEACHER_KEYS: dict[str, tuple[str, ...]] = {"crossnet": ("t_depth",), "cin": ("t_cin",)}


@dataclasses.dataclass(frozen=True)
class TrialConfig:
    """One KD-DAGFM trial. Field names are the config keys used everywhere (YAML, ``--set``, the store)."""

    teacher: str = "crossnet"
    t_depth: int = 3  # CrossNet layers (teacher: crossnet only)
    t_cin: tuple[int, ...] = (200, 200, 200)  # CIN layer sizes (teacher: cin only)
    interaction: str = "outer"
    depth: int = 3  # DAGFM student layers
    embedding_size: int = 16  # shared by teacher and student
    alpha: float = 0.1  # weight of the student's CTR loss in distillation
    beta: float = 921.6  # weight of the logit-matching loss in distillation
    lr: float = 3e-3
    weight_decay: float = 1e-6
    batch_size: int = 1024
    max_epochs: int = 30  # cap per phase
    patience: int = 10  # early stopping on validation AUC, per phase
    seed: int = 2022
    finetune: bool = True
    amp: bool = False  # bf16 autocast on CUDA; ignored on CPU

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrialConfig:
        """Build from a partial mapping over the defaults; raise ConfigError listing every problem."""
        config, problems = cls._build(values)
        if problems:
            raise ConfigError("invalid trial config: " + "; ".join(message for _, message in problems))
        return config

    @classmethod
    def problems(cls, values: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        """What :meth:`from_dict` would refuse in ``values`` (empty: nothing), each problem with the keys it
        concerns, so a caller can say which of its own settings is at fault (a search space names the
        parameter). The messages are those of ``from_dict``, in the same order."""
        return cls._build(values)[1]

    @classmethod
    def _build(cls, values: Mapping[str, Any]) -> tuple[TrialConfig, list[tuple[tuple[str, ...], str]]]:
        problems: list[tuple[tuple[str, ...], str]] = []
        known = {f.name: f for f in dataclasses.fields(cls)}
        clean: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                problems.append(((key,), f"unknown key {key!r} (known: {', '.join(known)})"))
                continue
            converted = _convert(value, known[key].type)
            if converted is _INVALID:
                kind = str(known[key].type).replace("tuple[int, ...]", "list of int")
                problems.append(((key,), f"{key} must be of type {kind}, got {value!r}"))
            else:
                clean[key] = converted
        teacher = clean.get("teacher", cls.teacher)
        for other, keys in TEACHER_KEYS.items():
            for key in keys:
                if other != teacher and key in values:
                    problems.append(
                        ((key, "teacher"), f"{key!r} applies only to teacher {other!r}, not {teacher!r}")
                    )
        config = cls(**clean)  # only well-typed values: range checks below still report every problem
        problems.extend(config._value_problems())
        return config, problems

    def _value_problems(self) -> list[tuple[tuple[str, ...], str]]:
        p: list[tuple[tuple[str, ...], str]] = []
        if self.teacher not in TEACHERS:
            p.append((("teacher",), f"teacher must be one of {TEACHERS}, got {self.teacher!r}"))
        if self.interaction not in INTERACTIONS:
            p.append(
                (("interaction",), f"interaction must be one of {INTERACTIONS}, got {self.interaction!r}")
            )
        for key in ("t_depth", "depth", "embedding_size", "batch_size", "max_epochs", "patience"):
            if getattr(self, key) < 1:
                p.append(((key,), f"{key} must be >= 1, got {getattr(self, key)}"))
        if not self.t_cin or any(size < 1 for size in self.t_cin):
            p.append(
                (("t_cin",), f"t_cin must be a non-empty list of layer sizes >= 1, got {list(self.t_cin)}")
            )
        for key in ("alpha", "beta", "weight_decay"):
            value = getattr(self, key)
            if not math.isfinite(value) or value < 0:
                p.append(((key,), f"{key} must be a finite number >= 0, got {value}"))
        if not math.isfinite(self.lr) or self.lr <= 0:
            p.append((("lr",), f"lr must be a finite number > 0, got {self.lr}"))
        if self.alpha == 0 and self.beta == 0:
            p.append((("alpha", "beta"), "alpha and beta are both 0: distillation would have no loss"))
        return p

    # ---- views ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The effective flat config: JSON-ready, without the other teacher's keys."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if any(f.name in keys for t, keys in TEACHER_KEYS.items() if t != self.teacher):
                continue
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def config_hash(self, *, include_seed: bool = True) -> str:
        """16 hex chars identifying the effective config (with ``include_seed=False``: the seed family)."""
        payload = self.to_dict()
        if not include_seed:
            payload.pop("seed")
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def teacher_kwargs(self) -> dict[str, Any]:
        """Constructor arguments of the teacher (besides fields and embedding size)."""
        return {"depth": self.t_depth} if self.teacher == "crossnet" else {"layers": list(self.t_cin)}

    def student_kwargs(self) -> dict[str, Any]:
        return {"depth": self.depth, "interaction": self.interaction}


_INVALID = object()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _convert(value: Any, annotation: Any) -> Any:
    """``value`` as the field's type or ``_INVALID``: only lossless conversions (``3.0`` for an int: no)."""
    kind = str(annotation)
    if kind == "bool":
        if isinstance(value, bool):
            return value
    elif kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:  # an int beyond any float (1e400 written out)
                return _INVALID
    elif kind == "str":
        if isinstance(value, str):
            return value
    elif kind.startswith("tuple") and isinstance(value, (list, tuple)) and all(_is_int(v) for v in value):
        return tuple(value)
    return _INVALID


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Parse ``--set key=value`` pairs; values are YAML scalars/lists (``lr=1e-3``, ``t_cin=[100,100]``)."""
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {pair!r}")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as e:
            raise ConfigError(f"--set {key}: cannot parse value {raw!r}") from e
        out[key.strip()] = _yaml_number(value)
    return out


def _yaml_number(value: Any) -> Any:
    """YAML 1.1 reads ``1e-3`` as a string; take it as the float a user means."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value
