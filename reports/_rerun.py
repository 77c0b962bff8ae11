"""The ``kdbench train`` command line that re-runs a stored trial exactly."""

from __future__ import annotations

import functools
import shlex
from collections.abc import Mapping
from typing import Any

import yaml

__all__ = ["rerun_command", "yaml_value"]


def yaml_value(value: Any) -> str:
    """``value`` as the YAML text ``--set key=VALUE`` reads back to the same value: ``0.001``, ``true``,
    ``outer``, ``[200,200,200]``; strings YAML would read as something else (``'yes'``, ``'1e-3'``) quoted."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(yaml_value(v) for v in value) + "]"
    return _scalar(value)


# A site re-runs yaml on the same few values thousands of times; typed: 1, 1.0 and True stay distinct.
@functools.lru_cache(maxsize=4096, typed=True)
def _scalar(value: Any) -> str:
    dumped = yaml.safe_dump(value, default_flow_style=True, width=10**6)
    return dumped.removesuffix("\n").removesuffix("\n...").strip()


def rerun_command(source: str | None, config: Mapping[str, Any], *, threads: int | None = None) -> str:
    """``kdbench train --dataset SOURCE [--threads N] --set key=value ...`` for every key of ``config``,
    shell-quoted. ``threads``: the CPU threads the trial trained with (its speed depends on them)."""
    parts = ["kdbench", "train", "--dataset", shlex.quote(source or "SOURCE")]
    if threads:
        parts += ["--threads", str(int(threads))]
    for key, value in config.items():
        parts += ["--set", shlex.quote(f"{key}={yaml_value(value)}")]
    return " ".join(parts)
