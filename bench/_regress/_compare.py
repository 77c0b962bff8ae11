"""The statistics behind a verdict: one figure's seed values now against the baseline's.

A change is a regression only when all three hold, on the worse side (one-sided: better is ``improved``):

1. it exceeds the rule's minimum effect (quality: 0.001, BARS's noise floor for AUC; speed: 30 %),
2. it exceeds ``noise_factor`` x the pooled standard deviation of the seeds (the noise the seeds show),
3. a one-sided Welch t-test (unequal variances; Yuen's trimmed one for speed) finds it significant at
   ``alpha``.

Relative rules (speed, memory) compare logarithms, so ratios are symmetric and the change is a fraction.
A rule with ``trim`` (speed) compares trimmed means with Yuen's trimmed t-test: the ``trim`` share of each
side's values is cut from each end, the spread is the winsorized standard deviation (the cut values replaced
by the nearest kept one), so one seed that a burst of other work slowed neither hides a slowdown by inflating
the noise nor fakes one (with five seeds and ``trim`` 0.2, the fastest and the slowest seed of each side are
cut). ``baseline`` and ``now`` are then those trimmed means.
A ``paired`` comparison (``regress ab``'s speed, where both sides ran the same seeds side by side) works on
the seeds' differences instead (log ratios when relative): the change is their trimmed mean, the noise their
winsorized standard deviation over sqrt(2) (each side's share of it, as the pooled deviation is), and the
test the one-sample trimmed t-test (Tukey and McLaughlin's; Student's without ``trim``).
Zero variance on both sides is handled explicitly: identical values are ``same``; a shift beyond the
thresholds is certain (p = 0), which is what deterministic code gives on one machine. With a single value on
a side no t-test is possible (p is None) and the thresholds alone decide.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence

import numpy as np
from scipy import stats
from scipy.stats import mstats

from kdbench.bench._regress._figures import Rule

__all__ = [
    "IMPROVED",
    "INCOMPARABLE",
    "INFO",
    "NEW",
    "REGRESSED",
    "SAME",
    "VERDICTS",
    "Comparison",
    "compare",
]

SAME, IMPROVED, REGRESSED = "same", "improved", "regressed"
INFO = "info"  # tracked, never judged (peak memory)
NEW = "new"  # nothing to compare against: no baseline, or the baseline lacks this case or figure
INCOMPARABLE = "incomparable"  # the baseline's case ran another config, dataset or device
VERDICTS = (SAME, IMPROVED, REGRESSED, INFO, NEW, INCOMPARABLE)


@dataclasses.dataclass(frozen=True)
class Comparison:
    verdict: str
    baseline: float  # mean of the baseline's values (trimmed under a rule with ``trim``)
    now: float  # mean of this run's values (likewise)
    change: float  # now - baseline; relative rules: now / baseline - 1
    p_value: float | None  # one-sided, in the direction of the change; None with under 2 values a side
    threshold: float  # the effective minimum change (the rule's scale: absolute, or log for relative)


def compare(
    baseline: Sequence[float],
    now: Sequence[float],
    rule: Rule,
    *,
    higher_is_better: bool,
    paired: bool = False,
) -> Comparison:
    """Compare ``now``'s values to ``baseline``'s under ``rule`` (see the module docstring); ``paired``:
    ``baseline[i]`` and ``now[i]`` are one seed's two sides (the caller checked the seeds match)."""
    if not baseline or not now:
        raise ValueError("compare() needs at least one value on each side")
    if paired and len(baseline) != len(now):
        raise ValueError(f"a paired comparison needs as many values a side ({len(baseline)} != {len(now)})")
    base_t, now_t = _transform(baseline, rule), _transform(now, rule)
    base_mean, now_mean = _trimmed_mean(baseline, rule.trim), _trimmed_mean(now, rule.trim)
    if paired:
        diffs = [n - b for b, n in zip(base_t, now_t, strict=True)]
        shift = _trimmed_mean(diffs, rule.trim)
        noise = _pooled_std(diffs, [], rule.trim) / math.sqrt(2)
        p_value = _paired_p(diffs, shift, rule.trim)
        change = math.expm1(shift) if rule.relative else shift
    else:
        shift = _trimmed_mean(now_t, rule.trim) - _trimmed_mean(base_t, rule.trim)
        noise = _pooled_std(base_t, now_t, rule.trim)
        p_value = _one_sided_p(base_t, now_t, shift, rule.trim)
        change = now_mean / base_mean - 1 if rule.relative else now_mean - base_mean
    gain = shift if higher_is_better else -shift  # > 0: better
    threshold = max(rule.min_effect, rule.noise_factor * noise)
    if not rule.gating:
        verdict = INFO
    elif abs(gain) <= threshold or math.isclose(gain, 0.0, abs_tol=1e-12):
        verdict = SAME
    elif p_value is not None and p_value >= rule.alpha:
        verdict = SAME  # beyond the thresholds but not distinguishable from the seeds' noise
    else:
        verdict = IMPROVED if gain > 0 else REGRESSED
    return Comparison(verdict, base_mean, now_mean, change, p_value, threshold)


def _transform(values: Sequence[float], rule: Rule) -> list[float]:
    if not rule.relative:
        return [float(v) for v in values]
    # A ratio of 0 (a figure that measured nothing) would be -inf: floor it far below any real value.
    return [math.log(max(float(v), 1e-12)) for v in values]


def _trimmed_mean(values: Sequence[float], trim: float) -> float:
    return float(stats.trim_mean(values, trim))


def _winsorized(values: Sequence[float], trim: float) -> list[float]:
    """``values`` with the ``trim`` share at each end replaced by the nearest kept value."""
    return [float(v) for v in mstats.winsorize(np.asarray(values, dtype=float), limits=(trim, trim))]


def _pooled_std(a: Sequence[float], b: Sequence[float], trim: float = 0.0) -> float:
    variances = [statistics.variance(_winsorized(x, trim)) for x in (a, b) if len(x) >= 2]
    return math.sqrt(statistics.fmean(variances)) if variances else 0.0


def _one_sided_p(
    base: Sequence[float], now: Sequence[float], shift: float, trim: float = 0.0
) -> float | None:
    """P-value of a Welch t-test (Yuen's, on trimmed means, under ``trim``) that ``now`` moved in the
    direction of ``shift``; None if untestable."""
    if len(base) < 2 or len(now) < 2:
        return None
    if _pooled_std(base, [], trim) == 0 and _pooled_std(now, [], trim) == 0:
        return 1.0 if shift == 0 else 0.0  # both deterministic: any shift is certain
    alternative = "greater" if shift > 0 else "less"
    result = stats.ttest_ind(now, base, equal_var=False, alternative=alternative, trim=trim)
    return float(result.pvalue)


def _paired_p(diffs: Sequence[float], shift: float, trim: float = 0.0) -> float | None:
    """One-sided p-value that the pairs' differences moved in the direction of ``shift``: the one-sample
    trimmed t-test: g = int(trim n) values cut from each end leave h = n - 2g, the standard error is the
    winsorized standard deviation x sqrt(n) / h, with h - 1 degrees of freedom); None if untestable."""
    n = len(diffs)
    kept = n - 2 * int(trim * n)
    if kept < 2:
        return None
    spread = _pooled_std(diffs, [], trim)
    if spread == 0:
        return 1.0 if shift == 0 else 0.0  # deterministic: any shift is certain
    t = shift / (spread * math.sqrt(n) / kept)
    return float(stats.t.sf(abs(t), kept - 1))
