"""Dataset names: what a user types after ``--dataset`` once a table is prepared.

A table (csv, parquet) is prepared under a name (its schema's ``name:``, ``--name``, or the file's stem); a
raw-format file (criteo, avazu, movielens-1m) under ``--name`` when given, else under its source's name
(``--dataset criteo`` then finds the one prepared Criteo file, see :func:`resolve_source`).
The name is recorded in ``$KDBENCH_HOME/datasets/.names/<name>.json`` with what it was prepared from: the
source, the file's resolved path, the schema (as a mapping) and the split seed. ``--dataset adult`` then
prepares that source again (a cache hit: a few ``stat`` calls) with the recorded split seed, or another
one given with ``--split-seed``.

A name belongs to one file: preparing another file under a taken name is refused (both files named
``adult.csv`` in different folders: the second needs its own name), unless the first file is gone (a moved
file takes its name along). ``kdbench data prepare`` (and :func:`kdbench.bench.data.prepare` from a source)
records the schema and split seed it was given; ``train``/``sweep`` from a source only record a name not yet
taken, so a ``--split-seed`` there never changes what ``--dataset adult`` means.

A fingerprint (or a prefix of 6+ hex digits) names one exact cache entry, split included.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdbench.bench.data._cache import entries, write_json_atomic
from kdbench.bench.data._split import FIXED_METHODS
from kdbench.bench.errors import DatasetError

__all__ = ["Resolved", "claim_name", "known_names", "record_name", "resolve", "resolve_source"]

_FINGERPRINT = re.compile(r"[0-9a-f]{6,32}")


@dataclass(frozen=True)
class Resolved:
    """What a dataset name or fingerprint stands for: the arguments that prepare it again."""

    name: str
    source: str
    path: str | None
    schema: dict[str, Any] | None
    split_seed: int | None  # None: the split comes with the data (given, time-ordered)
    entry: Path | None = None  # a fingerprint's exact entry (None: a name, prepared again from the file)


def _names_dir(root: Path) -> Path:
    return root / ".names"


def _read(root: Path, name: str) -> dict[str, Any] | None:
    if "/" in name or name.startswith("."):
        return None
    try:
        record = json.loads((_names_dir(root) / f"{name}.json").read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("name") == name else None


def known_names(root: Path) -> list[str]:
    """Every recorded name, sorted."""
    folder = _names_dir(root)
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


def claim_name(root: Path, name: str, source: str, path: str | None) -> None:
    """Refuse ``name`` when it is recorded for another file that still exists (nothing is written)."""
    record = _read(root, name)
    if record is None or (record["source"], record["path"]) == (source, path):
        return
    if record["path"] is not None and not os.path.exists(record["path"]):
        return  # the file it named is gone: the name moves with the user's new file
    raise DatasetError(
        f"dataset name {name!r} is taken by {record['path']} ({record['source']}); give this table its own "
        "name: `name: NEW` in its schema, or --name NEW on `kdbench data prepare`"
    )


def record_name(root: Path, resolved: Resolved, fingerprint: str, *, replace: bool) -> None:
    """Record ``resolved`` under its name; an existing record of the same file is kept unless ``replace``.

    The claim is checked again under the name's lock, then written: of two processes that prepared different
    files under one name at once (both passed :func:`claim_name` before either recorded), the second is
    refused here; its entry stays in the cache, found by its fingerprint."""
    folder = _names_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder / f".{resolved.name}.lock"):
        claim_name(root, resolved.name, resolved.source, resolved.path)
        _record(root, resolved, fingerprint, replace=replace)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock across processes (and hosts, where the shared file system supports ``flock``)."""
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _record(root: Path, resolved: Resolved, fingerprint: str, *, replace: bool) -> None:
    existing = _read(root, resolved.name)
    same = existing is not None and (existing["source"], existing["path"]) == (resolved.source, resolved.path)
    if same and not replace:
        return
    record = {
        "name": resolved.name,
        "source": resolved.source,
        "path": resolved.path,
        "schema": resolved.schema,
        "split_seed": resolved.split_seed,
        "fingerprint": fingerprint,
        "recorded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    write_json_atomic(_names_dir(root) / f"{resolved.name}.json", record)


def resolve(root: Path, text: str) -> Resolved | None:
    """The dataset ``text`` names: a recorded name, a fingerprint (prefix), or the name of an entry
    prepared before names were recorded; None when nothing matches. An ambiguous prefix is an error."""
    record = _read(root, text)
    if record is not None:
        seed = record["split_seed"]
        return Resolved(
            record["name"],
            record["source"],
            record["path"],
            record["schema"],
            None if seed is None else int(seed),
        )
    cached = entries(root)
    if _FINGERPRINT.fullmatch(text):
        hits = [m for m in cached if str(m.get("fingerprint", "")).startswith(text)]
        if len(hits) > 1:
            shown = ", ".join(f"{m['fingerprint']} ({m['name']})" for m in hits[:5])
            raise DatasetError(f"dataset {text!r} matches several fingerprints ({shown}): give more digits")
        if hits:
            return _from_meta(hits[0], exact=True)
    named = [m for m in cached if m.get("name") == text]  # newest first
    return _from_meta(named[0], exact=False) if named else None


def _from_meta(meta: dict[str, Any], *, exact: bool) -> Resolved:
    prepared = meta.get("prepared") or {}
    identity = (meta.get("identity") or {}).get("data")
    path = prepared.get("path", identity.get("path") if isinstance(identity, dict) else None)
    schema = prepared.get("schema")
    if schema is None and meta["source"] in ("csv", "parquet"):
        schema = _schema_from_protocol(meta["protocol"], meta["name"])
    split = meta["protocol"].get("split", {})
    seed = None if split.get("method") in FIXED_METHODS else int(split.get("seed", 2022))
    entry = Path(meta["path"]) if exact else None
    return Resolved(meta["name"], meta["source"], path, schema, seed, entry)


def resolve_source(root: Path, source: str) -> Resolved | None:
    """What a raw source's name (``criteo``) stands for when no file is given: its one prepared file, under
    whatever name it was prepared; None when none is. Several files (two days, a sample and the full set)
    are an error listing them, each with the name or fingerprint that picks it."""
    found: dict[tuple[str, Any], dict[str, Any]] = {}
    for meta in entries(root):  # newest first
        if meta.get("source") == source:
            path = (meta.get("prepared") or {}).get("path")
            found.setdefault((meta["name"], path), meta)
    if not found:
        return None
    if len(found) > 1:
        listed = "; ".join(
            f"{name if name != source else meta['fingerprint'][:10]} ({path or 'embedded'})"
            for (name, path), meta in list(found.items())[:6]
        )
        more = f" and {len(found) - 6} more" if len(found) > 6 else ""
        raise DatasetError(
            f"{source} stands for {len(found)} prepared files: {listed}{more}; pick one with --dataset NAME "
            "(or the fingerprint shown), see `kdbench data list`"
        )
    (name, _), meta = next(iter(found.items()))
    named = _read(root, name) if name != source else None
    return resolve(root, name) if named is not None else _from_meta(meta, exact=False)


def _schema_from_protocol(protocol: dict[str, Any], name: str) -> dict[str, Any]:
    """An entry from before schemas were recorded: its protocol holds the same rules."""
    keys = ("label", "categorical", "numeric", "min_count", "sep")
    return {"name": name, **{k: protocol[k] for k in keys if k in protocol}}
