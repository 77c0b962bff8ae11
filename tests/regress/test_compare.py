"""The statistics of one figure on hand-made seed distributions: noise is never flagged, clear changes are."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from kdbench.bench.regress import AB_RULES, IMPROVED, INFO, REGRESSED, RULES, SAME, compare

QUALITY, SPEED, MEMORY = RULES["quality"], RULES["speed"], RULES["memory"]
AUC = [0.8512, 0.8478, 0.8531, 0.8495, 0.8520]  # five seeds, std ~0.002


def auc(values: list[float], now: list[float]):
    return compare(values, now, QUALITY, higher_is_better=True)


def test_identical_values_are_the_same() -> None:
    result = auc(AUC, list(AUC))
    assert result.verdict == SAME and result.change == 0 and result.p_value >= 0.5


def test_identical_seeds_with_zero_variance_are_the_same() -> None:
    result = auc([0.85, 0.85, 0.85], [0.85, 0.85, 0.85])
    assert result.verdict == SAME and result.p_value == 1.0


def test_a_zero_variance_shift_beyond_the_minimum_effect_is_certain() -> None:
    worse = auc([0.85, 0.85, 0.85], [0.848, 0.848, 0.848])
    assert worse.verdict == REGRESSED and worse.p_value == 0.0
    assert worse.change == pytest.approx(-0.002)
    tiny = auc([0.85, 0.85, 0.85], [0.8495, 0.8495, 0.8495])  # under BARS's 0.001: noise
    assert tiny.verdict == SAME


def test_noise_level_differences_are_not_flagged() -> None:
    shuffled = [0.8490, 0.8530, 0.8480, 0.8515, 0.8525]  # same spread, mean moved by ~0.0001
    assert auc(AUC, shuffled).verdict == SAME
    shifted = [v - 0.0015 for v in AUC]  # beyond 0.001 but within twice the seeds' std
    assert auc(AUC, shifted).verdict == SAME


def test_a_clear_drop_regresses_and_a_clear_gain_improves() -> None:
    drop = auc(AUC, [v - 0.02 for v in AUC])
    assert drop.verdict == REGRESSED and drop.p_value < 1e-6 and drop.change == pytest.approx(-0.02)
    gain = auc(AUC, [v + 0.02 for v in AUC])
    assert gain.verdict == IMPROVED


def test_a_large_but_insignificant_change_is_the_same() -> None:
    wild = [0.80, 0.90, 0.75, 0.95, 0.85]  # mean 0.85: the noise swamps a drop of 0.01
    assert compare(wild, [v - 0.01 for v in wild], QUALITY, higher_is_better=True).verdict == SAME


def test_log_loss_is_worse_when_it_rises() -> None:
    loss = [0.380, 0.382, 0.379, 0.381, 0.383]
    assert compare(loss, [v + 0.02 for v in loss], QUALITY, higher_is_better=False).verdict == REGRESSED
    assert compare(loss, [v - 0.02 for v in loss], QUALITY, higher_is_better=False).verdict == IMPROVED


def test_two_seeds_a_side_are_enough_for_a_verdict() -> None:
    assert auc([0.850, 0.852], [0.800, 0.803]).verdict == REGRESSED


THROUGHPUT = [1250.0, 1227.0, 1558.0, 1380.0, 1241.0]  # ratios from a loaded 2-core machine (+-13 %)


def test_speed_ratios_within_the_tolerance_are_the_same() -> None:
    for factor in (0.8, 0.9, 1.0, 1.15, 1.25):
        result = compare(THROUGHPUT, [v * factor for v in THROUGHPUT], SPEED, higher_is_better=True)
        assert result.verdict == SAME, factor
        assert result.change == pytest.approx(factor - 1)


def test_a_twofold_slowdown_regresses_and_a_twofold_speedup_improves() -> None:
    slow = compare(THROUGHPUT, [v / 2 for v in THROUGHPUT], SPEED, higher_is_better=True)
    assert slow.verdict == REGRESSED and slow.change == pytest.approx(-0.5)
    fast = compare(THROUGHPUT, [v * 2 for v in THROUGHPUT], SPEED, higher_is_better=True)
    assert fast.verdict == IMPROVED


def test_latency_is_worse_when_it_grows() -> None:
    latency = [0.94, 0.88, 0.93, 0.91, 0.90]
    assert compare(latency, [v * 2 for v in latency], SPEED, higher_is_better=False).verdict == REGRESSED
    assert compare(latency, [v * 1.2 for v in latency], SPEED, higher_is_better=False).verdict == SAME


def test_a_slowdown_inside_heavy_noise_is_not_flagged() -> None:
    noisy = [500.0, 1500.0, 800.0, 2000.0, 1000.0]
    assert compare(noisy, [v / 1.4 for v in noisy], SPEED, higher_is_better=True).verdict == SAME


# Student latency ratios of one A/B run on the idle 2-core machine (before speed was trimmed): a burst of
# other work slowed base's first seed by 60 %, and a planted 20 % slowdown of head went unflagged.
BASE_LATENCY = [0.876, 0.545, 0.561, 0.572, 0.553]
HEAD_LATENCY = [0.664, 0.671, 0.652, 0.683, 0.668]


def test_one_outlying_seed_no_longer_hides_a_twenty_percent_slowdown() -> None:
    ab_speed = AB_RULES["speed"]
    untrimmed = compare(
        BASE_LATENCY, HEAD_LATENCY, dataclasses.replace(ab_speed, trim=0.0), higher_is_better=False
    )
    assert untrimmed.verdict == SAME and untrimmed.threshold > math.log(1.3)  # the outlier's spread won
    trimmed = compare(BASE_LATENCY, HEAD_LATENCY, ab_speed, higher_is_better=False)
    assert trimmed.verdict == REGRESSED and trimmed.p_value < 0.01
    # The means judged are the trimmed ones: base's 0.876 and 0.545 are cut.
    assert trimmed.baseline == pytest.approx((0.553 + 0.561 + 0.572) / 3)
    assert trimmed.change == pytest.approx(trimmed.now / trimmed.baseline - 1)
    assert 0.17 < trimmed.change < 0.22


def test_one_outlying_seed_on_head_alone_is_not_a_regression() -> None:
    quiet = [0.545, 0.561, 0.553, 0.572, 0.558]
    burst = [0.545, 0.561, 0.553, 0.572, 0.876]  # the same, but one of head's seeds hit the burst
    assert compare(quiet, burst, AB_RULES["speed"], higher_is_better=False).verdict == SAME


def test_memory_is_information_only() -> None:
    result = compare([20.0, 21.0, 19.0], [80.0, 81.0, 79.0], MEMORY, higher_is_better=False)
    assert result.verdict == INFO and result.change == pytest.approx(3.0)


def test_compare_needs_values_on_both_sides() -> None:
    with pytest.raises(ValueError):
        compare([], [0.8], QUALITY, higher_is_better=True)


values = st.lists(st.floats(min_value=0.01, max_value=1e4, allow_nan=False), min_size=1, max_size=8)


@given(values)
def test_a_run_never_flags_itself(xs: list[float]) -> None:
    for rule in (QUALITY, SPEED):
        assert compare(xs, list(xs), rule, higher_is_better=True).verdict == SAME


# `regress ab`'s speed in pairs: seed i of base and seed i of head ran (and were timed) side by side.
AB_SPEED = AB_RULES["speed"]
# A machine whose speed moves from seed to seed by up to 1.9x: what both sides of one seed share.
MACHINE = [0.50, 0.80, 0.55, 0.95, 0.60]
JITTER = [1.01, 0.98, 1.02, 0.99, 1.00]  # what one side's timing adds on its own


def test_pairs_see_a_slowdown_that_the_seeds_spread_hides() -> None:
    base = [m * j for m, j in zip(MACHINE, JITTER, strict=True)]
    head = [1.2 * m * j for m, j in zip(MACHINE, reversed(JITTER), strict=True)]
    unpaired = compare(base, head, AB_SPEED, higher_is_better=False)
    assert unpaired.verdict == SAME and unpaired.threshold > math.log(1.2)
    paired = compare(base, head, AB_SPEED, higher_is_better=False, paired=True)
    assert paired.verdict == REGRESSED and paired.p_value < 0.01
    assert paired.change == pytest.approx(0.2, abs=0.03) and paired.threshold == pytest.approx(math.log(1.1))


def test_pairs_of_the_same_code_are_the_same() -> None:
    base = [m * j for m, j in zip(MACHINE, JITTER, strict=True)]
    head = [m * j for m, j in zip(MACHINE, reversed(JITTER), strict=True)]
    assert compare(base, head, AB_SPEED, higher_is_better=False, paired=True).verdict == SAME


def test_one_pair_a_burst_hit_on_one_side_is_trimmed() -> None:
    base = list(MACHINE)
    head = [1.2 * m for m in MACHINE]
    head[3] = 0.6 * MACHINE[3]  # base's fourth seed was slowed by a burst: its pair reads -40 %
    assert compare(base, head, AB_SPEED, higher_is_better=False, paired=True).verdict == REGRESSED
    same = list(MACHINE)
    same[1] = 1.6 * MACHINE[1]  # head's second seed slowed by a burst, the code unchanged
    assert compare(MACHINE, same, AB_SPEED, higher_is_better=False, paired=True).verdict == SAME


def test_untrimmed_pairs_are_students_paired_t_test() -> None:
    base = [m * j for m, j in zip(MACHINE, JITTER, strict=True)]
    head = [1.05 * m * j for m, j in zip(MACHINE, reversed(JITTER), strict=True)]
    rule = dataclasses.replace(AB_SPEED, trim=0.0)
    result = compare(base, head, rule, higher_is_better=False, paired=True)
    logs = [math.log(h) - math.log(b) for b, h in zip(base, head, strict=True)]
    expected = stats.ttest_1samp(logs, 0.0, alternative="greater").pvalue
    assert result.p_value == pytest.approx(expected)
    assert result.change == pytest.approx(math.expm1(sum(logs) / len(logs)))
    noise = stats.tstd(logs) / math.sqrt(2)  # each side's share of the pairs' spread
    assert result.threshold == pytest.approx(max(math.log(1.1), 2 * noise))


def test_a_paired_comparison_needs_as_many_values_a_side() -> None:
    with pytest.raises(ValueError, match="as many values a side"):
        compare([1.0, 1.1], [1.0, 1.1, 1.2], AB_SPEED, higher_is_better=False, paired=True)
