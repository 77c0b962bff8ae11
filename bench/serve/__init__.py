"""Serving the distilled student: the artifact a trial keeps, its export (ONNX, TorchScript) and scoring of
raw rows. ``_artifact``: the file format, save and load; ``_rules``: how a dataset's raw values become
tokens; ``_encode``: raw values -> field codes; ``_decode``: a cached split back to raw rows; ``_export``:
one file a serving system loads without kdbench, with its JSON sidecar; ``_sidecar``: the sidecar read and
checked whole; ``_fields``: what a well-formed field is; ``_digest``: the sha256 digests the files record of
their content; ``_predict``: score raw rows with an exported model or an artifact; ``_select``: a trial's
artifact from the results store."""

from ._artifact import (
    ARTIFACT_FORMAT,
    ArtifactError,
    build_artifact,
    check_artifacts_folder,
    load_artifact,
    save_artifact,
    save_to_folder,
    student_module,
)
from ._codes import encode_rows
from ._decode import split_rows
from ._export import EXPORT_FORMATS, check_format, export_student, sidecar_path
from ._predict import ServedModel, encode_inputs, load_served, read_rows, score_codes
from ._rules import field_rules
from ._select import stored_artifact

__all__ = [
    "ARTIFACT_FORMAT",
    "EXPORT_FORMATS",
    "ArtifactError",
    "ServedModel",
    "build_artifact",
    "check_artifacts_folder",
    "check_format",
    "encode_inputs",
    "encode_rows",
    "export_student",
    "field_rules",
    "load_artifact",
    "load_served",
    "read_rows",
    "save_artifact",
    "save_to_folder",
    "score_codes",
    "sidecar_path",
    "split_rows",
    "stored_artifact",
    "student_module",
]
