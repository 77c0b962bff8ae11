"""Change points on synthetic series: planted steps and drifts are found where they are, noise is not."""

from __future__ import annotations

import numpy as np
import pytest

from kdbench.reports._change_points import detect_steps, noise_sigma

AUC_FLOOR = 1e-4


def test_a_slow_drift_of_small_changes_is_found() -> None:
    """-0.0005 AUC per commit over 20 commits after 10 flat ones, with seed-mean noise of the same size: no
    single commit moves beyond a verdict's 0.001, but the drift is a change point for the worse."""
    rng = np.random.default_rng(3)
    level = np.r_[np.full(10, 0.85), 0.85 - 0.0005 * np.arange(1, 21)]
    steps = detect_steps(level + rng.normal(0, 0.0005, 30), floor=AUC_FLOOR)
    assert steps, "the drift was not found"
    assert all(10 <= s.index < 30 for s in steps)  # every step inside the drift, none in the flat start
    assert steps[0].before > steps[-1].after + 0.005  # down by about the drift's 0.01 overall


def test_a_flat_noisy_series_has_no_change_point() -> None:
    for seed in range(50):  # 50 series of 30 runs: the penalty keeps false alarms under ~0.3 % a series
        values = 0.85 + np.random.default_rng(seed).normal(0, 0.001, 30)
        assert detect_steps(values, floor=AUC_FLOOR) == [], seed


def test_a_step_is_placed_at_its_commit_with_its_levels() -> None:
    values = np.r_[np.full(8, 0.850), np.full(7, 0.846)] + np.random.default_rng(0).normal(0, 0.0004, 15)
    (step,) = detect_steps(values, floor=AUC_FLOOR)
    assert step.index == 8
    assert step.before == pytest.approx(np.mean(values[:8])) and step.after == pytest.approx(
        np.mean(values[8:])
    )


def test_speed_ratios_are_segmented_on_the_log_scale() -> None:
    rng = np.random.default_rng(1)
    ratios = np.r_[np.full(10, 1000.0), np.full(10, 800.0)] * np.exp(rng.normal(0, 0.03, 20))
    (step,) = detect_steps(ratios, floor=0.02, log_scale=True)
    assert step.index == 10 and step.after / step.before == pytest.approx(0.8, abs=0.03)


def test_deterministic_series_change_only_beyond_the_floor() -> None:
    assert detect_steps([0.85] * 12, floor=AUC_FLOOR) == []
    assert detect_steps([0.85] * 6 + [0.85001] * 6, floor=AUC_FLOOR) == []  # rounding, not a step
    (step,) = detect_steps([0.85] * 6 + [0.84] * 6, floor=AUC_FLOOR)
    assert step.index == 6


def test_one_outlier_run_is_not_a_step_and_short_series_have_none() -> None:
    values = 0.85 + np.random.default_rng(2).normal(0, 0.0005, 20)
    values[12] -= 0.01  # one bad run
    assert detect_steps(values, floor=AUC_FLOOR) == []
    assert detect_steps([0.85, 0.85, 0.80, 0.80, 0.80], floor=AUC_FLOOR) == []  # under 2 x 3 runs


def test_the_noise_estimate_ignores_steps_and_drifts() -> None:
    rng = np.random.default_rng(5)
    noise = rng.normal(0, 0.001, 200)
    drift = noise - 0.0005 * np.arange(200)
    step = noise + np.r_[np.zeros(100), np.full(100, -0.01)]
    for series in (noise, drift, step):
        assert noise_sigma(series) == pytest.approx(0.001, rel=0.2)
