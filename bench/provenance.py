"""Provenance of a result: code version and the environment it ran in.

Every trial row carries these so any leaderboard row can be re-run and explained.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path

__all__ = ["code_fingerprint", "environment", "git_info"]

_REPO_ROOT = Path(__file__).resolve().parent.parent
_TRACKED_LIBRARIES = ("torch", "ray", "optuna", "numpy", "pandas", "sqlalchemy", "plotly", "scikit-learn")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(_REPO_ROOT), *args], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


@functools.cache
def git_info() -> dict[str, object]:
    """``{"git_sha": str | None, "git_dirty": bool | None}`` of the checkout kdbench runs from.

    ``None`` when kdbench is installed outside a git checkout (a wheel): then the package version stands in.
    """
    sha = _git("rev-parse", "HEAD")
    if sha is None:
        return {"git_sha": None, "git_dirty": None}
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_sha": sha, "git_dirty": bool(status)}


@functools.cache
def code_fingerprint() -> str:
    """A hash of the source that determines what a trained model is (``models/`` and the training code).

    Used in cache keys (teacher checkpoints): unlike the git sha it changes with uncommitted edits and does
    not change with edits to unrelated files (reports, docs).
    """
    digest = hashlib.sha256()
    files = sorted((_REPO_ROOT / "models").glob("*.py")) + [
        _REPO_ROOT / "bench" / name for name in ("trial.py", "config.py", "metrics.py")
    ]
    for path in files:
        if path.exists():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu_model() -> str | None:
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except Exception:  # a broken CUDA install must not stop provenance capture
        return None
    return None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def environment() -> dict[str, object]:
    """Where a result was produced: git sha/dirty, Python and library versions, CPU, GPU, host."""
    env: dict[str, object] = dict(git_info())
    env.update(
        kdbench=_version("kdbench"),
        python=platform.python_version(),
        **{name.replace("-", "_"): _version(name) for name in _TRACKED_LIBRARIES},
        cpu=_cpu_model(),
        cpu_count=os.cpu_count(),
        gpu=_gpu_model(),
        host=socket.gethostname(),
        platform=platform.platform(),
    )
    return env
