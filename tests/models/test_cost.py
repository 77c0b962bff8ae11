"""Analytic costs: hand counts and FlopCounterMode (2 FLOPs per multiply-add)."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from kdbench.models import CIN, DAGFM, KDDAGFM, TEACHERS, CrossNet
from kdbench.models.cost import (
    count_parameters,
    kd_parameter_counts,
    student_flops,
    student_parameters,
    teacher_flops,
    teacher_parameters,
)


def test_hand_counts():
    # F=2, D=3, L=1 inner: connect 2·2·3=12, layer 12, read-out 2·2=4.
    assert student_flops(2, 3, 1, "inner") == 28
    assert student_flops(2, 3, 1, "outer") == 12 + 24 + 4
    assert student_flops(2, 3, 1, "kernel") == 12 + 36 + 4
    # CrossNet F=2, D=3, depth 2: 2·36 + 6.
    assert teacher_flops("crossnet", 2, 3, depth=2) == 78
    # CIN F=2, D=3, [4, 5]: 4·2·2·3 + 5·4·2·3 + 9.
    assert teacher_flops("cin", 2, 3, layers=[4, 5]) == 48 + 120 + 9
    # n = F·D = 6 below. DNN [4, 5]: 6·4 + 4·5 + 5.
    assert teacher_flops("dnn", 2, 3, hidden=[4, 5]) == 49
    # DCN-V2 depth 2, [4]: cross 2·36, DNN 6·4, read-out parallel 6 + 4 / stacked 4; rank 2: cross 2·2·6·2.
    assert teacher_flops("dcnv2", 2, 3, depth=2, hidden=[4]) == 72 + 24 + 10
    assert teacher_flops("dcnv2", 2, 3, depth=2, hidden=[4], structure="stacked", low_rank=2) == 48 + 24 + 4
    # xDeepFM: CIN [4, 5] (177) + DNN 6·4 + 4 (the linear term is a gather).
    assert teacher_flops("xdeepfm", 2, 3, layers=[4, 5], hidden=[4]) == 177 + 28
    # AutoInt 1 layer, A = 4: 4·2·3·4 + 2·2²·4 + read-out 2·4; AutoInt+ [4] adds 6·4 + 4.
    assert teacher_flops("autoint", 2, 3, attention_layers=1, heads=2, attention_dim=4) == 96 + 32 + 8
    assert teacher_flops("autoint", 2, 3, attention_layers=1, attention_dim=4, hidden=[4]) == 136 + 28
    # DAGFM+ mlp [4]: + 6·4 + 4.
    assert student_flops(2, 3, 1, "inner", mlp=[4]) == 28 + 28


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


# Two configurations per new teacher (F=5, D=3 and F=9, D=4; both DCN-V2 structures, full and low rank,
# AutoInt and AutoInt+), with dropout set where the teacher has it: it must not change the count.
NEW_TEACHER_CONFIGS = [
    ("dnn", 5, 3, {"hidden": [7, 6]}),
    ("dnn", 9, 4, {"hidden": [16, 8, 4], "dropout": 0.3}),
    ("dcnv2", 5, 3, {"depth": 2, "hidden": [7, 6], "structure": "parallel"}),
    ("dcnv2", 9, 4, {"depth": 3, "hidden": [16], "structure": "stacked", "low_rank": 5, "dropout": 0.3}),
    ("xdeepfm", 5, 3, {"layers": [7, 6], "hidden": [8]}),
    ("xdeepfm", 9, 4, {"layers": [4, 4, 4], "hidden": [16, 8], "dropout": 0.3}),
    ("autoint", 5, 3, {"attention_layers": 2, "heads": 2, "attention_dim": 6}),
    (
        "autoint",
        9,
        4,
        {"attention_layers": 3, "heads": 4, "attention_dim": 8, "hidden": [16, 8], "dropout": 0.3},
    ),
]


def _build(teacher: str, fields: int, dim: int, kwargs: dict) -> torch.nn.Module:
    extra = {"vocab_sizes": [7] * fields} if teacher == "xdeepfm" else {}
    return TEACHERS[teacher](fields, dim, **kwargs, **extra).eval()


@pytest.mark.parametrize(("teacher", "fields", "dim", "kwargs"), NEW_TEACHER_CONFIGS)
def test_new_teacher_flops_match_flop_counter(teacher, fields, dim, kwargs):
    model, batch = _build(teacher, fields, dim, kwargs), 4
    emb = torch.randn(batch, fields, dim)
    args = (emb, torch.randint(0, 7, (batch, fields))) if teacher == "xdeepfm" else (emb,)
    with FlopCounterMode(display=False) as counter:
        model(*args)
    assert counter.get_total_flops() // (2 * batch) == teacher_flops(teacher, fields, dim, **kwargs)


@pytest.mark.parametrize(("teacher", "fields", "dim", "kwargs"), NEW_TEACHER_CONFIGS)
def test_teacher_parameters_match_the_module(teacher, fields, dim, kwargs):
    extra = {"vocab_sizes": [7] * fields} if teacher == "xdeepfm" else {}
    built = count_parameters(_build(teacher, fields, dim, kwargs))
    assert teacher_parameters(teacher, fields, dim, **kwargs, **extra) == built


@pytest.mark.parametrize(("mlp", "interaction"), [([8], "inner"), ([16, 8, 4], "outer"), ([6], "kernel")])
def test_student_mlp_cost_matches_module_and_flop_counter(mlp, interaction):
    model = DAGFM(5, 3, 3, interaction, mlp=mlp)
    assert _counted_macs(model, 4, 5, 3) == student_flops(5, 3, 3, interaction, mlp=mlp)
    assert count_parameters(model) == student_parameters(5, 3, 3, interaction, mlp=mlp)
    plain = student_parameters(5, 3, 3, interaction)
    assert plain == count_parameters(DAGFM(5, 3, 3, interaction))
    assert student_parameters(5, 3, 3, interaction, mlp=mlp) > plain


def test_teacher_flops_rejects_unknown_names():
    with pytest.raises(ValueError, match="teacher"):
        teacher_flops("deepfm", 5, 3)
    with pytest.raises(ValueError, match="teacher"):
        teacher_parameters("deepfm", 5, 3)
    with pytest.raises(TypeError, match="layer"):
        teacher_flops("cin", 5, 3, layer=[7])
    with pytest.raises(TypeError, match="hiden"):
        teacher_flops("dcnv2", 5, 3, hiden=[7])
    with pytest.raises(ValueError, match="structure"):
        teacher_flops("dcnv2", 5, 3, structure="serial")
    with pytest.raises(ValueError, match="interaction"):
        student_flops(5, 3, 2, "dot")


def test_parameter_formulas_reproduce_the_spec():
    # docs/model.md: CrossNet F=39, D=16, depth 3; CIN F=23, D=16, [200]*3; DAGFM outer / inner.
    assert teacher_parameters("crossnet", 39, 16, depth=3) == 1_170_625
    assert teacher_parameters("cin", 23, 16, layers=[200, 200, 200]) == 1_947_000
    assert student_parameters(39, 16, 3, "outer") == 147_694
    assert student_parameters(23, 16, 3, "inner") == 26_014
    # DAGFM+ 624 -> 256 -> 128 -> 1: + 625·256 + 257·128 + 129.
    assert student_parameters(39, 16, 3, "outer", mlp=[256, 128]) == 340_719


def test_kd_parameter_counts():
    model = KDDAGFM([3, 4, 5], 2, "crossnet", {"depth": 1}, {"depth": 2, "interaction": "inner"})
    counts = kd_parameter_counts(model)
    assert counts == {
        "embedding": 12 * 2,
        "teacher": 36 + 6 + 7,
        "student": 2 * 9 * 2 + 9 + 9 + 1,
    }
    assert sum(counts.values()) == count_parameters(model)
