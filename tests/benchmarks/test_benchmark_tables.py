"""The defaults benchmark's generated tables: deterministic, of the shape their spec says, prepared as
written, and with the signal their name promises."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from kdbench.bench.benchmarks.tables import SIGNALS, SUITE, TableSpec, generate_table


def _small(spec_name: str, rows: int = 6_000) -> TableSpec:
    spec = next(s for s in SUITE if s.name == spec_name)
    return dataclasses.replace(spec, name=f"{spec.name}-small", rows=rows)


def test_same_spec_same_bytes_another_seed_other_bytes(tmp_path) -> None:
    spec = _small("syn-pairs-200k", 3_000)
    a, schema, oracle = generate_table(spec, tmp_path / "a")
    b, _, again = generate_table(spec, tmp_path / "b")
    assert a.read_bytes() == b.read_bytes() and oracle == again
    other, _, _ = generate_table(dataclasses.replace(spec, seed=spec.seed + 1), tmp_path / "c")
    assert other.read_bytes() != a.read_bytes()
    header = a.read_text().splitlines()[0].replace('"', "").split(",")
    assert header == [*(f"c{i}" for i in range(12)), "n0", "n1", "n2", "n3", "click"]
    assert '"label": "click"' in schema.read_text()


def test_the_suite_spans_the_shapes_the_benchmark_promises() -> None:
    rows = [s.rows for s in SUITE]
    fields = [s.fields + s.numeric for s in SUITE]
    assert min(rows) <= 20_000 and max(rows) >= 1_000_000
    assert min(fields) <= 6 and max(fields) >= 40
    assert max(s.max_vocab for s in SUITE) >= 100_000 and min(s.max_vocab for s in SUITE) <= 50
    assert {s.signal for s in SUITE} == set(SIGNALS)
    assert any(s.numeric == 0 for s in SUITE) and any(s.numeric >= 8 for s in SUITE)
    assert len({s.name for s in SUITE}) == len(SUITE) and len({s.seed for s in SUITE}) == len(SUITE)


def test_a_table_prepares_with_its_schema_dense_and_missing_numbers_included(kdbench_home, tmp_path) -> None:
    from kdbench.bench.data import open_dataset

    spec = _small("syn-pairs-200k", 4_000)
    csv, schema, _ = generate_table(spec, tmp_path)
    data = open_dataset("csv", path=str(csv), schema=str(schema), split_seed=2022)
    assert data.num_rows == 4_000 and len(data.field_names) == 16
    assert [data.field_names[i] for i in data.dense_fields] == ["n0", "n2"]  # even numeric columns: dense
    assert 0.15 < data.positive_rate < 0.4  # about a quarter click
    present = np.asarray(data.train.x)[:, data.dense_fields]
    assert 0.02 < float((present == 0).mean()) < 0.1  # 5 % of the numbers are missing (empty cells)


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("syn-noise-50k", 0.5, 0.65), ("syn-first-order-20k", 0.75, 0.9), ("syn-high-order-100k", 0.8, 0.95)],
)
def test_each_signal_has_the_oracle_its_name_promises(tmp_path, name, low, high) -> None:
    _, _, oracle = generate_table(_small(name, 20_000), tmp_path)
    assert low < oracle < high


def test_interactions_are_not_first_order(tmp_path) -> None:
    """On the high-order table a first-order model (per-value click rates) stays far below the oracle."""
    from sklearn.metrics import roc_auc_score

    csv, _, oracle = generate_table(_small("syn-high-order-100k", 40_000), tmp_path)
    table = np.loadtxt(csv, delimiter=",", skiprows=1, dtype=np.int64)
    x, y = table[:, :-1], table[:, -1]
    train, test = slice(0, 30_000), slice(30_000, None)
    logit = np.zeros(len(y))
    for f in range(x.shape[1]):  # naive Bayes on the first-order counts
        pos = np.bincount(x[train, f], weights=y[train], minlength=x[:, f].max() + 1) + 1
        all_ = np.bincount(x[train, f], minlength=x[:, f].max() + 1) + 2
        logit += np.log(pos / all_)[x[:, f]]
    first_order = roc_auc_score(y[test], logit[test])
    assert first_order < oracle - 0.1


def test_a_spec_with_an_unknown_signal_or_too_few_fields_is_refused() -> None:
    with pytest.raises(ValueError, match="signal must be one of first-order, pairs, high-order, noise"):
        TableSpec("t", 100, 6, 10, "quadratic")
    with pytest.raises(ValueError, match="too few fields"):
        TableSpec("t", 100, 6, 10, "high-order")


def test_the_defaults_benchmark_runs_the_fitted_recipe_and_both_baselines(kdbench_home, capsys) -> None:
    from kdbench.bench.benchmarks.defaults import _print_table, run_defaults

    (row,) = run_defaults(["syn-first-order-20k"], threads=1)
    assert row["rows"] == 20_000 and row["fields"] == 6 and row["recipe"] == "fitted"
    assert row["defaults"] == {"weight_decay": 3e-3, "max_epochs": 40, "patience": 5}  # up to 50,000 rows
    # First-order data: every model is near the oracle, and the default student is above gradient boosting.
    assert row["lr"] > 0.78 and row["gbdt"] > 0.75 and 0.78 < row["student"] < row["oracle"] + 0.02
    assert row["vs_gbdt"] == pytest.approx(row["student"] - row["gbdt"])
    _print_table([row])
    out = capsys.readouterr().out
    assert "| syn-first-order-20k | 20,000 | 6 (0) | fitted: wd 0.003, 40/5 |" in out
