"""KDDAGFM: phase semantics (what trains, what the losses are), registry, errors."""

import pytest
import torch
import torch.nn.functional as F

from kdbench.models import KDDAGFM, PHASES, TEACHERS

VOCAB = [4, 6, 3, 5]
AUTOINT_PLUS = {"attention_layers": 2, "heads": 2, "attention_dim": 4, "hidden": [8], "dropout": 0.2}
# case -> (registry name, teacher_kwargs): every teacher, both DCN-V2 structures, AutoInt and AutoInt+.
TEACHER_CASES = {
    "crossnet": ("crossnet", {"depth": 2}),
    "cin": ("cin", {"layers": [5, 4]}),
    "dnn": ("dnn", {"hidden": [8, 6], "dropout": 0.2}),
    "dcnv2-parallel": ("dcnv2", {"depth": 2, "hidden": [8], "structure": "parallel", "dropout": 0.2}),
    "dcnv2-stacked": ("dcnv2", {"depth": 2, "hidden": [8], "structure": "stacked", "low_rank": 3}),
    "xdeepfm": ("xdeepfm", {"layers": [5, 4], "hidden": [8], "dropout": 0.2}),
    "autoint": ("autoint", {"attention_layers": 2, "heads": 2, "attention_dim": 4}),
    "autoint+": ("autoint", AUTOINT_PLUS),
}
STUDENT_MLP = [8, 4]


def _model(case: str = "crossnet", mlp: list[int] | None = None, interaction: str = "outer") -> KDDAGFM:
    torch.manual_seed(0)
    teacher, kwargs = TEACHER_CASES[case]
    student = {"depth": 2, "interaction": interaction} | ({} if mlp is None else {"mlp": mlp})
    return KDDAGFM(VOCAB, 3, teacher, kwargs, student)


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
    assert list(TEACHERS) == ["crossnet", "cin", "dnn", "dcnv2", "xdeepfm", "autoint"]
    assert {teacher for teacher, _ in TEACHER_CASES.values()} == set(TEACHERS)
    assert PHASES == ("teacher_training", "distillation", "finetuning")


@pytest.mark.parametrize("mlp", [None, STUDENT_MLP], ids=["dagfm", "dagfm+"])
@pytest.mark.parametrize("case", TEACHER_CASES)
@pytest.mark.parametrize("phase", PHASES)
def test_phase_trains_exactly_its_modules(case, phase, mlp):
    model = _model(case, mlp)
    trained = model.set_phase(phase)
    expected_ids = {id(p) for n, on in EXPECTED[phase].items() if on for p in getattr(model, n).parameters()}
    assert {id(p) for p in trained} == expected_ids
    assert {id(p) for p in model.parameters() if p.requires_grad} == expected_ids
    model.loss(_batch(), phase).backward()
    assert _grads(model) == EXPECTED[phase]
    # Every trained parameter gets a gradient (none is silently unused).
    assert all(p.grad is not None for p in trained)
    assert model.predict(_batch()[0], phase).shape == (8,)


@pytest.mark.parametrize("case", TEACHER_CASES)
def test_teacher_gradient_reaches_every_parameter(case):
    model = _model(case)
    model.set_phase("teacher_training")
    model.eval()  # dropout off: a dropped unit's zero gradient is not a wiring fault
    x, y = _batch(64)
    model.loss((x, y), "teacher_training").backward()
    for name, p in model.teacher.named_parameters():
        grad = p.grad
        if name == "linear.embedding.weight":  # xDeepFM's per-value weights: only the values in the batch
            grad = grad[(x + model.teacher.linear.offsets).unique()]
        assert grad is not None and torch.count_nonzero(grad) == grad.numel(), name


@pytest.mark.parametrize("case", ["crossnet", "xdeepfm", "autoint+"])
@pytest.mark.parametrize("mlp", [None, STUDENT_MLP], ids=["dagfm", "dagfm+"])
def test_distillation_ignores_teacher_and_embedding_even_when_unfrozen(case, mlp):
    # Without set_phase everything requires grad: the loss itself must keep the teacher (no_grad) and the
    # embedding (detached) out of the graph, DAGFM+'s MLP branch included.
    model = _model(case, mlp)
    model.loss(_batch(), "distillation").backward()
    assert _grads(model) == EXPECTED["distillation"]
    if mlp:
        mlp_grads = [p.grad for p in model.student.mlp.parameters()]
        assert all(g is not None and torch.count_nonzero(g) > 0 for g in mlp_grads)


def test_distillation_trains_the_student_mlp_on_frozen_embeddings():
    model = _model("dnn", STUDENT_MLP)
    optimizer = torch.optim.Adam(model.set_phase("distillation"), lr=1e-2)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for _ in range(3):
        optimizer.zero_grad()
        model.loss(_batch(), "distillation").backward()
        optimizer.step()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert {n for n in changed if n.startswith("student.mlp.")} == {
        n for n in before if n.startswith("student.mlp.")
    }
    assert not {n for n in changed if not n.startswith("student.")}  # embedding and teacher untouched


@pytest.mark.parametrize("case", ["dnn", "dcnv2-parallel", "xdeepfm", "autoint+"])
def test_frozen_teacher_with_dropout_is_deterministic_in_distillation(case):
    # set_phase keeps the frozen teacher in eval mode: its dropout is off, so z_t is the same every time.
    model = _model(case)
    model.set_phase("distillation")
    x, y = _batch()
    with torch.no_grad():
        torch.testing.assert_close(model.predict(x, "teacher_training"), model.predict(x, "teacher_training"))
        torch.testing.assert_close(model.loss((x, y), "distillation"), model.loss((x, y), "distillation"))
    model.set_phase("teacher_training")  # trained: dropout on
    assert not torch.equal(model.predict(x, "teacher_training"), model.predict(x, "teacher_training"))


def test_xdeepfm_gets_vocab_sizes_and_indices_from_the_model():
    model = _model("xdeepfm").eval()
    assert model.teacher.linear.vocab_sizes == VOCAB
    x, _ = _batch()
    with torch.no_grad():
        emb = model.embedding(x)
        torch.testing.assert_close(model.predict(x, "teacher_training"), model.teacher(emb, x))
    with pytest.raises(ValueError, match="vocab_sizes"):
        KDDAGFM(VOCAB, 3, "xdeepfm", {"layers": [4], "hidden": [4], "vocab_sizes": VOCAB}, {"depth": 1})


@pytest.mark.parametrize(("alpha", "beta"), [(0.1, 921.6), (0.7, 2.0)])
@pytest.mark.parametrize("case", ["crossnet", "xdeepfm"])
def test_distillation_loss_by_hand(alpha, beta, case):
    model = _model(case)
    model.set_phase("distillation")  # the teacher in eval mode: its dropout off
    x, y = _batch()
    with torch.no_grad():
        emb = model.embedding(x)
        z_t = model.teacher(emb, x) if case == "xdeepfm" else model.teacher(emb)
        z_s = model.student(emb)
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
    with pytest.raises(ValueError, match="crossnet, cin, dnn, dcnv2, xdeepfm, autoint"):
        KDDAGFM(VOCAB, 3, "deepfm", {}, {"depth": 1, "interaction": "inner"})


@pytest.mark.parametrize("case", TEACHER_CASES)
def test_works_after_to_float64(case):
    model = _model(case, STUDENT_MLP).to(torch.float64)
    for phase in PHASES:
        model.set_phase(phase)
        loss = model.loss(_batch(), phase)
        assert loss.dtype == torch.float64
        loss.backward()


@pytest.mark.parametrize("case", TEACHER_CASES)
def test_bf16_logits_give_float32_losses(case):
    model = _model(case, STUDENT_MLP).to(torch.bfloat16)
    for phase in PHASES:
        model.set_phase(phase)
        assert model.loss(_batch(), phase).dtype == torch.float32


@pytest.mark.parametrize("case", TEACHER_CASES)
@pytest.mark.parametrize("interaction", ["inner", "outer", "kernel"])
def test_every_phase_runs_on_another_device(case, interaction):
    # The meta device stands in for CUDA on CPU-only machines: any tensor created on the CPU inside forward
    # (a non-buffer mask, a hard-coded device) would fail to mix with it.
    model = _model(case, STUDENT_MLP, interaction).to("meta")
    x = torch.zeros(8, len(VOCAB), dtype=torch.long, device="meta")
    y = torch.zeros(8, device="meta")
    for phase in PHASES:
        model.set_phase(phase)
        loss = model.loss((x, y), phase)
        loss.backward()
        assert loss.device.type == "meta"
        assert model.predict(x, phase).shape == (8,)


def test_student_mlp_empty_is_todays_kd_model():
    # student_kwargs {"mlp": []} (config student_mlp: []) builds exactly the model built without the key.
    plain, empty = _model("cin"), _model("cin", mlp=[])
    assert list(plain.state_dict()) == list(empty.state_dict())
    for name, value in plain.state_dict().items():
        assert torch.equal(empty.state_dict()[name], value), name
    x, y = _batch()
    for phase in PHASES:
        assert torch.equal(plain.predict(x, phase), empty.predict(x, phase))
        assert torch.equal(plain.loss((x, y), phase), empty.loss((x, y), phase))


@pytest.mark.parametrize("case", TEACHER_CASES)
def test_every_phase_under_bf16_autocast(case):
    # The trainer's amp: bf16 autocast around loss and backward. Mixed bf16 / float32 parts (xDeepFM's
    # float32 linear term, DCN-V2's concat of cross and DNN outputs) must combine, and gradients be finite.
    model = _model(case, STUDENT_MLP)
    for phase in PHASES:
        trained = model.set_phase(phase)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model.loss(_batch(), phase)
        loss.backward()
        assert loss.dtype == torch.float32 and torch.isfinite(loss)
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in trained)
        model.zero_grad()
