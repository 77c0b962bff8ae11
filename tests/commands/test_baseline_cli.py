"""``kdbench baseline``: the real ml-100k split's LR and GBDT, printed, cached, recorded and written as JSON.
Bad inputs are in the corpus (``_bad_inputs.py``: ``baseline-*``)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from kdbench.bench.cli import main
from kdbench.bench.store import ResultStore


@pytest.fixture(scope="module")
def first_run(ml100k, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One ``kdbench baseline`` run on ml-100k (fitting both models: ~10 s), its output and files."""
    folder = tmp_path_factory.mktemp("baseline_cli")
    url, out = f"sqlite:///{folder / 'results.db'}", folder / "baselines.json"
    printed = io.StringIO()  # capsys is per test: this fixture is per module
    with contextlib.redirect_stdout(printed):
        status = main(["baseline", "--dataset", "ml-100k", "--threads", "1", "--db", url, "--json", str(out)])
    return {
        "status": status,
        "out": printed.getvalue(),
        "url": url,
        "json": out,
        "fingerprint": ml100k.fingerprint,
    }


def test_a_run_prints_fits_records_and_writes_both_baselines(first_run) -> None:
    assert first_run["status"] == 0
    out = " ".join(first_run["out"].split())
    assert f"fingerprint {first_run['fingerprint']}" in out
    assert "computed LR and GBDT baselines for ml-100k in " in out
    for word in (
        "valid AUC",
        "test AUC",
        "test logloss",
        "fit s",
        "latency b1 (ms)",
        "LR",
        "GBDT",
        "C=",
        "iterations",
    ):
        assert word in out
    assert f"recorded in {first_run['url']}" in out
    written = json.loads(Path(first_run["json"]).read_text())
    assert [r["model"] for r in written] == ["lr", "gbdt"]
    with ResultStore(first_run["url"], create=False) as store:
        frame = store.baselines().set_index("model")
        assert store.datasets()["fingerprint"].tolist() == [first_run["fingerprint"]]
        assert len(store.environments()) == 1
    for result in written:
        row = frame.loc[result["model"]]
        assert row["dataset_source"] == "ml-100k" and row["test_auc"] == pytest.approx(result["test_auc"])
        assert 0.75 < row["test_auc"] < 0.9 and row["result"] == result


def test_a_second_run_reads_this_machines_cache(first_run, capsys) -> None:
    assert main(["baseline", "--dataset", "ml-100k", "--json", str(first_run["json"])]) == 0
    out = capsys.readouterr().out
    assert "computed" not in out and "GBDT" in out
    assert json.loads(Path(first_run["json"]).read_text())[1]["fit_seconds"] > 0  # the cached fit's time


def test_refresh_fits_again_and_replaces_the_recorded_rows(first_run, capsys) -> None:
    with ResultStore(first_run["url"], create=False) as store:
        before = store.baselines().set_index("model")["created_at"]
    assert (
        main(["baseline", "--dataset", "ml-100k", "--threads", "1", "--refresh", "--db", first_run["url"]])
        == 0
    )
    assert "computed LR and GBDT baselines for ml-100k" in capsys.readouterr().out
    with ResultStore(first_run["url"], create=False) as store:
        after = store.baselines().set_index("model")
    assert len(after) == 2 and (after["created_at"] > before).all()
