"""The splits a trial trains on, and the per-epoch batch iterator of the training loop.

Two ways to hold a split, chosen per dataset by its size (:func:`trial_splits`):

- **in memory** (small data, the default below :func:`map_threshold`): the split is copied to the device once
  per trial; each epoch draws one seeded permutation, gathers the whole split in that order once and yields
  slices, so a batch costs two views and no per-sample Python or DataLoader workers.
- **mapped** (above the threshold): the codes stay in the dataset cache's ``.npy`` file, mapped copy-on-write
  (``torch.from_numpy`` over the mapping: no copy, and the pages are the page cache's, shared by every trial
  on the node). Each epoch draws the *same* seeded permutation and gathers each batch's rows from the
  mapping, so a trial sees exactly the batches the in-memory path would give. On CUDA the codes are copied to
  the device when they fit (``DEVICE_SHARE`` of the free memory); otherwise each batch is gathered on the host
  into pinned memory and copied asynchronously. Labels (4 bytes a row) always go to the device.

A dataset with dense fields also has per-split ``dense`` values (4 bytes a row per dense field): they go to
the device with the labels in both ways, and an epoch gathers them with the codes' rows by passing them as
an ``aligned`` tensor (``epoch_batches(split, ..., aligned=(split.dense, ...))``).
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch

__all__ = [
    "DEFAULT_MAP_ABOVE",
    "DEVICE_SHARE",
    "MAP_ABOVE_ENV",
    "TensorSplit",
    "encoded_bytes",
    "epoch_batches",
    "map_threshold",
    "mapped_tensor",
    "to_tensor_split",
    "trial_splits",
]

MAP_ABOVE_ENV = "KDBENCH_MAP_ABOVE_BYTES"
DEFAULT_MAP_ABOVE = (
    256 << 20
)  # encoded bytes (codes + labels, all splits); ml-100k is 2.6 MB, 1M Criteo rows 160 MB
DEVICE_SHARE = (
    0.5  # of the device's free memory a mapped dataset may take (model, optimiser, batches: the rest)
)


@dataclass(frozen=True)
class TensorSplit:
    """One split: ``x`` (rows, fields) int32 codes, ``y`` (rows,) float32 labels on the training device.

    int32 halves the memory of a large split (a Criteo day is 45M x 39 codes); the embedding's offset
    addition promotes each batch to int64 on the fly. ``mapped``: ``x`` is a view of the cache file (or a
    device copy of a big one): epochs gather per batch instead of permuting the whole split, and ``x`` may
    stay on the host while ``y`` is on the device (batches then move with ``device``). ``dense``: the dense
    fields' values (rows, dense fields) float32 on the training device, or None for a dataset without them.
    """

    x: torch.Tensor
    y: torch.Tensor
    mapped: bool = False
    dense: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def device(self) -> torch.device:
        """Where batches are trained: the labels' device."""
        return self.y.device


def to_tensor_split(
    x: np.ndarray, y: np.ndarray, device: torch.device, dense: np.ndarray | None = None
) -> TensorSplit:
    """Copy numpy arrays (possibly read-only memory maps) to ``device`` as int32 codes, float32 labels and
    (when given) float32 dense values."""
    codes = torch.from_numpy(np.array(x, dtype=np.int32, order="C", copy=True))
    labels = torch.from_numpy(np.array(y, dtype=np.float32, copy=True))
    return TensorSplit(codes.to(device), labels.to(device), dense=_dense_tensor(dense, device))


def _dense_tensor(dense: np.ndarray | None, device: torch.device) -> torch.Tensor | None:
    if dense is None:
        return None
    return torch.from_numpy(np.array(dense, dtype=np.float32, order="C", copy=True)).to(device)


def encoded_bytes(splits: Iterable[Any]) -> int:
    """Bytes of the codes, labels and dense values of ``splits``: what the mapping rule
    (:func:`map_threshold`) weighs."""
    total = 0
    for split in splits:
        dense = getattr(split, "dense", None)
        total += int(split.x.nbytes) + int(split.y.nbytes) + (0 if dense is None else int(dense.nbytes))
    return total


def map_threshold() -> int:
    """Datasets with more encoded bytes than this are mapped, not copied (``$KDBENCH_MAP_ABOVE_BYTES``,
    default 256 MiB; 0 maps every cached dataset)."""
    value = os.environ.get(MAP_ABOVE_ENV, "").strip()
    if not value:
        return DEFAULT_MAP_ABOVE
    try:
        return max(0, int(value))
    except ValueError:
        from kdbench.bench.errors import ConfigError

        raise ConfigError(f"${MAP_ABOVE_ENV} must be a number of bytes, got {value!r}") from None


def mapped_tensor(array: np.ndarray) -> torch.Tensor | None:
    """A CPU tensor over the file behind ``array`` (a C-order ``np.memmap`` of int32 codes), without a copy;
    None when ``array`` is not such a mapping.

    The file is mapped again copy-on-write (``mode="c"``): pages are shared with the page cache (and every
    other process mapping the file) until written, and a write, which training never does, would stay private
    instead of corrupting the cache. A read-only mapping would do the same but torch warns on it.
    """
    if not isinstance(array, np.memmap) or array.filename is None or array.dtype != np.int32:
        return None
    if not array.flags.c_contiguous or not isinstance(array.base, mmap.mmap):  # a slice's offset is stale
        return None
    remapped = np.memmap(array.filename, dtype=array.dtype, mode="c", offset=array.offset, shape=array.shape)
    return torch.from_numpy(remapped)


def trial_splits(splits: Mapping[str, Any], device: torch.device) -> dict[str, TensorSplit]:
    """``{name: TensorSplit}`` for a dataset's splits (objects with numpy ``x``, ``y`` and optional
    ``dense``): in memory when the dataset is small or not memory-mapped, else mapped (see the module
    docstring)."""
    total = encoded_bytes(splits.values())
    maps = {name: mapped_tensor(s.x) for name, s in splits.items()} if total > map_threshold() else {}
    if not maps or any(t is None for t in maps.values()):
        return {
            name: to_tensor_split(s.x, s.y, device, getattr(s, "dense", None)) for name, s in splits.items()
        }
    mapped = cast(dict[str, torch.Tensor], maps)  # no None among them: the check above returned
    on_device = device.type != "cuda" or _fits_device(_device_bytes(splits, mapped), device)
    result = {}
    for name, split in splits.items():
        codes = (
            mapped[name] if device.type == "cpu" else mapped[name].to(device) if on_device else mapped[name]
        )
        labels = torch.from_numpy(np.array(split.y, dtype=np.float32, copy=True)).to(device)
        dense = _dense_tensor(getattr(split, "dense", None), device)
        result[name] = TensorSplit(codes, labels, mapped=True, dense=dense)
    return result


def _device_bytes(splits: Mapping[str, Any], mapped: Mapping[str, torch.Tensor]) -> int:
    """Bytes a mapped dataset takes on the device when its codes go there: the codes, plus what goes there
    in any case (float32 labels, float32 dense values), which shares the same free memory."""
    total = 0
    for name, split in splits.items():
        rows, dense = len(split.y), getattr(split, "dense", None)
        total += int(mapped[name].nbytes) + 4 * rows + (0 if dense is None else 4 * int(np.prod(dense.shape)))
    return total


def _fits_device(nbytes: int, device: torch.device) -> bool:
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes <= DEVICE_SHARE * free


def epoch_batches(
    split: TensorSplit,
    batch_size: int,
    *,
    shuffle: bool = True,
    generator: torch.Generator | None = None,
    aligned: tuple[torch.Tensor, ...] = (),
) -> Iterator[tuple[torch.Tensor, ...]]:
    """Yield ``(x (batch, fields), y (batch,), *aligned batches)`` covering the split once, on the split's
    training device; the last batch may be short. ``aligned`` are per-row tensors of the split on that device
    (e.g. the split's ``dense`` values, precomputed teacher logits) that follow the same order.

    With ``shuffle`` the permutation comes from ``generator`` (a CPU generator: the same seed gives the same
    order on every device and for both ways of holding a split). In memory the whole split is gathered once so
    every batch is a contiguous view; mapped, each batch's rows are gathered from the mapping.
    """
    if any(len(c) != len(split) for c in aligned):
        raise ValueError(f"aligned tensors must have one row per sample of the split ({len(split)})")
    if not split.mapped:
        columns = (split.x, split.y, *aligned)
        if shuffle:
            perm = torch.randperm(len(split), generator=generator).to(split.x.device)
            columns = tuple(c[perm] for c in columns)
        for start in range(0, len(split), batch_size):
            yield tuple(c[start : start + batch_size] for c in columns)
        return
    device, host_codes = split.device, split.x.device != split.device
    order = torch.randperm(len(split), generator=generator) if shuffle else None
    for start in range(0, len(split), batch_size):
        stop = min(start + batch_size, len(split))
        if order is None:
            rows = torch.arange(start, stop, device=device)
            x = split.x[start:stop]
        else:
            host_rows = order[start:stop]
            rows = host_rows.to(device, non_blocking=True)
            x = split.x[host_rows if host_codes else rows]  # a gather: a new tensor, the mapping untouched
        if host_codes:
            x = x.pin_memory().to(device, non_blocking=True)  # async: the next gather overlaps the copy
        yield (x, split.y[rows], *(a[rows] for a in aligned))
