"""Prepared tables found again by name or fingerprint (bench/data/_names.py, bench/data/_prepare.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from kdbench.bench.data import cached_datasets, dataset_source, default_split_seed, open_dataset, prepare
from kdbench.bench.errors import DatasetError

SCHEMA = {"label": "click", "categorical": ["user", "item"]}


def _write(path: Path, rows: int = 300, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    lines = ["user,item,age,click"] + [
        f"u{rng.integers(0, 30)},i{rng.integers(0, 20)},{rng.integers(18, 80)},{rng.integers(0, 2)}"
        for _ in range(rows)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _seed(dataset) -> int:
    return dataset.protocol["split"]["seed"]


def test_a_table_is_found_by_name_and_fingerprint_at_its_split_seed(tmp_path):
    file = _write(tmp_path / "clicks.csv")
    first = prepare("csv", path=file, schema=SCHEMA, split_seed=7)
    assert first.name == "clicks" and _seed(first) == 7
    by_name = prepare("clicks")  # the recorded split seed, not 2022
    assert by_name.fingerprint == first.fingerprint
    assert prepare(first.fingerprint[:8]).fingerprint == first.fingerprint
    assert dataset_source("clicks") == "csv" and dataset_source(first.fingerprint) == "csv"
    assert default_split_seed("clicks") == 7 and default_split_seed("criteo") == 2022

    other = open_dataset("clicks", split_seed=3)  # another split of the same file
    assert _seed(other) == 3 and other.fingerprint != first.fingerprint
    np.testing.assert_array_equal(  # the same rows, split otherwise
        np.sort(np.concatenate([other.train.y, other.valid.y, other.test.y])),
        np.sort(np.concatenate([first.train.y, first.valid.y, first.test.y])),
    )
    assert _seed(prepare("clicks")) == 7  # a training command's --split-seed never changes the name's
    assert _seed(prepare(other.fingerprint)) == 3  # a fingerprint is its own split

    prepare("csv", path=file, schema=SCHEMA, split_seed=11)  # preparing from the file again records anew
    assert _seed(prepare("clicks")) == 11


def test_training_from_the_source_records_a_new_name_but_never_changes_one(tmp_path):
    file = _write(tmp_path / "clicks.csv")
    open_dataset("csv", path=file, schema=SCHEMA, split_seed=5)
    assert default_split_seed("clicks") == 5  # first use: recorded
    open_dataset("csv", path=file, schema=SCHEMA, split_seed=6)
    assert default_split_seed("clicks") == 5


def test_two_files_with_the_same_stem_need_their_own_names(tmp_path):
    a = _write(tmp_path / "2023" / "clicks.csv", seed=1)
    b = _write(tmp_path / "2024" / "clicks.csv", seed=2)
    prepare("csv", path=a, schema=SCHEMA)
    with pytest.raises(DatasetError) as refused:
        prepare("csv", path=b, schema=SCHEMA)
    message = str(refused.value)
    assert f"'clicks' is taken by {a}" in message and "name: NEW" in message and "--name NEW" in message
    newer = prepare("csv", path=b, schema={**SCHEMA, "name": "clicks-2024"})
    assert newer.name == "clicks-2024"
    assert prepare("clicks-2024").fingerprint == newer.fingerprint
    assert prepare("clicks").fingerprint != newer.fingerprint
    assert {m["name"] for m in cached_datasets()} == {"clicks", "clicks-2024"}


def test_two_prepares_racing_for_one_name_leave_it_to_the_first_to_record(tmp_path, monkeypatch):
    """Both pass the claim before either records (two processes at once); the second is refused at record."""
    from kdbench.bench.data import _prepare

    a = _write(tmp_path / "a" / "clicks.csv", seed=1)
    b = _write(tmp_path / "b" / "clicks.csv", seed=2)
    claims, claim = [], _prepare.claim_name
    monkeypatch.setattr(_prepare, "claim_name", lambda *args: claims.append(args))  # the race: no claim yet
    first = prepare("csv", path=a, schema=SCHEMA)
    with pytest.raises(DatasetError, match=f"'clicks' is taken by {a}"):
        prepare("csv", path=b, schema=SCHEMA)
    assert len(claims) == 2  # both got past the early check, as two racing processes do
    monkeypatch.setattr(_prepare, "claim_name", claim)
    assert prepare("clicks").fingerprint == first.fingerprint  # the name still points at the first file


def test_concurrent_prepares_of_two_files_under_one_name_let_exactly_one_win(tmp_path):
    import os
    import subprocess
    import sys

    files = [_write(tmp_path / d / "clicks.csv", rows=3000, seed=k) for k, d in enumerate(("x", "y"))]
    env = {**os.environ, "KDBENCH_HOME": str(tmp_path / "home")}
    argv = [sys.executable, "-m", "kdbench", "data", "prepare", "csv", "--quiet", "--label", "click"]
    runs = [
        subprocess.Popen([*argv, "--categorical", "user,item", "--path", str(f)], env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for f in files
    ]  # fmt: skip
    results = [(p.wait(timeout=120), p.stderr.read()) for p in runs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert "dataset name 'clicks' is taken by" in refused and len(refused.strip().splitlines()) == 1


def test_a_moved_file_takes_its_name_along(tmp_path):
    old = _write(tmp_path / "old" / "clicks.csv")
    prepare("csv", path=old, schema=SCHEMA)
    new = tmp_path / "new" / "clicks.csv"
    new.parent.mkdir()
    shutil.move(old, new)
    moved = prepare("csv", path=new, schema=SCHEMA)
    assert prepare("clicks").fingerprint == moved.fingerprint


def test_the_schema_name_is_part_of_the_cache_key(tmp_path):
    file = _write(tmp_path / "clicks.csv")
    a = prepare("csv", path=file, schema={**SCHEMA, "name": "first"})
    b = prepare("csv", path=file, schema={**SCHEMA, "name": "second"})
    assert (a.name, b.name) == ("first", "second") and a.fingerprint != b.fingerprint
    assert prepare("second").name == "second"  # not the entry prepared first


def test_a_name_refuses_path_and_schema_and_an_unknown_name_lists_the_prepared(tmp_path):
    file = _write(tmp_path / "clicks.csv")
    prepare("csv", path=file, schema=SCHEMA)
    with pytest.raises(DatasetError, match=r"clicks is a prepared dataset \(from .*\): drop --path"):
        prepare("clicks", path=file)
    with pytest.raises(DatasetError, match=r"no dataset source or prepared .* 'click'; .*prepared: clicks"):
        prepare("click")


def test_a_gone_file_keeps_its_prepared_splits(tmp_path):
    file = _write(tmp_path / "clicks.csv")
    kept = prepare("csv", path=file, schema=SCHEMA)
    file.unlink()
    assert prepare("clicks").fingerprint == kept.fingerprint
    with pytest.raises(DatasetError, match=r"its file .* is gone and no prepared copy has split seed 9"):
        prepare("clicks", split_seed=9)


def test_a_table_may_not_take_a_source_name(tmp_path):
    file = _write(tmp_path / "criteo.csv")
    with pytest.raises(DatasetError, match="'criteo' is a source name"):
        prepare("csv", path=file, schema=SCHEMA)
    assert prepare("csv", path=file, schema={**SCHEMA, "name": "criteo-sample"}).name == "criteo-sample"


def test_a_missing_path_names_the_flag(tmp_path):
    with pytest.raises(DatasetError, match=r"^criteo needs --path; Criteo"):
        prepare("criteo")
    with pytest.raises(DatasetError) as refused:
        prepare("csv", path=_write(tmp_path / "t.csv"))
    assert "--schema FILE.yaml" in str(refused.value) and "--label" not in str(refused.value)


def test_meta_records_where_the_entry_came_from(tmp_path):
    file = _write(tmp_path / "clicks.csv")
    d = prepare("csv", path=file, schema={**SCHEMA, "numeric": {"age": "identity"}})
    meta = next(m for m in cached_datasets() if m["fingerprint"] == d.fingerprint)
    assert meta["prepared"]["path"] == str(file.resolve())
    assert meta["prepared"]["schema"]["numeric"] == {"age": "identity"}
    assert meta["prepared"]["schema"]["name"] == "clicks"
