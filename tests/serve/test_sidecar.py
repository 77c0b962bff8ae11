"""An export is checked whole before it scores a row: the model file against the sha256 its sidecar records,
the sidecar against its schema and its fields and vocabularies against the sha256 recorded at export. Each
probe of issue #24 that scored silently or ended in a traceback is one line naming the file and the fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from kdbench.bench.serve import ArtifactError, build_artifact, export_student, load_served, sidecar_path
from kdbench.bench.serve._digest import encoding_sha256
from kdbench.bench.serve._predict import open_exported, score_codes
from kdbench.models import KDDAGFM
from tests.serve._damage import flip_artifact_weight, flip_onnx_weight

VOCAB = [6, 5, 4]
FIELDS = ["user", "item", "hour"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An ONNX and a TorchScript export of one student, kept intact: each test edits a copy."""
    torch.manual_seed(2)
    model = KDDAGFM(VOCAB, 4, "crossnet", {"depth": 1}, {"depth": 2, "interaction": "outer"}).eval()
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.3)
    data = SimpleNamespace(name="toy", fingerprint="cd" * 8, field_names=FIELDS, vocab_sizes=VOCAB, path=None)
    payload = build_artifact(model, {}, "feed", data, {"test_auc": 0.6})
    payload["vocabularies"] = [[f"u{i}" for i in range(1, 6)], [f"i{i}" for i in range(1, 5)], [0, 1, 2]]
    folder = tmp_path_factory.mktemp("exports")
    files = {fmt: folder / f"student.{fmt}" for fmt in ("onnx", "torchscript")}
    for fmt, path in files.items():
        export_student(payload, fmt, path)
    return files


def _copy(exported: dict[str, Path], tmp_path: Path, fmt: str = "onnx") -> Path:
    model = tmp_path / exported[fmt].name
    model.write_bytes(exported[fmt].read_bytes())
    sidecar_path(model).write_bytes(sidecar_path(exported[fmt]).read_bytes())
    return model


def _edit(model: Path, change: Callable[[dict], object]) -> None:
    side = sidecar_path(model)
    meta = json.loads(side.read_text(encoding="utf-8"))
    change(meta)
    side.write_text(json.dumps(meta), encoding="utf-8")


def _refused(model: Path, pattern: str) -> str:
    with pytest.raises(ArtifactError, match=pattern) as caught:
        load_served(model)
    message = str(caught.value)
    assert "\n" not in message and "export" in message.rsplit(":", 1)[-1], message  # one line, the fix last
    return message


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_an_intact_export_records_both_digests_and_scores(exported, fmt: str) -> None:
    meta = json.loads(sidecar_path(exported[fmt]).read_text(encoding="utf-8"))
    assert meta["encoding"]["sha256"] == encoding_sha256(meta["fields"], meta["encoding"]["missing"])
    codes = np.array([[1, 2, 3], [5, 4, 0]], dtype=np.int64)
    assert score_codes(load_served(exported[fmt]), codes).shape == (2,)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_flipped_bytes_in_the_model_file_are_refused(exported, tmp_path: Path, fmt: str) -> None:
    model = _copy(exported, tmp_path, fmt)
    (flip_onnx_weight if fmt == "onnx" else flip_artifact_weight)(model)  # 4 bytes of a weight
    codes = np.stack(np.meshgrid(*(np.arange(v) for v in VOCAB)), -1).reshape(-1, len(VOCAB))  # every code
    changed_scores = open_exported(model, fmt)(codes, None)  # unchecked, it loads and scores: no error
    if fmt == "onnx":  # the probe: other scores, silently
        assert not np.allclose(changed_scores, open_exported(exported[fmt], fmt)(codes, None))
    changed = r"sha256 does not match its sidecar student\.\w+\.json \(file changed since export\)"
    message = _refused(model, changed)
    assert message.startswith(f"model {model}:")


def test_a_sidecar_with_fewer_fields_is_refused(exported, tmp_path: Path) -> None:
    model = _copy(exported, tmp_path)
    _edit(model, lambda meta: meta["fields"].pop())
    _refused(model, r"student\.onnx\.json is malformed: it lists 2 fields but its model takes 3")


def test_a_code_beyond_the_vocabulary_size_is_refused(exported, tmp_path: Path) -> None:
    model = _copy(exported, tmp_path)
    _edit(model, lambda meta: meta["fields"][1]["vocabulary"].append("i99"))
    _refused(model, r"field item: its vocabulary has 5 tokens, more than its vocab_size 5 holds")


def test_a_grown_vocabulary_and_size_together_fail_the_digest(exported, tmp_path: Path) -> None:
    model = _copy(exported, tmp_path)

    def grow(meta: dict) -> None:
        meta["fields"][1]["vocabulary"].append("i99")
        meta["fields"][1]["vocab_size"] = 6

    _edit(model, grow)
    _refused(model, r"fields and vocabularies do not match the sha256 it records \(encoding\.sha256")


@pytest.mark.parametrize(
    "change",
    [
        lambda meta: meta["fields"][0]["vocabulary"].pop(),  # a shrunk vocabulary: u5 becomes unseen
        lambda meta: meta["fields"][0]["vocabulary"].reverse(),  # swapped tokens: other codes, no error
        lambda meta: meta["encoding"]["missing"].append("u1"),  # a value read as missing
        lambda meta: meta["fields"][2].update(rule={"edges": [0.5, 1.5]}),  # another rule
    ],
    ids=["shrunk", "swapped", "missing", "rule"],
)
def test_an_edited_encoding_fails_the_digest(exported, tmp_path: Path, change) -> None:
    model = _copy(exported, tmp_path)
    _edit(model, change)
    _refused(model, r"student\.onnx\.json: its fields and vocabularies do not match the sha256 it records")


SCHEMA_IDS = ["no-encoding-sha256", "bad-model-sha256", "unknown-format", "vocab-size-0", "vocab-size-text",
              "vocab-size-bool", "no-vocabulary", "name-number", "unknown-rule", "numeric-rule-text-tokens",
              "duplicate-token", "no-fields", "missing-not-texts", "input-shape"]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda meta: meta["encoding"].pop("sha256"), r"encoding\.sha256 is not a sha256 .*older kdbench"),
        (lambda meta: meta["model"].update(sha256="abc"), r"model\.sha256 is not a sha256"),
        (lambda meta: meta["model"].update(format="pmml"), r"model\.format 'pmml' is not one of onnx"),
        (lambda meta: meta["fields"][0].update(vocab_size=0), r"field user: vocab_size 0 is not a positive"),
        (lambda meta: meta["fields"][0].update(vocab_size="6"), r"field user: vocab_size '6' is not a"),
        (lambda meta: meta["fields"][0].update(vocab_size=True), r"field user: vocab_size True is not a"),
        (lambda meta: meta["fields"][0].pop("vocabulary"), r"field user: its vocabulary is not a list"),
        (lambda meta: meta["fields"][0].update(name=3), r"field name 3 is not a text"),
        (lambda meta: meta["fields"][0].update(rule="cube"), r"field user: unknown rule 'cube'"),
        (lambda meta: meta["fields"][2].update(rule="identity", vocabulary=["a"]), r"needs a vocabulary of"),
        (lambda meta: meta["fields"][0]["vocabulary"].__setitem__(1, "u1"), r"field user: .* token twice"),
        (lambda meta: meta.update(fields=[]), r"fields is not a non-empty list"),
        (lambda meta: meta["encoding"].update(missing=[None]), r"encoding\.missing is not a list of texts"),
        (lambda meta: meta["model"]["input"].update(shape=["batch"]), r"model\.input\.shape is not"),
    ],
    ids=SCHEMA_IDS,
)
def test_a_sidecar_off_its_schema_is_refused_in_one_line(exported, tmp_path: Path, change, named) -> None:
    model = _copy(exported, tmp_path)
    _edit(model, change)
    _refused(model, named)
