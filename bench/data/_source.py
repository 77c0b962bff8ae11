"""What every source module declares: the :class:`Source` it hands the encoder (fields, protocol, cache
identity, chunk reader) and the :class:`Recipe` of training settings that suit its data."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kdbench.bench.data._encode import Chunk

__all__ = ["Reader", "Recipe", "Source"]

# read(bar, digests): yields chunks in file order; fills ``digests`` (input role -> sha256 hex of its bytes)
# by the time it is exhausted. ``bar`` is what ``progress_bar()`` yields.
Reader = Callable[[Any, dict[str, str]], Iterator[Chunk]]


@dataclass(frozen=True)
class Source:
    """An opened (not yet read) source.

    ``identity`` holds what the cache key needs to recognise the same input without reading it (file paths,
    sizes, mtimes, or the pinned wheel's hash); ``protocol`` holds every preprocessing rule and is part of
    both the key and the fingerprint. ``learned`` is filled while reading with what the rules learned from
    the data (a table's quantile edges): a function of the bytes and the protocol, recorded in the entry's
    meta, never hashed.
    """

    source: str
    name: str
    field_names: list[str]
    min_counts: list[int]
    protocol: dict[str, Any]
    identity: dict[str, Any]
    read: Reader
    learned: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recipe:
    """A dataset's default training settings: trial config keys that ``kdbench train`` (and a sweep) start
    from, under the user's ``--config`` and ``--set`` (``kdbench.bench.recipes.compose``).

    ``values`` are trial config keys (checked against ``TrialConfig`` by the tests); ``rationale`` says
    where each value comes from (the paper, or a measurement), for ``kdbench data info`` and the docs.
    """

    name: str  # the source it belongs to
    values: Mapping[str, Any]  # shared by every caller: read, never changed
    rationale: str

    def to_dict(self) -> dict[str, Any]:
        """``{"name", "values", "rationale"}``, JSON-ready: what a trial records as the recipe it started from
        and why it was chosen."""
        return {
            "name": self.name,
            "values": {k: list(v) if isinstance(v, tuple) else v for k, v in self.values.items()},
            "rationale": self.rationale,
        }
