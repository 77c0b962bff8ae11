"""Real-size values for the store: the dataset infos kdbench actually produces, names at the documented limit,
non-ASCII text, a real traceback several KB long, an environment with long CPU/GPU/version strings.

The short fakes in ``_factories`` keep the contract tests readable; these are what broke PostgreSQL's
``VARCHAR(256)`` columns (the ml-100k protocol is ~410 characters as JSON).
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from kdbench.bench.data import prepare
from kdbench.bench.errors import TrialError
from tests.data._make import avazu_row, criteo_row, write_avazu, write_criteo

from . import _factories as f

NON_ASCII = "Zürich ✓ 日本語"
NAME_LIMIT = 100  # bench/_store/_names.py: SWEEP_NAME_MAX

# A default-style sweep name padded to exactly the limit: letters, digits, '.', '_', '-' only.
LONG_SWEEP_NAME = ("quick-ml-100k-20260115T101112-lr_1e-3.beta-0.5-" * 3)[:NAME_LIMIT]
# What a host, a Ray node or an FQDN can be: 253 characters is DNS's limit for a full name.
LONG_HOST = ".".join(["gpu-node-0042"] + ["rack-17-row-b-hall-3-datacenter-west"] * 6)[:253]
# A Ray node id (56 hex digits) with the host it runs on.
LONG_NODE = f"{'5f3c9a2e' * 7}@{LONG_HOST}"
LONG_TEXT = f"{NON_ASCII} " * 40  # 560 characters, ~840 bytes in UTF-8


def criteo_info(folder: Path) -> dict[str, Any]:
    """``Dataset.info()`` of a 200-row Criteo file (the real source code path, a small file)."""
    rows = [
        criteo_row(
            label=k % 3 == 0,
            ints=[k % 17, (k * 7) % 1000, None if k % 5 == 0 else k, -1, 3],
            cats=[f"{k % 11:08x}", "deadbeef", None if k % 4 == 0 else f"{k % 9:08x}"],
        )
        for k in range(200)
    ]
    return prepare("criteo", path=write_criteo(folder / "train.txt", rows)).info()


def avazu_info(folder: Path) -> dict[str, Any]:
    """``Dataset.info()`` of a 200-row Avazu file."""
    rows = [
        avazu_row(10_000 + k, int(k % 4 == 0), 14102100 + k % 24, site_id=f"s{k % 7}") for k in range(200)
    ]
    return prepare("avazu", path=write_avazu(folder / "train.csv", rows)).info()


def traceback_text(depth: int = 12) -> str:
    """A real ``traceback.format_exc()``: a TrialError chained ``depth`` times over (several KB)."""

    def fail(level: int) -> None:
        try:
            if level == 0:
                raise FloatingPointError(f"loss is nan at batch 17 of epoch 3 ({NON_ASCII})")
            fail(level - 1)
        except (FloatingPointError, TrialError) as e:
            raise TrialError(f"non-finite loss in phase distillation, level {level}: lower lr or beta") from e

    try:
        fail(depth)
    except TrialError:
        return traceback.format_exc()
    raise AssertionError("unreachable")


def long_environment() -> dict[str, Any]:
    """What ``kdbench.bench.provenance.environment()`` gives on a big multi-GPU node with a nightly stack."""
    return f.environment(
        python="3.13.0rc2+ experimental free-threading build (main, Oct  1 2025, 12:00:00) [GCC 14.2.1]",
        torch="2.13.0.dev20260115+cu128.git4f3a2b1c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3",
        ray="3.0.0.dev0+2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c",
        cpu=" / ".join(
            [f"AMD EPYC 9654 96-Core Processor (socket {s}, 2.40 GHz, SMT on, 384 MB L3)" for s in range(4)]
        ),
        gpu=", ".join(
            [f"NVIDIA H200 141 GB HBM3e (MIG 1g.18gb #{k}, driver 570.86.15, CUDA 12.8)" for k in range(6)]
        ),
        host=LONG_HOST,
        platform=f"Linux-6.8.0-51-generic-x86_64-with-glibc2.39 ({NON_ASCII})",
    )
