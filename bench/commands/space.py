"""``kdbench space``: show a search space as a table, or print random configs drawn from it.

Spaces are loaded with the trial config's keys as the only valid ones, and every sampled config is checked by
:meth:`TrialConfig.from_dict`, so a space that would fail in a sweep fails here first.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import TextIO

import search_spaces
from bench.config import TrialConfig
from bench.errors import SearchSpaceError

__all__ = ["load", "register", "sample", "show"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "space",
        help="show or sample a search space",
        description="Inspect search spaces: a packaged name ("
        + ", ".join(search_spaces.available_spaces())
        + ") or a YAML file.",
    )
    sub = p.add_subparsers(dest="space_command", metavar="SUBCOMMAND", required=True)

    s = sub.add_parser("show", help="print a space as a table (or its YAML source)")
    s.add_argument("name", metavar="NAME", help="packaged space name or YAML file")
    s.add_argument("--yaml", dest="source", action="store_true", help="print the YAML source instead")
    s.set_defaults(func=lambda a: show(name=a.name, source=a.source))

    d = sub.add_parser("sample", help="print random configs from a space (JSON, one per line)")
    d.add_argument("name", metavar="NAME", help="packaged space name or YAML file")
    d.add_argument("-n", type=_count, default=5, help="how many configs (default: 5)")
    d.add_argument("--seed", type=_count, default=0, help="random sampler seed, >= 0 (default: 0)")
    d.add_argument("--full", action="store_true", help="print complete trial configs (defaults filled in)")
    d.set_defaults(func=lambda a: sample(name=a.name, n=a.n, seed=a.seed, full=a.full))


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def load(name: str) -> search_spaces.SearchSpace:
    """Load a space with the trial config's keys as the valid ones; problems become ``SearchSpaceError``."""
    keys = [f.name for f in dataclasses.fields(TrialConfig)]
    try:
        return search_spaces.load_space(name, known_keys=keys)
    except search_spaces.SearchSpaceError as e:  # convert at the boundary: the CLI reports KdbenchErrors
        raise SearchSpaceError(str(e)) from e


def show(*, name: str, source: bool = False, out: TextIO | None = None) -> int:
    """Print the space's table (``source``: its YAML text)."""
    space = load(name)
    out = out or sys.stdout
    out.write(space.text if source else space.describe() + "\n")
    return 0


def sample(*, name: str, n: int, seed: int = 0, full: bool = False, out: TextIO | None = None) -> int:
    """Print ``n`` configs drawn with ``seed``, one JSON object a line; each must be a valid trial config."""
    space = load(name)
    out = out or sys.stdout
    for config in space.sample(n, seed=seed):
        checked = TrialConfig.from_dict(config)  # ConfigError: the space yields a config no trial accepts
        out.write(json.dumps(checked.to_dict() if full else config) + "\n")
    return 0
