"""Student artifact: saved whole, read back with weights_only, scores as the model did; bad files refused."""

from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from kdbench.bench.errors import UsageError
from kdbench.bench.serve import (
    ArtifactError,
    build_artifact,
    encode_rows,
    load_artifact,
    save_artifact,
    student_module,
)
from kdbench.bench.serve._artifact import save_to_folder
from kdbench.models import KDDAGFM

VOCAB = [5, 7, 3]


def _dataset() -> SimpleNamespace:
    return SimpleNamespace(
        name="toy", fingerprint="f" * 16, field_names=["a", "b", "c"], vocab_sizes=VOCAB, path=None
    )


def _payload(interaction: str = "outer") -> tuple[KDDAGFM, dict]:
    torch.manual_seed(0)
    model = KDDAGFM(VOCAB, 4, "crossnet", {"depth": 1}, {"depth": 2, "interaction": interaction}).eval()
    payload = build_artifact(model, {"interaction": interaction}, "abc123", _dataset(), {"test_auc": 0.7})
    payload["vocabularies"] = [
        [f"{name}{i}" for i in range(1, v)] for name, v in zip("abc", VOCAB, strict=True)
    ]
    return model, payload


@pytest.mark.parametrize("interaction", ["inner", "outer", "kernel"])
def test_round_trip_scores_as_the_model(tmp_path, interaction):
    model, payload = _payload(interaction)
    record = save_to_folder(payload, tmp_path / "artifacts")
    loaded = load_artifact(record["path"], record["sha256"])
    x = torch.tensor([[1, 2, 0], [4, 6, 2], [0, 0, 1]])
    with torch.inference_mode():
        torch.testing.assert_close(
            student_module(loaded)(x), model.predict(x, "finetuning"), rtol=0, atol=1e-6
        )
    assert loaded["metrics"] == {"test_auc": 0.7} and loaded["fields"] == ["a", "b", "c"]
    assert record["path"].endswith(f"student-abc123-{record['sha256'][:16]}.pt")
    assert [p.name for p in (tmp_path / "artifacts").iterdir()] == [record["path"].rsplit("/", 1)[1]]


def test_bad_files_are_one_line_errors(tmp_path):
    _, payload = _payload()
    record = save_artifact(payload, tmp_path / "s.pt")
    with pytest.raises(ArtifactError, match="does not exist"):
        load_artifact(tmp_path / "missing.pt")
    with pytest.raises(ArtifactError, match="sha256 differs"):
        load_artifact(record["path"], "0" * 64)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes((tmp_path / "s.pt").read_bytes()[:200])
    with pytest.raises(ArtifactError, match="not readable"):
        load_artifact(corrupt)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(ArtifactError, match="not a kdbench student artifact"):
        load_artifact(other)


def test_encode_raw_rows_counts_unseen_values():
    _, payload = _payload()
    frame = pd.DataFrame(
        {"a": ["a1", "a4", "zz"], "b": ["b6", None, "b1"], "c": ["c2", "c1", "c1"], "extra": 1}
    )
    codes, unseen = encode_rows(frame, payload["fields"], payload["vocabularies"])
    assert codes.tolist() == [[1, 6, 2], [4, 0, 1], [0, 1, 1]]
    assert unseen == {"a": 1, "b": 0, "c": 0}  # "zz" is unseen; None is missing (code 0, not counted)
    with pytest.raises(UsageError, match="lacks the model's field"):
        encode_rows(frame.drop(columns="b"), payload["fields"], payload["vocabularies"])
