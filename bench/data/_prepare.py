"""``prepare()``: the one entry point from a source name to a cached, memory-mapped :class:`Dataset`."""

from __future__ import annotations

import dataclasses
import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kdbench.bench.data._avazu import open_avazu
from kdbench.bench.data._build import build_entry, full_protocol
from kdbench.bench.data._cache import (
    CACHE_VERSION,
    canonical_hash,
    commit_entry,
    datasets_root,
    entries,
    load_entry,
    lookup,
    temporary_entry,
)
from kdbench.bench.data._criteo import open_criteo
from kdbench.bench.data._dataset import Dataset
from kdbench.bench.data._io import progress_bar
from kdbench.bench.data._movielens import open_ml1m, open_ml100k, open_ml100k_recbole
from kdbench.bench.data._names import (
    Resolved,
    claim_name,
    known_names,
    record_name,
    resolve,
    resolve_source,
)
from kdbench.bench.data._schema import check_name, load_schema
from kdbench.bench.data._source import Source
from kdbench.bench.data._table import open_csv_table, open_parquet_table
from kdbench.bench.errors import DatasetError, shorten
from kdbench.bench.io import kdbench_home, space_note

__all__ = [
    "DEFAULT_SOURCE",
    "DEFAULT_SPLIT_SEED",
    "SOURCES",
    "available_sources",
    "cached_datasets",
    "dataset_source",
    "default_split_seed",
    "open_dataset",
    "prepare",
]

DEFAULT_SOURCE = "ml-100k"
DEFAULT_SPLIT_SEED = 2022  # the reference code's seed

# Explicit registry: name -> (opener(path, schema, home) -> Source, one-line description); `data list` order.
# Table openers also take the split seed (their quantile edges come from the training split).
SOURCES: dict[str, tuple[Callable[..., Source], str]] = {
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
    "ml-100k-recbole": (
        open_ml100k_recbole,
        "MovieLens-100K as RecBole 1.2.1's KD_DAGFM sees it: its 7 fields and its seed-2022 split (embedded)",
    ),
}
TABLE_SOURCES = frozenset({"csv", "parquet"})  # named by their schema or file, not by the source
PATH_OPTIONAL = frozenset({"ml-100k", "ml-100k-recbole"})  # embedded (ml-100k: --path for GroupLens' files)
FIXED_SPLIT_SOURCES = frozenset({"ml-100k-recbole"})  # their split is the protocol's own: no split seed


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
    split_seed: int | None = None,
    home: str | os.PathLike[str] | None = None,
    progress: bool = False,
    name: str | None = None,
) -> Dataset:
    """Fetch, parse, encode, split and cache ``source``; or load it from the cache when already prepared.

    ``source`` is a source name (:data:`SOURCES`), the name of a prepared table (``adult``) or a
    fingerprint (a prefix of 6+ hex digits will do). For a source, ``path`` names the raw file or folder
    (optional for ``ml-100k``, required elsewhere) and ``schema`` is the csv/parquet schema (a YAML path or a
    mapping, see ``docs/datasets.md``); ``split_seed`` defaults to 2022, and a table's name is recorded with
    its path, schema and split seed. For a name, ``path`` and ``schema`` must be left out: the recorded ones
    are used, with the recorded split seed unless ``split_seed`` is given. A fingerprint loads that entry
    (another ``split_seed`` prepares its source again). The split seed is a dataset property and part of the
    fingerprint. A cached prepare checks only file sizes and mtimes (no reading) and returns memory-mapped
    arrays. Any problem with the input raises :class:`DatasetError` and leaves no partial cache entry.

    ``name`` names what a source prepares (a table: instead of its schema's name; criteo, avazu,
    movielens-1m: instead of the source's name, so two files of one format can be told apart); the name is
    recorded like a table's. A table whose schema gives its split (``split:``: given files or column, or
    time-ordered) has no split seed: a ``split_seed`` for it is refused. A raw source named without its
    ``path`` (``criteo``) stands for its one prepared file (several: an error listing them).
    """
    return _open(source, path, schema, split_seed, home, progress, remember=True, name=name)


def open_dataset(
    dataset: str,
    *,
    path: str | os.PathLike[str] | None = None,
    schema: Any = None,
    split_seed: int | None = None,
    home: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> Dataset:
    """:func:`prepare` for commands that train (``train``, ``sweep``, ``regress``): the same, except that a
    table prepared from its source here never changes the split seed or schema its name records (only
    ``kdbench data prepare`` does), so ``--split-seed`` on a training command is local to it."""
    return _open(dataset, path, schema, split_seed, home, progress, remember=False, name=None)


def dataset_source(dataset: str, home: str | os.PathLike[str] | None = None) -> str:
    """The source behind ``dataset`` (a source, name or fingerprint) without preparing anything: what a
    command needs to pick the training recipe before any data work. Unknown names are left to prepare."""
    if dataset in SOURCES:
        return dataset
    try:
        resolved = resolve(datasets_root(kdbench_home(home, create=False)), dataset)
    except (DatasetError, OSError):
        return dataset
    return dataset if resolved is None else resolved.source


def default_split_seed(
    dataset: str, home: str | os.PathLike[str] | None = None, schema: Any = None
) -> int | None:
    """The split seed ``dataset`` prepares with when none is given: a name's recorded one, a fingerprint's
    own, 2022 for a source (and for names prepare will refuse anyway); None for a dataset whose split comes
    with the data (a table's ``schema`` with a ``split:`` block, or a name or fingerprint prepared so)."""
    if dataset in TABLE_SOURCES and schema is not None:
        return None if load_schema(schema).split is not None else DEFAULT_SPLIT_SEED
    if dataset in FIXED_SPLIT_SOURCES:
        return None
    if dataset not in SOURCES:
        try:
            resolved = resolve(datasets_root(kdbench_home(home, create=False)), dataset)
        except (DatasetError, OSError):
            resolved = None
        if resolved is not None:
            return resolved.split_seed
    return DEFAULT_SPLIT_SEED


def _open(
    source: str,
    path: Any,
    schema: Any,
    split_seed: int | None,
    home: Any,
    progress: bool,
    *,
    remember: bool,
    name: str | None,
) -> Dataset:
    if split_seed is not None and (
        isinstance(split_seed, bool) or not isinstance(split_seed, int) or split_seed < 0
    ):
        raise DatasetError(f"split_seed must be an integer >= 0, got {split_seed!r}")
    if not isinstance(source, str) or not source:
        raise DatasetError(
            f"dataset must be a source, a prepared dataset's name or a fingerprint: {source!r}"
        )
    home_dir = kdbench_home(home)
    root = datasets_root(home_dir)
    if source in SOURCES and (path is not None or source in PATH_OPTIONAL or source in TABLE_SOURCES):
        return _prepare_source(
            source, path, schema, split_seed, home_dir, progress, remember=remember, name=name
        )
    if source in SOURCES:  # criteo, avazu, movielens-1m without --path: their one prepared file
        if schema is not None or name is not None:
            raise DatasetError(f"{source} needs --path; {SOURCES[source][1]}")
        resolved = resolve_source(root, source)
        if resolved is None:
            raise DatasetError(f"{source} needs --path; {SOURCES[source][1]}")
    else:
        resolved = resolve(root, source)
    if resolved is None:
        names = known_names(root)
        prepared = f"; prepared: {', '.join(names[:10])}" if names else ""
        raise DatasetError(
            f"no dataset source or prepared dataset named {_shown(source)}; sources: {', '.join(SOURCES)}"
            f"{prepared} (`kdbench data list`)"
        )
    if path is not None or schema is not None:
        flags = " and ".join(f for f, v in (("--path", path), ("--schema", schema)) if v is not None)
        raise DatasetError(
            f"{resolved.name} is a prepared dataset (from {resolved.path}): drop {flags}, or prepare it "
            f"again with `kdbench data prepare {resolved.source} --path FILE --schema FILE`"
        )
    if resolved.split_seed is None and split_seed is not None:
        raise DatasetError(_no_seed(f"dataset {resolved.name}", split_seed))
    seed = resolved.split_seed if split_seed is None else split_seed
    if resolved.entry is not None and seed == resolved.split_seed:
        return load_entry(resolved.entry)
    if resolved.path is not None and not os.path.exists(resolved.path):
        kept = _kept_entry(root, resolved.name, seed)
        if kept is not None:
            return kept
        raise DatasetError(
            f"dataset {resolved.name}: its file {resolved.path} is gone and no prepared copy has split seed "
            f"{seed}; prepare it again with `kdbench data prepare {resolved.source} --path FILE`"
        )
    return _prepare_source(
        resolved.source, resolved.path, resolved.schema, seed, home_dir, progress, remember=False,
        name=resolved.name if resolved.source not in TABLE_SOURCES else None,
    )  # fmt: skip


def _no_seed(what: str, seed: int) -> str:
    return (
        f"{what} comes with its split (given, or time-ordered): a split seed ({seed}) does not apply to it; "
        "drop --split-seed / --split-seeds"
    )


def _shown(text: str) -> str:
    return repr(shorten(text, 60))


def _kept_entry(root: Path, name: str, seed: int | None) -> Dataset | None:
    """The newest cached entry of ``name`` at split seed ``seed`` (its file gone, its arrays kept)."""
    for meta in entries(root):
        if meta.get("name") == name and meta["protocol"].get("split", {}).get("seed") == seed:
            return load_entry(Path(meta["path"]))
    return None


def _prepare_source(
    source: str, path: Any, schema: Any, split_seed: int | None, home_dir: Path, progress: bool, *,
    remember: bool, name: str | None = None,
) -> Dataset:  # fmt: skip
    opener, description = SOURCES[source]
    table = source in TABLE_SOURCES
    spec = load_schema(schema) if table else None  # read once: a YAML file, relative split paths resolved
    if spec is not None and name is not None:  # the name wins over the schema file's
        spec = dataclasses.replace(spec, name=check_name(name, "--name"))
    fixed = source in FIXED_SPLIT_SOURCES or (spec is not None and spec.split is not None)
    if fixed and split_seed is not None:
        named = spec.name if spec is not None else source
        raise DatasetError(_no_seed(f"dataset {named}" if named else "this table", split_seed))
    if path is None and source not in PATH_OPTIONAL and not fixed:
        raise DatasetError(f"{source} needs --path; {description}")
    seed = None if fixed else DEFAULT_SPLIT_SEED if split_seed is None else split_seed
    opened = opener(path, spec, home_dir, seed) if table else _named(opener(path, schema, home_dir), name)
    root = datasets_root(home_dir)
    resolved = None
    if opened.name in SOURCES and opened.name != source:
        raise DatasetError(
            f"dataset name {opened.name!r} is a source name; give the dataset its own name: `name: NEW` in "
            "its schema, or --name NEW on `kdbench data prepare`"
        )
    if table or opened.name != source:
        file = str(next(iter(opened.identity.values()))["path"])
        claim_name(root, opened.name, source, file)
        mapping = {**spec.to_mapping(), "name": opened.name} if spec is not None else None
        resolved = Resolved(opened.name, source, file, mapping, seed)
    protocol = full_protocol(opened, seed)
    key = canonical_hash(
        {"cache_version": CACHE_VERSION, "source": source, "identity": opened.identity, "protocol": protocol}
    )[:32]
    dataset = lookup(root, key)
    if dataset is None:
        with progress_bar(progress) as bar, temporary_entry(root) as tmp:
            try:
                meta = build_entry(opened, tmp, seed, bar)
                meta["key"] = key
                meta["identity"] = opened.identity
                # What prepares it again (``--dataset NAME``, or a fingerprint with another split seed).
                meta["prepared"] = {
                    "path": resolved.path if resolved else _resolved_path(path),
                    "schema": resolved.schema if resolved else None,
                }
                if opened.learned:
                    meta["learned"] = opened.learned
                entry = commit_entry(root, tmp, meta, key)
            except OSError as e:  # numpy says "N requested and M written" on a full disk, naming no path
                if not _out_of_room(e):
                    raise
                raise DatasetError(_write_failure(root, tmp, e)) from e
        dataset = load_entry(Path(entry))
    if resolved is not None:
        record_name(root, resolved, dataset.fingerprint, replace=remember)
    return dataset


def _named(opened: Source, name: str | None) -> Source:
    """A raw source's file under its own name: the name joins the protocol (as a table's does), so the same
    file under two names is two entries and ``data info NAME`` finds its own; unnamed, nothing changes."""
    if name is None or name == opened.source:
        return opened
    check_name(name, "--name")
    return dataclasses.replace(opened, name=name, protocol={**opened.protocol, "name": name})


def _out_of_room(error: OSError) -> bool:
    """A write refused for room (full disk, quota, read-only file system, file too big), not a bad input."""
    short_write = "requested and" in str(error) and "written" in str(error)
    return short_write or error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG)


def _write_failure(root: Path, tmp: Path, error: OSError) -> str:
    """One line for a prepare that could not write its arrays: where, why, how far it got, the room left."""
    written = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file()) if tmp.is_dir() else 0
    reason = error.strerror or str(error)
    if "requested and" in reason and "written" in reason:
        reason = f"a short write ({reason}: the disk is full)"
    return (
        f"cannot write the prepared dataset under {root}: {reason}; {space_note(root, written)} "
        "(the part written so far): free space there, or set KDBENCH_HOME to a bigger disk"
    )


def _resolved_path(path: Any) -> str | None:
    return None if path is None else str(Path(path).expanduser().resolve())
