"""A dense numeric field end to end: ``data prepare csv`` with ``hours: dense``, ``train --dataset NAME``,
``student export`` (ONNX, TorchScript) and ``student predict`` on the raw rows, which reproduces the trial's
test AUC; the sweep ships the dense values to its workers."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from kdbench.bench.cli import main
from kdbench.bench.data import CachedDataset, prepare, share_dataset
from kdbench.bench.data._split import split_assignment
from kdbench.bench.serve import load_artifact, load_served, read_rows, student_module
from kdbench.bench.serve._predict import encode_inputs
from kdbench.bench.trial import auc

ROWS = 5000
NAME = "recensement-dense"
WEIGHT = "poids_d'échantillonnage"  # a non-ASCII column name
SETTINGS = ("max_epochs=4", "patience=2", "batch_size=256", "embedding_size=8", "lr=0.01", "t_depth=1")
TRAIN = [*(a for s in SETTINGS for a in ("--set", s)), "--no-teacher-cache", "--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def census(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A census-like CSV whose label depends on the hours worked (dense), plus noise columns."""
    folder = tmp_path_factory.mktemp("dense_cli")
    rng = np.random.default_rng(21)
    hours = rng.normal(40.0, 12.0, ROWS).round(1)
    rich = rng.random(ROWS) < 1 / (1 + np.exp(-(hours - 42.0) / 5.0))
    frame = pd.DataFrame(
        {
            "age": rng.integers(17, 90, ROWS),
            "workclass": rng.choice(["Private", "Self-emp-inc", "State-gov", "NA"], ROWS),
            "sex": rng.choice(["Female", "Male"], ROWS),
            WEIGHT: rng.lognormal(11.5, 0.6, ROWS).round(0),
            "hours": [f"{h:g}" for h in hours],
            "income": np.where(rich, ">50K", "<=50K"),
        }
    )
    frame.loc[::37, "hours"] = "?"
    csv = folder / "adult.csv"
    frame.to_csv(csv, index=False)
    schema = folder / "adult.yaml"
    schema.write_text(
        f"name: {NAME}\nlabel: income\npositive: '>50K'\ncategorical: [workclass, sex]\n"
        f"numeric:\n  age: quantile\n  hours: dense\n  \"{WEIGHT}\": dense\nmissing: ['?']\n",
        encoding="utf-8",
    )
    return {"folder": folder, "csv": csv, "schema": schema, "frame": frame}


@pytest.fixture(scope="module")
def trained(census, kdbench_home) -> dict:
    folder = census["folder"]
    assert main(["data", "prepare", "csv", "--path", str(census["csv"]), "--schema", str(census["schema"]),
                 "--quiet"]) == 0  # fmt: skip
    result_file, student = folder / "result.json", folder / "student.pt"
    kept = ["--json", str(result_file), "--save-student", str(student)]
    kept += ["--artifacts", str(folder / "artifacts")]
    assert main(["train", "--dataset", NAME, *TRAIN, *kept]) == 0
    return {"result": json.loads(result_file.read_text()), "student": student, "data": prepare(NAME)}


def test_prepare_and_info_show_the_dense_rule(trained, capsys):
    data = trained["data"]
    assert data.field_names == ["workclass", "sex", "age", "hours", WEIGHT] and data.dense_fields == [3, 4]
    assert main(["data", "info", NAME]) == 0
    out = capsys.readouterr().out
    assert "dense (value scaled: mean 4" in out and "quantile 10" in out


def test_flags_prepare_the_same_dense_dataset(census, trained, capsys):
    numeric = f"age:quantile,hours:dense,{WEIGHT}:dense"
    assert main(["data", "prepare", "csv", "--path", str(census["csv"]), "--name", NAME, "--label", "income",
                 "--positive", ">50K", "--categorical", "workclass,sex", "--numeric", numeric,
                 "--missing", "?", "--json"]) == 0  # fmt: skip
    info = json.loads(capsys.readouterr().out)
    assert info["fingerprint"] == trained["data"].fingerprint and info["dense_fields"] == [3, 4]


def test_a_dense_field_trains_end_to_end(trained):
    result = trained["result"]
    student, teacher = result["student"], result["teacher"]
    assert np.isfinite(student["test_auc"]) and student["test_auc"] > 0.75  # the hours carry the label
    assert teacher["test_auc"] > 0.75 and student["latency_ms_b4096"] > 0
    assert result["dataset_fingerprint"] == trained["data"].fingerprint


def test_exports_and_raw_rows_reproduce_the_trials_test_auc(census, trained, capsys):
    folder, test_auc = census["folder"], trained["result"]["student"]["test_auc"]
    onnx_file, ts_file = folder / "student.onnx", folder / "student.ts"
    for fmt, out in (("onnx", onnx_file), ("torchscript", ts_file)):
        assert main(["student", "export", "--from", str(trained["student"]), "--format", fmt,
                     "--out", str(out)]) == 0  # fmt: skip
    sidecar = json.loads((folder / "student.onnx.json").read_text(encoding="utf-8"))
    assert sidecar["model"]["input"]["name"] == "x"
    assert sidecar["model"]["dense_input"] == {
        "name": "dense", "dtype": "float32", "shape": ["batch", 2], "fields": ["hours", WEIGHT]
    }  # fmt: skip
    rules = {f["name"]: f["rule"] for f in sidecar["fields"]}
    assert set(rules["hours"]["dense"]) == {"mean", "std"} and "dense[i, k]" in sidecar["encoding"]["how"]

    # The user's own raw rows: the file's test split, as written (missing hours as '?').
    test_rows = folder / "test-rows.csv"
    is_test = split_assignment(ROWS, 2022) == 2
    census["frame"][is_test].to_csv(test_rows, index=False)
    labels = (census["frame"]["income"][is_test] == ">50K").astype(int).to_numpy()
    # The cache's test split decoded back to raw values (dense: value * std + mean).
    decoded = folder / "decoded-rows.csv"
    assert main(["data", "export-split", NAME, "--out", str(decoded)]) == 0
    # The in-process student on the cache's test codes and dense values: the logits every path must give,
    # row for row (the cache's test split keeps the file's order).
    data = trained["data"]
    student = student_module(load_artifact(trained["student"]))
    with torch.inference_mode():
        expected = student(
            torch.from_numpy(np.array(data.test.x, np.int64)), torch.from_numpy(np.array(data.test.dense))
        )
    served = load_served(onnx_file)
    codes, dense, _ = encode_inputs(served, read_rows(test_rows, served.fields))
    np.testing.assert_array_equal(codes, data.test.x)
    np.testing.assert_array_equal(dense, data.test.dense)
    for rows, y in ((test_rows, labels), (decoded, None)):
        for model in (onnx_file, ts_file, trained["student"]):
            out = folder / f"preds-{model.name}.csv"
            capsys.readouterr()
            assert main(["student", "predict", "--model", str(model), "--input", str(rows),
                         "--out", str(out)]) == 0  # fmt: skip
            assert capsys.readouterr().err == ""  # every value known
            truth = y if y is not None else pd.read_csv(rows)["label"].to_numpy()
            predicted = pd.read_csv(out)
            assert auc(truth, predicted["score"].to_numpy()) == pytest.approx(test_auc, abs=1e-6)
            np.testing.assert_allclose(predicted["logit"].to_numpy(), expected.numpy(), rtol=0, atol=1e-5)


def test_a_dense_value_that_is_not_a_number_is_scored_as_missing_and_counted(census, trained, capsys):
    folder = census["folder"]
    rows = census["frame"].iloc[[0, 0, 0]].copy()  # one row three times, only the hours differ
    rows["hours"] = ["beaucoup", "", "40"]
    odd = folder / "odd.csv"
    rows.to_csv(odd, index=False)
    out = folder / "odd-preds.csv"
    assert main(["student", "predict", "--model", str(trained["student"]), "--input", str(odd),
                 "--out", str(out)]) == 0  # fmt: skip
    assert capsys.readouterr().err.strip() == (
        "kdbench: warning: unseen values scored as unknown (index 0): hours 1"
    )
    scores = pd.read_csv(out)["logit"].to_numpy()
    assert scores[0] == scores[1] != scores[2]  # not a number: as if missing
    assert np.isfinite(scores).all()


def test_sweeps_ship_the_dense_values(trained, tmp_path):
    from kdbench.bench._sweep._tuner import _plain_arrays

    data = trained["data"]
    shipped = pickle.loads(pickle.dumps(_plain_arrays(data)))  # what Ray's object store hands a worker
    assert shipped.dense_fields == [3, 4]
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(getattr(shipped, split).dense, getattr(data, split).dense)
    by_path = share_dataset(data, tmp_path / "shared")
    opened = pickle.loads(pickle.dumps(by_path))
    assert isinstance(opened, CachedDataset)
    np.testing.assert_array_equal(opened.open().test.dense, data.test.dense)
    assert Path(by_path.folder, data.fingerprint, "test_dense.npy").is_file()
