"""Any CSV or Parquet table plus a schema (:mod:`kdbench.bench.data._schema`, ``docs/datasets.md``), so users
bring their own logs.

Cells are kept as written: ``NA``, ``None``, ``null`` are values (real categories), and only empty cells
(Parquet nulls) and the schema's ``missing`` values are missing (code 0). Numeric text is parsed after
trimming spaces; a value that is not a number is an error naming the column and its line (csv) or row
(parquet). ``quantile`` and ``dense`` rules read their columns once before encoding: quantile edges and a
dense column's mean and std come from the rows the split puts in train (the split is a function of the row
count and the seed), and are recorded in the entry's meta (``learned.quantile_edges``, ``learned.dense``).
A dense column's field holds code 1 where the value is present (0: missing) and its standardised value
rides beside the codes (``Chunk.dense``). A dense value must be finite, its column's statistics too, and so
must its standardised float32 value; a dense column with values but none in the training split is refused
(its vector would never train). Each refusal names the column (and the line, where there is one).
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import functools
import hashlib
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kdbench.bench.data._encode import Chunk
from kdbench.bench.data._io import (
    ARROW_STRING,
    file_identity,
    first_text_line,
    open_text_file,
    read_delimited,
    require_file,
)
from kdbench.bench.data._numeric import (
    NotANumber,
    as_arrow,
    dense_stats,
    missing_to_null,
    numeric_tokens,
    quantile_edges,
    standardise,
    to_floats,
)
from kdbench.bench.data._schema import NUMERIC_RULES, TableSchema, default_name, load_schema
from kdbench.bench.data._source import Source
from kdbench.bench.data._split import split_assignment
from kdbench.bench.data._split_column import SplitColumn
from kdbench.bench.errors import DatasetError, one_line, shorten

__all__ = ["NUMERIC_RULES", "TableSchema", "load_schema", "open_csv_table", "open_parquet_table"]

ROWS_PER_CHUNK = 250_000
PARQUET_ROWS = 250_000
_HINT = "pass the table with --path and its columns with --schema"

# (first row's 0-based index, the file's index in the table's files, {column: values}) for each block of
# rows, in file order (a table with given train / valid / test files: train's blocks, then valid's, then
# test's; a row's index counts across the files).
Blocks = Iterator[tuple[int, int, dict[str, Any]]]
# A 0-based data row -> "FILE line N" (csv) or "FILE row N" (parquet); -1 -> the table's (first) file.
Locate = Callable[[int], str]
# The table's files: [("data", FILE)], or [("train", F), ("valid", F), ("test", F)] for a given split.
Files = list[tuple[str, Path]]


def _files(fmt: str, path: Any, spec: TableSchema) -> Files:
    """The files a table is read from: ``--path``, or its split's three files (``--path``, when given too,
    must be the training file: what a name records)."""
    split_files = spec.split.files if spec.split is not None else None
    if split_files is None:
        return [("data", require_file(path, fmt, _HINT))]
    if path is not None and str(Path(path).expanduser().resolve()) != split_files["train"]:
        raise DatasetError(
            f"{fmt}: give the table as --path FILE or as its train, valid and test files, not both "
            f"(--path {path} and train {split_files['train']})"
        )
    hint = "the schema's split block (or --train/--valid/--test) names the three files"
    return [(role, require_file(file, f"{fmt} {role} file", hint)) for role, file in split_files.items()]


def _source(fmt: str, files: Files, spec: TableSchema, read: Callable[..., Iterator[Chunk]]) -> Source:
    first = files[0][1]
    # Given files are often train.csv, valid.csv and test.csv in a folder named for the dataset.
    name = spec.name or default_name(first.parent.name if len(files) > 1 else first.stem)
    learned: dict[str, Any] = {}
    return Source(
        source=fmt,
        name=name,
        field_names=spec.fields,
        min_counts=spec.min_counts(),
        protocol=spec.protocol(fmt, name),
        identity={role: file_identity(file) for role, file in files},
        read=lambda bar, digests: read(bar, digests, learned),
        learned=learned,
    )


def _check_columns(spec: TableSchema, names: list[str], file: Path) -> None:
    split = spec.split
    key = [split.column] if split is not None and split.column is not None else []
    absent = [c for c in [spec.label, *spec.fields, *key] if c not in names]
    if absent:
        listed = ", ".join(_printable(n) for n in names[:20]) + (", ..." if len(names) > 20 else "")
        raise DatasetError(
            f"the schema names column(s) {', '.join(absent)}, not in {file} (columns: {listed})"
        )


def _printable(name: str, limit: int = 40) -> str:
    """A column name as it can appear in a one-line message: control characters escaped, long ones cut."""
    text = name if name.isprintable() else repr(name)
    return shorten(text, limit)


def _value(value: Any) -> str:
    return shorten(repr(value), 60)


def _read_table(
    fmt: str, spec: TableSchema, blocks: Callable[[list[str], bool], Blocks], locate: Locate,
    split_seed: int | None, learned: dict[str, Any],
) -> Iterator[Chunk]:  # fmt: skip
    """The chunks of a table: the training-split pass (if a rule or the split needs it), then one pass over
    every column."""
    edges, stats, assign = _training_pass(spec, blocks, locate, split_seed, fmt)
    if edges:
        learned["quantile_edges"] = edges
    if stats:
        learned["dense"] = {c: {"mean": m, "std": sd} for c, (m, sd) in stats.items()}
    dense_index = {c: spec.fields.index(c) for c in spec.dense_columns}
    seen: list[str] = []
    positives = 0
    for start, part, columns in blocks([spec.label, *spec.fields], True):
        labels = _labels(spec, columns[spec.label], start, locate, fmt, seen)
        positives += int(labels.sum())
        fields = [missing_to_null(columns[c], spec.missing) for c in spec.categorical]
        dense: dict[int, np.ndarray] = {}
        for name, rule in spec.numeric.items():
            values = _floats(columns[name], name, spec, start, locate, fmt)
            fields.append(numeric_tokens(values, rule, edges.get(name)))
            if rule == "dense":
                dense[dense_index[name]] = _standardised(values, name, stats[name], start, locate, fmt)
        split = None  # the seeded random split, drawn by the encoder
        if assign is not None:
            split = assign[start : start + len(labels)]
        elif spec.split is not None:  # given files: the block's file is its split
            split = np.full(len(labels), part, dtype=np.int8)
        yield Chunk(labels, fields, dense or None, split)
    if spec.positive is not None and positives == 0:
        raise DatasetError(
            f"{fmt}: {locate(-1)}: no row has {spec.label} = {spec.positive!r} (values seen: "
            f"{', '.join(_value(v) for v in seen)}); set positive: to the label value that means 1"
        )


def _training_pass(
    spec: TableSchema, blocks: Callable[[list[str], bool], Blocks], locate: Locate, split_seed: int | None,
    fmt: str,
) -> tuple[dict[str, list[float]], dict[str, tuple[float, float]], np.ndarray | None]:  # fmt: skip
    """A pass over the columns that rules learn from and the split column, before encoding: each quantile
    column's edges and each dense column's ``(mean, std)`` from the training rows, and each row's split when
    a column gives it (given by value, or time-ordered; None otherwise). No such column: no pass."""
    learned_from = [*spec.quantile_columns, *spec.dense_columns]
    split = spec.split
    keyed = split is not None and split.column is not None
    if not learned_from and not keyed:
        return {}, {}, None
    key = SplitColumn(split, fmt, locate, spec.missing) if keyed and split is not None else None
    columns = list(dict.fromkeys([*learned_from, *([key.column] if key is not None else [])]))
    parts: dict[str, list[np.ndarray]] = {c: [] for c in learned_from}
    files: list[np.ndarray] = []
    for start, part, block in blocks(columns, False):
        for c in learned_from:
            parts[c].append(_floats(block[c], c, spec, start, locate, fmt))
        if key is not None:
            key.add(block[key.column], start)
        files.append(np.full(len(block[columns[0]]), part, dtype=np.int8))
    rows = sum(len(f) for f in files)
    if key is not None:
        assign = key.assignment()
    elif split is not None:  # given files
        assign = np.concatenate(files)
    elif split_seed is None:
        raise RuntimeError("a random split needs a split seed")
    else:
        assign = split_assignment(rows, split_seed)  # the same draw as the build's: (rows, seed)
    train = assign == 0
    values = {c: np.concatenate(parts[c]) if parts[c] else np.empty(0) for c in learned_from}
    edges = {c: quantile_edges(values[c][train], spec.numeric[c]["quantile"]) for c in spec.quantile_columns}
    stats = {c: _dense_stats(values[c], train, c, locate, fmt) for c in spec.dense_columns}
    return edges, stats, assign if key is not None else None


def _dense_stats(
    values: np.ndarray, train: np.ndarray, name: str, locate: Locate, fmt: str
) -> tuple[float, float]:
    """A dense column's ``(mean, std)`` on the training rows; a DatasetError when the training split has no
    value while the others do (its vector would never train), or when the values overflow the statistics."""
    present = ~np.isnan(values)
    if not present[train].any() and present.any():
        raise DatasetError(
            f"{fmt}: {locate(-1)}: dense column {_printable(name)} has no value in the training split "
            f"({int(present.sum()):,} value(s), all in valid or test rows), so its vector would never "
            f"train: make {_printable(name)} categorical or drop it from the schema"
        )
    try:
        return dense_stats(values[train])
    except ValueError:
        magnitude = np.where(present & train, np.abs(values), -1.0)
        row = int(np.argmax(magnitude))
        raise DatasetError(
            f"{fmt}: {locate(row)}: dense column {_printable(name)} holds {float(values[row])!r}, too large "
            f"for its mean and std (they overflow); a dense value must be far from the float limit: list it "
            f"under missing: in the schema, rescale the column, or give {_printable(name)} a bucket rule "
            "(quantile)"
        ) from None


def _standardised(
    values: np.ndarray, name: str, stats: tuple[float, float], start: int, locate: Locate, fmt: str
) -> np.ndarray:
    """:func:`standardise`; a DatasetError naming the first line whose value overflows float32 once
    standardised (a finite raw value far outside the training split's range)."""
    scaled = standardise(values, *stats)
    bad = np.flatnonzero(~np.isfinite(scaled))
    if bad.size:
        raise DatasetError(
            f"{fmt}: {locate(start + int(bad[0]))}: dense column {_printable(name)} holds "
            f"{float(values[bad[0]])!r}, which standardises to {float(scaled[bad[0]])!r} (mean {stats[0]:g}, "
            f"std {stats[1]:g}); a dense value must stay finite: list it under missing: in the schema, or "
            f"give {_printable(name)} a bucket rule (quantile)"
        )
    return scaled


def _floats(column: Any, name: str, spec: TableSchema, start: int, locate: Locate, fmt: str) -> np.ndarray:
    try:
        values = to_floats(column, spec.missing)
    except NotANumber as e:
        raise DatasetError(
            f"{fmt}: {locate(start + e.row)}: numeric column {_printable(name)} holds {_value(e.value)}, "
            f"not a number; list it under missing: in the schema, or make {_printable(name)} categorical"
        ) from None
    if spec.numeric.get(name) == "dense":
        infinite = np.flatnonzero(np.isinf(values))
        if infinite.size:
            raise DatasetError(
                f"{fmt}: {locate(start + int(infinite[0]))}: dense column {_printable(name)} holds "
                f"{float(values[infinite[0]])!r}; a dense value must be finite: list it under missing: in "
                f"the schema, or give {_printable(name)} a bucket rule (quantile)"
            )
    return values


def _labels(
    spec: TableSchema, column: Any, start: int, locate: Locate, fmt: str, seen: list[str]
) -> np.ndarray:
    """``(rows,)`` int8 0/1; a missing or non-binary label is an error naming its line or row."""
    arr = as_arrow(column)
    if arr.null_count:
        first = int(np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[0])
        raise DatasetError(
            f"{fmt}: {locate(start + first)}: no label ({arr.null_count:,} row(s) here have none); "
            f"every row needs a {_printable(spec.label)} value"
        )
    if spec.positive is not None:
        text = arr if pa.types.is_string(arr.type) else pc.cast(arr, pa.string())
        if len(seen) < 5:
            seen.extend(v for v in pc.unique(text.slice(0, 10_000)).to_pylist()[:5] if v not in seen)
            del seen[5:]
        return pc.equal(text, spec.positive).to_numpy(zero_copy_only=False).astype(np.int8)
    if pa.types.is_boolean(arr.type):
        return arr.to_numpy(zero_copy_only=False).astype(np.int8)
    if not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)):
        first = arr[0].as_py()
        raise DatasetError(
            f"{fmt}: {locate(start)}: label {_printable(spec.label)} holds {_value(first)}, not 0 or 1; "
            f"set positive: VALUE in the schema (or --positive VALUE) to say which value means 1"
        )
    values = arr.to_numpy(zero_copy_only=False)
    bad = np.flatnonzero((values != 0) & (values != 1))
    if bad.size:
        raise DatasetError(
            f"{fmt}: {locate(start + int(bad[0]))}: label {_printable(spec.label)} must be 0 or 1, found "
            f"{values[bad[0]].item()!r} ({bad.size:,} row(s) here); set positive: VALUE in the schema (or "
            "--positive VALUE) to binarise it"
        )
    return values.astype(np.int8)


# -- csv -------------------------------------------------------------------------------------------------


def open_csv_table(
    path: str | os.PathLike[str] | None, schema: Any, home: Path, split_seed: int | None = 2022
) -> Source:
    spec = load_schema(schema)
    files = _files("csv", path, spec)
    return _source("csv", files, spec, functools.partial(_read_csv, files, spec, split_seed=split_seed))


def _read_csv(
    files: Files,
    spec: TableSchema,
    bar: Any,
    digests: dict[str, str],
    learned: dict[str, Any],
    *,
    split_seed: int | None,
) -> Iterator[Chunk]:
    headers = [_csv_header(file, spec) for _, file in files]
    starts: list[int] = []  # each file's first data row, counted across the files (known once read)

    def blocks(columns: list[str], hashed: bool) -> Blocks:
        text = dict.fromkeys([c for c in columns if c != spec.label or spec.positive], ARROW_STRING)
        start = 0
        for part, ((role, file), names) in enumerate(zip(files, headers, strict=True)):
            if len(starts) <= part:
                starts.append(start)
            frames = read_delimited(
                file,
                what="csv",
                hint="fix the file or the schema",
                bar=bar,
                digests=digests if hashed else {},
                role=role,
                sep=spec.sep,
                columns=len(names),
                header_lines=1,
                rows_per_chunk=ROWS_PER_CHUNK,
                quoting=csv.QUOTE_MINIMAL,
                header=0,
                usecols=columns,
                dtype=text,
                keep_default_na=False,  # NA, None, null... are values; only empty cells are missing
                na_values=[""],
            )
            for frame in frames:
                yield start, part, {c: frame[c].array if c in text else frame[c].to_numpy() for c in columns}
                start += len(frame)

    def locate(row: int) -> str:  # row -1: the table's first file
        if row < 0:
            return str(files[0][1])
        part = bisect.bisect_right(starts, row) - 1  # the file holding data row ``row``
        file = files[part][1]
        return f"{file} line {_csv_line(file, spec.sep, row - starts[part]):,}"

    yield from _read_table("csv", spec, blocks, locate, split_seed, learned)


def _csv_header(file: Path, spec: TableSchema) -> list[str]:
    """A csv file's column names, checked against the schema."""
    header = first_text_line(file, "csv", "a CSV table is UTF-8 text with a header line")
    try:
        names = next(csv.reader(io.StringIO(header), delimiter=spec.sep), [])
    except csv.Error as e:  # a field over csv's size limit, a NUL byte
        raise DatasetError(f"csv: {file} line 1 is not a header line ({one_line(e)})") from e
    _check_columns(spec, names, file)
    return names


def _csv_line(file: Path, sep: str, row: int) -> int:
    """The 1-based line where data row ``row`` (0-based, after the header) starts: a re-read on the error
    path only, so quoted line breaks and blank lines (which pandas skips) are counted exactly."""
    with open_text_file(file, "rt", encoding="utf-8-sig", newline="", errors="replace") as f:
        reader = csv.reader(f, delimiter=sep)
        next(reader, None)
        data, before = 0, reader.line_num
        for record in reader:
            if record:
                if data == row:
                    return before + 1
                data += 1
            before = reader.line_num
    return before + 1


# -- parquet ---------------------------------------------------------------------------------------------


def open_parquet_table(
    path: str | os.PathLike[str] | None, schema: Any, home: Path, split_seed: int | None = 2022
) -> Source:
    spec = load_schema(schema)
    files = _files("parquet", path, spec)
    return _source(
        "parquet", files, spec, functools.partial(_read_parquet, files, spec, split_seed=split_seed)
    )


def _read_parquet(
    files: Files,
    spec: TableSchema,
    bar: Any,
    digests: dict[str, str],
    learned: dict[str, Any],
    *,
    split_seed: int | None,
) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    with contextlib.ExitStack() as stack:
        tables = []
        for _, file in files:
            try:
                table = stack.enter_context(pq.ParquetFile(file))
            except (pa.ArrowException, OSError) as e:
                raise DatasetError(f"parquet: {file} is not a Parquet file ({one_line(e)})") from e
            _check_columns(spec, table.schema_arrow.names, file)
            tables.append(table)
        starts = [0]
        for table in tables[:-1]:
            starts.append(starts[-1] + table.metadata.num_rows)

        def blocks(columns: list[str], counted: bool) -> Blocks:
            for part, ((_, file), table) in enumerate(zip(files, tables, strict=True)):
                advance = bar.task(f"reading {file.name}", table.metadata.num_rows) if counted else None
                rows = 0
                try:
                    for batch in table.iter_batches(batch_size=PARQUET_ROWS, columns=columns):
                        yield starts[part] + rows, part, {c: batch.column(c) for c in columns}
                        rows += batch.num_rows
                        if advance is not None:
                            advance(batch.num_rows)
                except (pa.ArrowException, OSError) as e:
                    raise DatasetError(f"parquet: {file} (after row {rows:,}): {one_line(e)}") from e
                if rows == 0:
                    raise DatasetError(f"parquet: {file} has no rows")

        def locate(row: int) -> str:  # row -1: the table's first file
            if row < 0:
                return str(files[0][1])
            part = bisect.bisect_right(starts, row) - 1
            return f"{files[part][1]} row {row - starts[part] + 1:,}"

        yield from _read_table("parquet", spec, blocks, locate, split_seed, learned)
    for role, file in files:
        with open(file, "rb") as f:
            digests[role] = hashlib.file_digest(f, "sha256").hexdigest()
