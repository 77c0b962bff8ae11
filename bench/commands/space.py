"""``kdbench space``: show a search space as a table, or print random configs drawn from it.

Spaces are loaded by the sweep's own check (``kdbench.bench._sweep._recipe.load_space``: trial-config keys
only, every choice, range end and branch a valid trial config), so a space gets the same verdict here as from
``kdbench sweep``; every sampled config is checked by :meth:`TrialConfig.from_dict` as well.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from kdbench import search_spaces
from kdbench.bench.config import TrialConfig

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
    """The space ``name``, checked as a sweep checks it; problems raise a one-line ``SearchSpaceError``."""
    from kdbench.bench.sweep import load_trial_space

    return load_trial_space(name)


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
