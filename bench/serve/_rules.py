"""How a dataset's raw values become per-field codes: one rule per field, as the serving sidecar states it.

Rules (what ``kdbench.bench.data`` applied when it prepared the cache):

- ``"token"``: the value itself is the token (ml-100k, Avazu, Criteo's C fields, table categoricals);
- ``"identity"``, ``"log_square"``, ``{"edges": [...]}``: a table's or Criteo's numeric column, parsed as a
  number and mapped by ``bench.data``'s own function (``numeric_tokens``); a table's ``quantile`` rule is
  written as the ``edges`` it learned from the training split, so the sidecar needs nothing else.

The token is then looked up in the field's vocabulary (code = position + 1); anything else is 0.
``missing``: raw texts that mean "no value" (code 0, not an unseen value).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["encoding_of", "field_rules", "missing_values"]

_TABLES = ("csv", "parquet")


def field_rules(dataset: Any) -> list[Any]:
    """Per field of ``dataset`` (a ``kdbench.bench.data.Dataset``), its rule (see the module docstring)."""
    names, source = list(dataset.field_names), getattr(dataset, "source", None)
    if source == "criteo":
        from kdbench.bench.data._criteo import INTEGER_FIELDS

        return ["log_square" if name in INTEGER_FIELDS else "token" for name in names]
    if source not in _TABLES:
        return ["token"] * len(names)
    numeric = dataset.protocol.get("numeric") or {}
    edges = _learned_edges(dataset)
    rules: list[Any] = []
    for name in names:
        rule = numeric.get(name, "token")
        if isinstance(rule, Mapping) and "quantile" in rule:
            rule = {"edges": [float(e) for e in edges.get(name, [])]}
        elif isinstance(rule, Mapping):
            rule = {"edges": [float(e) for e in rule["edges"]]}
        rules.append(rule)
    return rules


def _learned_edges(dataset: Any) -> dict[str, list[float]]:
    """The quantile edges the entry learned (``meta.json``: ``learned.quantile_edges``)."""
    if getattr(dataset, "path", None) is None:
        return {}
    meta = json.loads((dataset.path / "meta.json").read_text())
    return dict((meta.get("learned") or {}).get("quantile_edges") or {})


def missing_values(dataset: Any) -> list[str]:
    """Raw texts that mean missing: the empty text, plus a table schema's ``missing`` values."""
    missing = (getattr(dataset, "protocol", None) or {}).get("missing")
    listed = missing.get("values", []) if isinstance(missing, Mapping) else []
    return ["", *(str(v) for v in listed if v != "")]


def encoding_of(dataset: Any) -> dict[str, Any]:
    """What the artifact and the sidecar carry about encoding: ``{"rules": [...], "missing": [...]}``."""
    return {"rules": field_rules(dataset), "missing": missing_values(dataset)}
