"""Strict trial configs: defaults, every problem listed, teacher-conditional keys, hashes, --set parsing."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
import torch

from kdbench import models
from kdbench.bench.config import STUDENT_PHASE_KEYS, TEACHER_KEYS, TEACHERS, TrialConfig, parse_overrides
from kdbench.bench.errors import ConfigError
from kdbench.search_spaces import SearchSpaceError, load_space, parse_space


def test_defaults_are_the_papers_movielens_settings():
    d = TrialConfig().to_dict()
    assert d["teacher"] == "crossnet" and d["t_depth"] == 3 and "t_cin" not in d
    assert (d["interaction"], d["depth"], d["embedding_size"]) == ("outer", 3, 16)
    assert (d["lr"], d["weight_decay"], d["alpha"], d["beta"]) == (3e-3, 1e-6, 0.1, 921.6)
    assert (d["batch_size"], d["patience"], d["seed"]) == (1024, 10, 2022)


def test_every_problem_is_listed_at_once():
    with pytest.raises(ConfigError) as err:
        TrialConfig.from_dict(
            {
                "depht": 3,
                "depth": 0,
                "beta": -1.0,
                "lr": "fast",
                "teacher": "cin",
                "t_cin": [200, 0],
                "interaction": "sideways",
                "batch_size": 2.5,
            }
        )
    msg = str(err.value)
    for fragment in (
        "unknown key 'depht'",
        "depth must be >= 1",
        "beta must be",
        "lr must be of type float",
        "t_cin must be",
        "interaction must be one of",
        "batch_size must be of type int",
    ):
        assert fragment in msg


def test_teacher_keys_are_conditional():
    with pytest.raises(
        ConfigError, match="'t_cin' applies only to teacher 'cin' or 'xdeepfm', not 'crossnet'"
    ):
        TrialConfig.from_dict({"t_cin": [10]})
    with pytest.raises(
        ConfigError, match="'t_depth' applies only to teacher 'crossnet' or 'dcnv2', not 'cin'"
    ):
        TrialConfig.from_dict({"teacher": "cin", "t_depth": 2})
    assert "t_depth" not in TrialConfig.from_dict({"teacher": "cin"}).to_dict()


def test_hash_identifies_the_effective_config():
    a = TrialConfig.from_dict({"lr": 1e-3})
    assert a.config_hash() == TrialConfig.from_dict({"lr": 0.001}).config_hash()
    assert a.config_hash() != TrialConfig.from_dict({"lr": 2e-3}).config_hash()
    other_seed = TrialConfig.from_dict({"lr": 1e-3, "seed": 1})
    assert a.config_hash() != other_seed.config_hash()
    assert a.config_hash(include_seed=False) == other_seed.config_hash(include_seed=False)


def test_round_trip_through_to_dict():
    cfg = TrialConfig.from_dict({"teacher": "cin", "t_cin": [64, 32], "amp": True})
    assert TrialConfig.from_dict(cfg.to_dict()) == cfg


def test_overrides_parse_yaml_values():
    assert parse_overrides(["lr=1e-3", "t_cin=[100, 50]", "finetune=false", "teacher=cin"]) == {
        "lr": 1e-3,
        "t_cin": [100, 50],
        "finetune": False,
        "teacher": "cin",
    }
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["lr"])


def test_problems_name_the_keys_each_problem_concerns():
    values = {"teacher": "crossnet", "t_cin": [200, 0], "alpha": 0, "beta": 0.0, "lr": "fast", "depht": 3}
    problems = TrialConfig.problems(values)
    assert problems == [
        (("lr",), "lr must be of type float, got 'fast'"),
        (("depht",), "unknown key 'depht' (known: " + ", ".join(TrialConfig.__dataclass_fields__) + ")"),
        (("t_cin", "teacher"), "'t_cin' applies only to teacher 'cin' or 'xdeepfm', not 'crossnet'"),
        (("t_cin",), "t_cin must be a non-empty list of layer sizes >= 1, got [200, 0]"),
        (("alpha", "beta"), "alpha and beta are both 0: distillation would have no loss"),
    ]
    with pytest.raises(ConfigError) as err:
        TrialConfig.from_dict(values)
    assert str(err.value) == "invalid trial config: " + "; ".join(message for _, message in problems)
    assert TrialConfig.problems({"teacher": "cin", "t_cin": [64, 64]}) == []


def test_an_int_beyond_any_float_is_a_type_problem_not_a_crash():
    huge = 10**400
    assert TrialConfig.problems({"lr": huge}) == [(("lr",), f"lr must be of type float, got {huge!r}")]
    # An int has no float's limit, but what the store's INTEGER columns and torch's shapes take.
    assert TrialConfig.problems({"max_epochs": huge}) == [
        (("max_epochs",), f"max_epochs must be at most 2147483647 (2**31 - 1), got {huge}")
    ]
    assert TrialConfig.from_dict({"max_epochs": 2**31 - 1}).max_epochs == 2**31 - 1


def test_a_seed_is_what_torch_numpy_and_the_store_take():
    assert TrialConfig.from_dict({"seed": 2**62 - 1}).seed == 2**62 - 1
    for seed in (-1, 2**62, 2**63, 9223372036854775808):
        (problem,) = TrialConfig.problems({"seed": seed})
        assert problem == (
            ("seed",),
            f"seed must be an integer from 0 to 2**62 - 1 (4611686018427387903), got {seed}",
        )


# ---- the teachers people deploy, and KD-DAGFM+ ---------------------------------------------------------
# One real value of every teacher key, different from its default (to_dict must keep exactly these).
KEY_VALUES = {
    "t_depth": 4,
    "t_cin": [100, 50],
    "t_hidden": [256, 128],
    "t_dropout": 0.2,
    "t_structure": "stacked",
    "t_low_rank": 16,
    "t_attention_layers": 2,
    "t_heads": 4,
    "t_attention_dim": 64,
}


def test_the_config_knows_every_teacher_of_the_model_registry():
    assert set(TEACHERS) == set(models.TEACHERS) == set(TEACHER_KEYS)
    assert set(KEY_VALUES) == {key for keys in TEACHER_KEYS.values() for key in keys}


@pytest.mark.parametrize("teacher", TEACHERS)
def test_each_teacher_takes_its_keys_and_refuses_the_others_naming_them(teacher):
    own = {key: KEY_VALUES[key] for key in TEACHER_KEYS[teacher]}
    cfg = TrialConfig.from_dict({"teacher": teacher, **own})
    teacher_keys = [key for key in cfg.to_dict() if key.startswith("t_")]
    assert sorted(teacher_keys) == sorted(TEACHER_KEYS[teacher]) and {k: cfg.to_dict()[k] for k in own} == own
    for key in sorted(set(KEY_VALUES) - set(TEACHER_KEYS[teacher])):
        owners = [t for t, keys in TEACHER_KEYS.items() if key in keys]
        problems = TrialConfig.problems({"teacher": teacher, key: KEY_VALUES[key]})
        assert problems == [
            ((key, "teacher"), f"{key!r} applies only to teacher {_either(owners)}, not {teacher!r}")
        ], key


def _either(names):
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def test_t_hidden_defaults_to_the_teachers_own_and_resolves_in_to_dict():
    for teacher in ("dnn", "dcnv2", "xdeepfm"):
        cfg = TrialConfig.from_dict({"teacher": teacher})
        assert cfg.to_dict()["t_hidden"] == [400, 400, 400]
        written_out = TrialConfig.from_dict({"teacher": teacher, "t_hidden": [400, 400, 400]})
        assert written_out == cfg and written_out.config_hash() == cfg.config_hash()
    plain = TrialConfig.from_dict({"teacher": "autoint"})
    assert plain.to_dict()["t_hidden"] == [] and plain.teacher_kwargs()["hidden"] == []
    plus = TrialConfig.from_dict({"teacher": "autoint", "t_hidden": [256, 256]})  # AutoInt+
    assert plus.teacher_kwargs()["hidden"] == [256, 256] and plus.config_hash() != plain.config_hash()
    assert "t_hidden" not in TrialConfig().to_dict()


@pytest.mark.parametrize("teacher", TEACHERS)
def test_round_trip_of_every_teacher(teacher):
    own = {key: KEY_VALUES[key] for key in TEACHER_KEYS[teacher]}
    for values in ({"teacher": teacher}, {"teacher": teacher, **own, "student_mlp": [64, 32]}):
        cfg = TrialConfig.from_dict(values)
        again = TrialConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
        assert again == cfg and again.config_hash() == cfg.config_hash()


def test_new_keys_are_strictly_typed_and_ranged():
    values = {
        "teacher": "autoint",
        "t_hidden": "400,400",
        "t_dropout": 1.0,
        "t_attention_layers": 0,
        "t_heads": 4,
        "t_attention_dim": 30,
        "student_mlp": [64, 0],
    }
    assert TrialConfig.problems(values) == [
        (("t_hidden",), "t_hidden must be of type list of int, got '400,400'"),
        (("t_dropout",), "t_dropout must be a number in [0, 1), got 1.0"),
        (("t_attention_layers",), "t_attention_layers must be >= 1, got 0"),
        (("t_attention_dim", "t_heads"), "t_attention_dim 30 must be divisible by t_heads 4"),
        (("student_mlp",), "student_mlp must be a list of layer sizes >= 1, got [64, 0]"),
    ]
    dcn = {"teacher": "dcnv2", "t_structure": "diagonal", "t_low_rank": -1, "t_hidden": [], "t_dropout": -0.1}
    assert TrialConfig.problems(dcn) == [
        (("t_hidden",), "t_hidden must be a non-empty list of layer sizes >= 1, got []"),
        (("t_dropout",), "t_dropout must be a number in [0, 1), got -0.1"),
        (("t_structure",), "t_structure must be one of ('stacked', 'parallel'), got 'diagonal'"),
        (("t_low_rank",), "t_low_rank must be >= 0 (0: full rank), got -1"),
    ]
    for bad in ({"student_mlp": None}, {"student_mlp": [64.0]}, {"teacher": "dnn", "t_hidden": None}):
        ((_, message),) = TrialConfig.problems(bad)
        assert "must be of type list of int" in message, bad
    assert TrialConfig.problems({"teacher": "autoint", "t_heads": 0})[0] == (
        ("t_heads",),
        "t_heads must be >= 1, got 0",
    )
    assert TrialConfig.problems({"teacher": "dnn", "t_dropout": float("nan")})  # NaN is no dropout rate
    assert TrialConfig.problems({"teacher": "autoint", "t_hidden": []}) == []


def test_kwargs_are_the_contracts_constructor_arguments():
    def kwargs(**values):
        return TrialConfig.from_dict(values).teacher_kwargs()

    assert kwargs(teacher="crossnet", t_depth=2) == {"depth": 2}
    assert kwargs(teacher="cin", t_cin=[64, 32]) == {"layers": [64, 32]}
    assert kwargs(teacher="dnn", t_dropout=0.1) == {"hidden": [400, 400, 400], "dropout": 0.1}
    assert kwargs(teacher="dcnv2", t_depth=2, t_hidden=[64], t_structure="stacked", t_low_rank=8) == {
        "depth": 2, "hidden": [64], "structure": "stacked", "low_rank": 8, "dropout": 0.0,
    }  # fmt: skip
    assert kwargs(teacher="xdeepfm", t_cin=[16]) == {
        "layers": [16],
        "hidden": [400, 400, 400],
        "dropout": 0.0,
    }
    assert kwargs(teacher="autoint") == {
        "attention_layers": 3, "heads": 2, "attention_dim": 32, "hidden": [], "dropout": 0.0,
    }  # fmt: skip
    assert TrialConfig().student_kwargs() == {"depth": 3, "interaction": "outer", "mlp": []}
    assert TrialConfig.from_dict({"student_mlp": [64, 64]}).student_kwargs()["mlp"] == [64, 64]


# The smoke suite's case config family as bench/baselines/smoke.json recorded it before student_mlp and
# embedding_init_std existed (the file itself is refreshed when the suite's figures move).
SMOKE_FAMILY_BEFORE_NEW_KEYS = "ed292c0e37dee006"


def test_plain_dagfm_configs_keep_the_hashes_they_had_before_dagfm_plus():
    baseline = json.loads((Path(__file__).parents[2] / "bench/baselines/smoke.json").read_text())
    (case,) = baseline["measurement"]["cases"]
    cfg = TrialConfig.from_dict(case["config"])
    assert cfg.config_hash(include_seed=False) == case["config_family"] == SMOKE_FAMILY_BEFORE_NEW_KEYS
    assert cfg.to_dict()["student_mlp"] == []
    plus = TrialConfig.from_dict({**case["config"], "student_mlp": [64, 64]})
    assert plus.config_hash(include_seed=False) != case["config_family"]


def test_student_phase_keys_are_config_keys_the_teacher_never_reads():
    fields = set(TrialConfig.__dataclass_fields__)
    assert set(STUDENT_PHASE_KEYS) <= fields
    assert not set(STUDENT_PHASE_KEYS) & {key for keys in TEACHER_KEYS.values() for key in keys}


def test_the_space_check_refuses_heads_that_do_not_divide_the_attention_size():
    text = """\
params:
  teacher: {choices: [crossnet, autoint]}
  t_heads: {choices: [2, 3], when: {teacher: autoint}}
  t_attention_dim: {choices: [32, 48], when: {teacher: autoint}}
"""
    with pytest.raises(SearchSpaceError, match=r"t_attention_dim 32 must be divisible by t_heads 3"):
        parse_space(text, source="heads.yaml", check=TrialConfig.problems)
    fine = text.replace("[2, 3]", "[2, 4]").replace("[32, 48]", "[32, 64]")
    parse_space(fine, source="heads.yaml", check=TrialConfig.problems)


def test_every_sample_of_the_default_space_is_a_config_whose_model_builds():
    space = load_space(
        "default", known_keys=list(TrialConfig.__dataclass_fields__), check=TrialConfig.problems
    )
    samples = space.sample(120, seed=3)
    assert {s["teacher"] for s in samples} == set(TEACHERS)
    assert {len(s["student_mlp"]) > 0 for s in samples} == {True, False}
    vocab = [944, 1683, 8, 25, 62, 3, 22, 796, 72]  # ml-100k's fields
    x = torch.tensor([[1, 2, 3, 4, 5, 1, 2, 3, 4], [0, 0, 0, 0, 0, 0, 0, 0, 0]])
    for values in samples:
        cfg = TrialConfig.from_dict(values)
        model = models.KDDAGFM(
            vocab, cfg.embedding_size, cfg.teacher, cfg.teacher_kwargs(), cfg.student_kwargs()
        )
        with torch.no_grad():
            for phase in ("teacher_training", "finetuning"):
                assert model.predict(x, phase).shape == (2,), (phase, values)


def test_docs_model_md_says_what_every_config_key_does() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "model.md").read_text(encoding="utf-8")
    section = text.split("## What each config key does", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| (`[^|]+`) \|", section, re.M))
    keys = {k.strip("` ") for cell in documented for k in cell.split(",")}
    assert keys == {f.name for f in dataclasses.fields(TrialConfig)}


def test_the_embedding_init_is_opt_in_and_leaves_older_hashes_alone():
    baseline = json.loads((Path(__file__).parents[2] / "bench/baselines/smoke.json").read_text())
    (case,) = baseline["measurement"]["cases"]
    cfg = TrialConfig.from_dict(case["config"])
    assert cfg.embedding_init_std is None and cfg.to_dict()["embedding_init_std"] is None
    assert cfg.config_hash(include_seed=False) == SMOKE_FAMILY_BEFORE_NEW_KEYS
    assert TrialConfig.from_dict({**case["config"], "embedding_init_std": None}) == cfg  # null is the default
    fuxictr = TrialConfig.from_dict({**case["config"], "embedding_init_std": 1e-4})
    assert fuxictr.config_hash(include_seed=False) != SMOKE_FAMILY_BEFORE_NEW_KEYS
    assert TrialConfig.from_dict(fuxictr.to_dict()) == fuxictr
    assert parse_overrides(["embedding_init_std=1e-4"]) == {"embedding_init_std": 1e-4}
    for bad, shown in ((0, "0.0"), (-0.01, "-0.01"), (2, "2.0"), (float("nan"), "nan")):
        assert TrialConfig.problems({"embedding_init_std": bad}) == [
            (("embedding_init_std",), f"embedding_init_std must be in (0, 1] or null (xavier), got {shown}")
        ]
    assert TrialConfig.problems({"embedding_init_std": "small"}) == [
        (("embedding_init_std",), "embedding_init_std must be of type float, got 'small'")
    ]
