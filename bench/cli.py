"""The ``kdbench`` command: parse, call, print. Each command group lives in ``bench/commands/<group>.py``.

A group module exposes ``register(subparsers)``, which adds its parser(s) and sets ``func`` to a callable
taking the parsed namespace and returning an exit status. Behind each sits a plain keyword-only function
that tests call directly.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bench.errors import KdbenchError

__all__ = ["build_parser", "main"]

# Explicit registry: the order is the order of ``kdbench --help``.
COMMAND_GROUPS = ("demo", "train", "sweep", "data", "space", "report", "regress", "db")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kdbench",
        description="Hyperparameter search and benchmarking for KD-DAGFM "
        "(teacher -> DAGFM student knowledge distillation for CTR prediction).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in COMMAND_GROUPS:
        importlib.import_module(f"bench.commands.{group}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KdbenchError as e:
        print(f"kdbench: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kdbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
