"""docs/datasets.md's schemas for BARS/FuxiCTR x1 sets prepare generated files of the same shape: a folder of
train.csv, valid.csv and test.csv with a header and 0/1 labels (``1.0``/``0.0`` in some sets)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from kdbench.bench.cli import main
from kdbench.bench.data import open_dataset

DOC = Path(__file__).resolve().parents[2] / "docs" / "datasets.md"
SIZES = {"train": 700, "valid": 200, "test": 100}


def _documented_schemas() -> dict[str, str]:
    """The doc's YAML blocks that start with ``# NAME/schema.yaml``, by NAME."""
    blocks = re.findall(r"```yaml\n# (\S+)/schema\.yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    return dict(blocks)


def _write_set(folder: Path, columns: list[str], float_labels: bool) -> dict[str, list[list[str]]]:
    rng = np.random.default_rng(len(columns))
    folder.mkdir()
    written = {}
    for role, rows in SIZES.items():
        cells = [
            [f"{c}{rng.integers(0, 12 if role == 'train' else 15)}" for c in columns] for _ in range(rows)
        ]
        labels = [int(row[0].endswith(("1", "3", "5"))) for row in cells]
        text = ["label," + ",".join(columns)]
        text += [
            f"{float(y) if float_labels else y}," + ",".join(row)
            for y, row in zip(labels, cells, strict=True)
        ]
        (folder / f"{role}.csv").write_text("\n".join(text) + "\n")
        written[role] = cells
    return written


@pytest.mark.parametrize("name", ["Frappe_x1", "MovielensLatest_x1"])
def test_documented_bars_schema_prepares_the_three_files(name, tmp_path, capsys):
    import yaml

    text = _documented_schemas()[name]
    schema = yaml.safe_load(text)
    folder = tmp_path / name
    written = _write_set(folder, schema["categorical"], float_labels=name == "Frappe_x1")
    (folder / "schema.yaml").write_text(text)
    assert main(["data", "prepare", "csv", "--schema", str(folder / "schema.yaml"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"{name} (csv)" in out and "(given (train, valid and test files))" in out
    d = open_dataset(name)
    assert d.split_sizes == SIZES
    # Values 12-14 appear only in valid and test (FuxiCTR's vocabulary is fitted on train too): code 0.
    first = schema["categorical"][0]
    tokens = d.vocabulary(first)
    assert len(tokens) == 12 and all(int(t.removeprefix(first)) < 12 for t in tokens)
    unseen = [int(row[0].removeprefix(first)) >= 12 for row in written["test"]]
    assert ((d.test.x[:, 0] == 0) == np.array(unseen)).all() and any(unseen)
