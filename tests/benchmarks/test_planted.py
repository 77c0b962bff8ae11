"""The planted-interaction tables of the benchmarks: deterministic, learnable, and prepared as written."""

from __future__ import annotations

import pytest

from kdbench.bench.benchmarks.planted import generate_planted_table


def test_same_seed_same_bytes_and_a_known_oracle(tmp_path) -> None:
    a, schema, oracle = generate_planted_table(tmp_path / "a" / "clicks-planted.csv", 5000, seed=3)
    b, _, again = generate_planted_table(tmp_path / "b" / "clicks-planted.csv", 5000, seed=3)
    assert a.read_bytes() == b.read_bytes() and oracle == again
    assert 0.75 < oracle < 0.95  # signal, not a certainty
    other = generate_planted_table(tmp_path / "c" / "clicks-planted.csv", 5000, seed=4)[0]
    assert other.read_bytes() != a.read_bytes()
    header, first = a.read_text().splitlines()[:2]
    assert header == "f0,f1,f2,f3,f4,f5,f6,f7,f8,f9,click" and first.count(",") == 10
    assert "label: click" in schema.read_text()


def test_the_table_prepares_with_its_schema(kdbench_home, tmp_path) -> None:
    from kdbench.bench.data import open_dataset

    csv, schema, _ = generate_planted_table(tmp_path / "planted-small.csv", 4000, fields=8, seed=1)
    data = open_dataset("csv", path=str(csv), schema=str(schema), split_seed=2022)
    assert data.num_rows == 4000 and len(data.vocab_sizes) == 8
    assert 0.1 < float(data.train.y.mean()) < 0.6


def test_too_few_fields_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="fields must be >= 8"):
        generate_planted_table(tmp_path / "t.csv", 100, fields=5)
