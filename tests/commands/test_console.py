"""Output that reads well in a log file and in a narrow terminal: no wrapped lines, no cut names."""

from __future__ import annotations

import io

from rich.console import Console

from kdbench.bench.io import output_console, table

HINT = "optuna-dashboard sqlite:////home/someone/a/rather/long/path/to/kdbench-demo/results.db"
PHASES = ("teacher_training", "distillation", "finetuning")


def test_a_log_file_gets_unbroken_lines_and_whole_tables(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # what a CI runner or a narrow shell exports
    log = io.StringIO()
    monkeypatch.setattr("sys.stdout", log)
    console = output_console()
    assert not console.is_terminal
    console.print(f"results database: {HINT} (open the study with: {HINT})")
    out = table("phase", "epochs", "valid AUC", "test AUC", "log loss", "seconds", "samples/s", "best epoch")
    for phase in PHASES:
        out.add_row(phase, "17", "0.8623", "0.8598", "0.3761", "12.3", "321,456", "12")
    console.print(out)
    text = log.getvalue()
    assert f"results database: {HINT} (open the study with: {HINT})\n" in text  # one line, copyable
    assert "…" not in text and all(phase in text for phase in PHASES)
    assert not any(line.endswith(" ") for line in text.splitlines())  # no padding left at line ends


def test_a_narrow_terminal_folds_table_cells_instead_of_cutting_them():
    console = Console(file=io.StringIO(), width=40, force_terminal=True, color_system=None)
    out = table("phase", "epochs", "valid AUC", "test AUC", "samples/s", numeric=("epochs",))
    out.add_row("teacher_training", "17", "0.8623", "0.8598", "321,456")
    console.print(out)
    text = console.file.getvalue()
    assert "…" not in text
    body = [line.split("│") for line in text.splitlines() if line.startswith("│")]
    # folded over lines, every character kept
    assert "".join(cells[1].strip() for cells in body) == "teacher_training"
    assert "".join(cells[5].strip() for cells in body) == "321,456"
