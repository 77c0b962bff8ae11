"""Reading source files: existence checks, hashing while reading, decompression and a progress bar."""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from bench.errors import DatasetError

__all__ = [
    "ARROW_STRING",
    "CountingStream",
    "HashingFile",
    "Progress",
    "file_identity",
    "first_bad_line",
    "first_line",
    "open_source",
    "progress_bar",
    "read_delimited",
    "require_file",
    "short_error",
]

Progress = Callable[[int], None]  # advance by n units (bytes or rows)

# The dtype for token columns read by pandas: Arrow strings straight from the C parser (several times faster
# than dtype="str", which goes through Python objects) and handed to Arrow's hashing without a copy.
ARROW_STRING = pd.ArrowDtype(pa.string())


def require_file(path: str | os.PathLike[str] | None, what: str, hint: str) -> Path:
    """``path`` as a resolved Path; a clear DatasetError when it is not given, missing, a folder or empty."""
    if path is None:
        raise DatasetError(f"{what} needs --path: {hint}")
    p = Path(path).expanduser()
    if not p.exists():
        raise DatasetError(f"{what}: {p} does not exist; {hint}")
    if p.is_dir():
        raise DatasetError(f"{what}: {p} is a folder, expected a file; {hint}")
    if p.stat().st_size == 0:
        raise DatasetError(f"{what}: {p} is empty; {hint}")
    return p.resolve()


def file_identity(path: Path) -> dict[str, object]:
    """What the cache key uses to recognise an unchanged file without reading it."""
    st = path.stat()
    return {"path": str(path), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


class HashingFile(io.RawIOBase):
    """A read-only binary file that feeds every byte read through sha256 and a progress callback."""

    def __init__(self, path: Path, progress: Progress | None = None) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._hash = hashlib.sha256()
        self._progress = progress

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self._hash.update(data)
        if self._progress is not None and data:
            self._progress(len(data))
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read_to_end(self, block: int = 1 << 22) -> None:
        """Read (and hash) whatever a parser left unread."""
        while self.read(block):
            pass

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        self._file.close()
        super().close()


class CountingStream(io.RawIOBase):
    """Passes reads through, counting one separator byte and one quote byte (for the column-count check)."""

    def __init__(self, inner: Any, sep: bytes, quote: bytes | None = b'"') -> None:
        super().__init__()
        self._inner = inner
        self._sep = sep[0]
        self._quote = None if quote is None else quote[0]
        self.separators = 0
        self.quotes = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        view = np.frombuffer(data, dtype=np.uint8)  # numpy counts bytes several times faster than bytes.count
        self.separators += int(np.count_nonzero(view == self._sep))
        if self._quote is not None:
            self.quotes += int(np.count_nonzero(view == self._quote))
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@contextmanager
def open_source(
    path: Path, progress: Progress | None, sep: bytes, quote: bytes | None = b'"'
) -> Iterator[tuple[HashingFile, CountingStream]]:
    """``(raw, text)``: ``raw`` hashes the file's bytes; ``text`` is what a parser reads (decompressed when
    the name ends in .gz or .bz2), counting ``sep``."""
    raw = HashingFile(path, progress)
    try:
        suffix = path.suffix.lower()
        if suffix == ".gz":
            inner: Any = gzip.GzipFile(fileobj=raw, mode="rb")
        elif suffix == ".bz2":
            inner = bz2.BZ2File(raw, mode="rb")
        else:
            inner = raw
        yield raw, CountingStream(inner, sep, quote)
    finally:
        raw.close()


def first_line(path: Path, what: str) -> bytes:
    """The first line of a (possibly compressed) text file, without its line ending."""
    opener = {".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix.lower(), open)
    try:
        with opener(path, "rb") as f:
            return f.readline(1 << 20).rstrip(b"\r\n")
    except (OSError, EOFError) as e:
        raise DatasetError(f"{what}: cannot read {path}: {e}") from e


def first_bad_line(path: Path, sep: bytes, columns: int) -> int | None:
    """1-based number of the first non-blank line without ``columns`` fields (slow: for error messages)."""
    opener = {".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix.lower(), open)
    with opener(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip(b"\r\n")
            if line and line.count(sep) != columns - 1:
                return number
    return None


class _Bar:
    def __init__(self, progress) -> None:
        self._progress = progress

    def task(self, description: str, total: int | None) -> Progress:
        if self._progress is None:
            return lambda n: None
        task_id = self._progress.add_task(description, total=total)
        return lambda n: self._progress.advance(task_id, n)


@contextmanager
def progress_bar(enabled: bool) -> Iterator[_Bar]:
    """A rich progress display on stderr (``enabled``) or a do-nothing stand-in with the same ``task()``."""
    if not enabled:
        yield _Bar(None)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        yield _Bar(progress)


def short_error(error: Exception, limit: int = 160) -> str:
    """A library's error message as one line of at most ``limit`` characters."""
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_delimited(
    path: Path,
    *,
    what: str,
    hint: str,
    bar: Any,
    digests: dict[str, str],
    sep: str,
    columns: int,
    header_lines: int,
    rows_per_chunk: int,
    quoting: int,
    **read_csv: Any,
) -> Iterator[pd.DataFrame]:
    """Stream a delimited text file as DataFrames of ``rows_per_chunk`` rows (pandas' C parser), hashing its
    bytes into ``digests["data"]`` and turning every parser error into a one-line DatasetError.

    pandas rejects a line with too many fields but pads a short one with NaN; so the separators are counted
    as the bytes stream by, and a total other than ``(columns - 1) x lines`` is an error naming the first
    offending line (found by a slow re-read, on the error path only). Files with quote characters skip that
    check (a quoted field may hold the separator).
    """
    rows = 0
    advance = bar.task(f"reading {path.name}", path.stat().st_size)
    quote = None if quoting == csv.QUOTE_NONE else b'"'
    with open_source(path, advance, sep.encode(), quote) as (raw, text):
        try:
            frames = pd.read_csv(
                text,
                sep=sep,
                chunksize=rows_per_chunk,
                engine="c",
                quoting=quoting,
                index_col=False,
                **read_csv,
            )
            for frame in frames:
                yield frame
                rows += len(frame)
            raw.read_to_end()
        except pd.errors.ParserError as e:
            raise DatasetError(f"{what}: {path}: {short_error(e)}; {hint}") from e
        except (ValueError, TypeError, UnicodeDecodeError) as e:
            raise DatasetError(f"{what}: {path} (after row {rows:,}): {short_error(e)}; {hint}") from e
        if text.quotes == 0 or quoting == csv.QUOTE_NONE:
            expected = (columns - 1) * (rows + header_lines)
            if text.separators != expected:
                line = first_bad_line(path, sep.encode(), columns)
                where = f"line {line}" if line else "a line"
                raise DatasetError(f"{what}: {path} {where} does not have {columns} columns; {hint}")
        digests["data"] = raw.hexdigest()
