"""DCN-V2: parameter counts by hand, stacked / parallel against the paper's equations, low rank as U V^T."""

import pytest
import torch

from kdbench.models import CrossNet, CrossNetwork, DCNv2
from kdbench.models.cost import count_parameters, teacher_parameters


@pytest.mark.parametrize(
    ("fields", "dim", "kwargs", "expected"),
    [
        # Criteo, n = 624, depth 3 full rank, [400]*3, parallel:
        # cross 3·(624² + 624) + DNN 625·400 + 2·401·400 + read-out (624 + 400 + 1).
        (39, 16, {}, 1_741_825),
        # Avazu, n = 368, depth 2, rank 32, [256, 128], stacked:
        # cross 2·(2·368·32 + 368) + DNN 369·256 + 257·128 + read-out (128 + 1).
        (23, 16, {"depth": 2, "hidden": [256, 128], "structure": "stacked", "low_rank": 32}, 175_329),
    ],
)
def test_parameter_count(fields, dim, kwargs, expected):
    assert count_parameters(DCNv2(fields, dim, **kwargs)) == expected
    assert teacher_parameters("dcnv2", fields, dim, **kwargs) == expected


def _cross_reference(x0: torch.Tensor, weights, biases) -> torch.Tensor:
    """Per sample, column vectors as in the paper: x_{l+1} = x0 ⊙ (W_l x_l + b_l) + x_l."""
    out = []
    for sample in x0:
        c0 = sample.reshape(-1, 1)
        c = c0
        for w, b in zip(weights, biases, strict=True):
            c = c0 * (w @ c + b.reshape(-1, 1)) + c
        out.append(c[:, 0])
    return torch.stack(out)


def _dnn_reference(model: DCNv2, x: torch.Tensor) -> torch.Tensor:
    for layer in model.dnn.hidden:
        x = torch.relu(x @ layer.weight.T + layer.bias)
    return x


@pytest.mark.parametrize("structure", ["stacked", "parallel"])
@pytest.mark.parametrize("low_rank", [0, 2])
def test_forward_matches_the_paper(structure, low_rank):
    torch.manual_seed(0)
    model = DCNv2(3, 2, depth=2, hidden=[5, 4], structure=structure, low_rank=low_rank).double()
    with torch.no_grad():
        for b in model.cross.bias:
            b.normal_()
    emb = torch.randn(4, 3, 2, dtype=torch.float64) * 0.5
    x0 = emb.reshape(4, 6)
    cross = model.cross
    weights = [u @ v.T for u, v in zip(cross.u, cross.v, strict=True)] if low_rank else list(cross.weight)
    x_c = _cross_reference(x0, weights, cross.bias)
    if structure == "stacked":
        h = _dnn_reference(model, x_c)
    else:
        h = torch.cat([x_c, _dnn_reference(model, x0)], dim=-1)
    expected = h @ model.linear.weight[0] + model.linear.bias
    with torch.no_grad():
        torch.testing.assert_close(model(emb), expected)


def test_cross_part_is_the_crossnet_teachers():
    # The same seed gives CrossNet and DCN-V2's cross layers the same weights: one cross network, reused.
    torch.manual_seed(3)
    crossnet = CrossNet(4, 3, 2)
    torch.manual_seed(3)
    dcn = DCNv2(4, 3, depth=2, hidden=[8])
    assert isinstance(dcn.cross, CrossNetwork)
    for a, b in zip(crossnet.weight, dcn.cross.weight, strict=True):
        assert torch.equal(a, b)


def test_low_rank_init_keeps_the_full_rank_scale():
    torch.manual_seed(0)
    cross = CrossNetwork(200, 1, low_rank=16)
    assert [n for n, _ in cross.named_parameters()] == ["u.0", "v.0", "bias.0"]
    w = cross.u[0] @ cross.v[0].T  # (200, 200), entries of variance ≈ 1 like a standard-normal W
    assert abs(w.std().item() - 1.0) < 0.1


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="structure"):
        DCNv2(4, 3, structure="serial")
    with pytest.raises(ValueError, match="low_rank"):
        DCNv2(4, 3, low_rank=-1)
    with pytest.raises(ValueError, match="hidden"):
        DCNv2(4, 3, hidden=[])
    with pytest.raises(ValueError, match="depth"):
        DCNv2(4, 3, depth=0)
