"""DAGFM: parameter counts, einsums against explicit loops, the DAG mask."""

import pytest
import torch

from kdbench.models import DAGFM
from kdbench.models.cost import count_parameters


@pytest.mark.parametrize(
    ("fields", "dim", "depth", "interaction", "expected"),
    [
        (39, 16, 3, "outer", 147_694),
        (23, 16, 3, "inner", 26_014),
        (5, 3, 2, "kernel", 2 * 25 * 9 + 25 + 15 + 1),  # L·F²·D² + F² + F(L+1) + 1
    ],
)
def test_parameter_count(fields, dim, depth, interaction, expected):
    assert count_parameters(DAGFM(fields, dim, depth, interaction)) == expected


def _randomise(model: DAGFM) -> None:
    # Non-identity connect layer and non-zero below-diagonal weights, so the mask has something to hide.
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.5)


def _loop_reference(model: DAGFM, emb: torch.Tensor) -> torch.Tensor:
    """Slow explicit version of the spec: loop over samples, nodes s and predecessors f <= s."""
    b_n, f_n, d_n = emb.shape
    logits = []
    for b in range(b_n):
        h0 = torch.stack([sum(model.connect_layer[s, f] * emb[b, f] for f in range(f_n)) for s in range(f_n)])
        h, pooled = h0, [h0.sum(-1)]
        for layer in range(model.depth):
            p = model.p[layer]
            new = []
            for s in range(f_n):
                acc = torch.zeros(d_n, dtype=emb.dtype)
                for f in range(s + 1):
                    if model.interaction == "inner":
                        acc = acc + p[f, s] * h[f]
                    elif model.interaction == "outer":
                        acc = acc + torch.dot(h[f], p[f, s]) * model.q[layer][f, s]
                    else:
                        acc = acc + p[f, s] @ h[f]
                new.append(h0[s] * acc)
            h = torch.stack(new)
            pooled.append(h.sum(-1))
        logits.append(model.linear(torch.cat(pooled)))
    return torch.cat(logits)


@pytest.mark.parametrize("interaction", ["inner", "outer", "kernel"])
def test_einsum_matches_loop(interaction):
    torch.manual_seed(0)
    model = DAGFM(5, 3, 2, interaction).double()
    _randomise(model)
    emb = torch.randn(4, 5, 3, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(emb), _loop_reference(model, emb))


@pytest.mark.parametrize("interaction", ["inner", "outer", "kernel"])
def test_layer1_node_ignores_later_fields(interaction):
    torch.manual_seed(0)
    model = DAGFM(6, 4, 2, interaction)  # identity connect layer: h0 = E, so the DAG is visible in E
    emb = torch.randn(3, 6, 4, requires_grad=True)
    s = 2
    model.hidden_states(emb)[1][:, s].sum().backward()
    grad = emb.grad.abs().sum(dim=(0, 2))
    assert torch.all(grad[s + 1 :] == 0)
    assert torch.all(grad[: s + 1] > 0)


def test_mask_is_upper_triangular_buffer_that_follows_to():
    model = DAGFM(4, 3, 1, "inner")
    torch.testing.assert_close(model.mask, torch.triu(torch.ones(4, 4)))
    assert "mask" in dict(model.named_buffers())
    assert "mask" not in dict(model.named_parameters())
    assert not model.mask.requires_grad
    assert model.to(torch.float64).mask.dtype == torch.float64
    assert model.to("meta").mask.device.type == "meta"


def test_init():
    torch.manual_seed(0)
    model = DAGFM(20, 16, 2, "outer")
    torch.testing.assert_close(model.connect_layer, torch.eye(20))
    expected = 1.414 * (2.0 / (2 * 20 * 16)) ** 0.5  # xavier-normal on (F, F, D), gain 1.414
    edges = torch.triu(torch.ones(20, 20, dtype=torch.bool))
    assert abs(model.p[0][edges].std().item() - expected) / expected < 0.05
    assert torch.count_nonzero(model.p[0][~edges]) == 0  # non-edges start (and stay) at zero


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="interaction"):
        DAGFM(4, 3, 2, "dot")
    with pytest.raises(ValueError, match="depth"):
        DAGFM(4, 3, 0, "inner")


@pytest.mark.parametrize("interaction", ["inner", "outer", "kernel"])
def test_non_edges_stay_exactly_zero_under_weight_decay(interaction):
    # Non-edges never reach the output; left non-zero, weight decay shrinks them into subnormal floats that
    # make every CPU op on them many times slower. They start at zero and must stay there through training.
    torch.manual_seed(0)
    model = DAGFM(5, 4, depth=2, interaction=interaction)
    below = ~torch.triu(torch.ones(5, 5, dtype=torch.bool))  # f > s: no edge
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
    for _ in range(30):
        optimizer.zero_grad()
        model(torch.randn(16, 5, 4)).square().mean().backward()
        optimizer.step()
    for p in (*model.p, *model.q):
        assert torch.count_nonzero(p[below]) == 0
        assert torch.count_nonzero(p[~below]) == p[~below].numel()  # the edges do train


# KD-DAGFM+: the MLP branch.

PLAIN_NAMES = ["connect_layer", "p.0", "p.1", "p.2", "q.0", "q.1", "q.2", "linear.weight", "linear.bias"]


@pytest.mark.parametrize("empty", [[], ()])
def test_empty_mlp_is_exactly_the_plain_dagfm(empty):
    # Names, count, seeded init and logits of the plain DAGFM (docs/model.md's count and the explicit loop),
    # so stored checkpoints and results stay valid.
    torch.manual_seed(0)
    plain = DAGFM(39, 16, 3, "outer")
    torch.manual_seed(0)
    model = DAGFM(39, 16, 3, "outer", mlp=empty)
    assert model.mlp is None
    assert [n for n, _ in model.named_parameters()] == PLAIN_NAMES
    assert count_parameters(model) == 147_694
    for (_, a), (_, b) in zip(plain.state_dict().items(), model.state_dict().items(), strict=True):
        assert torch.equal(a, b)
    emb = torch.randn(32, 39, 16)
    with torch.no_grad():
        assert torch.equal(model(emb), plain(emb))
    small = DAGFM(5, 3, 2, "outer", mlp=empty).double()
    _randomise(small)
    emb = torch.randn(4, 5, 3, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(small(emb), _loop_reference(small, emb))


@pytest.mark.parametrize(
    ("fields", "dim", "depth", "interaction", "mlp", "expected"),
    [
        # 147,694 (the plain DAGFM) + 625·256 + 257·128 + 129 (MLP 624 -> 256 -> 128 -> 1).
        (39, 16, 3, "outer", [256, 128], 340_719),
        # 26,014 + 369·64 + 65 (MLP 368 -> 64 -> 1).
        (23, 16, 3, "inner", [64], 49_695),
    ],
)
def test_mlp_parameter_count(fields, dim, depth, interaction, mlp, expected):
    assert count_parameters(DAGFM(fields, dim, depth, interaction, mlp=mlp)) == expected


@pytest.mark.parametrize("interaction", ["inner", "outer", "kernel"])
def test_mlp_logit_is_dagfm_plus_mlp(interaction):
    # Built after the DAGFM weights: the same seed gives the same DAGFM part, and the MLP's logit adds on.
    torch.manual_seed(0)
    plain = DAGFM(5, 3, 2, interaction).double()
    torch.manual_seed(0)
    plus = DAGFM(5, 3, 2, interaction, mlp=[6, 4]).double()
    plus_state = plus.state_dict()
    for name, value in plain.state_dict().items():
        assert torch.equal(plus_state[name], value), name
    emb = torch.randn(7, 5, 3, dtype=torch.float64)
    h = emb.reshape(7, 15)
    for layer in plus.mlp.hidden:
        h = torch.relu(h @ layer.weight.T + layer.bias)
    mlp_logit = (h @ plus.mlp.output.weight.T + plus.mlp.output.bias).squeeze(-1)
    with torch.no_grad():
        torch.testing.assert_close(plus(emb), plain(emb) + mlp_logit)
        assert not torch.allclose(plus(emb), plain(emb))


def test_invalid_mlp_raises():
    with pytest.raises(ValueError, match="mlp"):
        DAGFM(4, 3, 2, "inner", mlp=[0])
