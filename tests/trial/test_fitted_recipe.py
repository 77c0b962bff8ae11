"""The recipe that fits the data: a source's own for data of its reference size, else one fitted to it."""

from __future__ import annotations

import pytest

from kdbench.bench.config import TrialConfig
from kdbench.bench.recipes import (
    REFERENCE_TRAIN_ROWS,
    build_config,
    fitted_recipe,
    recipe_for,
    recipe_for_data,
)


def _info(source: str, train_rows: int, *, fields: int = 13, vocab: int = 1_000, dense: int = 0) -> dict:
    """What ``Dataset.info()`` records, for a table of this shape (8:1:1 split)."""
    names = [f"feature_{i}_ünïcode_{'x' * 40}" for i in range(fields)]
    held_out = train_rows // 8
    return {
        "fingerprint": "0123456789abcdef",
        "name": "a-long-dataset-name-" + "n" * 60,
        "source": source,
        "rows": train_rows + 2 * held_out,
        "fields": names,
        "vocab_sizes": [vocab] * fields,
        "split_sizes": {"train": train_rows, "valid": held_out, "test": held_out},
        **({"dense_fields": list(range(fields - dense, fields))} if dense else {}),
    }


def test_the_fixed_movielens_datasets_keep_their_own_recipe():
    ml100k = _info("ml-100k", 56_000, fields=9, vocab=900)  # ml-100k's real shape
    assert recipe_for_data(ml100k) is recipe_for("ml-100k")
    assert recipe_for_data(_info("movielens-1m", 460_000, fields=9)) is recipe_for("movielens-1m")


@pytest.mark.parametrize("source", ["criteo", "avazu"])
def test_a_full_size_criteo_or_avazu_keeps_the_papers_recipe_and_a_sample_is_fitted(source):
    full = _info(source, REFERENCE_TRAIN_ROWS[source], fields=39, vocab=100_000)
    assert recipe_for_data(full) is recipe_for(source)
    sample = recipe_for_data(_info(source, 160_000, fields=39, vocab=100_000))
    assert sample.name == "fitted" and sample.values["lr"] == 3e-3  # not the paper's 1e-4 for 45 M rows
    assert sample.values["weight_decay"] > recipe_for(source).values["weight_decay"]
    assert sample.rationale.startswith(f"The {source} recipe is for its full data (10,000,000+ training")
    assert "160,000" in sample.rationale


@pytest.mark.parametrize("source", ["csv", "parquet"])
def test_a_table_always_gets_a_fitted_recipe_that_says_why(source):
    recipe = recipe_for_data(_info(source, 80_000, fields=14, dense=6))
    assert recipe.name == "fitted" and recipe == fitted_recipe(_info(source, 80_000, fields=14, dense=6))
    assert "80,000 training rows, 14 fields (6 dense), 14,000 values" in recipe.rationale
    assert TrialConfig.problems(dict(recipe.values)) == []


def test_smaller_data_gets_more_weight_decay_and_more_epochs():
    sizes = [8_000, 16_000, 40_000, 80_000, 160_000, 400_000, 800_000, 4_000_000, 40_000_000]
    recipes = [fitted_recipe(_info("csv", n)) for n in sizes]
    decays = [r.values["weight_decay"] for r in recipes]
    epochs = [r.values["max_epochs"] for r in recipes]
    assert decays == sorted(decays, reverse=True) and decays[0] > decays[-1]
    assert epochs == sorted(epochs, reverse=True)
    for recipe in recipes:
        assert 1 <= recipe.values["patience"] < recipe.values["max_epochs"]


def test_the_fitted_recipe_composes_under_the_users_layers():
    recipe = fitted_recipe(_info("csv", 30_000))
    cfg = build_config(recipe, {"weight_decay": 1e-6}, {"teacher": "dcnv2"})
    assert cfg.weight_decay == 1e-6 and cfg.teacher == "dcnv2"  # the user's values win
    assert cfg.max_epochs == recipe.values["max_epochs"]  # the rest is the recipe's
