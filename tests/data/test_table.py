"""csv / parquet tables with a schema (bench/data/_table.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kdbench.bench.data import TableSchema, load_schema, prepare
from kdbench.bench.errors import DatasetError

SCHEMA = """\
label: click
categorical: [site, device]
numeric:
  price: log_square
  age: identity
  score: {edges: [0.5, 1.0]}
min_count: 2
name: my-logs
"""


@pytest.fixture
def frame() -> pd.DataFrame:
    n = 30
    return pd.DataFrame(
        {
            "click": [k % 3 == 0 for k in range(n)],
            "site": ["a", "a", "b"] * 10,
            "device": ["d0"] + [f"d{k % 7}" for k in range(1, n - 1)] + [None],  # d0 seen 1 + 4 times
            "price": [0, 1, 2, 3, 100, None] * 5,
            "age": [20, 30, None] * 10,
            "score": [0.1, 0.5, 0.7, 1.0, 2.0, None] * 5,
            "unused": ["zzz"] * n,
        }
    )


@pytest.fixture
def schema_file(tmp_path):
    path = tmp_path / "schema.yaml"
    path.write_text(SCHEMA)
    return path


def _decoded(d, field):
    x = np.concatenate([d.train.x, d.valid.x, d.test.x])
    tokens = d.vocabulary(field)
    return [None if c == 0 else tokens[c - 1] for c in x[:, d.field_names.index(field)]]


def test_csv_with_schema_file(tmp_path, frame, schema_file):
    path = tmp_path / "logs.csv"
    frame.assign(click=frame.click.astype(int)).to_csv(path, index=False)
    d = prepare("csv", path=path, schema=schema_file)
    assert d.name == "my-logs" and d.source == "csv"
    assert d.field_names == ["site", "device", "price", "age", "score"]
    assert d.num_rows == 30 and d.positives == 10
    assert d.vocabulary("site") == ["a", "b"]
    assert set(d.vocabulary("device")) == {f"d{k}" for k in range(7)}  # each >= 2 times
    assert _decoded(d, "device").count(None) == 1  # the missing one
    assert d.vocabulary("price") == [0, 1, 2, 3, math.ceil(math.log(100) ** 2 + 1)]
    assert d.vocabulary("age") == [20, 30]
    assert d.vocabulary("score") == [0, 1, 2]  # buckets: < 0.5, [0.5, 1.0), >= 1.0
    scores = sorted(t for t in _decoded(d, "score") if t is not None)
    assert scores.count(0) == 5 and scores.count(1) == 10 and scores.count(2) == 10


def test_min_count_drops_rare_categories(tmp_path, frame):
    path = tmp_path / "logs.csv"
    frame.to_csv(path, index=False)
    d = prepare("csv", path=path, schema={"label": "click", "categorical": ["device"], "min_count": 5})
    assert d.vocabulary("device") == ["d0"]  # d0 is seen 5 times, d1..d6 4 times each
    assert _decoded(d, "device").count("d0") == 5
    assert d.positives == 10  # a True/False label column works too


def test_parquet_matches_csv(tmp_path, frame, schema_file):
    csv_path, parquet_path = tmp_path / "logs.csv", tmp_path / "logs.parquet"
    frame.assign(click=frame.click.astype(int)).to_csv(csv_path, index=False)
    frame.to_parquet(parquet_path)
    a = prepare("csv", path=csv_path, schema=schema_file)
    with pytest.raises(DatasetError, match="'my-logs' is taken by"):  # one name, one file
        prepare("parquet", path=parquet_path, schema=schema_file)
    b = prepare("parquet", path=parquet_path, schema={**load_schema(schema_file).to_mapping(), "name": "pq"})
    assert b.source == "parquet" and a.vocab_sizes == b.vocab_sizes
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(getattr(a, split).x, getattr(b, split).x)
        np.testing.assert_array_equal(getattr(a, split).y, getattr(b, split).y)


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"label": "click", "categorical": ["nope"]}, "nope, not in"),
        ({"label": "click", "categorical": ["site"], "colour": 1}, "unknown key"),
        ({"categorical": ["site"]}, "'label'"),
        ({"label": "click"}, "at least one"),
        ({"label": "click", "numeric": {"price": "cube"}}, "numeric.price"),
        ({"label": "click", "numeric": {"price": {"edges": [2, 1]}}}, "numeric.price"),
        ({"label": "click", "categorical": ["site", "site"]}, "listed twice"),
        ({"label": "click", "categorical": ["site"], "min_count": 0}, "min_count"),
        ({"label": "site", "categorical": ["device"]}, "label"),
        (None, "need a schema"),
    ],
)
def test_schema_errors(tmp_path, frame, schema, message):
    path = tmp_path / "logs.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DatasetError, match=message):
        prepare("csv", path=path, schema=schema)


def test_label_must_be_binary_and_present(tmp_path, frame):
    path = tmp_path / "logs.csv"
    frame.assign(click=[2] + [0] * 29).to_csv(path, index=False)
    with pytest.raises(DatasetError, match="must be 0 or 1, found 2"):
        prepare("csv", path=path, schema={"label": "click", "categorical": ["site"]})
    frame.assign(click=[None] + [0] * 29).to_csv(path, index=False)
    with pytest.raises(DatasetError, match="no label"):
        prepare("csv", path=path, schema={"label": "click", "categorical": ["site"]})


def test_bad_yaml_and_short_rows(tmp_path, frame):
    bad = tmp_path / "bad.yaml"
    bad.write_text("label: [unclosed\n")
    path = tmp_path / "logs.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DatasetError, match="not valid YAML"):
        prepare("csv", path=path, schema=bad)
    with pytest.raises(DatasetError, match="cannot read schema"):
        prepare("csv", path=path, schema=tmp_path / "missing.yaml")
    lines = path.read_text().splitlines()
    lines[5] = ",".join(lines[5].split(",")[:3])
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match="line 6 does not have 7 columns"):
        prepare("csv", path=path, schema={"label": "click", "categorical": ["site"]})


def test_schema_object_and_not_parquet(tmp_path):
    spec = TableSchema.from_mapping({"label": "y", "categorical": ["a"]})
    assert spec.fields == ["a"] and spec.min_count == 1
    path = tmp_path / "x.parquet"
    path.write_text("not parquet")
    with pytest.raises(DatasetError, match="not a Parquet file"):
        prepare("parquet", path=path, schema=spec)


# ---- values kept as written, missing values, labels, numeric rules ---------------------------------------


def test_na_none_and_null_are_categories_unless_listed_as_missing(tmp_path):
    path = tmp_path / "words.csv"
    cells = ["NA", "None", "null", "", "x"] * 6
    path.write_text(
        "click,word,n\n" + "".join(f"{k % 2},{c},{c if c != 'x' else 1}\n" for k, c in enumerate(cells))
    )
    d = prepare("csv", path=path, schema={"label": "click", "categorical": ["word"]})
    assert d.vocabulary("word") == ["NA", "None", "null", "x"]  # only the empty cell is missing
    assert _decoded(d, "word").count(None) == 6
    schema = {"label": "click", "categorical": ["word"], "missing": ["NA", "null"], "name": "words-missing"}
    d = prepare("csv", path=path, schema=schema)
    assert d.vocabulary("word") == ["None", "x"] and _decoded(d, "word").count(None) == 18
    with pytest.raises(DatasetError, match=r"line 2: numeric column n holds 'NA', not a number"):
        prepare("csv", path=path, schema={"label": "click", "numeric": {"n": "identity"}, "name": "n1"})
    d = prepare("csv", path=path, schema={"label": "click", "numeric": {"n": "identity"}, "name": "n2",
                                          "missing": ["NA", "None", "null"]})  # fmt: skip
    assert d.vocabulary("n") == [1.0] and _decoded(d, "n").count(None) == 24


def test_positive_binarises_a_text_label(tmp_path):
    path = tmp_path / "income.csv"
    labels = [" >50K", " <=50K", " <=50K"] * 10  # as in the census file: a space after the comma
    path.write_text("income,sex\n" + "".join(f"{y},{'MF'[k % 2]}\n" for k, y in enumerate(labels)))
    schema = {"label": "income", "categorical": ["sex"]}
    with pytest.raises(
        DatasetError, match=r"income.csv line 2: label income holds ' >50K', not 0 or 1; set positive"
    ):
        prepare("csv", path=path, schema=schema)
    d = prepare("csv", path=path, schema={**schema, "positive": " >50K"})
    assert d.num_rows == 30 and d.positives == 10 and d.protocol["positive"] == " >50K"
    with pytest.raises(
        DatasetError, match=r"no row has income = '>50K' \(values seen: ' >50K', ' <=50K'\)|no row"
    ):
        prepare("csv", path=path, schema={**schema, "positive": ">50K", "name": "typo"})
    with pytest.raises(DatasetError, match="'positive' is a boolean here: quote the label value"):
        prepare("csv", path=path, schema={**schema, "positive": True})
    numbers = tmp_path / "stars.csv"
    numbers.write_text("stars,sex\n" + "".join(f"{k % 5 + 1},{'MF'[k % 2]}\n" for k in range(30)))
    d = prepare("csv", path=numbers, schema={"label": "stars", "categorical": ["sex"], "positive": 5})
    assert d.positives == 6


def test_a_bad_label_names_its_line(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("click,site\n" + "".join(f"{2 if k == 17 else k % 2},s\n" for k in range(30)))
    with pytest.raises(DatasetError, match=r"labels.csv line 19: label click must be 0 or 1, found 2"):
        prepare("csv", path=path, schema={"label": "click", "categorical": ["site"]})


def test_a_text_value_in_a_numeric_column_names_the_column_and_the_file_line(tmp_path):
    path = tmp_path / "census.csv"
    rows = [f'{k % 2},"two\nlines",{20 + k}' if k == 3 else f"{k % 2},one,{20 + k}" for k in range(40)]
    rows[30] = "1,one,Private"  # data row 31; line 33: the header and the quoted line break come before it
    path.write_text("click,note,age\n" + "\n".join(rows) + "\n")
    with pytest.raises(DatasetError) as refused:
        prepare("csv", path=path, schema={"label": "click", "categorical": ["note"], "numeric": ["age"]})
    message = str(refused.value)
    assert f"{path} line 33: numeric column age holds 'Private', not a number" in message
    assert "list it under missing:" in message and "make age categorical" in message


def test_parquet_names_the_row_of_a_bad_numeric_value(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"y": [0, 1] * 10, "v": [str(k) for k in range(19)] + ["abc"]}).to_parquet(path)
    with pytest.raises(DatasetError, match=r"t.parquet row 20: numeric column v holds 'abc'"):
        prepare("parquet", path=path, schema={"label": "y", "numeric": ["v"]})


def test_numeric_list_quantile_edges_come_from_the_training_split(tmp_path):
    from kdbench.bench.data._split import split_assignment

    rng = np.random.default_rng(5)
    n = 1000
    weight, gain = (
        rng.lognormal(10, 1, n).round(1),
        np.where(rng.random(n) < 0.9, 0, rng.integers(1, 9999, n)),
    )
    path = tmp_path / "census.csv"
    pd.DataFrame({"y": rng.integers(0, 2, n), "fnlwgt": weight, "gain": gain}).to_csv(path, index=False)
    d = prepare("csv", path=path, schema={"label": "y", "numeric": ["fnlwgt", "gain"]}, split_seed=3)
    assert d.protocol["numeric"] == {"fnlwgt": {"quantile": 10}, "gain": {"quantile": 10}}
    from kdbench.bench.data import cached_datasets

    (meta,) = [m for m in cached_datasets() if m["fingerprint"] == d.fingerprint]
    edges = meta["learned"]["quantile_edges"]
    train = split_assignment(n, 3) == 0
    expected = np.unique(np.quantile(weight[train], np.arange(1, 10) / 10))
    np.testing.assert_allclose(edges["fnlwgt"], expected)
    assert d.vocab_sizes[0] == 11  # 10 buckets + index 0, not ~1000 distinct weights as identity would give
    assert len(edges["gain"]) < 9  # 90 % zeros: tied deciles merge
    train_codes = d.train.x[:, 0]
    assert np.bincount(train_codes, minlength=11)[1:].min() >= 0.09 * len(train_codes)  # ~ equal buckets
    other = prepare("csv", path=path, schema={"label": "y", "numeric": ["fnlwgt", "gain"]}, split_seed=4)
    (meta4,) = [m for m in cached_datasets() if m["fingerprint"] == other.fingerprint]
    assert meta4["learned"]["quantile_edges"]["fnlwgt"] != edges["fnlwgt"]  # another split, other edges


def test_min_count_applies_to_identity_columns_not_to_buckets(tmp_path):
    path = tmp_path / "t.csv"
    ages = [30] * 10 + [40] * 10 + list(range(50, 60))  # 50..59 seen once each
    path.write_text("y,age,b\n" + "".join(f"{k % 2},{a},{a}\n" for k, a in enumerate(ages)))
    schema = {"label": "y", "numeric": {"age": "identity", "b": {"edges": [55]}}, "min_count": 2}
    d = prepare("csv", path=path, schema=schema)
    assert d.vocabulary("age") == [30.0, 40.0] and _decoded(d, "age").count(None) == 10
    assert d.vocabulary("b") == [0, 1]  # a bucket is never rare: 5 rows in bucket 1, kept


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"quantile": 1}, "quantile needs a bucket count from 2 to 10000, got 1"),
        ({"quantile": "ten"}, "quantile needs a bucket count"),
        ({"edges": []}, "numeric.v: rule must be"),
        ("standardise", "numeric.v: rule must be quantile, {quantile: K}, identity, log_square, dense or"),
    ],
)
def test_bad_numeric_rules_name_the_column(tmp_path, rule, message):
    path = tmp_path / "t.csv"
    path.write_text("y,v\n" + "".join(f"{k % 2},{k}\n" for k in range(20)))
    with pytest.raises(DatasetError, match=message):
        prepare("csv", path=path, schema={"label": "y", "numeric": {"v": rule}})


def test_numeric_flag_syntax():
    from kdbench.bench.data._schema import parse_numeric_flag

    assert parse_numeric_flag("a,b:identity,c:quantile=5,d:edges=[0,1.5,3],e:log_square,f:quantile") == {
        "a": {"quantile": 10}, "b": "identity", "c": {"quantile": 5}, "d": {"edges": [0.0, 1.5, 3.0]},
        "e": "log_square", "f": {"quantile": 10},
    }  # fmt: skip
    with pytest.raises(DatasetError, match="--numeric d: edges"):
        parse_numeric_flag("d:edges=[a,b]")
    with pytest.raises(DatasetError, match="--numeric c: quantile=K needs a whole number"):
        parse_numeric_flag("c:quantile=many")


def test_schema_round_trips_and_bad_names():
    spec = TableSchema.from_mapping(
        {"label": "y", "categorical": ["a"], "numeric": ["b"], "positive": 1, "missing": ["?"], "name": "t"}
    )
    assert TableSchema.from_mapping(spec.to_mapping()) == spec
    with pytest.raises(DatasetError, match="dataset name 'my data' must be"):
        TableSchema.from_mapping({"label": "y", "categorical": ["a"], "name": "my data"})
