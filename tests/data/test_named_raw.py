"""Raw-format files under their own names (bench/data/_prepare.py, _names.py): two Criteo days told apart,
``criteo`` standing for the one prepared Criteo file."""

from __future__ import annotations

import pytest

from kdbench.bench.data import dataset_source, default_split_seed, open_dataset, prepare
from kdbench.bench.errors import DatasetError
from tests.data._make import avazu_row, criteo_row, write_avazu, write_criteo


def _day(path, offset: int):
    rows = [criteo_row((k + offset) % 3 == 0, ints=[k % 9, offset], cats=[f"{k % 5:08x}"]) for k in range(60)]
    return write_criteo(path, rows)


@pytest.fixture
def days(tmp_path):
    return _day(tmp_path / "day_0.txt", 0), _day(tmp_path / "day_1.gz.txt", 1)


def test_a_named_criteo_file_resolves_everywhere_by_its_name(days):
    day0 = prepare("criteo", path=days[0], name="day0")
    assert day0.name == "day0" and day0.protocol["name"] == "day0"
    assert open_dataset("day0").fingerprint == day0.fingerprint  # what train, sweep and regress call
    assert dataset_source("day0") == "criteo"  # so the Criteo recipe applies
    assert default_split_seed("day0") == 2022
    again = open_dataset("day0", split_seed=5)
    assert again.name == "day0" and again.fingerprint != day0.fingerprint
    assert open_dataset("day0").fingerprint == day0.fingerprint  # a training command's seed is its own


def test_criteo_stands_for_its_one_prepared_file_and_lists_several(days):
    with pytest.raises(DatasetError, match="criteo needs --path"):
        open_dataset("criteo")
    day0 = prepare("criteo", path=days[0], name="day0")
    assert open_dataset("criteo").fingerprint == day0.fingerprint
    unnamed = prepare("criteo", path=days[1])
    assert unnamed.name == "criteo" and "name" not in unnamed.protocol  # unnamed: the fingerprint it had
    with pytest.raises(DatasetError) as e:
        open_dataset("criteo")
    message = str(e.value)
    assert "\n" not in message and message.startswith("criteo stands for 2 prepared files")
    assert f"day0 ({days[0]})" in message and f"{unnamed.fingerprint[:10]} ({days[1]})" in message


def test_names_are_checked_like_a_tables(days, tmp_path):
    prepare("criteo", path=days[0], name="day0")
    with pytest.raises(DatasetError, match=r"'day0' is taken by .*day_0.txt"):
        prepare("criteo", path=days[1], name="day0")
    with pytest.raises(DatasetError, match="'avazu' is a source name"):
        prepare("criteo", path=days[1], name="avazu")
    with pytest.raises(DatasetError, match="--name: dataset name 'two words'"):
        prepare("criteo", path=days[1], name="two words")
    assert prepare("criteo", path=days[0], name="criteo").name == "criteo"  # its own source's name: unnamed


def test_a_named_avazu_file(tmp_path):
    rows = [avazu_row(k, k % 2, 14102100 + k % 24, site_id=f"s{k % 4}") for k in range(40)]
    data = prepare("avazu", path=write_avazu(tmp_path / "train.csv", rows), name="avazu-sample")
    assert open_dataset("avazu-sample").fingerprint == data.fingerprint
    assert open_dataset("avazu").fingerprint == data.fingerprint
