"""Baselines in the store, on every backend: one row per (dataset, model), a refit replaces it, real-size
values (the real ml-100k dataset's info, a long params dict, non-ASCII text) come back whole."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from kdbench.bench.errors import StoreError
from kdbench.bench.store import BASELINE_COLUMNS, ResultStore

from . import _factories as f
from . import _real as real


def _long_params() -> dict[str, Any]:
    """What a GBDT on a wide table records: every field capped, named as a long real table names them."""
    capped = {f"{real.NON_ASCII} field {k:03d} " + "x" * 80: 10_000 + k for k in range(120)}
    return {"iterations": 731, "early_stopped": True, "max_iter": 1000, "learning_rate": 0.1,
            "max_leaf_nodes": 31, "capped_fields": capped, "note": real.LONG_TEXT}  # fmt: skip


def test_baselines_round_trip_with_the_real_ml100k_info(store: ResultStore, ml100k: Any) -> None:
    info = ml100k.info()
    env = store.record_environment(real.long_environment())
    store.record_dataset(info)
    gbdt = {**f.baseline_result("gbdt", auc=0.8230, dataset=info["fingerprint"]), "params": _long_params()}
    lr = f.baseline_result("lr", auc=0.8480, dataset=info["fingerprint"])
    store.record_baselines([gbdt, lr], environment_id=env)

    frame = store.baselines()
    assert list(frame.columns) == list(BASELINE_COLUMNS) and len(frame) == 2
    row = frame.set_index("model").loc["gbdt"]
    assert row["dataset_source"] == "ml-100k" and row["dataset_fingerprint"] == info["fingerprint"]
    assert row["test_auc"] == pytest.approx(0.8230) and row["latency_ms_b4096"] == pytest.approx(43.0)
    assert row["params"] == _long_params() and len(str(row["params"])) > 10_000
    assert row["result"] == gbdt and row["environment_id"] == env and row["seed"] == 0
    assert row["created_at"].tzinfo is not None
    assert list(store.baselines(dataset="ml-100k")["model"]) == ["gbdt", "lr"]
    assert list(store.baselines(dataset=info["fingerprint"])["model"]) == ["gbdt", "lr"]
    assert store.baselines(dataset="criteo").empty


def test_recording_again_replaces_the_row(store: ResultStore) -> None:
    store.record_baselines([f.baseline_result("gbdt", auc=0.70)])
    first = store.baselines().iloc[0]
    store.record_baselines([f.baseline_result("gbdt", auc=0.75), f.baseline_result("lr", auc=0.74)])
    frame = store.baselines().set_index("model")
    assert len(frame) == 2 and frame.loc["gbdt", "test_auc"] == pytest.approx(0.75)
    assert frame.loc["gbdt", "created_at"] >= first["created_at"]
    assert pd.isna(frame.loc["gbdt", "environment_id"])  # recorded without one this time


def test_a_dataset_with_one_class_in_test_stores_missing_metrics(store: ResultStore) -> None:
    result = {**f.baseline_result("lr"), "test_auc": math.nan, "valid_auc": float("nan")}
    store.record_baselines([result])
    row = store.baselines().iloc[0]
    assert pd.isna(row["test_auc"]) and pd.isna(row["valid_auc"]) and row["result"]["test_auc"] is None


def test_malformed_baselines_are_refused_naming_the_problem(store: ResultStore) -> None:
    missing = {k: v for k, v in f.baseline_result().items() if k != "test_auc"}
    with pytest.raises(StoreError, match="baseline result: missing 'test_auc'"):
        store.record_baselines([missing])
    with pytest.raises(StoreError, match="'params' must be a dict"):
        store.record_baselines([{**f.baseline_result(), "params": "C=1"}])
    with pytest.raises(StoreError, match=r"kd_baseline.model takes at most 32 characters"):
        store.record_baselines([{**f.baseline_result(), "model": "m" * 40}])
    with pytest.raises(StoreError, match="no environment with id 99"):
        store.record_baselines([f.baseline_result()], environment_id=99)
    assert store.baselines().empty  # each refusal wrote nothing
