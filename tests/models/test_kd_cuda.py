"""CUDA smoke test: every phase of every teacher, forward and backward on the GPU (skipped without one)."""

import pytest
import torch

from kdbench.models import KDDAGFM, PHASES

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

TEACHERS = [
    ("crossnet", {"depth": 2}),
    ("cin", {"layers": [8, 8]}),
    ("dnn", {"hidden": [16, 8], "dropout": 0.1}),
    ("dcnv2", {"depth": 2, "hidden": [16], "structure": "parallel"}),
    ("dcnv2", {"depth": 2, "hidden": [16], "structure": "stacked", "low_rank": 4}),
    ("xdeepfm", {"layers": [8, 8], "hidden": [16], "dropout": 0.1}),
    ("autoint", {"attention_layers": 2, "heads": 2, "attention_dim": 8, "hidden": [16], "dropout": 0.1}),
]


@pytest.mark.parametrize(("teacher", "teacher_kwargs"), TEACHERS)
@pytest.mark.parametrize("interaction", ["inner", "outer", "kernel"])
@pytest.mark.parametrize("mlp", [[], [16]], ids=["dagfm", "dagfm+"])
@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "bf16"])
def test_phases_on_cuda(teacher, teacher_kwargs, interaction, mlp, amp):
    vocab = [5, 7, 3, 4]
    device = torch.device("cuda")
    student = {"depth": 2, "interaction": interaction, "mlp": mlp}
    model = KDDAGFM(vocab, 4, teacher, teacher_kwargs, student).to(device)
    assert model.student.mask.device.type == "cuda"
    x = torch.stack([torch.randint(0, v, (16,)) for v in vocab], dim=1).to(device)
    y = torch.randint(0, 2, (16,), device=device).float()
    for phase in PHASES:
        params = model.set_phase(phase)
        optimizer = torch.optim.Adam(params, lr=1e-3)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            loss = model.loss((x, y), phase)
        loss.backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in params)
        optimizer.step()
        optimizer.zero_grad()
        assert torch.isfinite(loss).item()
        assert model.predict(x, phase).shape == (16,)
