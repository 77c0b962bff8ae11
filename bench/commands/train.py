"""``kdbench train``: one full KD trial with a live line per epoch, a phase table and a cost table.

The config is composed in layers, later ones winning: the trial config defaults, the dataset's recipe
(``bench.recipes``; ``--no-recipe`` skips it), the ``--config`` file, the ``--set`` pairs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from bench.config import TrialConfig, parse_overrides
from bench.errors import ConfigError
from bench.inputs import read_text
from bench.outputs import check_output_file, write_json

__all__ = ["load_config_file", "register", "train"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="run one teacher -> distillation -> finetuning trial",
        description=(
            "Run one full KD-DAGFM trial. The config starts from the dataset's recipe (`kdbench data info "
            "NAME` shows it; csv and parquet have none), then --config, then --set."
        ),
    )
    p.add_argument("--dataset", default="ml-100k", help="dataset source (default: ml-100k)")
    p.add_argument("--path", help="raw data file or folder for sources that need one")
    p.add_argument("--schema", help="schema YAML for csv/parquet sources")
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
    p.add_argument("--threads", type=int, help="torch CPU threads (default: all)")
    p.add_argument("--teacher-cache", help="teacher cache folder (default: $KDBENCH_HOME/teachers)")
    p.add_argument("--no-teacher-cache", action="store_true", help="always train the teacher")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    train(
        dataset=args.dataset,
        path=args.path,
        schema=args.schema,
        config=load_config_file(args.config) if args.config else {},
        overrides=parse_overrides(args.overrides),
        recipe=not args.no_recipe,
        db=args.db,
        json_path=args.json_path,
        device=args.device,
        threads=args.threads,
        teacher_cache=None if args.no_teacher_cache else (args.teacher_cache or "default"),
        quiet=args.quiet,
    )
    return 0


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
    config: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    recipe: bool = True,
    db: str | None = None,
    json_path: str | None = None,
    device: str = "auto",
    threads: int | None = None,
    teacher_cache: str | None = None,
    quiet: bool = False,
    console: Console | None = None,
) -> dict[str, Any]:
    """Validate, prepare data, run the trial, print tables, optionally record it; returns the result dict.

    The config is ``dataset``'s recipe (unless ``recipe`` is False) under ``config`` (a ``--config`` file's
    values) under ``overrides`` (``--set``). ``teacher_cache``: a folder, ``"default"`` for
    ``$KDBENCH_HOME/teachers``, or None for no cache.
    """
    from bench.data import prepare
    from bench.footprint import check_fits
    from bench.recipes import build_config, recipe_for
    from bench.teacher_cache import TeacherCache
    from bench.trial import resolve_device, run_trial

    console = console or Console(stderr=False, highlight=False)
    # Everything that can be checked is checked before any data work: config, threads, device, paths, URL.
    start = recipe_for(dataset) if recipe else None
    cfg = build_config(start, config or {}, overrides or {})
    if threads is not None and (isinstance(threads, bool) or threads < 1):
        raise ConfigError(f"--threads must be an integer >= 1, got {threads!r}")
    target = resolve_device(device)
    if json_path is not None:
        check_output_file(json_path, "--json")
    if db is not None:
        from bench.store import check_url

        check_url(db)
    data = prepare(dataset, path=path, schema=schema, progress=not quiet)
    check_fits(cfg, data.vocab_sizes, target)
    with contextlib.ExitStack() as stack:
        # Created (if new) only now that the data has prepared, and proven writable before training.
        store = stack.enter_context(_open_store(db)) if db is not None else None
        # The trial's row is written before training (a failure is recorded too).
        recording = _start_recording(store, cfg, data) if store is not None else None
        cache_root = None if teacher_cache == "default" else teacher_cache
        cache = None if teacher_cache is None else TeacherCache(cache_root)

        def report(phase: str, epoch: int, m: dict[str, float]) -> None:
            if not quiet:
                console.print(
                    f"{phase:<16} epoch {epoch:>3}/{cfg.max_epochs}  loss {m['train_loss']:.4f}  "
                    f"valid AUC {m['valid_auc']:.4f}  logloss {m['valid_logloss']:.4f}  "
                    f"{m['seconds']:.2f} s  {m['samples_per_s']:,.0f} samples/s"
                )

        console.print(f"dataset {data.name}: {data.num_rows:,} rows, fingerprint {data.fingerprint}")
        if start is not None:
            console.print(f"recipe {start.name}: {json.dumps(start.to_dict()['values'])}")
        console.print(f"config {cfg.config_hash()}: {json.dumps(cfg.to_dict())}")
        try:
            trial = run_trial(
                cfg, data, report, device=device, teacher_cache=cache, threads=threads, recipe=start
            )
            result = trial.to_dict()
        except BaseException as e:  # a failed (or interrupted) trial is recorded as failed, with its reason
            if recording is not None:
                store.finish_trial(recording, status="failed", error=_reason(e))
                console.print(f"recorded as failed trial {recording} in {store.url_redacted}")
            raise
        _print_tables(console, result)

        if json_path:
            write_json(json_path, result, "--json")
            console.print(f"result written to {json_path}")
        if recording is not None:
            store.finish_trial(recording, status="completed", result=result)
            console.print(f"recorded as trial {recording} in {store.url_redacted}")
        return result


def _start_recording(store: Any, cfg: TrialConfig, data: Any) -> int:
    """Environment, dataset and a running trial under the implicit ``adhoc`` sweep; returns the trial id."""
    from bench.provenance import environment

    env_id = store.record_environment(environment())
    store.record_dataset(data.info())
    return store.start_trial(
        None, None, config=cfg.to_dict(), config_hash=cfg.config_hash(),
        config_family=cfg.config_hash(include_seed=False), seed=cfg.seed,
        dataset_fingerprint=data.fingerprint, environment_id=env_id,
    )  # fmt: skip


def _reason(error: BaseException) -> str:
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    return f"{type(error).__name__}: {error}"


def _open_store(url: str) -> Any:
    from bench.store import open_writable

    return open_writable(url)  # proven writable now: training must not end in a database that refuses it


def _print_tables(console: Console, result: dict[str, Any]) -> None:
    phases = Table(title="phases (metrics at the best epoch)")
    for column in (
        "phase",
        "epochs",
        "best",
        "valid AUC",
        "valid logloss",
        "test AUC",
        "test logloss",
        "seconds",
        "samples/s",
    ):
        phases.add_column(column, justify="left" if column == "phase" else "right")
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
    costs = Table(title=f"costs (teacher {result['config']['teacher']} vs {student_kind} student)")
    for column in ("", "teacher", "student", "student / teacher"):
        costs.add_column(column, justify="right")
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
    console.print(
        f"embedding parameters (shared): {result['embedding_params']:,}; "
        f"wall time {result['wall_seconds']:.1f} s on {result['device']}"
    )
    sys.stdout.flush()
