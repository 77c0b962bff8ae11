"""``kdbench demo``: the main job on a fresh machine — MovieLens-100K, a quick sweep, an HTML report."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from rich.console import Console

__all__ = ["demo", "register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="prepare MovieLens-100K, run a quick sweep, build the HTML report",
        description="The end-to-end demo: prepares the embedded MovieLens-100K dataset, runs a quick "
        "KD-DAGFM sweep (a few minutes on 2 cores), records it in a SQLite store and builds the report site.",
    )
    p.add_argument(
        "--out", default="kdbench-demo", help="folder for the database and the site (default: %(default)s)"
    )
    p.add_argument("--trials", type=int, default=8, help="trials in the sweep (default: %(default)s)")
    p.add_argument("--space", default="quick", help="search space (default: %(default)s)")
    p.add_argument("--concurrency", type=int, default=2, help="trials at once (default: %(default)s)")
    p.add_argument(
        "--scheduler",
        default="none",
        choices=("none", "asha", "median"),
        help="early stopping (default: %(default)s: every trial finishes and gets a leaderboard row; "
        "`kdbench sweep` defaults to asha)",
    )
    p.add_argument("--quiet", action="store_true", help="no live progress table")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    summary = demo(
        out=args.out,
        trials=args.trials,
        space=args.space,
        concurrency=args.concurrency,
        scheduler=args.scheduler,
        quiet=args.quiet,
    )
    return 0 if summary["sweep"]["status"] == "completed" else 1


def demo(
    *,
    out: str = "kdbench-demo",
    trials: int = 8,
    space: str = "quick",
    concurrency: int = 2,
    scheduler: str = "none",
    quiet: bool = False,
    console: Console | None = None,
) -> dict[str, Any]:
    """Prepare ml-100k, sweep, build the site; returns ``{"sweep": summary dict, "index": path}``."""
    from bench.data import prepare
    from bench.sweep import run_sweep
    from reports import build_site

    console = console or Console(highlight=False)
    folder = Path(out).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    db = f"sqlite:///{folder / 'results.db'}"

    data = prepare("ml-100k", progress=not quiet)
    console.print(
        f"[bold]1/3 data[/bold] ml-100k: {data.num_rows:,} rows, {100 * data.positive_rate:.1f} % positive, "
        f"{len(data.vocab_sizes)} fields, fingerprint {data.fingerprint}"
    )
    name = f"demo-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    console.print(
        f"[bold]2/3 sweep[/bold] {name}: {trials} trials of the {space!r} space, {concurrency} at once"
    )
    summary = run_sweep(
        space=space,
        dataset="ml-100k",
        trials=trials,
        name=name,
        db=db,
        concurrency=concurrency,
        # A demo of 8 trials under ASHA keeps one or two to the end: a leaderboard of one row.
        scheduler=scheduler,
        progress="quiet" if quiet else "auto",
        console=console,
    )
    counts = ", ".join(f"{n} {status}" for status, n in summary.trials.items())
    console.print(f"    {summary.status} in {summary.wall_seconds:.0f} s ({counts})")
    if summary.best_number is not None:
        console.print(
            f"    best trial #{summary.best_number}: student valid AUC {summary.best_student_valid_auc:.4f}, "
            f"test AUC {summary.best_student_test_auc:.4f}"
        )
    index = build_site(db, folder / "site")
    console.print(f"[bold]3/3 report[/bold] {index}")
    console.print(f"results database: {db} (open the study with: optuna-dashboard {db})")
    return {"sweep": summary.to_dict(), "index": str(index)}
