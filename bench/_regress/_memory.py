"""Peak resident memory growth of a block of code, torch's allocations included.

``tracemalloc`` does not see torch's allocator, so we read the kernel's count instead. On Linux the peak
(``VmHWM``) can be reset to the current RSS by writing ``5`` to ``/proc/self/clear_refs``: the growth is then
exactly the block's peak over its starting RSS, even when an earlier case peaked higher in this process.
Elsewhere (or where the reset is refused) ``ru_maxrss`` is a high-water mark of the whole process, so the
growth is a lower bound (0 when an earlier case peaked higher); ``method`` says which one was used.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

__all__ = ["PeakMemory"]

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


class PeakMemory:
    """``with PeakMemory() as m: ...``; then ``m.growth_mib``: peak RSS in the block minus its start RSS."""

    def __init__(self) -> None:
        self.growth_mib = 0.0
        self.method = ""
        self._start_kib = 0

    def __enter__(self) -> PeakMemory:
        if _reset_peak():
            self.method = "VmHWM"
            self._start_kib = _status_kib("VmHWM")
        else:
            self.method = "ru_maxrss"
            self._start_kib = _maxrss_kib()
        return self

    def __exit__(self, *exc: object) -> None:
        end = _status_kib("VmHWM") if self.method == "VmHWM" else _maxrss_kib()
        self.growth_mib = max(0, end - self._start_kib) / 1024


def _reset_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
        return _status_kib("VmHWM") > 0
    except OSError:
        return False


def _status_kib(key: str) -> int:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return 0


def _maxrss_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB on Linux
