"""`kdbench --help` and argument parsing load no heavy library: they import when a command runs."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pandas", "ray", "torch", "sqlalchemy", "optuna", "plotly")


def test_building_the_parser_imports_no_heavy_library() -> None:
    code = (
        "import sys; from kdbench.bench.cli import build_parser; build_parser().format_help(); "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_command_group_is_registered() -> None:
    from kdbench.bench.cli import COMMAND_GROUPS, build_parser

    help_text = build_parser().format_help()
    for group in COMMAND_GROUPS:
        assert group in help_text
    assert "export" in help_text
