"""The default configuration as a reference: a warm-started sweep's first trial, and how its best compares.

A sweep made with a warm start records ``settings["warm_start"]`` (``source``, ``config``, ``config_hash``,
``params``, ``changes``); its warm-start trial is the sweep's trial with that ``config_hash`` (the lowest
number if several). Only a completed warm-start trial with a student validation AUC is *the default's
result*: a stopped, failed or running one is named, never drawn or compared. Sweeps without a warm start
(``--no-warm-start``, older sweeps) have no reference, and every function here says so with ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import pandas as pd

from kdbench.reports._curves import top_trials
from kdbench.reports._format import auc, is_missing, signed
from kdbench.reports._history import ReferenceLine
from kdbench.reports._objective import Objective

__all__ = [
    "Reference",
    "VsDefault",
    "WarmStart",
    "default_reference",
    "reference_line",
    "reference_note",
    "vs_default",
    "warm_start_of",
    "warm_start_trial",
]

_VALID, _TEST = "student_valid_auc", "student_test_auc"
_NOT_A_RESULT = {
    "stopped": "was stopped early",
    "failed": "failed",
    "running": "is still running",
    "completed": "completed without a validation AUC",
}


class WarmStart(NamedTuple):
    source: str  # "the ml-100k recipe", "the trial-config defaults"
    config_hash: str
    changes: tuple[str, ...]  # how the default was fitted to the space; may be empty


class Reference(NamedTuple):
    """The warm-start trial: AUCs are ``None`` where not recorded."""

    trial_id: int
    number: int
    status: str
    valid_auc: float | None
    test_auc: float | None

    @property
    def label(self) -> str:
        return f"default configuration (trial {self.number})"


class VsDefault(NamedTuple):
    """The sweep's best trial by student validation AUC against the default's result."""

    best_number: int
    delta: float | None  # best's student test AUC minus the default's; None where either has none
    reference: Reference

    @property
    def is_default(self) -> bool:
        return self.best_number == self.reference.number

    @property
    def delta_text(self) -> str:
        """``+0.0067``, ``-0.0012`` (never ``-0.0000``); an em dash without a delta."""
        return signed(None if self.delta is None else round(self.delta, 4) or 0.0)

    @property
    def text(self) -> str:
        """``best: +0.0067 test AUC over the default configuration (trial 0, test AUC 0.8643)``."""
        ref = self.reference
        if self.is_default:
            return f"the default configuration (trial {ref.number}) is the best trial"
        if self.delta is None:
            return (
                f"best: trial {self.best_number}; its test AUC cannot be compared with the default "
                f"configuration's (trial {ref.number}, test AUC {auc(ref.test_auc)})"
            )
        return (
            f"best: {self.delta_text} test AUC over the default configuration "
            f"(trial {ref.number}, test AUC {auc(ref.test_auc)})"
        )


def warm_start_of(settings: Any) -> WarmStart | None:
    """The warm start a sweep's ``settings`` record, or ``None`` (no settings, no or a null ``warm_start``,
    or one without a config hash)."""
    if not isinstance(settings, Mapping):
        return None
    warm = settings.get("warm_start")
    if not isinstance(warm, Mapping) or not isinstance(warm.get("config_hash"), str):
        return None
    changes = warm.get("changes")
    return WarmStart(
        source=str(warm.get("source") or "the default configuration"),
        config_hash=warm["config_hash"],
        changes=tuple(str(c) for c in changes) if isinstance(changes, (list, tuple)) else (),
    )


def warm_start_trial(settings: Any, trials: pd.DataFrame) -> Reference | None:
    """The sweep's warm-start trial in whatever status, or ``None`` (no warm start, or no trial with its
    config hash yet). ``trials``: the sweep's rows of ``ResultStore.trials()``."""
    warm = warm_start_of(settings)
    if warm is None or trials.empty:
        return None
    matches = trials[trials["config_hash"] == warm.config_hash]
    if matches.empty:
        return None
    row = matches.sort_values(["number", "trial_id"]).iloc[0]
    return Reference(
        trial_id=int(row["trial_id"]),
        number=int(row["number"]),
        status=str(row["status"]),
        valid_auc=_float(row.get(_VALID)),
        test_auc=_float(row.get(_TEST)),
    )


def default_reference(settings: Any, trials: pd.DataFrame) -> Reference | None:
    """The default's result: the warm-start trial if it completed with a student validation AUC, else
    ``None``."""
    trial = warm_start_trial(settings, trials)
    if trial is None or trial.status != "completed" or trial.valid_auc is None:
        return None
    return trial


def vs_default(trials: pd.DataFrame, reference: Reference | None) -> VsDefault | None:
    """The best completed trial by student validation AUC (lowest number on ties) against ``reference``;
    ``None`` without a reference."""
    if reference is None:
        return None
    scored = trials[(trials["status"] == "completed") & trials[_VALID].notna()]
    if scored.empty:  # trials that are not the reference's sweep's
        return None
    best_id = top_trials(scored, _VALID, True, 1)[0]  # the reference itself is among them
    best = scored[scored["trial_id"] == best_id].iloc[0]
    test = _float(best.get(_TEST))
    delta = None if test is None or reference.test_auc is None else test - reference.test_auc
    return VsDefault(int(best["number"]), delta, reference)


def reference_note(settings: Any, trials: pd.DataFrame) -> str | None:
    """The sweep page's sentence about its default configuration: the comparison when the default has a
    result, else what became of it; ``None`` for a sweep without a warm start."""
    warm = warm_start_of(settings)
    if warm is None:
        return None
    trial = warm_start_trial(settings, trials)
    if trial is None:
        return f"the default configuration (config {warm.config_hash[:12]}) has no trial in this sweep yet"
    comparison = vs_default(trials, default_reference(settings, trials))
    if comparison is not None:
        return comparison.text
    what = _NOT_A_RESULT.get(trial.status, f"is {trial.status}")
    return f"the default configuration (trial {trial.number}) {what}: no reference to compare with"


def reference_line(
    reference: Reference | None, trials: pd.DataFrame, objective: Objective
) -> ReferenceLine | None:
    """The default's value of ``objective.metric`` for the optimisation-history figures, or ``None``
    (no reference, or the default trial has no value for that metric)."""
    if reference is None or objective.metric not in trials.columns:
        return None
    own = trials.loc[trials["trial_id"] == reference.trial_id, objective.metric]
    value = _float(own.iloc[0]) if len(own) else None
    return None if value is None else ReferenceLine(value, reference.label)


def _float(value: Any) -> float | None:
    return None if is_missing(value) else float(value)
