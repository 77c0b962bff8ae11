"""``kdbench report``: build the static report site from a results database, optionally serve it.

Before the build it adds the baselines (``kdbench baseline``) that the leaderboards' datasets lack, for those
whose data is in this machine's dataset cache, and records them in the database; a dataset prepared
elsewhere gets a one-line note with the command to run there. The site itself only reads the database.
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from kdbench.bench.errors import ReportError, StoreError

if TYPE_CHECKING:
    from kdbench.bench.store import ResultStore

__all__ = ["DEFAULT_OUT", "DEFAULT_PORT", "register", "report"]

DEFAULT_OUT = "kdbench-report"
DEFAULT_PORT = 8000


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="build the HTML report site (leaderboard, sweeps, trials, comparisons)",
        description="Build a static HTML site from a results database: a leaderboard, a page per sweep, "
        "trial, comparison and regression run. It works offline and can be zipped or published. First the "
        "LR and GBDT baselines the leaderboards' datasets lack are computed (for datasets in this machine's "
        "cache) and recorded in the database; --no-baselines skips that and only reads it.",
    )
    p.add_argument("--db", metavar="URL", help="results database URL (default: sqlite:///kdbench.db)")
    p.add_argument(
        "--out", metavar="DIR", default=DEFAULT_OUT, help=f"folder for the site (default: {DEFAULT_OUT})"
    )
    p.add_argument("--serve", action="store_true", help="then serve it on 127.0.0.1 until Ctrl-C")
    p.add_argument(
        "--no-baselines",
        action="store_true",
        help="compute no missing baseline first: the database is only read",
    )
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port for --serve (default: {DEFAULT_PORT})"
    )
    p.set_defaults(func=_run)


def report(
    *,
    db: str | None = None,
    out: str | Path = DEFAULT_OUT,
    serve: bool = False,
    port: int = DEFAULT_PORT,
    baselines: bool = True,
) -> Path:
    """Build the site of ``db`` into ``out``; return its index.html. ``serve``: then serve it until Ctrl-C.

    With ``baselines``, first :func:`add_missing_baselines` (after the port and folder checks, so a bad
    ``--out`` or ``--port`` costs no fit). Trials left running by a killed ``train`` process on this host
    are settled first, so the site does not show them running.
    """
    from kdbench import reports
    from kdbench.bench.store import ResultStore

    if serve:
        _check_port(port)  # before the build: a port that cannot be served on must not cost a site
    reports.check_site_folder(Path(out))
    with ResultStore(db, create=False) as store:
        _settle_killed_trains(store)
        if baselines:
            add_missing_baselines(store)
    index = reports.build_site(db, out)
    print(f"report written: {index}")
    if serve:
        reports.serve(out, port)
    return index


def _settle_killed_trains(store: ResultStore) -> None:
    """Settle `train` trials whose process on this host was killed (``kdbench db repair``), one line."""
    from kdbench.bench.commands._trainers import settle_gone, stale_trials

    gone = stale_trials(store).gone
    if not gone:
        return
    try:
        store.check_writable()
    except StoreError:
        where = store.url_redacted
        print(f"{len(gone)} trial(s) of killed `train` processes show as running: {where} takes no writes")
        return
    ids = ", ".join(map(str, settle_gone(store)))
    print(f"settled as failed the trial(s) whose `train` process was killed: {ids}")


def add_missing_baselines(store: ResultStore) -> list[str]:
    """Compute and record the baselines of every dataset with a completed trial in ``store`` that has none
    (or lacks a model), one line each; returns the fingerprints done.

    Only datasets in this machine's cache are fitted (``kdbench.bench.data.cached_datasets``: nothing is
    downloaded or prepared); the others get a note naming ``kdbench baseline --dataset FP --db URL``. A
    database that takes no writes gets a note, and the site is built without them.
    """
    from kdbench.bench.baselines import MODELS
    from kdbench.bench.commands.baseline import fetch_baselines, record_baselines
    from kdbench.bench.data import cached_datasets, open_dataset

    trials = store.trials()
    shown = trials.loc[trials["status"] == "completed", "dataset_fingerprint"].dropna().unique()
    stored = store.baselines().groupby("dataset_fingerprint")["model"].agg(set).to_dict()
    missing = sorted(str(fp) for fp in shown if not set(MODELS) <= stored.get(fp, set()))
    if not missing:
        return []
    local = {entry["fingerprint"] for entry in cached_datasets()}
    if any(fp in local for fp in missing):
        try:
            store.check_writable()
        except StoreError as e:
            print(f"no baselines added: {store.url_redacted} takes no writes ({e})")
            return []
    done = []
    for fingerprint in missing:
        if fingerprint not in local:
            print(
                f"no baselines for dataset {fingerprint}: it is not in this machine's dataset cache; where "
                f"it is, run `kdbench baseline --dataset {fingerprint} --db {store.url_redacted}`"
            )
            continue
        data = open_dataset(fingerprint)
        results, seconds = fetch_baselines(data)
        record_baselines(store, data, results)
        what = f"{data.name} (fingerprint {fingerprint})"
        print(
            f"added the baselines of {what} from this machine's cache"
            if seconds is None
            else f"computed baselines for {what} in {seconds:.1f} s"
        )
        done.append(fingerprint)
    return done


def _check_port(port: int) -> None:
    """Refuse a port out of range or already taken, as serving would after the build."""
    from kdbench.reports import HOST

    if not 0 <= port <= 65535:
        raise ReportError(f"--port {port} is not a TCP port: give 1-65535, or 0 for any free one")
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the HTTP server binds
        try:
            probe.bind((HOST, port))
        except OSError as e:
            raise ReportError(
                f"cannot serve on {HOST}:{port} ({e.strerror or e}): pass another --port, or 0 for any free"
            ) from e


def _run(args: argparse.Namespace) -> int:
    report(db=args.db, out=args.out, serve=args.serve, port=args.port, baselines=not args.no_baselines)
    return 0
