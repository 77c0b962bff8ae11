"""``kdbench train``: one full KD trial with a live line per epoch, a phase table and a cost table.

The config is composed in layers, later ones winning: the trial config defaults, the dataset's recipe
(its source's, or one fitted to the data's size: ``kdbench.bench.recipes.recipe_for_data``; ``--no-recipe``
skips it), the ``--config`` file, the ``--set`` pairs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

import yaml
from rich.console import Console

from kdbench.bench.commands import SPLIT_SEED_HELP, add_dataset_arguments
from kdbench.bench.config import TrialConfig, parse_overrides
from kdbench.bench.errors import ConfigError, Terminated, sigterm_as_interrupt
from kdbench.bench.io import check_output_file, output_console, read_text, table, write_json

__all__ = ["load_config_file", "register", "train"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="run one teacher -> distillation -> finetuning trial",
        description=(
            "Run one full KD-DAGFM trial. The config starts from the dataset's recipe (its source's, or one "
            "fitted to the data's size; `kdbench data info NAME` shows which and why), then --config, then "
            "--set."
        ),
    )
    add_dataset_arguments(p)
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument(
        "--split-seed",
        type=int,
        help=SPLIT_SEED_HELP,
    )
    seeds.add_argument(
        "--split-seeds",
        metavar="S1,S2,...",
        help="repeat the trial on each split (e.g. 1,2,3,4,5) and print mean ± std of the test metrics",
    )
    p.add_argument("--config", help="YAML file of config keys (see `kdbench space show default`)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config key, e.g. --set lr=1e-3 --set teacher=cin (repeatable)",
    )
    p.add_argument(
        "--no-recipe",
        action="store_true",
        help="start from the trial config defaults (the paper's ML-1M settings), not the dataset's recipe",
    )
    p.add_argument("--db", help="record the trial in this results database (SQLAlchemy URL)")
    p.add_argument("--json", dest="json_path", help="write the result as JSON to this file")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    p.add_argument(
        "--threads",
        type=int,
        help="torch CPU threads (default: $OMP_NUM_THREADS, else half the CPUs, at most 8; recorded)",
    )
    p.add_argument("--teacher-cache", help="teacher cache folder (default: $KDBENCH_HOME/teachers)")
    p.add_argument("--no-teacher-cache", action="store_true", help="always train the teacher")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    kept = p.add_mutually_exclusive_group()
    kept.add_argument(
        "--artifacts",
        metavar="DIR",
        help="keep the student artifact in this folder (default: $KDBENCH_HOME/artifacts; docs/serving.md)",
    )
    kept.add_argument("--no-artifacts", action="store_true", help="keep no student artifact")
    p.add_argument("--save-student", metavar="FILE", help="also write the student artifact to this file")
    p.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the LR and GBDT baselines (fitted once per dataset split, `kdbench baseline`)",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    train(
        dataset=args.dataset,
        path=args.path,
        schema=args.schema,
        split_seed=args.split_seed,
        split_seeds=parse_split_seeds(args.split_seeds) if args.split_seeds is not None else None,
        config=load_config_file(args.config) if args.config else {},
        overrides=parse_overrides(args.overrides),
        recipe=not args.no_recipe,
        db=args.db,
        json_path=args.json_path,
        device=args.device,
        threads=args.threads,
        teacher_cache=None if args.no_teacher_cache else (args.teacher_cache or "default"),
        quiet=args.quiet,
        artifacts=False if args.no_artifacts else args.artifacts,
        save_student=args.save_student,
        baseline=not args.no_baseline,
    )
    return 0


def parse_split_seeds(text: str) -> list[int]:
    """``--split-seeds``' value: two or more distinct integers >= 0, comma-separated."""
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--split-seeds takes integers, comma-separated (1,2,3), got {text!r}") from None
    if len(seeds) < 2 or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ConfigError(f"--split-seeds needs two or more distinct integers >= 0 (1,2,3), got {text!r}")
    return seeds


def load_config_file(path: str) -> dict[str, Any]:
    """A YAML mapping of config keys; malformed files raise ConfigError naming the file."""
    text = read_text(path, "config file", ConfigError)
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path} is not valid YAML: {e}") from e
    if not isinstance(values, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping of config keys, got {type(values).__name__}"
        )
    return values


def train(
    *,
    dataset: str = "ml-100k",
    path: str | None = None,
    schema: str | None = None,
    split_seed: int | None = None,
    split_seeds: list[int] | None = None,
    config: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    recipe: bool = True,
    db: str | None = None,
    json_path: str | None = None,
    device: str = "auto",
    threads: int | None = None,
    teacher_cache: str | None = None,
    quiet: bool = False,
    artifacts: str | bool | None = None,
    save_student: str | None = None,
    baseline: bool = True,
    console: Console | None = None,
) -> dict[str, Any]:
    """Validate, prepare data, run the trial, print tables, optionally record it; returns the result dict.

    The student is kept as an artifact (``kdbench.bench.serve``) in ``artifacts`` (a folder; None:
    ``$KDBENCH_HOME/artifacts``; False: not kept) and, with ``save_student``, in that file too; the
    result's ``artifact`` (recorded with the trial) holds its path and sha256.

    The config is ``dataset``'s recipe (unless ``recipe`` is False) under ``config`` (a ``--config`` file's
    values) under ``overrides`` (``--set``). ``teacher_cache``: a folder, ``"default"`` for
    ``$KDBENCH_HOME/teachers``, or None for no cache. ``dataset`` is a source, or a prepared dataset's name
    or fingerprint; ``split_seed`` picks the split (default: 2022, or the name's). With ``split_seeds`` the
    trial runs once per split and the result is ``{"split_seeds", "trials", "summary"}`` (mean and sample
    std of each test metric).

    With ``baseline`` the dataset's LR and GBDT baselines (``kdbench.bench.baselines``, fitted once per
    dataset fingerprint on this machine) come after the trial: the result's ``baselines`` holds them, the
    cost table is followed by ``vs GBDT: +0.0123`` (student test AUC minus GBDT's) and ``db`` records them.
    A baseline that cannot be fitted is a one-line note, never the trial's failure.
    """
    if split_seeds is not None:
        if split_seed is not None:
            raise ConfigError("give --split-seed or --split-seeds, not both")
        if save_student is not None:
            raise ConfigError(
                "--save-student keeps one trial's student: drop --split-seeds (or use --artifacts)"
            )
        from kdbench.bench.data import default_split_seed

        if default_split_seed(dataset, schema=schema) is None:
            raise ConfigError(
                f"dataset {dataset} comes with its split (given, or time-ordered): --split-seeds does not "
                "apply to it; drop it"
            )
        return _train_over_splits(
            split_seeds, dataset=dataset, path=path, schema=schema, config=config, overrides=overrides,
            recipe=recipe, db=db, json_path=json_path, device=device, threads=threads,
            teacher_cache=teacher_cache, quiet=quiet, artifacts=artifacts, console=console, baseline=baseline,
        )  # fmt: skip
    from kdbench.bench.data import dataset_source, open_dataset
    from kdbench.bench.recipes import build_config, recipe_for, recipe_for_data
    from kdbench.bench.teacher_cache import TeacherCache
    from kdbench.bench.trial import check_fits, default_threads, resolve_device, run_trial

    console = console or output_console()
    # Everything that can be checked is checked before any data work: config, threads, device, paths, URL.
    # The config is checked over the source's recipe now and composed again over the data's once it is open.
    start = recipe_for(dataset_source(dataset)) if recipe else None
    cfg = build_config(start, config or {}, overrides or {})
    if threads is not None and (isinstance(threads, bool) or threads < 1):
        raise ConfigError(f"--threads must be an integer >= 1, got {threads!r}")
    target = resolve_device(device)
    if json_path is not None:
        check_output_file(json_path, "--json")
    if save_student is not None:
        check_output_file(save_student, "--save-student")
    if isinstance(artifacts, str):
        from kdbench.bench.serve import check_artifacts_folder

        check_artifacts_folder(artifacts, "--artifacts")
    if db is not None:
        from kdbench.bench.store import check_url

        check_url(db)
    data = open_dataset(dataset, path=path, schema=schema, split_seed=split_seed, progress=not quiet)
    if recipe:
        start = recipe_for_data(data.info())
        cfg = build_config(start, config or {}, overrides or {})
    check_fits(cfg, data.vocab_sizes, target)
    with contextlib.ExitStack() as stack:
        stack.enter_context(sigterm_as_interrupt())  # `kill PID` settles the recorded row like Ctrl-C
        # Created (if new) only now that the data has prepared, and proven writable before training.
        store = stack.enter_context(_open_store(db)) if db is not None else None
        # The trial's row is written before training (a failure is recorded too).
        recording = _start_recording(store, cfg, data, console) if store is not None else None
        cache_root = None if teacher_cache == "default" else teacher_cache
        cache = None if teacher_cache is None else TeacherCache(cache_root)

        def report(phase: str, epoch: int, m: dict[str, float]) -> None:
            if not quiet:
                console.print(
                    f"{phase:<16} epoch {epoch:>3}/{cfg.max_epochs}  loss {m['train_loss']:.4f}  "
                    f"valid AUC {m['valid_auc']:.4f}  logloss {m['valid_logloss']:.4f}  "
                    f"{m['seconds']:.2f} s  {m['samples_per_s']:,.0f} samples/s"
                )

        seed = data.protocol.get("split", {}).get("seed")
        console.print(
            f"dataset {data.name}: {data.num_rows:,} rows, split seed {seed}, fingerprint {data.fingerprint}"
        )
        if start is not None:
            console.print(f"recipe {start.name}: {json.dumps(start.to_dict()['values'])}", highlight=False)
            console.print(f"  {start.rationale}", highlight=False)
        console.print(f"config {cfg.config_hash()}: {json.dumps(cfg.to_dict())}")
        try:
            trial = run_trial(
                cfg, data, report, device=device, teacher_cache=cache, threads=threads or default_threads(),
                recipe=start, artifacts=artifacts, save_student=save_student,
            )  # fmt: skip
            result = trial.to_dict()
        except BaseException as e:  # a failed (or interrupted) trial is recorded as failed, with its reason
            if store is not None and recording is not None:  # (a recording has a store)
                store.finish_trial(recording, status="failed", error=_reason(e))
                console.print(f"recorded as failed trial {recording} in {store.url_redacted}")
            raise
        baselines = _baselines(console, data, threads) if baseline else None
        if baselines is not None:
            result["baselines"] = [b.to_dict() for b in baselines]
        _print_tables(console, result)
        if result.get("artifact"):
            kept = result["artifact"]
            copy = f" (and {kept['copy']})" if kept.get("copy") else ""
            console.print(f"student kept: {kept['path']}{copy}, sha256 {kept['sha256'][:16]}", soft_wrap=True)

        if json_path:
            write_json(json_path, result, "--json")
            console.print(f"result written to {json_path}")
        if store is not None and recording is not None:  # (a recording has a store)
            store.finish_trial(recording, status="completed", result=result)
            console.print(f"recorded as trial {recording} in {store.url_redacted}")
            if baselines:
                from kdbench.bench.commands.baseline import record_baselines

                record_baselines(store, data, baselines)
        return result


def _train_over_splits(split_seeds: list[int], *, json_path: str | None, **options: Any) -> dict[str, Any]:
    """One trial per split seed (each recorded when ``db`` is given), then mean ± sample std of the test
    metrics: the figure a paper's table reports."""
    import numpy as np

    if json_path is not None:
        check_output_file(json_path, "--json")
    console = options.pop("console") or output_console()
    trials: list[dict[str, Any]] = []
    for seed in split_seeds:
        console.print(f"[bold]split seed {seed}[/bold] ({len(trials) + 1} of {len(split_seeds)})")
        trials.append(train(split_seed=seed, json_path=None, console=console, **options))
    summary: dict[str, Any] = {}
    over = table(
        "", "teacher", "student", title=f"test metrics over {len(split_seeds)} splits (mean ± sample std)",
        numeric=("teacher", "student"),
    )  # fmt: skip
    for metric in ("test_auc", "test_logloss"):
        row = [metric.replace("_", " ").replace("auc", "AUC")]
        for model in ("teacher", "student"):
            values = np.array([t[model][metric] for t in trials], dtype=np.float64)
            mean, std = float(values.mean()), float(values.std(ddof=1))
            summary[f"{model}_{metric}"] = {"mean": mean, "std": std, "values": values.tolist()}
            row.append(f"{mean:.4f} ± {std:.4f}")
        over.add_row(*row)
    console.print(over)
    result = {"split_seeds": list(split_seeds), "trials": trials, "summary": summary}
    if json_path:
        write_json(json_path, result, "--json")
        console.print(f"results written to {json_path}")
    return result


def _start_recording(store: Any, cfg: TrialConfig, data: Any, console: Console) -> int:
    """Environment, dataset and a running trial under the implicit ``adhoc`` sweep, naming this process (its
    ``node``); returns the trial id. Rows of earlier `train` processes on this host that were killed are
    settled first."""
    from kdbench.bench.commands._trainers import driver_node, settle_gone
    from kdbench.bench.provenance import environment

    settled = settle_gone(store)
    if settled:
        ids = ", ".join(map(str, settled))
        console.print(f"settled {len(settled)} trial(s) whose `train` process was killed as failed: {ids}")
    env_id = store.record_environment(environment())
    store.record_dataset(data.info())
    return store.start_trial(
        None, None, config=cfg.to_dict(), config_hash=cfg.config_hash(),
        config_family=cfg.config_hash(include_seed=False), seed=cfg.seed,
        dataset_fingerprint=data.fingerprint, environment_id=env_id, node=driver_node(),
    )  # fmt: skip


def _reason(error: BaseException) -> str:
    if isinstance(error, Terminated):
        return "interrupted (SIGTERM)"
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    return f"{type(error).__name__}: {error}"


def _open_store(url: str) -> Any:
    from kdbench.bench.store import open_writable

    return open_writable(url)  # proven writable now: training must not end in a database that refuses it


def _baselines(console: Console, data: Any, threads: int | None) -> list[Any] | None:
    """The dataset's baselines (computed once per fingerprint, with a line saying so), or None with a note:
    the trial has finished, and a baseline that cannot be fitted must not lose it."""
    from kdbench.bench.commands.baseline import computed_line, fetch_baselines

    try:
        results, seconds = fetch_baselines(data, threads=threads)
    except Exception as e:  # whatever it is, the finished trial is still printed and recorded
        console.print(f"no baselines for {data.name}: {type(e).__name__}: {e}")
        return None
    if seconds is not None:
        console.print(computed_line(data, seconds))
    return results


def _print_tables(console: Console, result: dict[str, Any]) -> None:
    columns = ("phase", "epochs", "best", "valid AUC", "valid logloss", "test AUC", "test logloss", "seconds")
    phases = table(
        *columns, "samples/s", title="phases (metrics at the best epoch)", numeric=(*columns[1:], "samples/s")
    )
    for p in result["phases"]:
        kept = p["name"] == "finetuning" and p["best_epoch"] == 0  # the distilled student stayed the best
        phases.add_row(
            p["name"] + (" (cache)" if p["epochs"] == 0 else ""),
            str(p["epochs"]),
            "0 (distilled)" if kept else str(p["best_epoch"]),
            f"{p['valid_auc']:.4f}",
            f"{p['valid_logloss']:.4f}",
            f"{p['test_auc']:.4f}",
            f"{p['test_logloss']:.4f}",
            f"{p['seconds']:.1f}",
            f"{p['samples_per_s']:,.0f}",
        )
    console.print(phases)

    teacher, student = result["teacher"], result["student"]
    student_kind = "DAGFM+" if result["config"].get("student_mlp") else "DAGFM"
    costs = table(
        "",
        "teacher",
        "student",
        "student / teacher",
        title=f"costs (teacher {result['config']['teacher']} vs {student_kind} student)",
        numeric=("teacher", "student", "student / teacher"),
    )
    rows = [
        ("test AUC", "test_auc", "{:.4f}"),
        ("parameters", "params", "{:,}"),
        ("multiply-adds / sample", "flops", "{:,}"),
        ("latency batch 1 (ms)", "latency_ms_b1", "{:.3f}"),
        ("latency batch 4096 (ms)", "latency_ms_b4096", "{:.2f}"),
    ]
    for label, key, fmt in rows:
        ratio = (
            "" if key == "test_auc" else f"{100 * student[key] / teacher[key]:.1f} %" if teacher[key] else "-"
        )
        costs.add_row(label, fmt.format(teacher[key]), fmt.format(student[key]), ratio)
    console.print(costs)
    if result.get("baselines"):
        from kdbench.bench.commands.baseline import versus

        console.print(f"{versus(student['test_auc'], result['baselines'])} test AUC on this split")
    console.print(
        f"embedding parameters (shared): {result['embedding_params']:,}; "
        f"wall time {result['wall_seconds']:.1f} s on {result['device']}"
    )
    sys.stdout.flush()
