"""CrossNet: parameter count and the DCN-V2 recurrence against a per-sample reference."""

import torch

from kdbench.models import CrossNet
from kdbench.models.cost import count_parameters


def test_parameter_count():
    assert count_parameters(CrossNet(39, 16, 3)) == 1_170_625


def test_matches_reference():
    torch.manual_seed(0)
    model = CrossNet(3, 2, 3).double()
    with torch.no_grad():
        for b in model.bias:
            b.normal_()
    emb = torch.randn(4, 3, 2, dtype=torch.float64)
    expected = []
    for sample in emb:
        x0 = sample.reshape(-1, 1)  # column vector (F·D, 1), as written in the paper
        x = x0
        for w, b in zip(model.weight, model.bias, strict=True):
            x = x0 * (w @ x + b.reshape(-1, 1)) + x
        expected.append(model.linear.weight @ x[:, 0] + model.linear.bias)
    with torch.no_grad():
        torch.testing.assert_close(model(emb), torch.cat(expected))
