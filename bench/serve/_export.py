"""Export a student artifact as one file a serving system loads without kdbench, plus its JSON sidecar.

The model file (``--format``):

- ``onnx``: input ``x`` int64 ``(batch, fields)`` of per-field codes (0 = unknown), output ``logit``
  float32 ``(batch,)``, the batch axis dynamic. Written by the TorchScript-based exporter
  (``torch.onnx.export(..., dynamo=False)``): it needs only ``onnx``; the dynamo exporter would also need
  ``onnxscript``.
- ``torchscript``: ``torch.jit.trace`` of the same module (``torch.jit.load`` runs it; same contract).

A student with dense fields takes a second input, ``dense`` float32 ``(batch, dense fields)``: the dense
fields' standardised values, in field order (1.0 where a value is missing). A student without them keeps
the one-input contract.

Both trace the :class:`~models._folded.FoldedStudent` with ``block_rows=0`` (the whole batch at once) on a
64-row batch, so the graph is the folded path for batches above ``SMALL_BATCH``; that path is exact at any
batch size. The export is checked against the PyTorch student on those rows before it is kept.

The sidecar ``FILE.json`` (:func:`sidecar`) says how to turn raw rows into ``x`` (and ``dense``). Its
``version`` is 1, or 2 for a model with dense fields (``model.dense_input``): a reader that knows only
version 1 must refuse such a model rather than score it without its second input. It records the model
file's sha256 (``model.sha256``) and its encoding's (``encoding.sha256``), which ``predict`` checks
(:mod:`kdbench.bench.serve._sidecar`).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kdbench.bench.errors import UsageError
from kdbench.bench.io import unwritten

from ._artifact import ArtifactError, file_sha256, student_module
from ._digest import encoding_sha256
from ._rules import dense_field_indices

__all__ = ["EXPORT_FORMATS", "SIDECAR_FORMAT", "export_student", "sidecar", "sidecar_path"]

EXPORT_FORMATS = ("onnx", "torchscript")
SIDECAR_FORMAT = "kdbench-student-export"
SIDECAR_VERSION = 1
DENSE_SIDECAR_VERSION = 2  # a model with dense fields: a second input, which a version-1 reader cannot feed
SIDECAR_VERSIONS = (SIDECAR_VERSION, DENSE_SIDECAR_VERSION)
ONNX_OPSET = 17
_TRACE_ROWS = 64  # above models._folded.SMALL_BATCH: the traced graph is the blocked path
_CHECK_ATOL = 1e-5


def sidecar_path(model_file: str | os.PathLike[str]) -> Path:
    """``FILE.json`` beside ``FILE``."""
    path = Path(model_file)
    return path.with_name(path.name + ".json")


def check_format(fmt: str) -> str:
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"--format {fmt!r} is not an export format: use one of {', '.join(EXPORT_FORMATS)}")
    return fmt


def export_student(
    payload: dict[str, Any], fmt: str, out: str | os.PathLike[str], *, origin: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write ``payload``'s student (a loaded artifact) as ``fmt`` to ``out`` and its sidecar to ``out.json``;
    both appear whole or not at all. ``origin``: where the artifact came from (recorded). Returns the
    sidecar."""
    check_format(fmt)
    if payload.get("vocabularies") is None:
        raise ArtifactError(
            "the artifact has no vocabularies (its dataset had no cache entry): an export could not "
            "encode raw values; retrain on a prepared dataset"
        )
    target = Path(out).expanduser()
    module = student_module(payload, block_rows=0)
    example = _example(payload["vocab_sizes"], len(payload.get("dense_fields") or []))
    with torch.inference_mode():
        expected = module(*example).numpy()
    try:
        return _write_export(payload, fmt, target, module, example, expected, origin)
    except OSError as e:  # a full or read-only disk: name the file and the room it needed
        needed = sum(t.numel() * t.element_size() for t in module.state_dict().values())
        raise unwritten(e, target, needed) from e


def _write_export(
    payload: dict[str, Any], fmt: str, target: Path, module: Any, example: Any, expected: Any, origin: Any
) -> dict[str, Any]:
    """The export and its sidecar through temporary files beside ``target``, checked, then renamed."""
    with _temporary(target) as model_tmp, _temporary(sidecar_path(target)) as json_tmp:
        if fmt == "onnx":
            _export_onnx(module, example, model_tmp)
        else:
            _export_torchscript(module, example, model_tmp)
        got = score_file(model_tmp, fmt, *(t.numpy() for t in example))
        error = float(np.abs(got - expected).max())
        if not error <= _CHECK_ATOL:
            raise ArtifactError(
                f"the {fmt} export disagrees with the student by {error:.2e} (> {_CHECK_ATOL:g}) on its "
                "trace rows: nothing was written; report this with the artifact"
            )
        meta = sidecar(payload, fmt, target.name, file_sha256(model_tmp), origin or {})
        meta["model"]["latency"] = serving_latency(model_tmp, fmt, example)
        json_tmp.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        model_tmp.replace(target)
        json_tmp.replace(sidecar_path(target))
    return meta


def _example(vocab_sizes: list[int], dense: int = 0) -> tuple[torch.Tensor, ...]:
    """``_TRACE_ROWS`` rows of valid codes (every field's range visited), and with ``dense`` fields their
    values (-2 .. 2), for the trace and the check: the model's inputs, in order."""
    rows = torch.arange(_TRACE_ROWS).unsqueeze(1) * torch.arange(1, len(vocab_sizes) + 1)
    codes = rows % torch.tensor(vocab_sizes)
    if not dense:
        return (codes,)
    return codes, torch.linspace(-2.0, 2.0, _TRACE_ROWS * dense).view(dense, _TRACE_ROWS).t().contiguous()


@contextlib.contextmanager
def _temporary(target: Path) -> Iterator[Path]:
    """A hidden temporary file beside ``target`` (same file system: the final rename is atomic), removed
    unless it was moved into place."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _export_onnx(module: torch.nn.Module, example: tuple[torch.Tensor, ...], path: Path) -> None:
    try:
        import onnx  # noqa: F401  (the exporter needs it; say so in one line, not deep in torch)
    except ImportError:
        raise UsageError("--format onnx needs the onnx package: pip install 'kdbench[serve]'") from None
    with warnings.catch_warnings():
        # The tracer warns that the batch-size branches are frozen (intended: see the module docstring),
        # and torch deprecates dynamo=False in favour of an exporter that would need onnxscript.
        warnings.simplefilter("ignore")
        names = ["x", "dense"][: len(example)]
        torch.onnx.export(
            module, example, str(path), input_names=names, output_names=["logit"],
            dynamic_axes={**{n: {0: "batch"} for n in names}, "logit": {0: "batch"}},
            opset_version=ONNX_OPSET, dynamo=False,
        )  # fmt: skip


def _export_torchscript(module: torch.nn.Module, example: tuple[torch.Tensor, ...], path: Path) -> None:
    with warnings.catch_warnings(), torch.no_grad():
        # The tracer's frozen batch-size branches (intended), and torch 2.13 deprecating TorchScript for
        # torch.export (whose files need torch to load; a TorchScript file is what C++ serving loads).
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module, example, check_trace=False)
    # Through memory: torch.jit.save writing a file aborts the whole process (a C++ terminate) when the
    # disk fills; a Python write raises OSError instead.
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    path.write_bytes(buffer.getbuffer())


def serving_latency(
    path: Path, fmt: str, probe: tuple[torch.Tensor, ...], budget_s: float = 0.4
) -> dict[str, Any]:
    """Median latency (ms) of the exported file in its own runtime at batch 1 and 4096 (``probe``'s rows
    repeated; ``probe``: the model's inputs), one thread, after warm-up: ``kdbench.bench.latency``'s protocol,
    so
    the figures compare with the trial's."""
    from kdbench.bench.latency import SERVING_THREADS, latencies

    if fmt == "onnx":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = SERVING_THREADS
        options.log_severity_level = 3
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        runtime = f"onnxruntime {ort.__version__}"

        def forward(*inputs: torch.Tensor) -> Any:
            names = ("x", "dense")[: len(inputs)]
            return session.run(["logit"], {n: t.numpy() for n, t in zip(names, inputs, strict=True)})

    else:
        module = jit_load(path)
        runtime, forward = f"torch.jit {torch.__version__}", module
    measured = latencies(forward, probe, torch.device("cpu"), budget_s=budget_s, threads=SERVING_THREADS)
    threads = measured.pop("latency_threads")
    return {"runtime": runtime, "threads": threads, **measured}


def jit_load(path: str | os.PathLike[str]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.13 deprecates TorchScript
        return torch.jit.load(str(path), map_location="cpu")


def score_file(
    path: str | os.PathLike[str], fmt: str, codes: np.ndarray, dense: np.ndarray | None = None
) -> np.ndarray:
    """Logits ``(rows,)`` float32 of an exported model file for int64 ``codes`` ``(rows, fields)`` (and
    float32 ``dense`` ``(rows, dense fields)`` for a student with dense fields)."""
    from ._predict import open_exported

    return open_exported(path, fmt)(codes, dense)


def sidecar(
    payload: dict[str, Any], fmt: str, file_name: str, sha256: str, origin: dict[str, Any]
) -> dict[str, Any]:
    """What a serving system needs besides the model file, as plain JSON."""
    encoding = payload.get("encoding") or {}
    rules = encoding.get("rules") or ["token"] * len(payload["fields"])
    dense = dense_field_indices(rules)
    fields = [
        {"name": name, "vocab_size": int(size), "rule": rule, "vocabulary": list(vocabulary)}
        for name, size, rule, vocabulary in zip(
            payload["fields"], payload["vocab_sizes"], rules, payload["vocabularies"], strict=True
        )
    ]
    model: dict[str, Any] = {
        "file": file_name,
        "format": fmt,
        "sha256": sha256,
        "input": {"name": "x", "dtype": "int64", "shape": ["batch", len(fields)]},
        "output": {"name": "logit", "dtype": "float32", "shape": ["batch"]},
        "score": "probability of a click = 1 / (1 + exp(-logit))",
        "opset": ONNX_OPSET if fmt == "onnx" else None,
    }
    how = (
        "x[i, f] = position + 1 of row i's token for field f in fields[f].vocabulary, else 0 "
        "(unknown). The token: rule 'token' = the raw value itself (matched as text, or as a number "
        "when the vocabulary holds numbers); 'identity' = the value as a number; 'log_square' = "
        "v > 2 -> ceil(ln(v)^2 + 1), else v; {'edges': E} = the number of edges <= v. A missing "
        "value (null, or a text listed in missing, spaces ignored) is 0."
    )
    if dense:
        model["dense_input"] = {
            "name": "dense", "dtype": "float32", "shape": ["batch", len(dense)],
            "fields": [payload["fields"][f] for f in dense],
        }  # fmt: skip
        how += (
            " A field with rule {'dense': {'mean': m, 'std': s}}: x[i, f] = 1 when the value v is a finite "
            "number, else 0; and the second input dense[i, k] (k: its place among the dense fields, "
            "model.dense_input.fields) = float32((v - m) / s) when x[i, f] = 1, else 1.0."
        )
    missing = list(encoding.get("missing") or [""])
    return {
        "format": SIDECAR_FORMAT,
        "version": DENSE_SIDECAR_VERSION if dense else SIDECAR_VERSION,
        "model": model,
        # encoding.sha256: what predict checks the fields and vocabularies against
        # (kdbench.bench.serve._digest)
        "encoding": {"how": how, "missing": missing, "sha256": encoding_sha256(fields, missing)},
        "fields": fields,
        "dataset": dict(payload["dataset"]),
        "config": payload["config"],
        "config_hash": payload.get("config_hash"),
        "metrics": payload["metrics"],
        "trial": payload.get("trial"),
        "artifact": origin,
        "exported_with": {"torch": torch.__version__},
    }
