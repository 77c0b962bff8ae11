"""The embedded ml-100k: the ``recbole==1.2.1`` wheel from PyPI, verified and kept under ``downloads/``.

The wheel is fetched with ``pip download`` (so pip's own index, proxy and certificate settings apply) into a
temporary folder, its sha256 checked, and only then moved to ``$KDBENCH_HOME/downloads/``.
``KDBENCH_RECBOLE_WHEEL=/path/to/file.whl`` uses that file instead (no download, no hash check: meant for
offline machines and for tests, which use a small zip with the same inner paths).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from kdbench.bench.errors import DatasetError

__all__ = ["WHEEL_NAME", "WHEEL_SHA256", "WHEEL_SPEC", "override_wheel", "recbole_wheel"]

WHEEL_SPEC = "recbole==1.2.1"
WHEEL_NAME = "recbole-1.2.1-py3-none-any.whl"
WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
ENV_OVERRIDE = "KDBENCH_RECBOLE_WHEEL"
FETCH_TIMEOUT_S = 600


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def override_wheel() -> Path | None:
    """The wheel named by ``$KDBENCH_RECBOLE_WHEEL``, or None when unset; DatasetError when it is missing."""
    raw = os.environ.get(ENV_OVERRIDE)
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not path.is_file():
        raise DatasetError(f"{ENV_OVERRIDE}={raw} is not a file; point it at {WHEEL_NAME} or unset it")
    return path.resolve()


def recbole_wheel(home: Path) -> Path:
    """The local recbole wheel: the override, the verified copy under ``downloads/``, or a fresh fetch."""
    override = override_wheel()
    if override is not None:
        return override
    downloads = home / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    target = downloads / WHEEL_NAME
    if target.is_file():
        if _sha256(target) == WHEEL_SHA256:
            return target
        target.unlink()  # a corrupt or tampered copy: fetch again
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=downloads) as tmp:
        fetched = _pip_download(Path(tmp))
        digest = _sha256(fetched)
        if digest != WHEEL_SHA256:
            raise DatasetError(
                f"the downloaded {fetched.name} has sha256 {digest}, expected {WHEEL_SHA256}; "
                f"check your package index, or set {ENV_OVERRIDE} to a verified copy"
            )
        os.replace(fetched, target)
    return target


def _pip_download(folder: Path) -> Path:
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--no-input",
        "--disable-pip-version-check", "-q", WHEEL_SPEC, "-d", str(folder),
    ]  # fmt: skip
    help_ = (
        f"check the network (or pip's index settings), or download {WHEEL_NAME} yourself and set "
        f"{ENV_OVERRIDE}=/path/to/it, or pass --path with GroupLens' ml-100k folder (u.data, u.user, u.item)"
    )
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=FETCH_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        raise DatasetError(
            f"fetching {WHEEL_SPEC} from PyPI timed out after {FETCH_TIMEOUT_S} s; {help_}"
        ) from e
    except OSError as e:
        raise DatasetError(f"cannot run pip to fetch {WHEEL_SPEC}: {e}; {help_}") from e
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        said = lines[-1] if lines else f"exit status {done.returncode}"
        raise DatasetError(f"could not fetch {WHEEL_SPEC} from PyPI (pip: {said}); {help_}")
    wheels = sorted(folder.glob("recbole-*.whl"))
    if not wheels:
        raise DatasetError(f"pip download of {WHEEL_SPEC} produced no wheel; {help_}")
    return wheels[0]
