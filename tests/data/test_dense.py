"""Dense numeric fields of a table (rule ``dense``): code 1 / 0, values standardised on the training split."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from kdbench.bench.data import cached_datasets, prepare
from kdbench.bench.data._cache import load_entry
from kdbench.bench.data._schema import parse_numeric_flag, rule_text
from kdbench.bench.data._split import split_assignment
from kdbench.bench.errors import DatasetError

ROWS = 3000
HOURS = "heures_par_semaine_déclarées"  # a long, non-ASCII column name


@pytest.fixture
def census(tmp_path):
    """A census-like table: two categoricals, a weight (lognormal, ~1e5), hours (some missing, one '?')."""
    rng = np.random.default_rng(11)
    weight = rng.lognormal(11.5, 0.6, ROWS).round(1)
    hours = rng.normal(40.5, 12.0, ROWS).round(0)
    hours_text = [f"{h:g}" for h in hours]
    gone = rng.random(ROWS) < 0.07
    for k in np.flatnonzero(gone):
        hours_text[k] = ""
    hours_text[5] = "?"
    gone[5] = True
    frame = pd.DataFrame(
        {
            "income": np.where(rng.random(ROWS) < 0.25, ">50K", "<=50K"),
            "workclass": rng.choice(["Private", "Self-emp-not-inc", "État-local", "NA"], ROWS),
            "sex": rng.choice(["Female", "Male"], ROWS),
            "fnlwgt": weight,
            HOURS: hours_text,
        }
    )
    path = tmp_path / "adult-census.csv"
    frame.to_csv(path, index=False)
    values = np.where(gone, np.nan, hours)
    return {"path": path, "hours": values, "weight": weight}


def _schema(hours_rule="dense", weight_rule="dense"):
    return {
        "label": "income",
        "positive": ">50K",
        "categorical": ["workclass", "sex"],
        "numeric": {"fnlwgt": weight_rule, HOURS: hours_rule},
        "missing": ["?"],
    }


def _all_rows(split_of, arrays):
    """Rows of the three splits put back in file order."""
    out = np.empty((len(split_of), *arrays[0].shape[1:]), dtype=arrays[0].dtype)
    for s, array in enumerate(arrays):
        out[split_of == s] = array
    return out


def test_dense_values_are_standardised_on_the_training_split(census):
    d = prepare("csv", path=census["path"], schema=_schema(), split_seed=7)
    assert d.field_names == ["workclass", "sex", "fnlwgt", HOURS]
    assert d.dense_fields == [2, 3] and d.vocab_sizes[2:] == [2, 2]  # 0: missing, 1: the field's vector
    assert d.vocabulary(HOURS) == [1]
    split_of = split_assignment(ROWS, 7)
    train = split_of == 0
    (meta,) = [m for m in cached_datasets() if m["fingerprint"] == d.fingerprint]
    assert meta["dense_fields"] == [2, 3]
    for k, (name, raw) in enumerate((("fnlwgt", census["weight"]), (HOURS, census["hours"]))):
        present = raw[train][~np.isnan(raw[train])]
        mean, std = np.mean(present), np.std(present)
        assert meta["learned"]["dense"][name] == {"mean": float(mean), "std": float(std)}
        assert abs(mean - np.nanmean(raw)) > 0 and std > 1  # the training split's, not the file's
        values = _all_rows(split_of, [d.train.dense, d.valid.dense, d.test.dense])[:, k]
        codes = _all_rows(split_of, [d.train.x, d.valid.x, d.test.x])[:, d.dense_fields[k]]
        missing = np.isnan(raw)
        expected = ((raw - mean) / std).astype(np.float32)
        np.testing.assert_array_equal(values[~missing], expected[~missing])
        assert (codes[missing] == 0).all() and (codes[~missing] == 1).all()
        assert (values[missing] == 1.0).all()  # the missing vector is used unscaled
    hours_values = d.train.dense[:, 1][d.train.x[:, 3] == 1]
    assert abs(float(hours_values.mean())) < 1e-5 and abs(float(hours_values.std()) - 1) < 1e-5
    assert d.train.dense.dtype == np.float32 and d.test.dense.shape == (len(d.test), 2)
    assert isinstance(d.train.dense, np.memmap)  # mapped from the entry like the codes
    assert d.info()["dense_fields"] == [2, 3]
    assert d.protocol["dense"]["value"].startswith("(v - mean) / std")


def test_dense_and_quantile_are_other_datasets(census):
    dense = prepare("csv", path=census["path"], schema=_schema())
    bucketed = prepare("csv", path=census["path"], schema=_schema(hours_rule={"quantile": 10}))
    assert dense.fingerprint != bucketed.fingerprint
    assert bucketed.dense_fields == [2] and bucketed.train.dense.shape == (len(bucketed.train), 1)
    assert bucketed.vocab_sizes[3] == 11
    plain = prepare("csv", path=census["path"], schema=_schema(hours_rule="identity", weight_rule="quantile"))
    assert plain.dense_fields == [] and plain.train.dense is None and "dense_fields" not in plain.info()
    assert not list(plain.path.glob("*_dense.npy"))


def test_an_entry_from_before_dense_fields_loads_unchanged(census):
    plain = prepare("csv", path=census["path"], schema=_schema("quantile", "quantile"))
    meta = json.loads((plain.path / "meta.json").read_text())
    assert "dense_fields" not in meta  # what every entry written before dense fields looks like
    again = load_entry(plain.path)
    assert again.dense_fields == [] and all(
        getattr(again, s).dense is None for s in ("train", "valid", "test")
    )
    np.testing.assert_array_equal(again.train.x, plain.train.x)


def test_a_broken_dense_array_is_a_cache_miss_not_a_crash(census):
    d = prepare("csv", path=census["path"], schema=_schema())
    np.save(d.path / "valid_dense.npy", np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="valid dense array of the wrong shape"):
        load_entry(d.path)
    again = prepare("csv", path=census["path"], schema=_schema())  # rebuilt, with the right arrays
    assert again.valid.dense.shape == (len(again.valid), 2)


def test_parquet_and_spilled_scratch_give_the_same_dense_arrays(census, tmp_path, monkeypatch):
    reference = prepare("csv", path=census["path"], schema=_schema())
    frame = pd.read_csv(census["path"], dtype={HOURS: str}, keep_default_na=False)
    frame[HOURS] = pd.to_numeric(frame[HOURS].replace({"": None, "?": None}))
    parquet = tmp_path / "adult-census.parquet"
    frame.to_parquet(parquet)
    from_parquet = prepare("parquet", path=parquet, schema={**_schema(), "name": "adult-parquet"})
    np.testing.assert_array_equal(from_parquet.test.dense, reference.test.dense)
    np.testing.assert_array_equal(from_parquet.test.x, reference.test.x)
    # Many small chunks, and the scratch spilled to disk: the float bits survive the int32 detour.
    monkeypatch.setattr("kdbench.bench.data._table.ROWS_PER_CHUNK", 700)
    monkeypatch.setattr("kdbench.bench.data._build.SCRATCH_IN_MEMORY", 0)
    spilled = prepare("csv", path=census["path"], schema=_schema(), split_seed=2022, home=tmp_path / "other")
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(getattr(spilled, split).dense, getattr(reference, split).dense)


def test_a_constant_or_empty_dense_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("y,flat,none\n" + "".join(f"{k % 2},3.25,\n" for k in range(40)))
    d = prepare("csv", path=path, schema={"label": "y", "numeric": {"flat": "dense", "none": "dense"}})
    (meta,) = [m for m in cached_datasets() if m["fingerprint"] == d.fingerprint]
    assert meta["learned"]["dense"] == {"flat": {"mean": 3.25, "std": 1.0}, "none": {"mean": 0.0, "std": 1.0}}
    assert (d.train.dense[:, 0] == 0.0).all() and (d.train.dense[:, 1] == 1.0).all()
    assert d.vocab_sizes == [2, 1] and (d.train.x[:, 1] == 0).all()  # no value anywhere: code 0 only


def test_an_infinite_dense_value_names_its_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("y,v\n" + "".join(f"{k % 2},{'inf' if k == 12 else k}\n" for k in range(30)))
    with pytest.raises(DatasetError, match=r"t.csv line 14: dense column v holds inf; a dense value must be"):
        prepare("csv", path=path, schema={"label": "y", "numeric": {"v": "dense"}})
    assert prepare("csv", path=path, schema={"label": "y", "numeric": {"v": "quantile"}}).vocab_sizes


def test_dense_in_flags_and_rule_text():
    assert parse_numeric_flag(f"age:dense,{HOURS}:dense,w") == {
        "age": "dense", HOURS: "dense", "w": {"quantile": 10}
    }  # fmt: skip
    assert rule_text("dense") == "dense"


def _no_entry(name: str) -> bool:
    return not [m for m in cached_datasets() if m["name"] == name]


@pytest.mark.parametrize("huge", ["1e200", "-1e200", "1e308"])
def test_a_dense_column_whose_statistics_overflow_is_refused(tmp_path, huge):
    # 1e200's square overflows (std inf, formerly replaced by 1, leaving inf values in the cache); 1e308's
    # sum overflows (mean inf). The line named holds the largest training value.
    split_of = split_assignment(60, 2022)
    row = int(np.flatnonzero(split_of == 0)[3])
    path = tmp_path / "über-groß.csv"
    path.write_text(
        "y,größe\n" + "".join(f"{k % 2},{huge if k in (row, row + 40) else k}\n" for k in range(60))
    )
    schema = {"label": "y", "numeric": {"größe": "dense"}, "name": "ueber-gross"}
    refused = rf"über-groß.csv line {row + 2}: dense column größe holds {re.escape(repr(float(huge)))}, "
    with pytest.raises(DatasetError, match=refused + "too large for its mean and std"):
        prepare("csv", path=path, schema=schema)
    assert _no_entry("ueber-gross")
    assert prepare("csv", path=path, schema={**schema, "numeric": {"größe": "quantile"}}).vocab_sizes


def test_a_finite_value_that_standardises_to_inf_names_its_line(tmp_path):
    # The training split's values are small; one valid/test value is finite in float64 but its standardised
    # value overflows float32: it used to reach the cache as inf.
    split_of = split_assignment(80, 2022)
    row = int(np.flatnonzero(split_of != 0)[1])
    path = tmp_path / "t.csv"
    path.write_text("y,v\n" + "".join(f"{k % 2},{'1e300' if k == row else k}\n" for k in range(80)))
    refused = rf"t.csv line {row + 2}: dense column v holds 1e\+300, which standardises to inf \(mean .*\); "
    with pytest.raises(DatasetError, match=refused + "a dense value must stay finite"):
        prepare("csv", path=path, schema={"label": "y", "numeric": {"v": "dense"}, "name": "huge-valid"})
    assert _no_entry("huge-valid")


def test_a_dense_column_without_a_training_value_is_refused(tmp_path):
    split_of = split_assignment(90, 2022)
    cells = [f"{k * 0.5:g}" if split_of[k] != 0 else "" for k in range(90)]  # values only in valid/test
    path = tmp_path / "t.csv"
    path.write_text(f"y,a,{HOURS}\n" + "".join(f"{k % 2},x{k % 3},{c}\n" for k, c in enumerate(cells)))
    schema = {"label": "y", "categorical": ["a"], "numeric": {HOURS: "dense"}, "name": "late-hours"}
    refused = (
        rf"t.csv: dense column {HOURS} has no value in the training split \({int((split_of != 0).sum())} "
        rf"value\(s\), all in valid or test rows\), so its vector would never train: make {HOURS} "
        r"categorical or drop it from the schema$"
    )
    with pytest.raises(DatasetError, match=refused):
        prepare("csv", path=path, schema=schema)
    assert _no_entry("late-hours")
    assert prepare(
        "csv", path=path, schema={**schema, "categorical": ["a", HOURS], "numeric": {}}
    ).vocab_sizes


def test_a_top_level_dense_key_suggests_the_numeric_rule():
    with pytest.raises(DatasetError, match=rf"unknown key\(s\) dense; .*; dense is a numeric rule: numeric: "
                                           rf"\{{hours: dense, {HOURS}: dense\}}$"):  # fmt: skip
        prepare("csv", path="unused.csv", schema={"label": "y", "numeric": ["w"], "dense": ["hours", HOURS]})
