"""Analytic costs: hand counts and FlopCounterMode (2 FLOPs per multiply-add)."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from models import CIN, DAGFM, KDDAGFM, CrossNet
from models.cost import count_parameters, kd_parameter_counts, student_flops, teacher_flops


def test_hand_counts():
    # F=2, D=3, L=1 inner: connect 2·2·3=12, layer 12, read-out 2·2=4.
    assert student_flops(2, 3, 1, "inner") == 28
    assert student_flops(2, 3, 1, "outer") == 12 + 24 + 4
    assert student_flops(2, 3, 1, "kernel") == 12 + 36 + 4
    # CrossNet F=2, D=3, depth 2: 2·36 + 6.
    assert teacher_flops("crossnet", 2, 3, depth=2) == 78
    # CIN F=2, D=3, [4, 5]: 4·2·2·3 + 5·4·2·3 + 9.
    assert teacher_flops("cin", 2, 3, layers=[4, 5]) == 48 + 120 + 9


def _counted_macs(model: torch.nn.Module, batch: int, fields: int, dim: int) -> int:
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(batch, fields, dim))
    return counter.get_total_flops() // (2 * batch)


@pytest.mark.parametrize("interaction", ["inner", "outer", "kernel"])
def test_student_flops_match_flop_counter(interaction):
    assert _counted_macs(DAGFM(5, 3, 3, interaction), 4, 5, 3) == student_flops(5, 3, 3, interaction)


def test_teacher_flops_match_flop_counter():
    assert _counted_macs(CrossNet(5, 3, 2), 4, 5, 3) == teacher_flops("crossnet", 5, 3, depth=2)
    assert _counted_macs(CIN(5, 3, [7, 6]), 4, 5, 3) == teacher_flops("cin", 5, 3, layers=[7, 6])


def test_teacher_flops_rejects_unknown_names():
    with pytest.raises(ValueError, match="teacher"):
        teacher_flops("dnn", 5, 3)
    with pytest.raises(TypeError, match="layer"):
        teacher_flops("cin", 5, 3, layer=[7])


def test_kd_parameter_counts():
    model = KDDAGFM([3, 4, 5], 2, "crossnet", {"depth": 1}, {"depth": 2, "interaction": "inner"})
    counts = kd_parameter_counts(model)
    assert counts == {
        "embedding": 12 * 2,
        "teacher": 36 + 6 + 7,
        "student": 2 * 9 * 2 + 9 + 9 + 1,
    }
    assert sum(counts.values()) == count_parameters(model)
