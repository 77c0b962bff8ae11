"""Any CSV or Parquet table plus a small schema, so users bring their own CTR logs.

A schema is a YAML file (or a mapping, or CLI flags) with these keys::

    label: click                 # required: a 0/1 column (ints, floats or booleans)
    categorical: [site, device]  # columns whose distinct values are tokens
    numeric:                     # columns discretised into tokens by a rule:
      price: log_square          #   Criteo's rule: v > 2 -> ceil(ln(v)^2 + 1), others kept
      age: identity              #   every distinct value is a token
      score: {edges: [0, 0.5, 1]}  # bucket i = number of edges <= v (0..len(edges))
    min_count: 5                 # categorical tokens seen fewer times (whole file) -> 0; default 1
    sep: ","                     # csv only; the first line is the header
    name: my-logs                # dataset name; default: the file's stem

Fields are the categorical columns then the numeric ones, in schema order. Missing values (empty cells,
nulls, NaN) → 0. Numeric tokens are never thresholded (as Criteo's integer fields). Unknown keys, columns
absent from the table, a non-binary label and an empty table are errors.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bench.data._encode import Chunk, binary_labels, log_square
from bench.data._io import (
    ARROW_STRING,
    file_identity,
    first_text_line,
    read_delimited,
    require_file,
    short_error,
    shown,
)
from bench.data._source import Source
from bench.errors import DatasetError

__all__ = ["NUMERIC_RULES", "TableSchema", "load_schema", "open_csv_table", "open_parquet_table"]

NUMERIC_RULES = ("identity", "log_square")  # plus {"edges": [...]}
ROWS_PER_CHUNK = 250_000
PARQUET_ROWS = 250_000
_KEYS = {"label", "categorical", "numeric", "min_count", "sep", "name"}


@dataclass(frozen=True)
class TableSchema:
    """A validated schema (see the module docstring)."""

    label: str
    categorical: list[str] = field(default_factory=list)
    numeric: dict[str, Any] = field(default_factory=dict)
    min_count: int = 1
    sep: str = ","
    name: str | None = None

    @property
    def fields(self) -> list[str]:
        return [*self.categorical, *self.numeric]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str = "schema") -> TableSchema:
        """Validate strictly: every problem is a DatasetError naming the key."""
        if not isinstance(values, Mapping):
            raise DatasetError(
                f"{where} must be a mapping with keys {sorted(_KEYS)}, got {type(values).__name__}"
            )
        unknown = sorted(set(values) - _KEYS)
        if unknown:
            raise DatasetError(
                f"{where}: unknown key(s) {', '.join(map(str, unknown))}; allowed: {sorted(_KEYS)}"
            )
        label = values.get("label")
        if not isinstance(label, str) or not label:
            raise DatasetError(f"{where}: 'label' must name the 0/1 label column")
        categorical = values.get("categorical") or []
        if not isinstance(categorical, list) or not all(isinstance(c, str) for c in categorical):
            raise DatasetError(f"{where}: 'categorical' must be a list of column names")
        numeric = values.get("numeric") or {}
        if not isinstance(numeric, Mapping):
            raise DatasetError(
                f"{where}: 'numeric' must map column names to a rule ({', '.join(NUMERIC_RULES)})"
            )
        numeric = {str(k): _check_rule(v, f"{where}: numeric.{k}") for k, v in numeric.items()}
        fields = [*categorical, *numeric]
        if not fields:
            raise DatasetError(f"{where}: name at least one categorical or numeric column")
        repeated = sorted({f for f in fields if fields.count(f) > 1} | ({label} & set(fields)))
        if repeated:
            raise DatasetError(
                f"{where}: column(s) {', '.join(repeated)} listed twice (or as label and field)"
            )
        min_count = values.get("min_count", 1)
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise DatasetError(f"{where}: 'min_count' must be an integer >= 1, got {min_count!r}")
        sep = values.get("sep", ",")
        if not isinstance(sep, str) or len(sep) != 1:
            raise DatasetError(f"{where}: 'sep' must be one character, got {sep!r}")
        name = values.get("name")
        if name is not None and (not isinstance(name, str) or not name):
            raise DatasetError(f"{where}: 'name' must be a non-empty string")
        return cls(label, list(categorical), numeric, min_count, sep, name)

    def protocol(self, fmt: str) -> dict[str, Any]:
        rules = {"format": fmt, "label": self.label, "categorical": self.categorical, "numeric": self.numeric}
        rules.update({"min_count": self.min_count, "missing": "-> 0", "counted_on": "whole file"})
        if fmt == "csv":
            rules["sep"] = self.sep
        return rules


def _check_rule(rule: Any, where: str) -> Any:
    if rule in NUMERIC_RULES:
        return rule
    if isinstance(rule, Mapping) and set(rule) == {"edges"}:
        edges = rule["edges"]
        ok = isinstance(edges, list) and edges and all(isinstance(e, int | float) for e in edges)
        if ok and all(a < b for a, b in itertools.pairwise(edges)):
            return {"edges": [float(e) for e in edges]}
    raise DatasetError(
        f"{where}: rule must be one of {', '.join(NUMERIC_RULES)} or {{edges: [increasing numbers]}}"
    )


def load_schema(schema: Any) -> TableSchema:
    """A TableSchema from a TableSchema, a mapping, or the path of a YAML file."""
    if isinstance(schema, TableSchema):
        return schema
    if isinstance(schema, Mapping):
        return TableSchema.from_mapping(schema)
    if isinstance(schema, str | os.PathLike):
        import yaml

        from bench.inputs import read_text

        path = Path(schema).expanduser()
        text = read_text(path, "schema", DatasetError, name=shown(path))
        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError as e:  # including reader errors: control characters, NUL bytes
            raise DatasetError(f"schema {shown(path)} is not valid YAML: {short_error(e)}") from e
        return TableSchema.from_mapping(values, f"schema {shown(path)}")
    raise DatasetError(
        "csv and parquet sources need a schema: --schema FILE.yaml or --label/--categorical flags"
    )


def numeric_tokens(values: np.ndarray, rule: Any) -> pa.Array:
    """A numeric column's tokens under ``rule``; NaN (missing) stays missing (null)."""
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    values = np.where(missing, 0.0, values)
    if rule == "identity":
        tokens = values
    elif rule == "log_square":
        tokens = log_square(values)
    else:
        tokens = np.searchsorted(np.asarray(rule["edges"]), values, side="right").astype(np.int64)
    return pa.array(tokens, mask=missing if missing.any() else None)


def _source(fmt: str, file: Path, spec: TableSchema, read: Any) -> Source:
    return Source(
        source=fmt,
        name=spec.name or file.stem,
        field_names=spec.fields,
        min_counts=[spec.min_count] * len(spec.categorical) + [1] * len(spec.numeric),
        protocol=spec.protocol(fmt),
        identity={"data": file_identity(file)},
        read=read,
    )


def _check_columns(spec: TableSchema, names: list[str], file: Path) -> None:
    absent = [c for c in [spec.label, *spec.fields] if c not in names]
    if absent:
        listed = ", ".join(_printable(n) for n in names[:20]) + (", ..." if len(names) > 20 else "")
        raise DatasetError(
            f"the schema names column(s) {', '.join(absent)}, not in {file} (columns: {listed})"
        )


def _printable(name: str, limit: int = 40) -> str:
    """A column name as it can appear in a one-line message: control characters escaped, long ones cut."""
    text = name if name.isprintable() else repr(name)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _chunk(spec: TableSchema, labels: np.ndarray, columns: dict[str, Any], where: str) -> Chunk:
    """One chunk from the label values and each field's column (pandas Series, Arrow or numpy arrays)."""
    fields = [pa.array(columns[c]) for c in spec.categorical]
    for name, rule in spec.numeric.items():
        try:
            fields.append(numeric_tokens(np.asarray(columns[name], dtype=np.float64), rule))
        except (TypeError, ValueError) as e:
            raise DatasetError(f"{where}: numeric column {name} holds non-numbers ({short_error(e)})") from e
    return Chunk(binary_labels(labels, f"{where}: label {spec.label}"), fields)


# -- csv -------------------------------------------------------------------------------------------------


def open_csv_table(path: str | os.PathLike[str] | None, schema: Any, home: Path) -> Source:
    spec = load_schema(schema)
    file = require_file(path, "csv", "pass the table with --path and its columns with --schema")
    return _source("csv", file, spec, lambda bar, digests: _read_csv(file, spec, bar, digests))


def _read_csv(file: Path, spec: TableSchema, bar: Any, digests: dict[str, str]) -> Iterator[Chunk]:
    header = first_text_line(file, "csv", "a CSV table is UTF-8 text with a header line")
    try:
        names = next(csv.reader(io.StringIO(header), delimiter=spec.sep), [])
    except csv.Error as e:  # a field over csv's size limit, a NUL byte
        raise DatasetError(f"csv: {file} line 1 is not a header line ({short_error(e)})") from e
    _check_columns(spec, names, file)
    frames = read_delimited(
        file,
        what="csv",
        hint="fix the file or the schema",
        bar=bar,
        digests=digests,
        sep=spec.sep,
        columns=len(names),
        header_lines=1,
        rows_per_chunk=ROWS_PER_CHUNK,
        quoting=csv.QUOTE_MINIMAL,
        header=0,
        usecols=[spec.label, *spec.fields],
        dtype={**dict.fromkeys(spec.categorical, ARROW_STRING), **dict.fromkeys(spec.numeric, "float64")},
    )
    rows = 0
    for frame in frames:
        where = f"csv: {file} rows {rows + 1:,}-{rows + len(frame):,}"
        rows += len(frame)
        yield _chunk(spec, frame[spec.label].to_numpy(), frame, where)


# -- parquet ---------------------------------------------------------------------------------------------


def open_parquet_table(path: str | os.PathLike[str] | None, schema: Any, home: Path) -> Source:
    spec = load_schema(schema)
    file = require_file(path, "parquet", "pass the table with --path and its columns with --schema")
    return _source("parquet", file, spec, lambda bar, digests: _read_parquet(file, spec, bar, digests))


def _read_parquet(file: Path, spec: TableSchema, bar: Any, digests: dict[str, str]) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(file)
    except (pa.ArrowException, OSError) as e:
        raise DatasetError(f"parquet: {file} is not a Parquet file ({short_error(e)})") from e
    with table:
        _check_columns(spec, table.schema_arrow.names, file)
        advance = bar.task(f"reading {file.name}", table.metadata.num_rows)
        batches = table.iter_batches(batch_size=PARQUET_ROWS, columns=[spec.label, *spec.fields])
        rows = 0
        try:
            for batch in batches:
                where = f"parquet: {file} rows {rows + 1:,}-{rows + batch.num_rows:,}"
                label = batch.column(spec.label)
                if label.null_count:
                    raise DatasetError(f"{where}: {label.null_count} row(s) have no label")
                columns = {name: batch.column(name) for name in spec.categorical}
                for name in spec.numeric:
                    columns[name] = pc.cast(batch.column(name), pa.float64()).to_numpy(zero_copy_only=False)
                yield _chunk(spec, label.to_numpy(zero_copy_only=False), columns, where)
                rows += batch.num_rows
                advance(batch.num_rows)
        except (pa.ArrowException, OSError) as e:
            raise DatasetError(f"parquet: {file} (after row {rows:,}): {short_error(e)}") from e
        if rows == 0:
            raise DatasetError(f"parquet: {file} has no rows")
    with open(file, "rb") as f:
        digests["data"] = hashlib.file_digest(f, "sha256").hexdigest()
