"""A driver killed with SIGKILL mid-sweep, then resumed: exactly the requested trials, none duplicated."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from kdbench.bench._sweep._procs import kill_processes_mentioning, processes_mentioning
from kdbench.bench.errors import SweepError
from kdbench.bench.store import ResultStore
from kdbench.bench.sweep import resume_sweep
from tests._ray import ray_temp_dir

pytestmark = pytest.mark.ray

REPO = Path(__file__).resolve().parents[2]
TRIALS = 5


def _finished(url: str, name: str) -> int:
    try:
        with ResultStore(url, create=False) as store:
            trials = store.trials(sweep=name)
    except Exception:  # not created yet
        return 0
    return int(trials["status"].isin(["completed", "stopped", "failed"]).sum())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_db(request: pytest.FixtureRequest, tmp_path) -> str:
    """A new SQLite file, or a fresh PostgreSQL schema (the cluster path) when a server is configured."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kd.db'}"
    return request.getfixturevalue("postgres_url")


def test_resume_after_the_driver_is_killed(ray_runtime, ml100k, fresh_db, kdbench_home) -> None:
    url = fresh_db
    temp = ray_temp_dir()  # the driver's own Ray instance: everything it starts mentions this folder
    command = [
        sys.executable,
        "-m",
        "bench",
        "sweep",
        "--space",
        "ci",
        "--trials",
        str(TRIALS),
        "--name",
        "killed",
        "--db",
        url,
        "--concurrency",
        "2",
        "--ray-temp-dir",
        temp,
        "--quiet",
    ]
    env = {**os.environ, "KDBENCH_HOME": str(kdbench_home)}
    driver = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while _finished(url, "killed") < 1:
            assert driver.poll() is None, f"the driver ended early: {driver.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "no trial finished within 240 s"
            time.sleep(0.5)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
        kill_processes_mentioning(temp)  # Ray processes a killed driver may leave behind
        shutil.rmtree(temp, ignore_errors=True)
    assert not processes_mentioning(temp)

    with ResultStore(url, create=False) as store:
        before = store.trials(sweep="killed")
        assert store.get_sweep("killed")["status"] == "running"  # nobody could mark it
    assert 1 <= _finished(url, "killed") < TRIALS

    summary = resume_sweep(name="killed", db=url, progress="quiet")

    with ResultStore(url, create=False) as store:
        trials = store.trials(sweep="killed")
        sweep = store.get_sweep("killed")
    assert summary.status == "completed" and sweep["status"] == "completed"
    assert sorted(trials["number"]) == list(range(TRIALS))  # exactly TRIALS rows, numbers unique
    assert trials["status"].isin(["completed", "stopped", "failed"]).all()
    kept = before[before["status"].isin(["completed", "stopped"])].set_index("number")
    after = trials.set_index("number")
    for number, row in kept.iterrows():  # finished trials survive the resume untouched
        assert (
            after.loc[number, "trial_id"] == row["trial_id"] and after.loc[number, "status"] == row["status"]
        )
    assert len(sweep["settings"]["runs"]) == 2

    study = optuna.load_study(study_name="killed", storage=url)
    assert not [t for t in study.trials if t.state == TrialState.RUNNING]
    interrupted = [t for t in study.trials if t.user_attrs.get("kdbench_interrupted")]
    assert all(t.state == TrialState.FAIL for t in interrupted)
    assert len(study.trials) == TRIALS + len(interrupted)
    linked = [t.user_attrs["kdbench_number"] for t in study.trials if t.state != TrialState.FAIL]
    assert sorted(linked) == sorted(int(n) for n in trials["number"])


def test_resuming_a_finished_sweep_runs_nothing(ray_runtime, ml100k, tmp_path) -> None:
    from kdbench.bench.sweep import run_sweep

    url = f"sqlite:///{tmp_path / 'kd.db'}"
    run_sweep(space="ci", trials=1, name="one", db=url, progress="quiet", scheduler="none")
    summary = resume_sweep(name="one", db=url, progress="quiet")
    assert summary.status == "completed" and summary.trials == {"completed": 1}


def test_resuming_an_unknown_sweep_is_refused(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'kd.db'}"
    ResultStore(url).close()
    with pytest.raises(SweepError, match="no sweep named 'nope'"):
        resume_sweep(name="nope", db=url)
