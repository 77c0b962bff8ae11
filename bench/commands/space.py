"""`kdbench space` (not built yet)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Placeholder until the space command group lands: adds nothing."""
