"""Serve a built site on 127.0.0.1 for a quick look (never on other interfaces)."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path
from typing import Any, cast

from kdbench.bench.errors import ReportError

__all__ = ["HOST", "make_server", "serve"]

HOST = "127.0.0.1"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request drowns the URL the user needs


def make_server(out_dir: str | Path, port: int = 8000) -> http.server.ThreadingHTTPServer:
    """A server for ``out_dir`` bound to 127.0.0.1:``port`` (0: any free port; read ``server_address``)."""
    folder = Path(out_dir)
    if not (folder / "index.html").is_file():
        raise ReportError(
            f"{folder} holds no index.html: build the site first (kdbench report --out {folder})"
        )
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        return http.server.ThreadingHTTPServer((HOST, port), handler)
    except OSError as e:
        raise ReportError(
            f"cannot serve on {HOST}:{port} ({e.strerror or e}): pass another --port, or 0 for any free one"
        ) from e


def serve(out_dir: str | Path, port: int = 8000) -> None:
    """Serve ``out_dir`` until interrupted (Ctrl-C), printing the URL to open."""
    server = make_server(out_dir, port)
    # cast: once bound, server_address is the AF_INET socket's getsockname(), whose host is a str
    host, bound = cast(tuple[str, int], server.server_address[:2])
    print(f"serving {Path(out_dir)} at http://{host}:{bound}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
