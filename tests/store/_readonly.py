"""Making a real file or folder unwritable, also when the tests run as root (who ignores file modes)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` unwritable while inside: ``chattr +i`` as root, mode 0444 (file) or 0555 (folder) otherwise.

    Skips the test where neither takes effect (root on a file system without the immutable flag).
    """
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("running as root where chattr +i does not work: cannot make a path read-only")
        undo = [chattr, "-i", str(path)]
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        undo = None
    try:
        if os.access(path, os.W_OK):
            pytest.skip(f"{path} stays writable here")
        yield
    finally:
        if undo is not None:
            subprocess.run(undo, check=True)
        else:
            path.chmod(mode)
