"""CUDA smoke test: every phase runs forward and backward on the GPU (skipped without one)."""

import pytest
import torch

from models import KDDAGFM, PHASES

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.mark.parametrize(
    ("teacher", "teacher_kwargs"), [("crossnet", {"depth": 2}), ("cin", {"layers": [8, 8]})]
)
@pytest.mark.parametrize("interaction", ["inner", "outer", "kernel"])
def test_phases_on_cuda(teacher, teacher_kwargs, interaction):
    vocab = [5, 7, 3, 4]
    device = torch.device("cuda")
    model = KDDAGFM(vocab, 4, teacher, teacher_kwargs, {"depth": 2, "interaction": interaction}).to(device)
    assert model.student.mask.device.type == "cuda"
    x = torch.stack([torch.randint(0, v, (16,)) for v in vocab], dim=1).to(device)
    y = torch.randint(0, 2, (16,), device=device).float()
    for phase in PHASES:
        params = model.set_phase(phase)
        optimizer = torch.optim.Adam(params, lr=1e-3)
        loss = model.loss((x, y), phase)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        assert torch.isfinite(loss).item()
        assert model.predict(x, phase).shape == (16,)
