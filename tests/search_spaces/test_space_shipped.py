"""The shipped spaces load strictly and every sample is a valid trial config."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from kdbench import search_spaces
from kdbench.bench.config import TrialConfig  # tests may import bench; the search_spaces package never does
from kdbench.search_spaces import available_spaces, load_space

CONFIG_KEYS = [f.name for f in dataclasses.fields(TrialConfig)]


def test_the_three_spaces_ship() -> None:
    assert {"default", "quick", "ci"} <= set(available_spaces())


@pytest.mark.parametrize("name", available_spaces())
def test_loads_with_config_keys_and_samples_are_valid_configs(name: str) -> None:
    space = load_space(name, known_keys=CONFIG_KEYS)
    assert space.name == name and space.description
    for config in space.sample(100, seed=11):
        TrialConfig.from_dict(config)  # raises ConfigError listing every problem


@pytest.mark.parametrize("name", available_spaces())
def test_packaged_name_and_file_path_load_the_same_space(name: str) -> None:
    by_path = load_space(Path(search_spaces.__file__).parent / f"{name}.yaml")
    assert by_path.hash == load_space(name).hash and by_path.name == name


def test_default_is_the_paper_scale_space() -> None:
    space = load_space("default")
    assert dict(space.fixed) == {"seed": 2022}  # epochs and patience: the dataset's recipe
    params = {p.key: p for p in space.params}
    assert (params["alpha"].low, params["alpha"].high, params["alpha"].log) == (0.01, 1.0, True)
    assert params["alpha"].low < 0.1 < params["alpha"].high
    assert params["beta"].low < 921.6 < params["beta"].high and params["beta"].log
    assert [200, 200, 200] in params["t_cin"].choices
    assert (params["t_depth"].low, params["t_depth"].high) == (1, 5)
    assert params["embedding_size"].choices == (8, 16, 32, 64)


def test_quick_keeps_teacher_cache_keys_few() -> None:
    """A teacher is reused only when every key that shapes the teacher phase repeats: quick over the ml-100k
    recipe gives two teachers (CrossNet depth 3 and DCN-V2), so a sweep trains at most two."""
    from kdbench.bench.config import STUDENT_PHASE_KEYS, TrialConfig
    from kdbench.bench.recipes import compose, recipe_for

    space = load_space("quick")
    teachers = set()
    for config in space.sample(200, seed=3):
        full = TrialConfig.from_dict(compose(recipe_for("ml-100k"), config)).to_dict()
        teachers.add(
            json.dumps({k: v for k, v in full.items() if k not in STUDENT_PHASE_KEYS}, sort_keys=True)
        )
    assert len(teachers) == 2


def test_ci_is_tiny() -> None:
    space = load_space("ci")
    for config in space.sample(50):
        assert config["max_epochs"] == 2 and config["patience"] == 1
        assert config["embedding_size"] in (4, 8) and config["depth"] in (1, 2)
        assert config.get("t_depth", 1) == 1 and config.get("t_cin", [8]) == [8]
        assert 3e-3 <= config["lr"] <= 1e-2
