"""Prepare once, then ``train`` and ``sweep`` by name: the split seed on both, ``--split-seeds`` repeating a
trial over splits, and the split seed recorded with the trial's dataset and with the sweep."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from kdbench.bench.cli import main
from kdbench.bench.commands import train as train_command
from kdbench.bench.store import ResultStore
from tests.commands._census import census_csv

FAST = {"max_epochs": 1, "patience": 1, "embedding_size": 4, "batch_size": 256}


pytestmark = pytest.mark.usefixtures("home")  # conftest: a fresh $KDBENCH_HOME per test


@pytest.fixture
def adult(tmp_path) -> tuple[Path, Path]:
    """A census-like CSV: a text label, categories that read like nulls, and numeric columns."""
    csv = census_csv(tmp_path)
    schema = tmp_path / "adult.yaml"
    schema.write_text("label: income\npositive: '>50K'\ncategorical: [workclass]\nnumeric: [age, fnlwgt]\n")
    return csv, schema


def _prepare(adult, *more: str) -> None:
    assert (
        main(["data", "prepare", "csv", "--path", str(adult[0]), "--schema", str(adult[1]), "--quiet", *more])
        == 0
    )


def test_train_by_name_uses_the_prepared_split_and_records_it(adult, tmp_path, capsys):
    _prepare(adult, "--split-seed", "7")
    out = capsys.readouterr().out
    assert "adult (csv)" in out and "split seed 7" in out and "quantile 10" in out and "from " in out
    url = f"sqlite:///{tmp_path / 'kd.db'}"
    result = train_command.train(
        dataset="adult", config=FAST, db=url, teacher_cache=None, threads=1, quiet=True
    )
    assert "split seed 7" in capsys.readouterr().out
    with ResultStore(url, create=False) as store:
        (row,) = store.datasets().to_dict("records")
        trial = store.trials(sweep="adhoc").iloc[0]
    protocol = row["protocol"] if isinstance(row["protocol"], dict) else json.loads(row["protocol"])
    assert protocol["split"]["seed"] == 7 and protocol["name"] == "adult"
    assert trial["dataset_fingerprint"] == row["fingerprint"] == result["dataset_fingerprint"]
    other = train_command.train(
        dataset="adult", split_seed=3, config=FAST, teacher_cache=None, threads=1, quiet=True
    )
    assert other["dataset_fingerprint"] != result["dataset_fingerprint"]
    assert main(["data", "list"]) == 0
    listed = capsys.readouterr().out
    assert str(adult[0]) in listed and " 7 " in listed and " 3 " in listed


def test_split_seeds_repeat_the_trial_and_report_mean_and_std(adult, tmp_path, capsys):
    _prepare(adult)
    out_json = tmp_path / "splits.json"
    args = ["train", "--dataset", "adult", "--split-seeds", "1,2,3", "--quiet", "--no-teacher-cache"]
    sets = [f"--set={k}={v}" for k, v in FAST.items()]
    assert main([*args, *sets, "--threads", "1", "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "test metrics over 3 splits (mean ± sample std)" in out
    result = json.loads(out_json.read_text())
    assert result["split_seeds"] == [1, 2, 3] and len(result["trials"]) == 3
    fingerprints = {t["dataset_fingerprint"] for t in result["trials"]}
    assert len(fingerprints) == 3  # three splits, three datasets
    for model in ("teacher", "student"):
        for metric in ("test_auc", "test_logloss"):
            values = [t[model][metric] for t in result["trials"]]
            summary = result["summary"][f"{model}_{metric}"]
            assert summary["values"] == values
            assert summary["mean"] == pytest.approx(np.mean(values))
            assert summary["std"] == pytest.approx(np.std(values, ddof=1))
    student = result["summary"]["student_test_auc"]
    assert f"{student['mean']:.4f} ± {student['std']:.4f}" in out
    assert train_command.parse_split_seeds("4, 5") == [4, 5]


def test_sweep_by_name_records_the_split_seed(adult, tmp_path):
    from kdbench.bench.commands.sweep import sweep

    _prepare(adult)
    url = f"sqlite:///{tmp_path / 'kd.db'}"
    temp = tempfile.mkdtemp(prefix="kdn", dir="/tmp")  # short: Ray's socket paths
    try:
        summary = sweep(
            space="ci", dataset="adult", split_seed=7, trials=1, name="by-name", db=url, quiet=True,
            concurrency=1, cpus_per_trial=1.0, no_teacher_cache=True, ray_temp_dir=temp,
        )  # fmt: skip
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    assert summary["status"] == "completed"
    with ResultStore(url, create=False) as store:
        sweep_row = store.get_sweep("by-name")
        (dataset,) = store.datasets().to_dict("records")
    assert sweep_row["settings"]["dataset"]["split_seed"] == 7
    assert sweep_row["settings"]["dataset"]["source"] == "adult"
    assert sweep_row["dataset_fingerprint"] == dataset["fingerprint"]
    protocol = (
        dataset["protocol"] if isinstance(dataset["protocol"], dict) else json.loads(dataset["protocol"])
    )
    assert protocol["split"]["seed"] == 7


def test_prepare_help_points_to_the_datasets_page(capsys):
    with pytest.raises(SystemExit):
        main(["data", "prepare", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "docs/datasets.md" in out and "--positive" in out and "--missing" in out and "quantile=K" in out
    assert (Path(__file__).resolve().parents[2] / "docs" / "datasets.md").is_file()
