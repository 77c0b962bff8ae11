"""CIN: parameter count and equality with the reference Conv1d formulation."""

import pytest
import torch
import torch.nn.functional as F

from kdbench.models import CIN
from kdbench.models._cin import _Outer
from kdbench.models.cost import count_parameters


def test_parameter_count():
    assert count_parameters(CIN(23, 16, [200, 200, 200])) == 1_947_000


def test_matches_conv1d_reference():
    torch.manual_seed(0)
    fields, dim = 4, 3
    model = CIN(fields, dim, [5, 6, 2]).double()
    emb = torch.randn(7, fields, dim, dtype=torch.float64, requires_grad=True)
    # Reference (xDeepFM / KD-DAGFM code): outer product (B, H, F, D) -> (B, H·F, D) -> Conv1d(kernel 1).
    x, pooled = emb, []
    for weight, bias in zip(model.weight, model.bias, strict=True):
        z = torch.einsum("bhd,bmd->bhmd", x, emb).reshape(emb.shape[0], -1, dim)
        x = F.conv1d(z, weight.unsqueeze(-1), bias)
        pooled.append(x.sum(-1))
    expected = torch.cat(pooled, dim=-1) @ model.w
    # Gradients too: the outer product has a hand-written backward.
    inputs = [emb, *model.parameters()]
    expected_grads = torch.autograd.grad(expected.square().sum(), inputs)
    out = model(emb)
    torch.testing.assert_close(out, expected)
    for got, want in zip(torch.autograd.grad(out.square().sum(), inputs), expected_grads, strict=True):
        torch.testing.assert_close(got, want)


def test_outer_product_gradcheck():
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    x0 = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_Outer.apply, (x, x0))


def test_invalid_layers_raise():
    with pytest.raises(ValueError, match="layers"):
        CIN(4, 3, [])


def test_backward_under_bf16_autocast():
    # Under autocast the hidden state is bf16 while x0 stays float32: the custom backward must cope.
    model = CIN(4, 3, [5, 6])
    emb = torch.randn(7, 4, 3, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(emb)
    out.float().sum().backward()
    assert emb.grad.dtype == torch.float32 and torch.isfinite(emb.grad).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
