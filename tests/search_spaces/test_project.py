"""A known configuration projected onto a space: clipping, nearest choices, branches, fixed values."""

from __future__ import annotations

import textwrap

import optuna
import pytest

from kdbench.search_spaces import load_space, parse_space

SPACE = textwrap.dedent(
    """\
    name: projection-test-space-with-a-rather-long-name
    fixed: {seed: 7, max_epochs: 12}
    params:
      teacher: {choices: [crossnet, cin, dcnv2]}
      t_depth:
        - {int: [1, 3], when: {teacher: crossnet}}
        - {int: [2, 6], step: 2, when: {teacher: dcnv2}}
      t_cin: {choices: [[8], [16, 16], [64, 64, 64]], when: {teacher: cin}}
      wide: {choices: [true, false], when: {t_depth: {in: [2, 3]}}}
      depth: {int: [1, 4]}
      embedding_size: {choices: [8, 32, 64]}
      interaction: {choices: [inner, outer]}
      alpha: {float: [0.01, 1.0], log: true}
      beta: {float: [0.0, 1.0], step: 0.25}
      lr: {float: [1.0e-4, 1.0e-2], log: true}
      amp: {value: true, when: {teacher: cin}}
    """
)
# The ml-100k recipe over the trial-config defaults, every key a TrialConfig has.
RECIPE = {
    "teacher": "crossnet", "t_depth": 3, "t_cin": [200, 200, 200], "t_hidden": None, "t_dropout": 0.0,
    "interaction": "outer", "depth": 3, "student_mlp": [], "embedding_size": 16, "alpha": 0.1, "beta": 921.6,
    "lr": 3e-3, "weight_decay": 1e-3, "batch_size": 1024, "max_epochs": 40, "patience": 5, "seed": 2022,
    "finetune": True, "amp": False,
}  # fmt: skip


@pytest.fixture(scope="module")
def space():
    return parse_space(SPACE, source="test.yaml")


def _enqueued_config(space, params: dict) -> dict:
    """The config a real Optuna study gives for ``params`` enqueued: what a sweep's first trial runs."""
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(params)
    return space.suggest(study.ask())


def test_values_inside_the_space_stay_as_they_are(space) -> None:
    projection = space.project(RECIPE)
    assert projection.config["teacher"] == "crossnet" and projection.config["t_depth"] == 3
    assert projection.config["interaction"] == "outer" and projection.config["depth"] == 3
    assert projection.config["alpha"] == pytest.approx(0.1) and projection.config["lr"] == pytest.approx(3e-3)
    assert not any(c.startswith(("teacher", "t_depth", "depth ", "alpha", "lr", "interaction"))
                   for c in projection.changes)  # fmt: skip


def test_ranges_are_clipped_and_put_on_their_grid(space) -> None:
    projection = space.project(RECIPE)
    assert projection.config["beta"] == 1.0  # 921.6 clipped to the high end of [0, 1]
    assert "beta 921.6 -> 1 (clipped to its range)" in projection.changes
    low = space.project({**RECIPE, "alpha": 1e-6, "depth": 9, "beta": 0.6})
    assert low.config["alpha"] == 0.01 and low.config["depth"] == 4
    assert low.config["beta"] == 0.5  # 0.6 onto the 0.25 grid
    assert "beta 0.6 -> 0.5 (on its step grid)" in low.changes


def test_missing_choices_take_the_nearest(space) -> None:
    projection = space.project(RECIPE)
    assert projection.config["embedding_size"] == 8  # 16 is as far from 8 as from 32 on a log scale: first
    assert "embedding_size 16 -> 8 (nearest of its choices)" in projection.changes
    assert space.project({**RECIPE, "embedding_size": 40}).config["embedding_size"] == 32
    cin = space.project({**RECIPE, "teacher": "cin", "t_cin": [60, 60]}).config
    assert cin["t_cin"] == [64, 64, 64] or cin["t_cin"] == [16, 16]
    assert space.project({**RECIPE, "teacher": "cin", "t_cin": [60, 60, 70]}).config["t_cin"] == [64, 64, 64]
    assert space.project({**RECIPE, "teacher": "cin", "t_cin": [10]}).config["t_cin"] == [8]


def test_a_value_outside_every_choice_takes_the_first(space) -> None:
    projection = space.project({**RECIPE, "teacher": "autoint", "interaction": "kernel"})
    assert projection.config["teacher"] == "crossnet" and projection.config["interaction"] == "inner"
    assert "teacher autoint -> crossnet (nearest of its choices)" in projection.changes


def test_conditional_branches_follow_the_projected_values(space) -> None:
    crossnet = space.project(RECIPE)
    assert crossnet.config["wide"] is True  # t_depth 3 activates it; the recipe has no such key: first choice
    assert "t_depth|teacher=crossnet" in crossnet.params and "t_cin|teacher=cin" not in crossnet.params
    assert "amp" not in crossnet.config
    dcnv2 = space.project({**RECIPE, "teacher": "dcnv2", "t_depth": 5})
    assert dcnv2.config["t_depth"] == 4 and "t_depth|teacher=dcnv2" in dcnv2.params  # 5 onto 2, 4, 6: 4
    assert "wide" not in dcnv2.config  # t_depth 4 leaves the wide branch off
    cin = space.project({**RECIPE, "teacher": "cin"})
    assert "t_depth" not in cin.config and cin.config["amp"] is True
    assert "amp false -> true (fixed by the space)" in cin.changes


def test_fixed_values_win_and_are_reported(space) -> None:
    projection = space.project(RECIPE)
    assert projection.config["seed"] == 7 and projection.config["max_epochs"] == 12
    assert "seed 2022 -> 7 (fixed by the space)" in projection.changes
    assert "max_epochs 40 -> 12 (fixed by the space)" in projection.changes


def test_a_key_the_configuration_lacks_takes_the_middle_of_its_range(space) -> None:
    start = {k: v for k, v in RECIPE.items() if k not in ("lr", "depth")}
    projection = space.project(start)
    assert projection.config["lr"] == pytest.approx(1e-3)  # geometric middle of a log range
    assert projection.config["depth"] == 2  # (1 + 4) / 2 = 2.5 -> 2
    assert any(c.startswith("lr: not in the configuration") for c in projection.changes)


def test_the_params_ask_a_real_study_for_the_projected_config(space) -> None:
    for start in (RECIPE, {**RECIPE, "teacher": "cin", "t_cin": [16, 16]}, {**RECIPE, "teacher": "dcnv2"}):
        projection = space.project(start)
        assert _enqueued_config(space, projection.params) == projection.config


@pytest.mark.parametrize("name", ["quick", "default", "ci"])
def test_every_shipped_space_takes_the_ml100k_recipe(name) -> None:
    space = load_space(name)
    projection = space.project(RECIPE)
    assert _enqueued_config(space, projection.params) == projection.config


def test_quick_holds_the_ml100k_recipe_unchanged() -> None:
    """The recipe of ml-100k lies in quick: its warm start is exactly what `kdbench train` runs."""
    projection = load_space("quick").project(RECIPE)
    assert projection.changes == ()
    assert projection.config["teacher"] == "crossnet" and projection.config["t_depth"] == 3
