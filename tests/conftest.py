"""Shared fixtures: an isolated $KDBENCH_HOME for the whole session and small datasets."""

from __future__ import annotations

import os

import pytest

from tests._synthetic import SyntheticDataset, make_synthetic

pytest_plugins = [
    "tests._postgres",  # postgres_server, postgres_url, postgres_schema for every folder
    "tests._ray",  # ray_runtime, one per session, for every folder
]


@pytest.fixture(scope="session", autouse=True)
def kdbench_home(tmp_path_factory: pytest.TempPathFactory):
    """Every test runs with its own cache root, never the user's ~/.cache/kdbench.

    The ml-100k wheel is fetched at most once per session into it (``KDBENCH_RECBOLE_WHEEL`` pointing at a
    saved wheel skips even that fetch).
    """
    home = tmp_path_factory.mktemp("kdbench_home")
    previous = os.environ.get("KDBENCH_HOME")
    os.environ["KDBENCH_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("KDBENCH_HOME", None)
    else:
        os.environ["KDBENCH_HOME"] = previous


@pytest.fixture(scope="session")
def synthetic() -> SyntheticDataset:
    """6 fields whose label is a 3rd-order interaction of fields 0-2 (plus noise): ~8k rows."""
    return make_synthetic(rows=8000, seed=0)


@pytest.fixture(scope="session")
def ml100k(kdbench_home):
    """The embedded MovieLens-100K default dataset (fetched from the recbole wheel once per session)."""
    from kdbench.bench.data import prepare

    return prepare("ml-100k")


@pytest.fixture
def full_disk(tmp_path):
    """A folder on a 1 MiB tmpfs filled to its last 8 KiB: a real full disk, where the test may mount one
    (root on Linux, as on CI); skipped elsewhere."""
    import subprocess

    mount = tmp_path / "small-disk"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip()})")
    try:
        free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
        (mount / "filler").write_bytes(b"\0" * (free - 8192))
        (mount / "full").mkdir()
        yield mount / "full"
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
