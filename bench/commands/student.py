"""``kdbench student export|predict``: take a trial's kept student anywhere, and score raw rows with it.

``export`` turns a student artifact (a file, or a stored trial's) into an ONNX or TorchScript model plus its
JSON sidecar; ``predict`` scores a CSV or Parquet file of raw rows with an export or an artifact.
docs/serving.md describes the formats.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, cast

from kdbench.bench.errors import UsageError
from kdbench.bench.io import check_output_file, write_atomic

__all__ = ["export", "predict", "register"]

_FORMATS = (
    "onnx",
    "torchscript",
)  # kdbench.bench.serve.EXPORT_FORMATS (not imported: `kdbench --help` stays light)


def register(subparsers: argparse._SubParsersAction) -> None:
    student = subparsers.add_parser(
        "student", help="export a kept student (ONNX, TorchScript) and score raw rows with it"
    )
    student.set_defaults(func=lambda _args: _usage(student))
    actions = student.add_subparsers(dest="student_command", metavar="ACTION")

    p = actions.add_parser(
        "export",
        help="write a student as an ONNX or TorchScript model plus a JSON sidecar",
        description="Export a student artifact (--from FILE, or a stored trial's) as one model file a "
        "serving system loads without kdbench, and FILE.json: the fields, vocabularies and encoding rules.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="from_file", metavar="FILE", help="a student artifact (.pt)")
    source.add_argument(
        "--sweep", metavar="NAME", help="a sweep in --db (`adhoc` holds the `kdbench train --db` runs)"
    )
    p.add_argument("--db", metavar="URL", help="results database (default: sqlite:///kdbench.db)")
    pick = p.add_mutually_exclusive_group()
    pick.add_argument("--trial", type=int, metavar="N", help="the sweep's trial number N")
    pick.add_argument(
        "--best", action="store_true", help="the completed trial with the best validation AUC (the default)"
    )
    p.add_argument("--format", required=True, metavar="FORMAT", help=f"one of {', '.join(_FORMATS)}")
    p.add_argument("--out", required=True, metavar="FILE", help="the model file (its sidecar: FILE.json)")
    p.set_defaults(func=_export_cmd)

    p = actions.add_parser(
        "predict",
        help="score raw rows (CSV or Parquet) with an exported model or a student artifact",
        description="Encode raw rows (the dataset's own columns, raw values) through the model's "
        "vocabularies and score them. Unseen values become index 0 and are counted per field on stderr.",
    )
    p.add_argument(
        "--model", required=True, metavar="FILE", help="an export (with FILE.json) or a student artifact"
    )
    p.add_argument("--input", required=True, metavar="FILE", help="raw rows: .csv (header) or .parquet")
    p.add_argument(
        "--out", required=True, metavar="FILE", help="CSV of score (probability) and logit per input row"
    )
    p.set_defaults(func=_predict_cmd)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _export_cmd(args: argparse.Namespace) -> int:
    if args.from_file is not None and (args.db or args.trial is not None or args.best):
        raise UsageError(
            "--from FILE exports that file: drop --db, --trial and --best (they pick a stored trial)"
        )
    meta = export(
        from_file=args.from_file, db=args.db, sweep=args.sweep, trial=args.trial, fmt=args.format,
        out=args.out,
    )  # fmt: skip
    model, latency = meta["model"], meta["model"]["latency"]
    print(
        f"exported {model['format']} model to {args.out} (sidecar {args.out}.json), "
        f"sha256 {model['sha256'][:16]}"
    )
    print(
        f"latency under {latency['runtime']}, {latency['threads']} thread: batch 1 "
        f"{latency['latency_ms_b1']:.3f} ms, batch 4096 {latency['latency_ms_b4096']:.2f} ms"
    )
    return 0


def export(
    *,
    fmt: str,
    out: str,
    from_file: str | None = None,
    db: str | None = None,
    sweep: str | None = None,
    trial: int | None = None,
) -> dict[str, Any]:
    """Export the artifact ``from_file``, or trial ``trial`` of ``sweep`` in ``db`` (None: its best by
    validation AUC), as ``fmt`` to ``out`` and ``out.json``; returns the sidecar. Everything is checked
    (format, output paths, the store, the artifact's checksum) before anything is written."""
    from kdbench.bench.serve import check_format, export_student, load_artifact, sidecar_path, stored_artifact

    check_format(fmt)
    check_output_file(out, "--out")
    check_output_file(sidecar_path(out), "--out's sidecar")
    if (from_file is None) == (sweep is None):
        raise UsageError("give --from FILE, or --sweep NAME (with --db) to export a stored trial's student")
    if from_file is not None:
        payload, origin = load_artifact(from_file), {"path": str(Path(from_file).expanduser().resolve())}
    else:
        record = stored_artifact(db, cast(str, sweep), trial)  # cast: no --from, so --sweep (checked above)
        payload = load_artifact(record["path"], record["sha256"])  # the file the store recorded, unchanged
        payload = {**payload, "trial": {"sweep": sweep, "number": record["trial"], "id": record["trial_id"]}}
        origin = {"path": record["path"], "sha256": record["sha256"]}
    return export_student(payload, fmt, out, origin=origin)


def _predict_cmd(args: argparse.Namespace) -> int:
    summary = predict(model=args.model, input=args.input, out=args.out)
    unseen = {name: n for name, n in summary["unseen"].items() if n}
    if unseen:
        counts = ", ".join(f"{name} {n:,}" for name, n in unseen.items())
        print(f"kdbench: warning: unseen values scored as unknown (index 0): {counts}", file=sys.stderr)
    print(
        f"scored {summary['rows']:,} rows with {summary['kind']} model {args.model} in "
        f"{summary['seconds']:.2f} s -> {args.out}"
    )
    return 0


def predict(*, model: str, input: str, out: str) -> dict[str, Any]:
    """Score the raw rows of ``input`` with ``model`` and write ``out`` (CSV: ``score``, ``logit`` per input
    row, in order), atomically. Returns ``{"rows", "kind", "unseen": {field: count}, "seconds"}``."""
    import numpy as np
    import pandas as pd

    from kdbench.bench.serve import encode_inputs, load_served, read_rows, score_codes

    target = check_output_file(out, "--out")
    served = load_served(model)
    frame = read_rows(input, served.fields)
    start = time.perf_counter()
    codes, dense, unseen = encode_inputs(served, frame)  # dense: None without dense fields
    logits = score_codes(served, codes, dense)
    seconds = time.perf_counter() - start
    scores = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    table = pd.DataFrame({"score": scores, "logit": logits})
    # floats in shortest round-trip form: the scores exactly
    write_atomic(target, lambda tmp: table.to_csv(tmp, index=False), "--out")
    return {"rows": len(table), "kind": served.kind, "unseen": unseen, "seconds": seconds}
