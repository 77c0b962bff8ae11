"""The dataset cache under ``$KDBENCH_HOME/datasets``.

Layout::

    datasets/<fingerprint>/meta.json         what Dataset.info() returns, plus the cache key and inputs
    datasets/<fingerprint>/{train,valid,test}_{x,y}.npy
    datasets/<fingerprint>/{train,valid,test}_dense.npy     only with dense fields (meta: dense_fields)
    datasets/<fingerprint>/vocab_<field index>.arrow   each field's tokens in code order (Arrow IPC)
    datasets/.keys/<key>.json                cheap key -> fingerprint
    datasets/.tmp-<pid>-<random>/            an entry being written (renamed into place when complete)

The key hashes what can be known without reading the source (source name, each input's resolved path, size
and mtime, the protocol and the split seed), so a cached prepare costs a few ``stat`` calls, a JSON read and
six ``np.load(mmap_mode="r")``. The fingerprint inside hashes the source bytes, protocol and split; it is
computed once, while preparing. An entry is written in a temporary folder and renamed into place only when
complete, so an error or an interrupt never leaves a half-written entry behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc

from kdbench.bench.data._dataset import SPLIT_NAMES, Dataset, Split
from kdbench.bench.errors import DatasetError

__all__ = [
    "CACHE_VERSION",
    "DamagedEntry",
    "NpyWriter",
    "canonical_hash",
    "commit_entry",
    "datasets_root",
    "entries",
    "load_entry",
    "lookup",
    "read_vocabulary",
    "temporary_entry",
    "write_json_atomic",
    "write_vocabulary",
]

# Bump when the encoding changes what a prepare would produce: old entries then miss and are rebuilt.
CACHE_VERSION = 1
_META = "meta.json"
# Size and modification time of every file of an entry, written when it is committed: a file changed since
# (edited, truncated, replaced) makes the entry's content be checked against its meta before it is used.
_STAMPS = "stamps.json"


def canonical_hash(obj: Any) -> str:
    """sha256 hex of ``obj`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def datasets_root(home: Path) -> Path:
    """``home/datasets``, not created here: only a prepare that writes an entry creates it, so a failed one
    (or a listing) leaves nothing behind."""
    return home / "datasets"


def write_json_atomic(path: Path, obj: Any) -> None:
    """``obj`` as JSON at ``path``, through a temporary file of this process renamed into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, default=str))
    os.replace(tmp, path)


def write_vocabulary(entry: Path, field: int, tokens: pa.Array | None) -> None:
    """Field ``field``'s kept tokens in code order (code = position + 1) as an Arrow IPC file."""
    table = pa.table({"token": tokens if tokens is not None else pa.array([], pa.string())})
    with (
        pa.OSFile(str(entry / f"vocab_{field:03d}.arrow"), "wb") as sink,
        pa.ipc.new_file(sink, table.schema) as w,
    ):
        w.write_table(table)


def read_vocabulary(entry: Path, field: int) -> pa.Array:
    with pa.memory_map(str(entry / f"vocab_{field:03d}.arrow")) as source:
        return pa.ipc.open_file(source).read_all().column("token").combine_chunks()


def load_entry(entry: Path) -> Dataset:
    """Open a complete cache entry: the JSON and six memory-mapped arrays (nine with dense fields).

    When a file has changed since the entry was committed (its stamps), the content is checked against the
    meta first (codes within their vocabularies, labels 0/1, dense values finite): a mismatch is a
    :class:`DamagedEntry` (a ``ValueError``), which a lookup treats as a miss and prepares again.
    """
    meta = json.loads((entry / _META).read_text())
    dense_fields = [int(f) for f in meta.get("dense_fields") or []]  # entries before dense fields: none
    splits = {}
    for name in SPLIT_NAMES:
        x = np.load(entry / f"{name}_x.npy", mmap_mode="r")
        y = np.load(entry / f"{name}_y.npy", mmap_mode="r")
        if x.shape != (meta["split_sizes"][name], len(meta["fields"])) or y.shape != (x.shape[0],):
            raise ValueError(f"cache entry {entry} has {name} arrays of the wrong shape")
        dense = None
        if dense_fields:
            dense = np.load(entry / f"{name}_dense.npy", mmap_mode="r")
            if dense.shape != (x.shape[0], len(dense_fields)) or dense.dtype != np.float32:
                raise ValueError(f"cache entry {entry} has a {name} dense array of the wrong shape")
        splits[name] = Split(x, y, dense)
    if _changed_since_commit(entry):
        _check_content(entry, meta, splits)
    return Dataset(
        name=meta["name"],
        source=meta["source"],
        fingerprint=meta["fingerprint"],
        field_names=list(meta["fields"]),
        vocab_sizes=[int(v) for v in meta["vocab_sizes"]],
        train=splits["train"],
        valid=splits["valid"],
        test=splits["test"],
        num_rows=int(meta["rows"]),
        positives=int(meta["positives"]),
        protocol=meta["protocol"],
        path=entry,
        dense_fields=dense_fields,
    )


class DamagedEntry(DatasetError, ValueError):
    """A cache entry whose files no longer match its meta: a lookup's miss (ValueError), the user's one-line
    error (DatasetError) where the entry itself was asked for (a fingerprint, a name whose file is gone)."""


def _stamps(entry: Path) -> dict[str, list[int]]:
    return {
        p.name: [p.stat().st_size, p.stat().st_mtime_ns]
        for p in sorted(entry.iterdir())
        if p.is_file() and p.name != _STAMPS
    }


def _changed_since_commit(entry: Path) -> bool:
    """Whether a file differs from its stamp (entries from before stamps were written: never)."""
    try:
        recorded = json.loads((entry / _STAMPS).read_text())
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True
    return recorded != _stamps(entry)


def _check_content(entry: Path, meta: dict[str, Any], splits: dict[str, Split]) -> None:
    """Codes within ``meta``'s vocabulary sizes, labels 0 or 1, dense values finite: else DamagedEntry."""
    vocab = np.asarray(meta["vocab_sizes"], dtype=np.int64)
    problems = []
    for name, split in splits.items():
        if len(split) == 0:
            continue
        x = np.asarray(split.x)
        low, high = x.min(axis=0), x.max(axis=0)
        beyond = np.flatnonzero((high >= vocab) | (low < 0))
        if beyond.size:
            field = meta["fields"][int(beyond[0])]
            problems.append(f"{name} codes of field {field!r} outside 0..{int(vocab[beyond[0]]) - 1}")
        if not np.isin(np.asarray(split.y), (0.0, 1.0)).all():
            problems.append(f"{name} labels other than 0 and 1")
        if split.dense is not None and not np.isfinite(np.asarray(split.dense)).all():
            problems.append(f"{name} dense values that are not finite")
    if problems:
        raise DamagedEntry(
            f"cache entry {entry} was changed after it was prepared and no longer matches its meta "
            f"({'; '.join(problems[:3])}): remove it (`kdbench data remove {meta['fingerprint']}`) and "
            "prepare it again"
        )


def lookup(root: Path, key: str) -> Dataset | None:
    """The cached dataset for ``key``, or None (a broken or missing entry is a miss)."""
    key_file = root / ".keys" / f"{key}.json"
    try:
        fingerprint = json.loads(key_file.read_text())["fingerprint"]
        return load_entry(root / fingerprint)
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextmanager
def temporary_entry(root: Path) -> Iterator[Path]:
    """A fresh folder to write an entry into; removed on any error (and after a successful commit).

    ``root`` is created if needed, and removed again when an error leaves it empty: a failed prepare leaves
    the cache as it found it.
    """
    created = not root.is_dir()
    _remove_stale_temporaries(root)
    tmp = root / f".tmp-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir(parents=True)  # parents: also when a concurrent failed prepare just removed an empty root
    committed = False
    try:
        yield tmp
        committed = True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if created and not committed:
            with contextlib.suppress(OSError):  # not empty: another prepare is writing there
                root.rmdir()


def commit_entry(root: Path, tmp: Path, meta: dict[str, Any], key: str) -> Path:
    """Write ``meta.json`` last, rename ``tmp`` to ``<fingerprint>`` and record ``key``; returns the entry.

    If another process committed the same fingerprint first, its entry is kept and ``tmp`` is discarded; a
    damaged entry of that fingerprint (files missing or truncated) is replaced.
    """
    write_json_atomic(tmp / _META, meta)
    write_json_atomic(tmp / _STAMPS, _stamps(tmp))  # the folder's rename below keeps every file's mtime
    entry = root / meta["fingerprint"]
    try:
        os.rename(tmp, entry)
    except OSError:
        try:
            load_entry(entry)
        except (OSError, ValueError, KeyError, TypeError):
            broken = root / f".tmp-{os.getpid()}-{secrets.token_hex(4)}-broken"
            os.rename(entry, broken)
            shutil.rmtree(broken, ignore_errors=True)
            os.rename(tmp, entry)
    keys = root / ".keys"
    keys.mkdir(exist_ok=True)
    write_json_atomic(keys / f"{key}.json", {"fingerprint": meta["fingerprint"], "source": meta["source"]})
    return entry


def entries(root: Path) -> list[dict[str, Any]]:
    """Every complete entry's meta (plus ``path`` and ``bytes``), newest first."""
    found: list[dict[str, Any]] = []
    if not root.is_dir():
        return found
    for meta_file in root.glob(f"*/{_META}"):
        if meta_file.parent.name.startswith("."):
            continue
        try:
            meta = json.loads(meta_file.read_text())
        except (OSError, ValueError):
            continue
        meta["path"] = str(meta_file.parent)
        meta["bytes"] = sum(p.stat().st_size for p in meta_file.parent.iterdir() if p.is_file())
        found.append(meta)
    return sorted(found, key=lambda m: str(m.get("created", "")), reverse=True)


def _remove_stale_temporaries(root: Path) -> None:
    """Remove ``.tmp-<pid>-*`` folders whose writer process is gone (killed mid-prepare)."""
    for tmp in root.glob(".tmp-*"):
        try:
            pid = int(tmp.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            pass


class NpyWriter:
    """Writes a C-order .npy of known shape by appending rows (plain file writes: no growing memory map)."""

    def __init__(self, path: Path, dtype: np.dtype | type, shape: tuple[int, ...]) -> None:
        self.dtype = np.dtype(dtype).newbyteorder("<")
        self.shape = shape
        self._rows = 0
        self._file = open(path, "wb")  # noqa: SIM115 - closed in close()
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(self._file, header)

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=self.dtype)
        if rows.shape[1:] != self.shape[1:]:
            raise ValueError(f"rows of shape {rows.shape} do not fit an array of shape {self.shape}")
        rows.tofile(self._file)
        self._rows += rows.shape[0]

    def close(self) -> None:
        self._file.close()
        if self._rows != self.shape[0]:
            raise RuntimeError(f"wrote {self._rows} rows into an array of {self.shape[0]}")
