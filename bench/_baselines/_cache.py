"""Baselines computed once per dataset fingerprint and machine, in ``$KDBENCH_HOME/baselines/<fp>.json``.

The fingerprint identifies the split's arrays, so a file never goes stale; ``refresh`` refits. A file that
cannot be read back (truncated, edited, another format) is refitted and rewritten, with a warning on the
``kdbench.bench.baselines`` logger. Writes go to a temporary file in the same folder, then ``os.replace``:
a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdbench.bench._baselines._fit import fit_baselines
from kdbench.bench._baselines._result import MODELS, BaselineResult
from kdbench.bench.errors import KdbenchError
from kdbench.bench.io import kdbench_home

if TYPE_CHECKING:
    from kdbench.bench.data import Dataset

__all__ = ["FORMAT", "baselines_for", "baselines_path", "cached_baselines"]

FORMAT = "kdbench-baselines"
VERSION = 1
_FOLDER = "baselines"
_SAFE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,127}$")  # a fingerprint that is also a safe file name
log = logging.getLogger("kdbench.bench.baselines")


def baselines_path(fingerprint: str, home: str | os.PathLike[str] | None = None) -> Path | None:
    """Where the baselines of ``fingerprint`` live; None for a string that is no fingerprint (a path, ...)."""
    if not isinstance(fingerprint, str) or not _SAFE.match(fingerprint):
        return None
    return kdbench_home(home, create=False) / _FOLDER / f"{fingerprint}.json"


def cached_baselines(
    fingerprint: str, home: str | os.PathLike[str] | None = None
) -> list[BaselineResult] | None:
    """The baselines this machine computed for ``fingerprint`` (in :data:`MODELS` order), or None when it
    has none (no file, or one that cannot be read back: logged as a warning)."""
    path = baselines_path(fingerprint, home)
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or (data.get("format"), data.get("version")) != (FORMAT, VERSION):
            raise ValueError(f"not a {FORMAT} file of version {VERSION}")
        results = [BaselineResult.from_dict(r) for r in data["results"]]
        if any(r.dataset_fingerprint != fingerprint for r in results):
            raise ValueError("it holds another dataset's results")
    except (OSError, ValueError, KeyError, TypeError, KdbenchError) as e:
        log.warning("ignoring the baseline file %s (%s): the baselines will be computed again", path, e)
        return None
    return sorted(results, key=lambda r: MODELS.index(r.model))


def baselines_for(
    dataset: Dataset,
    *,
    compute: bool = True,
    refresh: bool = False,
    models: Sequence[str] = MODELS,
    seed: int = 0,
    threads: int | None = None,
    home: str | os.PathLike[str] | None = None,
) -> list[BaselineResult]:
    """The baselines of ``dataset`` for ``models``: from this machine's file cache, else (``compute``) fitted
    with :func:`fit_baselines` and cached; without ``compute``, only the cached ones (maybe none).

    Only the models missing from the cache (or cached with another ``seed``) are fitted; ``refresh`` fits
    them all again. A cache folder that cannot be written is a warning: the results are still returned.
    """
    wanted = tuple(models) if not isinstance(models, str) else (models,)
    cached = {} if refresh else {r.model: r for r in cached_baselines(dataset.fingerprint, home) or []}
    missing = [m for m in wanted if m not in cached or cached[m].seed != seed]
    if missing and compute:
        for result in fit_baselines(dataset, models=missing, seed=seed, threads=threads):
            cached[result.model] = result
        _write(dataset.fingerprint, list(cached.values()), home)
    return [cached[m] for m in wanted if m in cached and cached[m].seed == seed]


def _write(fingerprint: str, results: list[BaselineResult], home: Any) -> None:
    path = baselines_path(fingerprint, home)
    if path is None:
        log.warning("not caching the baselines of %r: not a fingerprint", fingerprint)
        return
    ordered = sorted(results, key=lambda r: MODELS.index(r.model))
    text = json.dumps(
        {"format": FORMAT, "version": VERSION, "dataset_fingerprint": fingerprint,
         "results": [r.to_dict() for r in ordered]},
        indent=1,
    )  # fmt: skip
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{fingerprint}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as e:
        log.warning("cannot cache the baselines in %s (%s): they will be computed again next time", path, e)
