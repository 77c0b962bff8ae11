"""The console every command prints through: rich on a terminal, plain unbroken lines everywhere else.

Redirected to a file or a CI log, rich would wrap each line at 80 columns and cut table cells to ``teach…``.
There a line is never wrapped (a copied command stays one line) and tables get the room they need. On a
terminal the width is the terminal's; tables fold long names there instead of cutting them (see ``table``).
"""

from __future__ import annotations

import re
import sys
from typing import IO, Any

from rich.console import Console
from rich.table import Table

__all__ = ["LOG_WIDTH", "output_console", "table"]

LOG_WIDTH = 200  # wide enough for every table we print; lines are not padded to it


def output_console(*, stderr: bool = False) -> Console:
    """A console for a command's output (``stderr``: for progress and diagnostics)."""
    console = Console(highlight=False, stderr=stderr)
    if console.is_terminal:
        return console
    stream = _TrimmedLines(sys.stderr if stderr else sys.stdout)
    # rich duck-types its file (write, flush, isatty, fileno) but annotates it as a full IO[str]
    return Console(highlight=False, file=stream, width=LOG_WIDTH, soft_wrap=True)  # type: ignore[arg-type]


class _TrimmedLines:
    """A text stream without the spaces rich pads table lines with: a log keeps no trailing blanks."""

    _PADDING = re.compile(r"[ \t]+(?=\n)")

    def __init__(self, inner: IO[str]) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(self._PADDING.sub("", text))
        return len(text)

    def flush(self) -> None:
        self._inner.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._inner.fileno()


def table(*columns: str, title: str | None = None, numeric: tuple[str, ...] = (), **options: Any) -> Table:
    """A table whose cells fold onto a second line rather than end in an ellipsis when the terminal is
    narrow; ``numeric`` columns are right-aligned."""
    out = Table(title=title, **options)
    for name in columns:
        out.add_column(name, overflow="fold", justify="right" if name in numeric else "left")
    return out
