"""What one baseline fit leaves behind: metrics, chosen hyperparameters, cost and provenance."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from kdbench.bench.errors import BaselineError

__all__ = ["MODELS", "BaselineResult"]

MODELS = ("lr", "gbdt")  # logistic regression on one-hot codes; histogram gradient boosting


@dataclass(frozen=True)
class BaselineResult:
    """One baseline model fitted on a dataset's train split, chosen on its valid split, scored on its test.

    ``model``: ``"lr"`` or ``"gbdt"``. ``params``: the hyperparameters chosen (and how), JSON-serialisable.
    AUCs are NaN where a split holds one class only. Latencies (ms) are medians of scoring encoded codes,
    features built included, on ``latency_threads`` threads, at batch 1 and 4096. ``versions``: the
    libraries that fitted it.
    """

    model: str
    dataset_fingerprint: str
    valid_auc: float
    valid_logloss: float
    test_auc: float
    test_logloss: float
    params: dict[str, Any]
    fit_seconds: float
    latency_ms_b1: float
    latency_ms_b4096: float
    versions: dict[str, str]
    seed: int
    latency_threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> BaselineResult:
        """The result :meth:`to_dict` gave; :class:`BaselineError` naming every missing, unknown or mistyped
        key (a metric may be NaN or None, which reads as NaN)."""
        if not isinstance(data, dict):
            raise BaselineError(f"a baseline result must be a mapping, got {type(data).__name__}")
        known = {f.name: f for f in fields(cls)}
        problems = [f"unknown key {k!r}" for k in data if k not in known]
        problems += [
            f"missing key {k!r}" for k, f in known.items() if k not in data and f.name != "latency_threads"
        ]
        values = {}
        for key, value in data.items():
            if key not in known:
                continue
            kind = _KINDS[key]
            if kind is float and value is None:
                value = math.nan
            ok = isinstance(value, kind) and not isinstance(value, bool)
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value, ok = float(value), True
            if not ok:
                problems.append(f"{key!r} must be {kind.__name__}, got {type(value).__name__}")
            values[key] = value
        if not problems and values["model"] not in MODELS:
            problems.append(f"'model' must be one of {', '.join(MODELS)}, got {values['model']!r}")
        if problems:
            raise BaselineError(f"malformed baseline result: {'; '.join(problems)}")
        return cls(**values)


_KINDS: dict[str, type] = {
    "model": str,
    "dataset_fingerprint": str,
    "valid_auc": float,
    "valid_logloss": float,
    "test_auc": float,
    "test_logloss": float,
    "params": dict,
    "fit_seconds": float,
    "latency_ms_b1": float,
    "latency_ms_b4096": float,
    "versions": dict,
    "seed": int,
    "latency_threads": int,
}
