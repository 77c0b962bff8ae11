"""Damage a student's files as disks, copies and hands do: flipped bytes in the middle of a model file, a
weight changed inside an artifact's archive. Shared by the serving tests and the bad-input corpus."""

from __future__ import annotations

import zipfile
from pathlib import Path

__all__ = ["flip_artifact_weight", "flip_bytes", "flip_onnx_weight"]


def flip_bytes(path: Path, offset: int | None = None, count: int = 4) -> None:
    """Invert ``count`` bytes of ``path`` at ``offset`` (default: the middle); the length stays."""
    data = bytearray(path.read_bytes())
    start = len(data) // 2 if offset is None else offset
    for i in range(start, start + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def flip_artifact_weight(path: Path) -> None:
    """Invert 4 bytes inside the largest tensor record of a ``torch.save`` archive: ``torch.load`` reads it
    without complaint (the archive's CRCs are not checked), a weight has changed."""
    with zipfile.ZipFile(path) as archive:
        record = max((i for i in archive.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    with path.open("rb") as f:  # the record's data follows its 30-byte local header, name and extra field
        f.seek(record.header_offset + 26)
        name_length, extra_length = (int.from_bytes(f.read(2), "little") for _ in range(2))
    flip_bytes(path, record.header_offset + 30 + name_length + extra_length + record.file_size // 2)


def flip_onnx_weight(path: Path) -> None:
    """Invert 4 bytes in the middle of an ONNX model's largest weight: onnxruntime loads and scores it."""
    import onnx

    largest = max(onnx.load(str(path)).graph.initializer, key=lambda t: len(t.raw_data)).raw_data
    data = path.read_bytes()
    assert len(largest) >= 16 and data.count(largest) == 1, "no weight stored as raw bytes"
    flip_bytes(path, data.index(largest) + len(largest) // 2)
