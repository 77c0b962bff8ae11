"""What every source module hands the encoder: fields, protocol, cache identity and a chunk reader."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bench.data._encode import Chunk

__all__ = ["Reader", "Source"]

# read(bar, digests): yields chunks in file order; fills ``digests`` (input role -> sha256 hex of its bytes)
# by the time it is exhausted. ``bar`` is what ``progress_bar()`` yields.
Reader = Callable[[Any, dict[str, str]], Iterator[Chunk]]


@dataclass(frozen=True)
class Source:
    """An opened (not yet read) source.

    ``identity`` holds what the cache key needs to recognise the same input without reading it (file paths,
    sizes, mtimes, or the pinned wheel's hash); ``protocol`` holds every preprocessing rule and is part of
    both the key and the fingerprint.
    """

    source: str
    name: str
    field_names: list[str]
    min_counts: list[int]
    protocol: dict[str, Any]
    identity: dict[str, Any]
    read: Reader
