"""The store contract with real values, on every backend: the dataset infos kdbench produces (ml-100k from
the recbole wheel, Criteo and Avazu files), names at the documented limit, non-ASCII text, a real traceback
several KB long, an environment with long CPU/GPU strings. Each of these broke PostgreSQL's VARCHAR(256)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kdbench.bench.store import ResultStore

from . import _factories as f
from . import _real as real

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def infos(ml100k: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("raw")
    return {
        "ml-100k": ml100k.info(),
        "criteo": real.criteo_info(folder),
        "avazu": real.avazu_info(folder),
    }


def _protocol_text(info: dict[str, Any]) -> str:
    return json.dumps(info["protocol"], sort_keys=True)


def test_the_real_protocols_are_longer_than_the_old_columns(infos: dict[str, dict[str, Any]]) -> None:
    # The premise of this file: these are the values a VARCHAR(256) column refused.
    assert {name: len(_protocol_text(info)) > 256 for name, info in infos.items()} == {
        "ml-100k": True,
        "criteo": True,
        "avazu": True,
    }


def test_real_dataset_infos_are_stored_whole(store: ResultStore, infos: dict[str, dict[str, Any]]) -> None:
    for info in infos.values():
        store.record_dataset(info)
        store.record_dataset(info)  # idempotent
    frame = store.datasets().set_index("fingerprint")
    assert len(frame) == 3
    for info in infos.values():
        row = frame.loc[info["fingerprint"]]
        assert row["protocol"] == _protocol_text(info) and json.loads(row["protocol"]) == info["protocol"]
        assert row["source"] == info["source"] and row["rows"] == info["rows"]
        assert row["fields"] == info["fields"] and row["vocab_sizes"] == info["vocab_sizes"]
        assert row["split_sizes"] == info["split_sizes"]
    assert frame.loc[infos["ml-100k"]["fingerprint"], "rows"] == 72_855  # the real MovieLens-100K


def test_a_sweep_with_a_name_at_the_limit_and_non_ascii_text(
    store: ResultStore, infos: dict[str, dict[str, Any]]
) -> None:
    ml = infos["ml-100k"]
    space_yaml = (REPO / "search_spaces" / "default.yaml").read_text() + f"# {real.NON_ASCII}\n"
    name = real.LONG_SWEEP_NAME
    assert len(name) == real.NAME_LIMIT
    store.create_sweep(
        name,
        **f.sweep_kwargs(
            space_name=real.LONG_TEXT,
            space_yaml=space_yaml,
            dataset_fingerprint=ml["fingerprint"],
            study_name=name,
            settings={"note": real.LONG_TEXT, "dataset": {"source": "ml-100k", "path": None}},
        ),
    )
    store.record_dataset(ml)
    got = store.get_sweep(name)
    assert got is not None and got["name"] == name and got["study_name"] == name
    assert got["space_name"] == real.LONG_TEXT and got["space_yaml"] == space_yaml
    assert got["settings"]["note"] == real.LONG_TEXT
    store.finish_sweep(name, "completed")
    row = store.sweeps().iloc[0]
    assert row["sweep"] == name and row["space_name"] == real.LONG_TEXT and row["status"] == "completed"


def test_a_failed_trial_keeps_its_whole_traceback_and_long_node(
    store: ResultStore, infos: dict[str, dict[str, Any]]
) -> None:
    ml = infos["ml-100k"]
    env = store.record_environment(f.environment())
    store.create_sweep(real.LONG_SWEEP_NAME, **f.sweep_kwargs(dataset_fingerprint=ml["fingerprint"]))
    error = real.traceback_text()
    assert len(error) > 4000 and error.count("\n") > 80
    res = f.result(dataset=ml["fingerprint"])
    tid = f.start_trial(store, real.LONG_SWEEP_NAME, 0, env, res, node=real.LONG_NODE, device="cuda:0")
    store.record_epochs(tid, f.epoch_rows()[:2])
    store.finish_trial(tid, status="failed", error=error)
    store.record_dataset(ml)

    row = store.trials(sweep=real.LONG_SWEEP_NAME).iloc[0]
    assert row["error"] == error and row["node"] == real.LONG_NODE and row["status"] == "failed"
    assert row["dataset_source"] == "ml-100k"
    assert store.trial(tid)["dataset"] == ml  # the info as recorded, protocol dict included

    # kdbench train: record_trial into a named sweep it creates on the fly
    other = store.record_trial(
        real.LONG_SWEEP_NAME[:-1] + "x", None, result=res, status="failed", error=error, environment_id=env,
        node=real.LONG_NODE,
    )  # fmt: skip
    assert store.trial(other)["error"] == error


def test_a_long_environment_round_trips(store: ResultStore) -> None:
    env = real.long_environment()
    assert max(len(env["cpu"]), len(env["gpu"])) > 256 and len(env["torch"]) > 64
    env_id = store.record_environment(env)
    assert store.record_environment(env) == env_id
    assert store.environment(env_id) == env
    row = store.environments().iloc[0]
    assert (row["cpu"], row["gpu"], row["host"], row["torch"]) == (
        env["cpu"],
        env["gpu"],
        env["host"],
        env["torch"],
    )


def test_regression_runs_with_long_non_ascii_names(store: ResultStore) -> None:
    env = store.record_environment(f.environment())
    suite, tag, baseline = (f"{kind} {real.LONG_TEXT}" for kind in ("suite", "tag", "baseline"))
    cases = [{"name": f"case {k} {real.LONG_TEXT}", "student_test_auc": 0.79} for k in range(3)]
    run = store.record_regression_run(
        suite, environment_id=env, summary={"note": real.LONG_TEXT}, cases=cases, tag=tag, baseline=baseline
    )
    got = store.regression_run(tag)
    assert got["run_id"] == run and (got["suite"], got["tag"], got["baseline"]) == (suite, tag, baseline)
    assert got["cases"] == cases and got["summary"] == {"note": real.LONG_TEXT}
    assert list(store.regression_cases(run)["name"]) == [c["name"] for c in cases]
