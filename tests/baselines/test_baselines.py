"""kdbench.bench.baselines: LR and GBDT on the real ml-100k split and on small tables with wide and dense
fields."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from kdbench.bench._baselines._features import Categories, OneHot, fit_rows
from kdbench.bench.baselines import C_GRID, GBDT_MAX_ITER, MAX_BINS, BaselineResult, fit_baselines
from kdbench.bench.errors import BaselineError
from tests.baselines._tables import table, wide_table


@pytest.fixture(scope="module")
def ml100k_baselines(ml100k) -> dict[str, BaselineResult]:
    return {r.model: r for r in fit_baselines(ml100k, threads=1)}


def test_both_baselines_are_real_on_ml100k(ml100k, ml100k_baselines) -> None:
    assert list(ml100k_baselines) == ["lr", "gbdt"]
    for result in ml100k_baselines.values():
        assert result.dataset_fingerprint == ml100k.fingerprint and result.seed == 0
        # what plain models get on MovieLens-100K clicks: well above chance, below the KD students' ~0.86
        assert 0.75 < result.valid_auc < 0.9 and 0.75 < result.test_auc < 0.9
        assert 0.3 < result.test_logloss < 0.6 and result.fit_seconds > 0
        assert 0 < result.latency_ms_b1 < result.latency_ms_b4096 and result.latency_threads == 1
        assert result.versions["scikit-learn"] and result.params["train_rows"] == len(ml100k.train)


def test_lr_keeps_the_grid_point_with_the_best_validation_log_loss(ml100k_baselines) -> None:
    params = ml100k_baselines["lr"].params
    curve = {float(c): loss for c, loss in params["valid_logloss_by_C"].items()}
    assert params["C"] in C_GRID and set(curve) <= set(C_GRID) and len(curve) >= 3
    assert curve[params["C"]] == min(curve.values())
    assert ml100k_baselines["lr"].valid_logloss == pytest.approx(curve[params["C"]])
    # the grid stops at the first C past the minimum: only the last one tried is worse than an earlier one
    tried = list(curve.values())
    assert all(a > b for a, b in itertools.pairwise(tried[:-1])) and params["converged"]


def test_gbdt_stops_early_with_the_wide_fields_capped(ml100k, ml100k_baselines) -> None:
    params = ml100k_baselines["gbdt"].params
    assert params["early_stopped"] and 10 < params["iterations"] < GBDT_MAX_ITER
    wide = {n: v for n, v in zip(ml100k.field_names, ml100k.vocab_sizes, strict=True) if v > MAX_BINS}
    assert params["capped_fields"] == wide == {"user_id": 944, "item_id": 1643, "zip_code": 796}


def test_a_result_round_trips_through_json(ml100k_baselines) -> None:
    for result in ml100k_baselines.values():
        assert BaselineResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_from_dict_names_every_problem() -> None:
    good = {
        "model": "lr", "dataset_fingerprint": "f" * 16, "valid_auc": 0.8, "valid_logloss": 0.4,
        "test_auc": None, "test_logloss": 0.4, "params": {}, "fit_seconds": 1, "latency_ms_b1": 0.1,
        "latency_ms_b4096": 1.0, "versions": {}, "seed": 0,
    }  # fmt: skip
    result = BaselineResult.from_dict(good)
    assert math.isnan(result.test_auc) and result.fit_seconds == 1.0 and result.latency_threads == 1
    bad = {**good, "model": "svm", "seed": "0", "extra": 1}
    del bad["params"]
    with pytest.raises(BaselineError) as excinfo:
        BaselineResult.from_dict(bad)
    assert all(word in str(excinfo.value) for word in ("'extra'", "'params'", "'seed' must be int"))
    with pytest.raises(BaselineError, match="one of lr, gbdt, got 'svm'"):
        BaselineResult.from_dict({**good, "model": "svm"})


# ---- the features -----------------------------------------------------------------------------------------
def test_a_field_over_255_codes_keeps_its_254_most_frequent_and_pools_the_rest() -> None:
    data = wide_table()
    train = fit_rows(data.train, seed=0)
    encode = Categories(train.x, data.vocab_sizes, data.dense_fields, data.field_names)
    assert encode.capped == {"f0": 600} and list(encode.is_categorical) == [True, True, False]
    counts = np.bincount(train.x[:, 0], minlength=600)
    assert (counts > 0).sum() > MAX_BINS  # more codes in the training rows than a tree takes
    kept = np.argsort(-counts, kind="stable")[: MAX_BINS - 1]
    out = encode(train.x, train.dense)  # (rows, 2 categorical + 1 dense)
    assert out.shape == (len(train.y), 3)
    assert sorted(set(out[np.isin(train.x[:, 0], kept), 0])) == list(range(MAX_BINS - 1))
    assert set(out[~np.isin(train.x[:, 0], kept), 0]) == {MAX_BINS - 1}  # one "other" category
    unseen = int(np.flatnonzero(counts == 0)[0])  # a code no training row has
    assert encode(np.array([[unseen, 1, 1]], dtype=np.int32), np.array([[0.5]]))[0, 0] == MAX_BINS - 1
    assert np.array_equal(out[:, 1], train.x[:, 1])  # a narrow field's codes are its categories
    missing = train.x[:, 2] == 0
    assert np.isnan(out[missing, 2]).all() and np.array_equal(out[~missing, 2], train.dense[~missing, 0])


def test_one_hot_columns_are_the_training_rows_codes_and_dense_values() -> None:
    x = np.array([[0, 3, 1], [2, 3, 0], [2, 1, 1]], dtype=np.int32)
    dense = np.array([[0.5], [1.0], [-2.0]])
    encode = OneHot(x[:2], [4, 5, 2], [2])  # trained on two rows
    # seen: (f0: 0, 2), (f1: 3), (f2: 0, 1) -> columns 0..4; unseen codes -> 5; the dense value -> 6
    assert encode.width == 7
    matrix = encode(x, dense).toarray()
    assert matrix[0].tolist() == [1, 0, 1, 0, 1, 0, 0.5]
    assert matrix[1].tolist() == [0, 1, 1, 1, 0, 0, 0.0]  # value missing (code 0): 0, not the stored 1.0
    assert matrix[2].tolist() == [0, 1, 0, 0, 1, 1, -2.0]  # f1 code 1 was never seen in training


def test_a_split_over_the_limit_is_a_seeded_sample() -> None:
    data = wide_table(rows=1000)
    rows = fit_rows(data.train, seed=3, limit=100)
    again = fit_rows(data.train, seed=3, limit=100)
    assert len(rows.y) == 100 and np.array_equal(rows.x, again.x) and rows.dense.shape == (100, 1)
    assert not np.array_equal(rows.x, fit_rows(data.train, seed=4, limit=100).x)
    assert len(fit_rows(data.train, seed=3).y) == len(data.train)


# ---- small tables -----------------------------------------------------------------------------------------
def test_both_fit_a_table_with_a_wide_and_a_dense_field() -> None:
    lr, gbdt = fit_baselines(wide_table(), threads=1)
    assert lr.params["train_rows"] == 4800 and gbdt.params["capped_fields"] == {"f0": 600}
    assert lr.test_auc > 0.7 and gbdt.test_auc > 0.7  # the label's signal is strong and mostly additive


def test_a_test_split_with_one_class_scores_nan_auc() -> None:
    x = np.random.default_rng(0).integers(1, 4, size=(200, 2)).astype(np.int32)
    y = np.tile(np.array([0, 1], dtype=np.float32), 100)
    y[180:] = 0  # the test split (last tenth) holds one class
    (result,) = fit_baselines(table(x, y, vocab_sizes=[4, 4]), models=("lr",), threads=1)
    assert math.isnan(result.test_auc) and math.isfinite(result.test_logloss)


def test_bad_requests_are_baseline_errors() -> None:
    data = wide_table(rows=300)
    with pytest.raises(BaselineError, match="unknown baseline model 'svm': choose from lr, gbdt"):
        fit_baselines(data, models=("lr", "svm"))
    with pytest.raises(BaselineError, match="distinct"):
        fit_baselines(data, models=("lr", "lr"))
    with pytest.raises(BaselineError, match="threads must be an integer >= 1, got 0"):
        fit_baselines(data, threads=0)
    one_class = table(data.train.x[:50], np.zeros(50, dtype=np.float32), vocab_sizes=data.vocab_sizes)
    with pytest.raises(BaselineError, match="one class only"):
        fit_baselines(one_class)
