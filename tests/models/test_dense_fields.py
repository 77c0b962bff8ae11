"""Dense fields: FieldEmbedding scales a dense field's one vector by its value; KDDAGFM, xDeepFM's linear
term and the folded student carry the values; models without dense fields are untouched."""

from __future__ import annotations

import pytest
import torch

from kdbench.models import KDDAGFM, FieldEmbedding
from kdbench.models._folded import fold_student

# A census-like table: 8 categoricals, then 3 dense numerics (age, hours, weight) and 3 bucketed ones.
VOCAB = [10, 18, 9, 16, 8, 7, 3, 43, 2, 2, 2, 11, 11, 6]
DENSE = [8, 9, 10]


def _rows(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.stack([torch.randint(0, v, (n,), generator=g) for v in VOCAB], dim=1)
    dense = torch.randn(n, len(DENSE), generator=g) * 1.5
    missing = x[:, DENSE] == 0
    return x, torch.where(missing, torch.ones_like(dense), dense)  # missing: code 0, value 1


def test_dense_fields_scale_their_vector_exactly():
    emb = FieldEmbedding(VOCAB, 16, DENSE)
    x, dense = _rows(300)
    out = emb(x, dense)
    rows = emb.embedding.weight[x + emb.offsets]  # (batch, fields, dim): the plain lookup
    manual = rows.clone()
    for k, f in enumerate(DENSE):
        manual[:, f] = rows[:, f] * dense[:, k : k + 1]
    assert torch.equal(out, manual)  # bit for bit: other fields times exactly 1
    assert torch.equal(out[:, :8], rows[:, :8])


def test_gradients_reach_the_dense_vector_scaled_by_the_value():
    emb = FieldEmbedding([3, 2], 4, dense_fields=[1])
    x = torch.tensor([[1, 1], [2, 1], [0, 0]])
    dense = torch.tensor([[2.5], [-0.5], [1.0]])
    emb(x, dense).sum().backward()
    grad = emb.embedding.weight.grad
    torch.testing.assert_close(grad[3 + 1], torch.full((4,), 2.0))  # 2.5 - 0.5: the field's one vector
    torch.testing.assert_close(grad[3 + 0], torch.full((4,), 1.0))  # the missing vector, unscaled


def test_without_dense_fields_nothing_changes():
    torch.manual_seed(0)
    plain = FieldEmbedding(VOCAB, 8)
    torch.manual_seed(0)
    with_empty = FieldEmbedding(VOCAB, 8, dense_fields=())
    x, _ = _rows(50)
    assert torch.equal(plain(x), with_empty(x))
    assert list(plain.state_dict()) == ["offsets", "embedding.weight"]  # artifacts and cached teachers load
    dense = FieldEmbedding(VOCAB, 8, DENSE)
    assert list(dense.state_dict()) == list(plain.state_dict())
    dense.load_state_dict(plain.state_dict())


def test_dense_input_errors_are_one_line():
    emb = FieldEmbedding(VOCAB, 8, DENSE)
    x, dense = _rows(20)
    with pytest.raises(ValueError, match=r"3 dense field\(s\): pass their values, dense \(batch, 3\)"):
        emb(x)
    with pytest.raises(ValueError, match=r"dense must be \(batch, dense fields\) = \(20, 3\), got \(20, 2\)"):
        emb(x, dense[:, :2])
    with pytest.raises(ValueError, match=r"= \(20, 0\), got \(20, 3\)"):
        FieldEmbedding(VOCAB, 8)(x, dense)
    for bad in ([3, 3], [14], [-1]):
        with pytest.raises(ValueError, match="dense_fields must be distinct field indices in"):
            FieldEmbedding(VOCAB, 8, bad)


def test_dense_index_follows_the_module_but_stays_out_of_the_state_dict():
    emb = FieldEmbedding(VOCAB, 8, DENSE).double()
    assert emb.dense_index.tolist() == [0] * 8 + [1, 2, 3] + [0] * 3
    x, dense = _rows(10)
    assert emb(x, dense).dtype == torch.float64  # float32 values follow the table's dtype
    assert "dense_index" in dict(emb.named_buffers())  # a buffer: .to(device) moves it with the table
    assert list(emb.state_dict()) == [
        "offsets",
        "embedding.weight",
    ]  # but not saved: stored artifacts load unchanged
    model = KDDAGFM(
        VOCAB, 8, "crossnet", {"depth": 1}, {"depth": 2, "interaction": "inner"}, dense_fields=DENSE
    )
    assert not [k for k in model.state_dict() if k.endswith("dense_index")]


@pytest.mark.parametrize("teacher", ["crossnet", "xdeepfm"])
def test_kd_model_predicts_and_trains_with_dense_values(teacher):
    torch.manual_seed(3)
    kwargs = {"depth": 1} if teacher == "crossnet" else {"layers": [8], "hidden": [16]}
    model = KDDAGFM(VOCAB, 8, teacher, kwargs, {"depth": 2, "interaction": "inner"}, dense_fields=DENSE)
    x, dense = _rows(256, seed=1)
    y = (dense[:, 0] > 0).float()
    for phase in ("teacher_training", "distillation", "finetuning"):
        model.set_phase(phase)
        loss = model.loss((x, y), phase, dense=dense)
        loss.backward()
        assert torch.isfinite(loss)
    model.eval()
    with torch.no_grad():
        emb = model.embedding(x, dense)
        student = model.predict(x, "finetuning", dense)
        teacher_logits = model.predict(x, "teacher_training", dense)
        other = model.predict(x, "teacher_training", dense * 2)
    torch.testing.assert_close(student, model.student(emb))
    assert not torch.allclose(teacher_logits, other)  # the values reach the teacher
    with pytest.raises(ValueError, match="pass their values"):
        model.predict(x, "finetuning")


def test_xdeepfm_first_order_weight_is_scaled_by_the_value():
    torch.manual_seed(4)
    model = KDDAGFM(VOCAB, 8, "xdeepfm", {"layers": [4], "hidden": [8]}, {"depth": 1}, dense_fields=DENSE)
    linear = model.teacher.linear
    assert linear.dense_fields == DENSE
    x, dense = _rows(64, seed=2)
    w = linear.embedding.weight[:, 0][x + linear.offsets]  # (batch, fields): each field's scalar weight
    scale = torch.ones(64, len(VOCAB))
    scale[:, DENSE] = dense
    torch.testing.assert_close(linear(x, dense).sum(dim=(1, 2)), (w * scale).sum(1))
    with pytest.raises(ValueError, match="must not set dense_fields"):
        KDDAGFM(VOCAB, 8, "xdeepfm", {"dense_fields": [1]}, {"depth": 1})


@pytest.mark.parametrize("interaction", ["inner", "outer", "kernel"])
@pytest.mark.parametrize("mlp", [(), (32, 8)])
def test_folded_student_with_dense_matches_the_training_path(interaction, mlp):
    torch.manual_seed(5)
    model = KDDAGFM(
        VOCAB, 16, "crossnet", {"depth": 1}, {"depth": 3, "interaction": interaction, "mlp": mlp}, DENSE
    )
    with torch.no_grad():  # a trained-looking student
        for p in model.student.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    model.eval()
    for rows in (1, 16, 17, 1030, 2500):  # dense fold, blocks (+ a ragged one), whole batch
        x, dense = _rows(rows, seed=rows)
        with torch.no_grad():
            expected = model.student(model.embedding(x, dense))
        with torch.inference_mode():
            got = [
                model.predict(x, "finetuning", dense),
                fold_student(model.embedding, model.student, block_rows=1024)(x, dense),
                fold_student(model.embedding, model.student, block_rows=0)(x, dense),
            ]
        for logits in got:
            torch.testing.assert_close(logits, expected, rtol=0, atol=1e-5)
    folded = model.folded_student()
    with pytest.raises(ValueError, match="pass their values"):
        folded(x)
    assert "dense_index" not in folded.state_dict()
