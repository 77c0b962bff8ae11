"""What a well-formed field is, in an artifact and in an export's sidecar: the checks both run before scoring.

A field has a name (text), a vocabulary size (a positive integer: rows of its embedding table, code 0
included), a rule (:mod:`kdbench.bench.serve._rules`) and, to encode raw values, a vocabulary: distinct tokens
(text or numbers; numbers under a numeric rule) no more than ``vocab size - 1`` of them, so every code the
encoder gives is a row of the table. A file that breaks one of these would score wrongly or fail deep in
pandas or onnxruntime; :func:`field_problem` names the first problem in words instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ._codes import numeric_vocabulary

__all__ = ["field_problem", "is_sha256", "rule_problem"]

_NAMED_RULES = ("token", "identity", "log_square")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_sha256(value: Any) -> bool:
    """True for 64 lowercase hex digits."""
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def rule_problem(rule: Any) -> str | None:
    """What is wrong with a field's encoding rule, or None."""
    if isinstance(rule, str):
        return None if rule in _NAMED_RULES else f"unknown rule {rule!r}"
    if not isinstance(rule, Mapping) or len(rule) != 1:
        return f"rule {rule!r} is not one of {', '.join(_NAMED_RULES)}, {{'edges': [...]}}, {{'dense': ...}}"
    if "edges" in rule:
        edges = rule["edges"]
        ok = isinstance(edges, list) and all(_number(e) and math.isfinite(e) for e in edges)
        return None if ok else "its edges rule is not a list of finite numbers"
    if "dense" in rule:
        stats = rule["dense"]
        ok = isinstance(stats, Mapping) and set(stats) == {"mean", "std"}
        ok = ok and all(_number(stats[k]) and math.isfinite(stats[k]) for k in ("mean", "std"))
        return None if ok and stats["std"] > 0 else "its dense rule lacks a finite mean and a positive std"
    return f"unknown rule {rule!r}"


def field_problem(name: Any, vocab_size: Any, rule: Any, vocabulary: Any) -> str | None:
    """What is wrong with one field (``vocabulary`` None: not checked, the caller needs none), or None."""
    if not isinstance(name, str) or not name:
        return f"field name {name!r} is not a text"
    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or vocab_size < 1:
        return f"field {name}: vocab_size {vocab_size!r} is not a positive integer"
    if (problem := rule_problem(rule)) is not None:
        return f"field {name}: {problem}"
    if vocabulary is None:
        return None
    if not isinstance(vocabulary, list):
        return f"field {name}: its vocabulary is not a list"
    if len(vocabulary) > vocab_size - 1:
        return (
            f"field {name}: its vocabulary has {len(vocabulary)} tokens, more than its vocab_size "
            f"{vocab_size} holds (codes 1..{vocab_size - 1})"
        )
    as_numbers = rule != "token" or numeric_vocabulary(vocabulary)  # how the encoder matches them
    if as_numbers and not all(_number(t) for t in vocabulary):
        return f"field {name}: rule {rule!r} needs a vocabulary of numbers"
    if not all(isinstance(t, str) or _number(t) for t in vocabulary):
        return f"field {name}: its vocabulary holds a token that is neither a text nor a number"
    keys = {float(t) for t in vocabulary} if as_numbers else {str(t) for t in vocabulary}
    if len(keys) != len(vocabulary):
        return f"field {name}: its vocabulary holds a token twice"
    return None
