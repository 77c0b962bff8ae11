"""``kdbench report`` and serving the site on loopback."""

from __future__ import annotations

import socket
import threading
import urllib.request
from pathlib import Path

import pytest

from kdbench.bench.cli import main
from kdbench.bench.commands.report import report
from kdbench.bench.errors import ReportError
from kdbench.bench.store import ResultStore
from kdbench.reports import make_server


def test_report_command_builds_the_site(tmp_path: Path, store_url: str, capsys):
    assert main(["report", "--db", store_url, "--out", str(tmp_path / "site")]) == 0
    assert (tmp_path / "site" / "index.html").is_file()
    assert f"report written: {tmp_path / 'site' / 'index.html'}" in capsys.readouterr().out


def test_report_errors_are_one_line_with_exit_2(tmp_path: Path, store_url: str, capsys):
    (tmp_path / "precious.txt").write_text("mine")
    assert main(["report", "--db", store_url, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kdbench: error: --out") and "\n" not in err
    assert main(["report", "--db", f"sqlite:///{tmp_path / 'missing.db'}", "--out", str(tmp_path / "s")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_served_site_answers_on_loopback(tmp_path: Path, store_url: str):
    index = report(db=store_url, out=tmp_path / "site")
    server = make_server(index.parent, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=10) as reply:
            assert reply.status == 200 and b"Leaderboard" in reply.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/table.js", timeout=10) as reply:
            assert b"sortBy" in reply.read()
    finally:
        server.shutdown()
        server.server_close()


def test_serving_needs_a_built_site_and_a_free_port(tmp_path: Path, store_url: str):
    with pytest.raises(ReportError, match=r"no index\.html: build the site first"):
        make_server(tmp_path, 0)
    index = report(db=store_url, out=tmp_path / "site")
    first = make_server(index.parent, 0)
    try:
        with pytest.raises(ReportError, match="pass another --port"):
            make_server(index.parent, first.server_address[1])
    finally:
        first.server_close()


@pytest.fixture
def empty_store(tmp_path: Path) -> str:
    """A real, empty results database (schema only)."""
    url = f"sqlite:///{tmp_path / 'results.db'}"
    ResultStore(url).close()
    return url


@pytest.mark.parametrize("port", ["70000", "-1", "busy"])
def test_a_port_that_cannot_be_served_is_refused_before_the_build(
    port: str, tmp_path: Path, empty_store: str, capsys
):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        number = str(taken.getsockname()[1]) if port == "busy" else port
        argv = ["report", "--db", empty_store, "--out", str(tmp_path / "site"), "--serve", "--port", number]
        assert main(argv) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"kdbench: error: --port {number} is not a TCP port") or (
        port == "busy" and f"cannot serve on 127.0.0.1:{number}" in line and "pass another --port" in line
    )
    assert not (tmp_path / "site").exists()  # no site was built for a server that could not start


def test_a_bad_store_or_folder_leaves_nothing_behind(tmp_path: Path, empty_store: str, capsys):
    missing = f"sqlite:///{tmp_path / 'missing.db'}"
    assert main(["report", "--db", missing, "--out", str(tmp_path / "site")]) == 2
    assert "missing.db" in capsys.readouterr().err
    assert not (tmp_path / "site").exists()  # the folder is made only once the store has been read
    (tmp_path / "plain.txt").write_text("mine")
    assert main(["report", "--db", empty_store, "--out", str(tmp_path / "plain.txt" / "site")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "plain.txt is a file, not a folder" in line
    assert (tmp_path / "plain.txt").read_text() == "mine"


def test_a_report_onto_a_full_disk_is_one_line_naming_the_page(store_url: str, full_disk: Path, capsys):
    out = full_disk / "site"
    assert main(["report", "--db", store_url, "--out", str(out), "--no-baselines"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"kdbench: error: cannot write the report to {out}" in err and "No space left on device" in err
    assert "free there" in err
    assert not list(out.rglob("*.tmp"))  # no temporary file left behind
