"""Reading an export's sidecar ``FILE.json``, checked whole before its model scores a row.

In order, each a one-line :class:`ArtifactError` naming the file and the fix: readable JSON of the export
format; a version this kdbench knows; the schema (``model`` with a known format, the model file's sha256 and
its input shape; per field a name, a positive ``vocab_size``, a known rule and a vocabulary that fits the
size, :mod:`kdbench.bench.serve._fields`; as many fields as the model takes; ``encoding.missing`` texts and
its sha256); the dense fields agreeing with the version and ``model.dense_input``; then the fields and
vocabularies against ``encoding.sha256`` (:mod:`kdbench.bench.serve._digest`) and the model file against
``model.sha256``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kdbench.bench.errors import shorten

from ._artifact import ArtifactError, file_sha256
from ._digest import encoding_sha256
from ._export import DENSE_SIDECAR_VERSION, EXPORT_FORMATS, SIDECAR_FORMAT, SIDECAR_VERSIONS
from ._fields import field_problem, is_sha256
from ._rules import is_dense

__all__ = ["check_model_file", "first_line", "read_sidecar"]


def read_sidecar(path: Path) -> dict[str, Any]:
    """The sidecar at ``path``, checked (see the module docstring) except for the model file's bytes."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ArtifactError(
            f"sidecar {path} is not readable JSON ({first_line(e)}): export the model again"
        ) from e
    if not isinstance(meta, dict) or meta.get("format") != SIDECAR_FORMAT:
        raise ArtifactError(
            f"{path} is not a kdbench export sidecar (format {SIDECAR_FORMAT!r}): export the model again"
        )
    version = meta.get("version")
    if isinstance(version, bool) or version not in SIDECAR_VERSIONS:
        raise ArtifactError(
            f"sidecar {path} has version {version!r}; this kdbench reads versions "
            f"{', '.join(map(str, SIDECAR_VERSIONS))}: a newer kdbench exported it; upgrade kdbench to "
            "score it"
        )
    problem = _schema_problem(meta)
    if problem is not None:
        raise ArtifactError(f"sidecar {path} is malformed: {problem}: export the model again")
    dense = [f["name"] for f in meta["fields"] if is_dense(f["rule"])]
    dense_input = meta["model"].get("dense_input")
    if bool(dense) != (version == DENSE_SIDECAR_VERSION) or bool(dense) != (dense_input is not None):
        raise ArtifactError(
            f"sidecar {path} (version {version}) does not match its fields' rules (dense fields: "
            f"{'yes' if dense else 'none'}): export the model again"
        )
    if dense_input is not None and (
        not isinstance(dense_input, dict)
        or dense_input.get("fields") != dense
        or _width(dense_input) != len(dense)
    ):
        raise ArtifactError(
            f"sidecar {path}: model.dense_input does not name its dense fields {', '.join(dense)}: "
            "export the model again"
        )
    if encoding_sha256(meta["fields"], meta["encoding"]["missing"]) != meta["encoding"]["sha256"]:
        raise ArtifactError(
            f"sidecar {path}: its fields and vocabularies do not match the sha256 it records "
            "(encoding.sha256; edited since export): export the model again"
        )
    return meta


def check_model_file(model: Path, meta: dict[str, Any], side: Path) -> None:
    """Refuse a model file whose bytes are not the ones its sidecar records (``model.sha256``)."""
    if file_sha256(model) != meta["model"]["sha256"]:
        raise ArtifactError(
            f"model {model}: sha256 does not match its sidecar {side.name} (file changed since export): "
            "export it again"
        )


def _schema_problem(meta: dict[str, Any]) -> str | None:
    """The first way ``meta`` is not a sidecar this kdbench wrote, in words; None when it is one."""
    model, fields, encoding = meta.get("model"), meta.get("fields"), meta.get("encoding")
    if not isinstance(model, dict):
        return "model is not an object"
    if model.get("format") not in EXPORT_FORMATS:
        return f"model.format {model.get('format')!r} is not one of {', '.join(EXPORT_FORMATS)}"
    if not is_sha256(model.get("sha256")):
        return "model.sha256 is not a sha256 (64 hex digits)"
    if not isinstance(model.get("input"), dict) or not isinstance(_width(model["input"]), int):
        return "model.input.shape is not [batch, fields]"
    if not isinstance(fields, list) or not fields or not all(isinstance(f, dict) for f in fields):
        return "fields is not a non-empty list of objects"
    for f in fields:
        problem = field_problem(f.get("name"), f.get("vocab_size"), f.get("rule"), f.get("vocabulary", {}))
        if problem is not None:
            return problem
    if len(fields) != (width := _width(model["input"])):
        return f"it lists {len(fields)} fields but its model takes {width} (model.input.shape)"
    if not isinstance(encoding, dict):
        return "encoding is not an object"
    missing = encoding.get("missing")
    if not isinstance(missing, list) or not all(isinstance(m, str) for m in missing):
        return "encoding.missing is not a list of texts"
    if not is_sha256(encoding.get("sha256")):
        return "encoding.sha256 is not a sha256 (64 hex digits; an export by an older kdbench has none)"
    return None


def _width(tensor: dict[str, Any]) -> Any:
    """The second size of an input's ``shape`` (``["batch", n]``), or None."""
    shape = tensor.get("shape")
    width = shape[1] if isinstance(shape, list) and len(shape) == 2 else None
    return None if isinstance(width, bool) else width


def first_line(error: BaseException) -> str:
    """An error's first line, at most 200 characters: what a one-line message can quote."""
    text = str(error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    return shorten(line, 200)
