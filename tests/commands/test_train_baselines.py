"""``kdbench train`` and the baselines: after the trial, ``vs GBDT`` under the cost table, the baselines
computed once per dataset split (one line when they are), in the result and, with ``--db``, the database;
``--no-baseline`` skips them, and a baseline that fails never costs the finished trial."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kdbench.bench.cli import main
from kdbench.bench.store import ResultStore

FAST = [
    "--set",
    "max_epochs=1",
    "--set",
    "patience=1",
    "--set",
    "embedding_size=4",
    "--set",
    "batch_size=256",
]


@pytest.fixture
def clicks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``train`` arguments for a 1,000-row CSV (a clicked label that depends on both fields) in a cache of
    its own, quiet, on one thread, without a teacher cache."""
    monkeypatch.setenv("KDBENCH_HOME", str(tmp_path / "kdbench_home"))
    monkeypatch.setenv("COLUMNS", "200")
    rng = np.random.default_rng(0)
    city = rng.choice(["Zürich", "Genève", "東京", "Lyon"], 1000)
    device = rng.choice(["phone", "tablet", "desktop"], 1000)
    odds = 0.2 + 0.5 * (city == "Lyon") + 0.2 * (device == "phone")
    frame = pd.DataFrame({"clicked": (rng.random(1000) < odds).astype(int), "city": city, "device": device})
    frame.to_csv(tmp_path / "clicks.csv", index=False)
    (tmp_path / "clicks.yaml").write_text("label: clicked\ncategorical: [city, device]\n", encoding="utf-8")
    data = [
        "--dataset",
        "csv",
        "--path",
        str(tmp_path / "clicks.csv"),
        "--schema",
        str(tmp_path / "clicks.yaml"),
    ]
    return ["train", *data, "--quiet", "--threads", "1", "--no-teacher-cache", *FAST]


def _run(argv: list[str], tmp_path: Path, capsys, *extra: str) -> tuple[dict, str]:
    out = tmp_path / f"result-{len(list(tmp_path.glob('result-*')))}.json"
    assert main([*argv, "--json", str(out), *extra]) == 0
    return json.loads(out.read_text()), " ".join(capsys.readouterr().out.split())


def test_train_shows_the_student_against_gbdt_and_records_the_baselines(clicks, tmp_path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'kd.db'}"
    result, out = _run(clicks, tmp_path, capsys, "--db", url)
    baselines = {b["model"]: b for b in result["baselines"]}
    assert set(baselines) == {"lr", "gbdt"}
    assert all(b["dataset_fingerprint"] == result["dataset_fingerprint"] for b in baselines.values())
    assert "computed LR and GBDT baselines for clicks in " in out
    delta = result["student"]["test_auc"] - baselines["gbdt"]["test_auc"]
    lr_delta = result["student"]["test_auc"] - baselines["lr"]["test_auc"]
    # right under the cost table, before the embedding line
    assert (
        f"vs GBDT: {delta:+.4f} (vs LR: {lr_delta:+.4f}) test AUC on this split embedding parameters" in out
    )
    with ResultStore(url, create=False) as store:
        recorded = store.baselines().set_index("model")
        assert len(store.trials()) == 1
    assert recorded.loc["gbdt", "test_auc"] == pytest.approx(baselines["gbdt"]["test_auc"])
    assert recorded.loc["lr", "dataset_fingerprint"] == result["dataset_fingerprint"]

    again, out = _run(clicks, tmp_path, capsys)  # the same split: from this machine's cache
    assert "computed" not in out and "vs GBDT: " in out and again["baselines"] == result["baselines"]


def test_no_baseline_skips_them(clicks, tmp_path, capsys) -> None:
    result, out = _run(clicks, tmp_path, capsys, "--no-baseline")
    assert "baselines" not in result and "vs GBDT" not in out and "baselines" not in out
    assert not (tmp_path / "kdbench_home" / "baselines").exists()


def test_a_baseline_that_fails_is_a_note_and_the_trial_is_kept(clicks, tmp_path, capsys, monkeypatch) -> None:
    def fail(*_args, **_kwargs):
        raise MemoryError("cannot allocate 11 GB for the GBDT's features")

    monkeypatch.setattr("kdbench.bench._baselines._cache.fit_baselines", fail)
    url = f"sqlite:///{tmp_path / 'kd.db'}"
    result, out = _run(clicks, tmp_path, capsys, "--db", url)
    assert "no baselines for clicks: MemoryError: cannot allocate 11 GB" in out and "vs GBDT" not in out
    assert "baselines" not in result
    with ResultStore(url, create=False) as store:
        assert list(store.trials()["status"]) == ["completed"] and store.baselines().empty
