"""Every data test gets its own empty $KDBENCH_HOME and no wheel override."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "kdbench_home"
    monkeypatch.setenv("KDBENCH_HOME", str(root))
    monkeypatch.delenv("KDBENCH_RECBOLE_WHEEL", raising=False)
    return root
