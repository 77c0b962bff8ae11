"""DNN teacher: parameter counts by hand and the forward as an explicit MLP."""

import pytest
import torch

from kdbench.models import DNN
from kdbench.models.cost import count_parameters, teacher_parameters


@pytest.mark.parametrize(
    ("fields", "dim", "kwargs", "expected"),
    [
        # Criteo (39 × 16 = 624), default [400]*3: 625·400 + 401·400 + 401·400 + 401.
        (39, 16, {}, 571_201),
        # Avazu (23 × 16 = 368), [256, 128]: 369·256 + 257·128 + 129 (dropout adds nothing).
        (23, 16, {"hidden": [256, 128], "dropout": 0.2}, 127_489),
    ],
)
def test_parameter_count(fields, dim, kwargs, expected):
    assert count_parameters(DNN(fields, dim, **kwargs)) == expected
    assert teacher_parameters("dnn", fields, dim, **kwargs) == expected


def test_forward_by_hand():
    torch.manual_seed(0)
    model = DNN(4, 3, [6, 5]).double()
    emb = torch.randn(7, 4, 3, dtype=torch.float64)
    x = emb.reshape(7, 12)  # field-major flatten: [e_1, e_2, e_3, e_4]
    for layer in model.mlp.hidden:
        x = torch.relu(x @ layer.weight.T + layer.bias)
    expected = (x @ model.mlp.output.weight.T + model.mlp.output.bias).squeeze(-1)
    out = model(emb)
    assert out.shape == (7,)
    torch.testing.assert_close(out, expected)


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="hidden"):
        DNN(4, 3, [])
    with pytest.raises(ValueError, match="dropout"):
        DNN(4, 3, [8], dropout=1.5)
