"""Stream a big delimited file as Arrow tables: fixed-size pieces, each parsed by Arrow's threaded CSV reader.

The file (plain, .gz or .bz2) is read in pieces of about ``PIECE_BYTES``, each cut after its last newline, so
memory holds a few pieces whatever the file's size. Every byte read goes through sha256 (the fingerprint).
Each piece is parsed with ``pyarrow.csv.read_csv`` on all cores (blocks of ``BLOCK_BYTES`` in parallel;
several times faster than one pandas tokenizer), with the column types given: no inference, no quoting
(``QUOTE_NONE`` formats), empty = null. Arrow refuses a row with too many *or too few* fields, so no separator
counting is needed. A piece that fails is bisected to the first line that fails on its own, and the error
names that line's number in the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from kdbench.bench.data._io import READ_ERRORS, HashingFile, decompressed, short_error, unreadable
from kdbench.bench.errors import DatasetError

__all__ = ["BLOCK_BYTES", "PIECE_BYTES", "label_values", "stream_delimited"]

PIECE_BYTES = 64 << 20  # ~250k Criteo rows: the unit of streaming (and of the encoder's chunks)
BLOCK_BYTES = 1 << 20  # Arrow's parallel unit inside a piece (1 MiB parsed faster than 4 or 16 on 2 cores)


def stream_delimited(
    path: Path,
    *,
    what: str,
    hint: str,
    bar: Any,
    digests: dict[str, str],
    sep: str,
    names: list[str],
    types: dict[str, pa.DataType],
    header_lines: int = 0,
    include: list[str] | None = None,
    piece_bytes: int | None = None,
) -> Iterator[tuple[int, pa.Table]]:
    """Yield ``(first line number, table)`` per piece of ``path`` (1-based line numbers in the file).

    ``names`` are all the file's columns in order, ``types`` every kept column's Arrow type, ``include`` the
    columns to keep (default: all). The first ``header_lines`` lines are skipped. Fills ``digests["data"]``
    with the sha256 of the file's bytes once exhausted. Every problem is a one-line :class:`DatasetError`.
    """
    read_options = pacsv.ReadOptions(column_names=names, block_size=BLOCK_BYTES, use_threads=True)
    parse_options = pacsv.ParseOptions(delimiter=sep, quote_char=False, newlines_in_values=False)
    convert_options = pacsv.ConvertOptions(
        column_types=types, null_values=[""], strings_can_be_null=True, include_columns=include or names
    )

    def parse(data: bytes | memoryview) -> pa.Table:
        return pacsv.read_csv(
            pa.py_buffer(data),
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )

    rows = 0
    advance = bar.task(f"reading {path.name}", path.stat().st_size)
    raw = HashingFile(path, advance)
    try:
        for line, piece in _pieces(decompressed(raw, path), piece_bytes or PIECE_BYTES, header_lines):
            try:
                table = parse(piece)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
                raise _located(what, path, hint, piece, line, parse, len(names), e) from e
            if table.num_rows:
                rows += table.num_rows
                yield line, table
        raw.read_to_end()
        digests["data"] = raw.hexdigest()
    except READ_ERRORS as e:  # a truncated .gz, a disk error (DatasetError is none of these)
        raise unreadable(what, path, e, hint) from e
    finally:
        raw.close()
    if rows == 0:
        raise DatasetError(f"{what}: {path} has no data rows; {hint}")


def label_values(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A label column read as strings -> float64 (NaN: missing), as pandas' parser reads it: numbers, and
    ``true`` / ``false`` in any case as 1 / 0; any other text raises ``ValueError`` naming it. Converts each
    distinct value once (a label column has a handful)."""
    encoded = pc.dictionary_encode(column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column)
    values = np.empty(len(encoded.dictionary) + 1, dtype=np.float64)
    values[-1] = np.nan  # nulls point here
    for k, text in enumerate(encoded.dictionary.to_pylist()):
        word = text.strip().lower()
        if word in ("true", "false"):
            values[k] = float(word == "true")
            continue
        try:
            values[k] = float(word)
        except ValueError:
            raise ValueError(f"label {text[:40]!r} is not a number") from None
    return values[pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)]


def _pieces(stream: Any, size: int, skip_lines: int) -> Iterator[tuple[int, memoryview]]:
    """``(first line number, bytes)`` pieces of ``stream``, each ending with a newline (the last one may
    not); the first ``skip_lines`` lines dropped. A piece is a view (no copy) valid until the next one."""
    line, carry = 1, b""
    while True:
        block = stream.read(size)
        data = carry + block if carry else block  # the one copy: the previous piece's unfinished line
        if not block:
            if data:
                yield line, memoryview(data)
            return
        start = 0
        while skip_lines:
            cut = data.find(b"\n", start)
            if cut < 0:
                break
            start, skip_lines, line = cut + 1, skip_lines - 1, line + 1
        end = data.rfind(b"\n", start) + 1
        if skip_lines or end == 0:  # no complete line yet: read on
            carry = data[start:]
            continue
        piece, carry = memoryview(data)[start:end], data[end:]
        yield line, piece
        line += int(np.count_nonzero(np.frombuffer(piece, dtype=np.uint8) == 10))


def _located(
    what: str,
    path: Path,
    hint: str,
    piece: memoryview,
    first: int,
    parse: Any,
    columns: int,
    error: BaseException,
) -> DatasetError:
    """The error for a piece Arrow refused, naming the first line that fails on its own (lines are parsed
    independently: no quoting), found by bisection (about two parses of the piece)."""
    lines = bytes(piece).split(b"\n")

    def fails(part: list[bytes]) -> BaseException | None:
        try:
            parse(b"\n".join(part) + b"\n")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            return e
        return None

    lo, hi = 0, len(lines)
    reason = fails(lines)
    if reason is None:  # only the whole piece fails (should not happen): report the piece's range
        return DatasetError(f"{what}: {path} lines {first:,}+: {short_error(error)}; {hint}")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        found = fails(lines[lo:mid])
        if found is not None:
            hi, reason = mid, found
        else:
            lo = mid
    number = first + lo
    message = str(reason)
    if "columns, got" in message:
        return DatasetError(f"{what}: {path} line {number} does not have {columns} columns; {hint}")
    if "UTF8" in message or "UTF-8" in message:
        return DatasetError(f"{what}: {path} line {number} is not UTF-8 text; {hint}")
    detail = message.split("error:")[-1] if "error:" in message else message
    return DatasetError(f"{what}: {path} line {number}: {short_error(detail, 120)}; {hint}")
