"""The flat, serialisable trial config: defaults, strict validation and the hash that identifies it.

Defaults are the paper's MovieLens-1M settings (CrossNet teacher, outer student; docs/model.md); a dataset's
recipe (``kdbench.bench.recipes``) sits between these defaults and the user's own values.
Validation collects *every* problem before any work starts and raises one :class:`ConfigError` listing them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from kdbench.bench.errors import ConfigError

__all__ = [
    "DCNV2_STRUCTURES",
    "INTERACTIONS",
    "MAX_SEED",
    "MAX_SIZE",
    "STUDENT_PHASE_KEYS",
    "TEACHERS",
    "TEACHER_HIDDEN",
    "TEACHER_KEYS",
    "UNHASHED_DEFAULTS",
    "TrialConfig",
    "parse_overrides",
]

TEACHERS = ("crossnet", "cin", "dnn", "dcnv2", "xdeepfm", "autoint")
INTERACTIONS = ("inner", "outer", "kernel")
DCNV2_STRUCTURES = ("stacked", "parallel")
# The hyperparameters each teacher type takes; a t_* key is valid only with a teacher listed for it here
# (conditional in search spaces too). t_depth serves crossnet and dcnv2, t_cin cin and xdeepfm.
_DNN = ("t_hidden", "t_dropout")
# Seeds go to torch and numpy generators (a phase's shuffle seed is 3 * seed + phase) and to a BIGINT column.
MAX_SEED = 2**62 - 1
MAX_SIZE = 2**31 - 1  # any other integer: layer sizes, counts, epochs (INTEGER columns, torch shapes)
TEACHER_KEYS: dict[str, tuple[str, ...]] = {
    "crossnet": ("t_depth",),
    "cin": ("t_cin",),
    "dnn": _DNN,
    "dcnv2": ("t_depth", *_DNN, "t_structure", "t_low_rank"),
    "xdeepfm": ("t_cin", *_DNN),
    "autoint": ("t_attention_layers", "t_heads", "t_attention_dim", *_DNN),
}
# t_hidden when not given: the teacher's own default ([] for autoint: plain AutoInt; a list makes AutoInt+).
TEACHER_HIDDEN: dict[str, tuple[int, ...]] = {
    "dnn": (400, 400, 400),
    "dcnv2": (400, 400, 400),
    "xdeepfm": (400, 400, 400),
    "autoint": (),
}
# Keys that shape only the student's phases (distillation, finetuning): every other key of a config shapes
# the teacher phase, so a new key splits the teacher cache unless it is listed here.
STUDENT_PHASE_KEYS = ("interaction", "depth", "student_mlp", "alpha", "beta", "finetune")
# Keys added after configs were stored: at their default (empty / None) they are left out of the config hash
# and the teacher cache key, so older configs keep theirs.
UNHASHED_DEFAULTS = ("student_mlp", "embedding_init_std")


@dataclasses.dataclass(frozen=True)
class TrialConfig:
    """One KD-DAGFM trial. Field names are the config keys used everywhere (YAML, ``--set``, the store)."""

    teacher: str = "crossnet"
    t_depth: int = 3  # cross layers (crossnet, dcnv2)
    t_cin: tuple[int, ...] = (200, 200, 200)  # CIN layer sizes (cin, xdeepfm)
    # DNN layer sizes (dnn, dcnv2, xdeepfm, autoint); None: the teacher's default (TEACHER_HIDDEN)
    t_hidden: tuple[int, ...] | None = None
    t_dropout: float = 0.0  # DNN dropout (dnn, dcnv2, xdeepfm, autoint)
    t_structure: str = "parallel"  # DCN-V2: cross network beside the DNN, or stacked before it (dcnv2)
    t_low_rank: int = 0  # DCN-V2 cross matrices of this rank; 0: full rank (dcnv2)
    t_attention_layers: int = 3  # self-attention layers (autoint)
    t_heads: int = 2  # attention heads (autoint)
    t_attention_dim: int = 32  # attention output size, divisible by t_heads (autoint)
    interaction: str = "outer"
    depth: int = 3  # DAGFM student layers
    student_mlp: tuple[int, ...] = ()  # KD-DAGFM+ MLP branch layer sizes; empty: plain DAGFM
    embedding_size: int = 16  # shared by teacher and student
    # None: xavier-normal over the whole table (RecBole's); a number: normal(0, std) (FuxiCTR's is 1e-4)
    embedding_init_std: float | None = None
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

    def __post_init__(self) -> None:
        # Resolve the teacher's own t_hidden default here, so an omitted t_hidden and the default written out
        # are the same config (equal, same dict, same hash).
        if self.t_hidden is None and self.teacher in TEACHER_HIDDEN:
            object.__setattr__(self, "t_hidden", TEACHER_HIDDEN[self.teacher])

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
                kind = str(known[key].type).replace("tuple[int, ...]", "list of int").removesuffix(" | None")
                problems.append(((key,), f"{key} must be of type {kind}, got {value!r}"))
            else:
                clean[key] = converted
        teacher = clean.get("teacher", cls.teacher)
        for key in _TEACHER_ONLY:
            owners = [t for t, keys in TEACHER_KEYS.items() if key in keys]
            if key in values and teacher not in owners:
                message = f"{key!r} applies only to teacher {_either(owners)}, not {teacher!r}"
                problems.append(((key, "teacher"), message))
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
        if not 0 <= self.seed <= MAX_SEED:
            got = f"got {self.seed}"
            p.append((("seed",), f"seed must be an integer from 0 to 2**62 - 1 ({MAX_SEED}), {got}"))
        p.extend(self._size_problems())
        if not self.t_cin or any(size < 1 for size in self.t_cin):
            p.append(
                (("t_cin",), f"t_cin must be a non-empty list of layer sizes >= 1, got {list(self.t_cin)}")
            )
        p.extend(self._mlp_and_attention_problems())
        if any(size < 1 for size in self.student_mlp):
            sizes = list(self.student_mlp)
            p.append((("student_mlp",), f"student_mlp must be a list of layer sizes >= 1, got {sizes}"))
        for key in ("alpha", "beta", "weight_decay"):
            value = getattr(self, key)
            if not math.isfinite(value) or value < 0:
                p.append(((key,), f"{key} must be a finite number >= 0, got {value}"))
        std = self.embedding_init_std
        if std is not None and not (math.isfinite(std) and 0 < std <= 1):
            p.append(
                (("embedding_init_std",), f"embedding_init_std must be in (0, 1] or null (xavier), got {std}")
            )
        if not math.isfinite(self.lr) or self.lr <= 0:
            p.append((("lr",), f"lr must be a finite number > 0, got {self.lr}"))
        if self.alpha == 0 and self.beta == 0:
            p.append((("alpha", "beta"), "alpha and beta are both 0: distillation would have no loss"))
        return p

    def _size_problems(self) -> list[tuple[tuple[str, ...], str]]:
        """Counts and sizes above a 32-bit integer: what the store's integer columns and torch's layer sizes
        take, refused here rather than as an overflow after the data has prepared."""
        p: list[tuple[tuple[str, ...], str]] = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            values = value if isinstance(value, tuple) else (value,)
            if f.name != "seed" and any(isinstance(v, int) and v > MAX_SIZE for v in values):
                shown = list(value) if isinstance(value, tuple) else value
                p.append(((f.name,), f"{f.name} must be at most {MAX_SIZE} (2**31 - 1), got {shown}"))
        return p

    def _mlp_and_attention_problems(self) -> list[tuple[tuple[str, ...], str]]:
        """The rules of the keys of the teachers with an MLP or attention: dnn, dcnv2, xdeepfm and autoint."""
        p: list[tuple[tuple[str, ...], str]] = []
        hidden = self.t_hidden or ()
        if any(size < 1 for size in hidden) or (not hidden and self.teacher in ("dnn", "dcnv2", "xdeepfm")):
            which = "a non-empty list" if self.teacher in ("dnn", "dcnv2", "xdeepfm") else "a list"
            p.append((("t_hidden",), f"t_hidden must be {which} of layer sizes >= 1, got {list(hidden)}"))
        if not (math.isfinite(self.t_dropout) and 0 <= self.t_dropout < 1):
            p.append((("t_dropout",), f"t_dropout must be a number in [0, 1), got {self.t_dropout}"))
        if self.t_structure not in DCNV2_STRUCTURES:
            p.append(
                (
                    ("t_structure",),
                    f"t_structure must be one of {DCNV2_STRUCTURES}, got {self.t_structure!r}",
                )
            )
        if self.t_low_rank < 0:
            p.append((("t_low_rank",), f"t_low_rank must be >= 0 (0: full rank), got {self.t_low_rank}"))
        for key in ("t_attention_layers", "t_heads", "t_attention_dim"):
            if getattr(self, key) < 1:
                p.append(((key,), f"{key} must be >= 1, got {getattr(self, key)}"))
        if self.teacher == "autoint" and self.t_heads >= 1 and self.t_attention_dim % self.t_heads:
            p.append(
                (
                    ("t_attention_dim", "t_heads"),
                    f"t_attention_dim {self.t_attention_dim} must be divisible by t_heads {self.t_heads}",
                )
            )
        return p

    # ---- views ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The effective flat config: JSON-ready, with only the chosen teacher's keys (t_hidden resolved)."""
        out: dict[str, Any] = {}
        own = TEACHER_KEYS.get(self.teacher, ())
        for f in dataclasses.fields(self):
            if f.name in _TEACHER_ONLY and f.name not in own:
                continue
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def config_hash(self, *, include_seed: bool = True) -> str:
        """16 hex chars identifying the effective config (with ``include_seed=False``: the seed family).

        A plain DAGFM student (``student_mlp`` empty) and the default embedding init (``embedding_init_std``
        None) hash without those keys, so the configs that existed before the keys keep their hashes (stored
        trials, regression baselines).
        """
        payload = self.to_dict()
        if not include_seed:
            payload.pop("seed")
        for key in UNHASHED_DEFAULTS:
            if not payload[key]:
                payload.pop(key)
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def teacher_kwargs(self) -> dict[str, Any]:
        """Constructor arguments of the teacher (besides fields and embedding size), per docs/CONTRACTS.md."""
        hidden = list(self.t_hidden or ())
        if self.teacher == "crossnet":
            return {"depth": self.t_depth}
        if self.teacher == "cin":
            return {"layers": list(self.t_cin)}
        if self.teacher == "dnn":
            return {"hidden": hidden, "dropout": self.t_dropout}
        if self.teacher == "dcnv2":
            return {
                "depth": self.t_depth,
                "hidden": hidden,
                "structure": self.t_structure,
                "low_rank": self.t_low_rank,
                "dropout": self.t_dropout,
            }
        if self.teacher == "xdeepfm":
            return {"layers": list(self.t_cin), "hidden": hidden, "dropout": self.t_dropout}
        return {
            "attention_layers": self.t_attention_layers,
            "heads": self.t_heads,
            "attention_dim": self.t_attention_dim,
            "hidden": hidden,
            "dropout": self.t_dropout,
        }

    def student_kwargs(self) -> dict[str, Any]:
        """Constructor arguments of the student: DAGFM, plus KD-DAGFM+'s MLP branch (``mlp``, [] = none)."""
        return {"depth": self.depth, "interaction": self.interaction, "mlp": list(self.student_mlp)}


# Every key some teacher owns: valid only with a teacher that lists it in TEACHER_KEYS.
_TEACHER_ONLY = tuple(dict.fromkeys(key for keys in TEACHER_KEYS.values() for key in keys))


_INVALID = object()


def _either(names: list[str]) -> str:
    """``'a'``, ``'a' or 'b'``, ``'a', 'b' or 'c'``."""
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


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
    elif kind == "float | None":
        return None if value is None else _convert(value, "float")
    # "tuple[int, ...] | None" too: None is the teacher's default, never a value a user writes (strict).
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
