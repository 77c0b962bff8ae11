"""AutoInt / AutoInt+: parameter counts by hand and the attention against a per-sample, per-head loop."""

import pytest
import torch

from kdbench.models import AutoInt
from kdbench.models.cost import count_parameters, teacher_parameters


@pytest.mark.parametrize(
    ("fields", "dim", "kwargs", "expected"),
    [
        # Criteo, defaults (3 layers, 2 heads, A = 32, no DNN):
        # W_Q,K,V,Res 4·16·32 + 2·4·32·32, read-out 39·32 + 1.
        (39, 16, {}, 11_489),
        # ML-100K, AutoInt+ (2 layers, 4 heads, A = 64, DNN [400]*3 over n = 144):
        # 4·16·64 + 4·64·64, read-out 9·64 + 1, DNN 145·400 + 2·401·400 + 401.
        (9, 16, {"attention_layers": 2, "heads": 4, "attention_dim": 64, "hidden": [400, 400, 400]}, 400_258),
    ],
)
def test_parameter_count(fields, dim, kwargs, expected):
    assert count_parameters(AutoInt(fields, dim, **kwargs)) == expected
    assert teacher_parameters("autoint", fields, dim, **kwargs) == expected


def _layer_reference(layer, e: torch.Tensor) -> torch.Tensor:
    """The paper's equations, one sample, one head, one field at a time (unscaled scores)."""
    fields = e.shape[1]
    width = layer.query.out_features // layer.heads
    out = torch.zeros(e.shape[0], fields, layer.query.out_features, dtype=e.dtype)
    for b in range(e.shape[0]):
        for h in range(layer.heads):
            cols = slice(h * width, (h + 1) * width)
            wq, wk, wv = (lin.weight[cols] for lin in (layer.query, layer.key, layer.value))
            for m in range(fields):
                scores = torch.stack([torch.dot(wq @ e[b, m], wk @ e[b, k]) for k in range(fields)])
                alpha = torch.softmax(scores, dim=0)
                out[b, m, cols] = sum(alpha[k] * (wv @ e[b, k]) for k in range(fields))
    return torch.relu(out + e @ layer.residual.weight.T)


@pytest.mark.parametrize("hidden", [[], [6]])
def test_forward_matches_the_paper(hidden):
    torch.manual_seed(0)
    model = AutoInt(4, 3, attention_layers=2, heads=2, attention_dim=4, hidden=hidden).double()
    emb = torch.randn(3, 4, 3, dtype=torch.float64)
    h = emb
    for layer in model.attention:
        h = _layer_reference(layer, h)
    expected = h.reshape(3, 16) @ model.linear.weight[0] + model.linear.bias
    if hidden:
        x = torch.relu(emb.reshape(3, 12) @ model.dnn.hidden[0].weight.T + model.dnn.hidden[0].bias)
        expected = expected + (x @ model.dnn.output.weight.T + model.dnn.output.bias).squeeze(-1)
    with torch.no_grad():
        out = model(emb)
        assert out.shape == (3,)
        torch.testing.assert_close(out, expected)


def test_plain_autoint_has_no_dnn_and_dropout_reaches_attention():
    assert AutoInt(4, 3).dnn is None
    torch.manual_seed(0)
    model = AutoInt(4, 3, attention_layers=1, heads=1, attention_dim=8, dropout=0.5)
    emb = torch.randn(16, 4, 3)
    model.train()
    assert not torch.equal(model(emb), model(emb))  # no DNN: the randomness is in the attention
    model.eval()
    assert torch.equal(model(emb), model(emb))


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="divisible"):
        AutoInt(4, 3, heads=3, attention_dim=32)
    with pytest.raises(ValueError, match="attention_layers"):
        AutoInt(4, 3, attention_layers=0)
    with pytest.raises(ValueError, match="hidden"):
        AutoInt(4, 3, hidden=[0])
