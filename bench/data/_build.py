"""Encode an opened source into a cache entry: one read of the source, then one sweep over local codes.

Pass 1 reads the source chunk by chunk, dictionary-encodes every field (counting tokens per chunk) and keeps
the chunk-local codes (in memory up to 1 GiB, beyond that in a scratch file in the temporary entry); labels
stay in memory (a byte a row).
Then the vocabularies are finished (threshold, numbering), the split drawn, and pass 2 streams the scratch
file back, turns local codes into final codes with one gather per field and appends each row to its split's
``.npy``. Memory stays at a few chunks, the vocabularies and at most 1 GiB of codes; the source is read once.
A source with dense fields (``Chunk.dense``) keeps their float32 values as extra rows of the same scratch
blocks (their bits as int32) and writes them to ``{split}_dense.npy`` ``(rows, dense fields)``.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from queue import Full, Queue
from typing import Any

import numpy as np

from kdbench.bench.data._cache import CACHE_VERSION, NpyWriter, canonical_hash, write_vocabulary
from kdbench.bench.data._dataset import SPLIT_NAMES
from kdbench.bench.data._encode import Chunk, FieldVocab
from kdbench.bench.data._source import Source
from kdbench.bench.data._split import SPLIT_RULE, split_assignment, split_text
from kdbench.bench.errors import DatasetError

__all__ = ["build_entry", "full_protocol"]

MIN_ROWS = 10  # an 8:1:1 split of fewer rows leaves valid or test empty
SCRATCH_IN_MEMORY = 1 << 30  # bytes of chunk-local codes kept in memory before spilling to disk


def full_protocol(source: Source, split_seed: int | None) -> dict[str, Any]:
    """The source's rules plus the split: what the key and the fingerprint hash, and what info() shows. A
    source whose split comes with the data declares it in its protocol (no seed)."""
    if "split" in source.protocol:
        return dict(source.protocol)
    return {**source.protocol, "split": {**SPLIT_RULE, "seed": split_seed}}


class _Scratch:
    """Chunk-local codes between the two passes: in memory up to ``limit`` bytes, then spilled to ``path``."""

    def __init__(self, path: Path, limit: int) -> None:
        self._path, self._limit = path, limit
        self._blocks: list[np.ndarray] = []
        self._shapes: list[tuple[int, int]] = []
        self._file: Any = None
        self.nbytes = 0

    def append(self, block: np.ndarray) -> None:
        self._shapes.append(block.shape)
        self.nbytes += block.nbytes
        if self._file is None and self.nbytes > self._limit:
            self._file = open(self._path, "w+b")  # noqa: SIM115 - closed in blocks()
            for kept in self._blocks:
                kept.tofile(self._file)
            self._blocks = []
        if self._file is None:
            self._blocks.append(block)
        else:
            block.tofile(self._file)

    def blocks(self) -> Iterator[np.ndarray]:
        """The blocks in order, each released once handed out."""
        if self._file is None:
            while self._blocks:
                yield self._blocks.pop(0)
            return
        self._file.seek(0)
        try:
            for fields, rows in self._shapes:
                yield np.fromfile(self._file, dtype=np.int32, count=fields * rows).reshape(fields, rows)
        finally:
            self._file.close()
            self._path.unlink()


def _prefetched(chunks: Iterator[Chunk], depth: int = 2) -> Iterator[Chunk]:
    """``chunks``, produced by a background thread up to ``depth`` ahead.

    Parsing (pandas' tokenizer, sha256) and encoding (Arrow hashing, numpy) both release the GIL for most of
    their work, so on two or more cores reading the next chunk overlaps encoding this one. An error in the
    reader is re-raised here; stopping early (an error here) stops the reader.
    """
    done = object()
    queue: Queue[Any] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        queue.put(chunk, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            item: Any = done
        except BaseException as e:  # handed to the consumer, which re-raises it
            item = e
        finally:
            if stop.is_set() and hasattr(chunks, "close"):
                chunks.close()
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return
            except Full:
                continue

    thread = threading.Thread(target=produce, name="kdbench-prepare-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def build_entry(source: Source, tmp: Path, split_seed: int | None, bar: Any) -> dict[str, Any]:
    """Write the six arrays of ``source`` into ``tmp``; return the entry's meta (without the cache key)."""
    started = time.perf_counter()
    fields = len(source.field_names)
    vocabs = [FieldVocab(n, m) for n, m in zip(source.field_names, source.min_counts, strict=True)]
    labels: list[np.ndarray] = []
    digests: dict[str, str] = {}
    scratch = _Scratch(tmp / "local_codes.bin", SCRATCH_IN_MEMORY)
    dense_fields: list[int] | None = None  # known from the first chunk
    given: list[np.ndarray] | None = None  # each chunk's split codes, when the source fixes the split

    for chunk in _prefetched(source.read(bar, digests)):  # pass 1: count tokens, keep chunk-local codes
        if len(chunk.columns) != fields:
            raise RuntimeError(f"{source.source} reader gave {len(chunk.columns)} columns for {fields}")
        dense = chunk.dense or {}
        if dense_fields is None:
            dense_fields = sorted(dense)
        elif sorted(dense) != dense_fields:
            raise RuntimeError(
                f"{source.source} reader gave dense fields {sorted(dense)}, not {dense_fields}"
            )
        if given is None and not labels:
            given = [] if chunk.split is not None else None
        if (chunk.split is not None) != (given is not None):
            raise RuntimeError(f"{source.source} reader gave split codes for some chunks only")
        counted = None
        if given is not None:
            given.append(np.asarray(chunk.split, dtype=np.int8))
            counted = given[-1] == 0
        block = np.empty((fields + len(dense_fields), len(chunk.labels)), dtype=np.int32)
        for f, (vocab, column) in enumerate(zip(vocabs, chunk.columns, strict=True)):
            block[f] = vocab.add(column, counted)
        for k, f in enumerate(dense_fields):  # the float32 bits ride in the int32 block
            block[fields + k] = np.ascontiguousarray(dense[f], dtype=np.float32).view(np.int32)
        scratch.append(block)
        labels.append(np.asarray(chunk.labels, dtype=np.int8))

    rows = sum(len(y) for y in labels)
    if given is None and rows < MIN_ROWS:
        raise DatasetError(
            f"{source.name}: {rows} usable rows after preprocessing; an 8:1:1 split needs at least {MIN_ROWS}"
        )
    positives = int(sum(int(y.sum()) for y in labels))
    if positives in (0, rows):  # every AUC would be NaN and every loss learn one constant
        raise DatasetError(
            f"{source.name}: all {rows:,} rows have label {int(positives == rows)}: a click model needs "
            "clicks and non-clicks (check the label column; for a table, `positive` names the click value)"
        )
    vocab_sizes = [vocab.finish() for vocab in vocabs]
    for f, vocab in enumerate(vocabs):
        write_vocabulary(tmp, f, vocab.tokens)
    if given is not None:
        assign = np.concatenate(given)
    elif split_seed is None:
        raise RuntimeError(f"{source.source}: a random split needs a split seed")
    else:
        assign = split_assignment(rows, split_seed)
    counts = np.bincount(assign, minlength=len(SPLIT_NAMES))
    sizes = {name: int(count) for name, count in zip(SPLIT_NAMES, counts, strict=True)}
    empty = [name for name, count in sizes.items() if count == 0]
    if empty:
        raise DatasetError(
            f"{source.name}: the {split_text(full_protocol(source, split_seed)['split'])} split leaves "
            f"{' and '.join(empty)} without rows ({rows:,} rows in all); each split needs rows to train, "
            "stop early on and score"
        )
    writers = [
        (
            NpyWriter(tmp / f"{name}_x.npy", np.int32, (sizes[name], fields)),
            NpyWriter(tmp / f"{name}_y.npy", np.float32, (sizes[name],)),
        )
        for name in SPLIT_NAMES
    ]
    n_dense = len(dense_fields or [])
    dense_writers = (
        [NpyWriter(tmp / f"{name}_dense.npy", np.float32, (sizes[name], n_dense)) for name in SPLIT_NAMES]
        if n_dense
        else []
    )
    advance = bar.task("encoding", scratch.nbytes)
    start = 0
    for k, block in enumerate(scratch.blocks()):  # pass 2: final codes, rows to their split
        codes = np.empty((fields, block.shape[1]), dtype=np.int32)  # (fields, rows)
        for f, vocab in enumerate(vocabs):
            np.take(vocab.table(k), block[f], out=codes[f])
        y, where = labels[k], assign[start : start + block.shape[1]]
        for s, (x_writer, y_writer) in enumerate(writers):
            mask = where == s
            x_writer.append(codes[:, mask].T)
            y_writer.append(y[mask])
            if n_dense:
                dense_writers[s].append(block[fields:, mask].view(np.float32).T)
        start += block.shape[1]
        advance(block.nbytes)
    for x_writer, y_writer in writers:
        x_writer.close()
        y_writer.close()
    for dense_writer in dense_writers:
        dense_writer.close()

    protocol = full_protocol(source, split_seed)
    fingerprint = canonical_hash(
        {"cache_version": CACHE_VERSION, "source": source.source, "inputs": digests, "protocol": protocol}
    )[:16]
    return {
        "cache_version": CACHE_VERSION,
        "fingerprint": fingerprint,
        "name": source.name,
        "source": source.source,
        "protocol": protocol,
        "rows": rows,
        "positives": positives,
        "fields": list(source.field_names),
        "vocab_sizes": vocab_sizes,
        "split_sizes": sizes,
        **({"dense_fields": dense_fields} if n_dense else {}),
        "inputs": digests,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "prepare_seconds": round(time.perf_counter() - started, 3),
    }
