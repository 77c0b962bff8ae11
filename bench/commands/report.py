"""``kdbench report``: build the static report site from a results database, optionally serve it."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

from kdbench.bench.errors import ReportError

__all__ = ["DEFAULT_OUT", "DEFAULT_PORT", "register", "report"]

DEFAULT_OUT = "kdbench-report"
DEFAULT_PORT = 8000


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="build the HTML report site (leaderboard, sweeps, trials, comparisons)",
        description="Build a static HTML site from a results database (read only): a leaderboard, a page per "
        "sweep, trial, comparison and regression run. It works offline and can be zipped or published.",
    )
    p.add_argument("--db", metavar="URL", help="results database URL (default: sqlite:///kdbench.db)")
    p.add_argument(
        "--out", metavar="DIR", default=DEFAULT_OUT, help=f"folder for the site (default: {DEFAULT_OUT})"
    )
    p.add_argument("--serve", action="store_true", help="then serve it on 127.0.0.1 until Ctrl-C")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port for --serve (default: {DEFAULT_PORT})"
    )
    p.set_defaults(func=_run)


def report(
    *, db: str | None = None, out: str | Path = DEFAULT_OUT, serve: bool = False, port: int = DEFAULT_PORT
) -> Path:
    """Build the site of ``db`` into ``out``; return its index.html. ``serve``: then serve it until Ctrl-C."""
    from kdbench import reports

    if serve:
        _check_port(port)  # before the build: a port that cannot be served on must not cost a site
    index = reports.build_site(db, out)
    print(f"report written: {index}")
    if serve:
        reports.serve(out, port)
    return index


def _check_port(port: int) -> None:
    """Refuse a port out of range or already taken, as serving would after the build."""
    from kdbench.reports._serve import HOST

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
    report(db=args.db, out=args.out, serve=args.serve, port=args.port)
    return 0
