"""A sweep that joins a two-node Ray cluster on loopback (``ray start --head`` + ``ray start --address``)
with ``--address`` runs trials on both nodes. Both nodes and the driver are separate processes; everything
they start lives under one private temp folder and is ended by PID afterwards."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kdbench.bench._sweep._procs import kill_processes_mentioning, processes_mentioning
from kdbench.bench.store import ResultStore
from tests._ray import ray_temp_dir

pytestmark = [pytest.mark.ray, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent.parent
RAY = str(Path(sys.executable).with_name("ray"))


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def node_ports() -> list[str]:
    """Per-node ports that default to fixed numbers (two nodes on one host would collide)."""
    agent, grpc, runtime_env, metrics = free_ports(4)
    return [
        f"--dashboard-agent-listen-port={agent}",
        f"--dashboard-agent-grpc-port={grpc}",
        f"--runtime-env-agent-port={runtime_env}",
        f"--metrics-export-port={metrics}",
    ]


def run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(command[:3])} failed:\n{done.stderr[-3000:]}"


def test_trials_run_on_both_nodes(ml100k, tmp_path, kdbench_home) -> None:
    temp = ray_temp_dir()
    # A loaded 2-core machine starts raylets slowly. Ray 2.60 authenticates with a token: ours, not
    # ~/.ray/auth_token, so other people's clusters stay apart.
    env = {**os.environ, "KDBENCH_HOME": str(kdbench_home), "RAY_USAGE_STATS_ENABLED": "0",
           "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16),
           "RAY_raylet_start_wait_time_s": "120"}  # fmt: skip
    (gcs,) = free_ports(1)  # not 6379: a Redis may live there
    address = f"127.0.0.1:{gcs}"
    url = f"sqlite:///{tmp_path / 'kd.db'}"
    common = ["--num-cpus=1", "--disable-usage-stats", f"--temp-dir={temp}"]
    try:
        run(
            [
                RAY,
                "start",
                "--head",
                f"--port={gcs}",
                "--node-ip-address=127.0.0.1",
                "--include-dashboard=false",
                *common,
                *node_ports(),
            ],
            env,
        )
        run(
            [RAY, "start", f"--address={address}", "--node-ip-address=127.0.0.1", *common, *node_ports()], env
        )
        driver = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench",
                "sweep",
                "--space",
                "ci",
                "--trials",
                "4",
                "--name",
                "two",
                "--db",
                url,
                "--address",
                address,
                "--concurrency",
                "2",
                "--scheduler",
                "none",
                "--quiet",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
        )
        assert driver.returncode == 0, driver.stderr[-3000:]
    finally:
        kill_processes_mentioning(temp)
        shutil.rmtree(temp, ignore_errors=True)
    assert not processes_mentioning(temp)

    with ResultStore(url, create=False) as store:
        trials = store.trials(sweep="two")
        sweep = store.get_sweep("two")
    assert len(trials) == 4 and (trials["status"] == "completed").all()
    assert trials["node"].nunique() == 2  # both nodes ran trials
    assert sweep["settings"]["runs"][0]["cluster"]["nodes"] == 2
    assert sweep["settings"]["runtime"]["address"] == address
