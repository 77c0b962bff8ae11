"""``kdbench baseline``: logistic regression and gradient boosting on a dataset's split, the yardstick.

The baselines are computed once per dataset fingerprint on a machine (``kdbench.bench.baselines``'s file
cache); ``--refresh`` fits them again, ``--db`` records them for the report's leaderboards. ``kdbench train``
and ``kdbench report`` fetch them through :func:`fetch_baselines` and :func:`record_baselines` too.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from kdbench.bench.commands import SPLIT_SEED_HELP, add_dataset_arguments
from kdbench.bench.errors import UsageError
from kdbench.bench.io import check_output_file, output_console, table, write_json

if TYPE_CHECKING:  # scikit-learn and the store load when a command runs: `kdbench --help` stays fast
    from rich.console import Console

    from kdbench.bench.baselines import BaselineResult
    from kdbench.bench.data import Dataset
    from kdbench.bench.store import ResultStore

__all__ = [
    "baseline",
    "baselines_table",
    "computed_line",
    "fetch_baselines",
    "record_baselines",
    "register",
    "versus",
]

_LABELS = {"lr": "LR", "gbdt": "GBDT"}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "baseline",
        help="fit logistic regression and gradient boosting on a dataset's split (the students' yardstick)",
        description=(
            "Fit L2 logistic regression (one-hot codes) and histogram gradient boosting (native categories) "
            "on the dataset's train split, choose them on its valid split, score them on its test split: the "
            "same split the students see. Computed once per dataset fingerprint on this machine "
            "($KDBENCH_HOME/baselines), recorded with --db for the report's leaderboards."
        ),
    )
    add_dataset_arguments(p)
    p.add_argument(
        "--split-seed",
        type=int,
        help=SPLIT_SEED_HELP,
    )
    p.add_argument("--db", help="record the baselines in this results database (SQLAlchemy URL)")
    p.add_argument("--json", dest="json_path", help="write the results as JSON to this file")
    p.add_argument("--refresh", action="store_true", help="fit again even when this machine has them cached")
    p.add_argument(
        "--threads",
        type=int,
        help="threads fitting may use (default: $OMP_NUM_THREADS, else half the CPUs, at most 8)",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    baseline(
        dataset=args.dataset, path=args.path, schema=args.schema, split_seed=args.split_seed, db=args.db,
        json_path=args.json_path, refresh=args.refresh, threads=args.threads,
    )  # fmt: skip
    return 0


def baseline(
    *,
    dataset: str = "ml-100k",
    path: str | None = None,
    schema: str | None = None,
    split_seed: int | None = None,
    db: str | None = None,
    json_path: str | None = None,
    refresh: bool = False,
    threads: int | None = None,
    console: Console | None = None,
) -> list[dict[str, Any]]:
    """Fetch (or fit, with ``refresh`` always) the LR and GBDT baselines of ``dataset``'s split, print them,
    record them in ``db`` and write them to ``json_path`` when given; returns their dicts.

    Everything checkable is checked before any data work: ``threads``, the output file, the database URL;
    the database is opened (proven writable) before the fit.
    """
    from kdbench.bench.data import open_dataset

    console = console or output_console()
    if threads is not None and (isinstance(threads, bool) or threads < 1):
        raise UsageError(f"--threads must be an integer >= 1, got {threads!r}")
    if json_path is not None:
        check_output_file(json_path, "--json")
    if db is not None:
        from kdbench.bench.store import check_url

        check_url(db)
    data = open_dataset(dataset, path=path, schema=schema, split_seed=split_seed, progress=True)
    store = None
    if db is not None:
        from kdbench.bench.store import open_writable

        store = open_writable(db)
    try:
        seed = data.protocol.get("split", {}).get("seed")
        console.print(
            f"dataset {data.name}: {data.num_rows:,} rows, split seed {seed}, fingerprint {data.fingerprint}"
        )
        results, seconds = fetch_baselines(data, threads=threads, refresh=refresh)
        if seconds is not None:
            console.print(computed_line(data, seconds))
        title = f"baselines on {data.name} (fingerprint {data.fingerprint})"
        console.print(baselines_table(results, title=title))
        if store is not None:
            record_baselines(store, data, results)
            console.print(f"recorded in {store.url_redacted}")
    finally:
        if store is not None:
            store.close()
    out = [r.to_dict() for r in results]
    if json_path:
        write_json(json_path, out, "--json")
        console.print(f"results written to {json_path}")
    return out


def fetch_baselines(
    data: Dataset, *, threads: int | None = None, refresh: bool = False
) -> tuple[list[BaselineResult], float | None]:
    """``data``'s LR and GBDT baselines from this machine's cache, else fitted (and cached); with the seconds
    the fit took, None when they came from the cache."""
    from kdbench.bench.baselines import MODELS, baselines_for, cached_baselines
    from kdbench.bench.trial import default_threads  # here, not at the top: it loads torch

    fresh = refresh or len(cached_baselines(data.fingerprint) or []) < len(MODELS)
    start = time.perf_counter()
    results = baselines_for(data, refresh=refresh, threads=threads or default_threads())
    return results, (time.perf_counter() - start if fresh else None)


def computed_line(data: Dataset, seconds: float) -> str:
    """``computed LR and GBDT baselines for ml-100k in 3.2 s``."""
    return f"computed LR and GBDT baselines for {data.name} in {seconds:.1f} s"


def record_baselines(store: ResultStore, data: Dataset, results: list[BaselineResult]) -> None:
    """The dataset, this machine's environment and the baselines, into ``store`` (a refit replaces them)."""
    from kdbench.bench.provenance import environment

    env_id = store.record_environment(environment())
    store.record_dataset(data.info())
    store.record_baselines([r.to_dict() for r in results], environment_id=env_id)


def baselines_table(results: list[BaselineResult], *, title: str) -> Any:
    """The rich table ``kdbench baseline`` prints: one row per model."""
    columns = ("model", "valid AUC", "test AUC", "test logloss", "fit s", "latency b1 (ms)",
               "latency b4096 (ms)", "chosen")  # fmt: skip
    out = table(*columns, title=title, numeric=columns[1:7])
    for r in results:
        out.add_row(
            _LABELS.get(r.model, r.model), f"{r.valid_auc:.4f}", f"{r.test_auc:.4f}", f"{r.test_logloss:.4f}",
            f"{r.fit_seconds:.1f}", f"{r.latency_ms_b1:.3f}", f"{r.latency_ms_b4096:.2f}", _chosen(r),
        )  # fmt: skip
    return out


def versus(student_test_auc: float, baselines: list[dict[str, Any]]) -> str:
    """``vs GBDT: +0.0123 (vs LR: -0.0040)``: the student's test AUC minus each baseline's
    (``BaselineResult.to_dict()``s), GBDT first."""
    by_model = {b["model"]: b for b in baselines}
    parts = [
        f"vs {_LABELS[m]}: {student_test_auc - by_model[m]['test_auc']:+.4f}"
        for m in ("gbdt", "lr")
        if m in by_model
    ]
    if not parts:
        return "vs GBDT: no baseline"
    return parts[0] + (f" ({parts[1]})" if len(parts) > 1 else "")


def _chosen(result: BaselineResult) -> str:
    params = result.params
    if result.model == "lr":
        return f"C={params.get('C')}"
    capped = params.get("capped_fields") or {}
    return f"{params.get('iterations')} iterations" + (f", {len(capped)} fields capped" if capped else "")
