"""A writer killed mid-sweep leaves a database that opens and holds every completed trial."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time

import sqlalchemy as sa

from kdbench.bench.store import ResultStore

from . import _writers


def test_sigkill_between_trials_loses_no_completed_trial(db_url: str) -> None:
    ctx = mp.get_context("spawn")
    done = ctx.Value("i", 0)
    writer = ctx.Process(target=_writers.write_until_killed, args=(db_url, done))
    writer.start()
    deadline = time.monotonic() + 120
    while done.value < 4 and writer.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer.is_alive(), f"the writer died on its own (exit code {writer.exitcode})"
    os.kill(writer.pid, signal.SIGKILL)
    writer.join(30)
    completed_before_kill = done.value
    assert writer.exitcode == -signal.SIGKILL and completed_before_kill >= 4

    with ResultStore(db_url) as store:  # opens: schema intact, no lock left behind
        trials = store.trials(sweep="crashy")
        finished = trials[trials["status"] == "completed"]
        assert len(finished) >= completed_before_kill
        assert sorted(finished["number"])[:completed_before_kill] == list(range(completed_before_kill))
        assert (
            set(trials["status"]) <= {"completed", "running"} and (trials["status"] == "running").sum() <= 1
        )
        phases, epochs = store.phases(sweep="crashy"), store.epochs(sweep="crashy")
        for trial_id in finished["trial_id"]:
            assert (phases["trial_id"] == trial_id).sum() == 3 and (epochs["trial_id"] == trial_id).sum() == 6
        store.record_trial(
            "crashy",
            None,
            result=store.trial(int(finished["trial_id"].iloc[0]))["result"],
            environment_id=int(finished["environment_id"].iloc[0]),
        )  # still writable
        if db_url.startswith("sqlite"):
            with store._engine.connect() as conn:
                assert conn.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
