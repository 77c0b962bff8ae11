"""KDDAGFM: phase semantics (what trains, what the losses are), registry, errors."""

import pytest
import torch
import torch.nn.functional as F

from models import KDDAGFM, PHASES, TEACHERS

VOCAB = [4, 6, 3, 5]
TEACHER_KWARGS = {"crossnet": {"depth": 2}, "cin": {"layers": [5, 4]}}


def _model(teacher: str = "crossnet") -> KDDAGFM:
    torch.manual_seed(0)
    return KDDAGFM(VOCAB, 3, teacher, TEACHER_KWARGS[teacher], {"depth": 2, "interaction": "outer"})


def _batch(n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.stack([torch.randint(0, v, (n,), generator=g) for v in VOCAB], dim=1)
    return x, torch.randint(0, 2, (n,), generator=g).float()


def _grads(model: KDDAGFM) -> dict[str, bool]:
    """Per submodule: did any parameter receive a gradient?"""
    return {
        name: any(p.grad is not None for p in getattr(model, name).parameters())
        for name in ("embedding", "teacher", "student")
    }


EXPECTED = {
    "teacher_training": {"embedding": True, "teacher": True, "student": False},
    "distillation": {"embedding": False, "teacher": False, "student": True},
    "finetuning": {"embedding": True, "teacher": False, "student": True},
}


def test_registry_and_phases():
    assert set(TEACHERS) == {"crossnet", "cin"}
    assert PHASES == ("teacher_training", "distillation", "finetuning")


@pytest.mark.parametrize("teacher", ["crossnet", "cin"])
@pytest.mark.parametrize("phase", PHASES)
def test_phase_trains_exactly_its_modules(teacher, phase):
    model = _model(teacher)
    trained = model.set_phase(phase)
    expected_ids = {id(p) for n, on in EXPECTED[phase].items() if on for p in getattr(model, n).parameters()}
    assert {id(p) for p in trained} == expected_ids
    assert {id(p) for p in model.parameters() if p.requires_grad} == expected_ids
    model.loss(_batch(), phase).backward()
    assert _grads(model) == EXPECTED[phase]
    # Every trained parameter gets a gradient (none is silently unused).
    assert all(p.grad is not None for p in trained)


def test_distillation_ignores_teacher_and_embedding_even_when_unfrozen():
    # Without set_phase everything requires grad: the loss itself must keep the teacher (no_grad) and the
    # embedding (detached) out of the graph.
    model = _model()
    model.loss(_batch(), "distillation").backward()
    assert _grads(model) == EXPECTED["distillation"]


@pytest.mark.parametrize(("alpha", "beta"), [(0.1, 921.6), (0.7, 2.0)])
def test_distillation_loss_by_hand(alpha, beta):
    model = _model()
    x, y = _batch()
    with torch.no_grad():
        emb = model.embedding(x)
        z_t, z_s = model.teacher(emb), model.student(emb)
        expected = alpha * F.binary_cross_entropy(torch.sigmoid(z_s), y) + beta * ((z_t - z_s) ** 2).mean()
        torch.testing.assert_close(model.loss((x, y), "distillation", alpha=alpha, beta=beta), expected)


def test_distillation_with_precomputed_teacher_logits():
    model = _model()
    x, y = _batch()
    with torch.no_grad():
        z_t = model.teacher(model.embedding(x))
    calls = []
    model.teacher.register_forward_hook(lambda *_: calls.append(1))
    given = model.loss((x, y), "distillation", teacher_logits=z_t)
    assert not calls  # the teacher did not run
    torch.testing.assert_close(given, model.loss((x, y), "distillation"))
    # Different logits give a different loss: they are really used.
    assert not torch.allclose(given, model.loss((x, y), "distillation", teacher_logits=z_t + 1))
    with pytest.raises(ValueError, match="distillation only"):
        model.loss((x, y), "finetuning", teacher_logits=z_t)


@pytest.mark.parametrize("phase", ["teacher_training", "finetuning"])
def test_bce_phases_by_hand(phase):
    model = _model()
    x, y = _batch()
    with torch.no_grad():
        emb = model.embedding(x)
        z = model.teacher(emb) if phase == "teacher_training" else model.student(emb)
        torch.testing.assert_close(model.loss((x, y), phase), F.binary_cross_entropy(torch.sigmoid(z), y))
        torch.testing.assert_close(model.predict(x, phase), z)
    assert model.predict(x, "distillation").shape == (8,)


def test_frozen_modules_stay_in_eval_mode():
    model = _model()
    model.set_phase("distillation")
    model.train()
    assert not model.teacher.training and not model.embedding.training and model.student.training
    model.eval()
    assert not model.student.training
    model.set_phase("distillation")  # after an evaluation: restores the phase's modes
    assert model.student.training and not model.teacher.training
    model.set_phase("teacher_training")
    assert model.teacher.training and model.embedding.training and not model.student.training


def test_invalid_phase_raises():
    model = _model()
    for call in (
        lambda: model.set_phase("distill"),
        lambda: model.loss(_batch(), "distill"),
        lambda: model.predict(_batch()[0], "distill"),
    ):
        with pytest.raises(ValueError, match="teacher_training, distillation, finetuning"):
            call()


def test_unknown_teacher_raises():
    with pytest.raises(ValueError, match="crossnet"):
        KDDAGFM(VOCAB, 3, "dnn", {}, {"depth": 1, "interaction": "inner"})


def test_works_after_to_float64():
    model = _model("cin").to(torch.float64)
    for phase in PHASES:
        model.set_phase(phase)
        loss = model.loss(_batch(), phase)
        assert loss.dtype == torch.float64
        loss.backward()


def test_bf16_logits_give_float32_losses():
    model = _model().to(torch.bfloat16)
    for phase in PHASES:
        model.set_phase(phase)
        assert model.loss(_batch(), phase).dtype == torch.float32


@pytest.mark.parametrize("teacher", ["crossnet", "cin"])
@pytest.mark.parametrize("interaction", ["inner", "outer", "kernel"])
def test_every_phase_runs_on_another_device(teacher, interaction):
    # The meta device stands in for CUDA on CPU-only machines: any tensor created on the CPU inside forward
    # (a non-buffer mask, a hard-coded device) would fail to mix with it.
    model = KDDAGFM(VOCAB, 3, teacher, TEACHER_KWARGS[teacher], {"depth": 2, "interaction": interaction})
    model = model.to("meta")
    x = torch.zeros(8, len(VOCAB), dtype=torch.long, device="meta")
    y = torch.zeros(8, device="meta")
    for phase in PHASES:
        model.set_phase(phase)
        loss = model.loss((x, y), phase)
        loss.backward()
        assert loss.device.type == "meta"
        assert model.predict(x, phase).shape == (8,)
