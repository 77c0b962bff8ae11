"""Regression benchmarks: did a change make KD-DAGFM worse or slower?

A *suite* (``bench/suites/<name>.yaml``, see :mod:`kdbench.bench._regress._suite`) names fixed cases: a
dataset, a trial config (no search), seeds and the tracked figures. :func:`run_suite` runs every case over its
seeds through ``run_trial`` (fresh, deterministic, no teacher cache) and measures each figure per seed: test
AUC and log loss of student and teacher, training throughput and inference latency as ratios to a reference
workload timed in the same process (so machines compare), and peak memory growth (information only).

:func:`verdict_rows` compares a run with a :class:`Baseline` (a committed JSON file or a stored run) figure by
figure: a regression must beat a minimum effect (AUC/logloss 0.001, speed 30 %), twice the seeds' pooled
standard deviation and a one-sided Welch t-test at 0.05 (see :mod:`kdbench.bench._regress._compare`).
Exit status: :data:`EXIT_OK` (0) nothing regressed or no baseline given, :data:`EXIT_REGRESSED` (1),
:data:`EXIT_FAILED` (2) the run itself failed (bad suite, missing baseline, a trial error, a baseline with
no comparable case). A baseline case that ran another config or dataset is ``incomparable`` (speed too
when the device differs).

:func:`record_run` stores a run (summary + one case dict per figure row) in the results database; the
report site renders it from there. :func:`run_markdown` and :func:`run_junit` are the run's faces for CI
systems (a job summary or pull-request comment; a test report).

:func:`run_ab` runs a suite for two git revisions of the current repository on this machine, seeds
interleaved, each revision exported once into ``$KDBENCH_HOME/regress-ab/<sha>`` (:func:`export_tree`) and run
by a worker of its own; the base revision's measurement is then the baseline (``kdbench regress ab``). Its
latency figures come from interleaved timing rounds of both sides' models (:class:`InferenceTimer`) and its
speed figures are judged seed by seed in pairs.
"""

from __future__ import annotations

from typing import Any

from kdbench.bench._regress._ab import LATENCY_CALLS, LATENCY_ROUNDS, ABMeasurement, run_ab, seed_order
from kdbench.bench._regress._baseline import (
    Baseline,
    from_stored_run,
    names_a_file,
    read_baseline_file,
    resolve_baseline,
    write_baseline_file,
)
from kdbench.bench._regress._compare import (
    IMPROVED,
    INCOMPARABLE,
    INFO,
    NEW,
    REGRESSED,
    SAME,
    VERDICTS,
    Comparison,
    compare,
)
from kdbench.bench._regress._figures import AB_RULES, FIGURES, RULES, Figure, Rule
from kdbench.bench._regress._junit import failed_junit, run_junit
from kdbench.bench._regress._markdown import failed_markdown, run_markdown
from kdbench.bench._regress._output import final_line, print_table, write_json
from kdbench.bench._regress._revisions import (
    Revision,
    check_clean,
    check_requirements,
    export_tree,
    repository_root,
    resolve_ref,
)
from kdbench.bench._regress._run import CaseMeasurement, SuiteMeasurement, prepare_datasets, run_suite
from kdbench.bench._regress._suite import (
    CaseSpec,
    DatasetSpec,
    Suite,
    available_suites,
    load_suite,
    parse_suite,
)
from kdbench.bench._regress._timing import InferenceTimer
from kdbench.bench._regress._verdicts import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REGRESSED,
    exit_status,
    run_summary,
    verdict_rows,
)

__all__ = [
    "AB_RULES",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_REGRESSED",
    "FIGURES",
    "IMPROVED",
    "INCOMPARABLE",
    "INFO",
    "LATENCY_CALLS",
    "LATENCY_ROUNDS",
    "NEW",
    "REGRESSED",
    "RULES",
    "SAME",
    "VERDICTS",
    "ABMeasurement",
    "Baseline",
    "CaseMeasurement",
    "CaseSpec",
    "Comparison",
    "DatasetSpec",
    "Figure",
    "InferenceTimer",
    "Revision",
    "Rule",
    "Suite",
    "SuiteMeasurement",
    "available_suites",
    "check_clean",
    "check_requirements",
    "compare",
    "exit_status",
    "export_tree",
    "failed_junit",
    "failed_markdown",
    "final_line",
    "from_stored_run",
    "load_suite",
    "names_a_file",
    "parse_suite",
    "prepare_datasets",
    "print_table",
    "read_baseline_file",
    "record_run",
    "repository_root",
    "resolve_baseline",
    "resolve_ref",
    "run_ab",
    "run_junit",
    "run_markdown",
    "run_suite",
    "run_summary",
    "seed_order",
    "verdict_rows",
    "write_baseline_file",
    "write_json",
]


def record_run(
    store: Any,
    summary: dict[str, Any],
    rows: list[dict[str, Any]],
    *,
    environment: dict[str, Any],
    tag: str | None = None,
) -> int:
    """Store a run in ``store`` (a :class:`~kdbench.bench.store.ResultStore`) with its environment; returns
    its id.

    The summary (``run_summary``) keeps each case's metadata and the rows keep per-seed values, so the run
    can serve as a baseline later (``--baseline RUN``, :func:`from_stored_run`).
    """
    env_id = store.record_environment(environment)
    return store.record_regression_run(
        summary["suite"], environment_id=env_id, summary=summary, cases=rows, tag=tag,
        baseline=summary["baseline"],
    )  # fmt: skip
