"""How a dataset's raw values become per-field codes: one rule per field, as the serving sidecar states it.

Rules (what ``kdbench.bench.data`` applied when it prepared the cache):

- ``"token"``: the value itself is the token (ml-100k, Avazu, Criteo's C fields, table categoricals);
- ``"identity"``, ``"log_square"``, ``{"edges": [...]}``: a table's or Criteo's numeric column, parsed as a
  number and mapped by ``kdbench.bench.data``'s own function (``numeric_tokens``); a table's ``quantile`` rule
  is written as the ``edges`` it learned from the training split, so the sidecar needs nothing else;
- ``{"dense": {"mean": m, "std": s}}``: a table's dense column. The code is 1 when the value is a number
  (0 when missing), and the model's second input ``dense`` takes ``(v - m) / s`` (1.0 when the code is 0):
  the mean and std the entry learned from the training split.

The token is then looked up in the field's vocabulary (code = position + 1); anything else is 0.
``missing``: raw texts that mean "no value" (code 0, not an unseen value).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from kdbench.bench.errors import DatasetError

__all__ = ["dense_field_indices", "encoding_of", "field_rules", "is_dense", "missing_values"]

_TABLES = ("csv", "parquet")


def field_rules(dataset: Any) -> list[Any]:
    """Per field of ``dataset`` (a ``kdbench.bench.data.Dataset``), its rule (see the module docstring)."""
    names, source = list(dataset.field_names), getattr(dataset, "source", None)
    if source == "criteo":
        from kdbench.bench.data import INTEGER_FIELDS

        return ["log_square" if name in INTEGER_FIELDS else "token" for name in names]
    if source not in _TABLES:
        return ["token"] * len(names)
    numeric = dataset.protocol.get("numeric") or {}
    learned = _learned(dataset)
    edges = dict(learned.get("quantile_edges") or {})
    stats = dict(learned.get("dense") or {})
    rules: list[Any] = []
    for name in names:
        rule = numeric.get(name, "token")
        if rule == "dense":
            rule = {"dense": _dense_stats(dataset, name, stats.get(name))}
        elif isinstance(rule, Mapping) and "quantile" in rule:
            rule = {"edges": [float(e) for e in edges.get(name, [])]}
        elif isinstance(rule, Mapping):
            rule = {"edges": [float(e) for e in rule["edges"]]}
        rules.append(rule)
    return rules


def _dense_stats(dataset: Any, name: str, stats: Any) -> dict[str, float]:
    """A dense field's learned ``{"mean", "std"}``; without them (an entry whose ``meta.json`` lost them) the
    raw values would be served unstandardised, so a DatasetError names the field and the fix."""
    try:
        mean, std = float(stats["mean"]), float(stats["std"])
    except (KeyError, TypeError, ValueError):
        mean = std = float("nan")
    if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
        raise DatasetError(
            f"dataset {getattr(dataset, 'name', '?')}: dense field {name} has no learned mean and std "
            f"(learned.dense in its cache entry's meta.json): prepare it again"
        )
    return {"mean": mean, "std": std}


def _learned(dataset: Any) -> dict[str, Any]:
    """What the entry learned from its training split (``meta.json``: ``learned``): ``quantile_edges``
    and dense ``mean``/``std`` per column."""
    if getattr(dataset, "path", None) is None:
        return {}
    meta = json.loads((dataset.path / "meta.json").read_text())
    return dict(meta.get("learned") or {})


def is_dense(rule: Any) -> bool:
    """True for a dense field's rule (``{"dense": {"mean", "std"}}``)."""
    return isinstance(rule, Mapping) and "dense" in rule


def dense_field_indices(rules: Any) -> list[int]:
    """The indices of the dense fields among per-field ``rules`` (in field order: the order of the model's
    ``dense`` input)."""
    return [f for f, rule in enumerate(rules or []) if is_dense(rule)]


def missing_values(dataset: Any) -> list[str]:
    """Raw texts that mean missing: the empty text, plus a table schema's ``missing`` values."""
    missing = (getattr(dataset, "protocol", None) or {}).get("missing")
    listed = missing.get("values", []) if isinstance(missing, Mapping) else []
    return ["", *(str(v) for v in listed if v != "")]


def encoding_of(dataset: Any) -> dict[str, Any]:
    """What the artifact and the sidecar carry about encoding: ``{"rules": [...], "missing": [...]}``."""
    return {"rules": field_rules(dataset), "missing": missing_values(dataset)}
