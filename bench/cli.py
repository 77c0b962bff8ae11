"""The ``kdbench`` command: parse, call, print. Each command group lives in ``bench/commands/<group>.py``.

A group module exposes ``register(subparsers)``, which adds its parser(s) and sets ``func`` to a callable
taking the parsed namespace and returning an exit status. Behind each sits a plain keyword-only function
that tests call directly.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from kdbench.bench.errors import KdbenchError, Terminated

__all__ = ["build_parser", "main", "one_line"]

# Explicit registry: the order is the order of ``kdbench --help``.
COMMAND_GROUPS = ("demo", "train", "baseline", "sweep", "data", "space", "report", "regress", "db", "student")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line usage error (the default prints the whole usage block first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kdbench",
        description="Hyperparameter search and benchmarking for KD-DAGFM "
        "(teacher -> DAGFM student knowledge distillation for CTR prediction).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in COMMAND_GROUPS:
        importlib.import_module(f"kdbench.bench.commands.{group}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` (None: the program's own, ``sys.argv[1:]``); returns the exit status.

    Run as the program (``argv`` None), the objects left when the command returns are frozen
    (``gc.freeze()``) so the interpreter's last collection skips them: with PyTorch loaded that collection
    took 0.3 to 0.7 s of every command's exit. Nothing is lost: the process ends next, and reference
    counting still frees them.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return _run(args)
    finally:
        if argv is None:
            gc.freeze()


def _run(args: argparse.Namespace) -> int:
    """The parsed command's exit status: its own, or 2 (130 when interrupted) with one line on stderr."""
    try:
        return int(args.func(args) or 0)
    except KdbenchError as e:
        print(f"kdbench: error: {one_line(str(e))}", file=sys.stderr)
        return 2
    except OSError as e:  # the file system said no (disk full, permissions, a path too long): not our bug
        if os.environ.get("KDBENCH_DEBUG"):
            raise
        where = f"{e.filename}: " if e.filename else ""
        print(f"kdbench: error: {where}{one_line(e.strerror or str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print("kdbench: interrupted", file=sys.stderr)
        return 143 if isinstance(e, Terminated) else 130  # 128 + the signal, as if it had killed the process


def one_line(message: str) -> str:
    """A message folded onto one line (YAML and driver errors span several), other control characters
    (from a file name, say) escaped."""
    folded = "; ".join(part.strip() for part in message.splitlines() if part.strip()) or "unknown error"
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in folded)


if __name__ == "__main__":
    sys.exit(main())
