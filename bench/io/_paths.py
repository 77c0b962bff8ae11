"""Where kdbench keeps its caches: ``$KDBENCH_HOME`` (default ``~/.cache/kdbench``)."""

from __future__ import annotations

import os
from pathlib import Path

from kdbench.bench.errors import UsageError

__all__ = ["kdbench_home"]


def kdbench_home(override: str | os.PathLike[str] | None = None, *, create: bool = True) -> Path:
    """The cache root: ``override`` if given, else ``$KDBENCH_HOME``, else ``~/.cache/kdbench``.

    The folder is created on first use, unless ``create`` is false (readers that only look).
    """
    raw = override if override is not None else os.environ.get("KDBENCH_HOME")
    home = Path(raw).expanduser() if raw else Path.home() / ".cache" / "kdbench"
    if home.exists() and not home.is_dir():
        where = "--home" if override is not None else "$KDBENCH_HOME" if raw else "the cache root"
        raise UsageError(f"{where} {home} is a file, not a folder: point it at a folder")
    if create:
        home.mkdir(parents=True, exist_ok=True)
    return home
