"""Searched parameters, the parallel-coordinates data and fANOVA importance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kdbench.reports._importance import importance_data, importance_figure
from kdbench.reports._objective import DEFAULT_OBJECTIVE
from kdbench.reports._params import parallel_data, parallel_figure, searched_params


def _trials(n: int, *, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    depth = rng.integers(1, 5, n)
    lr = 10 ** rng.uniform(-4, -2, n)
    teacher = rng.choice(["crossnet", "cin"], n)
    return pd.DataFrame(
        {
            "trial_id": range(n),
            "number": range(n),
            "status": "completed",
            "student_valid_auc": 0.7 + 0.02 * depth + rng.normal(0, 0.001, n),
            "param_teacher": teacher,
            "param_depth": depth.tolist(),
            "param_lr": lr.tolist(),
            "param_t_cin": [[200, 200] if t == "cin" else None for t in teacher],
            "param_t_depth": [3 if t == "crossnet" else None for t in teacher],
            "param_batch_size": 1024,
        }
    )


def test_searched_params_are_the_ones_that_vary():
    assert searched_params(_trials(10)) == ["teacher", "depth", "lr", "t_cin", "t_depth"]


def test_parallel_axes_log_lr_ticks_on_small_ints_and_categories_for_conditionals():
    data = parallel_data(_trials(12), DEFAULT_OBJECTIVE)
    axes = {a.label: a for a in data.axes}
    assert set(axes) == {"teacher", "depth", "log10(lr)", "t_cin", "t_depth"}
    assert axes["depth"].ticktext == [str(int(v)) for v in sorted(set(axes["depth"].values))]
    assert min(axes["log10(lr)"].values) >= -4 and max(axes["log10(lr)"].values) <= -2
    assert axes["t_cin"].ticktext == ["[200,200]", "n/a"]
    assert len(data.color) == 12
    fig = parallel_figure(data, DEFAULT_OBJECTIVE)
    assert fig.layout.title.text == "Searched parameters, coloured by student validation AUC"


def test_importance_finds_the_parameter_that_drives_the_objective():
    imp = importance_data(_trials(40), DEFAULT_OBJECTIVE)
    assert imp.note is None and imp.n_trials == 40
    assert max(imp.values, key=imp.values.get) == "depth"
    assert "t_cin" not in imp.values  # conditional: absent on CrossNet trials
    assert sum(imp.values.values()) == pytest.approx(1.0)
    fig = importance_figure(imp, DEFAULT_OBJECTIVE)
    assert "fANOVA" in fig.layout.title.text and fig.data[0].y[-1] == "depth"


@pytest.mark.parametrize(
    ("trials", "note"),
    [
        (_trials(2), "not enough trials"),
        (_trials(5).assign(param_depth=2, param_lr=0.1, param_teacher="cin"), "single value"),
        (_trials(5).assign(student_valid_auc=0.8), "same student validation AUC"),
    ],
)
def test_importance_says_why_it_has_nothing(trials, note):
    imp = importance_data(trials, DEFAULT_OBJECTIVE)
    assert imp.values == {} and note in imp.note
    assert note.split()[0] in importance_figure(imp, DEFAULT_OBJECTIVE).layout.annotations[0].text
