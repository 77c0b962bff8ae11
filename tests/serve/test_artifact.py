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
from kdbench.bench.serve._digest import CONTENT_KEY, content_sha256
from kdbench.models import KDDAGFM
from tests.serve._damage import flip_artifact_weight

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


def test_an_artifact_records_the_digest_of_its_content(tmp_path):
    _, payload = _payload()
    save_artifact(payload, tmp_path / "s.pt")
    raw = torch.load(tmp_path / "s.pt", weights_only=True)
    assert raw[CONTENT_KEY] == content_sha256(payload) == content_sha256(raw)  # as saved, as read back
    assert CONTENT_KEY not in payload  # the caller's payload is left as it was
    old = tmp_path / "old.pt"  # an artifact saved before kdbench recorded the digest is read unchecked
    torch.save(payload, old)
    assert CONTENT_KEY not in load_artifact(old)


def test_a_changed_weight_or_token_is_refused_in_one_line(tmp_path):
    _, payload = _payload()
    weight = tmp_path / "weight.pt"
    save_artifact(payload, weight)
    flip_artifact_weight(weight)
    assert torch.load(weight, weights_only=True)  # torch reads it without complaint
    changed = r"its content does not match the sha256 it records \(file changed since it was saved\)"
    with pytest.raises(ArtifactError, match=changed):
        load_artifact(weight)
    token = tmp_path / "token.pt"
    save_artifact(payload, token)
    data = token.read_bytes()
    assert data.count(b"a1") == 1  # the text "a1" of field a's vocabulary, in the archive's pickle
    token.write_bytes(data.replace(b"a1", b"a9"))
    assert torch.load(token, weights_only=True)["vocabularies"][0][0] == "a9"
    with pytest.raises(ArtifactError, match=changed) as caught:
        load_artifact(token)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda p: p["vocabularies"][0].append("a99"), r"field a: its vocabulary has 5 tokens, more than"),
        (lambda p: p.update(vocab_sizes=[5, 7]), r"it has 3 fields but vocab_sizes \[5, 7\]"),
        (lambda p: p["vocabularies"].pop(), r"it has 3 fields but not as many vocabularies"),
        (lambda p: p["encoding"]["rules"].pop(), r"it has 3 fields but not as many encoding rules"),
        (lambda p: p.update(vocab_sizes=[5, 0, 3]), r"field b: vocab_size 0 is not a positive integer"),
        (lambda p: p["vocabularies"][1].__setitem__(0, None), r"field b: .* neither a text nor a number"),
    ],
    ids=["code-beyond-vocabulary", "fewer-sizes", "fewer-vocabularies", "fewer-rules", "size-0", "null"],
)
def test_an_inconsistent_artifact_is_refused_in_one_line(tmp_path, change, named):
    _, payload = _payload()
    change(payload)
    save_artifact(payload, tmp_path / "s.pt")  # saved with a digest of its (wrong) content
    with pytest.raises(ArtifactError, match=rf"s\.pt is inconsistent: {named}.*: re-save it from its trial$"):
        load_artifact(tmp_path / "s.pt")
