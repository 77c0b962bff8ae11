"""Stream a big delimited file as Arrow tables: fixed-size pieces, each parsed by Arrow's threaded CSV reader.

The file (plain, .gz or .bz2) is read in pieces of about ``PIECE_BYTES``, each cut after its last newline, so
memory holds a few pieces whatever the file's size. A background thread reads them into reused buffers and
puts every byte through sha256 (the fingerprint) while the previous piece is parsed. Each piece is parsed
with ``pyarrow.csv.read_csv`` on all cores (blocks of ``BLOCK_BYTES`` in parallel; per core it costs ~3x
pandas' C parser on Criteo rows, docs/scale.md), with the column types given: no inference, no quoting
(``QUOTE_NONE`` formats), empty = null. Arrow refuses a row with too many *or too few* fields, so no
separator counting is needed. A piece that fails is bisected to the first line that fails on its own, and
the error names that line's number in the file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from queue import Full, Queue
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from kdbench.bench.data._io import READ_ERRORS, HashingFile, decompressed, unreadable
from kdbench.bench.errors import DatasetError, one_line

__all__ = ["BLOCK_BYTES", "PIECE_BYTES", "label_values", "stream_delimited"]

PIECE_BYTES = 64 << 20  # ~250k Criteo rows: the unit of streaming (and of the encoder's chunks)
BLOCK_BYTES = 4 << 20  # Arrow's parallel unit inside a piece (4 MiB: less CPU than 1 MiB, docs/scale.md)


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
    pieces = _Pieces(decompressed(raw, path), piece_bytes or PIECE_BYTES, header_lines)
    try:
        for line, piece in pieces:
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
        pieces.close()
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


class _Pieces:
    """``(first line number, bytes)`` pieces of ``stream``, each ending with a newline (the last one may
    not), the first ``skip_lines`` lines dropped; read, hashed (by ``stream``) and counted by a background
    thread, one piece ahead of the consumer.

    The pieces live in a ring of ``_RING`` reused buffers of ``size`` bytes (a piece's unfinished last line
    is moved to the start of the next buffer): no allocation, page fault or copy per piece. A piece is a
    view valid until the consumer asks for the one after next; Arrow's parser copies what it keeps. File
    reads, sha256 and numpy's newline count release the GIL, so on two or more cores they overlap the
    parse of the previous piece. An error in the thread is re-raised by the consumer; :meth:`close` stops it.
    """

    _RING = 3  # one being filled, one queued, one being parsed

    def __init__(self, stream: Any, size: int, skip_lines: int) -> None:
        self._stream, self._size, self._skip = stream, size, skip_lines
        self._queue: Queue[Any] = Queue(maxsize=self._RING - 2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="kdbench-prepare-io", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[tuple[int, memoryview]]:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()  # a blocked put() sees it within 0.1 s
        self._thread.join()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for piece in self._pieces():
                if not self._put(piece):
                    return
            item: Any = None
        except BaseException as e:  # handed to the consumer, which re-raises it
            item = e
        self._put(item)

    def _pieces(self) -> Iterator[tuple[int, memoryview]]:
        ring = [bytearray(self._size) for _ in range(self._RING)]
        flags = np.empty(self._size, dtype=np.bool_)  # the newline count's scratch
        line, skip, carry, k = 1, self._skip, 0, 0  # carry: bytes of an unfinished line at ring[k]'s start
        while True:
            buffer = ring[k]
            filled = carry + self._fill(memoryview(buffer)[carry:])
            data = memoryview(buffer)[:filled]
            if filled == carry:  # end of the stream: what is left is the last line (no newline)
                if filled:
                    yield line, data
                return
            start = 0
            while skip:
                cut = buffer.find(b"\n", start, filled)
                if cut < 0:
                    break
                start, skip, line = cut + 1, skip - 1, line + 1
            end = buffer.rfind(b"\n", start, filled) + 1
            if skip or end == 0:  # no complete line yet: keep what is left and read on (into a bigger buffer)
                carry = filled - start
                if carry == len(buffer):
                    ring[k] = buffer = bytearray(2 * len(buffer))
                    flags = np.empty(len(buffer), dtype=np.bool_)
                buffer[:carry] = bytes(data[start:filled])  # rare (a header, a huge line): copy once
                continue
            piece = data[start:end]
            yield line, piece  # returns once the piece is queued: the consumer has let go of ring[k + 1]
            view = np.frombuffer(piece, dtype=np.uint8)
            line += int(np.count_nonzero(np.equal(view, 10, out=flags[: len(view)])))
            k, carry = (k + 1) % self._RING, filled - end
            if len(ring[k]) < carry:  # only after a buffer grew
                ring[k] = bytearray(len(buffer))
            ring[k][:carry] = data[end:filled]

    def _fill(self, view: memoryview) -> int:
        """Read into ``view`` until it is full or the stream ends; the bytes read."""
        done = 0
        while done < len(view):
            n = self._stream.readinto(view[done:])
            if not n:
                break
            done += n
        return done


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
        return DatasetError(f"{what}: {path} lines {first:,}+: {one_line(error)}; {hint}")
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
    return DatasetError(f"{what}: {path} line {number}: {one_line(detail, 120)}; {hint}")
