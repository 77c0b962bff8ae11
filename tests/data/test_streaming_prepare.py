"""The streaming Criteo prepare (Arrow's threaded reader, piece by piece) against an independent encoding of
the whole file, and its errors for a malformed line deep inside a big file."""

from __future__ import annotations

import gzip
import hashlib
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kdbench.bench.data._arrow_csv as arrow_csv
from kdbench.bench.benchmarks.scale import generate_planted_criteo
from kdbench.bench.data import prepare
from kdbench.bench.data._cache import CACHE_VERSION, canonical_hash
from kdbench.bench.data._criteo import CATEGORICAL_FIELDS, INTEGER_FIELDS, PROTOCOL
from kdbench.bench.data._split import SPLIT_RULE, split_assignment
from kdbench.bench.errors import DatasetError

ROWS = 20_000


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_planted_criteo(tmp_path_factory.mktemp("stream") / "day.txt", ROWS, seed=11)


def _reference(path: Path) -> tuple[np.ndarray, np.ndarray, list[list]]:
    """The paper's Criteo protocol on the whole file at once, with pandas and Python: (x, y, vocabularies)."""
    names = ["label", *INTEGER_FIELDS, *CATEGORICAL_FIELDS]
    frame = pd.read_csv(path, sep="\t", header=None, names=names, dtype=str, keep_default_na=False)
    codes, vocabularies = [], []
    for name in INTEGER_FIELDS + CATEGORICAL_FIELDS:
        raw = frame[name].tolist()
        if name in INTEGER_FIELDS:
            tokens = [None if v == "" else _log_square(int(v)) for v in raw]
            minimum = 1
        else:
            tokens = [None if v == "" else v for v in raw]
            minimum = 8
        counts = pd.Series([t for t in tokens if t is not None]).value_counts()
        kept = sorted(t for t, c in counts.items() if c >= minimum)
        number = {t: k + 1 for k, t in enumerate(kept)}
        codes.append([number.get(t, 0) if t is not None else 0 for t in tokens])
        vocabularies.append(kept)
    return np.array(codes, dtype=np.int32).T, frame["label"].astype(np.float32).to_numpy(), vocabularies


def _log_square(v: int) -> int:
    return int(np.ceil(np.log(v) ** 2 + 1)) if v > 2 else v


def test_streaming_prepare_gives_the_reference_arrays_vocabularies_and_fingerprint(
    day, tmp_path, monkeypatch
):
    monkeypatch.setattr(arrow_csv, "PIECE_BYTES", 300_000)  # ~17 pieces, lines cut across read boundaries
    data = prepare("criteo", path=day, home=tmp_path / "home")
    x, y, vocabularies = _reference(day)
    assign = split_assignment(ROWS, 2022)
    for s, name in enumerate(("train", "valid", "test")):
        np.testing.assert_array_equal(getattr(data, name).x, x[assign == s])
        np.testing.assert_array_equal(getattr(data, name).y, y[assign == s])
    assert data.vocab_sizes == [len(v) + 1 for v in vocabularies]
    for name, expected in zip(data.field_names, vocabularies, strict=True):
        assert data.vocabulary(name) == expected
    digest = hashlib.sha256(day.read_bytes()).hexdigest()
    protocol = {**PROTOCOL, "split": {**SPLIT_RULE, "seed": 2022}}
    expected = canonical_hash(
        {"cache_version": CACHE_VERSION, "source": "criteo", "inputs": {"data": digest}, "protocol": protocol}
    )[:16]
    assert data.fingerprint == expected
    # one piece or many: the same entry
    monkeypatch.setattr(arrow_csv, "PIECE_BYTES", 64 << 20)
    whole = prepare("criteo", path=day, home=tmp_path / "other")
    assert whole.fingerprint == data.fingerprint
    np.testing.assert_array_equal(whole.train.x, data.train.x)


def _nothing_cached(home: Path) -> bool:
    root = home / "datasets"
    return not root.exists() or [p.name for p in root.iterdir() if p.name != ".keys"] == []


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize(
    ("line", "damage", "message"),
    [
        (12_345, lambda row: "\t".join(row.split("\t")[:20]), "line 12345 does not have 40 columns"),
        (15_001, lambda row: row + "\textra", "line 15001 does not have 40 columns"),
        (17_777, lambda row: "\t".join(["0", "abc", *row.split("\t")[2:]]), "line 17777: .*abc"),
    ],
    ids=["short", "long", "not-a-number"],
)
def test_a_malformed_line_deep_in_a_big_file_is_named_and_nothing_is_cached(
    day, tmp_path, monkeypatch, compressed, line, damage, message
):
    monkeypatch.setattr(arrow_csv, "PIECE_BYTES", 256_000)  # the bad line sits in a middle piece
    rows = day.read_text().split("\n")
    rows[line - 1] = damage(rows[line - 1])
    text = "\n".join(rows).encode()
    path = tmp_path / ("bad.txt.gz" if compressed else "bad.txt")
    path.write_bytes(gzip.compress(text, compresslevel=1) if compressed else text)
    home = tmp_path / "home"
    with pytest.raises(DatasetError, match=message) as err:
        prepare("criteo", path=path, home=home)
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    assert _nothing_cached(home)


def _text_rows(count: int) -> list[bytes]:
    """Rows of varied length, some far longer than the pieces below, with non-ASCII text."""
    rows = []
    for k in range(count):
        width = 3 + (k * 7919) % 40 if k % 97 else 5_000  # every 97th row: longer than a piece
        rows.append(("Zürich-Straße-€-" * width + f"{k}").encode())
    return rows


@pytest.mark.parametrize("size", [64, 1_000, 4_096, 1 << 20])
@pytest.mark.parametrize("final_newline", [True, False], ids=["newline-end", "no-newline-end"])
def test_pieces_cover_the_stream_in_order_with_their_first_line_numbers(tmp_path, size, final_newline):
    rows = _text_rows(400)
    header = [b"header one " * 50, b"header two"]  # two header lines, the first longer than small pieces
    text = b"\n".join(header + rows) + (b"\n" if final_newline else b"")
    path = tmp_path / "rows.txt"
    path.write_bytes(text)
    with open(path, "rb") as stream:
        pieces = arrow_csv._Pieces(stream, size, skip_lines=2)
        try:
            got = [(line, bytes(piece)) for line, piece in pieces]
        finally:
            pieces.close()
    assert b"".join(piece for _, piece in got) == b"\n".join(rows) + (b"\n" if final_newline else b"")
    for line, piece in got:  # every piece starts at a whole line, whose number it names (1-based, file)
        assert piece.split(b"\n", 1)[0] == ([*header, *rows])[line - 1]
    assert all(piece.endswith(b"\n") for _, piece in got[:-1])
    if size > 100_000:  # all in one buffer: one piece, and the unfinished last line on its own
        assert len(got) == (1 if final_newline else 2)


def test_stopping_early_stops_the_reading_thread(day, monkeypatch):
    monkeypatch.setattr(arrow_csv, "PIECE_BYTES", 100_000)
    digests: dict[str, str] = {}

    class Bar:
        def task(self, *args, **kwargs):
            return lambda n: None

    names = ["label", *INTEGER_FIELDS, *CATEGORICAL_FIELDS]
    types = dict.fromkeys(names, arrow_csv.pa.string())
    stream = arrow_csv.stream_delimited(
        day, what="criteo", hint="h", bar=Bar(), digests=digests, sep="\t", names=names, types=types
    )
    first_line, table = next(stream)
    assert first_line == 1 and table.num_rows > 100
    stream.close()  # as when the encoder fails: the generator is closed
    assert not [t for t in threading.enumerate() if t.name == "kdbench-prepare-io"]
    assert "data" not in digests  # the file was not read to the end


def test_parsed_tables_do_not_share_memory_with_the_reused_buffers(day, monkeypatch):
    """The pieces' buffers are refilled three pieces on: a table kept from an early piece must not change."""
    monkeypatch.setattr(arrow_csv, "PIECE_BYTES", 50_000)
    kept: list = []

    class Bar:
        def task(self, *args, **kwargs):
            return lambda n: None

    names = ["label", *INTEGER_FIELDS, *CATEGORICAL_FIELDS]
    types = {name: arrow_csv.pa.dictionary(arrow_csv.pa.int32(), arrow_csv.pa.string()) for name in names}
    for _, table in arrow_csv.stream_delimited(
        day, what="criteo", hint="h", bar=Bar(), digests={}, sep="\t", names=names, types=types
    ):
        kept.append((table, table.to_pylist()[:50]))
    assert len(kept) > 10
    for table, first_rows in kept:
        assert table.to_pylist()[:50] == first_rows
