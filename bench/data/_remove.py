"""Removing prepared datasets from the cache: by name, fingerprint, split seed or staleness, all or nothing.

A prepared Criteo is ~7 GB of codes, and every split seed is an entry of its own, so the cache needs a way
out besides ``rm -rf`` on fingerprints. What can be removed:

- a **name** (``adult``, ``criteo``): every entry prepared under it, and the name itself (another file may
  take it then); with ``split_seed`` only that seed's entry, and the name stays;
- a **fingerprint** (or a prefix of 6+ hex digits): that one entry; the name stays, and ``--dataset NAME``
  prepares the file again when it is next used;
- **stale** entries: prepared from a file whose bytes have changed since, so no prepare of that file finds
  them again; only a fingerprint still reaches them. An entry whose file is gone is not stale: it may be the
  only copy of the data.

Every check comes before the first removal: a target that matches nothing, an ambiguous prefix or an entry a
running process has open (a sweep's workers map their dataset's arrays) refuses the whole command. An entry
is renamed out of place first (an atomic step: a reader sees it whole or not at all), then deleted; its
cache keys go with it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdbench.bench.data._cache import entries
from kdbench.bench.errors import DatasetError, UsageError

__all__ = ["Selection", "is_stale", "open_by", "remove_entries", "select_entries", "split_seed_of"]

_FINGERPRINT = re.compile(r"[0-9a-f]{6,32}")


@dataclass(frozen=True)
class Selection:
    """What a remove would take: the entries' metas (``kdbench.bench.data.cached_datasets`` rows) and the
    names whose records go with them."""

    metas: list[dict[str, Any]]
    names: list[str]


def split_seed_of(meta: dict[str, Any]) -> int | None:
    seed = (meta.get("protocol") or {}).get("split", {}).get("seed")
    return int(seed) if seed is not None else None


def is_stale(meta: dict[str, Any]) -> bool:
    """Whether a file the entry was prepared from holds other bytes now, so that no prepare of it finds
    this entry again. A changed size proves it; a changed modification time alone (a copy, a ``touch``)
    reads the file once and compares its sha256 with the one recorded at prepare."""
    digests = meta.get("inputs") or {}
    for role, item in (meta.get("identity") or {}).items():
        if not isinstance(item, dict) or not item.get("path"):
            continue  # an embedded source (ml-100k): identified by its hash, never stale
        try:
            stat = os.stat(item["path"])
        except OSError:
            continue  # gone: the entry may be the only copy of the data
        if stat.st_size != item.get("bytes"):
            return True
        touched = stat.st_mtime_ns != item.get("mtime_ns") and role in digests
        if touched and _sha256(item["path"], stat.st_size, stat.st_mtime_ns) != digests[role]:
            return True
    return False


@functools.lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """The file's sha256 (as prepare records it: over its bytes as stored); size and mtime key the memo."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def select_entries(
    root: Path, targets: Sequence[str], *, split_seed: int | None = None, stale: bool = False
) -> Selection:
    """The entries ``targets`` name (all of them when there are none and ``stale`` is set), narrowed to
    ``split_seed`` and to stale ones when asked. A target that matches nothing is a one-line error."""
    if not targets and not stale:
        raise UsageError(
            "name what to remove: a dataset NAME, a fingerprint, or --stale; see `kdbench data list`"
        )
    cached = entries(root)
    if not targets:
        chosen = list(cached)
    else:
        chosen, seen = [], set()
        for target in targets:
            for meta in _matching(root, cached, target, split_seed):
                if meta["fingerprint"] not in seen:
                    seen.add(meta["fingerprint"])
                    chosen.append(meta)
    if split_seed is not None and not targets:
        chosen = [m for m in chosen if split_seed_of(m) == split_seed]
    if stale:
        chosen = [m for m in chosen if is_stale(m)]
    # A name goes with its entries only when all of them were asked for, by name.
    names = [] if stale or split_seed is not None else [t for t in targets if not _is_fingerprint(cached, t)]
    return Selection(chosen, names)


def _is_fingerprint(cached: list[dict[str, Any]], target: str) -> bool:
    return bool(_FINGERPRINT.fullmatch(target)) and any(m["fingerprint"].startswith(target) for m in cached)


def _matching(
    root: Path, cached: list[dict[str, Any]], target: str, split_seed: int | None
) -> list[dict[str, Any]]:
    if _is_fingerprint(cached, target):
        hits = [m for m in cached if m["fingerprint"].startswith(target)]
        if len(hits) > 1:
            shown = ", ".join(f"{m['fingerprint']} ({m['name']})" for m in hits[:5])
            raise DatasetError(f"{target!r} matches several fingerprints ({shown}): give more digits")
        return hits
    hits = [m for m in cached if m.get("name") == target]
    if not hits and split_seed is None and _has_name_record(root, target):
        return []  # a name whose entries are gone already: only its record goes
    if not hits:
        raise DatasetError(f"no cached dataset matches {target!r}: see `kdbench data list`")
    if split_seed is None:
        return hits
    seeded = [m for m in hits if split_seed_of(m) == split_seed]
    if not seeded:
        found = {split_seed_of(m) for m in hits}
        seeds = ", ".join(str(s) for s in sorted(s for s in found if s is not None))
        raise DatasetError(f"dataset {target!r} has no entry with split seed {split_seed} (it has: {seeds})")
    return seeded


def _has_name_record(root: Path, name: str) -> bool:
    if "/" in name or name.startswith("."):
        return False
    try:
        return (root / ".names" / f"{name}.json").is_file()
    except OSError:  # a name no file can have (too long): no record
        return False


def open_by(entries: Sequence[Path]) -> dict[Path, tuple[int, str]]:
    """For each of ``entries`` that a process (not this one) has a file of mapped or open: one such process,
    as (pid, command line). One pass over ``/proc`` whatever the number of entries. Linux only; elsewhere,
    and for processes this user may not inspect, nothing is found."""
    proc = Path("/proc")
    prefixes = {str(entry.resolve()) + os.sep: entry for entry in entries}
    found: dict[Path, tuple[int, str]] = {}
    if not proc.is_dir() or not prefixes:
        return found
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) == os.getpid():
            continue
        for prefix in _open_prefixes(pid_dir, prefixes):
            found.setdefault(prefixes[prefix], (int(pid_dir.name), _cmdline(pid_dir)))
    return found


def _open_prefixes(pid_dir: Path, prefixes: dict[str, Path]) -> set[str]:
    """Which of ``prefixes`` the process's mapped files (``maps``) and open files (``fd``) start with."""
    paths: set[str] = set()
    try:
        for line in (pid_dir / "maps").read_text(errors="replace").splitlines():
            fields = line.split(maxsplit=5)
            if len(fields) == 6:
                paths.add(fields[5])
        for fd in (pid_dir / "fd").iterdir():
            with contextlib.suppress(OSError):
                paths.add(os.readlink(fd))
    except OSError:  # gone meanwhile, or not ours to inspect
        pass
    return {prefix for path in paths for prefix in prefixes if path.startswith(prefix)}


def _cmdline(pid_dir: Path) -> str:
    try:
        return (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def remove_entries(root: Path, selection: Selection) -> int:
    """Remove the selected entries, their cache keys and the selected names' records; return the bytes
    freed. Refused, with nothing removed, when a running process has one of the entries open."""
    users = open_by([Path(meta["path"]) for meta in selection.metas])
    for meta in selection.metas:
        if Path(meta["path"]) in users:
            pid, cmdline = users[Path(meta["path"])]
            raise DatasetError(
                f"dataset {meta['name']} ({meta['fingerprint']}) is open in process {pid} "
                f"({cmdline[:80] or 'no command line'}): stop it first (a sweep or trial using it)"
            )
    removed: dict[str, int] = {}  # fingerprint -> bytes
    try:
        for meta in selection.metas:
            if _remove_entry(root, Path(meta["path"]), already=len(removed)):
                removed[meta["fingerprint"]] = int(meta.get("bytes", 0))
    finally:  # keys of what is gone go too, even if a later entry could not be removed
        _forget_keys(root, set(removed))
    for name in selection.names:
        (root / ".names" / f"{name}.json").unlink(missing_ok=True)
    return sum(removed.values())


def _remove_entry(root: Path, entry: Path, *, already: int) -> bool:
    """Move ``entry`` out of place in one rename (a reader sees it whole or not at all), then delete it; a
    delete cut short leaves a ``.tmp-<pid>-`` folder, which the next prepare clears once this process is
    gone. False when another process removed it first."""
    doomed = root / f".tmp-{os.getpid()}-{secrets.token_hex(4)}-removed"
    try:
        os.rename(entry, doomed)
    except FileNotFoundError:
        return False
    except OSError as e:
        done = f" ({already} removed before it)" if already else ""
        raise DatasetError(f"cannot remove {entry}: {e.strerror}{done}; check the cache's permissions") from e
    shutil.rmtree(doomed, ignore_errors=True)
    return True


def _forget_keys(root: Path, fingerprints: set[str]) -> None:
    folder = root / ".keys"
    if not fingerprints or not folder.is_dir():
        return
    for key_file in folder.glob("*.json"):
        try:
            points_at = json.loads(key_file.read_text()).get("fingerprint")
        except (OSError, ValueError, AttributeError):
            continue
        if points_at in fingerprints:
            key_file.unlink(missing_ok=True)
