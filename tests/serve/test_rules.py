"""Raw rows -> codes reproduce the cache exactly, for every rule a table can use (text, missing values,
rare tokens, quantile/edges/log_square/identity numbers), and a decoded split encodes back to its codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kdbench.bench.data import prepare
from kdbench.bench.serve import encode_rows, field_rules, split_rows
from kdbench.bench.serve._rules import missing_values

SCHEMA = """\
label: click
categorical: [city, device]
numeric:
  age: {quantile: 5}
  spend: log_square
  visits: identity
  score: {edges: [0, 0.5, 1]}
min_count: 2
missing: ["?"]
"""


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, object]:
    """2,000 rows: a rare city (min_count 2 -> 0), '?' and empty cells (missing), numbers of every rule."""
    folder = tmp_path_factory.mktemp("rules")
    rng = np.random.default_rng(5)
    rows = 2000
    frame = pd.DataFrame(
        {
            "city": rng.choice(["Zürich", "Genève", "東京", "Lyon", "?", ""], rows).astype(object),
            "device": rng.choice(["phone", "tablet", "desktop"], rows).astype(object),
            "age": rng.integers(18, 80, rows).astype(str).astype(object),
            "spend": rng.choice(["0", "1", "2", "3", "17", "250", "4000", "?"], rows).astype(object),
            "visits": rng.integers(0, 12, rows).astype(str).astype(object),
            "score": np.round(rng.uniform(-0.5, 1.5, rows), 3).astype(str).astype(object),
            "click": rng.integers(0, 2, rows),
        }
    )
    frame.loc[7, "city"] = "Only-once"  # seen once: rarer than min_count, so code 0 in the cache
    frame.loc[11, "age"] = ""
    csv = folder / "visits.csv"
    frame.to_csv(csv, index=False)
    (folder / "schema.yaml").write_text(SCHEMA, encoding="utf-8")
    dataset = prepare("csv", path=csv, schema=folder / "schema.yaml", home=folder / "home")
    return pd.read_csv(csv, dtype=str, keep_default_na=False, na_filter=False), dataset


def _vocabularies(dataset) -> list[list]:
    return [dataset.vocabulary(name) for name in dataset.field_names]


def _sorted_rows(codes: np.ndarray) -> np.ndarray:
    return codes[np.lexsort(codes.T[::-1])]


def test_raw_rows_encode_to_the_cache_codes(table) -> None:
    raw, dataset = table
    rules = field_rules(dataset)
    assert rules[:2] == ["token", "token"] and rules[3:] == ["log_square", "identity", {"edges": [0, 0.5, 1]}]
    assert set(rules[2]) == {"edges"} and len(rules[2]["edges"]) == 4  # the quantile rule's learned edges
    codes, unseen = encode_rows(
        raw, dataset.field_names, _vocabularies(dataset), rules, missing_values(dataset)
    )
    cached = np.concatenate([dataset.train.x, dataset.valid.x, dataset.test.x]).astype(np.int64)
    # The split shuffles rows: the multisets of code rows are equal, row for row once sorted.
    np.testing.assert_array_equal(_sorted_rows(codes), _sorted_rows(cached))
    assert unseen["city"] == 1  # the rare city; "?" and "" are missing, not unseen
    assert codes[7, 0] == 0 and codes[11, 2] == 0
    assert sum(unseen.values()) == 1


def test_a_decoded_split_encodes_back_to_its_codes(table) -> None:
    _raw, dataset = table
    rows = split_rows(dataset, "test")
    assert list(rows.columns) == [*dataset.field_names, "label"]
    np.testing.assert_array_equal(rows["label"].to_numpy(), dataset.test.y.astype(np.int8))
    text = pd.read_csv(  # through a CSV file, as `kdbench student predict` reads it
        pd.io.common.StringIO(rows.to_csv(index=False)), dtype=str, keep_default_na=False, na_filter=False
    )
    codes, unseen = encode_rows(
        text, dataset.field_names, _vocabularies(dataset), field_rules(dataset), missing_values(dataset)
    )
    np.testing.assert_array_equal(codes, np.asarray(dataset.test.x, dtype=np.int64))
    assert not any(unseen.values())


def test_typed_values_match_text_and_numeric_vocabularies(tmp_path: Path) -> None:
    """Parquet gives numbers, and an int column with gaps arrives as floats: 7.0 is the token "7"."""
    frame = pd.DataFrame({"a": [7.0, 3.0, None, 8.5], "b": ["1", "x", "2", None]})
    codes, unseen = encode_rows(frame, ["a", "b"], [["3", "7"], [1, 2]])
    assert codes.tolist() == [[2, 1], [1, 0], [0, 2], [0, 0]]
    assert unseen == {"a": 1, "b": 1}  # 8.5 and "x"; None is missing
