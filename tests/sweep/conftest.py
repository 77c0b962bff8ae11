"""Sweep fixtures (the session's Ray runtime is tests/_ray.py's, for every folder)."""

from __future__ import annotations

import pytest


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'kd.db'}"
