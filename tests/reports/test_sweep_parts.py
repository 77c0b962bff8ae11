"""The other pieces of a sweep page: failed and stopped trials, teacher vs student, learning curves."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from kdbench.bench.store import ResultStore
from kdbench.reports._curves import sweep_curves_figure, trial_curves_data, trial_curves_figure
from kdbench.reports._problems import problem_trials
from kdbench.reports._sweep_page import sweep_trial_rows
from kdbench.reports._teacher_student import teacher_student_data, teacher_student_figure
from tests.reports import _factories as fx


def test_problem_trials_give_one_line_reasons(store: ResultStore):
    trials = store.trials(sweep=fx.MAIN)
    problems = problem_trials(trials, store.epochs(sweep=fx.MAIN))
    assert problems["status"].tolist() == ["failed", "stopped"]
    failed, stopped = problems.to_dict("records")
    assert failed["reason"] == "TrialError: non-finite loss"
    # the stopped trial reported 5 epochs: 3 of teacher training, then 2 student epochs
    assert stopped["reason"].startswith(
        "stopped early by the scheduler after 2 student epochs (last validation AUC"
    )
    everything_failed = problem_trials(store.trials(sweep=fx.ALL_FAILED), store.epochs(sweep=fx.ALL_FAILED))
    assert everything_failed["reason"].tolist() == [f"TrialError: out of memory {i}" for i in range(3)]
    assert everything_failed["detail"].iloc[0].startswith("Traceback")


def test_teacher_student_points_by_teacher_type(store: ResultStore):
    data = teacher_student_data(store.trials(sweep=fx.MAIN))
    assert sorted(data["teacher"].unique()) == ["cin", "crossnet"]
    assert (data["teacher_auc"] - data["student_auc"]).round(6).eq(0.005).all()
    fig = teacher_student_figure(data)
    assert (
        fig.layout.xaxis.title.text == "teacher test AUC"
        and fig.layout.yaxis.title.text == "student test AUC"
    )
    assert [t.name for t in fig.data] == ["student = teacher", "teacher: cin", "teacher: crossnet"]


def test_trial_curves_count_epochs_across_phases_and_make_a_valid_figure(store: ResultStore):
    trial_id = int(store.trials(sweep=fx.REAL)["trial_id"].iloc[0])
    curves = trial_curves_data(store.epochs())
    own = curves[curves["trial_id"] == trial_id]
    assert own["step"].tolist() == list(range(1, len(own) + 1))
    assert own["phase"].iloc[0] == "teacher_training" and own["phase"].iloc[-1] == "finetuning"
    spec = trial_curves_figure(own)
    fig = go.Figure(spec)  # the plain dict validates as a Plotly figure
    assert fig.layout.title.text == "Learning curves by phase"
    assert {t.name for t in fig.data} == {"teacher_training", "distillation", "finetuning"}
    assert "epoch" in fig.layout.xaxis.title.text and "epoch" in fig.layout.xaxis2.title.text
    # three different losses: each phase's relative to its first epoch, on one linear axis
    assert fig.layout.yaxis2.type in (None, "linear", "-")
    losses = [t for t in fig.data if t.xaxis == "x2"]
    assert len(losses) == 3 and all(t.y[0] == 1.0 for t in losses)
    distillation = next(t for t in losses if t.name == "distillation")
    expected = own[own["phase"] == "distillation"]["train_loss"].tolist()
    assert [row[1] for row in distillation.customdata] == pytest.approx(
        expected
    )  # the hover: the loss itself


def test_sweep_curves_one_line_per_trial_and_phase(store: ResultStore):
    epochs = store.epochs(sweep=fx.MAIN)
    ids = sorted(epochs["trial_id"].unique())[:2]
    fig = sweep_curves_figure(epochs, {int(i): f"trial {i}" for i in ids})
    assert len(fig.data) == 2 * 3 and [a.text for a in fig.layout.annotations] == [
        "teacher_training",
        "distillation",
        "finetuning",
    ]
    assert "no epoch" in sweep_curves_figure(epochs.iloc[:0], {}).layout.annotations[0].text


def test_a_trial_whose_teacher_came_from_the_cache_keeps_its_legend_entry(store: ResultStore):
    epochs = store.epochs(sweep=fx.MAIN)
    first, second = (int(i) for i in sorted(epochs["trial_id"].unique())[:2])
    cached = epochs[(epochs["trial_id"] != second) | (epochs["phase"] != "teacher_training")]
    fig = sweep_curves_figure(cached, {first: "trial A", second: "trial B (cached teacher)"})
    shown = {t.name: t.xaxis for t in fig.data if t.showlegend}
    assert shown == {"trial A": "x", "trial B (cached teacher)": "x2"}  # B's entry on its distillation line


def test_empty_inputs_draw_a_figure_that_says_so():
    empty = pd.DataFrame(columns=["number", "teacher", "teacher_auc", "student_auc"])
    assert "no completed trial" in teacher_student_figure(empty).layout.annotations[0].text


def test_the_trials_table_shows_searched_floats_at_four_digits(store: ResultStore):
    trials = store.trials(sweep=fx.MAIN).assign(param_alpha=0.123456789, param_beta=1234.56789, param_depth=3)
    rows = sweep_trial_rows(trials, "student_valid_auc", ["alpha", "beta", "depth"])
    assert {tuple(r["params"]) for r in rows} == {("0.1235", "1235", "3")}
