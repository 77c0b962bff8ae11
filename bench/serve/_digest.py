"""The sha256 digests a student's files record of their own content, checked before anything is scored.

- An artifact records ``content_sha256``: the digest of everything else in it (:func:`content_sha256`), so a
  changed weight or token is found though ``torch.load`` reads the file without complaint (the archive
  checks no checksum). The file's own sha256 cannot be inside it; the store records that one too.
- A sidecar records ``model.sha256`` (the model file's bytes) and ``encoding.sha256``: the digest of its
  ``fields`` (names, vocab sizes, rules, vocabularies) and ``encoding.missing`` (:func:`encoding_sha256`),
  so a vocabulary shrunk or reordered by hand is refused rather than scored as different codes.

Integrity, not authenticity: whoever edits a file on purpose can record a new digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import torch

__all__ = ["CONTENT_KEY", "content_sha256", "encoding_sha256"]

CONTENT_KEY = "content_sha256"


def _canonical(value: Any) -> bytes:
    """JSON with sorted keys and no spaces: the same value gives the same bytes, as written or as read back
    (floats round-trip exactly; ints stay ints)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr)
    return text.encode("utf-8")


def encoding_sha256(fields: Any, missing: Any) -> str:
    """sha256 hex of a sidecar's ``fields`` and ``encoding.missing``, as written (or read back)."""
    return hashlib.sha256(_canonical({"fields": fields, "missing": missing})).hexdigest()


def content_sha256(payload: Mapping[str, Any]) -> str:
    """sha256 hex of an artifact's content, its own ``content_sha256`` left out: the plain values as
    canonical JSON (each tensor replaced by its dtype and shape), then every tensor's bytes in that order."""
    tensors: list[torch.Tensor] = []

    def plain(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            tensors.append(value)
            return {"tensor": len(tensors) - 1, "dtype": str(value.dtype), "shape": list(value.shape)}
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    digest = hashlib.sha256(_canonical(plain({k: v for k, v in payload.items() if k != CONTENT_KEY})))
    for tensor in tensors:
        raw = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy()
        # numpy's stubs declare ndarray's buffer protocol (__buffer__) only for Python >= 3.12
        digest.update(raw)  # type: ignore[arg-type]
    return digest.hexdigest()
