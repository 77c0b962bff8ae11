"""``kdbench demo``: the main job on a fresh machine — MovieLens-100K, a quick sweep, an HTML report."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, cast

from rich.console import Console

from kdbench.bench.errors import UsageError
from kdbench.bench.io import output_console

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
    from kdbench.bench.data import prepare
    from kdbench.bench.sweep import run_sweep
    from kdbench.reports import build_site

    console = console or output_console()
    if not str(out).strip():
        raise UsageError("--out is empty: give a folder for the database and the site")
    folder = Path(out).resolve()
    _check(folder, trials=trials, space=space, concurrency=concurrency)
    data = prepare("ml-100k", progress=not quiet)
    console.print(
        f"[bold]1/3 data[/bold] ml-100k: {data.num_rows:,} rows, {100 * data.positive_rate:.1f} % positive, "
        f"{len(data.vocab_sizes)} fields, fingerprint {data.fingerprint}"
    )
    try:  # only now: a demo that fails on its data leaves no empty folder behind
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create --out {out}: {e.strerror or e}") from e
    db = f"sqlite:///{folder / 'results.db'}"
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
        if summary.default_number is not None:
            from kdbench.bench.commands.sweep import versus_default

            console.print(f"    {versus_default(summary.to_dict())}")
        # cast: a sweep summary with a best trial has its test AUC (sweep.SweepSummary)
        best_test_auc = cast(float, summary.best_student_test_auc)
        console.print(f"    {_versus_baselines(db, data, best_test_auc)}")
    index = build_site(db, folder / "site")
    console.print(f"[bold]3/3 report[/bold] {index}")
    console.print(f"results database: {db} (open the study with: optuna-dashboard {db})")
    return {"sweep": summary.to_dict(), "index": str(index)}


def _versus_baselines(db: str, data: Any, best_test_auc: float) -> str:
    """Fit (once per dataset, cached) and record the LR and GBDT baselines, so the site's leaderboard shows
    them; the line comparing the best student with them."""
    from kdbench.bench.commands.baseline import fetch_baselines, record_baselines, versus
    from kdbench.bench.store import open_writable

    results, _ = fetch_baselines(data)
    with open_writable(db) as store:
        record_baselines(store, data, results)
    return f"best student {versus(best_test_auc, [r.to_dict() for r in results])} on the same split"


def _check(folder: Path, *, trials: int, space: str, concurrency: int) -> None:
    """What the sweep and the report would refuse, refused before ml-100k is prepared or anything written."""
    from kdbench.bench.sweep import check_count, load_trial_space
    from kdbench.reports import check_site_folder

    check_count("trials", trials, minimum=1)
    check_count("concurrency", concurrency, minimum=1)
    load_trial_space(space)  # every config the space can give must be a valid trial config
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {folder} is a file: give a folder for the database and the site")
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        raise UsageError(f"cannot create --out {folder}: {existing} is a file, not a folder")
    if (folder / "site").is_symlink():  # the site is written inside --out only, never through a link
        raise UsageError(
            f"--out {folder}: {folder / 'site'} is a symbolic link; the demo writes only inside --out: "
            "remove the link, or choose another --out"
        )
    check_site_folder(folder / "site")
    results = folder / "results.db"
    if results.exists():
        from kdbench.bench.store import ResultStore

        ResultStore(f"sqlite:///{results}", create=False).close()  # a previous demo's database, or refused
