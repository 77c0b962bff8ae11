"""A stored trial's student artifact: ``--db URL --sweep NAME [--trial N | --best]``."""

from __future__ import annotations

import math
from typing import Any

from kdbench.bench.errors import UsageError

__all__ = ["stored_artifact"]

BEST_BY = "student_valid_auc"  # the sweep's own selection metric: the test split stays unseen


def stored_artifact(db: str | None, sweep: str, number: int | None = None) -> dict[str, Any]:
    """The artifact record of trial ``number`` of ``sweep`` (None: the completed trial with the best
    validation AUC among those that kept one): ``{"path", "sha256", "sweep", "trial", "trial_id",
    "student_test_auc", "student_valid_auc"}``. One-line :class:`UsageError` for a sweep or trial that does
    not exist or kept no artifact; the store's own errors for a bad database."""
    from kdbench.bench.store import ResultStore

    with ResultStore(db, create=False) as store:
        if store.get_sweep(sweep) is None:
            known = list(store.sweeps()["sweep"])[:20]
            hint = f" (sweeps: {', '.join(known)})" if known else " (it holds no sweeps)"
            raise UsageError(f"no sweep named {sweep!r} in {store.url_redacted}{hint}")
        trials = store.trials(sweep=sweep)
    if number is not None:
        row = trials[trials["number"] == number]
        if row.empty:
            numbers = ", ".join(str(int(n)) for n in trials["number"].dropna().head(20))
            raise UsageError(f"sweep {sweep!r} has no trial {number} (trials: {numbers or 'none'})")
        chosen = row.iloc[0]
        if not isinstance(chosen["artifact_path"], str):
            raise UsageError(
                f"trial {number} of sweep {sweep!r} ({chosen['status']}) kept no student artifact (it "
                "failed, ran with --no-artifacts or before kdbench kept students): pick another --trial"
            )
    else:
        kept = trials[(trials["status"] == "completed") & trials["artifact_path"].map(_is_text)]
        kept = kept[kept[BEST_BY].map(_finite)]
        if kept.empty:
            raise UsageError(f"sweep {sweep!r} has no completed trial that kept a student artifact")
        chosen = kept.sort_values([BEST_BY, "number"], ascending=[False, True]).iloc[0]
    return {
        "path": chosen["artifact_path"],
        "sha256": chosen["artifact_sha256"],
        "sweep": sweep,
        "trial": int(chosen["number"]),
        "trial_id": int(chosen["trial_id"]),
        "student_test_auc": _number(chosen["student_test_auc"]),
        "student_valid_auc": _number(chosen[BEST_BY]),
    }


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _number(value: Any) -> float | None:
    return float(value) if _finite(value) else None
