"""Score raw rows with an exported model (ONNX, TorchScript) or a student artifact: read, encode, score.

A model file with a sidecar ``FILE.json`` is an export (its format and encoding come from the sidecar, checked
whole first, and the file against the sha256 it records: :mod:`kdbench.bench.serve._sidecar`); without one it
must be a student artifact (``.pt``, read with ``weights_only=True`` and checked by ``load_artifact``). A
student with dense fields is scored with their values too (:func:`encode_inputs`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from kdbench.bench.errors import UsageError

from ._artifact import ArtifactError, load_artifact, student_module
from ._codes import encode_frame
from ._export import jit_load, sidecar_path
from ._sidecar import check_model_file, first_line, read_sidecar

__all__ = [
    "ServedModel",
    "encode_inputs",
    "load_served",
    "open_exported",
    "read_rows",
    "score_codes",
]

# int64 codes (rows, fields), float32 dense values (rows, dense fields) or None -> float32 logits (rows,)
Scorer = Callable[[np.ndarray, np.ndarray | None], np.ndarray]
CHUNK_ROWS = 65_536  # rows scored per call: bounded memory on any input size


@dataclasses.dataclass(frozen=True)
class ServedModel:
    """A loaded model and what encodes raw rows for it."""

    kind: str  # "onnx" | "torchscript" | "artifact"
    fields: list[str]
    vocabularies: list[list[Any]]
    rules: list[Any]
    missing: list[str]
    score: Scorer
    meta: dict[str, Any]  # the sidecar, or the artifact's dataset/config/metrics


def open_exported(path: str | os.PathLike[str], fmt: str) -> Scorer:
    """The scoring function of an exported model file; :class:`ArtifactError` if it does not load."""
    if fmt == "onnx":
        try:
            import onnxruntime as ort
        except ImportError:
            raise UsageError(
                "scoring an ONNX model needs onnxruntime: pip install 'kdbench[serve]'"
            ) from None
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: no warnings on stderr for a good model
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own Fail / InvalidProtobuf / InvalidGraph
            raise ArtifactError(f"ONNX model {path} does not load ({first_line(e)}): export it again") from e

        def score(codes: np.ndarray, dense: np.ndarray | None = None) -> np.ndarray:
            feed = {"x": np.ascontiguousarray(codes, np.int64)}
            if dense is not None:
                feed["dense"] = np.ascontiguousarray(dense, np.float32)
            return session.run(["logit"], feed)[0]

        return score
    if fmt == "torchscript":
        try:
            module = jit_load(path)
        except Exception as e:  # RuntimeError for a corrupt archive, ValueError for a non-archive
            raise ArtifactError(
                f"TorchScript model {path} does not load ({first_line(e)}): export it again"
            ) from e
        return _torch_scorer(module)
    raise ArtifactError(f"{path}: its sidecar names format {fmt!r}, not onnx or torchscript: export it again")


def _torch_scorer(module: Any) -> Scorer:
    def score(codes: np.ndarray, dense: np.ndarray | None = None) -> np.ndarray:
        inputs = [torch.from_numpy(np.ascontiguousarray(codes, np.int64))]
        if dense is not None:
            inputs.append(torch.from_numpy(np.ascontiguousarray(dense, np.float32)))
        with torch.inference_mode():
            return module(*inputs).numpy()

    return score


def load_served(path: str | os.PathLike[str]) -> ServedModel:
    """An export (with its sidecar) or a student artifact; one-line errors for anything else."""
    model = Path(path).expanduser()
    if not model.is_file():
        raise ArtifactError(f"model {path} does not exist: pass an exported model or a student artifact")
    side = sidecar_path(model)
    if not side.is_file():
        try:  # no sidecar: it must be an artifact
            payload = load_artifact(model)
        except ArtifactError as e:
            raise ArtifactError(f"{e} (and no export sidecar {side.name} lies beside it)") from e
        if payload.get("vocabularies") is None:
            raise ArtifactError(f"student artifact {path} has no vocabularies: it cannot encode raw rows")
        encoding = payload.get("encoding") or {}
        fields = list(payload["fields"])
        meta = {k: payload[k] for k in ("dataset", "config", "metrics")}
        return ServedModel(
            "artifact", fields, payload["vocabularies"], encoding.get("rules") or ["token"] * len(fields),
            list(encoding.get("missing") or [""]), _torch_scorer(student_module(payload)), meta,
        )  # fmt: skip
    meta = read_sidecar(side)
    check_model_file(model, meta, side)  # before the model is opened: the bytes the export checked
    fmt = meta["model"]["format"]
    fields = [f["name"] for f in meta["fields"]]
    return ServedModel(
        fmt, fields, [f["vocabulary"] for f in meta["fields"]], [f["rule"] for f in meta["fields"]],
        list(meta["encoding"]["missing"]), open_exported(model, fmt), meta,
    )  # fmt: skip


def read_rows(path: str | os.PathLike[str], fields: Sequence[str]) -> pd.DataFrame:
    """The ``fields`` columns of a CSV (every cell as text, as written; empty = missing) or Parquet file
    (values as typed, null = missing), as object columns. Other columns are not read."""
    source = Path(path).expanduser()
    name = source.name.lower()
    if not source.is_file():
        raise UsageError(f"--input {path} does not exist: pass a .csv or .parquet file of raw rows")
    wanted = set(fields)
    try:
        if name.endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            present = [c for c in pq.read_schema(source).names if c in wanted]
            table = pq.read_table(source, columns=present)
            return pd.DataFrame({c: pd.Series(table[c].to_pylist(), dtype=object) for c in present})
        if name.endswith((".csv", ".csv.gz", ".csv.bz2")):
            return pd.read_csv(
                source, dtype=str, keep_default_na=False, na_filter=False, usecols=lambda c: c in wanted
            )
    except (OSError, ValueError, UnicodeDecodeError) as e:  # pandas' ParserError and Arrow's are ValueErrors
        raise UsageError(f"cannot read --input {path}: {first_line(e)}") from e
    raise UsageError(f"--input {path}: not a .csv or .parquet file (name it so)")


def score_codes(model: ServedModel, codes: np.ndarray, dense: np.ndarray | None = None) -> np.ndarray:
    """Logits ``(rows,)`` float32, scored in chunks of :data:`CHUNK_ROWS` (``dense``: the dense fields'
    values, for a model with dense fields; :func:`encode_inputs`)."""
    if len(codes) == 0:
        return np.zeros(0, dtype=np.float32)
    parts = []
    for i in range(0, len(codes), CHUNK_ROWS):
        values = None if dense is None else dense[i : i + CHUNK_ROWS]
        parts.append(np.asarray(model.score(codes[i : i + CHUNK_ROWS], values), np.float32))
    return np.concatenate(parts)


def encode_inputs(
    model: ServedModel, frame: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray | None, dict[str, int]]:
    """``frame``'s codes for ``model``, its dense input (None for a model without dense fields) and the
    unseen values per field, each column parsed once (:func:`encode_frame`)."""
    return encode_frame(frame, model.fields, model.vocabularies, model.rules, model.missing)
