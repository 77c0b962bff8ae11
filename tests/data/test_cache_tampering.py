"""A cache entry changed after it was prepared is checked against its meta before it is trusted: a damaged
one is prepared again from its file, or refused in one line where only the entry is left."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from kdbench.bench.cli import main
from kdbench.bench.data import open_dataset, prepare
from kdbench.bench.errors import DatasetError

SCHEMA = {"label": "click", "categorical": ["user", "item"], "numeric": {"price": "dense"}}


def _table(path: Path, rows: int = 400) -> Path:
    rng = np.random.default_rng(5)
    lines = ["user,item,price,click"] + [
        f"ü{rng.integers(0, 40)},i{rng.integers(0, 25)},{rng.uniform(1, 9):.2f},{rng.integers(0, 2)}"
        for _ in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rewrite(array_file: Path, change) -> None:
    """Edit an entry's .npy in place, as a user or a broken disk would (a new mtime, same size)."""
    values = np.load(array_file)
    change(values)
    np.save(array_file, values)


def _code_beyond_vocab(entry: Path):
    vocab = json.loads((entry / "meta.json").read_text())["vocab_sizes"]
    return lambda x: x.__setitem__((0, 1), vocab[1] + 7)


def _set(name: str, where, value):
    return lambda entry: _rewrite(entry / name, lambda a: a.__setitem__(where, value))


def _shrink_vocabularies(entry: Path) -> None:
    meta = json.loads((entry / "meta.json").read_text())
    (entry / "meta.json").write_text(json.dumps({**meta, "vocab_sizes": [2] * len(meta["vocab_sizes"])}))


CHANGES = {
    "a code beyond its vocabulary": (
        lambda e: _rewrite(e / "train_x.npy", _code_beyond_vocab(e)),
        "field 'item'",
    ),
    "a negative code": (_set("valid_x.npy", (2, 0), -3), "field 'user'"),
    "a label of 2": (_set("test_y.npy", 0, 2.0), "labels other than 0 and 1"),
    "a NaN dense value": (_set("train_dense.npy", (0, 0), np.nan), "not finite"),
    "a shrunk vocabulary in the meta": (_shrink_vocabularies, "outside 0..1"),
}


@pytest.mark.parametrize("case", list(CHANGES))
def test_a_changed_entry_is_refused_by_fingerprint_and_prepared_again_from_its_file(case, tmp_path) -> None:
    file = _table(tmp_path / "shop.csv")
    good = prepare("csv", path=file, schema=SCHEMA)
    before = np.array(good.train.x)  # a copy: the memory map shows the file's new bytes
    change, detail = CHANGES[case]
    change(good.path)

    with pytest.raises(DatasetError) as refused:  # only the entry was asked for: refused, never trusted
        open_dataset(good.fingerprint)
    message = str(refused.value)
    assert "was changed after it was prepared and no longer matches its meta" in message and detail in message
    assert f"kdbench data remove {good.fingerprint}" in message and "\n" not in message

    again = prepare("csv", path=file, schema=SCHEMA)  # from its file: the damaged entry is replaced
    assert again.fingerprint == good.fingerprint
    np.testing.assert_array_equal(np.asarray(again.train.x), before)
    assert open_dataset(good.fingerprint).num_rows == 400


def test_the_cli_names_the_damage_in_one_line(tmp_path, capsys) -> None:
    file = _table(tmp_path / "shop.csv")
    good = prepare("csv", path=file, schema=SCHEMA)
    _rewrite(good.path / "train_x.npy", _code_beyond_vocab(good.path))
    assert main(["train", "--dataset", good.fingerprint, "--quiet", "--no-baseline"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no longer matches its meta" in err and "Traceback" not in err


def test_an_entry_touched_but_unchanged_is_still_used(tmp_path) -> None:
    file = _table(tmp_path / "shop.csv")
    good = prepare("csv", path=file, schema=SCHEMA)
    for (
        part
    ) in good.path.iterdir():  # copied without keeping mtimes (cp -r): the content is checked, and fine
        os.utime(part, ns=(1, 1))
    again = open_dataset(good.fingerprint)
    assert again.fingerprint == good.fingerprint and again.num_rows == 400


def test_a_prepare_onto_a_full_disk_is_one_line_naming_the_cache_and_leaves_nothing(
    tmp_path, full_disk, monkeypatch, capsys
) -> None:
    file = _table(tmp_path / "shop.csv", rows=20_000)  # ~700 KiB of arrays for an 8 KiB disk
    monkeypatch.setenv("KDBENCH_HOME", str(full_disk))
    args = ["data", "prepare", "csv", "--path", str(file), "--label", "click", "--categorical", "user,item"]
    assert main([*args, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"cannot write the prepared dataset under {full_disk / 'datasets'}" in err
    assert "free there" in err and "set KDBENCH_HOME to a bigger disk" in err
    leftovers = (
        [p for p in (full_disk / "datasets").rglob("*") if p.is_file()]
        if (full_disk / "datasets").exists()
        else []
    )
    assert leftovers == []  # no half-written entry to trust later
