"""FieldEmbedding: one table, per-field offsets, shapes."""

import pytest
import torch
from torch import nn

from kdbench.models import FieldEmbedding


def test_shape_and_single_table():
    emb = FieldEmbedding([3, 5, 2], 4)
    x = torch.tensor([[0, 4, 1], [2, 0, 0]])
    out = emb(x)
    assert out.shape == (2, 3, 4)
    tables = [m for m in emb.modules() if isinstance(m, nn.Embedding)]
    assert len(tables) == 1 and tables[0].num_embeddings == 10


def test_fields_read_their_own_rows():
    emb = FieldEmbedding([3, 5, 2], 4)
    x = torch.tensor([[1, 1, 1]])
    w = emb.embedding.weight
    # The same local index in different fields must hit different rows: offsets 0, 3, 8.
    torch.testing.assert_close(emb(x)[0], torch.stack([w[1], w[4], w[9]]))
    assert not torch.equal(emb(x)[0, 0], emb(x)[0, 1])


def test_offsets_are_a_buffer_that_follows_to():
    emb = FieldEmbedding([3, 5], 4)
    assert "offsets" in dict(emb.named_buffers())
    assert all(p is not emb.offsets for p in emb.parameters())
    emb = emb.to(torch.float64)
    assert emb.offsets.dtype == torch.long  # integer buffers keep their dtype
    assert emb(torch.tensor([[2, 4]])).dtype == torch.float64


def test_xavier_init_scale():
    torch.manual_seed(0)
    emb = FieldEmbedding([5000, 5000], 16)
    expected = (2.0 / (10000 + 16)) ** 0.5
    assert abs(emb.embedding.weight.std().item() - expected) / expected < 0.05


@pytest.mark.parametrize("vocab", [[], [3, 0]])
def test_invalid_vocab_raises(vocab):
    with pytest.raises(ValueError, match="vocab_sizes"):
        FieldEmbedding(vocab, 4)


def test_a_normal_init_std_replaces_xavier_and_draws_the_same_random_numbers():
    torch.manual_seed(0)
    xavier = FieldEmbedding([5000, 5000], 16)
    after_xavier = torch.rand(3)
    torch.manual_seed(0)
    small = FieldEmbedding([5000, 5000], 16, init_std=1e-4)
    after_small = torch.rand(3)
    assert abs(small.embedding.weight.std().item() - 1e-4) / 1e-4 < 0.05
    assert xavier.embedding.weight.std().item() > 100 * small.embedding.weight.std().item()
    # The same draws, scaled: whatever is initialised after the table (teacher, student) is unchanged.
    ratio = small.embedding.weight / xavier.embedding.weight
    assert torch.allclose(ratio, ratio.flatten()[0].expand_as(ratio))
    assert torch.equal(after_xavier, after_small)
    with pytest.raises(ValueError, match="init_std must be positive"):
        FieldEmbedding([5, 5], 4, init_std=0.0)
