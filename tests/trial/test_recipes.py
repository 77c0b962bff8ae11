"""Per-dataset recipes: the paper's values, valid configs, layers over them, the space check."""

from __future__ import annotations

import pytest

from kdbench.bench.config import TrialConfig
from kdbench.bench.data import Recipe, available_sources
from kdbench.bench.errors import ConfigError
from kdbench.bench.recipes import RECIPES, build_config, compose, problems_under, recipe_for
from kdbench.search_spaces import SearchSpaceError, parse_space

# The paper's per-dataset settings (docs/model.md: Criteo, Avazu, MovieLens-1M).
PAPER = {
    "criteo": {"teacher": "crossnet", "interaction": "outer", "lr": 1e-4, "weight_decay": 1e-5},
    "avazu": {
        "teacher": "cin", "t_cin": [200, 200, 200], "interaction": "inner", "lr": 1e-4, "weight_decay": 1e-5,
    },
    "movielens-1m": {"teacher": "crossnet", "interaction": "outer", "lr": 3e-3, "weight_decay": 1e-6},
}  # fmt: skip


def test_every_source_with_a_fixed_protocol_has_a_recipe_and_tables_have_none():
    assert set(RECIPES) == set(available_sources()) - {"csv", "parquet"}
    for source, recipe in RECIPES.items():
        assert isinstance(recipe, Recipe) and recipe.name == source and recipe_for(source) is recipe
    assert recipe_for("csv") is None and recipe_for("parquet") is None and recipe_for("nosuchdata") is None


@pytest.mark.parametrize("source", sorted(PAPER))
def test_the_papers_datasets_get_the_papers_values(source):
    values = dict(recipe_for(source).values)
    assert {k: values[k] for k in PAPER[source]} == PAPER[source]


def test_ml100k_uses_the_measured_weight_decay():
    values = recipe_for("ml-100k").values
    assert values["weight_decay"] == 1e-3 and (values["teacher"], values["interaction"]) == (
        "crossnet",
        "outer",
    )
    assert "1e-3" in recipe_for("ml-100k").rationale and "overfits" in recipe_for("ml-100k").rationale


@pytest.mark.parametrize("source", sorted(RECIPES))
def test_each_recipe_is_a_valid_config_that_sets_patience_and_max_epochs(source):
    recipe = recipe_for(source)
    assert TrialConfig.problems(dict(recipe.values)) == []
    cfg = build_config(recipe)
    assert {k: v for k, v in cfg.to_dict().items() if k in recipe.values} == recipe.to_dict()["values"]
    assert {"patience", "max_epochs", "lr", "weight_decay"} <= set(recipe.values)
    # Patience below the cap (else early stopping never stops early) and not the reference's wasteful 10.
    assert 1 <= recipe.values["patience"] < 10 and recipe.values["patience"] < recipe.values["max_epochs"]
    assert recipe.rationale.strip()


def test_layers_win_in_order_recipe_then_config_file_then_set():
    recipe = recipe_for("ml-100k")
    config_file = {"lr": 1e-2, "patience": 2, "depth": 2}
    overrides = {"lr": 5e-3}
    cfg = build_config(recipe, config_file, overrides)
    assert cfg.lr == 5e-3  # --set beats --config
    assert cfg.patience == 2 and cfg.depth == 2  # --config beats the recipe, and the defaults
    assert cfg.weight_decay == recipe.values["weight_decay"]  # the recipe beats the defaults
    assert cfg.alpha == TrialConfig.alpha  # neither sets it: the default
    assert build_config(None, config_file, overrides).weight_decay == TrialConfig.weight_decay


def test_another_teacher_drops_the_recipes_teacher_keys_but_never_the_users():
    avazu = recipe_for("avazu")  # CIN [200, 200, 200]
    assert build_config(avazu).t_cin == (200, 200, 200)
    crossnet = build_config(avazu, {"teacher": "crossnet"})
    assert "t_cin" not in crossnet.to_dict() and crossnet.interaction == "inner"  # the rest of it stays
    assert compose(avazu, {"teacher": "xdeepfm"}).get("t_cin") is None  # its CIN, not the recipe's
    assert build_config(avazu, {"teacher": "xdeepfm", "t_cin": [64]}).t_cin == (64,)
    # The user's own key for the wrong teacher stays an error.
    with pytest.raises(ConfigError, match="'t_depth' applies only to teacher 'crossnet' or 'dcnv2'"):
        build_config(avazu, {"t_depth": 2})
    # The same teacher written out keeps the recipe's hyperparameters.
    assert build_config(avazu, {"teacher": "cin"}).t_cin == (200, 200, 200)


def test_an_error_names_the_recipe_values_the_user_did_not_write():
    with pytest.raises(ConfigError) as err:
        build_config(recipe_for("ml-100k"), {"t_cin": [32, 32]}, {"lr": -1.0})
    message = str(err.value)
    assert message.startswith("invalid trial config: 't_cin' applies only to teacher 'cin' or 'xdeepfm'")
    assert "lr must be a finite number > 0, got -1.0" in message
    assert "(teacher='crossnet' from the ml-100k recipe: set it yourself, or pass --no-recipe)" in message
    assert "\n" not in message
    with pytest.raises(ConfigError) as err:  # the user's own values alone: no recipe blamed
        build_config(recipe_for("ml-100k"), {"depth": 0})
    assert "recipe" not in str(err.value)


def test_the_recipe_values_are_not_changed_by_composing():
    recipe = recipe_for("avazu")
    before = recipe.to_dict()
    compose(recipe, {"teacher": "dnn", "lr": 1.0})["patience"] = 99
    assert recipe.to_dict() == before


def test_a_space_is_checked_over_the_recipe_its_trials_start_from():
    # t_cin without a teacher: a CIN space on Avazu (whose recipe picks CIN), refused on ml-100k (CrossNet).
    text = "params:\n  t_cin: {choices: [[32, 32], [64, 64]]}\n"
    parse_space(text, source="cin.yaml", check=problems_under(recipe_for("avazu")))
    with pytest.raises(SearchSpaceError, match="'t_cin' applies only to teacher 'cin' or 'xdeepfm'"):
        parse_space(text, source="cin.yaml", check=problems_under(recipe_for("ml-100k")))
    assert problems_under(None) == TrialConfig.problems
