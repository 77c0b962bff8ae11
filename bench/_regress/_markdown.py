"""The run as a Markdown summary: a compact table for a CI job page or a pull-request comment.

One row per (case, figure): case, figure, baseline (``base`` in an A/B run), now (``head``), change with its
direction, the noise threshold that a change had to beat, and the verdict; regressions first, then
improvements, then the rest in the run's order. Figures that could not be compared are listed under the table
with the reason; the run's last line (:func:`~kdbench.bench._regress._output.final_line`) closes it. A failed
run (exit 2) gets a summary of its own that says why (:func:`failed_markdown`).
"""

from __future__ import annotations

from typing import Any

from kdbench.bench._regress._compare import IMPROVED, INCOMPARABLE, INFO, REGRESSED
from kdbench.bench._regress._output import final_line, format_change, format_value

__all__ = ["failed_markdown", "format_threshold", "run_markdown", "sorted_rows"]

_ORDER = {REGRESSED: 0, IMPROVED: 1}


def sorted_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Regressions first, then improvements, then the rest; the run's order within each group."""
    return sorted(rows, key=lambda r: _ORDER.get(r["verdict"], 2))


def format_threshold(row: dict[str, Any]) -> str:
    """The smallest change that could have been flagged: ``±0.0010`` (quality), ``±30.0 %`` (speed); ``-``
    where nothing was judged (no baseline value, or an ``info`` figure)."""
    threshold = row["threshold"]
    if threshold is None or row["verdict"] == INFO:
        return "-"
    return f"±{threshold:.4f}" if row["kind"] == "quality" else f"±{100 * threshold:.1f} %"


def run_markdown(
    summary: dict[str, Any], rows: list[dict[str, Any]], *, title: str, labels: tuple[str, str], about: str
) -> str:
    """The summary of a finished run. ``labels`` name the two value columns (``baseline``/``now``, or
    ``base``/``head``); ``about`` is a line under the title (what was compared with what, and how)."""
    before, after = labels
    lines = [f"### {_cell(title)}", "", about, ""]
    lines += [
        f"| case | figure | {before} | {after} | change | noise threshold | verdict |",
        "|---|---|--:|--:|--:|--:|---|",
    ]
    for row in sorted_rows(rows):
        values = (format_value(row, row["baseline"]), format_value(row, row["now"]))
        shown = (row["case"], row["figure"], *values, _change(row), format_threshold(row), row["verdict"])
        cells = [_cell(c) for c in shown]
        if row["verdict"] == REGRESSED:
            cells[-1] = f"**{cells[-1]}**"
        lines.append("| " + " | ".join(cells) + " |")
    notes = sorted({(r["case"], r["note"]) for r in rows if r["verdict"] == INCOMPARABLE and r["note"]})
    if notes:
        lines.append("")
        lines += [f"- not compared: {_cell(case)}: {_cell(note)}" for case, note in notes]
    lines += ["", f"**{_cell(final_line(summary, rows))}**", ""]
    return "\n".join(lines)


def failed_markdown(title: str, error: str) -> str:
    """The summary of a run that failed (exit 2): no verdicts, the one-line reason."""
    return f"### {_cell(title)}\n\n**the run failed**: {_cell(error)}\n"


def _change(row: dict[str, Any]) -> str:
    text = format_change(row)
    if row["change"] is None or row["verdict"] not in (REGRESSED, IMPROVED):
        return text
    return f"{text} ({'worse' if row['verdict'] == REGRESSED else 'better'})"


def _cell(value: Any) -> str:
    """One table cell or line: Markdown's own characters escaped, no line breaks."""
    text = " ".join(str(value).split())
    for char in ("\\", "|", "*", "_", "`", "<", ">", "[", "]"):
        text = text.replace(char, "\\" + char)
    return text
