"""Ray's lifetime for one sweep: join a cluster or start a private local one, check it, always shut down.

A sweep that started Ray itself shuts it down on every exit path (normal end, Ctrl-C, a crash), so no Ray
process of ours outlives the driver. A sweep that finds Ray already initialised (a test fixture, a notebook)
uses it and leaves it running: it belongs to the caller.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

from bench.errors import SweepError

__all__ = ["check_reachable", "check_resources", "connected", "node_cpus"]

CONNECT_TIMEOUT_S = 3.0  # how long an unreachable --address may stall us before the one-line error


@contextlib.contextmanager
def connected(
    address: str | None = None, *, num_cpus: int | None = None, temp_dir: str | None = None
) -> Iterator[None]:
    """Ray initialised for the duration of the block.

    ``address``: ``host:port`` of a running cluster (``ray start --head`` elsewhere), ``"auto"`` for the
    cluster this machine already joined, or None for a private local instance (``num_cpus`` cores, session
    files under ``temp_dir``). An unreachable address is a :class:`SweepError` before Ray is touched.
    """
    import ray

    if address and address != "auto":
        check_reachable(address)
    if ray.is_initialized():
        yield
        return
    kwargs: dict[str, Any] = {
        "include_dashboard": False,  # saves ~1 s and a process; Tune's own state is in the results store
        "log_to_driver": False,  # worker output would tear the live table; it stays in Ray's session logs
        "logging_level": logging.WARNING,
        "configure_logging": True,
    }
    if address:
        kwargs["address"] = address
    else:
        kwargs["num_cpus"] = num_cpus
        if temp_dir:
            kwargs["_temp_dir"] = temp_dir
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError) as e:
        ray.shutdown()
        target = address or "a local Ray instance"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SweepError(f"cannot start or join Ray at {target}: {first}") from e
    try:
        yield
    finally:
        ray.shutdown()


def check_reachable(address: str) -> None:
    """A TCP connect to ``host:port``: one clear line instead of Ray's long wait on a wrong address."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise SweepError(f"--address must be host:port (the head's GCS port) or auto, got {address!r}")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as e:
        raise SweepError(
            f"no Ray cluster answers at {address} ({e.strerror or e}): start one with "
            f"`ray start --head --port {port}` or fix --address"
        ) from e


def node_cpus() -> list[float]:
    """CPUs of every live node of the connected cluster."""
    import ray

    return [n["Resources"].get("CPU", 0.0) for n in ray.nodes() if n.get("Alive")]


def check_resources(*, cpus_per_trial: float, gpus_per_trial: float) -> dict[str, float]:
    """Refuse resource requests no node can meet (trials would wait forever); return the cluster's totals."""
    import ray

    total = ray.cluster_resources()
    if gpus_per_trial > 0 and total.get("GPU", 0) <= 0:
        raise SweepError(
            f"--gpus-per-trial {gpus_per_trial:g} asked for, but the Ray cluster has no GPU: "
            "drop the flag or join a cluster with GPUs (--address)"
        )
    largest = max(node_cpus(), default=0.0)
    if cpus_per_trial > largest:
        raise SweepError(
            f"--cpus-per-trial {cpus_per_trial:g} is more than any node has (largest: {largest:g} CPUs): "
            "lower it"
        )
    return {"CPU": total.get("CPU", 0.0), "GPU": total.get("GPU", 0.0), "nodes": len(node_cpus())}
