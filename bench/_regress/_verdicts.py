"""A whole run against its baseline: one row per (case, figure) with its verdict, and the run's summary.

Rows are plain dicts, the shape stored as regression cases and read by the report site::

    {"case", "figure", "kind", "unit", "higher_is_better", "baseline", "now", "change", "verdict",
     "p_value", "threshold", "seeds", "values", "baseline_values", "raw_unit", "raw_values",
     "baseline_raw_values", "note"}

``baseline``/``now`` are seed means (speed: trimmed means of ratios to the reference workload, see
``_compare``); ``change`` is ``now - baseline`` for quality and ``now / baseline - 1`` for speed and memory;
``threshold`` is the smallest change that could have been flagged, in the same units as ``change``. A baseline
case is not comparable when it ran another config or dataset (every figure) or on another kind of device
(speed figures).
"""

from __future__ import annotations

import math
from typing import Any

from kdbench.bench._regress._baseline import FORMAT, Baseline
from kdbench.bench._regress._compare import INCOMPARABLE, NEW, REGRESSED, VERDICTS, compare
from kdbench.bench._regress._figures import FIGURES, RULES, Rule
from kdbench.bench._regress._run import CaseMeasurement, SuiteMeasurement

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_REGRESSED", "exit_status", "run_summary", "verdict_rows"]

EXIT_OK, EXIT_REGRESSED, EXIT_FAILED = 0, 1, 2


def verdict_rows(
    now: SuiteMeasurement, baseline: Baseline | None, rules: dict[str, Rule] = RULES
) -> list[dict[str, Any]]:
    """One row per (case, figure) of ``now``, compared with ``baseline`` where it has the same case, under
    ``rules`` by figure name or else by figure kind (:data:`RULES`; ``regress ab`` uses :data:`AB_RULES`)."""
    rows = []
    for case in now.cases:
        base_case = baseline.measurement.case(case.name) if baseline else None
        case_note = _case_mismatch(case, base_case) if base_case else None
        for name, values in case.figures.items():
            figure = FIGURES[name]
            rule = rules.get(name) or rules[figure.kind]
            row: dict[str, Any] = {
                "case": case.name, "figure": name, "kind": figure.kind, "unit": figure.unit,
                "higher_is_better": figure.higher_is_better, "baseline": None, "now": _mean(values),
                "change": None, "verdict": NEW, "p_value": None, "threshold": None, "seeds": case.seeds,
                "values": values, "baseline_values": None, "raw_unit": figure.raw_unit,
                "raw_values": case.raw.get(name), "baseline_raw_values": None, "note": None,
            }  # fmt: skip
            base_values = base_case.figures.get(name) if base_case else None
            note = case_note or (_device_mismatch(now, baseline) if figure.kind == "speed" else None)
            if baseline is None:
                row["note"] = "no baseline given"
            elif not base_values:
                row["note"] = f"not in baseline {baseline.label}"
            elif note:
                row.update(verdict=INCOMPARABLE, note=note, baseline=_mean(base_values))
            else:
                paired = rule.paired and base_case is not None and base_case.seeds == case.seeds
                result = compare(
                    base_values, values, rule, higher_is_better=figure.higher_is_better, paired=paired
                )
                threshold = math.expm1(result.threshold) if rule.relative else result.threshold
                row.update(
                    baseline=result.baseline, now=result.now, change=result.change, verdict=result.verdict,
                    p_value=result.p_value, threshold=threshold, baseline_values=base_values,
                    baseline_raw_values=base_case.raw.get(name) if base_case else None,
                )  # fmt: skip
            rows.append(row)
    return rows


def exit_status(rows: list[dict[str, Any]]) -> int:
    """1 when any figure regressed, else 0 (a failed run never gets here: it raised, exit 2)."""
    return EXIT_REGRESSED if any(r["verdict"] == REGRESSED for r in rows) else EXIT_OK


def run_summary(
    now: SuiteMeasurement, rows: list[dict[str, Any]], baseline: Baseline | None
) -> dict[str, Any]:
    """The run's summary as stored (``summary`` of the regression run) and printed as JSON."""
    status = exit_status(rows)
    regressions = [
        {"case": r["case"], "figure": r["figure"], "change": r["change"], "p_value": r["p_value"]}
        for r in rows
        if r["verdict"] == REGRESSED
    ]
    return {
        "format": FORMAT,
        "suite": now.suite,
        "status": "no baseline" if baseline is None else "regressed" if status else "passed",
        "exit_status": status,
        "regressions": regressions,
        "counts": {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS},
        "baseline": baseline.label if baseline else None,
        "baseline_git_sha": baseline.git_sha if baseline else None,
        "measurement": {
            "suite": now.suite,
            "suite_hash": now.suite_hash,
            "device": now.device,
            "threads": now.threads,
            "wall_seconds": now.wall_seconds,
        },
        "cases": {c.name: _case_meta(c) for c in now.cases},
    }


def _case_meta(case: CaseMeasurement) -> dict[str, Any]:
    return {
        "dataset": case.dataset, "dataset_fingerprint": case.dataset_fingerprint, "config": case.config,
        "config_family": case.config_family, "seeds": case.seeds, "reference_ms": case.reference_ms,
        "wall_seconds": case.wall_seconds,
    }  # fmt: skip


def _case_mismatch(now: CaseMeasurement, base: CaseMeasurement) -> str | None:
    if now.config_family != base.config_family:
        return "the baseline ran another config of this case: regenerate the baseline"
    if now.dataset_fingerprint != base.dataset_fingerprint:
        return (
            f"the baseline ran on other data (fingerprint {base.dataset_fingerprint}, now "
            f"{now.dataset_fingerprint}): regenerate the baseline"
        )
    return None


def _device_mismatch(now: SuiteMeasurement, baseline: Baseline | None) -> str | None:
    if baseline is not None and baseline.measurement.device != now.device:
        return f"speed on {now.device} is not comparable with the baseline's on {baseline.measurement.device}"
    return None


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)
