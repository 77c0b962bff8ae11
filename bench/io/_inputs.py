"""Files the user points a command at (a schema, a config, a suite, a baseline): read whole as UTF-8 text, or
refused in one line that names the file and the reason."""

from __future__ import annotations

import os
from pathlib import Path

from kdbench.bench.errors import KdbenchError

__all__ = ["read_text"]


def read_text(
    path: str | os.PathLike[str], what: str, error: type[KdbenchError], *, name: str | None = None
) -> str:
    """The UTF-8 text of ``path`` (a leading BOM dropped: some Windows editors write one).

    Anything else raises ``error`` with one line naming ``what`` (e.g. "schema") and the file, shown as
    ``name`` when the caller escapes or shortens it: a missing, unreadable or folder path, a NUL byte in the
    path, bytes that are not UTF-8.
    """
    source = Path(path)
    name = name if name is not None else str(source)
    try:
        return source.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:  # before ValueError: it is one
        raise error(f"{what} {name} is not UTF-8 text (byte {e.start})") from e
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise error(f"cannot read {what} {name}: {reason}") from e
