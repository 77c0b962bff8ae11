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


def test_the_program_freezes_its_objects_before_exit_but_a_caller_of_main_keeps_them() -> None:
    # Run as the program (argv from sys.argv), main() freezes what is left so the interpreter's last
    # collection skips it (0.3 to 0.7 s of exit with PyTorch loaded); called with argv (tests, benchmarks,
    # other programs) it leaves the caller's collector alone.
    code = (
        "import gc, sys; from kdbench.bench.cli import main\n"
        "assert main(['space', 'show', 'ci']) == 0 and gc.get_freeze_count() == 0\n"
        "sys.argv = ['kdbench', 'space', 'show', 'ci']; code = main()\n"
        "print(code, gc.get_freeze_count() > 0, file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip().splitlines()[-1] == "0 True"
