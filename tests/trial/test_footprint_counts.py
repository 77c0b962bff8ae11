"""The memory check counts every teacher's and student's parameters exactly, from the models' formulas."""

from __future__ import annotations

import pytest

from kdbench.bench.config import TrialConfig
from kdbench.bench.trial import trial_bytes
from kdbench.models import KDDAGFM
from kdbench.models.cost import count_parameters

VOCAB = [944, 1683, 3, 22, 8, 7, 22, 1683, 19]  # ml-100k's fields as prepared


@pytest.mark.parametrize(
    "overrides",
    [
        {"teacher": "crossnet", "t_depth": 2, "interaction": "kernel"},
        {"teacher": "cin", "t_cin": [8, 4]},
        {"teacher": "dnn", "t_hidden": [32, 16], "student_mlp": [24, 12]},
        {"teacher": "dcnv2", "t_hidden": [16], "t_structure": "stacked", "t_low_rank": 4},
        {"teacher": "dcnv2", "t_hidden": [16], "t_structure": "parallel"},
        {"teacher": "xdeepfm", "t_cin": [6, 6], "t_hidden": [16], "interaction": "inner"},
        {"teacher": "autoint", "t_attention_layers": 2, "t_heads": 2, "t_attention_dim": 8, "t_hidden": [16]},
        {"teacher": "autoint", "embedding_size": 6, "depth": 1},
    ],
)
def test_the_estimate_holds_exactly_the_built_models_parameters(overrides) -> None:
    cfg = TrialConfig.from_dict(overrides)
    model = KDDAGFM(VOCAB, cfg.embedding_size, cfg.teacher, cfg.teacher_kwargs(), cfg.student_kwargs())
    batch = cfg.batch_size * len(VOCAB) * cfg.embedding_size * 4
    layers = 1 + cfg.depth + max(cfg.t_depth, len(cfg.t_cin))
    assert trial_bytes(cfg, VOCAB) == count_parameters(model) * 16 + batch * layers


def test_a_vocabulary_too_large_to_allocate_is_still_counted() -> None:
    cfg = TrialConfig.from_dict({"embedding_size": 64})
    assert trial_bytes(cfg, [2**62] * 3) > 2**62 * 3 * 64 * 16
