"""``prepare()``: the one entry point from a source name to a cached, memory-mapped :class:`Dataset`."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.data._avazu import open_avazu
from bench.data._build import build_entry, full_protocol
from bench.data._cache import (
    CACHE_VERSION,
    canonical_hash,
    commit_entry,
    datasets_root,
    entries,
    load_entry,
    lookup,
    temporary_entry,
)
from bench.data._criteo import open_criteo
from bench.data._dataset import Dataset
from bench.data._io import progress_bar
from bench.data._movielens import open_ml1m, open_ml100k
from bench.data._source import Source
from bench.data._table import open_csv_table, open_parquet_table
from bench.errors import DatasetError
from bench.paths import kdbench_home

__all__ = ["DEFAULT_SOURCE", "SOURCES", "available_sources", "cached_datasets", "prepare"]

DEFAULT_SOURCE = "ml-100k"

# Explicit registry: name -> (opener(path, schema, home) -> Source, one-line description); `data list` order.
SOURCES: dict[str, tuple[Callable[[Any, Any, Path], Source], str]] = {
    "ml-100k": (
        open_ml100k,
        "MovieLens-100K, embedded (recbole==1.2.1 wheel), or --path: GroupLens' u.data/u.user/u.item folder",
    ),
    "movielens-1m": (open_ml1m, "MovieLens-1M: --path to the ratings.dat/users.dat/movies.dat folder"),
    "criteo": (
        open_criteo,
        "Criteo Display Advertising Challenge: --path to train.txt (or a day file, .gz ok)",
    ),
    "avazu": (open_avazu, "Avazu CTR: --path to train.csv"),
    "csv": (open_csv_table, "any CSV table: --path to the file, --schema YAML (label, categorical, numeric)"),
    "parquet": (open_parquet_table, "any Parquet table: --path to the file, --schema YAML"),
}


def available_sources() -> dict[str, str]:
    """Known source names (in ``kdbench data list`` order) with a one-line description each."""
    return {name: description for name, (_, description) in SOURCES.items()}


def cached_datasets(home: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every complete cache entry under ``home`` (default ``$KDBENCH_HOME``), newest first.

    Each is the entry's info (fingerprint, name, source, protocol, rows, positives, fields, vocab_sizes,
    split_sizes) plus ``path``, ``bytes``, ``created`` and ``prepare_seconds``.
    """
    return entries(datasets_root(kdbench_home(home, create=False)))


def prepare(
    source: str = DEFAULT_SOURCE,
    *,
    path: str | os.PathLike[str] | None = None,
    schema: Any = None,
    split_seed: int = 2022,
    home: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> Dataset:
    """Fetch, parse, encode, split and cache ``source``; or load it from the cache when already prepared.

    ``path`` names the raw file or folder (optional for ``ml-100k``, required elsewhere); ``schema`` is the
    csv/parquet schema (a YAML path or a mapping, see :mod:`bench.data._table`). The split seed is a dataset
    property and part of the fingerprint. A cached prepare checks only file sizes and mtimes (no reading) and
    returns memory-mapped arrays. Any problem with the input raises :class:`DatasetError` and leaves no
    partial cache entry.
    """
    if source not in SOURCES:
        raise DatasetError(f"unknown dataset source {source!r}; choose one of {', '.join(SOURCES)}")
    if isinstance(split_seed, bool) or not isinstance(split_seed, int) or split_seed < 0:
        raise DatasetError(f"split_seed must be an integer >= 0, got {split_seed!r}")
    opener, _ = SOURCES[source]
    home_dir = kdbench_home(home)
    opened = opener(path, schema, home_dir)
    protocol = full_protocol(opened, split_seed)
    key = canonical_hash(
        {"cache_version": CACHE_VERSION, "source": source, "identity": opened.identity, "protocol": protocol}
    )[:32]
    root = datasets_root(home_dir)
    cached = lookup(root, key)
    if cached is not None:
        return cached
    with progress_bar(progress) as bar, temporary_entry(root) as tmp:
        meta = build_entry(opened, tmp, split_seed, bar)
        meta["key"] = key
        meta["identity"] = opened.identity
        entry = commit_entry(root, tmp, meta, key)
    return load_entry(Path(entry))
