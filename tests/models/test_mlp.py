"""MLP: the shared Linear + ReLU (+ Dropout) block, its count, init, dropout and argument checks."""

import pytest
import torch

from kdbench.models import MLP
from kdbench.models._mlp import check_hidden
from kdbench.models.cost import count_parameters


def test_parameter_count_and_shapes():
    # 624 -> 400 -> 400 -> 1 (Criteo: 39 fields × 16): 625·400 + 401·400 + 401.
    mlp = MLP(624, [400, 400], output_dim=1)
    assert count_parameters(mlp) == 625 * 400 + 401 * 400 + 401 == 410_801
    assert mlp(torch.randn(5, 624)).shape == (5, 1)
    hidden_only = MLP(624, [400, 200])
    assert hidden_only.output is None and hidden_only.output_dim == 200
    assert hidden_only(torch.randn(5, 624)).shape == (5, 200)


def test_forward_by_hand():
    torch.manual_seed(0)
    mlp = MLP(6, [5, 4], output_dim=2).double()
    x = torch.randn(3, 6, dtype=torch.float64)
    (w1, b1), (w2, b2) = ((layer.weight, layer.bias) for layer in mlp.hidden)
    expected = torch.relu(torch.relu(x @ w1.T + b1) @ w2.T + b2) @ mlp.output.weight.T + mlp.output.bias
    torch.testing.assert_close(mlp(x), expected)


def test_empty_hidden_is_identity_or_one_linear():
    x = torch.randn(3, 6)
    assert torch.equal(MLP(6, [])(x), x)
    single = MLP(6, [], output_dim=1)
    assert count_parameters(single) == 7
    torch.testing.assert_close(single(x), x @ single.output.weight.T + single.output.bias)


def test_xavier_init_zero_bias():
    torch.manual_seed(0)
    layer = MLP(400, [300]).hidden[0]
    expected = (2.0 / (400 + 300)) ** 0.5
    assert abs(layer.weight.std().item() - expected) / expected < 0.05
    assert torch.count_nonzero(layer.bias) == 0


def test_dropout_only_in_training():
    torch.manual_seed(0)
    mlp = MLP(50, [200, 200], output_dim=1, dropout=0.5)
    x = torch.randn(8, 50)
    mlp.eval()
    torch.testing.assert_close(mlp(x), mlp(x))
    mlp.train()
    assert not torch.equal(mlp(x), mlp(x))


def test_parameter_names_do_not_depend_on_dropout():
    # Dropout is functional: a checkpoint trained with dropout loads into the same model without it.
    names = {n for n, _ in MLP(6, [5, 4], 1, dropout=0.3).named_parameters()}
    assert names == {n for n, _ in MLP(6, [5, 4], 1).named_parameters()}
    assert names == {
        "hidden.0.weight",
        "hidden.0.bias",
        "hidden.1.weight",
        "hidden.1.bias",
        "output.weight",
        "output.bias",
    }


@pytest.mark.parametrize("hidden", [[400, 0], [400, -1], [True], [2.5], "400", 400])
def test_bad_hidden_raise_naming_the_argument(hidden):
    with pytest.raises(ValueError, match="hidden must be"):
        check_hidden(hidden)
    with pytest.raises(ValueError, match="student_mlp must be"):
        check_hidden(hidden, name="student_mlp")


def test_empty_hidden_and_dropout_checks():
    with pytest.raises(ValueError, match="non-empty"):
        check_hidden([])
    assert check_hidden([], allow_empty=True) == []
    for dropout in (-0.1, 1.0):
        with pytest.raises(ValueError, match="dropout"):
            check_hidden([8], dropout)
