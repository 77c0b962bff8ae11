"""The recbole wheel fetch (bench/data/_fetch.py): verified, cached, clear errors; one real fetch (slow)."""

from __future__ import annotations

import subprocess

import pytest

import kdbench.bench.data._fetch as fetch
from kdbench.bench.data import prepare
from kdbench.bench.errors import DatasetError
from tests.data._make import ML_ITEMS, ML_RATINGS, ML_USERS, write_recbole_wheel


def _fake_pip(monkeypatch, tmp_path, *, returncode=0, stderr="", wheel_bytes=None):
    calls = []

    def run(command, **kwargs):
        calls.append(command)
        if returncode == 0:
            target = command[command.index("-d") + 1]
            path = f"{target}/{fetch.WHEEL_NAME}"
            if wheel_bytes is None:
                write_recbole_wheel(tmp_path / "w.zip", ML_RATINGS, ML_USERS, ML_ITEMS)
                data = (tmp_path / "w.zip").read_bytes()
            else:
                data = wheel_bytes
            with open(path, "wb") as f:
                f.write(data)
        return subprocess.CompletedProcess(command, returncode, "", stderr)

    monkeypatch.setattr(fetch.subprocess, "run", run)
    return calls


def test_no_network_is_one_clear_line(monkeypatch, tmp_path, home):
    _fake_pip(
        monkeypatch, tmp_path, returncode=1, stderr="WARNING: retrying\nERROR: No matching distribution"
    )
    with pytest.raises(DatasetError) as err:
        prepare("ml-100k")
    message = str(err.value)
    assert (
        "\n" not in message and "No matching distribution" in message and "KDBENCH_RECBOLE_WHEEL" in message
    )
    assert not list((home / "downloads").iterdir())
    assert not (home / "datasets").exists()  # a failed prepare creates no cache folder


def test_wrong_hash_is_refused_and_not_kept(monkeypatch, tmp_path, home):
    calls = _fake_pip(monkeypatch, tmp_path)
    with pytest.raises(DatasetError, match="sha256"):
        prepare("ml-100k")
    assert calls and calls[0][1:4] == ["-m", "pip", "download"]
    assert "--no-deps" in calls[0] and "recbole==1.2.1" in calls[0]
    assert not (home / "downloads" / fetch.WHEEL_NAME).exists()


def test_verified_wheel_is_kept_and_reused(monkeypatch, tmp_path, home):
    write_recbole_wheel(tmp_path / "w.zip", ML_RATINGS, ML_USERS, ML_ITEMS)
    data = (tmp_path / "w.zip").read_bytes()
    import hashlib

    monkeypatch.setattr(fetch, "WHEEL_SHA256", hashlib.sha256(data).hexdigest())
    calls = _fake_pip(monkeypatch, tmp_path, wheel_bytes=data)
    path = fetch.recbole_wheel(home)
    assert path == home / "downloads" / fetch.WHEEL_NAME and path.read_bytes() == data
    assert fetch.recbole_wheel(home) == path and len(calls) == 1  # second call: no download
    assert [p.name for p in (home / "downloads").iterdir()] == [fetch.WHEEL_NAME]


@pytest.mark.slow
def test_real_fetch_gives_the_paper_numbers(home):
    """Downloads recbole==1.2.1 from PyPI (about 2 MB)."""
    d = prepare("ml-100k")
    assert d.num_rows == 72_855 and round(100 * d.positive_rate, 1) == 76.0
    assert d.vocab_sizes == [944, 1643, 8, 25, 62, 3, 22, 796, 72]
    assert (home / "downloads" / fetch.WHEEL_NAME).exists()
