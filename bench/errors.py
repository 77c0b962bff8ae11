"""One exception root for everything a user can get wrong.

The CLI turns any :class:`KdbenchError` into one line on stderr and a non-zero exit; library errors are
converted at the boundary with ``raise ... from e`` so the cause stays in the traceback for developers.
"""

from __future__ import annotations

from kdbench.search_spaces import SearchSpaceError as _SpaceError  # loads yaml only, not optuna

__all__ = [
    "BaselineError",
    "ConfigError",
    "DatasetError",
    "KdbenchError",
    "RegressionError",
    "ReportError",
    "SearchSpaceError",
    "StoreError",
    "SweepError",
    "TrialError",
    "UsageError",
]


class KdbenchError(Exception):
    """Base of every error kdbench raises on purpose. The message says what is wrong and what to do."""


class ConfigError(KdbenchError):
    """A trial config has unknown keys, wrong types or impossible values."""


class UsageError(KdbenchError):
    """A command-line argument names something unusable (an output file in a missing folder, ...)."""


class DatasetError(KdbenchError):
    """A dataset source is missing, malformed or cannot be fetched."""


class SearchSpaceError(KdbenchError, _SpaceError):
    """A search-space YAML is malformed or describes an impossible space."""


class StoreError(KdbenchError):
    """The results database cannot be opened, is of another schema version, or a write failed."""


class TrialError(KdbenchError):
    """A KD trial failed while running (non-finite loss, out of memory, ...)."""


class SweepError(KdbenchError):
    """A sweep cannot start or resume (name clash, unreachable Ray cluster, ...)."""


class ReportError(KdbenchError):
    """The report site cannot be built (unwritable output folder, ...)."""


class RegressionError(KdbenchError):
    """A regression suite or baseline is malformed or missing."""


class BaselineError(KdbenchError):
    """A baseline cannot be fitted on a dataset (a training split with one class, ...)."""
