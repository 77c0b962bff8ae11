"""Export: the ONNX contract (``x`` int64 (batch, fields) -> ``logit`` float32 (batch,), dynamic batch), the
same logits as the PyTorch student under onnxruntime and TorchScript, a sidecar plain JSON can read, and
nothing written when the export fails; loading refuses broken files in one line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import pandas as pd
import pytest
import torch

from kdbench.bench.serve import ArtifactError, build_artifact, export_student, load_served, sidecar_path
from kdbench.bench.serve._predict import encode_inputs, score_codes
from kdbench.models import KDDAGFM

VOCAB = [40, 25, 7, 3, 90]
FIELDS = ["user", "item", "weekday", "gender", "zip"]


def _artifact(interaction: str, mlp: tuple[int, ...] = ()) -> tuple[KDDAGFM, dict]:
    torch.manual_seed(1)
    model = KDDAGFM(VOCAB, 8, "crossnet", {"depth": 2}, {"depth": 3, "interaction": interaction, "mlp": mlp})
    for p in model.parameters():  # trained-looking weights: not the near-zero init
        torch.nn.init.normal_(p, std=0.3)
    model.eval()
    data = SimpleNamespace(name="toy", fingerprint="ab" * 8, field_names=FIELDS, vocab_sizes=VOCAB, path=None)
    config = {"interaction": interaction, "student_mlp": list(mlp)}
    payload = build_artifact(model, config, "c0ffee", data, {"test_auc": 0.75})
    payload["vocabularies"] = [
        [f"{name}{i}" for i in range(1, v)] for name, v in zip(FIELDS, VOCAB, strict=True)
    ]
    payload["vocabularies"][2] = list(range(v := VOCAB[2] - 1))  # a numeric vocabulary, as ml-100k's weekday
    assert v == 6
    return model, payload


def _rows(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, v, n) for v in VOCAB], axis=1).astype(np.int64)


@pytest.mark.parametrize(
    ("interaction", "mlp"), [("outer", ()), ("inner", ()), ("kernel", ()), ("outer", (16,))]
)
@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_scores_as_the_student(tmp_path: Path, interaction: str, mlp: tuple, fmt: str) -> None:
    model, payload = _artifact(interaction, mlp)
    out = tmp_path / f"student.{fmt}"
    meta = export_student(payload, fmt, out)
    served = load_served(out)
    x = _rows(5000)
    with torch.inference_mode():
        expected = model.predict(torch.from_numpy(x), "finetuning").numpy()
    for batch in (x, x[:1], x[:3]):  # the batch axis is dynamic, small batches included
        got = score_codes(served, batch)
        assert got.dtype == np.float32 and got.shape == (len(batch),)
        np.testing.assert_allclose(got, expected[: len(batch)], rtol=0, atol=1e-5)
    assert meta["model"]["latency"]["threads"] == 1 and meta["model"]["latency"]["latency_ms_b1"] > 0


def test_onnx_contract_and_sidecar(tmp_path: Path) -> None:
    _, payload = _artifact("outer")
    out = tmp_path / "student.onnx"
    export_student(payload, "onnx", out, origin={"path": "/a/s.pt"})
    graph = onnx.load(str(out)).graph
    (x,), (logit,) = graph.input, graph.output
    assert x.name == "x" and x.type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert [d.dim_param or d.dim_value for d in x.type.tensor_type.shape.dim] == ["batch", len(VOCAB)]
    assert logit.name == "logit" and logit.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [d.dim_param or d.dim_value for d in logit.type.tensor_type.shape.dim] == ["batch"]
    side = json.loads(sidecar_path(out).read_text())  # plain JSON: no kdbench needed to read it
    assert [f["name"] for f in side["fields"]] == FIELDS
    assert [f["vocab_size"] for f in side["fields"]] == VOCAB
    assert side["fields"][2]["vocabulary"] == [0, 1, 2, 3, 4, 5] and side["fields"][0]["rule"] == "token"
    assert side["dataset"]["fingerprint"] == "ab" * 8 and side["metrics"] == {"test_auc": 0.75}
    assert side["config_hash"] == "c0ffee" and side["artifact"] == {"path": "/a/s.pt"}
    assert side["model"]["input"] == {"name": "x", "dtype": "int64", "shape": ["batch", 5]}


def test_raw_rows_through_the_sidecar(tmp_path: Path) -> None:
    model, payload = _artifact("inner")
    out = tmp_path / "student.onnx"
    export_student(payload, "onnx", out)
    raw = pd.DataFrame(
        {"user": ["user3", "user39", "nobody"], "item": ["item1", "", "item24"], "weekday": ["5", "0", "9"],
         "gender": ["gender2", "gender1", "gender1"], "zip": ["zip7", "zip7", "zip89"], "other": 1}
    )  # fmt: skip
    served = load_served(out)
    codes, _, unseen = encode_inputs(served, raw)
    assert codes.tolist() == [[3, 1, 6, 2, 7], [39, 0, 1, 1, 7], [0, 24, 0, 1, 89]]
    assert unseen == {"user": 1, "item": 0, "weekday": 1, "gender": 0, "zip": 0}
    with torch.inference_mode():
        expected = model.predict(torch.from_numpy(codes), "finetuning").numpy()
    np.testing.assert_allclose(score_codes(served, codes), expected, rtol=0, atol=1e-5)


def test_a_failed_export_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, payload = _artifact("outer")

    def broken(module, example, path):
        path.write_bytes(b"half an onnx file")
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr("kdbench.bench.serve._export._export_onnx", broken)
    with pytest.raises(RuntimeError, match="exporter crashed"):
        export_student(payload, "onnx", tmp_path / "student.onnx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_an_export_onto_a_full_disk_is_an_oserror_naming_the_file_and_writes_nothing(
    full_disk: Path, fmt: str
) -> None:
    """TorchScript's own file writer aborts the process on a full disk (a C++ terminate): the export goes
    through memory, so it is an OSError like ONNX's."""
    _, payload = _artifact("outer", (16,))
    out = full_disk / f"student.{fmt}"
    with pytest.raises(OSError, match="No space left on device") as failed:
        export_student(payload, fmt, out)
    assert (
        failed.value.strerror.startswith(f"cannot write {out}: ") and " free there)" in failed.value.strerror
    )
    assert list(full_disk.iterdir()) == []


def test_broken_exports_are_one_line_errors(tmp_path: Path) -> None:
    _, payload = _artifact("outer")
    out = tmp_path / "student.onnx"
    export_student(payload, "onnx", out)
    side = sidecar_path(out)
    good = side.read_text()
    side.write_text(good[:100])
    with pytest.raises(ArtifactError, match="not readable JSON"):
        load_served(out)
    side.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ArtifactError, match="not a kdbench export sidecar"):
        load_served(out)
    side.write_text(good)
    out.write_bytes(out.read_bytes()[:300])  # a changed model file is refused before it is opened
    with pytest.raises(ArtifactError, match=r"sha256 does not match its sidecar student\.onnx\.json"):
        load_served(out)
    meta = json.loads(good)  # recorded as it is now, it is opened and does not load
    meta["model"]["sha256"] = hashlib.sha256(out.read_bytes()).hexdigest()
    side.write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match=r"ONNX model .* does not load"):
        load_served(out)
    side.unlink()  # a model file without its sidecar is read as an artifact, and is none
    with pytest.raises(ArtifactError, match=r"no export sidecar student\.onnx\.json"):
        load_served(out)
    with pytest.raises(ArtifactError, match="does not exist"):
        load_served(tmp_path / "gone.onnx")
