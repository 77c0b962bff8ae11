"""Ray's lifetime for one sweep: join a cluster or start a private local one, check it, always shut down.

A sweep that started Ray itself shuts it down on every exit path (normal end, Ctrl-C, SIGTERM, a crash), so
no Ray process of ours outlives the driver. Its session files (logs, sockets, Tune's searcher pickles) go to
a private folder (mode 0700, ``/tmp/kdbench-ray-*``) that is removed on exit; a driver killed with SIGKILL
cannot clean up, so the next driver ends what such a folder's processes left running and removes it. A sweep
that finds Ray already initialised (a test fixture, a notebook) uses it and leaves it running: it belongs to
the caller.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kdbench.bench.errors import SweepError, sigterm_as_interrupt

__all__ = [
    "check_local_cluster",
    "check_reachable",
    "check_resources",
    "connected",
    "node_cpus",
    "remove_stale_sessions",
]

CONNECT_TIMEOUT_S = 3.0  # how long an unreachable --address may stall us before the one-line error


@contextlib.contextmanager
def connected(
    address: str | None = None, *, num_cpus: int | None = None, temp_dir: str | None = None
) -> Iterator[None]:
    """Ray initialised for the duration of the block.

    ``address``: ``host:port`` of a running cluster (``ray start --head`` elsewhere), ``"auto"`` for the
    cluster this machine already joined, or None for a private local instance (``num_cpus`` cores, session
    files under ``temp_dir``, default a private folder removed on exit). An unreachable address is a
    :class:`SweepError` before Ray is touched.
    """
    import ray

    if address and address != "auto":
        check_reachable(address)
    if ray.is_initialized():
        yield
        return
    private = None
    if not address and not temp_dir:
        remove_stale_sessions()
        private = _private_session_dir()
        temp_dir = os.path.join(private, "r")  # Ray makes its own folder 0777; ours around it stays 0700
    try:
        with _initialised(address, num_cpus, temp_dir), sigterm_as_interrupt():  # after Ray's own handler
            yield
    finally:
        if private:
            _remove_session(private)


@contextlib.contextmanager
def _initialised(address: str | None, num_cpus: int | None, temp_dir: str | None) -> Iterator[None]:
    import ray

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
        with _quiet_token_notice():
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


# Ray 2.60 announces in four terminal lines that it turned on token authentication, its secure default, for
# the local instance it starts: nothing for a user to do. Its warning when authentication is *off* stays.
_TOKEN_LOGGER = "ray._private.authentication.authentication_token_setup"


class _DropTokenEnabledNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Token authentication is enabled for this Ray cluster")


@contextlib.contextmanager
def _quiet_token_notice() -> Iterator[None]:
    notice = _DropTokenEnabledNotice()
    logger = logging.getLogger(_TOKEN_LOGGER)
    logger.addFilter(notice)
    try:
        yield
    finally:
        logger.removeFilter(notice)


# ---- the private session folder ------------------------------------------------------------------------
_SESSION_PREFIX = "kdbench-ray-"
_DRIVER_FILE = "kdbench-driver.pid"


def _session_root() -> str:
    # Short on purpose: Ray's unix socket paths under it must stay below 107 characters.
    return "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()


def _private_session_dir() -> str:
    path = tempfile.mkdtemp(prefix=_SESSION_PREFIX, dir=_session_root())  # mode 0700
    Path(path, _DRIVER_FILE).write_text(str(os.getpid()))
    return path


def _remove_session(path: str) -> None:
    from kdbench.bench._sweep._procs import kill_processes_mentioning

    kill_processes_mentioning(path)  # agents that outlive ray.shutdown() by a few seconds
    shutil.rmtree(path, ignore_errors=True)


def remove_stale_sessions() -> list[str]:
    """Remove the private session folders (and end their processes) of our drivers that no longer run."""
    stale = []
    for path in Path(_session_root()).glob(f"{_SESSION_PREFIX}*"):
        try:
            if path.stat().st_uid != os.getuid():
                continue
            pid = int((path / _DRIVER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours, or still being created
        if not _pid_alive(pid):
            _remove_session(str(path))
            stale.append(str(path))
    return stale


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_local_cluster() -> None:
    """``--address auto`` needs a cluster this machine joined (``ray start``): Ray finds it through
    ``RAY_ADDRESS`` or the file ``ray start`` leaves in Ray's temp folder."""
    marker = Path(tempfile.gettempdir(), "ray", "ray_current_cluster")
    if os.environ.get("RAY_ADDRESS") or marker.exists() or Path("/tmp/ray/ray_current_cluster").exists():
        return
    raise SweepError(
        "--address auto: no Ray cluster runs on this machine (start one with `ray start --head`, set "
        "RAY_ADDRESS, or drop --address for a private Ray)"
    )


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
