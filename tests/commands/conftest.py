"""``home``: a fresh, empty $KDBENCH_HOME for one test, with wide output (rich tables cut nothing). Modules of
dataset commands use it for every test (``pytestmark = pytest.mark.usefixtures("home")``)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "kdbench_home"
    monkeypatch.setenv("KDBENCH_HOME", str(root))
    monkeypatch.setenv("COLUMNS", "200")
    return root
