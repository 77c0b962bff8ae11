"""``kdbench regress run|baseline``: run a regression suite, compare it with a baseline, write baselines.

Exit status of ``regress run``: 0 nothing regressed (or no baseline given: the run is only printed and, with
``--db``, recorded), 1 a figure regressed (named in the table and the last line), 2 the run itself failed
(bad suite, missing baseline, unreachable database, a trial error, or a baseline none of whose cases is
comparable: another config or dataset), with one line saying why.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from rich.console import Console

from kdbench.bench.console import output_console
from kdbench.bench.errors import KdbenchError, RegressionError
from kdbench.bench.outputs import check_output_file

__all__ = ["make_baseline", "register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "regress",
        help="regression benchmarks: run a fixed suite, compare with a baseline (exit 1 on a regression)",
        description="Fixed benchmark suites (bench/suites/*.yaml) compared statistically with a baseline.",
    )
    sub = p.add_subparsers(dest="regress_command", metavar="SUBCOMMAND", required=True)

    r = sub.add_parser(
        "run",
        help="run a suite; compare with --baseline; exit 0 ok, 1 regression, 2 failure",
        description="Run every case of a suite over its seeds. Without --db nothing is recorded; without "
        "--baseline nothing is compared (exit 0).",
    )
    r.add_argument("--suite", required=True, help="a shipped suite (smoke, standard) or a suite YAML file")
    r.add_argument("--db", help="record the run in this results database (SQLAlchemy URL)")
    r.add_argument(
        "--baseline",
        metavar="REF|FILE",
        help="a baseline JSON file, or a stored run's id, tag or git sha prefix (needs --db)",
    )
    r.add_argument("--json", dest="json_path", metavar="OUT", help="write the JSON summary to this file")
    r.add_argument("--tag", help="tag the recorded run (a later --baseline TAG finds its latest run)")
    r.add_argument("--device", default="cpu", help="cpu (default: comparable with CPU baselines), cuda, auto")
    r.add_argument(
        "--artifacts",
        metavar="DIR",
        help="keep each trial's student artifact here (default: $KDBENCH_HOME/artifacts; docs/serving.md)",
    )
    r.add_argument("--quiet", action="store_true", help="no per-seed progress lines")
    r.set_defaults(func=_run_command)

    b = sub.add_parser(
        "baseline",
        help="write a baseline JSON file from a stored run or a fresh run of a suite",
        description="Write the baseline file that `regress run --baseline FILE` compares with.",
    )
    source = b.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="from_run", metavar="RUN", help="a stored run's id, tag or git sha")
    source.add_argument("--suite", help="run this suite (name or file) now and use its values")
    b.add_argument("--db", help="results database: where --from looks; with --suite, records the run too")
    b.add_argument("--out", required=True, help="the baseline file to write, e.g. bench/baselines/smoke.json")
    b.add_argument("--device", default="cpu", help="with --suite: cpu (default), cuda, auto")
    b.add_argument("--quiet", action="store_true", help="no per-seed progress lines")
    b.set_defaults(func=_baseline_command)


def _run_command(args: argparse.Namespace) -> int:
    return _guarded(
        lambda: run(
            suite=args.suite, db=args.db, baseline=args.baseline, json_path=args.json_path, tag=args.tag,
            device=args.device, quiet=args.quiet, artifacts=args.artifacts,
        )
    )  # fmt: skip


def _baseline_command(args: argparse.Namespace) -> int:
    def make() -> int:
        make_baseline(
            out=args.out, from_run=args.from_run, db=args.db, suite=args.suite, device=args.device,
            quiet=args.quiet,
        )  # fmt: skip
        return 0

    return _guarded(make)


def _guarded(action: Any) -> int:
    """Exit 1 means "regressed" here, so an unexpected crash must not reach Python's own exit status 1."""
    try:
        return int(action())
    except (KdbenchError, OSError, KeyboardInterrupt):
        raise  # the CLI prints these as one line (exit 2, 130)
    except Exception as e:
        if os.environ.get("KDBENCH_DEBUG"):
            traceback.print_exc()
        message = " ".join(f"{type(e).__name__}: {e}".split())  # one line, as every error of the CLI
        print(f"kdbench: error: the regression run crashed: {message} (KDBENCH_DEBUG=1 shows where)",
              file=sys.stderr)  # fmt: skip
        return 2


def run(
    *,
    suite: str,
    db: str | None = None,
    baseline: str | None = None,
    json_path: str | None = None,
    tag: str | None = None,
    device: str = "cpu",
    quiet: bool = False,
    console: Console | None = None,
    artifacts: str | None = None,
) -> int:
    """Run ``suite``, compare with ``baseline``, print the table, record it in ``db``; return the exit code.
    Each trial keeps its student artifact in ``artifacts`` (default ``$KDBENCH_HOME/artifacts``).

    Everything that can be checked before training is, cheapest first: the suite, the ``--json`` path, the
    device, a baseline file, every case's dataset, then the database (created only now, so a bad dataset
    leaves no new database behind) and a stored baseline. A bad argument fails before the first trial and
    writes nothing.
    """
    from kdbench.bench import regress
    from kdbench.bench.provenance import environment
    from kdbench.bench.trial import resolve_device

    console = console or _console()
    spec = regress.load_suite(suite)
    if json_path is not None:  # an empty --json "" is refused too, not ignored
        check_output_file(json_path, "--json")
    resolve_device(device)
    if artifacts is not None:
        from kdbench.bench.serve import check_artifacts_folder

        check_artifacts_folder(artifacts, "--artifacts")
    base = None
    if baseline is not None and (db is None or regress.names_a_file(baseline)):
        base = _comparable(regress.resolve_baseline(baseline), spec, suite)
    datasets = regress.prepare_datasets(spec)
    store = _open_store(db) if db is not None else None
    try:
        if baseline is not None and base is None:
            base = _comparable(regress.resolve_baseline(baseline, store), spec, suite)
        console.print(
            f"suite {spec.name} ({spec.source}): {len(spec.cases)} case(s), "
            f"{sum(len(c.seeds) for c in spec.cases)} trial(s); baseline: {base.label if base else 'none'}"
        )
        measurement = regress.run_suite(
            spec, device=device, progress=None if quiet else console.print, datasets=datasets,
            artifacts=artifacts,
        )  # fmt: skip
        rows = regress.verdict_rows(measurement, base)
        summary = regress.run_summary(measurement, rows, base)
        env = environment()
        title = f"regression suite {spec.name} vs {summary['baseline'] or '-'}"
        regress.print_table(console, rows, title=title)
        run_id = regress.record_run(store, summary, rows, environment=env, tag=tag) if store else None
        if run_id is not None:
            console.print(f"recorded as regression run {run_id} in {store.url_redacted}")
        if json_path is not None:
            regress.write_json(json_path, {"run_id": run_id, "tag": tag, "environment": env, **summary,
                                           "rows": rows})  # fmt: skip
        console.print(f"suite {spec.name} took {measurement.wall_seconds:.0f} s")
        if base is not None and not any(r["baseline_values"] for r in rows):
            raise _stale(base, spec.name, suite)  # e.g. every case ran on other data (see the notes above)
        # The last line is what a CI log shows: never wrapped, whatever the width.
        console.print(regress.final_line(summary, rows), soft_wrap=True)
        return summary["exit_status"]
    finally:
        if store is not None:
            store.close()


def make_baseline(
    *,
    out: str,
    from_run: str | None = None,
    db: str | None = None,
    suite: str | None = None,
    device: str = "cpu",
    quiet: bool = False,
    console: Console | None = None,
) -> Path:
    """Write a baseline file from stored run ``from_run`` (in ``db``) or from a fresh run of ``suite``.

    As :func:`run`, everything is checked (``out`` included) before the first trial.
    """
    from kdbench.bench import regress
    from kdbench.bench.provenance import environment
    from kdbench.bench.trial import resolve_device

    console = console or _console()
    if (from_run is None) == (suite is None):
        raise RegressionError("give exactly one of --from RUN (with --db) or --suite NAME")
    check_output_file(out, "--out")
    if from_run is not None:
        if db is None:
            raise RegressionError("--from RUN looks the run up in a results database: give --db URL")
        with _open_store(db, create=False) as store:
            base = regress.from_stored_run(store.regression_run(from_run))
            made_from = f"{base.label} in {store.url_redacted}"
        path = regress.write_baseline_file(
            out, base.measurement, environment=base.environment or {}, made_from=made_from
        )
    else:
        spec = regress.load_suite(suite)
        resolve_device(device)
        datasets = regress.prepare_datasets(spec)
        store = _open_store(db) if db is not None else None
        try:
            measurement = regress.run_suite(
                spec, device=device, progress=None if quiet else console.print, datasets=datasets
            )
            env = environment()
            if store is not None:
                rows = regress.verdict_rows(measurement, None)
                run_id = regress.record_run(store, regress.run_summary(measurement, rows, None), rows,
                                            environment=env)  # fmt: skip
                console.print(f"recorded as regression run {run_id} in {store.url_redacted}")
        finally:
            if store is not None:
                store.close()
        path = regress.write_baseline_file(
            out, measurement, environment=env, made_from=f"kdbench regress baseline --suite {suite}"
        )
    console.print(f"baseline written to {path}")
    return path


def _comparable(base: Any, spec: Any, suite_ref: str) -> Any:
    if not _shares_a_case(spec, base):
        raise _stale(base, spec.name, suite_ref)
    return base


def _shares_a_case(spec: Any, base: Any) -> bool:
    """Whether any case of the suite has a baseline case of the same name and config."""
    return any(
        (b := base.measurement.case(c.name)) is not None and b.config_family == c.config_family
        for c in spec.cases
    )


def _stale(base: Any, suite_name: str, suite_ref: str) -> RegressionError:
    # A stale baseline must not let CI pass silently: nothing would be checked, so the run fails.
    return RegressionError(
        f"baseline {base.label} has no case comparable with suite {suite_name} (another config or dataset): "
        f"regenerate it with `kdbench regress baseline --suite {suite_ref} --out FILE`"
    )


def _open_store(url: str, *, create: bool = True) -> Any:
    from kdbench.bench.store import ResultStore

    return ResultStore(url, create=create)


def _console() -> Console:
    return output_console()
