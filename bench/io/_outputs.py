"""Files a command writes where the user said: checked before any work, written whole or not at all."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kdbench.bench.errors import UsageError

__all__ = ["check_output_file", "free_space", "space_note", "unwritten", "write_atomic", "write_json"]


def check_output_file(path: str | os.PathLike[str], flag: str) -> Path:
    """Refuse, before any work, an output file that cannot be written: its folder missing, or a folder."""
    if not str(path).strip():
        raise UsageError(f"{flag} needs a file name, got an empty one")
    target = Path(path).expanduser()
    if target.is_dir():
        raise UsageError(f"{flag} {path} is a folder: give a file name")
    if not target.parent.is_dir():
        raise UsageError(f"{flag} {path}: folder {target.parent} does not exist (create it first)")
    return target


def write_atomic(path: str | os.PathLike[str], write: Callable[[Path], object], flag: str) -> None:
    """``write(tmp)`` into a temporary file beside ``path``, then renamed onto it: a failure (disk full,
    ...) leaves no partial file, and two processes writing the same ``path`` never share a temporary file."""
    target = check_output_file(path, flag)
    tmp = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        write(tmp)
        tmp.replace(target)
    except OSError as e:
        raise UsageError(f"cannot write {flag} {path}: {e.strerror or e}") from e
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: str | os.PathLike[str], value: Any, flag: str) -> None:
    """``value`` as indented JSON, written atomically (:func:`write_atomic`)."""
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(value, indent=2, default=str) + "\n"), flag)


def space_note(folder: str | os.PathLike[str], needed: int) -> str:
    """``it needs about 13.9 KiB, 2.0 KiB free there``: what a write that failed for space (a full or small
    disk) says beside the path it names."""
    return f"it needs about {_size(needed)}, {free_space(folder)} free there"


def unwritten(error: OSError, path: str | os.PathLike[str], needed: int) -> OSError:
    """``error`` (a full or read-only disk names no file) as ``cannot write PATH: REASON (it needs about N,
    M free there)``, same errno: raise it ``from error``."""
    note = space_note(Path(path).parent, needed)
    return OSError(error.errno, f"cannot write {path}: {error.strerror or error} ({note})")


def free_space(folder: str | os.PathLike[str]) -> str:
    """The space free on ``folder``'s file system, in words (``2.0 KiB``; ``unknown space``)."""
    try:
        return _size(shutil.disk_usage(folder).free)
    except OSError:
        return "unknown space"


def _size(size: float) -> str:
    for unit in ("bytes", "KiB", "MiB"):
        if size < 1024:
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} GiB"
