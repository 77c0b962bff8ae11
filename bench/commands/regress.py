"""``kdbench regress run|ab|baseline|history``: run a regression suite and compare it with a baseline, or
run it for two git revisions on this machine (A/B); write baselines; list the change points of the stored
runs.

Exit status of ``regress run`` and ``regress ab``: 0 nothing regressed (or no baseline given: the run is only
printed and, with ``--db``, recorded), 1 a figure regressed (named in the table and the last line), 2 the run
itself failed (bad suite, missing baseline, unreachable database, a trial error, or a baseline none of whose
cases is comparable: another config or dataset; for ``ab`` also a dirty tree, an unknown ref, a revision
whose requirements this environment lacks), with one line saying why. ``--markdown`` and ``--junit`` files
are written when the run ends, a failed one included (it says why); a bad argument writes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import Any, cast

from rich.console import Console

from kdbench.bench.commands._regress_reports import Reports, conclude, seeds_text
from kdbench.bench.errors import KdbenchError, RegressionError
from kdbench.bench.io import check_output_file, output_console

__all__ = ["ab", "history", "make_baseline", "register", "run"]


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
    _add_run_arguments(r, db="record the run in this results database (SQLAlchemy URL)")
    r.add_argument(
        "--baseline",
        metavar="REF|FILE",
        help="a baseline JSON file, or a stored run's id, tag or git sha prefix (needs --db)",
    )
    r.add_argument(
        "--artifacts",
        metavar="DIR",
        help="keep each trial's student artifact here (default: $KDBENCH_HOME/artifacts; docs/serving.md)",
    )
    r.set_defaults(func=_run_command)

    a = sub.add_parser(
        "ab",
        help="A/B on this machine: a suite for two git revisions, seeds interleaved; base is the baseline",
        description="Export --base and --head of the current git repository (cached in "
        "$KDBENCH_HOME/regress-ab by sha), run the suite's seeds for both on this machine, interleaved, and "
        "compare head with base as `regress run` compares with a baseline. Refuses a working tree with "
        "uncommitted changes. docs/regress.md",
    )
    _add_run_arguments(a, db="record head's run (both shas) in this results database (SQLAlchemy URL)")
    a.add_argument("--base", required=True, metavar="REF", help="the revision compared against, e.g. main")
    a.add_argument("--head", default="HEAD", metavar="REF", help="the revision under test (default: HEAD)")
    a.add_argument("--repo", default=".", help="a folder in the git repository (default: this folder)")
    a.set_defaults(func=_ab_command)

    h = sub.add_parser(
        "history",
        help="list the change points of the stored runs' figures (where a level moved across commits)",
        description="Fit each (suite, case, figure) series of the stored runs as steps plus noise and list "
        "every step with the runs and commits it happened between (docs/regress.md#change-points).",
    )
    h.add_argument("--db", required=True, help="the results database (SQLAlchemy URL)")
    h.add_argument("--suite", help="only this suite's runs (default: every suite)")
    h.set_defaults(func=_history_command)

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


def _add_run_arguments(parser: argparse.ArgumentParser, *, db: str) -> None:
    """What ``run`` and ``ab`` share: the suite, the database, the output files, tag, device, quiet."""
    parser.add_argument(
        "--suite", required=True, help="a shipped suite (smoke, standard) or a suite YAML file"
    )
    parser.add_argument("--db", help=db)
    parser.add_argument("--json", dest="json_path", metavar="OUT", help="write the JSON summary to this file")
    parser.add_argument(
        "--markdown", metavar="OUT", help="write a Markdown summary (a job summary or pull-request comment)"
    )
    parser.add_argument("--junit", metavar="OUT", help="write JUnit XML (one test case per case and figure)")
    parser.add_argument("--tag", help="tag the recorded run (a later --baseline TAG finds its latest run)")
    parser.add_argument(
        "--device", default="cpu", help="cpu (default: comparable with CPU baselines), cuda, auto"
    )
    parser.add_argument("--quiet", action="store_true", help="no per-seed progress lines")


def _run_command(args: argparse.Namespace) -> int:
    return _guarded(
        lambda: run(
            suite=args.suite, db=args.db, baseline=args.baseline, json_path=args.json_path, tag=args.tag,
            device=args.device, quiet=args.quiet, artifacts=args.artifacts, markdown=args.markdown,
            junit=args.junit,
        )
    )  # fmt: skip


def _ab_command(args: argparse.Namespace) -> int:
    return _guarded(
        lambda: ab(
            suite=args.suite, base=args.base, head=args.head, repo=args.repo, db=args.db,
            json_path=args.json_path, markdown=args.markdown, junit=args.junit, tag=args.tag,
            device=args.device, quiet=args.quiet,
        )
    )  # fmt: skip


def _history_command(args: argparse.Namespace) -> int:
    return _guarded(lambda: history(db=args.db, suite=args.suite))


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
    markdown: str | None = None,
    junit: str | None = None,
) -> int:
    """Run ``suite``, compare with ``baseline``, print the table, record it in ``db``; return the exit code.
    Each trial keeps its student artifact in ``artifacts`` (default ``$KDBENCH_HOME/artifacts``);
    ``markdown`` and ``junit`` name the CI summaries to write (a failed run's too).

    Everything that can be checked before training is, cheapest first: the suite, the output paths, the
    device, a baseline file, every case's dataset, then the database (created only now, so a bad dataset
    leaves no new database behind) and a stored baseline. A bad argument fails before the first trial and
    writes nothing.
    """
    from kdbench.bench import regress
    from kdbench.bench.provenance import environment
    from kdbench.bench.trial import resolve_device

    console = console or _console()
    spec = regress.load_suite(suite)
    reports = Reports(json_path, markdown, junit)
    reports.check()
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
        title = f"regression suite {spec.name} vs {base.label if base else '-'}"
        try:
            measurement = regress.run_suite(
                spec, device=device, progress=None if quiet else console.print, datasets=datasets,
                artifacts=artifacts,
            )  # fmt: skip
        except RegressionError as e:
            reports.failed(title, spec.name, str(e), {"baseline": base.label if base else None})
            raise
        env = environment()
        about = (
            f"compared with baseline {base.label}: {seeds_text(spec)}" if base else "no baseline given"
        ) + f", on {env.get('host')} ({measurement.device}), code {str(env.get('git_sha'))[:10]}"
        return conclude(
            console, measurement, base, store=store, tag=tag, env=env, reports=reports, title=title,
            labels=("baseline", "now"), about=about, stale=lambda: _stale(base, spec.name, suite),
            took=measurement.wall_seconds, rules=regress.RULES,
        )  # fmt: skip
    finally:
        if store is not None:
            store.close()


def ab(
    *,
    suite: str,
    base: str,
    head: str = "HEAD",
    repo: str = ".",
    db: str | None = None,
    json_path: str | None = None,
    markdown: str | None = None,
    junit: str | None = None,
    tag: str | None = None,
    device: str = "cpu",
    quiet: bool = False,
    console: Console | None = None,
) -> int:
    """Run ``suite`` for git revisions ``base`` and ``head`` of the repository ``repo`` is in, seeds
    interleaved on this machine, and compare head with base; return the exit code (as :func:`run`).

    Checked before anything runs: the suite, the output paths, the device, a clean working tree, both refs,
    the suite's datasets; then each revision is exported (or found in ``$KDBENCH_HOME/regress-ab``), its
    requirements checked against this environment, and only then is the database opened.
    """
    from kdbench.bench import regress
    from kdbench.bench.io import kdbench_home
    from kdbench.bench.provenance import environment
    from kdbench.bench.trial import resolve_device

    console = console or _console()
    spec = regress.load_suite(suite)
    reports = Reports(json_path, markdown, junit)
    reports.check()
    resolve_device(device)
    root = regress.repository_root(repo)
    regress.check_clean(root)
    shas = [regress.resolve_ref(root, ref) for ref in (base, head)]
    regress.prepare_datasets(spec)  # a missing dataset fails here, before anything is exported
    cache = kdbench_home() / "regress-ab"
    old, new = (
        regress.export_tree(root, ref, sha, cache) for ref, sha in zip((base, head), shas, strict=True)
    )
    for revision in (old, new):
        regress.check_requirements(revision)
    store = _open_store(db) if db is not None else None
    try:
        built = ", ".join(
            f"{side} {r.label} {'from the cache' if r.reused else 'exported'}"
            for side, r in (("base", old), ("head", new))
        )
        console.print(
            f"suite {spec.name} ({spec.source}): {len(spec.cases)} case(s), "
            f"{sum(len(c.seeds) for c in spec.cases)} trial(s) a side, interleaved; {built}"
        )
        title = f"regression suite {spec.name}: head {new.label} vs base {old.label}"
        properties = {"base": old.label, "base_git_sha": old.sha, "head": new.label, "head_git_sha": new.sha}
        try:
            result = regress.run_ab(
                spec, old, new, device=device, log_dir=cache / "logs",
                progress=None if quiet else console.print,
            )  # fmt: skip
        except RegressionError as e:
            reports.failed(title, spec.name, str(e), properties)
            raise
        env = {**environment(), "git_sha": new.sha, "git_dirty": False}  # what ran is head's commit
        about = (
            f"head `{new.label}` against base `{old.label}`: {seeds_text(spec)}, interleaved on "
            f"{env.get('host')} ({result.head.device}) in one job"
        )
        extra = {"ab": {
            "base": {"ref": old.ref, "git_sha": old.sha}, "head": {"ref": new.ref, "git_sha": new.sha},
            "order": result.order, "wall_seconds": result.wall_seconds, "latency": result.latency,
        }}  # fmt: skip
        stale = RegressionError(
            f"base {old.label} and head {new.label} ran no case alike (another config or dataset in every "
            "case): nothing to compare"
        )
        return conclude(
            console, result.head, regress.Baseline(f"base {old.label}", result.base, None, old.sha),
            store=store, tag=tag, env=env, reports=reports, title=title, labels=("base", "head"), about=about,
            stale=lambda: stale, took=result.wall_seconds, rules=regress.AB_RULES, extra=extra,
            properties=properties,
        )  # fmt: skip
    finally:
        if store is not None:
            store.close()


def history(*, db: str, suite: str | None = None, console: Console | None = None) -> int:
    """Print the change points of the stored regression runs (of ``suite``, or all); exit 0.

    A database without regression runs, or without runs of ``suite``, is a one-line error (exit 2).
    """
    from rich.table import Table

    from kdbench.reports import regression_change_points

    console = console or _console()
    with _open_store(db, create=False) as store:
        runs = store.regression_runs()
        suites = sorted(set(runs["suite"]))
        if not suites:
            raise RegressionError(
                f"no regression runs in {store.url_redacted}: record runs with `kdbench regress run --db URL`"
            )
        if suite is not None and suite not in suites:
            raise RegressionError(
                f"no runs of suite {suite!r} in {store.url_redacted}: its suites are {', '.join(suites)}"
            )
        steps = regression_change_points(store, suite)
        n_runs = int((runs["suite"] == suite).sum()) if suite is not None else len(runs)
    table = Table(title=f"change points over {n_runs} regression run(s)")
    for column in ("suite", "case", "figure", "between runs", "commits", "before", "after", "change", ""):
        table.add_column(column, justify="right" if column in ("before", "after", "change") else "left")
    for s in steps.itertuples():
        style = "bold red" if s.direction == "worse" else "green" if s.direction == "better" else None
        table.add_row(
            s.suite, s.case, s.figure, f"{s.run_before} -> {s.run_after}",
            f"{str(s.git_sha_before)[:10]}..{str(s.git_sha_after)[:10]}", f"{s.before:.4g}", f"{s.after:.4g}",
            s.change, f"[{style}]{s.direction}[/]" if style else s.direction,
        )  # fmt: skip
    if len(steps):
        console.print(table)
        worse = int((steps["direction"] == "worse").sum())
        console.print(f"{len(steps)} change point(s), {worse} for the worse", soft_wrap=True)
    else:
        console.print(f"no change points over {n_runs} regression run(s)", soft_wrap=True)
    return 0


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
        spec = regress.load_suite(cast(str, suite))  # cast: no --from, so --suite (checked above)
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
