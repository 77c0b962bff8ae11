"""The figures a regression case can track: what each measures, its unit and how it is compared.

Quality figures are the test metrics of ``TrialResult`` (compared as absolute differences). Speed figures are
*ratios to a reference workload timed in the same process around the same seed* (see ``_reference``), so a
baseline made on one machine stays comparable on another: the absolute samples/s and milliseconds are kept
beside them as ``raw`` values, for information. Peak memory is the growth of the process's peak resident set
during the trial (see ``_memory``); it is tracked as information, never a verdict (see ``RULES``).
"""

from __future__ import annotations

import dataclasses
import math

__all__ = ["AB_RULES", "FIGURES", "KINDS", "RULES", "Figure", "Rule"]


@dataclasses.dataclass(frozen=True)
class Figure:
    name: str
    kind: str  # "quality", "speed" or "memory": picks the comparison rule
    unit: str  # of the compared value
    higher_is_better: bool
    raw_unit: str | None  # of the absolute value kept beside a ratio (speed), else None
    description: str


@dataclasses.dataclass(frozen=True)
class Rule:
    """How a kind of figure is compared (see ``_compare.compare``).

    ``relative``: compare on the log scale (ratios: a 2x slowdown is as far as a 2x speed-up) and report the
    change as a fraction; else compare differences. ``min_effect``: changes at or under it are noise, whatever
    the p-value (on the log scale when relative). ``noise_factor``: a change must also exceed this many pooled
    seed standard deviations. ``alpha``: the one-sided Welch t-test's significance level. ``gating``: False
    makes every verdict ``info``. ``trim``: the share of each side's values cut from each end before the
    means, spread and test (Yuen's trimmed t-test; 0 keeps every value). ``paired``: when both sides ran the
    same seeds, compare them seed by seed (the differences' trimmed mean, spread and one-sample test) rather
    than as two independent samples.
    """

    relative: bool
    min_effect: float
    noise_factor: float = 2.0
    alpha: float = 0.05
    gating: bool = True
    trim: float = 0.0
    paired: bool = False


KINDS = ("quality", "speed", "memory")

RULES: dict[str, Rule] = {
    # BARS (Zhu et al. 2022) treats AUC differences under 0.001 as noise; log loss gets the same floor.
    "quality": Rule(relative=False, min_effect=0.001),
    # A shared 2-core machine and CI runners move speed by tens of percent: only a slowdown beyond 30 % (that
    # is also significant and beyond twice the seeds' noise) counts, so repeated runs never false-alarm while
    # a 2x slowdown is caught.
    # Timing noise comes in bursts (other work slows one seed's short latency window by up to 60 %), so speed
    # trims a fifth of each side: of five seeds, the fastest and the slowest are left out (Yuen's test).
    "speed": Rule(relative=True, min_effect=math.log(1.3), trim=0.2),
    # Peak RSS depends on the allocator, thread count and what the process held before: information only.
    "memory": Rule(relative=True, min_effect=math.log(1.25), gating=False),
}

# `regress ab`: base and head run on one machine in one job, their seeds interleaved, so what the 30 % floor
# absorbs (another machine, another load) moves both sides alike; a 10 % change can be told from the seeds'
# noise there, which still has to be beaten twice over and pass the t-test. Each seed's two sides ran (and
# their latencies were timed) side by side, so speed is judged in pairs: what slowed the machine for one
# seed slowed both of its sides and cancels out of their ratio.
# Training throughput is the exception: it comes from the trials' own epochs (a few tenths of a second each),
# which no rounds interleave, and with another job on the machine its pairs moved by up to 15 % with the code
# unchanged (one false alarm at -9.6 % in 13 runs under the 10 % floor), so it keeps a 20 % floor. A rule
# keyed by a figure's name overrides its kind's.
AB_RULES: dict[str, Rule] = {
    **RULES,
    "speed": dataclasses.replace(RULES["speed"], min_effect=math.log(1.1), paired=True),
    "train_throughput": dataclasses.replace(RULES["speed"], min_effect=math.log(1.2), paired=True),
}

_REFERENCE = "ratio"  # to the reference unit

FIGURES: dict[str, Figure] = {
    f.name: f
    for f in (
        Figure("student_test_auc", "quality", "AUC", True, None, "student test AUC after the last phase"),
        Figure("student_test_logloss", "quality", "logloss", False, None, "student test log loss"),
        Figure("teacher_test_auc", "quality", "AUC", True, None, "teacher test AUC (teacher_training)"),
        Figure("teacher_test_logloss", "quality", "logloss", False, None, "teacher test log loss"),
        Figure(
            "train_throughput", "speed", _REFERENCE, True, "samples/s",
            "training samples/s over all phases x the reference unit's seconds",
        ),
        Figure(
            "student_latency", "speed", _REFERENCE, False, "ms",
            "student inference latency at batch 4096 / the reference unit's time",
        ),
        Figure(
            "teacher_latency", "speed", _REFERENCE, False, "ms",
            "teacher inference latency at batch 4096 / the reference unit's time",
        ),
        Figure("peak_memory", "memory", "MiB", False, None, "peak resident memory growth during the trial"),
    )
}  # fmt: skip
