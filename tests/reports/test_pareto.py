"""The Pareto front of accuracy against cost."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from kdbench.reports._pareto import COSTS, pareto_data, pareto_figure, pareto_front


def test_front_of_a_small_example():
    cost = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 0.5])
    value = np.array([0.70, 0.80, 0.75, 0.79, 0.90, 0.60])
    assert pareto_front(cost, value).tolist() == [True, True, False, False, True, True]


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=30))
def test_front_points_are_exactly_the_undominated_ones(points):
    cost, value = (np.array(v, dtype=float) for v in zip(*points, strict=True))
    on = pareto_front(cost, value)
    for i in range(len(points)):
        dominated = any(
            (cost[j] <= cost[i] and value[j] > value[i]) or (cost[j] < cost[i] and value[j] >= value[i])
            for j in range(len(points))
        )
        duplicate_kept = any(on[j] and cost[j] == cost[i] and value[j] == value[i] for j in range(i))
        assert on[i] == (not dominated and not duplicate_kept)


def test_data_takes_completed_trials_with_both_values():
    trials = pd.DataFrame(
        {
            "trial_id": [1, 2, 3, 4],
            "number": [0, 1, 2, 3],
            "status": ["completed", "completed", "failed", "completed"],
            "student_test_auc": [0.8, 0.81, 0.9, None],
            "student_flops": [100, 200, 50, 10],
            "param_teacher": ["cin", "crossnet", "cin", "cin"],
        }
    )
    data = pareto_data(trials, COSTS["flops"])
    assert data["trial_id"].tolist() == [1, 2] and data["on_front"].tolist() == [True, True]
    fig = pareto_figure(data, COSTS["flops"])
    assert fig.layout.xaxis.type == "log" and "multiply-adds per sample" in fig.layout.xaxis.title.text
    assert fig.layout.yaxis.title.text == "student test AUC" and fig.data[1].name == "Pareto front"
