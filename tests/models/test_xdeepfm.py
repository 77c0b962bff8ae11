"""xDeepFM: parameter counts by hand, the three parts of the logit, per-value first-order weights."""

import pytest
import torch

from kdbench.models import CIN, XDeepFM
from kdbench.models.cost import count_parameters, teacher_parameters

# MovieLens-100K's nine fields (user, item, weekday, hour, age, gender, occupation, zip, release year),
# each vocabulary with its unknown token: Σ = 3,616.
ML100K_VOCAB = [944, 1683, 8, 25, 62, 3, 22, 796, 73]


@pytest.mark.parametrize(
    ("vocab", "dim", "kwargs", "expected"),
    [
        # F = 9, D = 16, CIN [200]*3, DNN [400]*3 over n = 144:
        # linear 3,616 + CIN 200·(9·9 + 1) + 2·200·(200·9 + 1) + 600 + DNN 145·400 + 2·401·400 + 401.
        (ML100K_VOCAB, 16, {}, 1_120_217),
        # F = 4, D = 3, CIN [5, 4], DNN [7]: linear 18 + CIN 5·17 + 4·21 + 9 + DNN 13·7 + 8.
        ([3, 4, 5, 6], 3, {"layers": [5, 4], "hidden": [7], "dropout": 0.1}, 295),
    ],
)
def test_parameter_count(vocab, dim, kwargs, expected):
    model = XDeepFM(len(vocab), dim, **kwargs, vocab_sizes=vocab)
    assert count_parameters(model) == expected
    assert teacher_parameters("xdeepfm", len(vocab), dim, **kwargs, vocab_sizes=vocab) == expected


def _model() -> XDeepFM:
    torch.manual_seed(0)
    return XDeepFM(4, 3, [5, 4], [6], vocab_sizes=[3, 4, 5, 6]).double()


def _x() -> torch.Tensor:
    return torch.tensor([[0, 3, 4, 5], [2, 1, 0, 3], [1, 0, 2, 0]])


def test_logit_is_linear_plus_cin_plus_dnn():
    model = _model()
    emb, x = torch.randn(3, 4, 3, dtype=torch.float64), _x()
    w = model.linear.embedding.weight[:, 0]  # (Σ vocab,) one weight per feature value
    first_order = w[x + torch.tensor([0, 3, 7, 12])].sum(-1)  # fields start at rows 0, 3, 7, 12
    hidden = torch.relu(emb.reshape(3, 12) @ model.dnn.hidden[0].weight.T + model.dnn.hidden[0].bias)
    dnn = (hidden @ model.dnn.output.weight.T + model.dnn.output.bias).squeeze(-1)
    with torch.no_grad():
        out = model(emb, x)
        assert out.shape == (3,)
        torch.testing.assert_close(out, first_order + model.cin(emb) + dnn)


def test_first_order_weight_belongs_to_one_value():
    # Changing one field's value moves the logit by exactly the difference of the two values' weights.
    model = _model()
    emb, x = torch.randn(3, 4, 3, dtype=torch.float64), _x()
    changed = x.clone()
    changed[0, 2] = 1  # field 2 of sample 0: value 4 -> 1 (rows 7 + 4 -> 7 + 1)
    with torch.no_grad():
        w = model.linear.embedding.weight[:, 0]
        delta = model(emb, changed) - model(emb, x)
        torch.testing.assert_close(delta, torch.stack([w[8] - w[11], w.new_zeros(()), w.new_zeros(())]))


def test_cin_part_is_the_cin_teacher():
    model = XDeepFM(4, 3, [5, 4], [6], vocab_sizes=[3, 4, 5, 6])
    assert type(model.cin) is CIN and model.cin.layers == [5, 4]
    assert model.takes_indices


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="vocab_sizes"):
        XDeepFM(4, 3, [5], [6], vocab_sizes=[3, 4, 5])
    with pytest.raises(ValueError, match="layers"):
        XDeepFM(4, 3, [], [6], vocab_sizes=[3, 4, 5, 6])
    with pytest.raises(ValueError, match="hidden"):
        XDeepFM(4, 3, [5], [], vocab_sizes=[3, 4, 5, 6])
    with pytest.raises(TypeError, match="vocab_sizes"):
        XDeepFM(4, 3, [5], [6])  # KDDAGFM passes it; built by hand, it must be given
