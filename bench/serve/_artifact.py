"""The student artifact: embedding + DAGFM weights and what is needed to encode raw values, in one file.

A ``torch.save`` of plain containers and tensors, so ``torch.load(weights_only=True)`` reads it (no code
runs on load):

- ``format`` / ``version``: ``"kdbench-student"``, 1 (2 for a student with dense fields: a reader that
  does not know them must refuse it rather than score without the values);
- ``embedding`` / ``student``: the state dicts of ``FieldEmbedding`` and ``DAGFM``;
- ``embedding_size``, ``student_kwargs`` (``depth``, ``interaction``, ``mlp``): to rebuild the modules;
- ``fields``, ``vocab_sizes``, ``vocabularies`` (per field, the tokens in code order, as the cache holds
  them: text, or numbers for numeric and derived fields; token ``vocabularies[f][c - 1]`` has code ``c``,
  anything else is code 0, unknown; None for a dataset without a cache entry);
- ``encoding``: ``{"rules": [per field], "missing": [texts]}``, how raw values become tokens
  (:mod:`kdbench.bench.serve._rules`);
- ``dataset`` (name, fingerprint), ``config`` (the trial config), ``metrics`` (the student's test/valid
  AUC and log loss), ``trial`` (the store's trial id when known, else None);
- ``dense_fields`` (version 2 only): the indices of the fields fed as numbers; their rules in ``encoding``
  carry the training split's mean and std;
- ``content_sha256``: the sha256 of everything else (:mod:`kdbench.bench.serve._digest`), added by
  :func:`save_artifact` and checked by :func:`load_artifact` (an artifact saved before kdbench recorded it
  has none, and is read unchecked).
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import torch

from kdbench.bench.errors import KdbenchError, UsageError
from kdbench.bench.io import unwritten
from kdbench.models import DAGFM, FieldEmbedding, FoldedStudent, fold_student

from ._digest import CONTENT_KEY, content_sha256
from ._fields import field_problem
from ._rules import dense_field_indices, encoding_of

__all__ = [
    "ARTIFACT_FORMAT",
    "ArtifactError",
    "build_artifact",
    "check_artifacts_folder",
    "load_artifact",
    "save_artifact",
    "student_module",
]

ARTIFACT_FORMAT = "kdbench-student"
ARTIFACT_VERSION = 1
DENSE_ARTIFACT_VERSION = 2  # a student with dense fields: it needs their values besides the codes
_READABLE = (ARTIFACT_VERSION, DENSE_ARTIFACT_VERSION)
_KEYS = ("format", "version", "embedding", "student", "embedding_size", "student_kwargs", "fields",
         "vocab_sizes", "vocabularies", "dataset", "config", "metrics")  # fmt: skip


class ArtifactError(KdbenchError):
    """A student artifact or exported model is missing, corrupt or of another format."""


def build_artifact(
    model: Any, config: dict[str, Any], config_hash: str, dataset: Any, metrics: dict[str, Any]
) -> dict[str, Any]:
    """The artifact of ``model``'s (a ``KDDAGFM``) embedding and student as they are now, on the CPU."""
    vocabularies = _vocabularies(dataset)
    student = model.student
    dense_fields = [int(f) for f in model.embedding.dense_fields]
    payload = {
        "format": ARTIFACT_FORMAT,
        "version": DENSE_ARTIFACT_VERSION if dense_fields else ARTIFACT_VERSION,
        "embedding": {k: v.detach().cpu().clone() for k, v in model.embedding.state_dict().items()},
        "student": {k: v.detach().cpu().clone() for k, v in student.state_dict().items()},
        "embedding_size": int(model.embedding.embedding_size),
        "student_kwargs": {
            "depth": int(student.depth),
            "interaction": str(student.interaction),
            "mlp": [int(h) for h in config.get("student_mlp", ())],
        },
        "fields": [str(f) for f in dataset.field_names],
        "vocab_sizes": [int(v) for v in dataset.vocab_sizes],
        "vocabularies": vocabularies,
        "encoding": encoding_of(dataset),
        "dataset": {"name": str(dataset.name), "fingerprint": str(dataset.fingerprint)},
        "config": _plain(config),
        "config_hash": str(config_hash),
        "metrics": {k: float(v) for k, v in metrics.items()},
        "trial": None,
    }
    if dense_fields:
        payload["dense_fields"] = dense_fields
    return payload


def _vocabularies(dataset: Any) -> list[list[str]] | None:
    """Per field, the tokens in code order (str, int or float, as cached); None without a cache entry."""
    if getattr(dataset, "path", None) is None:
        return None
    return [list(dataset.vocabulary(name)) for name in dataset.field_names]


def _plain(value: Any) -> Any:
    """Config values as what ``weights_only`` loads: lists, dicts, str, int, float, bool, None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def save_artifact(payload: dict[str, Any], path: str | os.PathLike[str]) -> dict[str, Any]:
    """Write ``payload`` to ``path`` atomically (whole or not at all), with the ``content_sha256`` of the
    rest of it; ``{"path", "sha256", "bytes"}``."""
    target = Path(path).expanduser()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    # Saved through a buffer: torch.save names the archive's root after the file, so equal payloads saved
    # to two names would differ in bytes (and checksums); through a buffer they are identical.
    buffer = io.BytesIO()
    torch.save({**payload, CONTENT_KEY: content_sha256(payload)}, buffer)
    try:
        tmp.write_bytes(buffer.getbuffer())
        digest = file_sha256(tmp)
        tmp.replace(target)
    except OSError as e:  # a full or read-only disk: say where, and how much room it needed
        tmp.unlink(missing_ok=True)
        raise unwritten(e, target, buffer.getbuffer().nbytes) from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return {"path": str(target.resolve()), "sha256": digest, "bytes": target.stat().st_size}


def check_artifacts_folder(folder: str | os.PathLike[str], flag: str) -> Path:
    """The absolute folder ``folder`` (it may not exist yet); :class:`UsageError` naming ``flag`` when it,
    or a folder above it, is a file. Checked before a trial starts, not when it ends."""
    if not str(folder).strip():
        raise UsageError(f"{flag} needs a folder name, got an empty one")
    resolved = Path(folder).expanduser().resolve()
    for part in (resolved, *resolved.parents):
        if part.exists():
            if not part.is_dir():
                raise UsageError(f"{flag} {folder}: {part} is a file, not a folder")
            break
    return resolved


def save_to_folder(payload: dict[str, Any], folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Save under ``folder`` as ``student-<config hash>-<sha256 prefix>.pt``: a name no other trial's
    student can take (equal names are equal bytes), so concurrent trials on shared storage never clash."""
    directory = Path(folder).expanduser()
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".student-{os.getpid()}.pt"
    record = save_artifact(payload, tmp)
    config_hash = str(payload.get("config_hash", ""))[:12] or "trial"
    target = directory / f"student-{config_hash}-{record['sha256'][:16]}.pt"
    Path(record["path"]).replace(target)
    return {**record, "path": str(target.resolve())}


def file_sha256(path: Path) -> str:
    """sha256 hex of a file's bytes (what the store records and ``load_artifact`` checks)."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def load_artifact(path: str | os.PathLike[str], sha256: str | None = None) -> dict[str, Any]:
    """Read an artifact with ``weights_only=True``; :class:`ArtifactError` (one line) if it is missing,
    corrupt, of another format, (with ``sha256``) not the file that was recorded, changed since it was saved
    (its ``content_sha256``) or inconsistent (its fields, vocab sizes, rules and vocabularies)."""
    source = Path(path).expanduser()
    if not source.is_file():
        raise ArtifactError(
            f"student artifact {path} does not exist: check the path (kdbench train writes one)"
        )
    if sha256 is not None and file_sha256(source) != sha256:
        raise ArtifactError(
            f"student artifact {path} is not the file recorded (sha256 differs): it was replaced"
        )
    try:
        payload = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated zip, a pickle of other objects, not a torch file at all
        raise ArtifactError(
            f"student artifact {path} is not readable ({type(e).__name__}): re-save it"
        ) from e
    if not isinstance(payload, dict) or payload.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError(f"{path} is not a kdbench student artifact (format {ARTIFACT_FORMAT!r})")
    missing = [k for k in _KEYS if k not in payload]
    if missing or payload.get("version") not in _READABLE:
        raise ArtifactError(
            f"student artifact {path} lacks {', '.join(missing) or 'nothing'} or has version "
            f"{payload.get('version')!r} (this kdbench reads versions "
            f"{', '.join(map(str, _READABLE))}): re-save it"
        )
    recorded = payload.get(CONTENT_KEY)
    if recorded is not None and recorded != content_sha256(payload):
        raise ArtifactError(
            f"student artifact {path}: its content does not match the sha256 it records (file changed since "
            "it was saved): use an intact copy (the trial's, under --artifacts) or train again"
        )
    _check_fields(payload, path)
    _check_dense_fields(payload, path)
    return payload


def _check_fields(payload: dict[str, Any], path: Any) -> None:
    """Fields, vocab sizes, rules and vocabularies of one length, each field well formed
    (:func:`~kdbench.bench.serve._fields.field_problem`): a code beyond a table must not reach the model."""
    fields, sizes, vocabularies = payload["fields"], payload["vocab_sizes"], payload["vocabularies"]
    encoding = payload.get("encoding")
    rules = encoding.get("rules") if isinstance(encoding, dict) else None
    problem = None
    if not isinstance(fields, list) or not fields:
        problem = "fields is not a non-empty list"
    elif not _one_per_field(sizes, fields):
        problem = f"it has {len(fields)} fields but vocab_sizes {sizes!r}"
    elif vocabularies is not None and not _one_per_field(vocabularies, fields):
        problem = f"it has {len(fields)} fields but not as many vocabularies"
    elif rules is not None and not _one_per_field(rules, fields):
        problem = f"it has {len(fields)} fields but not as many encoding rules"
    else:
        rules = rules or ["token"] * len(fields)
        vocabularies = vocabularies or [None] * len(fields)
        checked = zip(fields, sizes, rules, vocabularies, strict=True)
        problem = next((p for f in checked if (p := field_problem(*f)) is not None), None)
    if problem is not None:
        raise ArtifactError(f"student artifact {path} is inconsistent: {problem}: re-save it from its trial")


def _one_per_field(values: Any, fields: list[Any]) -> bool:
    return isinstance(values, list) and len(values) == len(fields)


def _check_dense_fields(payload: dict[str, Any], path: Any) -> None:
    """``dense_fields`` must be present in a version 2 artifact (absent in version 1) and name exactly the
    fields whose encoding rule is dense: the model's ``dense`` input is built from those rules."""
    encoding = payload.get("encoding")
    rules = encoding.get("rules") if isinstance(encoding, dict) else None
    implied = dense_field_indices(rules if isinstance(rules, list) else [])
    dense_version = payload["version"] == DENSE_ARTIFACT_VERSION
    stated = payload.get("dense_fields", None if dense_version else [])
    if not isinstance(stated, list) or stated != implied or bool(stated) != dense_version:
        raise ArtifactError(
            f"student artifact {path} (version {payload['version']}) has dense_fields {stated!r} but its "
            f"encoding rules make fields {implied} dense: the file is inconsistent; re-save it from its trial"
        )


def student_module(payload: dict[str, Any], block_rows: int | None = None) -> FoldedStudent:
    """The artifact's student as a :class:`FoldedStudent` (``block_rows``: as ``fold_student``)."""
    kwargs = payload["student_kwargs"]
    try:
        embedding = FieldEmbedding(
            payload["vocab_sizes"], payload["embedding_size"], payload.get("dense_fields") or []
        )
    except (TypeError, ValueError) as e:
        raise ArtifactError(f"student artifact shapes are not valid: {e}") from e
    student = DAGFM(len(payload["vocab_sizes"]), payload["embedding_size"], kwargs["depth"],
                    kwargs["interaction"], kwargs["mlp"])  # fmt: skip
    try:
        embedding.load_state_dict(payload["embedding"])
        student.load_state_dict(payload["student"])
    except RuntimeError as e:
        raise ArtifactError(
            f"student artifact weights do not fit its own shapes: {str(e).splitlines()[0]}"
        ) from e
    extra = {} if block_rows is None else {"block_rows": block_rows}
    return fold_student(embedding, student, **extra)
