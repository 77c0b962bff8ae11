"""Benchmark of sweep orchestration on MovieLens-100K: ``python -m kdbench.bench.benchmarks.sweep``.

Runs the same sweep twice, side by side on this machine: with a fresh teacher cache and without one. The space
is ``quick`` with the teacher-side keys narrowed to two teachers (``--space`` to change), so teachers repeat;
the sampler is random and the scheduler none, so both runs train exactly the same configs. Prints, per run:

- sweep wall time (Tune's fit, Ray already up) against the trials' own training time: the busy fraction of
  the trial slots; orchestration overhead = 1 - sum(trial seconds) / (wall x concurrency), target < 10 %;
- trials per hour, and the ratio with / without the cache (target >= 2x where teachers repeat).

With ``--baseline`` it also trains the default configuration (``kdbench train`` defaults) once and prints its
student test AUC next to the best student of ``--compare`` (``DB_URL:SWEEP``), e.g. the 16-trial quick sweep;
``--skip-cache-runs`` does only that.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

# quick.yaml narrowed to its two larger teachers (CrossNet depth 3, CIN [64, 64]) at one embedding size and
# weight decay; the other keys are the student's. The cache pays in proportion to what a teacher costs next
# to its student: with quick's two smallest teachers (CrossNet depth 2, CIN [32, 32]) it gave 1.76x.
REPEATING_TEACHERS = """\
name: quick-2-teachers
description: quick, narrowed to two teachers so the teacher cache pays (kdbench.bench.benchmarks.sweep).
fixed:
  max_epochs: 20
  patience: 3
  seed: 2022
  lr: 3.0e-3
  batch_size: 2048
  embedding_size: 16
  weight_decay: 1.0e-3
params:
  teacher: {choices: [crossnet, cin]}
  t_depth: {value: 3, when: {teacher: crossnet}}
  t_cin: {choices: [[64, 64]], when: {teacher: cin}}
  interaction: {choices: [inner, outer]}
  depth: {int: [1, 3]}
  alpha: {float: [0.01, 1.0], log: true}
  beta: {float: [10.0, 10000.0], log: true}
"""


def trial_seconds(store, sweep: str) -> float:
    """Sum of the trials' own time: the full run for finished trials, the epochs run for stopped ones."""
    trials = store.trials(sweep=sweep)
    epochs = store.epochs(sweep=sweep)
    total = float(trials["wall_seconds"].fillna(0).sum())
    unfinished = trials[trials["wall_seconds"].isna()]["trial_id"]
    total += float(epochs[epochs["trial_id"].isin(unfinished)]["seconds"].sum())
    return total


def run_one(*, label: str, space: str, trials: int, concurrency: int, cache: str | None, db: str) -> dict:
    from kdbench.bench.store import ResultStore
    from kdbench.bench.sweep import run_sweep

    started = time.perf_counter()
    summary = run_sweep(
        space=space, trials=trials, name=label, db=db, sampler="random", scheduler="none", seed=7,
        concurrency=concurrency, cpus_per_trial=1, teacher_cache=cache, progress="quiet",
    )  # fmt: skip
    wall = time.perf_counter() - started
    with ResultStore(db, create=False) as store:
        busy = trial_seconds(store, label)
        hits = int(store.trials(sweep=label)["teacher_cache_hit"].fillna(False).sum())
    return {
        "label": label, "wall": wall, "sweep_wall": summary.wall_seconds, "busy": busy, "hits": hits,
        "trials": sum(summary.trials.values()), "overhead": 1 - busy / (summary.wall_seconds * concurrency),
        "per_hour": 3600 * sum(summary.trials.values()) / summary.wall_seconds,
        "best_test": summary.best_student_test_auc,
    }  # fmt: skip


def baseline(compare: str | None) -> None:
    from kdbench.bench.data import prepare
    from kdbench.bench.store import ResultStore
    from kdbench.bench.sweep import best_trial
    from kdbench.bench.trial import run_trial

    started = time.perf_counter()
    result = run_trial({}, prepare("ml-100k"), threads=2)
    print(f"default config: student test AUC {result.student['test_auc']:.4f} "
          f"(valid {result.student['valid_auc']:.4f}), {time.perf_counter() - started:.0f} s")  # fmt: skip
    if compare:
        url, _, sweep = compare.rpartition(":")
        with ResultStore(url, create=False) as store:
            trials = store.trials(sweep=sweep)
        best = best_trial(trials)
        if best is None:
            print(f"sweep {sweep}: no completed trial to set against the default")
            return
        print(f"sweep {sweep}: best trial {best['number']} (by valid AUC {best['student_valid_auc']:.4f}): "
              f"student test AUC {best['student_test_auc']:.4f}; "
              f"{'beats' if best['student_test_auc'] > result.student['test_auc'] else 'does not beat'} "
              "the default")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--space", help="space name or YAML (default: quick narrowed to two teachers)")
    parser.add_argument("--baseline", action="store_true", help="also train the default config once")
    parser.add_argument("--compare", help="DB_URL:SWEEP whose best student to set against the default")
    parser.add_argument("--skip-cache-runs", action="store_true", help="only the --baseline / --compare part")
    args = parser.parse_args()
    if args.skip_cache_runs:
        baseline(args.compare)
        return

    import ray

    work = Path(tempfile.mkdtemp(prefix="kdbench_bench_sweep_"))
    space = args.space
    if space is None:
        space = str(work / "quick-2-teachers.yaml")
        Path(space).write_text(REPEATING_TEACHERS)
    db = f"sqlite:///{work / 'bench.db'}"
    ray.init(
        num_cpus=args.concurrency, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING
    )
    common = {"space": space, "trials": args.trials, "concurrency": args.concurrency, "db": db}
    try:
        runs = [
            run_one(label="with-cache", cache=str(work / "teachers"), **common),
            run_one(label="no-cache", cache=None, **common),
        ]
    finally:
        ray.shutdown()
    print(f"{args.trials} trials, concurrency {args.concurrency}, space {Path(space).stem}, Ray already up")
    print(f"{'run':<12}{'sweep s':>9}{'trial s':>9}{'overhead':>10}{'trials/h':>10}{'cache hits':>12}"
          f"{'best test AUC':>15}")  # fmt: skip
    for r in runs:
        print(f"{r['label']:<12}{r['sweep_wall']:>9.1f}{r['busy']:>9.1f}{100 * r['overhead']:>9.1f}%"
              f"{r['per_hour']:>10.0f}{r['hits']:>12}{r['best_test'] or float('nan'):>15.4f}")  # fmt: skip
    print(
        f"teacher cache speed-up: {runs[0]['per_hour'] / runs[1]['per_hour']:.2f}x trials/hour (target >= 2x)"
    )
    if args.baseline or args.compare:
        baseline(args.compare)


if __name__ == "__main__":
    main()
