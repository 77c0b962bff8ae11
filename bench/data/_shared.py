"""A prepared dataset handed to other processes by path: what a sweep ships to its workers for big data.

Ray's object store holds one copy of a small dataset per node, but each trial then copies it again into its
own tensors. Above the mapping threshold (``kdbench.bench.batches.map_threshold``) a sweep ships a
:class:`CachedDataset` instead, a fingerprint and a folder, and each worker maps the entry's ``.npy`` files
read-only: N trials on a node share the page cache's single copy. The folder must be readable from every
node: the driver's own cache (one machine), or a folder on shared storage (``kdbench sweep --data-cache
DIR``), into which the driver copies the entry once. A node may also hold its own copy prepared there with
the same file: the fingerprint proves it is the same data.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from kdbench.bench.data._cache import load_entry
from kdbench.bench.data._dataset import Dataset
from kdbench.bench.errors import DatasetError

__all__ = ["CachedDataset", "share_dataset"]


@dataclass(frozen=True)
class CachedDataset:
    """A cache entry by reference: ``<folder>/<fingerprint>/`` (picklable, a few bytes)."""

    fingerprint: str
    folder: str

    def open(self) -> Dataset:
        """The dataset with memory-mapped splits; a one-line DatasetError when this node cannot read it."""
        entry = Path(self.folder) / self.fingerprint
        try:
            data = load_entry(entry)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise DatasetError(
                f"dataset {self.fingerprint} is not readable at {entry} on this node ({type(e).__name__}): "
                "point --data-cache at a folder every node can read, or prepare the same file there"
            ) from e
        if data.fingerprint != self.fingerprint:
            raise DatasetError(f"{entry} holds dataset {data.fingerprint}, not {self.fingerprint}")
        return data


def share_dataset(data: Dataset, folder: str | os.PathLike[str] | None = None) -> CachedDataset:
    """``data`` by reference, from ``folder`` (default: the cache it was loaded from).

    When ``folder`` lacks the entry, it is copied there (into a temporary folder renamed into place, so a
    reader never sees half an entry; a concurrent copy of the same fingerprint is kept).
    """
    if data.path is None:
        raise DatasetError(f"dataset {data.name} has no cache entry to share by path")
    source = Path(data.path)
    if folder is None:
        return CachedDataset(data.fingerprint, str(source.parent))
    target_root = Path(folder).expanduser().resolve()
    target = target_root / data.fingerprint
    if target.resolve() != source.resolve() and not (target / "meta.json").is_file():
        try:
            target_root.mkdir(parents=True, exist_ok=True)
            tmp = target_root / f".tmp-{os.getpid()}-{secrets.token_hex(4)}"
            try:
                shutil.copytree(source, tmp)
                os.rename(tmp, target)
            except FileExistsError:  # another driver committed it first: theirs is the same data
                shutil.rmtree(tmp, ignore_errors=True)
            except BaseException:  # a half copy (disk full, interrupt) must not stay on shared storage
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        except OSError as e:
            reason = e.strerror or type(e).__name__
            raise DatasetError(
                f"--data-cache {folder}: cannot copy dataset {data.fingerprint} there: {reason}"
            ) from e
    return CachedDataset(data.fingerprint, str(target_root))
