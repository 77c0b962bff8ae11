"""Raw values -> per-field codes, through the vocabularies and rules an artifact carries (0 = unknown).

Reproduces the cache's codes: a value the dataset's rules (:mod:`kdbench.bench.serve._rules`) turn into token
``t`` gets ``t``'s code; a missing value (null, the empty text, a schema's ``missing`` text) gets 0 as in the
cache; a value whose token is not in the vocabulary (unseen in training, or rarer than ``min_count``) gets 0
and is counted as unseen. A field with a numeric rule (``identity``, ``log_square``, edges, dense) also reads
the text ``nan`` (any case, spaces ignored) as missing, as the cache's parser does. A dense field (rule
``{"dense": ...}``) gets code 1 for a finite number, 0 for a missing value (a present value that is not a
finite number: 0, counted as unseen); the same parse gives its value for the model's ``dense`` input
(:func:`encode_frame`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from kdbench.bench.errors import UsageError

from ._rules import dense_field_indices, is_dense

__all__ = ["encode_frame", "encode_rows", "numeric_vocabulary"]

_NAN = ("nan", "+nan", "-nan")  # what Arrow's float parser (the cache's) reads as NaN, lower-cased


def encode_rows(
    frame: pd.DataFrame,
    fields: Sequence[str],
    vocabularies: Sequence[Sequence[Any]],
    rules: Sequence[Any] | None = None,
    missing: Sequence[str] = ("",),
) -> tuple[np.ndarray, dict[str, int]]:
    """``frame``'s columns ``fields`` as int64 codes ``(rows, fields)``, and per field the unseen values
    (:func:`encode_frame` without the dense values)."""
    codes, _, unseen = encode_frame(frame, fields, vocabularies, rules, missing)
    return codes, unseen


def encode_frame(
    frame: pd.DataFrame,
    fields: Sequence[str],
    vocabularies: Sequence[Sequence[Any]],
    rules: Sequence[Any] | None = None,
    missing: Sequence[str] = ("",),
) -> tuple[np.ndarray, np.ndarray | None, dict[str, int]]:
    """``frame``'s int64 codes ``(rows, fields)``, the model's ``dense`` input ``(rows, dense fields)``
    float32 (None when no rule is dense) and per field the unseen values; each column is parsed once.

    ``rules``: per field (default: every field ``"token"``). A ``"token"`` field with a text vocabulary
    matches values as text (a whole float ``7.0`` from a typed file matches ``"7"``); with a numeric
    vocabulary (ml-100k's weekday, a bucketed column) it matches them as numbers, as do the numeric rules.
    A dense field's value is ``(v - mean) / std`` where its code is 1, else 1.0, computed by the cache's own
    function, so a raw value gets its training value exactly. Raises :class:`UsageError` naming the fields
    ``frame`` lacks.
    """
    absent = [name for name in fields if name not in frame.columns]
    if absent:
        raise UsageError(
            f"the input lacks the model's field(s) {', '.join(absent)}: it needs the columns "
            f"{', '.join(fields)} (raw values, as the dataset's own columns)"
        )
    rules = list(rules) if rules is not None else ["token"] * len(fields)
    listed = {str(m).strip() for m in missing if str(m) != ""}
    codes = np.zeros((len(frame), len(fields)), dtype=np.int64)
    dense_fields = dense_field_indices(rules)
    dense = np.empty((len(frame), len(dense_fields)), dtype=np.float32) if dense_fields else None
    unseen: dict[str, int] = {}
    for f, (name, tokens, rule) in enumerate(zip(fields, vocabularies, rules, strict=True)):
        column = frame[name].astype(object)
        present = ~_missing(column, listed).to_numpy()
        if rule == "token" and not numeric_vocabulary(tokens):
            keys = column.where(present, None).map(_text, na_action="ignore")
            index = pd.Index([str(t) for t in tokens], dtype=object).get_indexer(keys.to_numpy(object))
        else:
            numbers = _numbers(column, present)
            if rule != "token":  # a numeric rule: the text "nan" is missing, as in the cache
                present &= ~_nan_text(column)
            if is_dense(rule):
                values = cast(np.ndarray, dense)  # a dense rule: dense_fields is not empty, dense is an array
                index, values[:, dense_fields.index(f)] = _dense(numbers, present, tokens, rule["dense"])
            else:
                if rule != "token":
                    numbers = _numeric_tokens(numbers, rule)
                index = pd.Index(np.asarray(tokens, dtype=np.float64)).get_indexer(numbers)
        index = np.where(present, index, -1)
        codes[:, f] = index + 1  # get_indexer: -1 when absent -> code 0
        unseen[name] = int((present & (index < 0)).sum())
    return codes, dense, unseen


def _dense(
    numbers: np.ndarray, present: np.ndarray, tokens: Sequence[Any], stats: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """A dense field's vocabulary index (0: a finite present number, in a field that saw one in training;
    -1 otherwise) and its ``(rows,)`` float32 values (standardised where the index is 0, else 1.0)."""
    from kdbench.bench.data import MISSING_DENSE, standardise

    index = np.where(present & np.isfinite(numbers) & (len(tokens) > 0), 0, -1)
    scaled = standardise(numbers, float(stats["mean"]), float(stats["std"]))
    return index, np.where(index == 0, scaled, np.float32(MISSING_DENSE))


def _numbers(column: pd.Series, present: np.ndarray) -> np.ndarray:
    """``(rows,)`` float64: the present values read as numbers (spaces ignored), NaN for the others."""
    return pd.to_numeric(column.where(present, None), errors="coerce").to_numpy(np.float64)


def _nan_text(column: pd.Series) -> np.ndarray:
    """True where the value is the text ``nan`` (any case, a sign, spaces): the cache reads it as missing."""
    return np.array([isinstance(v, str) and v.strip().lower() in _NAN for v in column], dtype=bool)


def numeric_vocabulary(tokens: Sequence[Any]) -> bool:
    """True when the vocabulary's tokens are numbers (matched as numbers, not as text)."""
    return bool(tokens) and all(
        isinstance(t, (int, float, np.integer, np.floating)) and not isinstance(t, bool) for t in tokens
    )


def _missing(column: pd.Series, listed: set[str]) -> pd.Series:
    """Null, NaN, the empty text, or (spaces ignored) one of a schema's ``missing`` texts."""
    blank = [isinstance(v, str) and (v == "" or v.strip() in listed) for v in column]
    return column.isna() | pd.Series(blank, index=column.index, dtype=bool)


def _numeric_tokens(values: np.ndarray, rule: Any) -> np.ndarray:
    """A numeric rule applied by ``kdbench.bench.data``'s own function (the cache's codes exactly); NaN
    stays."""
    from kdbench.bench.data import numeric_tokens

    return numeric_tokens(values, rule).to_numpy(zero_copy_only=False).astype(np.float64)


def _text(value: Any) -> str:
    # A typed file's float column that holds whole numbers (a column with gaps) maps 7.0 -> "7".
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)
