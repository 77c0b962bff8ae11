"""A new SQLite database on a full disk: one line naming it and the space free, and no half-made files."""

from __future__ import annotations

import pytest

from kdbench.bench.cli import main
from kdbench.bench.errors import StoreError
from kdbench.bench.store import ResultStore


def test_a_new_database_on_a_full_disk_is_refused_and_leaves_no_files(full_disk) -> None:
    url = f"sqlite:///{full_disk / 'kd.db'}"
    with pytest.raises(StoreError) as refused:
        ResultStore(url)
    message = str(refused.value)
    assert message.startswith(f"cannot open {url}") and f"free in {full_disk})" in message
    assert "\n" not in message
    assert list(full_disk.iterdir()) == []  # no kd.db, -wal or -shm to be mistaken for a database later


def test_train_onto_a_full_disk_database_fails_before_training(full_disk, capsys) -> None:
    assert main(["train", "--db", f"sqlite:///{full_disk / 'kd.db'}", "--quiet", "--no-baseline"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot open" in err and "free in" in err
    assert list(full_disk.iterdir()) == []
