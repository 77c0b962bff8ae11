"""Content-addressed cache of trained teachers, shared by the trials of a sweep.

A teacher is reused when everything that determines it is equal: teacher type and every hyperparameter of it,
embedding size, the teacher phase's lr / weight decay / batch size / epoch cap / patience / precision, the
dataset fingerprint, the seed and the code that trains it (every config key but the student's). An entry
holds the best teacher and its shared embedding (state dicts, loaded with ``weights_only=True``) plus the
teacher phase's metrics.

Concurrent trials that want the same teacher train it once: :meth:`TeacherCache.claim` takes an exclusive
file lock per key, so the second trial waits and then finds the entry. For a multi-node Ray cluster point the
cache at a folder every node can read and lock (a shared file system).

An entry is trusted only after :meth:`TeacherCache.get` has checked it against the modules it will fill; an
unusable one (half an entry, a truncated or foreign file, another model's shapes, NaN weights, malformed
metadata) is removed with a one-line warning and counts as a miss, so the caller trains the teacher again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from kdbench.bench.config import STUDENT_PHASE_KEYS, UNHASHED_DEFAULTS
from kdbench.bench.errors import ConfigError, one_line
from kdbench.bench.io import kdbench_home, space_note

__all__ = ["ENTRY_FIELD", "CachedTeacher", "TeacherCache", "teacher_cache_key"]

logger = logging.getLogger(__name__)

_PARTS = ("embedding", "teacher")
# The metadata field that records the entry's own key and what it hashes (config, dataset, code).
ENTRY_FIELD = "kdbench_entry"
# Lock files this thread holds (claim() is re-entrant per thread: get() may discard under a caller's claim).
_HELD = threading.local()


def teacher_cache_key(config: Mapping[str, Any], dataset_fingerprint: str, code_version: str) -> str:
    """The cache key of the teacher a config trains: sha256 over what determines it.

    ``config`` is an effective config (``TrialConfig.to_dict()``: only its teacher's keys). Every key counts
    except those that shape only the student's phases (``kdbench.bench.config.STUDENT_PHASE_KEYS``), so a new
    teacher hyperparameter is in the key from the day it exists, and teachers of different types never
    share an entry. The keys of a CrossNet or CIN config are those of earlier versions: their keys stand
    (``embedding_init_std`` at its default None is left out, as in the config hash).
    """
    payload = {
        key: value
        for key, value in config.items()
        if key not in STUDENT_PHASE_KEYS and not (key in UNHASHED_DEFAULTS and not value)
    }
    payload.update(dataset=dataset_fingerprint, code=code_version)
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class CachedTeacher:
    """A cache entry: state dicts of the embedding and teacher, and the teacher phase's recorded metrics."""

    embedding_state: dict[str, torch.Tensor]
    teacher_state: dict[str, torch.Tensor]
    metrics: dict[str, Any]


class _Unusable(Exception):
    """Why an entry cannot be used (internal: becomes the warning's reason)."""


class TeacherCache:
    """Teachers under ``root`` (default ``$KDBENCH_HOME/teachers``): one ``<key>.pt`` + ``.json`` each."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else kdbench_home() / "teachers"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(
                f"cannot create the teacher cache folder {self.root}: {e.strerror}; "
                "pass --teacher-cache DIR or --no-teacher-cache"
            ) from e

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.root / f"{key}.pt", self.root / f"{key}.json"

    def get(
        self,
        key: str,
        *,
        embedding: Mapping[str, torch.Tensor] | None = None,
        teacher: Mapping[str, torch.Tensor] | None = None,
        metrics: Mapping[str, type] | None = None,
    ) -> CachedTeacher | None:
        """The usable entry for ``key``, or None (a miss).

        ``embedding`` and ``teacher`` are the state dicts of the modules the entry will fill: its weights must
        have exactly their keys, shapes and dtypes. ``metrics`` maps each metadata field the caller reads to
        its type (``int``, ``float``, ``str``); the metadata must hold exactly those. Weights must be finite
        in any case. An entry that fails a check, or has one file without the other, is removed (under the
        key's lock) with a one-line warning and reported as a miss.
        """
        expected = {"embedding": embedding, "teacher": teacher}
        weights, meta = self._paths(key)
        if not (weights.exists() or meta.exists()):
            return None
        try:
            return self._load(key, expected, metrics)
        except _Unusable:
            pass
        with self.claim(key):  # re-check under the lock: a writer may have completed the entry meanwhile
            try:
                return self._load(key, expected, metrics)
            except _Unusable as e:
                if weights.exists() or meta.exists():
                    self._discard(key, str(e))
        return None

    def _load(
        self, key: str, expected: Mapping[str, Mapping[str, torch.Tensor] | None], metrics: Any
    ) -> CachedTeacher:
        weights, meta = self._paths(key)
        if not weights.exists():
            raise _Unusable("metadata without weights")
        if not meta.exists():
            raise _Unusable("weights without metadata")
        try:
            if weights.stat().st_size == 0:
                raise _Unusable("the weights file is empty")
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except _Unusable:
            raise
        # A damaged or foreign file fails in many ways (EOFError, UnpicklingError, RuntimeError from the zip
        # reader, ValueError, ...): whatever it is, the entry is unusable, not the trial.
        except Exception as e:
            detail = f"{type(e).__name__}: {one_line(e)}" if str(e).strip() else type(e).__name__
            raise _Unusable(f"weights unreadable, truncated or not a checkpoint ({detail})") from e
        if not isinstance(state, dict) or set(state) != set(_PARTS):
            got = sorted(map(str, state)) if isinstance(state, dict) else type(state).__name__
            raise _Unusable(f"weights are not an {{embedding, teacher}} mapping (got {got})")
        parts = {part: _checked_state(state[part], expected[part], part) for part in _PARTS}
        try:
            values = json.loads(meta.read_bytes().decode("utf-8"))
        except (OSError, ValueError) as e:  # ValueError: not UTF-8, not JSON
            raise _Unusable(f"metadata unreadable: {one_line(e)}") from e
        if not isinstance(values, dict):
            raise _Unusable(f"metadata is a JSON {type(values).__name__}, not an object")
        values = dict(values)
        _check_identity(values.pop(ENTRY_FIELD, None), key)
        _check_metrics(values, metrics)
        return CachedTeacher(parts["embedding"], parts["teacher"], values)

    def _discard(self, key: str, reason: str) -> None:
        """Remove both files of ``key`` (caller holds its lock): metadata first, as put() writes it last, so
        an interruption between the two leaves weights without metadata, which the next get() discards."""
        weights, meta = self._paths(key)
        try:
            meta.unlink(missing_ok=True)
            weights.unlink(missing_ok=True)
            outcome = "discarded it"
        except OSError as e:
            outcome = f"could not remove it ({e.strerror})"
        logger.warning(
            "kdbench: warning: teacher cache entry %s is unusable (%s): %s, training the teacher again",
            weights.with_suffix(""),
            reason,
            outcome,
        )

    def put(
        self,
        key: str,
        embedding_state: Mapping[str, torch.Tensor],
        teacher_state: Mapping[str, torch.Tensor],
        metrics: Mapping[str, Any],
        *,
        identity: Mapping[str, Any] | None = None,
    ) -> bool:
        """Store an entry atomically: weights first, then the metrics file that marks it complete.

        The metadata also records the entry's own key and ``identity`` (what :func:`teacher_cache_key` hashed:
        ``config``, ``dataset``, ``code``), so files copied under another key are refused by :meth:`get`.
        Returns whether it was stored: a folder that cannot be written (read-only, full) only costs the reuse
        (one warning naming the folder and the space needed), not the trial that trained the teacher.
        """
        weights, meta = self._paths(key)
        cpu = {
            "embedding": {k: v.detach().cpu() for k, v in embedding_state.items()},
            "teacher": {k: v.detach().cpu() for k, v in teacher_state.items()},
        }
        record = {**metrics, ENTRY_FIELD: {"key": key, **(identity or {})}}
        try:
            self._atomic_write(weights, lambda f: torch.save(cpu, f))
            self._atomic_write(meta, lambda f: f.write(json.dumps(record, indent=1).encode()))
        # torch.save reports a failed write (a full disk) as RuntimeError from its zip writer, not OSError.
        except (OSError, RuntimeError) as e:
            reason = (e.strerror if isinstance(e, OSError) else None) or one_line(e)
            needed = sum(t.numel() * t.element_size() for part in cpu.values() for t in part.values())
            logger.warning(
                "kdbench: warning: cannot store the teacher in %s (%s; %s); "
                "it will be trained again next time",
                self.root,
                reason,
                space_note(self.root, needed),
            )
            return False
        return True

    def _atomic_write(self, path: Path, write: Any) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @contextlib.contextmanager
    def claim(self, key: str) -> Iterator[None]:
        """Hold the per-key lock while looking up and, on a miss, training and storing the teacher.

        Re-entrant within a thread; other threads and processes wait.
        """
        lock_path = self.root / f"{key}.lock"
        held: set[str] = _HELD.__dict__.setdefault("paths", set())
        if str(lock_path) in held:
            yield
            return
        try:
            lock_file = open(lock_path, "a+")  # noqa: SIM115 - closed below
        except OSError as e:
            raise ConfigError(
                f"cannot lock {lock_path} in the teacher cache: {e.strerror}; "
                "pass --teacher-cache DIR (a writable folder) or --no-teacher-cache"
            ) from e
        with lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            held.add(str(lock_path))
            try:
                yield
            finally:
                held.discard(str(lock_path))
                fcntl.flock(lock_file, fcntl.LOCK_UN)


def _checked_state(
    state: Any, expected: Mapping[str, torch.Tensor] | None, part: str
) -> dict[str, torch.Tensor]:
    """``state`` if it is a finite state dict matching ``expected``'s keys, shapes and dtypes (when given)."""
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise _Unusable(f"{part} weights are not a state dict")
    if expected is not None:
        missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
        if missing or extra:
            said = [f"lack {_names(missing)}"] if missing else []
            said += [f"have extra {_names(extra)}"] if extra else []
            raise _Unusable(f"{part} weights {' and '.join(said)}")
    for name, tensor in state.items():
        if tensor.layout != torch.strided:
            raise _Unusable(f"{part} weight {name!r} is a {tensor.layout} tensor")
        if expected is not None:
            want = expected[name]
            if tensor.shape != want.shape:
                shapes = f"{tuple(tensor.shape)}, the model's is {tuple(want.shape)}"
                raise _Unusable(f"{part} weight {name!r} has shape {shapes}")
            if tensor.dtype != want.dtype:
                raise _Unusable(f"{part} weight {name!r} is {tensor.dtype}, the model's is {want.dtype}")
        if (tensor.is_floating_point() or tensor.is_complex()) and not bool(torch.isfinite(tensor).all()):
            raise _Unusable(f"{part} weight {name!r} holds NaN or Inf values")
    return state


def _check_identity(entry: Any, key: str) -> None:
    """The entry's recorded key must be the one it is looked up under, and its recorded identity must hash to
    it: files copied from another entry are someone else's teacher."""
    if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
        raise _Unusable("metadata records no key of its own (not written by this kdbench)")
    if entry["key"] != key:
        raise _Unusable(f"metadata records key {one_line(entry['key'], 40)}: copied from another entry")
    config, dataset, code = (entry.get(name) for name in ("config", "dataset", "code"))
    if config is None and dataset is None and code is None:
        return  # written by put() without an identity: the key alone is checked
    if not isinstance(config, dict) or teacher_cache_key(config, str(dataset), str(code)) != key:
        raise _Unusable("metadata records a config, dataset and code that do not hash to its key")


def _check_metrics(values: Any, types: Mapping[str, type] | None) -> None:
    if not isinstance(values, dict):
        raise _Unusable(f"metadata is a JSON {type(values).__name__}, not an object")
    if types is None:
        return
    missing, extra = sorted(set(types) - set(values)), sorted(set(values) - set(types))
    if missing:
        raise _Unusable(f"metadata lacks field(s) {_names(missing)}")
    if extra:
        raise _Unusable(f"metadata has unknown field(s) {_names(extra)}")
    for name, kind in types.items():
        value = values[name]
        ok = not isinstance(value, bool) and (
            isinstance(value, (int, float)) if kind is float else isinstance(value, kind)
        )
        if not ok:
            shown = one_line(repr(value), 40)
            raise _Unusable(f"metadata field {name!r} is {shown}, expected {kind.__name__}")


def _names(names: list[str], shown: int = 4) -> str:
    text = ", ".join(repr(n) for n in names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")
