"""One Ray runtime for the whole session (num_cpus=2, no dashboard, a private temp folder), started only by
the tests that ask for it, always shut down, and any process left under its folder ended."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from kdbench.bench._sweep._procs import kill_processes_mentioning


def ray_temp_dir() -> str:
    # Short and under /tmp: Ray's unix socket paths must stay under 107 characters.
    return tempfile.mkdtemp(prefix="kdr", dir="/tmp")


@pytest.fixture(scope="session")
def ray_runtime(kdbench_home) -> Iterator[str]:
    """Ray started in this process (workers inherit the test's $KDBENCH_HOME); yields its temp folder."""
    import ray

    temp = ray_temp_dir()
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
        _temp_dir=temp,
    )
    try:
        yield temp
    finally:
        ray.shutdown()
        kill_processes_mentioning(temp)
        shutil.rmtree(temp, ignore_errors=True)
