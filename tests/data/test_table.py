"""csv / parquet tables with a schema (bench/data/_table.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bench.data import TableSchema, prepare
from bench.errors import DatasetError

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
    b = prepare("parquet", path=parquet_path, schema=schema_file)
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
