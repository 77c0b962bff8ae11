"""ml-100k-recbole: RecBole 1.2.1's rows, fields and split of the embedded ml-100k.

``reference/recbole_ml100k_split.json`` was written once by RecBole itself, in its own interpreter
(``python -m kdbench.bench.benchmarks.reference --recbole-python PY --recbole-split-sample FILE``): its
model's fields, each split's size, a sha256 of each split's sorted ``user \\t item \\t label`` rows (a user
or item that RecBole's train split lacks written ``?``) and 200 of those rows per split. RecBole is not
needed here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from kdbench.bench.data import default_split_seed, prepare, split_text
from kdbench.bench.data._movielens import RECBOLE_FIELDS, recbole_split, torch_randperm
from kdbench.bench.errors import DatasetError

REFERENCE = json.loads((Path(__file__).parent / "reference" / "recbole_ml100k_split.json").read_text())
SPLITS = ("train", "valid", "test")


@pytest.fixture(scope="module")
def recbole_ml100k(tmp_path_factory):
    """The real ml-100k-recbole (the recbole wheel fetched once into this module's own home)."""
    return prepare("ml-100k-recbole", home=tmp_path_factory.mktemp("home"))


def _rows(dataset, split: str) -> list[str]:
    """The split's rows as RecBole's sample writes them: ``user \\t item \\t label``, unknown (0) as ``?``."""
    part = getattr(dataset, split)
    columns = []
    for field in ("user_id", "item_id"):
        tokens = np.array(["?", *dataset.vocabulary(field)], dtype=object)
        columns.append(tokens[part.x[:, dataset.field_names.index(field)]])
    return [f"{u}\t{i}\t{int(y)}" for u, i, y in zip(*columns, part.y, strict=True)]


def test_fields_are_recboles(recbole_ml100k):
    assert recbole_ml100k.field_names == RECBOLE_FIELDS == REFERENCE["fields"]  # no timestamp field
    assert recbole_ml100k.dense_fields == []
    assert recbole_ml100k.num_rows == 72_855
    sizes = {"train": 58_285, "valid": 7_285, "test": 7_285}
    assert recbole_ml100k.split_sizes == REFERENCE["sizes"] == sizes


@pytest.mark.parametrize("split", SPLITS)
def test_split_holds_recboles_rows(recbole_ml100k, split):
    rows = _rows(recbole_ml100k, split)
    members = {hashlib.sha256(row.encode()).hexdigest()[:16] for row in rows}
    missing = [row for row in REFERENCE["sample"][split] if row not in members]  # hashed: no MovieLens rows
    assert not missing, f"{len(missing)} of RecBole's sampled {split} rows are not in it, e.g. {missing[:3]}"
    digest = hashlib.sha256("\n".join(sorted(rows)).encode()).hexdigest()
    assert digest == REFERENCE["sha256"][split]  # every row, in RecBole's split and nowhere else


def test_recboles_split_has_no_seed_to_choose(recbole_ml100k, tmp_path):
    with pytest.raises(
        DatasetError, match=r"^dataset ml-100k-recbole comes with its split.*\(7\) does not apply"
    ):
        prepare("ml-100k-recbole", split_seed=7, home=tmp_path)
    assert default_split_seed("ml-100k-recbole") is None  # so a sweep records none
    assert split_text(recbole_ml100k.protocol["split"]) == "RecBole's random 8:1:1, its seed 2022"


@pytest.mark.parametrize(("n", "seed"), [(2, 0), (10, 3), (1000, 7), (72_855, 2022), (72_855, 1)])
def test_torch_randperm_is_torchs(n, seed):
    torch.manual_seed(seed)
    assert np.array_equal(torch_randperm(n, seed), torch.randperm(n).numpy())


def test_torch_randperm_refuses_what_it_cannot_reproduce():
    with pytest.raises(ValueError, match="0 < n"):
        torch_randperm(0, 1)
    with pytest.raises(ValueError, match="0 < n"):
        torch_randperm((1 << 32) // 20, 1)


def test_recbole_split_counts_and_order():
    # RecBole's _calcu_split_ids: valid and test int(0.1 n) rows, train the rest; a part that rounds to
    # nothing gets one row from train (n = 5: int(0.5) = 0 -> 1 each).
    assert np.bincount(recbole_split(72_855)).tolist() == [58_285, 7_285, 7_285]
    assert np.bincount(recbole_split(5)).tolist() == [3, 1, 1]
    # The permutation's head is train, then valid, then test.
    order = torch_randperm(100, 9)
    assign = recbole_split(100, 9)
    assert assign[order[:80]].tolist() == [0] * 80
    assert assign[order[80:90]].tolist() == [1] * 10
    assert assign[order[90:]].tolist() == [2] * 10


def test_path_and_schema_refused(tmp_path):
    with pytest.raises(DatasetError, match="takes no --path"):
        prepare("ml-100k-recbole", path=tmp_path)
    with pytest.raises(DatasetError, match="takes no --schema"):
        prepare("ml-100k-recbole", schema={"label": "y"})
