"""The bad-input corpus: every command, fed what a user gets wrong, must answer with one line and exit 2.

A :class:`Case` is an id, the substring its one stderr line must hold (the file, flag, key or value at fault)
and an argv template: plain words (split on spaces), and tokens that write the case's bad files when the case
is built (:class:`File`, :class:`Folder`) or name paths (:class:`Work`, :class:`Fx`). The test
(``test_bad_inputs.py``) builds each case in its own folders, runs it through ``kdbench.bench.cli.main`` and
checks the exit status, the single line, the absence of a traceback and that no file changed.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.serve._damage import flip_artifact_weight, flip_onnx_weight

HUGE_LINE = 5 * 2**20  # a 5 MB line
LONG_NAME = 100_000  # a 100k-character name
REFUSED = "127.0.0.1:1"  # nothing listens on port 1: a connect is refused at once


@dataclasses.dataclass
class World:
    """One case's folders: ``home`` is $KDBENCH_HOME (the CSV fixture prepared in its cache), ``work`` the
    working directory (with ``kdbench.db``, a real results database), ``fx`` the shared good inputs."""

    root: Path
    home: Path
    work: Path
    fx: Path
    keep: list = dataclasses.field(default_factory=list)  # objects that must live while the case runs
    env: dict[str, str] = dataclasses.field(default_factory=dict)  # set for the command (:class:`Env`)

    def file(self, name: str, content: str | bytes) -> str:
        path = self.work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return str(path)


# ---- argv tokens -------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class File:
    """A file written into the working directory; its content a str, bytes or a function of the world."""

    name: str
    content: Any

    def __call__(self, w: World) -> str:
        return w.file(self.name, self.content(w) if callable(self.content) else self.content)


@dataclasses.dataclass(frozen=True)
class Folder:
    name: str

    def __call__(self, w: World) -> str:
        (w.work / self.name).mkdir(parents=True, exist_ok=True)
        return str(w.work / self.name)


@dataclasses.dataclass(frozen=True)
class Setup(File):
    """A file written before the command runs, adding no argument (a file in the way of an output)."""

    def __call__(self, w: World) -> list[str]:
        super().__call__(w)
        return []


@dataclasses.dataclass(frozen=True)
class Link:
    """A symbolic link ``name`` in the working directory to the folder ``target`` (made, holding a file),
    adding no argument (a linked folder inside an output folder)."""

    name: str
    target: str

    def __call__(self, w: World) -> list[str]:
        target, link = w.work / self.target, w.work / self.name
        target.mkdir(parents=True, exist_ok=True)
        (target / "keep.txt").write_text("keep me")
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target, target_is_directory=True)
        return []


@dataclasses.dataclass(frozen=True)
class Under:
    """A path below a plain file (``plain.txt/NAME``): a folder that can never be created."""

    name: str

    def __call__(self, w: World) -> str:
        return w.file("plain.txt", "x") + "/" + self.name


@dataclasses.dataclass(frozen=True)
class Work:
    """A path in the working directory that is not created (``prefix`` in front, e.g. ``sqlite:///``)."""

    name: str
    prefix: str = ""

    def __call__(self, w: World) -> str:
        return f"{self.prefix}{w.work / self.name}"


@dataclasses.dataclass(frozen=True)
class Fx:
    """A good shared input: clicks.csv (3,000 rows), schema.yaml, other-suite.json."""

    name: str

    def __call__(self, w: World) -> str:
        return str(w.fx / self.name)


@dataclasses.dataclass(frozen=True)
class Env:
    """An environment variable the command runs with (no argument); its value a str or a token."""

    name: str
    value: Any

    def __call__(self, w: World) -> list[str]:
        w.env[self.name] = self.value if isinstance(self.value, str) else self.value(w)
        return []


@dataclasses.dataclass(frozen=True)
class Lit:
    """One argument exactly as given (an empty string, spaces, a newline)."""

    text: str

    def __call__(self, _w: World) -> str:
        return self.text


Token = str | Callable[[World], Any]


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    expect: str
    argv: tuple[Token, ...]

    def build(self, w: World) -> list[str]:
        out: list[str] = []
        for token in self.argv:
            value = token.split() if isinstance(token, str) else token(w)
            out += value if isinstance(value, list) else [value]
        return out


CASES: list[Case] = []


def case(id: str, expect: str, *argv: Token) -> None:
    CASES.append(Case(id, expect, argv))


def Db(name: str) -> Work:
    """The SQLite URL of a path in the working directory."""
    return Work(name, "sqlite:///")


# ---- bad contents and helpers ------------------------------------------------------------------------------
BINARY = bytes(range(256)) * 64  # every byte value, NUL included
NON_UTF8 = "name: caf\xe9\nfixed: {lr: 0.01}\n".encode("latin-1")  # é in Latin-1: not UTF-8
CONTROL = "name: bell\x07\nfixed: {lr: 0.01}\n"  # a control character YAML's reader refuses
LR_FAST = "fixed: {lr: fast}\nparams:\n  depth: {int: [1, 2]}\n"
SCHEMA = "label: click\ncategorical: [user, item, genre]\n"
CSV = ("--dataset csv --path", Fx("clicks.csv"), "--schema", Fx("schema.yaml"))  # prepared: a cache hit
CLICKS = ("--path", Fx("clicks.csv"))
FRESH_DB = ("--db", Db("fresh.db"))  # a database that must not be created
BASE = '{"format": "kdbench-regression-baseline", "version": 1, '


def criteo_lines(rows: int = 200) -> str:
    ints = lambda i: "\t".join(str((i * 7 + j) % 50) for j in range(13))  # noqa: E731
    cats = lambda i: "\t".join(f"{(i * 31 + j) % 97:08x}" for j in range(26))  # noqa: E731
    return "".join(f"{i % 2}\t{ints(i)}\t{cats(i)}\n" for i in range(rows))


def truncated_gz(_w: World) -> bytes:
    whole = gzip.compress(criteo_lines(2000).encode())
    return whole[: len(whole) // 2]


GZ = File("day_0.gz", truncated_gz)  # a Criteo day file cut in the middle of its gzip stream


def space(params: str) -> str:
    return "name: bad\nfixed: {max_epochs: 2, patience: 1}\nparams:\n" + params


def Space(params: str) -> File:
    """A space file with these params."""
    return File("s.yaml", space(params))


def Suite(text: Any) -> File:
    """A suite file."""
    return File("s.yaml", text)


def clicks_rows(rows: int = 200, label: Callable[[int], Any] = lambda i: i % 2) -> str:
    lines = [f"u{i % 9},i{i % 7},g{i % 3},{label(i)}\n" for i in range(rows)]
    return "user,item,genre,click\n" + "".join(lines)


def suite(w: World, more: str = "") -> str:
    """A valid suite over the CSV fixture (one tiny case), plus ``more`` cases."""
    data = f"{{source: csv, path: {w.fx / 'clicks.csv'}, schema: {w.fx / 'schema.yaml'}}}"
    head = "seeds: 2\nthreads: 1\ndefaults: {embedding_size: 4, max_epochs: 1, patience: 1}\ncases:\n"
    return head + f"  - name: tiny\n    dataset: {data}\n" + more


def second_case(dataset: Callable[[World], str]) -> Callable[[World], str]:
    return lambda w: suite(w, f"  - name: second\n    dataset: {dataset(w)}\n")


GOOD_SUITE = ("--suite", File("suite.yaml", suite))


def truncated_db(w: World) -> bytes:
    good = (w.work / "kdbench.db").read_bytes()
    return good[: len(good) // 2 + 100]


def foreign_db(w: World) -> str:
    """A real SQLite database of someone else's tables."""
    path = w.work / "other.db"
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE recipes (name TEXT)")
        conn.execute("INSERT INTO recipes VALUES ('pancakes')")
    conn.close()
    return f"sqlite:///{path}"


def future_db(w: World) -> str:
    """The good database, claiming a schema version from the future."""
    path = w.work / "future.db"
    path.write_bytes((w.work / "kdbench.db").read_bytes())
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE kd_meta SET value = '999' WHERE key = 'schema_version'")
    conn.close()
    return f"sqlite:///{path}"


def busy_port(w: World) -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    w.keep.append(s)
    return str(s.getsockname()[1])


def no_database(w: World) -> list[str]:
    (w.work / "kdbench.db").unlink()
    return []


def sqlite_file(name: str, content: Any) -> Callable[[World], str]:
    return lambda w: "sqlite:///" + File(name, content)(w)


TEXT_DB = sqlite_file("notes.txt", "my notes, not a database\n")
REFUSED_PG = f"postgresql+psycopg://u@{REFUSED}/db"

# Database URLs every command that takes --db is tried with: (id, token, expected substring).
BAD_URLS: list[tuple[str, Token, str]] = [
    ("port-not-a-number", "postgresql://u@localhost:abc/db", "abc"),
    ("refused-port", REFUSED_PG, "127.0.0.1"),
    ("mysql-no-driver", "mysql://u@localhost/db", "mysql"),
    ("unknown-dialect", "nosuchdialect://u@localhost/db", "nosuchdialect"),
    ("empty", Lit(""), "URL"),
    ("sqlite-missing-folder", Work("no/such/folder/results.db", "sqlite:///"), "no/such/folder"),
    ("sqlite-text-file", TEXT_DB, "notes.txt"),
    ("sqlite-directory", lambda w: "sqlite:///" + Folder("dbdir")(w), "dbdir"),
]

# ---- data prepare / list / info ----------------------------------------------------------------------------
P = "data prepare"
PQ = "data prepare --quiet"
SCH = (PQ, "csv", *CLICKS, "--schema")
case("data-unknown-source", "nosuchsource", PQ, "nosuchsource")
case("data-criteo-without-path", "--path", PQ, "criteo")
case("data-criteo-missing-file", "missing.txt", PQ, "criteo --path", Work("missing.txt"))
case("data-criteo-empty-file", "empty.txt", PQ, "criteo --path", File("empty.txt", ""))
case("data-criteo-binary-file", "blob.txt", P, "criteo --path", File("blob.txt", BINARY))  # progress bar on
case("data-criteo-truncated-gz", "day_0.gz", PQ, "criteo --path", GZ)
case("data-criteo-gz-not-gzip", "fake.gz", PQ, "criteo --path", File("fake.gz", criteo_lines()))
case("data-criteo-gz-binary", "noise.gz", PQ, "criteo --path", File("noise.gz", b"\x1f\x8b" + BINARY))
case("data-criteo-five-columns", "cols.txt", PQ, "criteo --path", File("cols.txt", "0\t1\t2\t3\t4\n" * 100))
WORDS = "yes" + criteo_lines()[1:]  # a label that is a word
case("data-criteo-label-word", "words.txt", PQ, "criteo --path", File("words.txt", WORDS))
case("data-criteo-huge-line", "huge.txt", PQ, "criteo --path", File("huge.txt", "0\t" + "9" * HUGE_LINE))
case("data-criteo-path-is-a-folder", "afolder", PQ, "criteo --path", Folder("afolder"))
case("data-avazu-empty-file", "train.csv", PQ, "avazu --path", File("train.csv", ""))
case("data-avazu-wrong-header", "av.csv", PQ, "avazu --path", File("av.csv", "a,b,c\n1,2,3\n"))
case("data-movielens-1m-without-path", "--path", PQ, "movielens-1m")
case("data-ml100k-folder-without-files", "u.data", PQ, "ml-100k --path", Folder("ml"))
case("data-csv-without-schema", "schema", PQ, "csv", *CLICKS)
case("data-csv-schema-missing", "gone.yaml", *SCH, Work("gone.yaml"))
case("data-csv-schema-empty", "empty.yaml", *SCH, File("empty.yaml", ""))
case("data-csv-schema-binary", "bin.yaml", *SCH, File("bin.yaml", BINARY))
LATIN_SCHEMA = "label: click\ncategorical: [caf\xe9]\n".encode("latin-1")
case("data-csv-schema-non-utf8", "latin.yaml", *SCH, File("latin.yaml", LATIN_SCHEMA))
BELL_SCHEMA = "label: click\x07\ncategorical: [user]\n"
case("data-csv-schema-control-char", "bell.yaml", *SCH, File("bell.yaml", BELL_SCHEMA))
case("data-csv-schema-a-list", "list.yaml", *SCH, File("list.yaml", "- label\n- click\n"))
case("data-csv-schema-unknown-key", "colour", *SCH, File("s.yaml", SCHEMA + "colour: red"))
NOT_A_COLUMN = "label: clicked\ncategorical: [user]\n"
case("data-csv-schema-label-not-a-column", "clicked", *SCH, File("s.yaml", NOT_A_COLUMN))
CUBE = SCHEMA + "numeric: {noise: cube}\n"
case("data-csv-schema-unknown-rule", "numeric.noise", *SCH, File("s.yaml", CUBE))
MANY = SCHEMA + "min_count: many\n"
case("data-csv-schema-min-count-text", "min_count", *SCH, File("s.yaml", MANY))
BROKEN = "label: [click\ncategorical: {"
case("data-csv-schema-yaml-syntax", "broken.yaml", *SCH, File("broken.yaml", BROKEN))
HUGE_LABEL = f"label: {'x' * LONG_NAME}\ncategorical: [user]\n"
case("data-csv-schema-huge-name", "column", *SCH, File("s.yaml", HUGE_LABEL))
WITH_SCHEMA = ("--schema", Fx("schema.yaml"))
case("data-csv-empty-file", "nothing.csv", PQ, "csv --path", File("nothing.csv", ""), *WITH_SCHEMA)
HEADER = "user,item,genre,noise,click\n"
case("data-csv-header-only", "header.csv", PQ, "csv --path", File("header.csv", HEADER), *WITH_SCHEMA)
case("data-csv-binary-file", "bin.csv", PQ, "csv --path", File("bin.csv", BINARY), *WITH_SCHEMA)
FIVE = clicks_rows(label=lambda i: i % 5)
case("data-csv-label-not-binary", "click", PQ, "csv --path", File("five.csv", FIVE), *WITH_SCHEMA)
HUGE_CELL = clicks_rows() + "u1,i1,g1," + "1" * HUGE_LINE + "\n"  # a 5 MB label cell
case("data-csv-huge-label-cell", "click", PQ, "csv --path", File("long.csv", HUGE_CELL), *WITH_SCHEMA)
case("data-parquet-not-parquet", "t.parquet", PQ, "parquet --path", File("t.parquet", HEADER), *WITH_SCHEMA)
case("data-flags-and-schema-file", "--schema", PQ, "csv", *CLICKS, *WITH_SCHEMA, "--label click")
FLAGS = (PQ, "csv", *CLICKS, "--label click")
case("data-flag-unknown-column", "nosuchcol", *FLAGS, "--categorical user,nosuchcol")
case("data-flag-unknown-rule", "--numeric noise", *FLAGS, "--numeric noise:cube")
case("data-flag-min-count-negative", "min", *FLAGS, "--categorical user --min-count -3")
case("data-flag-split-seed-text", "--split-seed", P, "--split-seed two")
case("data-home-is-a-file", "homefile", PQ, "csv", *CLICKS, *WITH_SCHEMA, "--home", File("homefile", "x"))
case("data-list-home-is-a-file", "homefile", "data list --home", File("homefile", "x"))
HOME_IS_A_FILE = Env("KDBENCH_HOME", File("homefile", "x"))
case("data-flag-empty-separator", "sep", *FLAGS, "--categorical user", "--sep", Lit(""))
EMPTY_SEP = SCHEMA + 'sep: ""\n'
case("data-csv-schema-empty-separator", "sep", *SCH, File("s.yaml", EMPTY_SEP))
case("data-list-kdbench-home-is-a-file", "homefile", HOME_IS_A_FILE, "data list")
case("data-prepare-kdbench-home-is-a-file", "homefile", HOME_IS_A_FILE, *SCH, Fx("schema.yaml"))
WHEEL = "KDBENCH_RECBOLE_WHEEL"
case("data-recbole-wheel-missing", "gone.whl", Env(WHEEL, Work("gone.whl")), PQ, "ml-100k")
case("data-recbole-wheel-not-a-zip", "fake.whl", Env(WHEEL, File("fake.whl", "not a zip")), PQ, "ml-100k")
EMPTY_ZIP = File("empty.whl", b"PK\x05\x06" + bytes(18))  # a zip archive with no member
case("data-recbole-wheel-empty-zip", "empty.whl", Env(WHEEL, EMPTY_ZIP), PQ, "ml-100k")
# Your own tables: names, numeric rules, labels (docs/datasets.md).
SAME_STEM = File("clicks.csv", clicks_rows())  # another clicks.csv: the fixture's prepared one holds the name
case("data-csv-same-stem-as-a-prepared-file", "taken by", PQ, "csv --path", SAME_STEM, *WITH_SCHEMA)
# Given and time-ordered splits, named raw-format files.
CRITEO = File("day_1.txt", criteo_lines())
case("data-name-is-another-source", "avazu", PQ, "criteo --path", CRITEO, "--name avazu")
case("data-name-criteo-bad-characters", "--name", PQ, "criteo --path", CRITEO, "--name", Lit("day 1/x"))
FOLD = File("valid.csv", lambda w: (w.fx / "clicks.csv").read_text())
TEST = File("test.csv", lambda w: (w.fx / "clicks.csv").read_text())
GIVEN = ("--train", Fx("clicks.csv"), "--valid", FOLD, "--test", TEST)
case("data-given-without-test", "--test", PQ, "csv --train", Fx("clicks.csv"), "--valid", FOLD, *WITH_SCHEMA)
case("data-given-and-path", "--path", PQ, "csv", *CLICKS, *GIVEN, *WITH_SCHEMA)
case("data-given-test-missing", "gone.csv", PQ, "csv", *GIVEN[:4], "--test", Work("gone.csv"), *WITH_SCHEMA)
case("data-given-one-file-twice", "one file", PQ, "csv", *GIVEN[:4], "--test", Fx("clicks.csv"), *WITH_SCHEMA)
case("data-given-with-split-seed", "split seed", PQ, "csv", *GIVEN, *WITH_SCHEMA, "--split-seed 3")
case("data-given-on-criteo", "--train", PQ, "criteo", *GIVEN)
NO_ITEM = File("test.csv", "user,click\nu1,0\n")
case("data-given-test-lacks-a-column", "test.csv", PQ, "csv", *GIVEN[:4], "--test", NO_ITEM, *WITH_SCHEMA)
case("data-split-not-time", "--split", PQ, "csv", *CLICKS, *WITH_SCHEMA, "--split random:user")
BY_DAY = ("--label click --categorical user", "--split time:day")
case("data-split-time-unknown-column", "nosuchcol", *SCH[:-1], *WITH_SCHEMA, "--split time:nosuchcol")
TIMES = "click,user,day\n0,a,2024-01-01\n1,b,2024-01-02\n0,c,yesterday\n" + "1,d,2024-01-03\n" * 20
case("data-split-time-unparsable", "line 4", PQ, "csv --path", File("t.csv", TIMES), *BY_DAY)
NO_TIME = "click,user,day\n0,a,2024-01-01\n1,b,\n" + "1,d,2024-01-03\n" * 20
case("data-split-time-empty", "line 3", PQ, "csv --path", File("t.csv", NO_TIME), *BY_DAY)
case("data-split-time-and-seed", "split seed", *SCH[:-1], *WITH_SCHEMA, "--split time:noise --split-seed 4")
case("data-split-time-and-given", "not both", PQ, "csv", *GIVEN, *WITH_SCHEMA, "--split time:noise")
BAD_RATIOS = SCHEMA + "split: {order_by: noise, ratios: [8, 1]}\n"
case("data-csv-schema-split-ratios", "ratios", *SCH, File("s.yaml", BAD_RATIOS))
FOLDS = SCHEMA + "split: {column: noise, train: [n0, n1, n2, n3, n4, n5], valid: n6, test: n7}\n"
case("data-csv-schema-split-value-unlisted", "n8", *SCH, File("s.yaml", FOLDS))
SHARED = SCHEMA + "split: {column: noise, train: [n0, n1], valid: n1, test: n2}\n"
case("data-csv-schema-split-value-twice", "n1", *SCH, File("s.yaml", SHARED))
FIELD_FOLD = SCHEMA + "split: {column: user, train: u1, valid: u2, test: u3}\n"
case("data-csv-schema-split-column-is-a-field", "user", *SCH, File("s.yaml", FIELD_FOLD))
TEXT_AGE = "click,age\n0,1\n1,Private\n" + "0,3\n" * 20
AGE_FLAGS = ("--label click --numeric age",)
case("data-csv-numeric-text", "line 3", PQ, "csv --path", File("n.csv", TEXT_AGE), *AGE_FLAGS)
# One class only: every AUC would be NaN. Refused at prepare, naming the label it saw.
ALL_ZERO = File("zeros.csv", clicks_rows(label=lambda i: 0))
case("data-csv-label-all-zero", "all 200 rows have label 0", PQ, "csv --path", ALL_ZERO, *WITH_SCHEMA)
ALL_ONE = File("ones.csv", clicks_rows(label=lambda i: 1))
case("data-csv-label-all-one", "all 200 rows have label 1", PQ, "csv --path", ALL_ONE, *WITH_SCHEMA)
case("data-csv-schema-positive-yes", "positive", *SCH, File("s.yaml", SCHEMA + "positive: yes\n"))
case("data-csv-schema-missing-not-a-list", "missing", *SCH, File("s.yaml", SCHEMA + "missing: NA\n"))
case("data-csv-schema-name-with-space", "my data", *SCH, File("s.yaml", SCHEMA + "name: my data\n"))
case("data-flag-positive-absent", "no row has click", *FLAGS, "--categorical user --positive yes")
case("data-flag-quantile-one", "quantile", *FLAGS, "--numeric noise:quantile=1")
case("data-flag-edges-text", "edges", *FLAGS, "--numeric", Lit("noise:edges=[a,b]"))
case("data-flag-name-with-space", "dataset name", *FLAGS, "--categorical user --name", Lit("my data"))
case("data-flag-named-like-a-source", "source name", *FLAGS, "--categorical user --name criteo")
case("data-name-on-a-source", "--name", PQ, "ml-100k --name mine")
case("data-info-unknown", "nosuchdata", "data info nosuchdata")
case("data-info-huge-name", "no cached dataset", "data info", Lit("d" * LONG_NAME))
case("data-info-home-missing", "ml-100k", "data info ml-100k --home", Work("nohome"))
# data remove: every check before the first removal (the test sees no file changed).
case("data-remove-unknown", "nosuchdata", "data remove nosuchdata")
case("data-remove-one-unknown-of-two", "nosuchdata", "data remove clicks nosuchdata")
case("data-remove-huge-name", "no cached dataset", "data remove", Lit("d" * LONG_NAME))
case("data-remove-nothing-named", "--stale", "data remove")
case("data-remove-split-seed-absent", "no entry with split seed 9", "data remove clicks --split-seed 9")
case("data-remove-split-seed-text", "--split-seed", "data remove clicks --split-seed two")
case("data-remove-kdbench-home-is-a-file", "homefile", HOME_IS_A_FILE, "data remove clicks")

# ---- train ---------------------------------------------------------------------------------------------
case("train-set-lr-fast", "lr", "train --set lr=fast")
case("train-set-max-epochs-two", "max_epochs", "train --set max_epochs=two")
case("train-set-teacher-rnn", "rnn", "train --set teacher=rnn")
case("train-set-unknown-key", "lrr", "train --set lrr=0.01")
case("train-set-without-equals", "--set", "train --set lr")
case("train-set-empty-key", "--set", "train --set =3")
case("train-set-broken-list", "t_cin", "train --set t_cin=[1,")
case("train-set-negative-embedding", "embedding_size", "train --set embedding_size=-4")
case("train-set-zero-batch", "batch_size", "train --set batch_size=0")
case("train-set-nan-lr", "lr", "train --set lr=.nan")
case("train-set-infinite-beta", "beta", "train --set beta=.inf")
case("train-set-empty-cin", "t_cin", "train --set teacher=cin --set t_cin=[]")
case("train-set-bool-depth", "depth", "train --set depth=true")
case("train-set-huge-value", "teacher", "train --set", Lit("teacher=" + "x" * LONG_NAME))
case("train-set-amp-maybe", "amp", "train --set amp=maybe")
case("train-set-embedding-size-huge", "embedding_size", "train", *CSV, "--set embedding_size=1000000000")
# A seed past 2**62 - 1 (torch's generators and the store's BIGINT) is refused before the database is created.
case(
    "train-set-seed-past-int64",
    "seed must be an integer from 0",
    "train",
    *CSV,
    "--set seed=9223372036854775808",
    *FRESH_DB,
)
case("train-set-seed-negative", "seed must be an integer from 0", "train", *CSV, "--set seed=-1", *FRESH_DB)
case("train-set-batch-past-int32", "batch_size must be at most", "train", *CSV, "--set batch_size=4294967296")
case("train-config-missing", "gone.yaml", "train --config", Work("gone.yaml"))
case("train-config-empty", "empty.yaml", "train --config", File("empty.yaml", ""))
case("train-config-binary", "bin.yaml", "train --config", File("bin.yaml", BINARY))
LATIN_TEACHER = "teacher: caf\xe9\n".encode("latin-1")
case("train-config-non-utf8", "latin.yaml", "train --config", File("latin.yaml", LATIN_TEACHER))
case("train-config-control-char", "bell.yaml", "train --config", File("bell.yaml", "teacher: cin\x07\n"))
case("train-config-a-list", "list.yaml", "train --config", File("list.yaml", "- lr\n- 0.1\n"))
case("train-config-unknown-key", "learning_rate", "train --config", File("c.yaml", "learning_rate: 0.01\n"))
case("train-config-is-a-folder", "confdir", "train --config", Folder("confdir"))
case("train-config-huge-line", "teacher", "train --config", File("c.yaml", "teacher: " + "x" * HUGE_LINE))
case("train-config-huge-key", "c.yaml", "train --config", File("c.yaml", "k" * LONG_NAME + ": 1\n"))
case("train-threads-zero", "threads", "train --threads 0")
case("train-threads-text", "--threads", "train --threads two")
case("train-device-unknown", "tpu", "train", *CSV, "--device tpu")
case("train-unknown-dataset", "nosuchdata", "train --dataset nosuchdata")
case("train-criteo-without-path", "--path", "train --dataset criteo")
case("train-csv-without-schema", "--schema", "train --dataset csv", *CLICKS)
case("train-dataset-name-with-path", "drop --path", "train --dataset clicks", *CLICKS)
case("train-unknown-dataset-lists-the-prepared", "prepared: clicks", "train --dataset click")
case("train-split-seed-negative", "split_seed", "train --dataset clicks --split-seed -1")
case("train-split-seeds-one", "--split-seeds", "train --split-seeds 3")
case("train-split-seeds-text", "--split-seeds", "train --split-seeds a,b")
case("train-split-seeds-repeated", "--split-seeds", "train --split-seeds 1,1")
case("train-split-seed-and-seeds", "--split-seed", "train --split-seed 1 --split-seeds 1,2")
case("train-criteo-truncated-gz", "day_0.gz", "train --quiet --dataset criteo --path", GZ)
LATIN_LABEL = "label: caf\xe9\n".encode("latin-1")
TRAIN_CSV = ("train --dataset csv", *CLICKS)
case("train-csv-schema-non-utf8", "latin.yaml", *TRAIN_CSV, "--schema", File("latin.yaml", LATIN_LABEL))
case("train-json-in-missing-folder", "nofolder", "train", *CSV, "--json", Work("nofolder/out.json"))
case("train-json-under-a-file", "plain.txt", "train", *CSV, "--json", Under("o.json"))
case("train-json-empty-string", "--json", "train", *CSV, "--json", Lit(""))
case("train-teacher-cache-under-a-file", "plain.txt", "train", *CSV, "--teacher-cache", Under("cache"))
case("train-kdbench-home-is-a-file", "homefile", HOME_IS_A_FILE, "train", *CSV)
case("train-teacher-cache-is-a-file", "cachefile", "train", *CSV, "--teacher-cache", File("cachefile", "x"))
case("train-fresh-db-bad-data", "day_0.gz", "train --quiet --dataset criteo --path", GZ, *FRESH_DB)
for _id, _url, _expect in BAD_URLS:
    case(f"train-db-{_id}", _expect, "train", *CSV, "--db", _url)

# ---- baseline ----------------------------------------------------------------------------------------------
case("baseline-threads-zero", "--threads", "baseline --threads 0")
case("baseline-threads-text", "--threads", "baseline --threads two")
case("baseline-unknown-dataset", "nosuchdata", "baseline --dataset nosuchdata")
case("baseline-unknown-dataset-lists-the-prepared", "prepared: clicks", "baseline --dataset click")
case("baseline-criteo-without-path", "--path", "baseline --dataset criteo")
case("baseline-criteo-truncated-gz", "day_0.gz", "baseline --dataset criteo --path", GZ)
case("baseline-csv-without-schema", "--schema", "baseline --dataset csv", *CLICKS)
case("baseline-dataset-name-with-path", "drop --path", "baseline --dataset clicks", *CLICKS)
case("baseline-split-seed-negative", "split_seed", "baseline --dataset clicks --split-seed -1")
case("baseline-json-in-missing-folder", "nofolder", "baseline", *CSV, "--json", Work("nofolder/b.json"))
case("baseline-json-under-a-file", "plain.txt", "baseline", *CSV, "--json", Under("b.json"))
case("baseline-json-empty-string", "--json", "baseline", *CSV, "--json", Lit(""))
case("baseline-db-in-memory", "in-memory", "baseline", *CSV, "--db sqlite://")
case("baseline-db-future-schema", "999", "baseline", *CSV, "--db", future_db)
case("baseline-kdbench-home-is-a-file", "homefile", HOME_IS_A_FILE, "baseline", *CSV)
for _id, _url, _expect in BAD_URLS:
    case(f"baseline-db-{_id}", _expect, "baseline", *CSV, "--db", _url)

# ---- sweep ---------------------------------------------------------------------------------------------
case("sweep-trials-negative", "--trials", "sweep --trials -1")
case("sweep-trials-zero", "--trials", "sweep --trials 0")
case("sweep-trials-text", "--trials", "sweep --trials many")
case("sweep-concurrency-zero", "concurrency", "sweep --concurrency 0")
case("sweep-cpus-negative", "--cpus-per-trial", "sweep --cpus-per-trial -1")
case("sweep-cpus-infinite", "--cpus-per-trial", "sweep --cpus-per-trial inf")
case("sweep-gpus-negative", "--gpus-per-trial", "sweep --gpus-per-trial -0.5")
case("sweep-grace-period-zero", "grace", "sweep --grace-period 0")
case("sweep-reduction-factor-one", "reduction", "sweep --reduction-factor 1")
case("sweep-reduction-factor-nan", "reduction", "sweep --reduction-factor nan")
case("sweep-objective-unknown", "--objective", "sweep --objective speed")
case("sweep-sampler-unknown", "--sampler", "sweep --sampler grid")
case("sweep-multi-objective-asha", "scheduler", "sweep --objective auc+latency --scheduler asha")
case("sweep-time-budget-no-unit", "--time-budget", "sweep --time-budget 30x")
case("sweep-time-budget-zero", "--time-budget", "sweep --time-budget 0s")
case("sweep-time-budget-negative", "--time-budget", "sweep --time-budget -5m")
case("sweep-time-budget-words", "--time-budget", "sweep --time-budget soon")
case("sweep-time-budget-infinite", "--time-budget", "sweep --time-budget inf")
case("sweep-resume-time-budget", "--time-budget", "sweep --resume some-sweep --time-budget 30m")
S = "sweep --space"
SW = ("sweep", *CSV, *FRESH_DB)  # a good sweep but for the flag under test
case("sweep-space-unknown", "nosuchspace", S, "nosuchspace")
case("sweep-space-file-missing", "gone.yaml", S, Work("gone.yaml"))
case("sweep-space-empty-file", "empty.yaml", S, File("empty.yaml", ""))
case("sweep-space-binary", "bin.yaml", S, File("bin.yaml", BINARY))
case("sweep-space-non-utf8", "latin.yaml", S, File("latin.yaml", NON_UTF8))
case("sweep-space-control-char", "bell.yaml", S, File("bell.yaml", CONTROL))
case("sweep-space-yaml-syntax", "syntax.yaml", S, File("syntax.yaml", "params: {teacher: [cin\n"))
case("sweep-space-is-a-folder", "spacedir", S, Folder("spacedir.yaml"))
case("sweep-space-fixed-lr-fast", "lr", S, File("s.yaml", LR_FAST))
case("sweep-space-teacher-rnn", "rnn", S, Space("  teacher: {choices: [crossnet, rnn]}\n"))
case("sweep-space-negative-embedding", "embedding_size", S, Space("  embedding_size: {int: [-4, 0]}\n"))
TWO = "fixed: {max_epochs: two}\nparams:\n  depth: {int: [1, 2]}\n"
case("sweep-space-fixed-max-epochs-two", "max_epochs", S, File("s.yaml", TWO))
case("sweep-space-unknown-param", "dropout_rate", S, Space("  dropout_rate: {float: [0.0, 0.5]}\n"))
case("sweep-space-reversed-range", "depth", S, Space("  depth: {int: [5, 1]}\n"))
case("sweep-space-log-from-zero", "alpha", S, Space("  alpha: {float: [0.0, 1.0], log: true}\n"))
case("sweep-space-lr-range-negative", "lr", S, Space("  lr: {float: [-0.1, 0.1]}\n"))
case("sweep-space-depth-zero-choice", "depth", S, Space("  depth: {choices: [0, 2]}\n"))
case("sweep-space-when-unknown", "ghost", S, Space("  depth: {int: [1, 2], when: {ghost: 1}}\n"))
BRANCH = "  teacher: {choices: [crossnet, cin]}\n  t_cin: {choices: [[0]], when: {teacher: cin}}\n"
case("sweep-space-conditional-bad-branch", "t_cin", S, File("s.yaml", space(BRANCH)))
HUGE_SPACE = "name: huge\ndescription: " + "d" * HUGE_LINE + "\nparams:\n  teacher: {choices: [rnn]}\n"
case("sweep-space-huge-line", "huge.yaml", S, File("huge.yaml", HUGE_SPACE))
LONG_SPACE = f"name: {'n' * LONG_NAME}\nparams:\n  depth: {{int: [1, 2]}}\n"
case("sweep-space-huge-name", "name", S, File("long.yaml", LONG_SPACE), *CSV)
case("sweep-name-empty", "--name", "sweep", *CSV, "--name", Lit(""))
case("sweep-name-300-characters", "300", "sweep", *CSV, "--name", "s" * 300)
case("sweep-name-100k-characters", "name", "sweep", *CSV, "--name", "s" * LONG_NAME)
case("sweep-name-with-slash", "a/b", "sweep", *CSV, "--name a/b")
case("sweep-name-with-nul", "name", "sweep", *CSV, "--name", Lit("a\x00b"))
case("sweep-name-non-ascii", "name", "sweep", *CSV, "--name", Lit("sweep-\u00e9t\u00e9"))
case("sweep-name-with-newline", "name", "sweep", *CSV, "--name", Lit("two\nlines"))
case("sweep-resume-missing-sweep", "ghost", "sweep --resume ghost --db", Db("kdbench.db"))
case("sweep-resume-missing-database", "nothing.db", "sweep --resume ghost --db", Db("nothing.db"))
case("sweep-resume-with-recipe-flag", "--space", "sweep --resume ghost --space ci")
case("sweep-split-seed-negative", "--split-seed", "sweep --dataset clicks --split-seed -1")
case("sweep-resume-with-split-seed", "--split-seed", "sweep --resume ghost --split-seed 3")
case("sweep-unknown-dataset-name", "nosuchdata", "sweep --dataset nosuchdata", *FRESH_DB)
case("sweep-unknown-dataset", "nosuchdata", "sweep --dataset nosuchdata", *FRESH_DB)
case("sweep-criteo-without-path", "--path", "sweep --dataset criteo", *FRESH_DB)
case("sweep-criteo-truncated-gz", "day_0.gz", "sweep --dataset criteo --path", GZ, *FRESH_DB)
BELL = File("bell.yaml", "label: click\x07\n")
case("sweep-schema-control-char", "bell.yaml", "sweep --dataset csv", *CLICKS, "--schema", BELL, *FRESH_DB)
case("sweep-address-unreachable", REFUSED, "sweep", *CSV, "--address", REFUSED, *FRESH_DB)
case("sweep-address-malformed", "--address", "sweep", *CSV, "--address headnode", *FRESH_DB)
case("sweep-address-auto-without-cluster", "auto", "sweep", *CSV, "--address auto", *FRESH_DB)
case("sweep-gpus-without-gpu", "GPU", "sweep", *CSV, "--gpus-per-trial 1", *FRESH_DB)
case("sweep-cpus-more-than-the-machine", "--cpus-per-trial", *SW, "--cpus-per-trial 4096")
case("sweep-json-empty-string", "--json", "sweep", *CSV, "--json", Lit(""), *FRESH_DB)
case("sweep-json-in-missing-folder", "nofolder", "sweep", *CSV, "--json", Work("nofolder/s.json"), *FRESH_DB)
case("sweep-ray-storage-is-a-file", "storagefile", *SW, "--ray-storage", File("storagefile", "x"))
case("sweep-teacher-cache-is-a-file", "cachefile", *SW, "--teacher-cache", File("cachefile", "x"))
case("sweep-data-cache-is-a-file", "datafile", *SW, "--data-cache", File("datafile", "x"))
case("sweep-artifacts-is-a-file", "plain.txt", *SW, "--artifacts", File("plain.txt", "x"))
for _id, _url, _expect in BAD_URLS:
    case(f"sweep-db-{_id}", _expect, "sweep", *CSV, "--db", _url)

# ---- space show / sample -----------------------------------------------------------------------------------
case("space-show-unknown", "nosuchspace", "space show nosuchspace")
case("space-show-missing-file", "gone.yaml", "space show", Work("gone.yaml"))
case("space-show-empty-file", "empty.yaml", "space show", File("empty.yaml", ""))
case("space-show-binary", "bin.yaml", "space show", File("bin.yaml", BINARY))
case("space-show-non-utf8", "latin.yaml", "space show", File("latin.yaml", NON_UTF8))
case("space-show-control-char", "bell.yaml", "space show", File("bell.yaml", CONTROL))
case("space-show-a-list", "list.yaml", "space show", File("list.yaml", "- teacher\n- depth\n"))
DUPLICATE = "params:\n  depth: {int: [1, 2]}\n  depth: {int: [1, 3]}\n"
case("space-show-duplicate-key", "depth", "space show", File("dup.yaml", DUPLICATE))
case("space-show-is-a-folder", "spacedir", "space show", Folder("spacedir.yaml"))
case("space-show-teacher-rnn", "rnn", "space show", Space("  teacher: {choices: [crossnet, rnn]}\n"))
case("space-sample-fixed-lr-fast", "lr", "space sample", File("s.yaml", LR_FAST))
case("space-sample-teacher-rnn", "rnn", "space sample", Space("  teacher: {choices: [rnn]}\n"))
NEGATIVE = space("  embedding_size: {int: [-4, 0]}\n")
case("space-sample-negative-embedding", "embedding_size", "space sample", File("s.yaml", NEGATIVE))
case("space-sample-n-negative", "-n", "space sample quick -n -1")
case("space-sample-seed-text", "--seed", "space sample quick --seed x")
HUGE_FIXED = "fixed: {teacher: " + "t" * HUGE_LINE + "}\n"
case("space-sample-huge-value", "huge.yaml", "space sample", File("huge.yaml", HUGE_FIXED))

# ---- report --------------------------------------------------------------------------------------------
R = ("report --out", Work("site"), "--db")
case("report-no-database-here", "kdbench.db", no_database, "report --out", Work("site"))
case("report-db-missing-file", "missing.db", *R, Db("missing.db"))
case("report-db-binary-file", "random.db", *R, sqlite_file("random.db", BINARY))
case("report-db-truncated", "half.db", *R, sqlite_file("half.db", truncated_db))
case("report-db-empty-file", "zero.db", *R, sqlite_file("zero.db", b""))
case("report-db-not-kdbench", "other.db", *R, foreign_db)
case("report-db-future-schema", "999", *R, future_db)
DB = ("--db", Db("kdbench.db"))
case("report-out-is-a-file", "plain.txt", "report", *DB, "--out", File("plain.txt", "x"))
case("report-out-under-a-file", "plain.txt", "report", *DB, "--out", Under("site"))
MINE = lambda w: str(Path(File("mine/precious.txt", "keep me")(w)).parent)  # noqa: E731
case("report-out-not-ours", "mine", "report", *DB, "--out", MINE)
case("report-out-empty-string", "--out", "report", *DB, "--out", Lit(""))
OURS = Setup("site/.kdbench-site", "written by kdbench report\n")  # a site folder a previous build wrote
case("report-out-linked-static", "site/static is a symbolic link", OURS, Link("site/static", "elsewhere"),
     "report", *DB, "--out", Work("site"))  # fmt: skip
case("report-out-linked-page-folder", "site/trials is a symbolic link", OURS,
     Link("site/trials", "elsewhere"), "report", *DB, "--out", Work("site"))  # fmt: skip
case("report-port-text", "--port", "report --port http")
case("report-port-out-of-range", "70000", "report --out", Work("site"), "--serve --port 70000")
case("report-port-negative", "-1", "report --out", Work("site"), "--serve --port -1")
case("report-port-in-use", "pass another --port", "report --out", Work("site"), "--serve --port", busy_port)
for _id, _url, _expect in BAD_URLS:
    case(f"report-db-{_id}", _expect, *R, _url)

# ---- regress run / baseline --------------------------------------------------------------------------------
RUN = "regress run --suite"
RR = "regress run"
case("regress-suite-unknown", "nosuchsuite", RUN, "nosuchsuite")
case("regress-suite-missing-file", "gone.yaml", RUN, Work("gone.yaml"))
case("regress-suite-empty-file", "empty.yaml", RUN, File("empty.yaml", ""))
case("regress-suite-binary", "bin.yaml", RUN, File("bin.yaml", BINARY))
LATIN_SUITE = "description: caf\xe9\n".encode("latin-1")
case("regress-suite-non-utf8", "latin.yaml", RUN, File("latin.yaml", LATIN_SUITE))
case("regress-suite-control-char", "bell.yaml", RUN, File("bell.yaml", "description: bell\x07\n"))
case("regress-suite-is-a-folder", "suitedir", RUN, Folder("suitedir.yaml"))
case("regress-suite-unknown-key", "timeout", RUN, Suite("timeout: 5\ncases: [{name: a, dataset: ml-100k}]"))
case("regress-suite-lr-fast", "lr", RUN, Suite("cases: [{name: a, dataset: ml-100k, config: {lr: fast}}]"))
RNN = "cases: [{name: a, dataset: ml-100k, config: {teacher: rnn}}]"
case("regress-suite-teacher-rnn", "rnn", RUN, Suite(RNN))
case("regress-suite-one-seed", "seeds", RUN, Suite("seeds: 1\ncases: [{name: a, dataset: ml-100k}]"))
SPEEDUP = "figures: [speedup]\ncases: [{name: a, dataset: ml-100k}]"
case("regress-suite-unknown-figure", "speedup", RUN, Suite(SPEEDUP))
case("regress-suite-unknown-source", "nosuchdata", RUN, Suite("cases: [{name: a, dataset: nosuchdata}]"))
LONG_CASE = f"cases: [{{name: '{'c' * LONG_NAME} x', dataset: ml-100k}}]"
case("regress-suite-huge-case-name", "name", RUN, Suite(LONG_CASE))
GONE_CSV = second_case(lambda w: f"{{source: csv, path: {w.work}/gone.csv, schema: {w.fx}/schema.yaml}}")
case("regress-suite-second-case-missing-data", "gone.csv", RUN, Suite(GONE_CSV))
GZ_CASE = second_case(lambda w: f"{{source: criteo, path: {File('day_0.gz', truncated_gz)(w)}}}")
case("regress-suite-second-case-truncated-gz", "day_0.gz", RUN, Suite(GZ_CASE))
case("regress-artifacts-is-a-file", "plain.txt", RUN, "smoke --artifacts", File("plain.txt", "x"))
case("regress-suite-unknown-dataset-name", "nosuchname", RUN, Suite(second_case(lambda w: "nosuchname")))
SPLIT_TEXT = second_case(lambda w: "{source: clicks, split_seed: seven}")
case("regress-suite-split-seed-text", "split_seed", RUN, Suite(SPLIT_TEXT))
case("regress-suite-second-case-criteo-no-path", "path", RUN, Suite(second_case(lambda w: "criteo")))
case("regress-fresh-db-bad-data", "gone.csv", RUN, File("s.yaml", GONE_CSV), *FRESH_DB)
B = (*GOOD_SUITE, "--baseline")
case("regress-baseline-missing-file", "gone.json", RR, *B, Work("gone.json"))
case("regress-baseline-empty-file", "empty.json", RR, *B, File("empty.json", ""))
case("regress-baseline-binary", "bin.json", RR, *B, File("bin.json", BINARY))
case("regress-baseline-truncated", "cut.json", RR, *B, File("cut.json", BASE[:-10]))
case("regress-baseline-not-a-baseline", "other.json", RR, *B, File("other.json", '{"hello": 1}'))
FUTURE = '{"format": "kdbench-regression-baseline", "version": 99}'
case("regress-baseline-future-version", "version", RR, *B, File("b.json", FUTURE))
A_NUMBER = BASE + '"measurement": 5}'
case("regress-baseline-measurement-a-number", "measurement", RR, *B, File("b.json", A_NUMBER))
NO_FIELDS = BASE + '"measurement": {"suite": "s", "device": "cpu", "cases": [{"name": "t", "figures": 3}]}}'
case("regress-baseline-case-missing-fields", "b.json", RR, *B, File("b.json", NO_FIELDS))
BAD_FIGURES = BASE + json.dumps({"measurement": {
    "suite": "s", "suite_hash": "0", "device": "cpu", "threads": 1, "wall_seconds": 1.0, "cases": [{
        "name": "tiny", "dataset": "csv", "dataset_fingerprint": "0", "config": {}, "config_family": "0",
        "seeds": [0, 1], "figures": {"student_test_auc": "high"}, "raw": {}, "reference_ms": [1.0, 1.0],
        "wall_seconds": 1.0}]}})[1:]  # fmt: skip
case("regress-baseline-figures-not-numbers", "student_test_auc", RR, *B, File("b.json", BAD_FIGURES))
case("regress-baseline-stale", "no case comparable", RR, *B, Fx("other-suite.json"))
case("regress-baseline-empty-string", "--baseline", RR, *B, Lit(""))
case("regress-baseline-ref-without-db", "--db", RR, *B, "v1.0")
case("regress-baseline-ref-not-stored", "v9.9", RR, *B, "v9.9", *DB)
case("regress-json-in-missing-folder", "nofolder", RR, *GOOD_SUITE, "--json", Work("nofolder/out.json"))
case("regress-json-under-a-file", "plain.txt", RR, *GOOD_SUITE, "--json", Under("o"))
case("regress-json-empty-string", "--json", RR, *GOOD_SUITE, "--json", Lit(""))
case("regress-json-is-a-folder", "jsondir", RR, *GOOD_SUITE, "--json", Folder("jsondir"))
case("regress-device-unknown", "tpu", RR, *GOOD_SUITE, "--device tpu")
case("regress-markdown-in-missing-folder", "nofolder", RR, *GOOD_SUITE, "--markdown", Work("nofolder/s.md"))
case("regress-junit-is-a-folder", "junitdir", RR, *GOOD_SUITE, "--junit", Folder("junitdir"))
AB = "regress ab --base HEAD"
case("regress-ab-not-a-repository", "not in a git repository", AB, *GOOD_SUITE, "--repo", Work(""))
case("regress-ab-without-base", "--base", "regress ab", *GOOD_SUITE)
case("regress-history-db-missing-file", "missing.db", "regress history --db", Db("missing.db"))
case("regress-device-cuda-absent", "cuda", RR, *GOOD_SUITE, "--device cuda:7")
case("regress-run-without-suite", "--suite", "regress run")
for _id, _url, _expect in BAD_URLS:
    case(f"regress-db-{_id}", _expect, RR, *GOOD_SUITE, "--db", _url)
BL = "regress baseline"
case("regress-baseline-out-in-missing-folder", "nofolder", BL, *GOOD_SUITE, "--out", Work("nofolder/b.json"))
case("regress-baseline-out-under-a-file", "plain.txt", BL, *GOOD_SUITE, "--out", Under("b"))
case("regress-baseline-out-empty-string", "--out", BL, *GOOD_SUITE, "--out", Lit(""))
case("regress-baseline-out-is-a-folder", "outdir", BL, *GOOD_SUITE, "--out", Folder("outdir"))
case("regress-baseline-from-without-db", "--db", BL, "--from 3 --out", Work("b.json"))
case("regress-baseline-from-not-stored", "99", BL, "--from 99", *DB, "--out", Work("b.json"))
case("regress-baseline-from-and-suite", "--suite", BL, "--from 3 --suite smoke --out", Work("b.json"))
case("regress-baseline-without-out", "--out", BL, "--suite smoke")
case("regress-baseline-suite-unknown", "nosuchsuite", BL, "--suite nosuchsuite --out", Work("b.json"))
case("regress-baseline-from-text-db", "notes.txt", BL, "--from 1 --out", Work("b.json"), "--db", TEXT_DB)
case("regress-baseline-bad-second-case", "gone.csv", BL, "--suite", Suite(GONE_CSV), "--out", Work("b.json"))

# ---- db info / upgrade, export -----------------------------------------------------------------------------
for _id, _url, _expect in BAD_URLS:
    case(f"db-info-{_id}", _expect, "db info --db", _url)
case("db-info-missing-file", "missing.db", "db info --db", Db("missing.db"))
case("db-info-binary-file", "random.db", "db info --db", sqlite_file("random.db", BINARY))
case("db-info-truncated", "half.db", "db info --db", sqlite_file("half.db", truncated_db))
case("db-info-empty-file", "zero.db", "db info --db", sqlite_file("zero.db", b""))
case("db-info-not-kdbench", "other.db", "db info --db", foreign_db)
case("db-upgrade-missing-file", "missing.db", "db upgrade --db", Db("missing.db"))
case("db-upgrade-text-file", "notes.txt", "db upgrade --db", TEXT_DB)
case("db-upgrade-binary-file", "random.db", "db upgrade --db", sqlite_file("random.db", BINARY))
case("db-upgrade-not-kdbench", "other.db", "db upgrade --db", foreign_db)
case("db-upgrade-future-schema", "999", "db upgrade --db", future_db)
case("db-repair-missing-file", "missing.db", "db repair --db", Db("missing.db"))
case("db-repair-not-kdbench", "other.db", "db repair --db", foreign_db)
case("db-repair-future-schema", "999", "db repair --db", future_db)
case("db-upgrade-port-not-a-number", "abc", "db upgrade --db postgresql://u@localhost:abc/db")
case("export-out-is-a-file", "plain.txt", "export", *DB, "--out", File("plain.txt", "x"))
case("export-out-under-a-file", "plain.txt", "export", *DB, "--out", Under("csv"))
case("export-out-empty-string", "--out", "export", *DB, "--out", Lit(""))
case("export-format-unknown", "--format", "export --format xlsx --out", Work("x"))
case("export-without-out", "--out", "export")
case("export-db-missing-file", "missing.db", "export --out", Work("x"), "--db", Db("missing.db"))
case("export-db-text-file", "notes.txt", "export --out", Work("x"), "--db", TEXT_DB)
case("export-db-refused-port", "127.0.0.1", "export --out", Work("x"), "--db", REFUSED_PG)
case("export-db-future-schema", "999", "export --out", Work("x"), "--db", future_db)

# ---- demo ----------------------------------------------------------------------------------------------
D = ("demo --out", Work("demo"))
case("demo-trials-negative", "--trials", *D, "--trials -1")
case("demo-trials-zero", "--trials", *D, "--trials 0")
case("demo-concurrency-zero", "concurrency", *D, "--concurrency 0")
case("demo-space-unknown", "nosuchspace", *D, "--space nosuchspace")
case("demo-space-lr-fast", "lr", *D, "--space", File("s.yaml", LR_FAST))
case("demo-space-non-utf8", "latin.yaml", *D, "--space", File("latin.yaml", NON_UTF8))
case("demo-scheduler-unknown", "--scheduler", *D, "--scheduler hyperband")
case("demo-out-empty-string", "--out", "demo --out", Lit(""))
case("demo-kdbench-home-is-a-file", "homefile", HOME_IS_A_FILE, *D)
case("demo-out-is-a-file", "plain.txt", "demo --out", File("plain.txt", "x"))
case("demo-out-under-a-file", "plain.txt", "demo --out", Under("demo"))
case("demo-site-not-ours", "site", Setup("demo/site/precious.txt", "keep me"), *D)
case("demo-site-linked", "demo/site is a symbolic link", Link("demo/site", "elsewhere"), *D)
case("demo-results-db-is-text", "results.db", Setup("demo/results.db", "not a database\n"), *D)


# ---- student export / predict, data export-split, train's artifact flags -----------------------------------
def student_payload() -> dict:
    """A well-formed student artifact's content (random weights) over the fixture's user, item, genre."""
    from types import SimpleNamespace

    from kdbench.bench.serve import build_artifact
    from kdbench.models import KDDAGFM

    vocab = [4, 4, 3]
    model = KDDAGFM(vocab, 4, "crossnet", {"depth": 1}, {"depth": 1, "interaction": "outer"}).eval()
    data = SimpleNamespace(name="clicks", fingerprint="0" * 16, field_names=["user", "item", "genre"],
                           vocab_sizes=vocab, path=None)  # fmt: skip
    payload = build_artifact(model, {}, "0" * 16, data, {"test_auc": 0.5})
    payload["vocabularies"] = [["u1", "u2", "u3"], ["i1", "i2", "i3"], ["g1", "g2"]]
    return payload


def student_artifact(_w: World) -> bytes:
    """A student artifact as kdbench saved them before it recorded their content's digest."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(student_payload(), buffer)
    return buffer.getvalue()


def Saved(name: str, change: Callable[[dict], object] = lambda _p: None, damage: Callable | None = None):
    """An artifact saved by kdbench (its content digest recorded) after ``change(payload)``, then
    ``damage(path)`` applied to the file."""

    def make(w: World) -> str:
        from kdbench.bench.serve import save_artifact

        payload = student_payload()
        change(payload)
        path = w.work / name
        save_artifact(payload, path)
        if damage is not None:
            damage(path)
        return str(path)

    return make


def Exported(change: Callable[[dict], object] = lambda _m: None, damage: Callable | None = None):
    """An ONNX export of the student (``m.onnx`` and its sidecar), then ``change(sidecar)`` written back
    and ``damage(model file)`` applied."""

    def make(w: World) -> str:
        from kdbench.bench.serve import export_student, sidecar_path

        model = w.work / "m.onnx"
        export_student(student_payload(), "onnx", model)
        side = sidecar_path(model)
        meta = json.loads(side.read_text(encoding="utf-8"))
        change(meta)
        side.write_text(json.dumps(meta), encoding="utf-8")
        if damage is not None:
            damage(model)
        return str(model)

    return make


ART = File("student.pt", student_artifact)
SE = "student export"
SP = "student predict --model"
ROWS = File("rows.csv", "user,item,genre\nu1,i2,g1\n")
OX = "--format onnx --out"
case("student-export-from-missing", "gone.pt", SE, "--from", Work("gone.pt"), OX, Work("m"))
case("student-export-from-corrupt", "bad.pt", SE, "--from", File("bad.pt", BINARY), OX, Work("m"))
case("student-export-from-text", "notes.pt", SE, "--from", File("notes.pt", "a note\n"), OX, Work("m"))
case("student-export-format-unknown", "--format", SE, "--from", ART, "--format pmml --out", Work("m"))
case("student-export-out-under-a-file", "plain.txt", SE, "--from", ART, "--format onnx --out", Under("m"))
case("student-export-out-is-a-folder", "outdir", SE, "--from", ART, "--format onnx --out", Folder("outdir"))
case("student-export-from-and-trial", "--trial", SE, "--from", ART, "--trial 3", OX, Work("m"))
case("student-export-sweep-unknown", "nosuchsweep", SE, *DB, "--sweep nosuchsweep --format onnx --out",
     Work("m"))  # fmt: skip
case("student-export-db-missing-file", "missing.db", SE, "--db", Db("missing.db"),
     "--sweep s --format onnx --out", Work("m"))  # fmt: skip
case("student-export-db-text-file", "notes.txt", SE, "--db", TEXT_DB, "--sweep s --format onnx --out",
     Work("m"))  # fmt: skip
case("student-predict-model-missing", "gone.onnx", SP, Work("gone.onnx"), "--input", ROWS, "--out", Work("p"))
case("student-predict-model-corrupt", "bad.onnx", SP, File("bad.onnx", BINARY), "--input", ROWS, "--out",
     Work("p.csv"))  # fmt: skip
case("student-predict-sidecar-corrupt", "m.onnx.json", Setup("m.onnx.json", '{"format": "kdbench-stu'), SP,
     File("m.onnx", BINARY), "--input", ROWS, "--out", Work("p.csv"))  # fmt: skip
case("student-predict-input-missing", "gone.csv", SP, ART, "--input", Work("gone.csv"), "--out", Work("p"))
case("student-predict-input-lacks-a-field", "genre", SP, ART, "--input", File("r.csv", "user,item\nu1,i1\n"),
     "--out", Work("p.csv"))  # fmt: skip
case("student-predict-input-not-a-table", "rows.txt", SP, ART, "--input", File("rows.txt", "user,item\n"),
     "--out", Work("p.csv"))  # fmt: skip
case("student-predict-input-binary-parquet", "rows.parquet", SP, ART, "--input",
     File("rows.parquet", BINARY), "--out", Work("p.csv"))  # fmt: skip
case("student-predict-out-under-a-file", "plain.txt", SP, ART, "--input", ROWS, "--out", Under("p.csv"))
case("student-predict-out-is-a-folder", "outdir", SP, ART, "--input", ROWS, "--out", Folder("outdir"))
# Changed files (issue #24): refused before anything is scored or exported, not scored silently.
P_ROWS = ("--input", ROWS, "--out", Work("p.csv"))
CHANGED = "not match the sha256 it records"
EDITED = f"m.onnx.json: its fields and vocabularies do {CHANGED}"
case("student-predict-onnx-flipped-bytes", "m.onnx: sha256 does not match its sidecar m.onnx.json", SP,
     Exported(damage=flip_onnx_weight), *P_ROWS)  # fmt: skip
case("student-predict-sidecar-fewer-fields", "it lists 2 fields but its model takes 3", SP,
     Exported(lambda m: m["fields"].pop()), *P_ROWS)  # fmt: skip
case("student-predict-sidecar-code-beyond-vocabulary", "field item: its vocabulary has 4 tokens", SP,
     Exported(lambda m: m["fields"][1]["vocabulary"].append("i9")), *P_ROWS)  # fmt: skip
case("student-predict-sidecar-shrunk-vocabulary", EDITED, SP,
     Exported(lambda m: m["fields"][0]["vocabulary"].pop()), *P_ROWS)  # fmt: skip
case("student-predict-sidecar-swapped-tokens", EDITED, SP,
     Exported(lambda m: m["fields"][0]["vocabulary"].reverse()), *P_ROWS)  # fmt: skip
case("student-predict-artifact-changed-weight", f"s.pt: its content does {CHANGED}", SP,
     Saved("s.pt", damage=flip_artifact_weight), *P_ROWS)  # fmt: skip
case("student-predict-artifact-code-beyond-vocabulary", "field user: its vocabulary has 4 tokens", SP,
     Saved("s.pt", lambda p: p["vocabularies"][0].append("u9")), *P_ROWS)  # fmt: skip
case("student-export-from-changed-artifact", f"s.pt: its content does {CHANGED}", SE, "--from",
     Saved("s.pt", damage=flip_artifact_weight), OX, Work("m"))  # fmt: skip
case("student-export-from-artifact-fewer-sizes", "it has 3 fields but vocab_sizes [4, 4]", SE, "--from",
     Saved("s.pt", lambda p: p["vocab_sizes"].pop()), OX, Work("m"))  # fmt: skip
XS = "data export-split"
case("data-export-split-unknown-split", "--split", XS, "clicks --split dev --out", Work("r.csv"))
case("data-export-split-unknown-dataset", "nosuchdata", XS, "nosuchdata --out", Work("r.csv"))
case("data-export-split-out-under-a-file", "plain.txt", XS, "clicks --out", Under("r.csv"))
case("train-save-student-under-a-file", "plain.txt", "train", *CSV, "--save-student", Under("s.pt"))
case("train-save-student-is-a-folder", "outdir", "train", *CSV, "--save-student", Folder("outdir"))
case("train-artifacts-is-a-file", "plain.txt", "train", *CSV, "--artifacts", File("plain.txt", "x"))
case("train-save-student-with-split-seeds", "--save-student", "train", *CSV, "--split-seeds 1,2",
     "--save-student", Work("s.pt"))  # fmt: skip

# Cases also run as a real process (`python -m kdbench`): exit code and stderr as a user sees them.
SUBPROCESS_IDS = (
    "train-set-lr-fast",
    "baseline-threads-zero",
    "space-show-non-utf8",
    "db-info-port-not-a-number",
    "regress-suite-non-utf8",
    "report-out-under-a-file",
    "data-criteo-truncated-gz",
    "student-predict-input-lacks-a-field",
)

_ids = [c.id for c in CASES]
assert len(_ids) == len(set(_ids)), sorted({i for i in _ids if _ids.count(i) > 1})
