"""The private Ray session folder of a driver that starts Ray: 0700, removed on every exit, and a killed
driver's leftovers (folder and processes) ended by the next driver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from kdbench.bench._sweep._procs import kill_processes_mentioning, processes_mentioning
from kdbench.bench._sweep._ray import remove_stale_sessions

REPO = Path(__file__).resolve().parents[2]

# Starts a private Ray instance through the sweep's own entry point and reports its session folder; with
# "term" it then sends itself SIGTERM inside the block, as a cluster scheduler's preemption would.
DRIVER = """
import json, os, signal, stat, sys
from pathlib import Path
import ray
from kdbench.bench._sweep._ray import connected

with connected(num_cpus=1):
    folder = Path(ray._private.worker._global_node.get_temp_dir_path()).parent
    ours = (folder / "kdbench-driver.pid").read_text() == str(os.getpid())
    print(json.dumps({"folder": str(folder), "mode": stat.S_IMODE(folder.stat().st_mode),
                      "ours": ours, "sessions": [p.name for p in folder.glob("*/session_*")]}), flush=True)
    if sys.argv[1] == "term":
        os.kill(os.getpid(), signal.SIGTERM)
"""


@pytest.mark.ray
@pytest.mark.parametrize("ending", ["clean", "term"])
def test_the_session_folder_is_private_and_removed_on_exit(ending: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, ending], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.stdout, done.stderr[-3000:]
    facts = json.loads(done.stdout.splitlines()[0])
    folder = facts["folder"]
    try:
        assert facts["ours"] and facts["mode"] == 0o700 and facts["sessions"], facts
        assert Path(folder).name.startswith("kdbench-ray-")
        if ending == "clean":
            assert done.returncode == 0, done.stderr[-2000:]
        else:  # SIGTERM became Terminated (a KeyboardInterrupt) inside the block; the CLI exits 143 on it
            assert done.returncode == 1 and done.stderr.rstrip().endswith("Terminated"), done.stderr[-2000:]
        assert not Path(folder).exists(), "the session folder outlived its driver"
        assert not processes_mentioning(folder), "Ray processes outlived their driver"
    finally:
        kill_processes_mentioning(folder)


def test_a_dead_drivers_folder_and_processes_are_removed_by_the_next_driver() -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(dead.stdout)
    stale = tempfile.mkdtemp(prefix="kdbench-ray-", dir="/tmp")
    live = tempfile.mkdtemp(prefix="kdbench-ray-", dir="/tmp")
    Path(stale, "kdbench-driver.pid").write_text(str(dead_pid))
    Path(live, "kdbench-driver.pid").write_text(str(os.getpid()))
    # An orphaned "agent": its command line names the stale folder, as Ray's agents' do.
    agent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", stale])
    try:
        _until(lambda: agent.pid in processes_mentioning(stale), f"the agent's command line names {stale}")
        removed = remove_stale_sessions()
        assert stale in removed and live not in removed
        assert not Path(stale).exists() and Path(live).is_dir()
        try:
            assert agent.wait(timeout=10) == -signal.SIGTERM
        except subprocess.TimeoutExpired:
            found = processes_mentioning(stale)
            pytest.fail(f"the agent outlived the removal of its stale session; still found: {found}")
    finally:
        agent.kill()
        kill_processes_mentioning(stale)
        for folder in (stale, live):
            subprocess.run(["rm", "-rf", folder], check=False)


def _until(condition, what: str, timeout_s: float = 10.0) -> None:
    """Wait until ``condition()`` holds (a loaded machine may be slow to show a new process in /proc)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s} s: {what}")
        time.sleep(0.05)
