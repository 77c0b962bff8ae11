"""Fixtures for the regression-suite tests: a small CSV dataset and a tiny suite over it.

The suite's trials take about a second each, so the end-to-end tests (baseline, unplanted run, planted
regressions) stay well inside the test budget.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

TINY_SUITE = """\
description: tiny suite for tests
seeds: 3
threads: 1
defaults: {embedding_size: 4, depth: 2, t_depth: 2, max_epochs: 2, patience: 2, batch_size: 256, lr: 0.01}
cases:
  - name: tiny-crossnet-inner
    dataset: {source: csv, path: clicks.csv, schema: schema.yaml}
    config: {teacher: crossnet, interaction: inner}
"""

SCHEMA = "label: click\ncategorical: [user, item, genre, noise]\n"


@pytest.fixture(scope="session")
def tiny_suite_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``tiny.yaml``, ``clicks.csv`` (12,000 rows with a learnable user x genre signal) and its
    schema."""
    folder = tmp_path_factory.mktemp("regress_suite")
    rng = np.random.default_rng(7)
    rows = 12_000
    user, item = rng.integers(0, 80, rows), rng.integers(0, 50, rows)
    genre, noise = item % 6, rng.integers(0, 20, rows)
    user_bias, item_bias = rng.normal(0, 1.5, 80), rng.normal(0, 1.5, 50)
    taste = rng.normal(0, 1.0, (80, 6))
    logit = user_bias[user] + item_bias[item] + taste[user, genre]
    click = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    lines = ["user,item,genre,noise,click"]
    lines += [
        f"u{u},i{i},g{g},n{n},{c}" for u, i, g, n, c in zip(user, item, genre, noise, click, strict=True)
    ]
    (folder / "clicks.csv").write_text("\n".join(lines) + "\n")
    (folder / "schema.yaml").write_text(SCHEMA)
    (folder / "tiny.yaml").write_text(TINY_SUITE)
    return folder


@pytest.fixture(scope="session")
def tiny_suite(tiny_suite_dir: Path) -> Path:
    return tiny_suite_dir / "tiny.yaml"
