"""Trials that did not finish normally: failed ones with their error, early-stopped ones with how far they
got."""

from __future__ import annotations

import pandas as pd

from kdbench.reports._format import auc, is_missing

__all__ = ["PROBLEM_COLUMNS", "problem_trials"]

PROBLEM_COLUMNS = ("trial_id", "number", "status", "reason", "detail", "student_epochs", "finished_at")


def problem_trials(trials: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Failed and stopped trials of a sweep, in trial order.

    ``reason`` is one line (the error's last non-empty line, where Python puts the message); ``detail`` the
    full error text. A stopped trial's reason says after how many student epochs the scheduler stopped it
    and its last validation AUC.
    """
    bad = trials[trials["status"].isin(["failed", "stopped"])].sort_values("number")
    rows = []
    for _, t in bad.iterrows():
        own = epochs[epochs["trial_id"] == t["trial_id"]]
        student = own[own["phase"] != "teacher_training"]
        n_student = int(student["student_epoch"].max()) if student["student_epoch"].notna().any() else 0
        if t["status"] == "failed":
            detail = "" if is_missing(t["error"]) else str(t["error"])
            reason = _last_line(detail) or "failed without an error message"
        else:
            detail = ""
            last = auc(student["valid_auc"].iloc[-1]) if len(student) else None
            reason = f"stopped early by the scheduler after {n_student} student epoch{'s' * (n_student != 1)}"
            reason += f" (last validation AUC {last})" if last else ""
        rows.append(
            {
                "trial_id": t["trial_id"],
                "number": t["number"],
                "status": t["status"],
                "reason": reason,
                "detail": detail,
                "student_epochs": n_student,
                "finished_at": t["finished_at"],
            }
        )
    return pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
