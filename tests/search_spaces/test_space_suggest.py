"""The define-by-run function: branches, Optuna names, list choices, determinism."""

from __future__ import annotations

import json
import textwrap

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kdbench.bench.config import TEACHER_KEYS  # tests may import bench; the search_spaces package never does
from kdbench.search_spaces import available_spaces, load_space, parse_space

TEACHER_ONLY = {key for keys in TEACHER_KEYS.values() for key in keys}

NESTED = textwrap.dedent(
    """\
    name: nested
    fixed: {seed: 7}
    params:
      teacher: {choices: [crossnet, cin]}
      t_depth: {int: [1, 3], when: {teacher: crossnet}}
      t_cin: {choices: [[8], [16, 16], [4, 4, 4]], when: {teacher: cin}}
      wide: {choices: [true, false], when: {t_depth: {in: [2, 3]}}}
      depth:
        - {int: [1, 2], when: {teacher: crossnet}}
        - {int: [3, 5], step: 2, when: {teacher: cin}}
      alpha: {float: [0.01, 1.0], log: true}
      beta: {float: [0.0, 1.0], step: 0.25}
      amp: {value: true, when: {t_cin: [16, 16]}}
    """
)


def _branch_ok(config: dict) -> None:
    """A config holds only its own teacher's keys (quick leaves DCN-V2's to the trial-config defaults)."""
    assert set(config) & TEACHER_ONLY <= set(TEACHER_KEYS[config["teacher"]]), config
    if config["teacher"] == "crossnet":
        assert "t_depth" in config


def _teachers(space) -> set[str]:
    (teacher,) = [p for p in space.params if p.key == "teacher"]
    return set(teacher.choices)


@pytest.mark.parametrize("name", available_spaces())
def test_branches_never_mix_in_random_samples(name: str) -> None:
    space = load_space(name)
    configs = space.sample(200, seed=1)
    for config in configs:
        _branch_ok(config)
    assert {c["teacher"] for c in configs} == _teachers(space)


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.parametrize("group", [False, True], ids=["independent", "multivariate-group"])
@pytest.mark.parametrize("name", ["quick", "default"])
def test_branches_never_mix_under_tpe(name: str, group: bool) -> None:
    space = load_space(name)
    sampler = optuna.samplers.TPESampler(seed=0, n_startup_trials=5, multivariate=group, group=group)
    study = optuna.create_study(sampler=sampler)
    seen: list[dict] = []

    def objective(trial: optuna.Trial) -> float:
        config = space.suggest(trial)
        _branch_ok(config)
        seen.append(config)
        size = config.get("t_depth") or len(config.get("t_cin", config.get("t_hidden", [])))
        return config["alpha"] + size / 10

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study.optimize(objective, n_trials=30)
    finally:
        optuna.logging.set_verbosity(verbosity)
    assert len({c["teacher"] for c in seen}) >= 2
    for trial in study.trials:
        # Optuna stores the branch-qualified names, and only the active branch's.
        teacher = trial.params["teacher"]
        for name in trial.params:
            key, _, branch = name.partition("|")
            if key in TEACHER_ONLY:
                assert branch == f"teacher={teacher}" and key in TEACHER_KEYS[teacher], name
        if teacher == "crossnet" and name == "default":  # quick fixes it (value: 3), so Optuna never sees it
            assert "t_depth|teacher=crossnet" in trial.params
        if teacher == "cin":
            assert trial.params["t_cin|teacher=cin"] in {
                "32-32",
                "64-64",
                "100-100",
                "200-200",
                "200-200-200",
                "400-400-400",
            }
        assert set(trial.distributions.items()) <= set(space.optuna_distributions().items())


def test_nested_conditions_and_variants() -> None:
    space = parse_space(NESTED)
    configs = space.sample(300, seed=3)
    for c in configs:
        assert c["seed"] == 7
        if c["teacher"] == "crossnet":
            assert set(c) >= {"t_depth", "depth"} and "t_cin" not in c and "amp" not in c
            assert 1 <= c["depth"] <= 2
            assert ("wide" in c) == (c["t_depth"] >= 2)
        else:
            assert "t_depth" not in c and "wide" not in c
            assert c["depth"] in (3, 5)
            assert c["t_cin"] in ([8], [16, 16], [4, 4, 4])
            assert ("amp" in c) == (c["t_cin"] == [16, 16])
        assert c["beta"] in (0.0, 0.25, 0.5, 0.75, 1.0)
        assert 0.01 <= c["alpha"] <= 1.0
    assert space.optuna_names() == {
        "teacher": "teacher",
        "t_depth|teacher=crossnet": "t_depth",
        "t_cin|teacher=cin": "t_cin",
        "wide|t_depth=2/3": "wide",
        "depth|teacher=crossnet": "depth",
        "depth|teacher=cin": "depth",
        "alpha": "alpha",
        "beta": "beta",
    }
    # Parents come before children whatever the file order.
    order = [p.key for p in space.params]
    assert order.index("t_depth") < order.index("wide")


def test_children_may_precede_parents_in_the_file() -> None:
    space = parse_space(
        "params:\n  t_depth: {int: [1, 3], when: {teacher: crossnet}}\n  teacher: {choices: [crossnet]}\n"
    )
    assert [p.key for p in space.params] == ["teacher", "t_depth"]
    assert all("t_depth" in c for c in space.sample(5))


def test_condition_on_a_fixed_key() -> None:
    space = parse_space(
        "fixed: {teacher: cin}\nparams:\n  t_cin: {choices: [[8], [16]], when: {teacher: cin}}\n"
    )
    assert all(c["teacher"] == "cin" and c["t_cin"] in ([8], [16]) for c in space.sample(10))


def test_sample_is_deterministic() -> None:
    space = load_space("default")
    assert space.sample(20, seed=5) == space.sample(20, seed=5)
    assert space.sample(20, seed=5) != space.sample(20, seed=6)
    assert space.sample(20, seed=5)[:7] == space.sample(7, seed=5)
    assert space.sample(0) == []
    with pytest.raises(ValueError):
        space.sample(-1)


def test_list_choices_round_trip() -> None:
    space = load_space("default")
    (t_cin,) = [p for p in space.params if p.key == "t_cin" and p.name == "t_cin|teacher=cin"]
    assert t_cin.encoded_choices() == ("100-100", "200-200", "200-200-200", "400-400-400")
    for encoded, choice in zip(t_cin.encoded_choices(), t_cin.choices, strict=True):
        assert t_cin.decode(encoded) == choice and isinstance(t_cin.decode(encoded), list)
    trial = optuna.trial.FixedTrial(
        {
            "teacher": "cin",
            "t_cin|teacher=cin": "200-200-200",
            "interaction": "inner",
            "depth": 2,
            "student_mlp": "64-64",
            "embedding_size": 16,
            "alpha": 0.1,
            "beta": 921.6,
            "lr": 1e-3,
            "weight_decay": 1e-6,
            "batch_size": 1024,
        }
    )
    config = space.suggest(trial)
    assert config["t_cin"] == [200, 200, 200] and config["student_mlp"] == [64, 64]
    assert space.config_from_params(trial.params) == config


def test_returned_lists_are_copies() -> None:
    space = parse_space("fixed: {t_cin: [8, 8]}\nparams:\n  c: {choices: [[1, 2]]}\n")
    first = space.sample(1)[0]
    first["t_cin"].append(99)
    first["c"].append(99)
    assert space.sample(1)[0] == {"c": [1, 2], "t_cin": [8, 8]}


def test_odd_list_choices_are_encoded_as_json() -> None:
    space = parse_space("params:\n  c: {choices: [[-1, 2], [a, b], [], 3]}\n")
    (p,) = space.params
    assert p.encoded_choices() == ("[-1,2]", '["a","b"]', "[]", 3)
    drawn = {json.dumps(c["c"]) for c in space.sample(60)}
    assert drawn == {"[-1, 2]", '["a", "b"]', "[]", "3"}


def test_config_from_params_refuses_missing_and_extra() -> None:
    space = load_space("quick")
    params = optuna.create_study().ask()
    config = space.suggest(params)
    assert space.config_from_params(params.params) == config
    with pytest.raises(ValueError, match="lack"):
        space.config_from_params({})
    with pytest.raises(ValueError, match="not active"):
        space.config_from_params({**params.params, "nope": 1})


def test_space_metadata() -> None:
    space = load_space("quick")
    assert space.name == "quick" and space.description
    assert len(space.hash) == 64 and int(space.hash, 16) >= 0
    assert parse_space(space.text).hash == space.hash
    assert dict(space.fixed)["seed"] == 2022
    with pytest.raises(TypeError):
        space.fixed["seed"] = 1  # read-only view
    table = space.describe()
    assert "t_depth|teacher=crossnet" not in table  # a fixed value on one branch is not searched
    assert "teacher = crossnet" in table and "= 2022" in table and "one of crossnet | dcnv2" in table


@settings(max_examples=40, deadline=None)
@given(
    low=st.integers(-50, 50),
    width=st.integers(0, 20),
    step=st.integers(1, 4),
    choices=st.lists(
        st.lists(st.integers(0, 500), min_size=1, max_size=4), min_size=1, max_size=5, unique_by=tuple
    ),
)
def test_samples_stay_inside_their_distributions(low: int, width: int, step: int, choices: list) -> None:
    high = low + width * step
    text = f"params:\n  i: {{int: [{low}, {high}], step: {step}}}\n  c: {{choices: {choices}}}\n"
    for config in parse_space(text).sample(10, seed=width):
        assert low <= config["i"] <= high and (config["i"] - low) % step == 0
        assert config["c"] in choices
