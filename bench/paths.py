"""Where kdbench keeps its caches: ``$KDBENCH_HOME`` (default ``~/.cache/kdbench``)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["kdbench_home"]


def kdbench_home(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache root: ``override`` if given, else ``$KDBENCH_HOME``, else ``~/.cache/kdbench``.

    The folder is created on first use.
    """
    raw = override if override is not None else os.environ.get("KDBENCH_HOME")
    home = Path(raw).expanduser() if raw else Path.home() / ".cache" / "kdbench"
    home.mkdir(parents=True, exist_ok=True)
    return home
