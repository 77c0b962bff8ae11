"""How many CPU threads a trial trains with when the user does not say.

torch's default is one thread per core. A KD trial's matmuls are small, so extra threads gain little, and
when the cores are shared (a laptop in use, a CI runner, two trials at once) torch's spinning threads lose a
lot: on a busy 2-core machine ``kdbench train`` ran 14x slower with 2 threads than with 1. The default leaves
half the CPUs this process may use to everything else, at most 8; ``OMP_NUM_THREADS`` or ``--threads``
overrides it.
"""

from __future__ import annotations

import os

__all__ = ["MAX_DEFAULT_THREADS", "available_cpus", "default_threads"]

MAX_DEFAULT_THREADS = 8


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask: a container's or taskset's limit), else the count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_threads() -> int:
    """``$OMP_NUM_THREADS`` when set to a positive integer, else half the available CPUs (1 to 8)."""
    configured = os.environ.get("OMP_NUM_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, min(MAX_DEFAULT_THREADS, available_cpus() // 2))
