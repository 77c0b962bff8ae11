"""Strict trial configs: defaults, every problem listed, teacher-conditional keys, hashes, --set parsing."""

from __future__ import annotations

import pytest

from bench.config import TrialConfig, parse_overrides
from bench.errors import ConfigError


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
    with pytest.raises(ConfigError, match="'t_cin' applies only to teacher 'cin'"):
        TrialConfig.from_dict({"t_cin": [10]})
    with pytest.raises(ConfigError, match="'t_depth' applies only to teacher 'crossnet'"):
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
        (("t_cin", "teacher"), "'t_cin' applies only to teacher 'cin', not 'crossnet'"),
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
    assert TrialConfig.from_dict({"max_epochs": huge}).max_epochs == huge  # ints have no such limit
