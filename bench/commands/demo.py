"""`kdbench demo` (not built yet)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Placeholder until the demo command group lands: adds nothing."""
