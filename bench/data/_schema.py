"""The schema of a user's own table (csv or parquet): which column is the label, which are features, and
how each numeric column becomes tokens. ``docs/datasets.md`` is the user's page; in short::

    name: adult                  # the dataset's name in the cache; default: the file's stem
    label: income                # required
    positive: ">50K"             # optional: this value is 1, every other value 0 (default: a 0/1 column)
    categorical: [workclass, education, sex]   # every distinct value is a token
    numeric:                     # a mapping column -> rule, or a plain list (each gets DEFAULT_RULE)
      age: {quantile: 10}        #   10 buckets, edges at the training split's deciles
      fnlwgt: quantile           #   same as {quantile: 10}
      capital-gain: log_square   #   Criteo's rule: v > 2 -> ceil(ln(v)^2 + 1), others kept
      hours-per-week: identity   #   every distinct value is a token (rare ones -> 0, see min_count)
      score: {edges: [0, 0.5, 1]}  # bucket i = number of edges <= v (0..len(edges))
      hours: dense               #   the value itself: standardised on the training split, it scales the
                                 #   field's one learned vector (missing -> the field's missing vector)
    min_count: 5                 # categorical and identity tokens seen fewer times (whole file) -> 0
    missing: ["?", "n/a"]        # values read as missing (-> 0); empty cells always are
    sep: ","                     # csv only; the first line is the header
    split:                       # optional; default: random 8:1:1 with the split seed
      train: train.csv           #   given files (relative to this schema's folder; or --train/--valid/--test)
      valid: valid.csv
      test: test.csv
    # or  split: {column: fold, train: [a, b], valid: c, test: d}     rows split by a column's values
    # or  split: {order_by: day, ratios: [8, 1, 1]}                    time-ordered: sorted by day, then cut

With a given or time-ordered split, vocabularies (``min_count`` included), quantile edges and dense
statistics are learned from the training rows only (a token seen only in valid or test is unknown, code 0),
and there is no split seed.

Fields are the categorical columns then the numeric ones, in schema order. Unknown keys, a bad rule, a
column named twice are errors naming the key.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdbench.bench.errors import DatasetError, one_line, shorten

__all__ = [
    "DEFAULT_RULE",
    "NAME_RULE",
    "NUMERIC_RULES",
    "SPLIT_ROLES",
    "TableSchema",
    "TableSplit",
    "check_name",
    "load_schema",
    "parse_numeric_flag",
    "rule_text",
]

# Named rules (plain strings) and the mapping rules ({edges: [...]}, {quantile: K}). ``dense`` keeps the
# value as a number (a dense field); the others make tokens.
NUMERIC_RULES = ("quantile", "identity", "log_square", "dense")
QUANTILES = 10  # the bucket count of a bare ``quantile``
# A column listed without a rule (``numeric: [age, fnlwgt]``): quantile buckets suit any distribution (a
# counter, a weight, a negative score) without growing the vocabulary with the column's distinct values.
DEFAULT_RULE: dict[str, Any] = {"quantile": QUANTILES}
_RULE_HELP = "quantile, {quantile: K}, identity, log_square, dense or {edges: [increasing numbers]}"
_KEYS = {"name", "label", "positive", "categorical", "numeric", "min_count", "missing", "sep", "split"}
SPLIT_ROLES = ("train", "valid", "test")
_SPLIT_HELP = (
    "{train: FILE, valid: FILE, test: FILE}, {column: COLUMN, train: VALUES, valid: VALUES, test: VALUES} "
    "or {order_by: COLUMN, ratios: [8, 1, 1]}"
)
NAME_RULE = "1-100 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_name(name: Any, where: str) -> str:
    """``name`` if it is a valid dataset name (it becomes a file name in the cache), else a DatasetError."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        shown = shorten(repr(name), 60)
        raise DatasetError(f"{where}: dataset name {shown} must be {NAME_RULE}")
    return name


def default_name(stem: str) -> str:
    """A file stem as a dataset name: other characters become '-', cut to 100 (``my logs`` -> ``my-logs``)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).lstrip("-._")[:100]
    return name or "table"


@dataclass(frozen=True)
class TableSplit:
    """A table's split when it comes with the data: ``given`` by three files (``files``: role -> resolved
    path) or by a column's values (``column``, ``values``: role -> the values that put a row there), or
    ``time``-ordered by the column ``column`` cut at ``ratios``."""

    method: str  # "given" or "time"
    files: dict[str, str] | None = None
    column: str | None = None
    values: dict[str, list[str]] | None = None
    ratios: list[int] | None = None

    def to_mapping(self) -> dict[str, Any]:
        """The schema's ``split:`` block (files as absolute paths)."""
        if self.files is not None:
            return dict(self.files)
        if self.method == "time":
            return {"order_by": self.column, "ratios": list(self.ratios or [])}
        return {"column": self.column, **{role: list(v) for role, v in (self.values or {}).items()}}

    def protocol(self) -> dict[str, Any]:
        """The split block of the dataset's protocol: the method and its rules, not where the files are (the
        same bytes elsewhere are the same dataset; the fingerprint hashes each file's bytes)."""
        rules: dict[str, Any] = {"method": self.method}
        if self.files is not None:
            rules["from"] = "train, valid and test files"
        elif self.method == "time":
            rules.update(order_by=self.column, ratios=list(self.ratios or []), ties="file order")
        else:
            rules.update(
                column=self.column, values={role: list(v) for role, v in (self.values or {}).items()}
            )
        rules.update(order="file order within a split", learned_from="training split")
        return rules


def _split(raw: Any, where: str, base: Path | None) -> TableSplit | None:
    """The ``split:`` block, validated; relative file paths resolve against ``base`` (the schema file's
    folder), else the working directory."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not raw:
        raise DatasetError(f"{where}: 'split' must be {_SPLIT_HELP}")
    keys = set(raw)
    if "order_by" in keys:
        unknown = sorted(str(k) for k in keys - {"order_by", "ratios"})
        if unknown:
            raise DatasetError(
                f"{where}: split.{unknown[0]} is not a key of a time-ordered split (order_by, ratios)"
            )
        column = raw["order_by"]
        if not isinstance(column, str) or not column:
            raise DatasetError(f"{where}: split.order_by must name the column to sort by")
        ratios = raw.get("ratios", [8, 1, 1])
        good = isinstance(ratios, list) and len(ratios) == 3
        if not good or not all(isinstance(r, int) and not isinstance(r, bool) and r > 0 for r in ratios):
            raise DatasetError(
                f"{where}: split.ratios must be three positive whole numbers (train, valid, test), e.g. "
                f"[8, 1, 1]; got {ratios!r}"
            )
        return TableSplit("time", column=column, ratios=list(ratios))
    missing = [role for role in SPLIT_ROLES if role not in keys]
    unknown = sorted(str(k) for k in keys - {*SPLIT_ROLES, "column"})
    if unknown or missing:
        problem = f"split.{unknown[0]} is not a split key" if unknown else f"split needs {', '.join(missing)}"
        raise DatasetError(f"{where}: {problem}; 'split' must be {_SPLIT_HELP}")
    if "column" in keys:
        column = raw["column"]
        if not isinstance(column, str) or not column:
            raise DatasetError(f"{where}: split.column must name the column that says each row's split")
        values = {role: _split_values(raw[role], f"{where}: split.{role}") for role in SPLIT_ROLES}
        train, valid, test = (set(values[role]) for role in SPLIT_ROLES)
        shared = sorted(train & valid | train & test | valid & test)
        if shared:
            raise DatasetError(
                f"{where}: split value(s) {', '.join(map(repr, shared))} name more than one split"
            )
        return TableSplit("given", column=column, values=values)
    files = {}
    for role in SPLIT_ROLES:
        file = raw[role]
        if not isinstance(file, str | os.PathLike) or not str(file):
            raise DatasetError(f"{where}: split.{role} must be the {role} file's path, got {file!r}")
        path = Path(file).expanduser()
        files[role] = str((path if path.is_absolute() or base is None else base / path).resolve())
    if len(set(files.values())) < 3:
        raise DatasetError(f"{where}: split names one file for two splits; give train, valid and test files")
    return TableSplit("given", files=files)


def _split_values(raw: Any, where: str) -> list[str]:
    """A role's split values as text (cells are compared as written)."""
    values = raw if isinstance(raw, list) else [raw]
    if not values or not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in values):
        raise DatasetError(f"{where} must be a value or a list of values of the split column, got {raw!r}")
    return [str(v) for v in values]


@dataclass(frozen=True)
class TableSchema:
    """A validated schema (see the module docstring); numeric rules are normalised (``quantile`` ->
    ``{"quantile": 10}``, edges as floats), so equal schemas have equal protocols."""

    label: str
    categorical: list[str] = field(default_factory=list)
    numeric: dict[str, Any] = field(default_factory=dict)
    min_count: int = 1
    sep: str = ","
    name: str | None = None
    positive: str | None = None
    missing: list[str] = field(default_factory=list)
    split: TableSplit | None = None

    @property
    def fields(self) -> list[str]:
        return [*self.categorical, *self.numeric]

    @property
    def quantile_columns(self) -> list[str]:
        return [c for c, rule in self.numeric.items() if isinstance(rule, Mapping) and "quantile" in rule]

    @property
    def dense_columns(self) -> list[str]:
        """The numeric columns kept as numbers (rule ``dense``), in schema order."""
        return [c for c, rule in self.numeric.items() if rule == "dense"]

    def min_counts(self) -> list[int]:
        """Per field: ``min_count`` for categorical and identity fields, 1 for bucketed ones (a bucket is
        never rare by design)."""
        return [self.min_count] * len(self.categorical) + [
            self.min_count if rule == "identity" else 1 for rule in self.numeric.values()
        ]

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], where: str = "schema", base: Path | None = None
    ) -> TableSchema:
        """Validate strictly: every problem is a DatasetError naming the key. ``base``: the folder relative
        split files are read from (the schema file's), else the working directory."""
        if not isinstance(values, Mapping):
            raise DatasetError(
                f"{where} must be a mapping with keys {sorted(_KEYS)}, got {type(values).__name__}"
            )
        unknown = sorted(str(k) for k in set(values) - _KEYS)
        if unknown:
            raise DatasetError(
                f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {sorted(_KEYS)}{_hint(values)}"
            )
        label = values.get("label")
        if not isinstance(label, str) or not label:
            raise DatasetError(f"{where}: 'label' must name the label column")
        categorical = values.get("categorical") or []
        if not isinstance(categorical, list) or not all(isinstance(c, str) for c in categorical):
            raise DatasetError(f"{where}: 'categorical' must be a list of column names")
        numeric = _numeric(values.get("numeric") or {}, where)
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
        if name is not None:
            check_name(name, f"{where}: 'name'")
        split = _split(values.get("split"), where, base)
        keyed = split is not None and split.method == "given" and split.column is not None
        if keyed and split is not None and (split.column == label or split.column in fields):
            raise DatasetError(
                f"{where}: split column {split.column} is also the label or a field; a column that says "
                "each row's split is neither"
            )
        return cls(
            label,
            list(categorical),
            numeric,
            min_count,
            sep,
            name,
            _positive(values.get("positive"), where),
            _missing(values.get("missing"), where),
            split,
        )

    def to_mapping(self) -> dict[str, Any]:
        """The schema as a mapping ``from_mapping`` reads back to an equal schema (what the cache records)."""
        out: dict[str, Any] = {"label": self.label, "categorical": list(self.categorical)}
        out["numeric"] = {k: dict(v) if isinstance(v, Mapping) else v for k, v in self.numeric.items()}
        out.update(min_count=self.min_count, sep=self.sep)
        if self.name is not None:
            out["name"] = self.name
        if self.positive is not None:
            out["positive"] = self.positive
        if self.missing:
            out["missing"] = list(self.missing)
        if self.split is not None:
            out["split"] = self.split.to_mapping()
        return out

    def protocol(self, fmt: str, name: str) -> dict[str, Any]:
        """Every rule that shapes the arrays, plus the dataset's name (a renamed table is another cache
        entry, so ``data info NEWNAME`` finds it)."""
        rules: dict[str, Any] = {"format": fmt, "name": name, "label": self.label}
        rules["positive"] = "1" if self.positive is None else self.positive
        rules.update(categorical=self.categorical, numeric=self.numeric, min_count=self.min_count)
        rules["min_count_applies_to"] = "categorical and identity fields"
        rules["missing"] = {"values": ["", *self.missing], "becomes": 0}
        rules["counted_on"] = "whole file" if self.split is None else "training split"
        if self.split is not None:
            rules["split"] = self.split.protocol()
        if self.quantile_columns:
            rules["quantile_edges_from"] = "training split"
        if self.dense_columns:
            rules["dense"] = {
                "value": "(v - mean) / std, mean and std of the training split's values (std 0 -> 1)",
                "code": "1 when present, 0 when missing (value 1.0)",
            }
        if fmt == "csv":
            rules["sep"] = self.sep
        return rules


def _hint(values: Mapping[str, Any]) -> str:
    """For a top-level ``dense:`` (a rule written as a key): how to write it."""
    if "dense" not in values:
        return ""
    dense = values["dense"]
    columns = [dense] if isinstance(dense, str) else dense if isinstance(dense, list) else []
    rules = ", ".join(f"{c}: dense" for c in columns[:3]) or "COLUMN: dense"
    return f"; dense is a numeric rule: numeric: {{{rules}{', ...' if len(columns) > 3 else ''}}}"


def _numeric(raw: Any, where: str) -> dict[str, Any]:
    if isinstance(raw, list):  # ``numeric: [age, fnlwgt]``: the default rule for each
        if not all(isinstance(c, str) for c in raw):
            raise DatasetError(f"{where}: 'numeric' must list column names or map them to a rule")
        return {c: dict(DEFAULT_RULE) for c in raw}
    if not isinstance(raw, Mapping):
        raise DatasetError(f"{where}: 'numeric' must list column names or map them to a rule ({_RULE_HELP})")
    return {str(k): check_rule(v, f"{where}: numeric.{k}") for k, v in raw.items()}


def check_rule(rule: Any, where: str) -> Any:
    """A numeric rule, normalised; a DatasetError naming ``where`` otherwise."""
    if rule is None:
        return dict(DEFAULT_RULE)
    if rule == "quantile":
        return {"quantile": QUANTILES}
    if isinstance(rule, str) and rule in NUMERIC_RULES:
        return rule
    if isinstance(rule, Mapping) and set(rule) == {"edges"}:
        edges = rule["edges"]
        ok = isinstance(edges, list) and edges and all(_is_number(e) for e in edges)
        if ok and all(a < b for a, b in itertools.pairwise(edges)):
            return {"edges": [float(e) for e in edges]}
    if isinstance(rule, Mapping) and set(rule) == {"quantile"}:
        k = rule["quantile"]
        if not isinstance(k, bool) and isinstance(k, int) and 2 <= k <= 10_000:
            return {"quantile": k}
        raise DatasetError(f"{where}: quantile needs a bucket count from 2 to 10000, got {k!r}")
    raise DatasetError(f"{where}: rule must be {_RULE_HELP}, got {rule!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _positive(raw: Any, where: str) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bool):  # YAML reads yes/no/true/false as booleans
        raise DatasetError(f"{where}: 'positive' is a boolean here: quote the label value ('{raw}')")
    if isinstance(raw, int | float | str) and str(raw) != "":
        return str(raw)
    raise DatasetError(f"{where}: 'positive' must be the label value that means 1, got {raw!r}")


def _missing(raw: Any, where: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(v, str | int | float) for v in raw):
        raise DatasetError(f"{where}: 'missing' must be a list of values, e.g. ['?', 'NA']")
    return [str(v) for v in raw]


def rule_text(rule: Any) -> str:
    """A rule as one short word for tables: ``quantile 10``, ``identity``, ``dense``, ``edges 0|0.5|1``."""
    if isinstance(rule, Mapping) and "quantile" in rule:
        return f"quantile {rule['quantile']}"
    if isinstance(rule, Mapping) and "edges" in rule:
        return "edges " + "|".join(f"{e:g}" for e in rule["edges"])
    return str(rule)


def parse_numeric_flag(text: str) -> dict[str, Any]:
    """``--numeric``'s value: comma-separated ``COLUMN[:RULE]`` with RULE ``quantile``, ``quantile=K``,
    ``identity``, ``log_square``, ``dense`` or ``edges=[E1,E2,...]`` (commas inside brackets stay in the
    rule); a column without a rule gets :data:`DEFAULT_RULE`."""
    items, depth, current = [], 0, ""
    for char in text:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    rules: dict[str, Any] = {}
    for item in (i.strip() for i in items):
        if not item:
            continue
        column, _, rule = item.partition(":")
        rules[column.strip()] = _flag_rule(column.strip(), rule.strip())
    return rules


def _flag_rule(column: str, rule: str) -> Any:
    where = f"--numeric {column}"
    word, _, value = rule.partition("=")
    if not rule:
        return dict(DEFAULT_RULE)
    if word == "quantile" and value:
        try:
            return check_rule({"quantile": int(value)}, where)
        except ValueError:
            raise DatasetError(f"{where}: quantile=K needs a whole number, got {value!r}") from None
    if word == "edges":
        try:
            edges = [float(e) for e in value.strip("[]").split(",")]
        except ValueError:
            raise DatasetError(f"{where}: edges=[E1,E2,...] needs numbers, got {value!r}") from None
        return check_rule({"edges": edges}, where)
    return check_rule(rule, where)


def load_schema(schema: Any) -> TableSchema:
    """A TableSchema from a TableSchema, a mapping, or the path of a YAML file."""
    if isinstance(schema, TableSchema):
        return schema
    if isinstance(schema, Mapping):
        return TableSchema.from_mapping(schema)
    if isinstance(schema, str | os.PathLike):
        import yaml

        from kdbench.bench.data._io import shown
        from kdbench.bench.io import read_text

        path = Path(schema).expanduser()
        text = read_text(path, "schema", DatasetError, name=shown(path))
        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError as e:  # including reader errors: control characters, NUL bytes
            raise DatasetError(f"schema {shown(path)} is not valid YAML: {one_line(e)}") from e
        return TableSchema.from_mapping(values, f"schema {shown(path)}", base=path.resolve().parent)
    raise DatasetError("csv and parquet sources need a schema: --schema FILE.yaml (see docs/datasets.md)")
