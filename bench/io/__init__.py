"""Files and the terminal, as every command uses them: where kdbench keeps its caches
(``$KDBENCH_HOME``), the files a user points a command at (read whole, refused in one line), the files a
command writes (checked before any work, written whole or not at all) and the console it prints through."""

from __future__ import annotations

from kdbench.bench.io._console import LOG_WIDTH, output_console, table
from kdbench.bench.io._inputs import read_text
from kdbench.bench.io._outputs import (
    check_output_file,
    free_space,
    space_note,
    unwritten,
    write_atomic,
    write_json,
)
from kdbench.bench.io._paths import kdbench_home

__all__ = [
    "LOG_WIDTH",
    "check_output_file",
    "free_space",
    "kdbench_home",
    "output_console",
    "read_text",
    "space_note",
    "table",
    "unwritten",
    "write_atomic",
    "write_json",
]
