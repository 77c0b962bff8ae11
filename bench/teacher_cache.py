"""Content-addressed cache of trained teachers, shared by the trials of a sweep.

A teacher is reused when everything that determines it is equal: teacher type and hyperparameters, embedding
size, the teacher phase's lr / weight decay / batch size / epoch cap / patience / precision, the dataset
fingerprint, the seed and the code that trains it. An entry holds the best teacher and its shared embedding
(state dicts, loaded with ``weights_only=True``) plus the teacher phase's metrics.

Concurrent trials that want the same teacher train it once: :meth:`TeacherCache.claim` takes an exclusive
file lock per key, so the second trial waits and then finds the entry. For a multi-node Ray cluster point the
cache at a folder every node can read and lock (a shared file system).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bench.paths import kdbench_home

__all__ = ["CachedTeacher", "TeacherCache", "teacher_cache_key"]

# Config keys that shape the teacher phase (the student's keys, alpha and beta do not).
_TEACHER_PHASE_KEYS = (
    "teacher",
    "t_depth",
    "t_cin",
    "embedding_size",
    "lr",
    "weight_decay",
    "batch_size",
    "max_epochs",
    "patience",
    "seed",
    "amp",
)


def teacher_cache_key(config: Mapping[str, Any], dataset_fingerprint: str, code_version: str) -> str:
    """The cache key of the teacher a config trains: sha256 over what determines it."""
    payload = {key: config[key] for key in _TEACHER_PHASE_KEYS if key in config}
    payload.update(dataset=dataset_fingerprint, code=code_version)
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class CachedTeacher:
    """A cache entry: state dicts of the embedding and teacher, and the teacher phase's recorded metrics."""

    embedding_state: dict[str, torch.Tensor]
    teacher_state: dict[str, torch.Tensor]
    metrics: dict[str, Any]


class TeacherCache:
    """Teachers under ``root`` (default ``$KDBENCH_HOME/teachers``): one ``<key>.pt`` + ``.json`` each."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else kdbench_home() / "teachers"
        self.root.mkdir(parents=True, exist_ok=True)

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.root / f"{key}.pt", self.root / f"{key}.json"

    def get(self, key: str) -> CachedTeacher | None:
        """The entry for ``key``, or None. A damaged entry counts as a miss (it will be overwritten)."""
        weights, meta = self._paths(key)
        if not (weights.exists() and meta.exists()):
            return None
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            metrics = json.loads(meta.read_text())
            return CachedTeacher(state["embedding"], state["teacher"], metrics)
        except (OSError, RuntimeError, KeyError, ValueError, EOFError, pickle.UnpicklingError):
            return None

    def put(
        self,
        key: str,
        embedding_state: Mapping[str, torch.Tensor],
        teacher_state: Mapping[str, torch.Tensor],
        metrics: Mapping[str, Any],
    ) -> None:
        """Store an entry atomically: weights first, then the metrics file that marks it complete."""
        weights, meta = self._paths(key)
        cpu = {
            "embedding": {k: v.detach().cpu() for k, v in embedding_state.items()},
            "teacher": {k: v.detach().cpu() for k, v in teacher_state.items()},
        }
        self._atomic_write(weights, lambda f: torch.save(cpu, f))
        self._atomic_write(meta, lambda f: f.write(json.dumps(dict(metrics), indent=1).encode()))

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
        """Hold the per-key lock while looking up and, on a miss, training and storing the teacher."""
        lock_path = self.root / f"{key}.lock"
        with open(lock_path, "a+") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
