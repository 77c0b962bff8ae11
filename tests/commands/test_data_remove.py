"""``kdbench data remove``: prepared datasets leave the cache by name, split seed, fingerprint or staleness,
with their cache keys; a bad target, or an entry another process has open, removes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kdbench.bench.cli import main
from kdbench.bench.data import cached_datasets
from kdbench.bench.data import prepare as prepare_dataset
from tests.commands._census import census_csv

pytestmark = pytest.mark.usefixtures("home")  # conftest: a fresh $KDBENCH_HOME per test


SCHEMA = {
    "label": "income",
    "positive": ">50K",
    "categorical": ["workclass"],
    "numeric": {"age": "dense", "fnlwgt": "quantile"},
}


def prepare(csv: Path, split_seed: int | None = None) -> str:
    """Prepare ``csv`` under its stem, as ``kdbench data prepare`` does; returns the entry's fingerprint."""
    return prepare_dataset("csv", path=csv, schema=SCHEMA, split_seed=split_seed, progress=False).fingerprint


def fingerprints() -> set[str]:
    return {m["fingerprint"] for m in cached_datasets()}


def keys_pointing_at(home: Path, fingerprint: str) -> int:
    keys = (home / "datasets" / ".keys").glob("*.json")
    return sum(json.loads(k.read_text())["fingerprint"] == fingerprint for k in keys)


def test_stale_entries_are_those_whose_file_now_holds_other_bytes(tmp_path, home, capsys):
    csv = census_csv(tmp_path / "data")
    old = prepare(csv)
    os.utime(csv, ns=(csv.stat().st_atime_ns, csv.stat().st_mtime_ns + 10**9))  # touched: same bytes
    assert main(["data", "remove", "--stale"]) == 0
    assert "no cached dataset is stale" in capsys.readouterr().out and fingerprints() == {old}

    with csv.open("a", encoding="utf-8") as f:  # new rows: the old entry is unreachable by the file now
        f.write("".join(f"{30 + i % 40},Private,{100000 + i},>50K\n" for i in range(50)))
    new = prepare(csv)
    capsys.readouterr()
    assert new != old and fingerprints() == {old, new}

    assert main(["data", "remove", "--stale", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert old in out and new not in out and "(changed since)" in out and "dry run: nothing removed" in out
    assert fingerprints() == {old, new}

    assert main(["data", "remove", "--stale"]) == 0
    assert "removed 1 dataset," in capsys.readouterr().out
    assert fingerprints() == {new} and keys_pointing_at(home, old) == 0
    assert (home / "datasets" / ".names" / "adult.json").is_file()  # the name still means this file
    assert not list((home / "datasets").glob(".tmp-*"))


def test_an_entry_whose_file_is_gone_is_not_stale(tmp_path, capsys):
    csv = census_csv(tmp_path / "data")
    kept = prepare(csv)
    csv.unlink()  # the prepared entry may now be the only copy of the data
    assert main(["data", "remove", "--stale"]) == 0
    assert fingerprints() == {kept}


def test_a_split_seed_then_the_whole_name(tmp_path, home, capsys):
    csv = census_csv(tmp_path / "data")
    one, two = prepare(csv, split_seed=1), prepare(csv, split_seed=2)
    capsys.readouterr()

    assert main(["data", "remove", "adult", "--split-seed", "1"]) == 0
    assert fingerprints() == {two} and keys_pointing_at(home, one) == 0
    assert "is free as a name" not in capsys.readouterr().out
    assert prepare(csv, split_seed=1) == one  # prepared again from the file, the same entry

    # Another file named adult.csv is refused while the name is taken...
    other = census_csv(tmp_path / "elsewhere", seed=2)
    flags = ["--label", "income", "--positive", ">50K", "--categorical", "workclass"]
    assert main(["data", "prepare", "csv", "--path", str(other), *flags]) == 2
    assert "dataset name 'adult' is taken by" in capsys.readouterr().err

    # ...and takes it once the name is removed with every entry prepared under it.
    assert main(["data", "remove", "adult"]) == 0
    out = capsys.readouterr().out
    assert "removed 2 datasets" in out and "adult is free as a name" in out
    assert fingerprints() == set() and not (home / "datasets" / ".names" / "adult.json").exists()
    prepare(other)
    assert [m["name"] for m in cached_datasets()] == ["adult"]


def test_by_fingerprint_prefix_the_name_stays(tmp_path, home, capsys):
    csv = census_csv(tmp_path / "data")
    seven, default = prepare(csv, split_seed=7), prepare(csv)
    assert main(["data", "remove", seven[:8]]) == 0
    assert fingerprints() == {default}
    assert (home / "datasets" / ".names" / "adult.json").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nosuchdataset"], "no cached dataset matches 'nosuchdataset': see `kdbench data list`"),
        (["adult", "--split-seed", "9"], "dataset 'adult' has no entry with split seed 9 (it has: 2022)"),
        ([], "name what to remove: a dataset NAME, a fingerprint, or --stale"),
        (["adult", "nosuchdataset"], "no cached dataset matches 'nosuchdataset'"),  # all or nothing
    ],
)
def test_a_bad_target_removes_nothing(argv, message, tmp_path, capsys):
    kept = prepare(census_csv(tmp_path / "data"))
    capsys.readouterr()
    assert main(["data", "remove", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert fingerprints() == {kept}


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="finds open entries through /proc")
def test_an_entry_another_process_has_open_is_not_removed(tmp_path, capsys):
    kept = prepare(census_csv(tmp_path / "data"))
    entry = Path(cached_datasets()[0]["path"])
    reader = subprocess.Popen(  # a sweep's worker maps its dataset's arrays the same way
        [sys.executable, "-c", "import numpy as np, sys, time; x = np.load(sys.argv[1], mmap_mode='r');"
         " x.sum(); print('ready', flush=True); time.sleep(60)", str(entry / "train_x.npy")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert reader.stdout.readline().strip() == "ready"
        assert main(["data", "remove", "adult"]) == 2
        assert f"is open in process {reader.pid}" in capsys.readouterr().err
        assert fingerprints() == {kept}
    finally:
        reader.kill()
        reader.wait()
    assert main(["data", "remove", "adult"]) == 0
    assert fingerprints() == set()
