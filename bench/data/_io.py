"""Reading source files: existence checks, hashing while reading, decompression and a progress bar."""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import os
import stat
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from kdbench.bench.errors import DatasetError, one_line

__all__ = [
    "ARROW_STRING",
    "READ_ERRORS",
    "Advance",
    "CountingStream",
    "HashingFile",
    "decompressed",
    "file_identity",
    "first_bad_line",
    "first_line",
    "first_text_line",
    "open_source",
    "open_text_file",
    "progress_bar",
    "read_delimited",
    "require_file",
    "shown",
    "stat_or_none",
    "unreadable",
]

Advance = Callable[[int], None]  # advance by n units (bytes or rows)

# The dtype for token columns read by pandas: Arrow strings straight from the C parser (several times faster
# than dtype="str", which goes through Python objects) and handed to Arrow's hashing without a copy.
ARROW_STRING = pd.ArrowDtype(pa.string())
# What a damaged compressed file raises while being read: EOFError (truncated), zlib.error (bad deflate
# data), OSError (gzip.BadGzipFile, bz2's "Invalid data stream", CRC mismatches).
READ_ERRORS = (OSError, EOFError, zlib.error)
_COMPRESSED = (".gz", ".bz2")
LINE_LIMIT = 1 << 20  # a first line longer than this is not a header or a row of any supported format


def shown(path: str | os.PathLike[str]) -> str:
    """A path as one-line messages show it (it is user input): control characters escaped, and a very long
    one cut in the middle (as search_spaces shows space paths)."""
    text = str(path)
    text = text if text.isprintable() else ascii(text)[1:-1]
    return text if len(text) <= 200 else f"{text[:120]}...{text[-60:]}"


def stat_or_none(path: Path, what: str, hint: str) -> os.stat_result | None:
    """``path``'s stat, None when it does not exist; a DatasetError when it cannot be looked at (a name too
    long, a NUL byte, a folder without search permission)."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else one_line(e)
        raise DatasetError(f"{what}: cannot access {shown(path)}: {reason}; {hint}") from e


def unreadable(what: str, path: Path, error: BaseException, hint: str | None = None) -> DatasetError:
    """The one-line error for a file that failed while being read: a truncated or corrupt compressed file
    (download it again), or the system's reason."""
    if path.suffix.lower() in _COMPRESSED and isinstance(error, READ_ERRORS):
        return DatasetError(
            f"{what}: {path} is truncated or corrupt ({one_line(error, 100)}); download it again"
        )
    reason = error.strerror if isinstance(error, OSError) and error.strerror else one_line(error)
    return DatasetError(f"{what}: cannot read {path}: {reason}" + (f"; {hint}" if hint else ""))


def require_file(path: str | os.PathLike[str] | None, what: str, hint: str) -> Path:
    """``path`` as a resolved Path; a clear DatasetError when it is not given, missing, not a regular file,
    empty or unreadable."""
    if path is None:
        raise DatasetError(f"{what} needs --path: {hint}")
    p = Path(path).expanduser()
    st = stat_or_none(p, what, hint)
    if st is None:
        raise DatasetError(f"{what}: {shown(p)} does not exist; {hint}")
    if stat.S_ISDIR(st.st_mode):
        raise DatasetError(f"{what}: {shown(p)} is a folder, expected a file; {hint}")
    if not stat.S_ISREG(st.st_mode):  # a pipe or a device would block or never end
        raise DatasetError(f"{what}: {shown(p)} is not a regular file; {hint}")
    if st.st_size == 0:
        raise DatasetError(f"{what}: {shown(p)} is empty; {hint}")
    if not os.access(p, os.R_OK):
        raise DatasetError(f"{what}: {shown(p)} is not readable (permission denied); {hint}")
    return p.resolve()


def file_identity(path: Path) -> dict[str, object]:
    """What the cache key uses to recognise an unchanged file without reading it."""
    st = path.stat()
    return {"path": str(path), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


class HashingFile(io.RawIOBase):
    """A read-only binary file that feeds every byte read through sha256 and a progress callback."""

    def __init__(self, path: Path, progress: Advance | None = None) -> None:
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
        """Read straight into ``buffer`` (no intermediate bytes) and hash what was read."""
        view = memoryview(buffer).cast("B")
        n = self._file.readinto(view) or 0
        if n:
            self._hash.update(view[:n])  # releases the GIL on large buffers
            if self._progress is not None:
                self._progress(n)
        return n

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
    path: Path, progress: Advance | None, sep: bytes, quote: bytes | None = b'"'
) -> Iterator[tuple[HashingFile, CountingStream]]:
    """``(raw, text)``: ``raw`` hashes the file's bytes; ``text`` is what a parser reads (decompressed when
    the name ends in .gz or .bz2), counting ``sep``."""
    raw = HashingFile(path, progress)
    try:
        yield raw, CountingStream(decompressed(raw, path), sep, quote)
    finally:
        raw.close()


def decompressed(raw: Any, path: Path) -> Any:
    """``raw``'s bytes as a parser reads them: decompressed when ``path`` ends in .gz or .bz2."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if suffix == ".bz2":
        return bz2.BZ2File(raw, mode="rb")
    return raw


def open_text_file(path: Path, mode: str = "rb", **options: Any) -> Any:
    """``path`` opened as ``open`` would, decompressed on the fly when it ends in ``.gz`` or ``.bz2``."""
    openers: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".bz2": bz2.open}
    opener = openers.get(path.suffix.lower(), open)
    return opener(path, mode, **options)


def first_line(path: Path, what: str) -> bytes:
    """The first line of a (possibly compressed) text file, without its line ending."""
    try:
        with open_text_file(path) as f:
            line = f.readline(LINE_LIMIT + 1)
    except READ_ERRORS as e:
        raise unreadable(what, path, e) from e
    if len(line) > LINE_LIMIT:
        raise DatasetError(f"{what}: {path} line 1 is longer than {LINE_LIMIT:,} bytes: not a {what} file")
    return line.rstrip(b"\r\n")


def first_text_line(path: Path, what: str, hint: str) -> str:
    """The first line as UTF-8 text (a leading byte-order mark dropped, as pandas does); a NUL byte, which no
    text table holds, marks a binary file."""
    line = first_line(path, what)
    try:
        if b"\x00" not in line:
            return line.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    raise DatasetError(f"{what}: {path} line 1 is not UTF-8 text (a binary file, another encoding?); {hint}")


def first_bad_line(path: Path, sep: bytes, columns: int) -> int | None:
    """1-based number of the first non-blank line without ``columns`` fields (slow: for error messages)."""
    with open_text_file(path) as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip(b"\r\n")
            if line and line.count(sep) != columns - 1:
                return number
    return None


class _Bar:
    def __init__(self, progress) -> None:
        self._progress = progress

    def task(self, description: str, total: int | None) -> Advance:
        if self._progress is None:
            return lambda n: None
        task_id = self._progress.add_task(description, total=total)
        return lambda n: self._progress.advance(task_id, n)


@contextmanager
def progress_bar(enabled: bool) -> Iterator[_Bar]:
    """A rich progress display on stderr (``enabled``) or a do-nothing stand-in with the same ``task()``."""
    from rich.console import Console

    console = Console(stderr=True)
    if not (enabled and console.is_terminal):  # a log file gets no bar (rich would leave a blank line there)
        yield _Bar(None)
        return
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
    with Progress(*columns, console=console, transient=True) as progress:
        yield _Bar(progress)


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
    role: str = "data",
    **read_csv: Any,
) -> Iterator[pd.DataFrame]:
    """Stream a delimited text file as DataFrames of ``rows_per_chunk`` rows (pandas' C parser), hashing its
    bytes into ``digests[role]`` and turning every parser error into a one-line DatasetError.

    pandas rejects a line with too many fields but pads a short one with NaN; so the separators are counted
    as the bytes stream by, and a total other than ``(columns - 1) x lines`` is an error naming the first
    offending line (found by a slow re-read, on the error path only). Files with quote characters skip that
    check (a quoted field may hold the separator).
    """
    rows = 0
    advance = bar.task(f"reading {path.name}", path.stat().st_size)
    quote = None if quoting == csv.QUOTE_NONE else b'"'
    try:
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
                    if len(frame):  # a header-only file gives one empty frame
                        yield frame
                        rows += len(frame)
                raw.read_to_end()
            except pd.errors.ParserError as e:
                raise DatasetError(f"{what}: {path}: {one_line(e)}; {hint}") from e
            except UnicodeDecodeError as e:
                raise DatasetError(
                    f"{what}: {path} is not UTF-8 text (after row {rows:,}: {one_line(e, 100)}); {hint}"
                ) from e
            except (ValueError, TypeError) as e:
                raise DatasetError(f"{what}: {path} (after row {rows:,}): {one_line(e)}; {hint}") from e
            if rows == 0:
                raise DatasetError(f"{what}: {path} has no data rows; {hint}")
            if text.quotes == 0 or quoting == csv.QUOTE_NONE:
                expected = (columns - 1) * (rows + header_lines)
                if text.separators != expected:
                    line = first_bad_line(path, sep.encode(), columns)
                    where = f"line {line}" if line else "a line"
                    raise DatasetError(f"{what}: {path} {where} does not have {columns} columns; {hint}")
            digests[role] = raw.hexdigest()
    except READ_ERRORS as e:  # a truncated .gz, a disk error: not DatasetError, which is none of these
        raise unreadable(what, path, e, hint) from e
