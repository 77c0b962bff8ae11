"""The run's faces: a terminal table with a final verdict line, and a JSON summary for machines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from kdbench.bench._regress._compare import IMPROVED, INCOMPARABLE, NEW, REGRESSED
from kdbench.bench.errors import RegressionError

__all__ = ["final_line", "format_change", "format_value", "print_table", "write_json"]

_STYLES = {REGRESSED: "bold red", IMPROVED: "green", INCOMPARABLE: "yellow", NEW: "dim"}


def format_value(row: dict[str, Any], value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if row["kind"] == "quality" else f"{value:.4g}"


def format_change(row: dict[str, Any]) -> str:
    change = row["change"]
    if change is None:
        return "-"
    return f"{change:+.4f}" if row["kind"] == "quality" else f"{100 * change:+.1f} %"


def print_table(console: Console, rows: list[dict[str, Any]], title: str) -> None:
    """Case, figure, baseline, now, change, p, verdict; notes (why a figure was not compared) below."""
    table = Table(title=title)
    for column in ("case", "figure", "unit", "baseline", "now", "change", "p", "verdict"):
        left = column in ("case", "figure", "unit", "verdict")
        table.add_column(column, justify="left" if left else "right")
    for row in rows:
        p = "-" if row["p_value"] is None else f"{row['p_value']:.3g}"
        verdict = row["verdict"]
        style = _STYLES.get(verdict)
        table.add_row(
            row["case"], row["figure"], row["unit"], format_value(row, row["baseline"]),
            format_value(row, row["now"]), format_change(row), p,
            f"[{style}]{verdict}[/]" if style else verdict,
        )  # fmt: skip
    console.print(table)
    notes = sorted({(r["case"], r["note"]) for r in rows if r["verdict"] == INCOMPARABLE and r["note"]})
    for case, note in notes:
        console.print(f"[yellow]not compared[/]: {case}: {note}")


def final_line(summary: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """One line a CI log ends with: what regressed (case and figure), or what was compared."""
    if summary["regressions"]:
        by_key = {(r["case"], r["figure"]): r for r in rows}
        named = ", ".join(
            f"{r['case']} {r['figure']} ({format_change(by_key[(r['case'], r['figure'])])})"
            for r in summary["regressions"]
        )
        return f"REGRESSION in {named}"
    counts = summary["counts"]
    if summary["baseline"] is None:
        return f"recorded {len(rows)} figures; no baseline given, nothing compared"
    compared = sum(counts[v] for v in ("same", "improved", "info"))
    details = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    return f"no regression: {compared} of {len(rows)} figures compared with {summary['baseline']} ({details})"


def write_json(path: str | Path, document: dict[str, Any]) -> None:
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(document, indent=2, default=str) + "\n")
    except OSError as e:
        raise RegressionError(f"cannot write JSON summary {out}: {e.strerror}") from e
