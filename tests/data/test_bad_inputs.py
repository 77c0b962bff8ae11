"""Bad data inputs: each is one DatasetError naming the file, exit 2 through the CLI, and an untouched cache.

Every case runs against an empty ``$KDBENCH_HOME`` (a failed prepare must not even create ``datasets/``) and
against one holding a good entry (which must stay byte for byte, with no temporary folder left beside it).
"""

from __future__ import annotations

import bz2
import gzip
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kdbench.bench.cli import main
from kdbench.bench.data import prepare
from kdbench.bench.errors import DatasetError
from tests.data._make import (
    AVAZU_HEADER,
    ML_ITEMS,
    ML_RATINGS,
    ML_USERS,
    avazu_row,
    criteo_row,
    write_avazu,
    write_criteo,
    write_grouplens,
    write_recbole_wheel,
)

HUGE = 10 * 2**20  # a 10 MB line
CLICKS = "click,site,price\n" + "".join(f"{k % 2},site-{k % 3},{k}\n" for k in range(40))


@dataclass(frozen=True)
class Case:
    """``source`` and the CLI arguments that name ``file``; ``message`` must appear in the error."""

    source: str
    args: list[str]
    file: str  # how the message names the offending file
    message: str
    env: dict[str, str] | None = None


def _criteo_bytes() -> bytes:
    return "".join(
        criteo_row(k % 4 == 0, ints=[k % 7], cats=[f"c{k % 5}"]) + "\n" for k in range(200)
    ).encode()


def _schema(
    tmp: Path, text: str | bytes = "label: click\ncategorical: [site]\nnumeric: {price: log_square}\n"
):
    path = tmp / "schema.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _csv_case(tmp: Path, name: str, content: bytes, message: str, schema: Any = None) -> Case:
    """A csv source; the message must name the table, or the schema when one is given (it is the bad one)."""
    path = tmp / name
    path.write_bytes(content)
    named = str(schema or path)
    return Case("csv", ["--path", str(path), "--schema", str(schema or _schema(tmp))], named, message)


def _file_case(source: str, path: Path, message: str, named: str | None = None) -> Case:
    return Case(source, ["--path", str(path)], named or str(path), message)


def _flip(data: bytes, start: int, count: int) -> bytes:
    out = bytearray(data)
    for i in range(start, start + count):
        out[i] ^= 0x5A
    return bytes(out)


def _wheel(tmp: Path) -> Path:
    return write_recbole_wheel(tmp / "recbole-1.2.1-py3-none-any.whl", ML_RATINGS, ML_USERS, ML_ITEMS)


def _damaged_member_wheel(tmp: Path) -> Path:
    wheel = tmp / "damaged.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("recbole/dataset_example/ml-100k/ml-100k.inter", "user_id:token\n" + "1\n" * 5000)
    data = wheel.read_bytes()
    wheel.write_bytes(_flip(data, 120, 40))  # inside the deflate stream of the first member
    return wheel


def _fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "pipe.txt")
    return tmp / "pipe.txt"


def _grouplens(tmp: Path, broken: str, content: bytes) -> Path:
    folder = write_grouplens(tmp / "ml-100k", ML_RATINGS, ML_USERS, ML_ITEMS)
    (folder / broken).write_bytes(content)
    return folder


CASES: dict[str, Callable[[Path], Case]] = {
    # -- compressed files: truncated or corrupt --------------------------------------------------------
    "criteo .gz truncated": lambda t: _file_case(
        "criteo", _write(t / "day_0.gz", gzip.compress(_criteo_bytes())[:-40]), "is truncated or corrupt"
    ),
    "criteo .gz cut early": lambda t: _file_case(
        "criteo", _write(t / "day_1.gz", gzip.compress(_criteo_bytes())[:200]), "is truncated or corrupt"
    ),
    "criteo .gz with damaged data": lambda t: _file_case(
        "criteo",
        _write(t / "day_2.gz", _flip(gzip.compress(_criteo_bytes()), 300, 60)),
        "truncated or corrupt",
    ),
    "criteo .gz with a bad checksum": lambda t: _file_case(
        "criteo", _write(t / "day_3.gz", _flip(gzip.compress(_criteo_bytes()), -8, 2)), "truncated or corrupt"
    ),
    "criteo .gz that is plain text": lambda t: _file_case(
        "criteo", _write(t / "train.txt.gz", _criteo_bytes()), "is truncated or corrupt"
    ),
    "criteo .bz2 truncated": lambda t: _file_case(
        "criteo", _write(t / "train.txt.bz2", bz2.compress(_criteo_bytes())[:-30]), "is truncated or corrupt"
    ),
    "csv .gz truncated": lambda t: _csv_case(
        t, "clicks.csv.gz", gzip.compress(CLICKS.encode())[:-12], "truncated"
    ),
    "avazu .gz truncated": lambda t: _file_case(
        "avazu",
        _write(
            t / "train.csv.gz",
            gzip.compress(
                write_avazu(t / "a.csv", [avazu_row(i, i % 2, 14102100) for i in range(60)]).read_bytes()
            )[:-25],
        ),
        "is truncated or corrupt",
    ),
    "ml-100k wheel truncated": lambda t: _file_case(
        "ml-100k", _write(t / "cut.whl", _wheel(t).read_bytes()[:-80]), "not a readable zip or wheel"
    ),
    "ml-100k wheel with a damaged member": lambda t: _file_case(
        "ml-100k", _damaged_member_wheel(t), "is truncated or corrupt"
    ),
    "KDBENCH_RECBOLE_WHEEL truncated": lambda t: Case(
        "ml-100k",
        [],
        str(t / "cut.whl"),
        "is truncated or corrupt",
        env={"KDBENCH_RECBOLE_WHEEL": str(_write(t / "cut.whl", _wheel(t).read_bytes()[:-80]))},
    ),
    # -- schema files ---------------------------------------------------------------------------------
    "schema not UTF-8": lambda t: _csv_case(
        t,
        "c.csv",
        CLICKS.encode(),
        "is not UTF-8 text",
        _schema(t, "label: click\ncategorical: [sité]\n".encode("latin-1")),
    ),
    "schema with a control character": lambda t: _csv_case(
        t,
        "c.csv",
        CLICKS.encode(),
        "is not valid YAML",
        _schema(t, b"label: click\x07\ncategorical: [site]\n"),
    ),
    "schema with a NUL byte": lambda t: _csv_case(
        t, "c.csv", CLICKS.encode(), "not valid YAML", _schema(t, b"label: \x00")
    ),
    "schema binary": lambda t: _csv_case(
        t, "c.csv", CLICKS.encode(), "is not UTF-8 text", _schema(t, bytes(range(128, 256)) * 4)
    ),
    "schema a list": lambda t: _csv_case(
        t, "c.csv", CLICKS.encode(), "must be a mapping", _schema(t, "- click\n")
    ),
    "schema empty": lambda t: _csv_case(t, "c.csv", CLICKS.encode(), "must be a mapping", _schema(t, "")),
    "schema categorical not a list": lambda t: _csv_case(
        t,
        "c.csv",
        CLICKS.encode(),
        "'categorical' must be a list",
        _schema(t, "label: click\ncategorical: 5\n"),
    ),
    # -- tables ---------------------------------------------------------------------------------------
    "binary file as csv": lambda t: _csv_case(t, "c.csv", bytes(range(256)) * 40, "line 1 is not UTF-8 text"),
    "csv not UTF-8": lambda t: _csv_case(
        t, "c.csv", CLICKS.replace("site-1", "sité").encode("latin-1"), "not UTF-8"
    ),
    "empty csv": lambda t: _csv_case(t, "c.csv", b"", "is empty"),
    "header-only csv": lambda t: _csv_case(t, "c.csv", b"click,site,price\n", "has no data rows"),
    "header-only avazu": lambda t: _file_case(
        "avazu", _write(t / "train.csv", AVAZU_HEADER.encode() + b"\n"), "no data rows"
    ),
    "header-only criteo": lambda t: _file_case(
        "criteo", write_criteo(t / "train.txt", [], header=True), "has no data rows"
    ),
    "csv without the label column": lambda t: _csv_case(
        t, "c.csv", b"site,price\n" + b"a,1\n" * 20, "names column(s) click, not in"
    ),
    "csv header with control characters": lambda t: _csv_case(
        t, "c.csv", b"click,si\x1b[31mte,price\n" + b"1,a,1\n" * 20, "'si\\x1b[31mte'"
    ),
    "csv 10 MB single line": lambda t: _csv_case(
        t, "c.csv", b"click," + b"x" * HUGE, "line 1 is longer than"
    ),
    "criteo 10 MB single line": lambda t: _file_case(
        "criteo", _write(t / "t.txt", b"0\t" + b"7" * HUGE), "longer than"
    ),
    "avazu binary": lambda t: _file_case(
        "avazu", _write(t / "train.csv", bytes(range(256)) * 40), "not UTF-8 text"
    ),
    "parquet that is csv": lambda t: Case(
        "parquet",
        ["--path", str(_write(t / "c.parquet", CLICKS.encode())), "--schema", str(_schema(t))],
        str(t / "c.parquet"),
        "is not a Parquet file",
    ),
    "parquet without rows": lambda t: Case(
        "parquet",
        ["--path", str(_parquet(t / "e.parquet", rows=0)), "--schema", str(_schema(t))],
        str(t / "e.parquet"),
        "has no rows",
    ),
    "grouplens u.user not UTF-8": lambda t: _file_case(
        "ml-100k",
        _grouplens(t, "u.user", "1|24|M|técnico|01002\n".encode("latin-1")),
        "is not utf-8",
        "u.user",
    ),
    "grouplens u.data binary": lambda t: _file_case(
        "ml-100k", _grouplens(t, "u.data", bytes(range(1, 256)) * 20), "column(s), expected 4", "u.data"
    ),
    "movielens-1m given a file": lambda t: _file_case(
        "movielens-1m", _write(t / "ratings.dat", b"1::2::3::4\n"), "not a folder"
    ),
    # -- paths ----------------------------------------------------------------------------------------
    "a folder as the file": lambda t: Case(
        "csv",
        ["--path", str(_mkdir(t / "folder.csv")), "--schema", str(_schema(t))],
        str(t / "folder.csv"),
        "is a folder, expected a file",
    ),
    "a missing path": lambda t: _file_case("criteo", t / "no-such-day.gz", "does not exist"),
    "a path through a file": lambda t: _file_case(
        "criteo", _write(t / "f", b"x") / "train.txt", "does not exist"
    ),
    "a named pipe": lambda t: _file_case("criteo", _fifo(t), "is not a regular file"),
    "a NUL byte in the path": lambda t: _file_case(
        "criteo", Path(f"{t}/a\x00b"), "cannot access", f"{t}/a\\x00b"
    ),
    "a name too long": lambda t: _file_case("avazu", t / ("n" * 300), "File name too long", "n" * 60 + ":"),
    "a schema that is a folder": lambda t: _csv_case(
        t, "c.csv", CLICKS.encode(), "cannot read schema", _mkdir(t / "s.yaml")
    ),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _parquet(path: Path, rows: int) -> Path:
    frame = pd.DataFrame({"click": [k % 2 for k in range(rows)], "site": [f"s{k}" for k in range(rows)]})
    frame["price"] = [float(k) for k in range(rows)]
    frame.to_parquet(path)
    return path


def _snapshot(home: Path) -> dict[str, tuple[bool, int, int]] | None:
    """Everything under the dataset cache (None: no cache folder at all)."""
    root = home / "datasets"
    if not root.exists():
        return None
    return {
        str(p.relative_to(root)): (p.is_dir(), p.stat().st_size if p.is_file() else 0, p.stat().st_mtime_ns)
        for p in root.rglob("*")
    }


@pytest.fixture
def populated(request, home, tmp_path) -> bool:
    """Whether the cache already holds a good entry (a small Criteo day) when the bad input arrives."""
    if request.param:
        (tmp_path / "good").mkdir()
        rows = [criteo_row(k % 3 == 0, ints=[k], cats=["a"]) for k in range(30)]
        prepare("criteo", path=write_criteo(tmp_path / "good" / "train.txt", rows))
    return request.param


@pytest.mark.parametrize("populated", [False, True], ids=["empty cache", "populated cache"], indirect=True)
@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_dataset_error_and_leaves_the_cache_alone(
    name, populated, home, tmp_path, monkeypatch, capsys
):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    case = CASES[name](inputs)
    for key, value in (case.env or {}).items():
        monkeypatch.setenv(key, value)
    before = _snapshot(home)
    assert (before is not None) == populated

    path = case.args[case.args.index("--path") + 1] if "--path" in case.args else None
    schema = case.args[case.args.index("--schema") + 1] if "--schema" in case.args else None
    with pytest.raises(DatasetError) as err:
        prepare(case.source, path=path, schema=schema)
    message = str(err.value)
    assert type(err.value) is DatasetError
    assert case.message in message and case.file in message, message
    assert "\n" not in message and message.isprintable() and len(message) < 600
    assert _snapshot(home) == before

    assert main(["data", "prepare", case.source, *case.args, "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"kdbench: error: {message}\n"
    assert "Traceback" not in captured.out
    assert _snapshot(home) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file anyway")
def test_an_unreadable_file_is_named(home, tmp_path):
    path = _write(tmp_path / "train.txt", _criteo_bytes())
    path.chmod(0)
    try:
        with pytest.raises(DatasetError, match=r"is not readable \(permission denied\)") as err:
            prepare("criteo", path=path)
        assert str(path) in str(err.value)
    finally:
        path.chmod(0o600)
    assert _snapshot(home) is None


def test_a_10_mb_field_in_a_data_row_is_data(home, tmp_path):
    # One huge token is odd but valid: it becomes one vocabulary entry, not an error.
    table = _write(
        tmp_path / "c.csv", b"click,site,price\n1," + b"x" * HUGE + b",3\n" + b"0,a,1\n1,b,2\n" * 10
    )
    data = prepare("csv", path=table, schema=_schema(tmp_path))
    assert data.num_rows == 21 and data.vocab_sizes[0] == 4  # unknown + a, b and the long token
