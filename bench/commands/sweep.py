"""``kdbench sweep``: search the KD-DAGFM space with Optuna under Ray Tune; every trial into the store.

``kdbench sweep --space quick --dataset ml-100k --trials 16 --name demo`` starts a sweep;
``kdbench sweep --resume demo`` continues one whose driver stopped. See ``docs/sweeps.md``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TypedDict

from rich.console import Console

from kdbench.bench.errors import SweepError
from kdbench.bench.io import check_output_file, output_console, write_json

__all__ = ["print_summary", "register", "sweep", "versus_default"]

# Flags that define a sweep: fixed at creation, refused with --resume (defaults applied only for new sweeps).
RECIPE_DEFAULTS: dict[str, Any] = {
    "space": "quick",
    "dataset": "ml-100k",
    "dataset_path": None,
    "dataset_schema": None,
    "split_seed": None,  # 2022, or the seed a prepared dataset name was prepared with
    "trials": 16,  # None when --time-budget is given alone: as many as the budget allows
    "time_budget": None,
    "warm_start": True,
    "objective": "auc",
    "sampler": "tpe",
    "seed": 2022,
    "scheduler": "none",
    "grace_period": 2,
    "reduction_factor": 3.0,
    "no_recipe": False,
}
RUNTIME_DEFAULTS: dict[str, Any] = {"concurrency": 2, "cpus_per_trial": 1.0, "gpus_per_trial": 0.0}


class _Common(TypedDict):
    """What ``run_sweep`` and ``resume_sweep`` are both given."""

    db: str | None
    address: str | None
    ray_storage: str | None
    ray_temp_dir: str | None
    data_cache: str | None
    artifacts: str | bool | None
    progress: str
    console: Console


def register(subparsers: argparse._SubParsersAction) -> None:
    from kdbench.bench.sweep import (  # the face is light: no Ray, pandas or SQL
        OBJECTIVES,
        SAMPLERS,
        SCHEDULERS,
    )

    p = subparsers.add_parser(
        "sweep",
        help="hyperparameter search: Optuna + Ray Tune, every trial a full KD run",
        description="Search a KD-DAGFM space with Optuna, scheduled and parallelised by Ray Tune; every "
        "trial (teacher -> distillation -> finetuning) and the Optuna study go to the results database.",
    )
    what = p.add_argument_group("what to search (fixed when the sweep is created)")
    what.add_argument("--space", help="search space: packaged name or YAML file (default: quick)")
    what.add_argument(
        "--dataset", help="a source (default: ml-100k), or a prepared dataset's name or fingerprint"
    )
    what.add_argument("--path", dest="dataset_path", help="raw data file or folder for sources that need one")
    what.add_argument("--schema", dest="dataset_schema", help="schema YAML for csv/parquet sources")
    what.add_argument(
        "--split-seed",
        type=int,
        help="seed of the dataset's 8:1:1 split (default: 2022, or the one a prepared name was made with)",
    )
    what.add_argument(
        "--trials", type=int, help="trials to finish (default: 16, or unlimited under --time-budget alone)"
    )
    what.add_argument(
        "--time-budget",
        metavar="DURATION",
        help="start no trial after this long (90s, 30m, 2h; running ones get a tenth of it more, then stop); "
        "with --trials, whichever comes first; a --resume gets what is left",
    )
    what.add_argument(
        "--no-warm-start",
        dest="warm_start",
        action="store_const",
        const=False,
        help="do not evaluate the default configuration (the dataset's recipe projected onto the space) "
        "as the first trial",
    )
    what.add_argument(
        "--objective",
        choices=list(OBJECTIVES),
        help="auc (default; student valid AUC), or multi-objective "
        "auc+latency / auc+flops (Pareto front; needs --scheduler none)",
    )
    what.add_argument("--sampler", choices=SAMPLERS, help="Optuna sampler (default: tpe)")
    what.add_argument("--seed", type=int, help="sampler seed (default: 2022)")
    what.add_argument(
        "--scheduler",
        choices=SCHEDULERS,
        help="early stopping on student epochs (default: none; docs/sweeps.md says why)",
    )
    what.add_argument("--grace-period", type=int, help="student epochs before a trial may be stopped (2)")
    what.add_argument("--reduction-factor", type=float, help="ASHA's reduction factor (default: 3)")
    what.add_argument(
        "--no-recipe",
        action="store_const",
        const=True,
        help="trials start from the trial-config defaults, not the dataset's recipe (`kdbench data info`)",
    )

    where = p.add_argument_group("where results go")
    where.add_argument(
        "--name",
        help="sweep and Optuna study name: 1-100 ASCII letters, digits, '.', '_' or '-', starting with a "
        "letter or digit (default: <space>-<dataset>-<time>)",
    )
    where.add_argument("--db", help="results database URL (default: sqlite:///kdbench.db)")
    where.add_argument("--resume", metavar="NAME", help="continue sweep NAME as it was created")

    how = p.add_argument_group("how it runs")
    how.add_argument("--concurrency", type=int, help="trials at once (default: 2)")
    how.add_argument("--cpus-per-trial", type=float, help="CPUs (= torch threads) per trial (default: 1)")
    how.add_argument(
        "--gpus-per-trial", type=float, help="GPUs per trial; fractions share one (0.25: four per GPU)"
    )
    how.add_argument(
        "--address", help="join a running Ray cluster (host:port of `ray start --head`, or auto)"
    )
    how.add_argument(
        "--teacher-cache", help="teacher cache folder, shared by every node (default: $KDBENCH_HOME/teachers)"
    )
    how.add_argument("--no-teacher-cache", action="store_true", help="always train teachers")
    how.add_argument(
        "--data-cache",
        help="datasets folder every node can read; big datasets are mapped from there, not shipped "
        "(default: this machine's $KDBENCH_HOME/datasets; docs/scale.md)",
    )
    kept = how.add_mutually_exclusive_group()
    kept.add_argument(
        "--artifacts",
        metavar="DIR",
        help="folder every node can write where each trial keeps its student (default: each node's "
        "$KDBENCH_HOME/artifacts; docs/serving.md)",
    )
    kept.add_argument(
        "--no-artifacts",
        action="store_true",
        help="keep no trial's student (a Criteo-size student is hundreds of MB; `kdbench train --config` "
        "keeps the chosen one later)",
    )
    how.add_argument("--ray-storage", help="Ray Tune's results folder (default: $KDBENCH_HOME/ray_results)")
    how.add_argument(
        "--ray-temp-dir",
        help="session folder of a Ray instance this sweep starts (default: a private one, removed on exit)",
    )
    how.add_argument("--quiet", action="store_true", help="no progress output, only the summary (CI)")
    how.add_argument("--json", dest="json_path", help="also write the summary as JSON to this file")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    values = {key: getattr(args, key) for key in (*RECIPE_DEFAULTS, *RUNTIME_DEFAULTS)}
    teacher_cache = None if args.no_teacher_cache else args.teacher_cache
    summary = sweep(
        **values,
        name=args.name,
        db=args.db,
        resume=args.resume,
        address=args.address,
        teacher_cache=teacher_cache,
        no_teacher_cache=args.no_teacher_cache,
        ray_storage=args.ray_storage,
        ray_temp_dir=args.ray_temp_dir,
        data_cache=args.data_cache,
        artifacts=False if args.no_artifacts else args.artifacts,
        quiet=args.quiet,
        json_path=args.json_path,
    )
    return 0 if summary["status"] == "completed" else 130 if summary["status"] == "interrupted" else 1


def sweep(
    *,
    resume: str | None = None,
    name: str | None = None,
    db: str | None = None,
    address: str | None = None,
    teacher_cache: str | None = None,
    no_teacher_cache: bool = False,
    ray_storage: str | None = None,
    ray_temp_dir: str | None = None,
    data_cache: str | None = None,
    artifacts: str | bool | None = None,
    quiet: bool = False,
    json_path: str | None = None,
    console: Console | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Start (or with ``resume``, continue) a sweep; print and return its summary dict.

    ``options`` are the recipe and resource flags (``space``, ``trials``, ``concurrency``, ...; see
    :data:`RECIPE_DEFAULTS` and :data:`RUNTIME_DEFAULTS`); None means the default (on resume: the sweep's).
    """
    from kdbench.bench.sweep import resume_sweep, run_sweep

    unknown = set(options) - set(RECIPE_DEFAULTS) - set(RUNTIME_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown sweep options: {', '.join(sorted(unknown))}")
    if json_path is not None:
        check_output_file(json_path, "--json")  # before the sweep, not after it
    console = console or output_console()
    progress = "quiet" if quiet else "auto"
    runtime: dict[str, Any] = {key: options.get(key) for key in RUNTIME_DEFAULTS}
    common: _Common = {"db": db, "address": address, "ray_storage": ray_storage, "ray_temp_dir": ray_temp_dir,
              "data_cache": data_cache, "artifacts": artifacts,
              "progress": progress, "console": console}  # fmt: skip
    if resume:
        given = [f"--{k.replace('_', '-')}" for k in RECIPE_DEFAULTS if options.get(k) is not None]
        if given or (name and name != resume):
            flags = ", ".join(given + (["--name"] if name and name != resume else []))
            raise SweepError(f"--resume {resume} continues the sweep as it was created: drop {flags}")
        cache: str | None = None if no_teacher_cache else (teacher_cache or "stored")
        result = resume_sweep(name=resume, **runtime, teacher_cache=cache, **common)
    else:
        recipe = {k: v if options.get(k) is None else options[k] for k, v in RECIPE_DEFAULTS.items()}
        if options.get("time_budget") is not None and options.get("trials") is None:
            recipe["trials"] = None  # the budget alone ends the sweep
        runtime = {k: v if runtime[k] is None else runtime[k] for k, v in RUNTIME_DEFAULTS.items()}
        if recipe["objective"] != "auc" and options.get("sampler") is None:
            recipe["sampler"] = "tpe"
        cache = None if no_teacher_cache else (teacher_cache or "default")
        result = run_sweep(**recipe, **runtime, name=name, teacher_cache=cache, **common)
    summary = result.to_dict()
    print_summary(console, summary)
    if json_path is not None:
        write_json(json_path, summary, "--json")
    return summary


def versus_default(summary: dict[str, Any]) -> str:
    """How the best trial compares with the default configuration (the warm-start trial)."""
    number = summary["default_number"]
    if summary["best_number"] == number:
        return (
            f"the default configuration (trial {number}) is the best trial: the search found nothing better"
        )
    gain = summary["best_student_test_auc"] - summary["default_student_test_auc"]
    return (
        f"best: {gain:+.4f} test AUC over the default configuration "
        f"(trial {number}: valid {summary['default_student_valid_auc']:.4f}, "
        f"test {summary['default_student_test_auc']:.4f})"
    )


def print_summary(console: Console, summary: dict[str, Any]) -> None:
    counts = ", ".join(f"{n} {status}" for status, n in sorted(summary["trials"].items())) or "no trials"
    console.print(f"sweep {summary['name']} {summary['status']}: {counts} in {summary['wall_seconds']:.0f} s")
    if summary["best_number"] is not None:
        console.print(
            f"best trial {summary['best_number']}: "
            f"student valid AUC {summary['best_student_valid_auc']:.4f}, "
            f"test AUC {summary['best_student_test_auc']:.4f}"
        )
        console.print(f"best config: {json.dumps(summary['best_config'])}")
        if summary.get("default_number") is not None:
            console.print(versus_default(summary))
    for point in summary.get("pareto_front") or []:
        console.print(
            "pareto: "
            + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in point.items())
        )
    console.print(f"results: {summary['store_url']} (Optuna study {summary['study_name']!r})")
    if summary["status"] == "interrupted":
        console.print(f"continue with: kdbench sweep --resume {summary['name']} --db ...")
