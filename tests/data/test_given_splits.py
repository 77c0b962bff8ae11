"""Splits that come with the data (bench/data/_split.py, _split_column.py, _table.py): three given files, a
column naming each row's split, and a time-ordered cut."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from kdbench.bench.data import default_split_seed, open_dataset, prepare
from kdbench.bench.data._split import split_sizes, time_assignment
from kdbench.bench.errors import DatasetError

# A BARS-style folder: Frappe_x1 ships train.csv, valid.csv and test.csv with a header and 0/1 labels.
FRAPPE_FIELDS = [
    "user",
    "item",
    "daytime",
    "weekday",
    "isweekend",
    "homework",
    "cost",
    "weather",
    "country",
    "city",
]


def _rows(rng: np.random.Generator, n: int, items: range, day0: int) -> pd.DataFrame:
    item = rng.choice(list(items), n)
    user = rng.integers(0, 40, n)
    return pd.DataFrame(
        {
            "label": ((user + item) % 3 == 0).astype(int),
            "user": [f"u{u}" for u in user],
            "item": [f"i{k}" for k in item],
            "price": rng.uniform(0, 10, n).round(3),
            "day": day0 + np.arange(n) // 50,
        }
    )


@pytest.fixture
def given(tmp_path):
    """train.csv (items 0-29), valid.csv and test.csv (items 20-44: 15 never seen in train)."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "Toy_x1"
    folder.mkdir()
    frames = {
        "train": _rows(rng, 500, range(30), 0),
        "valid": _rows(rng, 80, range(20, 45), 10),
        "test": _rows(rng, 90, range(20, 45), 12),
    }
    frames["test"].loc[:, "price"] += 1000.0  # far outside train's range: edges and stats must not see it
    for role, frame in frames.items():
        frame.to_csv(folder / f"{role}.csv", index=False)
    return folder, frames


SCHEMA = {"label": "label", "categorical": ["user", "item"], "numeric": {"price": {"quantile": 4}}}


def _split(folder):
    return {role: str(folder / f"{role}.csv") for role in ("train", "valid", "test")}


def test_given_files_keep_each_files_rows_and_learn_from_train_only(given):
    folder, frames = given
    d = prepare("csv", schema={**SCHEMA, "split": _split(folder)})
    assert d.name == "Toy_x1"  # the folder names a BARS-style set of train/valid/test files
    assert d.split_sizes == {role: len(frames[role]) for role in ("train", "valid", "test")}
    for role in ("train", "valid", "test"):  # each file's rows, in file order
        np.testing.assert_array_equal(getattr(d, role).y, frames[role]["label"].to_numpy(np.float32))
    # Items only valid and test hold are unknown (code 0); train's 30 items are the whole vocabulary.
    assert d.vocab_sizes[1] == 31
    item = d.field_names.index("item")
    tokens = d.vocabulary("item")
    decoded = [None if c == 0 else tokens[c - 1] for c in d.test.x[:, item]]
    unseen = [f"i{k}" not in {f"i{j}" for j in range(30)} for k in frames["test"]["item"].str[1:].astype(int)]
    assert [token is None for token in decoded] == unseen and any(unseen)
    # Quantile edges from the training file alone: test's prices (+1000) all land in the top bucket.
    meta = json.loads((d.path / "meta.json").read_text())
    edges = meta["learned"]["quantile_edges"]["price"]
    assert edges == pytest.approx(np.quantile(frames["train"]["price"], [0.25, 0.5, 0.75]).tolist())
    assert set(d.vocabulary("price")[c - 1] for c in d.test.x[:, 2]) == {3}
    split = d.protocol["split"]
    assert split["method"] == "given" and split["learned_from"] == "training split" and "seed" not in split
    assert d.protocol["counted_on"] == "training split"
    assert set(meta["inputs"]) == {"train", "valid", "test"}  # the fingerprint covers the three files


def test_given_files_fingerprint_moves_with_any_of_the_three(given):
    folder, frames = given
    first = prepare("csv", schema={**SCHEMA, "split": _split(folder)})
    frames["valid"].assign(label=1 - frames["valid"]["label"]).to_csv(folder / "valid.csv", index=False)
    second = prepare("csv", schema={**SCHEMA, "split": _split(folder)})
    assert first.fingerprint != second.fingerprint
    assert second.split_sizes == first.split_sizes


def test_min_count_counts_training_rows_only(given):
    folder, frames = given
    frames["train"].loc[0, "user"] = "rare"  # once in train
    frames["test"].loc[:5, "user"] = "rare"  # six times in test: still rare where it counts
    for role, frame in frames.items():
        frame.to_csv(folder / f"{role}.csv", index=False)
    d = prepare("csv", schema={**SCHEMA, "min_count": 2, "split": _split(folder)})
    assert "rare" not in d.vocabulary("user")


def test_a_given_split_has_no_seed(given, tmp_path):
    folder, _ = given
    schema = {**SCHEMA, "name": "toy", "split": _split(folder)}
    with pytest.raises(
        DatasetError, match=r"^dataset toy comes with its split .*split seed \(3\) does not apply"
    ):
        prepare("csv", schema=schema, split_seed=3)
    d = prepare("csv", schema=schema)
    assert default_split_seed("toy") is None and default_split_seed("csv", schema=schema) is None
    assert open_dataset("toy").fingerprint == d.fingerprint  # the name prepares the three files again
    with pytest.raises(DatasetError, match="split seed \\(7\\) does not apply"):
        open_dataset("toy", split_seed=7)
    with pytest.raises(DatasetError, match="does not apply"):
        open_dataset(d.fingerprint[:8], split_seed=7)


def test_schema_file_split_paths_are_relative_to_the_schema(given, tmp_path, monkeypatch):
    folder, frames = given
    schema = folder / "schema.yaml"
    split = "split: {train: train.csv, valid: valid.csv, test: test.csv}\n"
    schema.write_text("label: label\ncategorical: [user, item]\n" + split)
    monkeypatch.chdir(tmp_path)  # not the schema's folder
    d = prepare("csv", schema=schema)
    assert d.split_sizes["test"] == len(frames["test"])


def test_given_parquet_files(given):
    folder, frames = given
    for role, frame in frames.items():
        frame.to_parquet(folder / f"{role}.parquet", index=False)
    split = {role: str(folder / f"{role}.parquet") for role in ("train", "valid", "test")}
    d = prepare("parquet", schema={**SCHEMA, "split": split})
    np.testing.assert_array_equal(d.valid.y, frames["valid"]["label"].to_numpy(np.float32))
    assert d.vocab_sizes[1] == 31


def test_a_column_names_each_rows_split(tmp_path):
    rows = 60
    frame = pd.DataFrame(
        {
            "label": [k % 2 for k in range(rows)],
            "site": [f"s{k % 7}" for k in range(rows)],
            "fold": ["a", "b", "a", "c", "a", "d"] * 10,
        }
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    split = {"column": "fold", "train": ["a", "b"], "valid": "c", "test": "d"}
    schema = {"label": "label", "categorical": ["site"], "split": split}
    d = prepare("csv", path=tmp_path / "t.csv", schema=schema)
    assert d.split_sizes == {"train": 40, "valid": 10, "test": 10}
    np.testing.assert_array_equal(d.test.y, frame[frame.fold == "d"]["label"].to_numpy(np.float32))
    assert d.protocol["split"]["column"] == "fold" and "fold" not in d.field_names
    frame.loc[:, "fold"] = frame.fold.replace("d", "c")  # nothing left for test
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DatasetError, match="leaves test without rows"):
        prepare("csv", path=tmp_path / "t.csv", schema=schema)


def _row_ids(d, role: str) -> list[int]:
    """The ``rowid`` dense column of a split's rows, unstandardised: which file rows the split holds (a token
    would not tell: tokens seen only in valid or test are unknown)."""
    stats = json.loads((d.path / "meta.json").read_text())["learned"]["dense"]["rowid"]
    return np.rint(getattr(d, role).dense[:, 0] * stats["std"] + stats["mean"]).astype(int).tolist()


def _timed(times: list, tmp_path, ratios=(8, 1, 1), fmt: str = "csv"):
    frame = pd.DataFrame(
        {"label": [k % 2 for k in range(len(times))], "rowid": range(len(times)), "t": times}
    )
    file = tmp_path / f"{fmt}-table.{fmt}"
    frame.to_csv(file, index=False) if fmt == "csv" else frame.to_parquet(file, index=False)
    schema = {
        "label": "label",
        "numeric": {"rowid": "dense"},
        "split": {"order_by": "t", "ratios": list(ratios)},
    }
    return prepare(fmt, path=file, schema=schema)


def test_time_split_sorts_by_the_column_and_keeps_ties_in_file_order(tmp_path):
    # 20 rows, times out of file order, with a tie across the train / valid cut (16 train rows).
    times = [5, 1, 9, 3, 7, 7, 7, 2, 8, 4, 6, 0, 7, 7, 7, 7, 9, 1, 3, 5]
    d = _timed(times, tmp_path)
    order = sorted(range(20), key=lambda k: (times[k], k))  # stable: ties in file order
    expected = {"train": sorted(order[:16]), "valid": sorted(order[16:18]), "test": sorted(order[18:])}
    assert {role: _row_ids(d, role) for role in expected} == expected
    # The tie at t = 7 (rows 4, 5, 6, 12, 13, 14, 15) is cut after its first six rows in file order.
    assert 14 in expected["train"] and 15 in expected["valid"]
    assert d.protocol["split"] == {
        "method": "time",
        "order_by": "t",
        "ratios": [8, 1, 1],
        "ties": "file order",
        "order": "file order within a split",
        "learned_from": "training split",
    }


def test_time_split_reads_iso_dates_with_offsets_and_parquet_timestamps(tmp_path):
    stamps = ["2024-03-01T10:00:00+02:00", "2024-03-01T09:30:00Z", "2024-02-28", "2024-03-02 08:00"] * 5
    d = _timed(stamps, tmp_path, ratios=(2, 1, 1))
    # 10:00+02:00 is 08:00 UTC, before 09:30Z: offsets count. Valid: the 09:30Z rows; test: 2 March's.
    assert _row_ids(d, "test") == list(range(3, 20, 4)) and _row_ids(d, "valid") == list(range(1, 20, 4))
    p = _timed(list(pd.to_datetime(stamps, format="ISO8601", utc=True)), tmp_path, (2, 1, 1), fmt="parquet")
    assert _row_ids(p, "test") == list(range(3, 20, 4)) and _row_ids(p, "valid") == list(range(1, 20, 4))


@pytest.mark.parametrize(
    ("cells", "line", "problem"),
    [
        (["2024-01-01", "2024-01-02", "soon", "2024-01-03"], 4, "'soon', not a time"),
        (["3", "4", "2024-01-05", "5"], 4, "'2024-01-05', not a time"),
        (["3", "4", "nan", "5"], 4, "not a time"),
        (["3", "", "4", "5"], 3, "is empty here"),
    ],
)
def test_a_time_that_cannot_be_ordered_is_refused_naming_its_line(tmp_path, cells, line, problem):
    rows = [*cells, *["6"] * 16] if cells[0].isdigit() else [*cells, *["2024-01-09"] * 16]
    frame = pd.DataFrame({"label": [k % 2 for k in range(20)], "site": ["s"] * 20, "t": rows})
    frame.to_csv(tmp_path / "t.csv", index=False)
    schema = {"label": "label", "categorical": ["site"], "split": {"order_by": "t"}}
    with pytest.raises(DatasetError, match=f"t.csv line {line}: split column t .*{problem}") as e:
        prepare("csv", path=tmp_path / "t.csv", schema=schema)
    assert "\n" not in str(e.value)
    assert not list((tmp_path.parent / "kdbench_home" / "datasets").glob("[0-9a-f]*"))  # nothing cached


@pytest.mark.parametrize(
    ("split", "match"),
    [
        ({"train": "a.csv", "valid": "b.csv"}, "split needs test"),
        ({"train": "a.csv", "valid": "a.csv", "test": "c.csv"}, "one file for two splits"),
        ({"order_by": "t", "ratios": [8, 1]}, "three positive whole numbers"),
        ({"order_by": "t", "ratios": [8, 0, 1]}, "three positive whole numbers"),
        ({"order_by": "t", "seed": 3}, "split.seed is not a key"),
        ({"column": "fold", "train": "a", "valid": "a", "test": "b"}, "'a' name more than one split"),
        ({"column": "site", "train": "a", "valid": "b", "test": "c"}, "split column site is also"),
        ({"train": "a.csv", "valid": "b.csv", "test": "c.csv", "shuffle": True}, "split.shuffle"),
        ("random", "'split' must be"),
    ],
)
def test_bad_split_blocks_name_the_key(split, match):
    with pytest.raises(DatasetError, match=match):
        prepare("csv", path="x.csv", schema={"label": "label", "categorical": ["site"], "split": split})


def test_split_sizes_generalise_the_reference_rounding():
    for n in (10, 11, 19, 999, 1001):
        assert split_sizes(n, (8, 1, 1)) == (n - (2 * n) // 10, (2 * n) // 10 - n // 10, n // 10)
    assert split_sizes(100, (6, 2, 2)) == (60, 20, 20)
    assign = time_assignment(np.array([3.0, 1.0, 2.0, 1.0, 5.0]), (3, 1, 1))
    assert assign.tolist() == [1, 0, 0, 0, 2]
